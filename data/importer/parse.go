package importer

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"grouprank/data"
)

// parseInt reads an integer, also as a spreadsheet exports one ("2.0",
// "1e3"): a number with no fraction, within float64's exact integers.
func parseInt(s string) (int64, error) {
	t := strings.TrimSpace(s)
	v, err := strconv.ParseInt(t, 10, 64)
	if err == nil {
		return v, nil
	}
	if f, ferr := strconv.ParseFloat(t, 64); ferr == nil && f == math.Trunc(f) && math.Abs(f) <= 1<<53 {
		return int64(f), nil
	}
	return 0, fmt.Errorf("%q is not an integer", s)
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

// timeLayouts are the times an import reads: RFC 3339, and without a zone
// (UTC) year-month-day with "-" or "/" (spreadsheets' "2026/9/18 10:00"),
// months, days and hours of one or two digits, seconds optional.
var timeLayouts = []string{time.RFC3339Nano, "2006-1-2 15:04:05", "2006-1-2T15:04:05", "2006-1-2 15:04", "2006-1-2",
	"2006/1/2 15:04:05", "2006/1/2 15:04", "2006/1/2"}

// parseTime reads RFC 3339, "2006-01-02 15:04:05" or "2006/1/2 15:04"
// (UTC), a date, or Unix seconds or milliseconds (told apart by size). ""
// gives UnknownTime.
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
	return 0, fmt.Errorf("%q is not a time (RFC 3339, 2006-01-02 15:04:05, 2006/1/2 15:04, a date, or Unix seconds/milliseconds)", s)
}
