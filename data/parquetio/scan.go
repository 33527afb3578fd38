package parquetio

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/parquet-go/parquet-go"
)

// Batch holds the requested columns of one row group, of equal length:
// integer columns as int64 (Col), double columns as float64 (Float) and byte
// array columns (strings) as one buffer (Bytes). Everything is reused by
// later batches: copy what you keep past fn's return.
type Batch struct {
	Rows  int
	Total int64 // rows in the file
	kinds []parquet.Kind
	cols  [][]int64
	flts  [][]float64
	bytes [][]byte  // byte array columns: the values one after another
	offs  [][]int32 // and where each starts (Rows+1 offsets)
}

// Col returns the i-th requested column (in the order given to Scan), an
// integer column.
func (b *Batch) Col(i int) []int64 { return b.cols[i][:b.Rows] }

// Float returns the i-th requested column, a double column.
func (b *Batch) Float(i int) []float64 { return b.flts[i][:b.Rows] }

// Bytes returns row r's value in the i-th requested column, a byte array
// column; it is valid until the next batch.
func (b *Batch) Bytes(i, r int) []byte { return b.bytes[i][b.offs[i][r]:b.offs[i][r+1]] }

// Scan reads the named columns (integers: INT64, INT32 or timestamps, e.g.
// "group", "sku", "time" of orders, pushes or exposures; doubles; byte
// arrays) one row group at a time straight from the typed column pages,
// without building rows, and calls fn with each row group's values. Only
// required columns can be scanned. It stops at the first error fn returns.
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
	b := &Batch{Total: pf.NumRows(), kinds: make([]parquet.Kind, len(columns)), cols: make([][]int64, len(columns)),
		flts: make([][]float64, len(columns)), bytes: make([][]byte, len(columns)), offs: make([][]int32, len(columns))}
	for i, name := range columns {
		leaf, ok := pf.Schema().Lookup(name)
		if !ok {
			return fmt.Errorf("parquetio: %s: column %s: missing", filepath.Base(path), name)
		}
		switch k := leaf.Node.Type().Kind(); {
		case k != parquet.Int64 && k != parquet.Int32 && k != parquet.Double && k != parquet.ByteArray:
			return fmt.Errorf("parquetio: %s: column %s: type %v, want an integer, double or byte array column", filepath.Base(path), name, k)
		case leaf.MaxDefinitionLevel > 0 || leaf.MaxRepetitionLevel > 0:
			return fmt.Errorf("parquetio: %s: column %s: optional or repeated columns are not scannable", filepath.Base(path), name)
		default:
			b.kinds[i] = k
		}
		idx[i] = leaf.ColumnIndex
	}
	// One goroutine decodes the next row group into the other of two
	// batches while fn reads this one: fn sees the same batches in the
	// same order as without it.
	free := make(chan *Batch, 2)
	free <- b
	free <- &Batch{Total: b.Total, kinds: b.kinds, cols: make([][]int64, len(columns)),
		flts: make([][]float64, len(columns)), bytes: make([][]byte, len(columns)), offs: make([][]int32, len(columns))}
	type decoded struct {
		b   *Batch
		err error
	}
	out := make(chan decoded)
	done := make(chan struct{})
	go func() {
		defer close(out)
		var i32 []int32
		var page []byte
		for _, rg := range pf.RowGroups() {
			var b *Batch
			select {
			case b = <-free:
			case <-done:
				return
			}
			err := ctx.Err()
			if err == nil {
				err = decodeRowGroup(rg, b, idx, columns, path, &i32, &page)
			}
			select {
			case out <- decoded{b, err}:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	defer func() {
		close(done)
		for range out { // the decoder has stopped before the file is closed
		}
	}()
	for d := range out {
		if d.err != nil {
			return d.err
		}
		if err := fn(d.b); err != nil {
			return err
		}
		free <- d.b
	}
	return nil
}

// decodeRowGroup reads row group rg's requested columns (at idx) into b.
func decodeRowGroup(rg parquet.RowGroup, b *Batch, idx []int, columns []string, path string, i32 *[]int32, page *[]byte) error {
	n := int(rg.NumRows())
	b.Rows = n
	for c, ci := range idx {
		var got int
		var err error
		switch b.kinds[c] {
		case parquet.Double:
			if cap(b.flts[c]) < n {
				b.flts[c] = make([]float64, n)
			}
			got, err = readDoubleChunk(rg.ColumnChunks()[ci], b.flts[c][:n])
		case parquet.ByteArray:
			b.offs[c] = slices.Grow(b.offs[c][:0], n+1)[:1]
			b.offs[c][0] = 0
			b.bytes[c], b.offs[c], err = readBytesChunk(rg.ColumnChunks()[ci], b.bytes[c][:0], b.offs[c], page)
			got = len(b.offs[c]) - 1
		default:
			if cap(b.cols[c]) < n {
				b.cols[c] = make([]int64, n)
			}
			got, err = readChunk(rg.ColumnChunks()[ci], b.cols[c][:n], i32)
		}
		if err != nil {
			return fmt.Errorf("parquetio: %s: column %s: %w", filepath.Base(path), columns[c], err)
		}
		if got != n {
			return fmt.Errorf("parquetio: %s: column %s: %d values in a row group of %d rows", filepath.Base(path), columns[c], got, n)
		}
	}
	return nil
}

// readDoubleChunk decodes one double column chunk into dst page by page.
func readDoubleChunk(chunk parquet.ColumnChunk, dst []float64) (int, error) {
	return readPages(chunk, len(dst), func(v parquet.ValueReader, n, m int) error {
		r, ok := v.(parquet.DoubleReader)
		if !ok {
			return fmt.Errorf("page of %T is not a double page", v)
		}
		_, err := readAll(r.ReadDoubles, dst[n:n+m])
		return err
	})
}

// readBytesChunk appends one byte array column chunk's values to data and
// where each ends to offs, page by page; page is a reused decoding buffer.
func readBytesChunk(chunk parquet.ColumnChunk, data []byte, offs []int32, page *[]byte) ([]byte, []int32, error) {
	pages := chunk.Pages()
	defer pages.Close()
	if len(*page) == 0 {
		*page = make([]byte, 64<<10)
	}
	for {
		p, err := pages.ReadPage()
		if errors.Is(err, io.EOF) {
			return data, offs, nil
		}
		if err != nil {
			return data, offs, err
		}
		r, ok := p.Values().(parquet.ByteArrayReader)
		if !ok { // a dictionary-encoded page: its values one by one
			var err error
			data, offs, err = readValues(p, data, offs)
			parquet.Release(p)
			if err != nil {
				return data, offs, err
			}
			continue
		}
		for left := int(p.NumValues()); left > 0; {
			k, err := r.ReadByteArrays(*page)
			for buf := *page; k > 0; k-- {
				l := int(binary.LittleEndian.Uint32(buf))
				data = append(data, buf[4:4+l]...)
				offs = append(offs, int32(len(data)))
				buf = buf[4+l:]
				left--
			}
			switch {
			case errors.Is(err, io.ErrShortBuffer): // a value longer than the buffer
				*page = make([]byte, 2*len(*page))
			case errors.Is(err, io.EOF):
				left = 0
			case err != nil:
				parquet.Release(p)
				return data, offs, err
			}
			if len(data) > math.MaxInt32 {
				parquet.Release(p)
				return data, offs, fmt.Errorf("more than 2 GiB of values in one row group")
			}
		}
		parquet.Release(p)
	}
}

// readChunk decodes one integer column chunk into dst page by page.
func readChunk(chunk parquet.ColumnChunk, dst []int64, i32 *[]int32) (int, error) {
	return readPages(chunk, len(dst), func(v parquet.ValueReader, n, m int) error {
		switch r := v.(type) {
		case parquet.Int64Reader:
			_, err := readAll(r.ReadInt64s, dst[n:n+m])
			return err
		case parquet.Int32Reader:
			if cap(*i32) < m {
				*i32 = make([]int32, m)
			}
			buf := (*i32)[:m]
			if _, err := readAll(r.ReadInt32s, buf); err != nil {
				return err
			}
			for j, x := range buf {
				dst[n+j] = int64(x)
			}
			return nil
		}
		return fmt.Errorf("page of %T is not an integer page", v)
	})
}

// readPages calls read with each page's values, the values before it (n)
// and its own count (m), for a chunk of at most rows values; it returns how
// many values the pages held.
func readPages(chunk parquet.ColumnChunk, rows int, read func(v parquet.ValueReader, n, m int) error) (int, error) {
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
		if n+m > rows {
			parquet.Release(p)
			return n, fmt.Errorf("more values than rows")
		}
		err = read(p.Values(), n, m)
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

// readValues appends a page's byte array values read as parquet.Values
// (what a dictionary-encoded page gives).
func readValues(p parquet.Page, data []byte, offs []int32) ([]byte, []int32, error) {
	var vals [256]parquet.Value
	r := p.Values()
	for left := int(p.NumValues()); left > 0; {
		k, err := r.ReadValues(vals[:min(left, len(vals))])
		for _, v := range vals[:k] {
			data = append(data, v.ByteArray()...)
			offs = append(offs, int32(len(data)))
		}
		left -= k
		switch {
		case errors.Is(err, io.EOF):
			left = 0
		case err != nil:
			return data, offs, err
		case k == 0:
			return data, offs, io.ErrUnexpectedEOF
		}
		if len(data) > math.MaxInt32 {
			return data, offs, fmt.Errorf("more than 2 GiB of values in one row group")
		}
	}
	return data, offs, nil
}
