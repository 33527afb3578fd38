package train

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"

	"grouprank/data"
	"grouprank/features"
	"grouprank/recommend"
)

// Shard is one part of a sharded job (train, eval). The part holds its own
// groups (data.PartOf of their ids) and their events (a training part's
// History, History.SetShard; an evaluation part's EvalData); what is
// summed or drawn over every group joins the other parts' through Ex, with
// the bits of one process's job.
type Shard struct {
	Ex    Exchange
	Parts features.Parts
	// IDs are every group's id, in id order: the rows iALS fits by parts.
	IDs   []data.GroupID
	steps int
}

// NewShard is part ex.Part() of a job over the groups ids (every part's,
// in id order).
func NewShard(ctx context.Context, ex Exchange, ids []data.GroupID) *Shard {
	return &Shard{Ex: ex, Parts: NewParts(ctx, ex, "sums"), IDs: ids}
}

func (s *Shard) step(name string) string {
	s.steps++
	return fmt.Sprintf("%s-%d", name, s.steps)
}

// AddCounts sets each of xs to its sum over the parts (nothing for the
// whole).
func (s *Shard) AddCounts(xs ...*int) error {
	if s == nil {
		return nil
	}
	v := make([]int64, len(xs))
	for k, x := range xs {
		v[k] = int64(*x)
	}
	if err := s.Parts.AddInts(v); err != nil {
		return err
	}
	for k, x := range xs {
		*x = int(v[k])
	}
	return nil
}

// gatheredRows are rows of width values from every part, in key order:
// each part's rows as they came, and the order in which to read them (row
// n is part src[n]'s row at[n]), so that the rows are held once.
type gatheredRows struct {
	width int
	vals  [][]float64 // per part, its rows' values
	src   []uint16    // nil: one part's rows, in order
	at    []uint32
}

// Len is the number of rows.
func (g *gatheredRows) Len() int {
	if g.src == nil {
		return len(g.vals[0]) / g.width
	}
	return len(g.src)
}

// Val is value j of row n.
func (g *gatheredRows) Val(n, j int) float64 {
	if g.src == nil {
		return g.vals[0][n*g.width+j]
	}
	return g.vals[g.src[n]][int(g.at[n])*g.width+j]
}

// gatherRows brings rows of width values, each with a key (ascending in
// each part, never the same in two), to part 0, or with all to every part,
// and returns there every part's rows in key order; the other parts get
// nil. For the whole it returns the rows as they are.
func gatherRows(ctx context.Context, s *Shard, name string, all bool, keys []int64, vals []float64, width int) (*gatheredRows, error) {
	if s == nil {
		return &gatheredRows{width: width, vals: [][]float64{vals}}, nil
	}
	me, n := s.Ex.Part()
	if n > math.MaxUint16+1 {
		return nil, fmt.Errorf("%s: %d parts, at most %d", name, n, math.MaxUint16+1)
	}
	theirs := make([][]int64, n)
	theirVals := make([][]float64, n)
	theirs[me], theirVals[me] = keys, vals
	err := s.Ex.AllToAll(ctx, s.step(name), func(dst int, w io.Writer) error {
		if !all && dst != 0 {
			return nil
		}
		bw := bufio.NewWriter(w)
		buf := make([]byte, 8+8*width)
		for k, key := range keys {
			binary.LittleEndian.PutUint64(buf, uint64(key))
			for j, v := range vals[k*width : (k+1)*width] {
				binary.LittleEndian.PutUint64(buf[8+8*j:], math.Float64bits(v))
			}
			if _, err := bw.Write(buf); err != nil {
				return err
			}
		}
		return bw.Flush()
	}, func(src int, r io.Reader) error {
		br := bufio.NewReader(r)
		buf := make([]byte, 8+8*width)
		for {
			if _, err := io.ReadFull(br, buf); err == io.EOF {
				return nil
			} else if err != nil {
				return fmt.Errorf("%s: part %d's rows: %w", name, src, err)
			}
			theirs[src] = append(theirs[src], int64(binary.LittleEndian.Uint64(buf)))
			for j := range width {
				theirVals[src] = append(theirVals[src], math.Float64frombits(binary.LittleEndian.Uint64(buf[8+8*j:])))
			}
		}
	})
	if err != nil {
		return nil, err
	}
	if !all && me != 0 {
		return nil, nil
	}
	// The order of the parts' rows, each part's in key order.
	total := 0
	for p, k := range theirs {
		if len(k) > math.MaxUint32 {
			return nil, fmt.Errorf("%s: part %d sent %d rows, at most %d", name, p, len(k), math.MaxUint32)
		}
		total += len(k)
	}
	g := &gatheredRows{width: width, vals: theirVals, src: make([]uint16, 0, total), at: make([]uint32, 0, total)}
	at := make([]int, n)
	last := int64(math.MinInt64)
	for range total {
		best := -1
		for p := range n {
			if at[p] < len(theirs[p]) && (best < 0 || theirs[p][at[p]] < theirs[best][at[best]]) {
				best = p
			}
		}
		k := at[best]
		if len(g.src) > 0 && theirs[best][k] <= last {
			return nil, fmt.Errorf("%s: part %d's row %d is out of order", name, best, theirs[best][k])
		}
		last = theirs[best][k]
		g.src, g.at = append(g.src, uint16(best)), append(g.at, uint32(k))
		at[best]++
	}
	return g, nil
}

