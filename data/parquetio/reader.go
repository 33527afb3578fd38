package parquetio

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"grouprank/data"

	"github.com/parquet-go/parquet-go"
)

// RowError names the file, row (1-based) and column of a bad row.
type RowError struct {
	File   string
	Row    int64
	Column string
	Err    error
}

func (e *RowError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("%s: row %d: %v", e.File, e.Row, e.Err)
	}
	return fmt.Sprintf("%s: row %d: column %s: %v", e.File, e.Row, e.Column, e.Err)
}

func (e *RowError) Unwrap() error { return e.Err }

// Reader reads one table's rows in file order, validating each.
type Reader[T any] struct {
	path  string
	f     *os.File
	read  func([]T) (int, error)
	close func() error
	row   int64
	total int64
}

func newReader[T, R any](path string, conv func(*T, *R) error, validate func(*T) error) (*Reader[T], error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("parquetio: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("parquetio: %w", err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("parquetio: %s: not a readable Parquet file: %w", path, err)
	}
	var zero R
	want := parquet.SchemaOf(zero)
	if err := checkSchema(path, pf.Schema(), want); err != nil {
		f.Close()
		return nil, err
	}
	pr := parquet.NewGenericReader[R](pf)
	r := &Reader[T]{path: path, f: f, close: pr.Close, total: pf.NumRows()}
	var buf []R
	r.read = func(out []T) (int, error) {
		if cap(buf) < len(out) {
			buf = make([]R, len(out))
		}
		buf = buf[:len(out)]
		n, err := pr.Read(buf)
		for i := range n {
			r.row++
			if cerr := conv(&out[i], &buf[i]); cerr != nil {
				return i, r.rowError(cerr)
			}
			if verr := validate(&out[i]); verr != nil {
				return i, r.rowError(verr)
			}
		}
		return n, err
	}
	return r, nil
}

func (r *Reader[T]) rowError(err error) error { return RowErrorOf(r.path, r.row, err) }

// RowErrorOf is err (a row's conversion or validation error) at row of the
// file at path, naming the column when err names a field: what a reader of
// columns (Scan) returns for a bad row, as the row reader does.
func RowErrorOf(path string, row int64, err error) error {
	re := &RowError{File: filepath.Base(path), Row: row, Err: err}
	var fe *data.FieldError
	if errors.As(err, &fe) {
		re.Column = fe.Field
	}
	return fmt.Errorf("parquetio: %w", re)
}

// NumRows is the number of rows in the file.
func (r *Reader[T]) NumRows() int64 { return r.total }

// Read fills out with the next rows; it returns io.EOF after the last one.
// A row that fails validation stops the read with a RowError.
func (r *Reader[T]) Read(out []T) (int, error) {
	n, err := r.read(out)
	if err != nil && !errors.Is(err, io.EOF) {
		var re *RowError
		if !errors.As(err, &re) {
			err = fmt.Errorf("parquetio: read %s after row %d: %w", r.path, r.row, err)
		}
	}
	return n, err
}

// Close releases the file.
func (r *Reader[T]) Close() error {
	r.close()
	return r.f.Close()
}

// Open opens path as table tb.
func Open[T any](path string, tb *Table[T]) (*Reader[T], error) {
	return tb.open(path)
}

// ReadFile reads every row of path as table tb.
func ReadFile[T any](path string, tb *Table[T]) ([]T, error) {
	r, err := Open(path, tb)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	out := make([]T, 0, r.NumRows())
	err = r.each(func(rows []T) error {
		out = append(out, rows...)
		return nil
	})
	return out, err
}

// Each calls fn with every row of a table file, in order, a batch at a time,
// holding no more than a batch: for a table read once and folded into
// something smaller. The batch is reused after fn returns. It stops at the
// first error fn returns.
func Each[T any](path string, tb *Table[T], fn func(rows []T) error) error {
	r, err := Open(path, tb)
	if err != nil {
		return err
	}
	defer r.Close()
	return r.each(fn)
}

func (r *Reader[T]) each(fn func([]T) error) error {
	buf := make([]T, 4096)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if ferr := fn(buf[:n]); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// ReadFileWhere reads the rows of a table file that keep keeps, in order,
// with each one's row in the file (0-based): one part's rows of a table
// every part of a sharded job reads, holding no other row. share is the
// part of the rows expected to be kept (for the first allocation).
func ReadFileWhere[T any](path string, tb *Table[T], keep func(x *T) bool, share float64) ([]T, []int64, error) {
	r, err := Open(path, tb)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	hint := int(float64(r.NumRows())*share*1.05) + 16
	out, rows := make([]T, 0, hint), make([]int64, 0, hint)
	buf := make([]T, 4096)
	var at int64
	for {
		n, err := r.Read(buf)
		for k := range buf[:n] {
			if keep(&buf[k]) {
				out, rows = append(out, buf[k]), append(rows, at)
			}
			at++
		}
		if errors.Is(err, io.EOF) {
			return out, rows, nil
		}
		if err != nil {
			return out, rows, err
		}
	}
}

// checkSchema refuses a file that lacks a column the table needs (optional
// columns may be absent) or holds it with another physical type, naming the
// file and the column.
func checkSchema(path string, got, want *parquet.Schema) error {
	for _, col := range want.Columns() {
		wl, _ := want.Lookup(col...)
		gl, ok := got.Lookup(col...)
		name := col[len(col)-1]
		if !ok {
			if wl.Node.Optional() { // a column added later: files written before it read as empty
				continue
			}
			return fmt.Errorf("parquetio: %s: column %s: missing", filepath.Base(path), name)
		}
		if gk, wk := gl.Node.Type().Kind(), wl.Node.Type().Kind(); gk != wk {
			return fmt.Errorf("parquetio: %s: column %s: type %v, want %v", filepath.Base(path), name, gk, wk)
		}
	}
	return nil
}
