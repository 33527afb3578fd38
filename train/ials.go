package train

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"

	"golang.org/x/sync/errgroup"

	"grouprank/data"
	"grouprank/features"
	"grouprank/recommend"
)

// Interactions is a sparse rows x cols matrix of positive weights in CSR form.
type Interactions struct {
	Rows, Cols int
	Ptr        []int64 // len Rows+1
	Col        []int32
	W          []float32
}

// NewInteractions builds the matrix from (row, col, weight) triples, summing duplicates.
// Each row's entries are sorted by column and merged in place: beside the
// triples it holds one copy of the columns and weights, not two (at 1M
// groups a matrix has tens of millions of entries).
func NewInteractions(rows, cols int, r, c []int32, w []float32) *Interactions {
	m := &Interactions{Rows: rows, Cols: cols, Ptr: make([]int64, rows+1)}
	for _, x := range r {
		m.Ptr[x+1]++
	}
	for i := range rows {
		m.Ptr[i+1] += m.Ptr[i]
	}
	col := make([]int32, len(r))
	wt := make([]float32, len(r))
	next := append([]int64(nil), m.Ptr[:rows]...)
	for n, x := range r {
		col[next[x]], wt[next[x]] = c[n], w[n]
		next[x]++
	}
	next = nil
	// Sort each row by column (sort.Sort makes the swaps sort.Slice makes
	// for the same comparisons, so duplicates are summed in the order they
	// always were) and merge duplicates, writing at or before where it
	// reads.
	out := int64(0)
	for i := range rows {
		s, e := m.Ptr[i], m.Ptr[i+1]
		sort.Sort(rowEntries{col[s:e], wt[s:e]})
		start := out
		for k := s; k < e; k++ {
			if out > start && col[k] == col[out-1] {
				wt[out-1] += wt[k]
				continue
			}
			col[out], wt[out] = col[k], wt[k]
			out++
		}
		m.Ptr[i] = start
	}
	m.Ptr[rows] = out
	m.Col, m.W = col[:out:out], wt[:out:out]
	return m
}

// rowEntries sorts a row's columns, moving their weights with them.
type rowEntries struct {
	col []int32
	w   []float32
}

func (r rowEntries) Len() int           { return len(r.col) }
func (r rowEntries) Less(a, b int) bool { return r.col[a] < r.col[b] }
func (r rowEntries) Swap(a, b int) {
	r.col[a], r.col[b] = r.col[b], r.col[a]
	r.w[a], r.w[b] = r.w[b], r.w[a]
}

// Row returns the columns and weights of row i (views).
func (m *Interactions) Row(i int) ([]int32, []float32) {
	s, e := m.Ptr[i], m.Ptr[i+1]
	return m.Col[s:e], m.W[s:e]
}

// NNZ is the number of stored entries.
func (m *Interactions) NNZ() int { return len(m.Col) }

// Transpose returns the cols x rows matrix. Its rows are split into
// parts, counted and copied side by side: part p's entries of a column go
// after those of the parts before it, so the result is the same whatever
// the number of parts.
func (m *Interactions) Transpose() *Interactions {
	parts := 1
	if len(m.Col) >= 1<<20 {
		parts = max(1, min(runtime.GOMAXPROCS(0), 4))
	}
	return m.transpose(parts)
}

