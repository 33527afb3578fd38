package data

import "time"

// Timestamp is an instant in milliseconds since the Unix epoch, UTC.
// UnknownTime (0) marks a time the source did not record.
type Timestamp int64

// UnknownTime is the Timestamp of an event whose time is not known
// (BeiBei's records, for instance, carry no time).
const UnknownTime Timestamp = 0

// Day is one day in milliseconds.
const Day Timestamp = 24 * 60 * 60 * 1000

// Hour is one hour in milliseconds.
const Hour Timestamp = 60 * 60 * 1000

// earliest is the first instant a known Timestamp may take (2000-01-01 UTC):
// anything before it is a unit mistake (seconds given for milliseconds).
const earliest Timestamp = 946684800000

// TimestampOf converts a time.Time; the zero time.Time becomes UnknownTime.
func TimestampOf(t time.Time) Timestamp {
	if t.IsZero() {
		return UnknownTime
	}
	return Timestamp(t.UnixMilli())
}

// Known reports whether the time was recorded.
func (t Timestamp) Known() bool { return t != UnknownTime }

// Time returns the instant as a UTC time.Time; UnknownTime gives the zero time.Time.
func (t Timestamp) Time() time.Time {
	if t == UnknownTime {
		return time.Time{}
	}
	return time.UnixMilli(int64(t)).UTC()
}

// String formats the instant as RFC 3339 in UTC, or "unknown".
func (t Timestamp) String() string {
	if t == UnknownTime {
		return "unknown"
	}
	return t.Time().Format(time.RFC3339)
}

// checkTime validates a timestamp that may be unknown.
func checkTime(record, field string, t Timestamp) error {
	if t != UnknownTime && t < earliest {
		return invalid(record, field, "%d ms is before 2000-01-01 (seconds given for milliseconds?)", int64(t))
	}
	return nil
}
