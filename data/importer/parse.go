package importer

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"grouprank/data"
)

func parseInt(s string) (int64, error) {
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", s)
	}
	return v, nil
}

func parseFloat(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return v, nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "y", "t":
		return true, nil
	case "0", "false", "no", "n", "f":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean (true/false, 1/0, yes/no)", s)
}

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02"}

// parseTime reads RFC 3339, "2006-01-02 15:04:05" (UTC), a date, or Unix
// seconds or milliseconds (told apart by size). "" gives UnknownTime.
func parseTime(s string) (data.Timestamp, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return data.UnknownTime, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 1e11 { // seconds until year 5138
			return data.Timestamp(n * 1000), nil
		}
		return data.Timestamp(n), nil
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return data.TimestampOf(t), nil
		}
	}
	return 0, fmt.Errorf("%q is not a time (RFC 3339, 2006-01-02 15:04:05, a date, or Unix seconds/milliseconds)", s)
}