func (m *Interactions) transpose(parts int) *Interactions {
	t := &Interactions{Rows: m.Cols, Cols: m.Rows, Ptr: make([]int64, m.Cols+1), Col: make([]int32, len(m.Col)), W: make([]float32, len(m.W))}
	// cut[p] is part p's first row: the entries are shared out evenly.
	cut := make([]int, parts+1)
	for p := 1; p < parts; p++ {
		target := int64(len(m.Col)) * int64(p) / int64(parts)
		cut[p] = sort.Search(m.Rows, func(r int) bool { return m.Ptr[r] >= target })
	}
	cut[parts] = m.Rows
	next := make([][]int64, parts) // per part: the next free slot of each column
	var eg errgroup.Group
	for p := range parts {
		eg.Go(func() error {
			counts := make([]int64, m.Cols)
			for _, c := range m.Col[m.Ptr[cut[p]]:m.Ptr[cut[p+1]]] {
				counts[c]++
			}
			next[p] = counts
			return nil
		})
	}
	eg.Wait()
	var at int64
	for c := range m.Cols {
		t.Ptr[c] = at
		for p := range parts {
			n := next[p][c]
			next[p][c] = at
			at += n
		}
	}
	t.Ptr[m.Cols] = at
	for p := range parts {
		eg.Go(func() error {
			nx := next[p]
			for r := cut[p]; r < cut[p+1]; r++ {
				cols, ws := m.Row(r)
				for n, c := range cols {
					t.Col[nx[c]], t.W[nx[c]] = int32(r), ws[n]
					nx[c]++
				}
			}
			return nil
		})
	}
	eg.Wait()
	return t
}

// ALSConfig sets implicit ALS.
type ALSConfig struct {
	Factors int     // K
	Alpha0  float32 // global weight of unobserved pairs
	Lambda  float32 // regularisation, scaled by (n + Alpha0 * cols)^Nu per row
	Nu      float32
	Epochs  int
	CGSteps int // conjugate-gradient steps per row and epoch (warm-started)
	Workers int // 0: all cores
	Seed    uint64
}

// DefaultALSConfig are sensible starting values (grouprank tune refines them).
func DefaultALSConfig() ALSConfig {
	return ALSConfig{Factors: 64, Alpha0: 0.05, Lambda: 0.002, Nu: 1, Epochs: 12, CGSteps: 3, Seed: 1}
}

// ALS is a fitted model: group and item vectors.
type ALS struct {
	Groups, Items *recommend.Factors
	Config        ALSConfig
}

// TrainALS fits group (row) and item (column) vectors to m. epochDone, when
// not nil, is called after each epoch. The result depends only on m and cfg.
func TrainALS(ctx context.Context, m *Interactions, cfg ALSConfig, epochDone func(epoch int)) (*ALS, error) {
	// The transpose is built while the vectors are drawn.
	var mt *Interactions
	done := make(chan struct{})
	go func() { mt = m.Transpose(); close(done) }()
	users, items := initialFactors(cfg, m.Rows, m.Cols)
	<-done
	scratch := newScratchPool(cfg.Factors)
	for e := range cfg.Epochs {
		if err := solveSide(ctx, users, items, m, nil, cfg, scratch); err != nil {
			return nil, err
		}
		if err := solveSide(ctx, items, users, mt, nil, cfg, scratch); err != nil {
			return nil, err
		}
		if epochDone != nil {
			epochDone(e + 1)
		}
	}
	return &ALS{Groups: users, Items: items, Config: cfg}, nil
}

// initialFactors draws the starting vectors of the rows, then of the
// columns, from one seeded stream, in order.
func initialFactors(cfg ALSConfig, rows, cols int) (users, items *recommend.Factors) {
	k := cfg.Factors
	r := rand.New(rand.NewPCG(cfg.Seed, 0x1a15))
	init := func(n int) *recommend.Factors {
		f := &recommend.Factors{K: k, V: make([]float32, n*k)}
		s := 0.1 / math.Sqrt(float64(k))
		for i := range f.V {
			f.V[i] = float32(s * r.NormFloat64())
		}
		return f
	}
	return init(rows), init(cols)
}

// newScratchPool holds the work vectors reused by every block of rows of
// every epoch: a block's gathered observations (up to 16 MiB for items
// everyone buys) are not allocated anew each time.
func newScratchPool(k int) *sync.Pool {
	return &sync.Pool{New: func() any { return recommend.NewScratch(k) }}
}

