package data

import (
	"errors"
	"fmt"
)

// Sentinel errors shared by every layer. Wrap them with the operation
// (fmt.Errorf("store: group %d: %w", id, data.ErrNotFound)) and test with errors.Is.
var (
	// ErrNotFound: the named thing does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalid: a value breaks the data model's rules; FieldError says which field.
	ErrInvalid = errors.New("invalid")
	// ErrConflict: the operation contradicts the current state (a duplicate id, a running experiment).
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: the resource exists but cannot serve now (no snapshot loaded yet).
	ErrUnavailable = errors.New("unavailable")
)

// FieldError reports one invalid field of one record. It wraps ErrInvalid.
type FieldError struct {
	Record string // the record type, e.g. "product"
	Field  string // the field's name as in the Parquet schema, e.g. "price_cents"
	Reason string // why the value is refused
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s: %s: %s", e.Record, e.Field, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func invalid(record, field, format string, args ...any) error {
	return &FieldError{Record: record, Field: field, Reason: fmt.Sprintf(format, args...)}
}