// Global is, per id of ids (this part's groups, in id order), its index
// among every part's groups (s.IDs).
func (s *Shard) Global(ids []data.GroupID) ([]int32, error) {
	global := make([]int32, len(ids))
	for g, id := range ids {
		k, ok := slices.BinarySearch(s.IDs, id)
		if !ok {
			return nil, fmt.Errorf("train: group %d is not among the job's groups", id)
		}
		global[g] = int32(k)
	}
	return global, nil
}

// TrainALS fits iALS on m, whose rows are this part's groups ids (in id
// order), with the other parts (TrainALSParts over every group's rows),
// and keeps its groups' vectors, in m's row order; the items' vectors are
// every part's.
func (s *Shard) TrainALS(ctx context.Context, name string, ids []data.GroupID, m *Interactions, cfg ALSConfig, epochDone func(int)) (*ALS, error) {
	global, err := s.Global(ids)
	if err != nil {
		return nil, err
	}
	G := len(s.IDs)
	all := &Interactions{Rows: G, Cols: m.Cols, Ptr: make([]int64, G+1), Col: m.Col, W: m.W}
	for g := range m.Rows {
		all.Ptr[global[g]+1] = m.Ptr[g+1] - m.Ptr[g]
	}
	for r := range G {
		all.Ptr[r+1] += all.Ptr[r]
	}
	_, n := s.Ex.Part()
	als, err := TrainALSParts(ctx, name, all, func(r int) int { return data.PartOf(s.IDs[r], n) }, s.Ex, cfg, epochDone)
	if err != nil {
		return nil, err
	}
	own := &recommend.Factors{K: als.Groups.K, V: make([]float32, len(ids)*als.Groups.K)}
	for g, r := range global {
		copy(own.Row(g), als.Groups.Row(int(r)))
	}
	als.Groups = own
	return als, nil
}

// Union is, in every part, the union of what each part gives (indices in
// ascending order, as xs must be), in ascending order.
func (s *Shard) Union(ctx context.Context, name string, xs []int32) ([]int32, error) {
	me, n := s.Ex.Part()
	theirs := make([][]int32, n)
	theirs[me] = xs
	err := s.Ex.AllGather(ctx, s.step(name), func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		var buf [4]byte
		for _, x := range xs {
			binary.LittleEndian.PutUint32(buf[:], uint32(x))
			if _, err := bw.Write(buf[:]); err != nil {
				return err
			}
		}
		return bw.Flush()
	}, func(src int, r io.Reader) error {
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if len(b)%4 != 0 {
			return fmt.Errorf("%s: part %d sent %d bytes, not a whole number of indices", name, src, len(b))
		}
		got := make([]int32, len(b)/4)
		for k := range got {
			got[k] = int32(binary.LittleEndian.Uint32(b[4*k:]))
		}
		theirs[src] = got
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := slices.Concat(theirs...)
	slices.Sort(out)
	return slices.Compact(out), nil
}