// solveSide updates every row of x against the frozen side y (or only
// those listed in rows, when not nil: a row's solution does not depend on
// which others are solved, nor on the blocks or workers).
func solveSide(ctx context.Context, x, y *recommend.Factors, m *Interactions, rows []int32, cfg ALSConfig, scratch *sync.Pool) error {
	p := &recommend.RowProblem{Other: y, Gram: recommend.Gram(y), Alpha0: cfg.Alpha0, Lambda: cfg.Lambda, Nu: cfg.Nu, Cols: y.Rows()}
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	eg, ctx := errgroup.WithContext(ctx)
	eg.SetLimit(workers)
	rowOf := func(k int) int { return k }
	n := m.Rows
	if rows != nil {
		rowOf, n = func(k int) int { return int(rows[k]) }, len(rows)
	}
	ends := solveBlocks(n, workers, x.K, func(k int) int {
		r := rowOf(k)
		return int(m.Ptr[r+1] - m.Ptr[r])
	})
	for b, end := range ends {
		start := 0
		if b > 0 {
			start = ends[b-1]
		}
		eg.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			s := scratch.Get().(*recommend.Scratch)
			defer scratch.Put(s)
			for k := start; k < end; k++ {
				row := rowOf(k)
				cols, w := m.Row(row)
				p.Solve(x.Row(row), cols, w, cfg.CGSteps, s)
			}
			return nil
		})
	}
	return eg.Wait()
}

// solveBlocks cuts n rows (nnz(r): row r's observations) into the blocks
// the workers take in turn, returning each block's end. A block ends after
// 512 rows or once it holds a 32nd of a worker's share of the side's work
// (a row costs its observations plus about its factors for its Gram
// products), whichever comes first: the rows everyone's orders fall on (the
// popular items, the heaviest groups) often sit together, and would keep
// one core busy while the other idles.
func solveBlocks(n, workers, factors int, nnz func(r int) int) []int {
	total := 0
	for r := range n {
		total += nnz(r) + factors
	}
	share := max(total/(32*max(workers, 1)), 1)
	var ends []int
	rows, work := 0, 0
	for r := range n {
		rows++
		work += nnz(r) + factors
		if rows == 512 || work >= share || r == n-1 {
			ends = append(ends, r+1)
			rows, work = 0, 0
		}
	}
	return ends
}

// HistoryMatrix aggregates orders into the groups x items matrix iALS learns
// from: an observed pair weighs 1 + confidence x u / n_i^debias, where u is the
// units the group ordered (each decayed with the half-life from at) and n_i the
// orders of the item in all the history. debias > 0 discounts items everyone
// buys because everyone is shown them, so the vectors learn what sets a group
// apart rather than the logging policy.
func HistoryMatrix(orders *features.Events, groups, items int, at data.Timestamp, halfLifeDays float64, confidence, debias float32) *Interactions {
	m, _ := HistoryMatrixOf(nil, orders, groups, items, at, halfLifeDays, confidence, debias)
	return m
}

// HistoryMatrixOf is HistoryMatrix for part sh of a sharded job (nil: the
// whole): orders are the part's groups' (indexed among them), the items'
// order counts debias divides by are every part's.
func HistoryMatrixOf(sh *Shard, orders *features.Events, groups, items int, at data.Timestamp, halfLifeDays float64, confidence, debias float32) (*Interactions, error) {
	w := make([]float32, orders.Len())
	for n := range w {
		d := float32(1)
		if t := orders.Time[n]; halfLifeDays > 0 && t != data.UnknownTime && at != data.UnknownTime {
			d = float32(math.Exp2(-float64(at-t) / float64(data.Day) / halfLifeDays))
		}
		w[n] = d * orders.Qty[n]
	}
	m := NewInteractions(groups, items, orders.Group, orders.Item, w)
	scale := make([]float32, items)
	for i := range scale {
		scale[i] = confidence
	}
	if debias > 0 {
		count := make([]int64, items)
		for _, i := range orders.Item {
			count[i]++
		}
		if sh != nil {
			if err := sh.Parts.AddInts(count); err != nil {
				return nil, err
			}
		}
		for i, c := range count {
			scale[i] = confidence / float32(math.Pow(math.Max(float64(c), 1), float64(debias)))
		}
	}
	for n, c := range m.Col {
		m.W[n] = 1 + scale[c]*m.W[n]
	}
	return m, nil
}
