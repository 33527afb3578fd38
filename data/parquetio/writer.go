package parquetio

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/parquet-go/parquet-go"
)

// DefaultRowGroupRows bounds the rows of one row group: large enough for fast
// columnar scans, small enough to keep writer memory bounded.
const DefaultRowGroupRows = 256 * 1024

// Options tune a writer. The zero value gives the defaults.
type Options struct {
	RowGroupRows int64 // rows per row group; DefaultRowGroupRows when 0
}

// Writer writes one table to one file. Rows go to a temporary file beside the
// destination; Close renames it into place, so a reader never sees half a file
// and a failed or aborted write leaves any earlier file untouched.
type Writer[T any] struct {
	path, tmp string
	f         *os.File
	write     func([]T) error
	close     func() error
	rows      int64
	done      bool
}

func newWriter[T, R any](path string, tb *Table[T], conv func(*R, *T), o Options) (*Writer[T], error) {
	rg := o.RowGroupRows
	if rg <= 0 {
		rg = DefaultRowGroupRows
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("parquetio: create %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("parquetio: create %s: %w", path, err)
	}
	pw := parquet.NewGenericWriter[R](f,
		parquet.MaxRowsPerRowGroup(rg),
		parquet.Compression(&parquet.Zstd),
		parquet.KeyValueMetadata("grouprank.table", tb.Name),
	)
	buf := make([]R, 0, 4096)
	w := &Writer[T]{path: path, tmp: f.Name(), f: f}
	w.write = func(rows []T) error {
		for len(rows) > 0 {
			n := min(len(rows), cap(buf))
			buf = buf[:n]
			for i := range n {
				conv(&buf[i], &rows[i])
			}
			if _, err := pw.Write(buf); err != nil {
				return err
			}
			rows = rows[n:]
		}
		return nil
	}
	w.close = pw.Close
	return w, nil
}

// Write appends rows.
func (w *Writer[T]) Write(rows ...T) error {
	if w.done {
		return fmt.Errorf("parquetio: write %s: writer is closed", w.path)
	}
	if err := w.write(rows); err != nil {
		return fmt.Errorf("parquetio: write %s: %w", w.path, err)
	}
	w.rows += int64(len(rows))
	return nil
}

// Rows is the number of rows written so far.
func (w *Writer[T]) Rows() int64 { return w.rows }

// Close flushes, syncs and renames the file into place. After a failed Close
// the destination is unchanged.
func (w *Writer[T]) Close() error {
	if w.done {
		return nil
	}
	w.done = true
	err := w.close()
	if err == nil {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(w.tmp, w.path)
	}
	if err != nil {
		os.Remove(w.tmp)
		return fmt.Errorf("parquetio: close %s: %w", w.path, err)
	}
	return syncDir(filepath.Dir(w.path))
}

// Abort discards everything written; the destination is left as it was.
// Abort after Close, or on a nil Writer, does nothing.
func (w *Writer[T]) Abort() {
	if w == nil || w.done {
		return
	}
	w.done = true
	w.f.Close()
	os.Remove(w.tmp)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("parquetio: sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("parquetio: sync %s: %w", dir, err)
	}
	return nil
}

// Create opens a writer for table tb at path.
func Create[T any](path string, tb *Table[T], o Options) (*Writer[T], error) {
	return tb.create(path, o)
}

// WriteFile writes rows to path as table tb in one go.
func WriteFile[T any](path string, tb *Table[T], rows []T, o Options) error {
	w, err := Create(path, tb, o)
	if err != nil {
		return err
	}
	if err := w.Write(rows...); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

var _ io.Closer = (*Writer[int])(nil)
