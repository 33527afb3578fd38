package train

import (
	"bufio"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"

	"grouprank/recommend"
)

// Exchange swaps data between the n parts of a sharded job at named steps
// (exchange.Dir does it through a directory every part reaches). Each step
// is a barrier: it returns once this part has read what every other part
// put.
type Exchange interface {
	Part() (i, n int)
	// AllGather hands every other part what put writes.
	AllGather(ctx context.Context, step string, put func(w io.Writer) error, get func(src int, r io.Reader) error) error
	// AllToAll hands each other part dst what put(dst, ...) writes.
	AllToAll(ctx context.Context, step string, put func(dst int, w io.Writer) error, get func(src int, r io.Reader) error) error
}

// TrainALSParts is TrainALS for one of the n parts of a sharded job. The
// part reads only the rows of m it owns (owner(row) is its index; the other
// rows may be empty), solves only them and its items (column c belongs to
// part c mod n), and after each half epoch swaps the vectors it solved with
// the other parts through ex, so that every part ends with all of them. The
// rows' observations reach the parts of their items once, at the start.
//
// The vectors are bit for bit those TrainALS(ctx, m, cfg) fits on the whole
// matrix, whatever n and the workers: every row is solved from the same
// inputs (the other side whole, its Gram matrix, the row's observations in
// the same order), and the starting vectors are drawn by every part from
// the same seeded stream. The steps are named after name, which must differ
// between the fits sharing an exchange. Each part holds both sides' vectors
// whole (what a row's solution reads), its own rows and a 1/n share of the
// items' observations.
func TrainALSParts(ctx context.Context, name string, m *Interactions, owner func(row int) int, ex Exchange, cfg ALSConfig, epochDone func(epoch int)) (*ALS, error) {
	me, n := ex.Part()
	rowsOf := make([][]int32, n) // per part, the rows it solves, in order
	for p := range rowsOf {
		rowsOf[p] = make([]int32, 0, m.Rows/n+1)
	}
	for r := range m.Rows {
		p := owner(r)
		if p < 0 || p >= n {
			return nil, fmt.Errorf("train: %s: row %d belongs to part %d of %d", name, r, p, n)
		}
		rowsOf[p] = append(rowsOf[p], int32(r))
	}
	colsOf := make([][]int32, n)
	for p := range colsOf {
		colsOf[p] = make([]int32, 0, m.Cols/n+1)
	}
	for c := range m.Cols {
		colsOf[c%n] = append(colsOf[c%n], int32(c))
	}
	mt, err := itemRowsOfPart(ctx, name, m, rowsOf[me], colsOf, ex)
	if err != nil {
		return nil, err
	}
	users, items := initialFactors(cfg, m.Rows, m.Cols)
	scratch := newScratchPool(cfg.Factors)
	for e := range cfg.Epochs {
		if err := solveSide(ctx, users, items, m, rowsOf[me], cfg, scratch); err != nil {
			return nil, err
		}
		if err := swapVectors(ctx, ex, fmt.Sprintf("%s-epoch-%d-rows", name, e+1), users, rowsOf); err != nil {
			return nil, err
		}
		if err := solveSide(ctx, items, users, mt, colsOf[me], cfg, scratch); err != nil {
			return nil, err
		}
		if err := swapVectors(ctx, ex, fmt.Sprintf("%s-epoch-%d-columns", name, e+1), items, colsOf); err != nil {
			return nil, err
		}
		if epochDone != nil {
			epochDone(e + 1)
		}
	}
	return &ALS{Groups: users, Items: items, Config: cfg}, nil
}

