package parquetio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/parquet-go/parquet-go"
)

// Batch holds the requested columns of one row group as int64 slices of equal
// length. The slices are reused by the next batch: copy what you keep.
type Batch struct {
	Rows int
	cols [][]int64
}

// Col returns the i-th requested column (in the order given to Scan).
func (b *Batch) Col(i int) []int64 { return b.cols[i][:b.Rows] }

// Scan reads the named integer columns (INT64, INT32 or timestamps; e.g.
// "group", "sku", "time" of orders, pushes or exposures) one row group at a
// time straight from the typed column pages, without building rows, and calls
// fn with each row group's values. It stops at the first error fn returns.
func Scan(ctx context.Context, path string, columns []string, fn func(*Batch) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("parquetio: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("parquetio: %w", err)
	}
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return fmt.Errorf("parquetio: %s: not a readable Parquet file: %w", path, err)
	}
	idx := make([]int, len(columns))
	for i, name := range columns {
		leaf, ok := pf.Schema().Lookup(name)
		if !ok {
			return fmt.Errorf("parquetio: %s: column %s: missing", filepath.Base(path), name)
		}
		switch k := leaf.Node.Type().Kind(); {
		case k != parquet.Int64 && k != parquet.Int32:
			return fmt.Errorf("parquetio: %s: column %s: type %v, want an integer column", filepath.Base(path), name, k)
		case leaf.MaxDefinitionLevel > 0 || leaf.MaxRepetitionLevel > 0:
			return fmt.Errorf("parquetio: %s: column %s: optional or repeated columns are not scannable", filepath.Base(path), name)
		}
		idx[i] = leaf.ColumnIndex
	}
	b := &Batch{cols: make([][]int64, len(columns))}
	var i32 []int32
	for _, rg := range pf.RowGroups() {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := int(rg.NumRows())
		b.Rows = n
		for c, ci := range idx {
			if cap(b.cols[c]) < n {
				b.cols[c] = make([]int64, n)
			}
			got, err := readChunk(rg.ColumnChunks()[ci], b.cols[c][:n], &i32)
			if err != nil {
				return fmt.Errorf("parquetio: %s: column %s: %w", filepath.Base(path), columns[c], err)
			}
			if got != n {
				return fmt.Errorf("parquetio: %s: column %s: %d values in a row group of %d rows", filepath.Base(path), columns[c], got, n)
			}
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	return nil
}

// readChunk decodes one column chunk into dst page by page.
func readChunk(chunk parquet.ColumnChunk, dst []int64, i32 *[]int32) (int, error) {
	pages := chunk.Pages()
	defer pages.Close()
	n := 0
	for {
		p, err := pages.ReadPage()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		m := int(p.NumValues())
		if n+m > len(dst) {
			parquet.Release(p)
			return n, fmt.Errorf("more values than rows")
		}
		switch r := p.Values().(type) {
		case parquet.Int64Reader:
			_, err = readAll(r.ReadInt64s, dst[n:n+m])
		case parquet.Int32Reader:
			if cap(*i32) < m {
				*i32 = make([]int32, m)
			}
			buf := (*i32)[:m]
			if _, err = readAll(r.ReadInt32s, buf); err == nil {
				for j, v := range buf {
					dst[n+j] = int64(v)
				}
			}
		default:
			err = fmt.Errorf("page of %T is not an integer page", r)
		}
		parquet.Release(p)
		if err != nil {
			return n, err
		}
		n += m
	}
}

func readAll[E any](read func([]E) (int, error), dst []E) (int, error) {
	n := 0
	for n < len(dst) {
		k, err := read(dst[n:])
		n += k
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, err
		}
		if k == 0 {
			return n, io.ErrUnexpectedEOF
		}
	}
	if n != len(dst) {
		return n, io.ErrUnexpectedEOF
	}
	return n, nil
}