// itemRowsOfPart is the transpose of m with only the columns this part
// owns filled, each with every row's observation in row order (as
// m.Transpose() has them): this part sends the observations of its rows
// to the parts of their columns and merges what the others send.
func itemRowsOfPart(ctx context.Context, name string, m *Interactions, mine []int32, colsOf [][]int32, ex Exchange) (*Interactions, error) {
	me, _ := ex.Part()
	own := &Interactions{Rows: m.Rows, Cols: m.Cols, Ptr: make([]int64, m.Rows+1)}
	for _, r := range mine {
		own.Ptr[r+1] = m.Ptr[r+1] - m.Ptr[r]
	}
	for r := range m.Rows {
		own.Ptr[r+1] += own.Ptr[r]
	}
	own.Col, own.W = make([]int32, own.Ptr[m.Rows]), make([]float32, own.Ptr[m.Rows])
	for _, r := range mine {
		cols, ws := m.Row(int(r))
		copy(own.Col[own.Ptr[r]:], cols)
		copy(own.W[own.Ptr[r]:], ws)
	}
	st := own.Transpose()
	// got[k] are the observations of this part's k-th column (colsOf[me]).
	type obs struct {
		row int32
		w   float32
	}
	got := make([][]obs, len(colsOf[me]))
	for k, c := range colsOf[me] {
		rows, ws := st.Row(int(c))
		got[k] = make([]obs, len(rows), len(rows)+len(rows)/2)
		for j := range rows {
			got[k][j] = obs{rows[j], ws[j]}
		}
	}
	var buf []byte
	err := ex.AllToAll(ctx, name+"-observations", func(dst int, w io.Writer) error {
		for _, c := range colsOf[dst] {
			rows, ws := st.Row(int(c))
			buf = binary.AppendUvarint(buf[:0], uint64(len(rows)))
			for j := range rows {
				buf = binary.LittleEndian.AppendUint32(buf, uint32(rows[j]))
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(ws[j]))
			}
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
		return nil
	}, func(src int, r io.Reader) error {
		br := byteReader(r)
		for k := range colsOf[me] {
			cnt, err := binary.ReadUvarint(br)
			if err != nil {
				return err
			}
			if cnt > uint64(m.Rows) {
				return fmt.Errorf("column %d: %d observations from part %d, more than the %d rows", colsOf[me][k], cnt, src, m.Rows)
			}
			b := make([]byte, 8*cnt)
			if _, err := io.ReadFull(br, b); err != nil {
				return err
			}
			for j := range int(cnt) {
				row := int32(binary.LittleEndian.Uint32(b[8*j:]))
				if row < 0 || int(row) >= m.Rows {
					return fmt.Errorf("column %d: row %d from part %d, of %d rows", colsOf[me][k], row, src, m.Rows)
				}
				got[k] = append(got[k], obs{row, math.Float32frombits(binary.LittleEndian.Uint32(b[8*j+4:]))})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	mt := &Interactions{Rows: m.Cols, Cols: m.Rows, Ptr: make([]int64, m.Cols+1)}
	for k, c := range colsOf[me] {
		mt.Ptr[c+1] = int64(len(got[k]))
	}
	for c := range m.Cols {
		mt.Ptr[c+1] += mt.Ptr[c]
	}
	mt.Col, mt.W = make([]int32, mt.Ptr[m.Cols]), make([]float32, mt.Ptr[m.Cols])
	for k, c := range colsOf[me] {
		// A row is in one part only, so the order by row is the whole
		// matrix's.
		slices.SortFunc(got[k], func(a, b obs) int { return cmp.Compare(a.row, b.row) })
		at := mt.Ptr[c]
		for j, o := range got[k] {
			mt.Col[at+int64(j)], mt.W[at+int64(j)] = o.row, o.w
		}
		got[k] = nil
	}
	return mt, nil
}

// swapVectors sends the vectors of x this part solved (its rows in rowsOf)
// to every other part and puts theirs in place.
func swapVectors(ctx context.Context, ex Exchange, step string, x *recommend.Factors, rowsOf [][]int32) error {
	me, _ := ex.Part()
	k := x.K
	return ex.AllGather(ctx, step, func(w io.Writer) error {
		buf := make([]byte, 0, 4*k*256)
		for j, r := range rowsOf[me] {
			for _, v := range x.Row(int(r)) {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			}
			if j%256 == 255 || j == len(rowsOf[me])-1 {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
		return nil
	}, func(src int, r io.Reader) error {
		b := make([]byte, 4*k)
		for _, row := range rowsOf[src] {
			if _, err := io.ReadFull(r, b); err != nil {
				return fmt.Errorf("vector of row %d: %w", row, err)
			}
			v := x.Row(int(row))
			for d := range v {
				v[d] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*d:]))
			}
		}
		return nil
	})
}

func byteReader(r io.Reader) interface {
	io.Reader
	io.ByteReader
} {
	if br, ok := r.(interface {
		io.Reader
		io.ByteReader
	}); ok {
		return br
	}
	return bufio.NewReader(r)
}
