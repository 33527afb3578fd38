package pref

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"
	"gonum.org/v1/gonum/mat"

	"grouprank/recommend"
	"grouprank/train"
)

// MaxEASEItems bounds EASE's catalogue: it inverts the dense items x items
// Gram matrix (6,000 items: 288 MB of float64 and a pure-Go Cholesky of a
// few seconds per penalty). Larger catalogues skip it, with a message.
const MaxEASEItems = 6000

// ItemItemBudget bounds the entries an item-item matrix keeps: each item
// keeps its Neighbours(items) strongest (the whole row below about 8,000
// items; 2,180 at 30,782 items, 671 at 100,000).
const ItemItemBudget = 1 << 26

// Neighbours is how many entries each of n items keeps in its row.
func Neighbours(n int) int { return max(1, min(n, ItemItemBudget/max(n, 1))) }

// MaxWork bounds the multiply-adds of the item-item products (the Gram
// matrix's sum over the rows of their squared lengths, the graph filter's
// two-hop term's sum over the items of their squared neighbour counts) and
// MaxTwoHopEntries the entries of the one-hop matrix the two-hop term
// reads; data beyond them skip the method (or its two-hop settings) with a
// message.
const (
	MaxWork          = 1 << 33
	MaxTwoHopEntries = 1 << 27
)

// twoHopEntries and twoHopWork are the two-hop term's bounds as its check
// reads them (a test lowers them).
var twoHopEntries, twoHopWork int64 = MaxTwoHopEntries, MaxWork

// itemItem builds the item-item scoring matrix S of an item-item method: a
// group's score is its scoring row times S.
func itemItem(ctx context.Context, d *Data, cfg Config, workers int) (*recommend.ItemItem, error) {
	n := d.Items
	if cfg.Method == MethodEASE { // refused before the rows are stacked
		if n > MaxEASEItems {
			return nil, &SkippedError{cfg.Method, fmt.Sprintf("%d items; EASE inverts the items x items matrix up to %d", n, MaxEASEItems)}
		}
		if cfg.Lambda <= 0 {
			return nil, fmt.Errorf("pref: ease needs lambda > 0")
		}
	}
	x := stacked(d, cfg.MemberRows, cfg.PushWeight, 0)
	switch cfg.Method {
	case MethodItemKNN:
		if err := gramWork(x, cfg.Method); err != nil {
			return nil, err
		}
		return cosine(ctx, x, workers, d.Parts)
	case MethodEASE:
		g := gram(x, nil)
		var diag float64
		for i := range n {
			diag += g[i*n+i]
		}
		diag /= float64(n)
		return EASE(g, n, cfg.Lambda*math.Max(diag, 1e-9))
	case MethodGraph:
		if err := gramWork(x, cfg.Method); err != nil {
			return nil, err
		}
		return graphFilter(ctx, x, cfg.Order2, workers, d.Parts)
	}
	return nil, fmt.Errorf("pref: %q is not an item-item method", cfg.Method)
}

// itemItemCache keeps, per split's data, the last item-item matrix fitted
// and the settings it was fitted with: a search's trials that change only
// how a group's row is read (consensus) reuse it instead of refitting (the
// same bits: a fit depends on its settings alone). One matrix per split, so
// at most one per fold is held beside the one being fitted.
type itemItemCache struct {
	mu   sync.Mutex
	last map[*Data]cachedItemItem
}

type cachedItemItem struct {
	key string
	s   *recommend.ItemItem
}

// itemItem is the package's itemItem through the cache (c nil: none).
func (c *itemItemCache) itemItem(ctx context.Context, d *Data, cfg Config, workers int) (*recommend.ItemItem, error) {
	if c == nil {
		return itemItem(ctx, d, cfg, workers)
	}
	key := fmt.Sprintf("%s %g %g %g %g", cfg.Method, cfg.MemberRows, cfg.PushWeight, cfg.Lambda, cfg.Order2)
	c.mu.Lock()
	hit, ok := c.last[d]
	c.mu.Unlock()
	if ok && hit.key == key {
		return hit.s, nil
	}
	s, err := itemItem(ctx, d, cfg, workers)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.last == nil {
		c.last = map[*Data]cachedItemItem{}
	}
	c.last[d] = cachedItemItem{key, s}
	c.mu.Unlock()
	return s, nil
}

// gramWork refuses rows whose item-item products exceed MaxWork.
func gramWork(x *train.Interactions, method string) error {
	var work float64
	for r := range x.Rows {
		l := float64(x.Ptr[r+1] - x.Ptr[r])
		work += l * l
	}
	if work > MaxWork {
		return &SkippedError{method, fmt.Sprintf("the item-item products take %.3g multiply-adds, above %.3g", work, float64(MaxWork))}
	}
	return nil
}

// gram is XᵀWX (float64, row-major), W the diagonal of row weights rowW (nil: 1).
func gram(x *train.Interactions, rowW []float64) []float64 {
	n := x.Cols
	g := make([]float64, n*n)
	for r := range x.Rows {
		cols, ws := x.Row(r)
		f := 1.0
		if rowW != nil {
			f = rowW[r]
		}
		for a, i := range cols {
			wa := f * float64(ws[a])
			gi := g[int(i)*n : (int(i)+1)*n]
			for b, j := range cols {
				gi[j] += wa * float64(ws[b])
			}
		}
	}
	return g
}

// rowFunc adds row j's dense values into acc (zeros on entry) and appends
// each column it touches to touched once, marking it in mark.
type rowFunc func(j int, acc []float64, mark []bool, touched []int32) []int32

// touch appends i to touched unless mark says it is there.
func touch(i int32, mark []bool, touched []int32) []int32 {
	if !mark[i] {
		mark[i] = true
		touched = append(touched, i)
	}
	return touched
}

// sparseRows computes the n rows of an item-item matrix on workers
// goroutines: row fills row j's values and lists the columns it touched;
// value turns an accumulated value into the entry; the entries kept
// are the nonzero ones, the keep strongest by magnitude (ties: the lower
// column) when there are more, sorted by column. With parts, this part
// computes its items' rows (j mod n) and joins the others'.
func sparseRows(ctx context.Context, n, keep, workers int, row rowFunc,
	value func(j int, i int32, v float64) float32, parts *Parts) ([][]int32, [][]float32, error) {
	cols, ws := make([][]int32, n), make([][]float32, n)
	first, stride := 0, 1
	if parts != nil {
		first, stride = parts.me()
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(workers)
	type scratch struct {
		acc     []float64
		mark    []bool
		touched []int32
		es      []entry
	}
	pool := sync.Pool{New: func() any { return &scratch{acc: make([]float64, n), mark: make([]bool, n)} }}
	block := 256 * stride
	for lo := first; lo < n; lo += block {
		eg.Go(func() error {
			if err := ectx.Err(); err != nil {
				return err
			}
			sc := pool.Get().(*scratch)
			defer pool.Put(sc)
			acc, mark, touched, es := sc.acc, sc.mark, sc.touched, sc.es
			defer func() { sc.touched, sc.es = touched, es }()
			for j := lo; j < min(n, lo+block); j += stride {
				touched = row(j, acc, mark, touched[:0])
				es = es[:0]
				for _, i := range touched {
					if v := value(j, i, acc[i]); v != 0 {
						es = append(es, entry{i, v})
					}
					acc[i], mark[i] = 0, false
				}
				if len(es) > keep {
					selectStrongest(es, keep)
					es = es[:keep]
				}
				slices.SortFunc(es, func(a, b entry) int { return cmp.Compare(a.i, b.i) })
				cols[j], ws[j] = make([]int32, len(es)), make([]float32, len(es))
				for k, e := range es {
					cols[j][k], ws[j][k] = e.i, e.v
				}
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, nil, err
	}
	if parts != nil {
		if err := joinRows(ctx, parts, "item-item", cols, ws); err != nil {
			return nil, nil, err
		}
	}
	return cols, ws, nil
}

func abs32(v float32) float32 { return max(v, -v) }

// entry is one value of an item-item row: its column and value.
type entry struct {
	i int32
	v float32
}

// stronger orders entries by magnitude, ties by the lower column: a total
// order, so the strongest keep of a row are one set however they are found.
func (a entry) stronger(b entry) bool {
	if x, y := abs32(a.v), abs32(b.v); x != y {
		return x > y
	}
	return a.i < b.i
}

// selectStrongest moves the keep strongest entries of es (stronger) to its
// front, in no order, by quickselect: linear in len(es) where sorting the
// row was n log n (the most of an item-kNN fit over 25,000 items).
func selectStrongest(es []entry, keep int) {
	lo, hi := 0, len(es)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if es[mid].stronger(es[lo]) {
			es[lo], es[mid] = es[mid], es[lo]
		}
		if es[hi].stronger(es[lo]) {
			es[lo], es[hi] = es[hi], es[lo]
		}
		if es[mid].stronger(es[hi]) {
			es[mid], es[hi] = es[hi], es[mid]
		}
		p := es[hi] // the median of the three
		k := lo
		for j := lo; j < hi; j++ {
			if es[j].stronger(p) {
				es[k], es[j] = es[j], es[k]
				k++
			}
		}
		es[k], es[hi] = es[hi], es[k]
		switch {
		case k == keep-1:
			return
		case k < keep-1:
			lo = k + 1
		default:
			hi = k - 1
		}
	}
}

// gramRow returns a function adding row j of XᵀWX (W the row weights rowW,
// nil: 1) into acc, over xt = Xᵀ: the rows holding item j in row order,
// each adding (w x its weight of j) x its weight of every item, the sums in
// the order gram makes them.
func gramRow(x, xt *train.Interactions, rowW []float64) rowFunc {
	return func(j int, acc []float64, mark []bool, touched []int32) []int32 {
		rs, wj := xt.Row(j)
		for k, r := range rs {
			f := 1.0
			if rowW != nil {
				f = rowW[r]
			}
			wa := f * float64(wj[k])
			cols, ws := x.Row(int(r))
			for b, i := range cols {
				touched = touch(i, mark, touched)
				acc[i] += wa * float64(ws[b])
			}
		}
		return touched
	}
}

// diagonal is the diagonal of XᵀWX, summed as gram sums it: a row holds
// each column once (NewInteractions merges duplicates), so its term of
// (j, j) is its weight of j times itself.
func diagonal(xt *train.Interactions, rowW []float64) []float64 {
	d := make([]float64, xt.Rows)
	for j := range xt.Rows {
		rs, wj := xt.Row(j)
		for k, r := range rs {
			f := 1.0
			if rowW != nil {
				f = rowW[r]
			}
			d[j] += f * float64(wj[k]) * float64(wj[k])
		}
	}
	return d
}

// newItemItem packs rows into the serving form, sized once (appending
// row by row, growing the arrays, took as long as the packing).
func newItemItem(cols [][]int32, ws [][]float32) (*recommend.ItemItem, error) {
	m := &recommend.ItemItem{N: len(cols), Ptr: make([]int64, len(cols)+1)}
	for j, c := range cols {
		if len(c) != len(ws[j]) {
			return nil, fmt.Errorf("item-item row %d: %d columns, %d weights", j, len(c), len(ws[j]))
		}
		m.Ptr[j+1] = m.Ptr[j] + int64(len(c))
	}
	m.Col, m.W = make([]int32, 0, m.Ptr[len(cols)]), make([]float32, 0, m.Ptr[len(cols)])
	for j, c := range cols {
		m.Col, m.W = append(m.Col, c...), append(m.W, ws[j]...)
	}
	if err := m.Check(); err != nil {
		return nil, err
	}
	return m, nil
}

// identity is the items x items identity: scored through it, a row is
// itself (the members' model).
func identity(n int) (*recommend.ItemItem, error) {
	one := []float32{1}
	return recommend.NewItemItem(n, func(j int) ([]int32, []float32) { return []int32{int32(j)}, one })
}

// Cosine is the cosine similarity of the columns of x (the items), with a
// zero diagonal, each item keeping its Neighbours strongest.
func Cosine(ctx context.Context, x *train.Interactions, workers int) (*recommend.ItemItem, error) {
	return cosine(ctx, x, workers, nil)
}

// cosine is Cosine, by parts when parts is not nil.
func cosine(ctx context.Context, x *train.Interactions, workers int, parts *Parts) (*recommend.ItemItem, error) {
	n := x.Cols
	xt := x.Transpose()
	d := diagonal(xt, nil)
	cols, ws, err := sparseRows(ctx, n, Neighbours(n), workers, gramRow(x, xt, nil), func(j int, i int32, v float64) float32 {
		if int(i) == j || d[j] <= 0 || d[i] <= 0 {
			return 0
		}
		return float32(v / math.Sqrt(d[j]*d[i]))
	}, parts)
	if err != nil {
		return nil, err
	}
	return newItemItem(cols, ws)
}

// EASE solves Steck's "Embarrassingly Shallow Autoencoders" (WWW 2019) in
// closed form from the Gram matrix g (n x n, row-major) and the absolute L2
// penalty lambda: P = (G + lambda I)^-1, B_ji = -P_ji / P_ii, B_ii = 0. Row
// j of the result holds B_ji, the weight of past item j in item i's score.
func EASE(g []float64, n int, lambda float64) (*recommend.ItemItem, error) {
	a := mat.NewSymDense(n, nil)
	for i := range n {
		for j := i; j < n; j++ {
			v := g[i*n+j]
			if i == j {
				v += lambda
			}
			a.SetSym(i, j, v)
		}
	}
	var ch mat.Cholesky
	if !ch.Factorize(a) {
		return nil, fmt.Errorf("pref: ease: the penalised Gram matrix is not positive definite (lambda %g)", lambda)
	}
	var p mat.SymDense
	if err := ch.InverseTo(&p); err != nil {
		return nil, fmt.Errorf("pref: ease: %w", err)
	}
	return recommend.NewItemItem(n, func(j int) ([]int32, []float32) {
		var cols []int32
		var ws []float32
		for i := range n {
			if v := float32(-p.At(j, i) / p.At(i, i)); i != j && v != 0 {
				cols, ws = append(cols, int32(i)), append(ws, v)
			}
		}
		return cols, ws
	})
}

// degrees are 1 / each row's weight (0 for an empty row) and each
// column's weight.
func degrees(x *train.Interactions) (rowW, col []float64) {
	rowW, col = make([]float64, x.Rows), make([]float64, x.Cols)
	for r := range x.Rows {
		_, ws := x.Row(r)
		var d float64
		for _, w := range ws {
			d += float64(w)
		}
		if d > 0 {
			rowW[r] = 1 / d
		}
	}
	for k, c := range x.Col {
		col[c] += float64(x.W[k])
	}
	return rowW, col
}

// GraphFilter is a training-free low-pass filter on the item-item graph, in
// the spirit of GF-CF (Shen et al., CIKM 2021) and Group-GF (WWW 2025): with
// R̃ = D_r^-1/2 X D_c^-1/2 (row and column degrees of the stacked rows X) and
// P = R̃ᵀR̃, S = P + order2 P², each item keeping its Neighbours strongest.
// The two-hop term reads P whole (sparse): data whose P has more than
// MaxTwoHopEntries entries, or whose P² takes more than MaxWork
// multiply-adds, skip it with a message.
func GraphFilter(ctx context.Context, x *train.Interactions, order2 float64, workers int) (*recommend.ItemItem, error) {
	return graphFilter(ctx, x, order2, workers, nil)
}

// graphFilter is GraphFilter, by parts when parts is not nil: each part
// builds its items' rows of P and of S.
func graphFilter(ctx context.Context, x *train.Interactions, order2 float64, workers int, parts *Parts) (*recommend.ItemItem, error) {
	n := x.Cols
	rowW, col := degrees(x)
	xt := x.Transpose()
	norm := func(j int, i int32, v float64) float64 {
		if col[i] > 0 && col[j] > 0 {
			return v / math.Sqrt(col[j]*col[i])
		}
		return v
	}
	one := gramRow(x, xt, rowW)
	if order2 == 0 {
		cols, ws, err := sparseRows(ctx, n, Neighbours(n), workers, one, func(j int, i int32, v float64) float32 { return float32(norm(j, i, v)) }, parts)
		if err != nil {
			return nil, err
		}
		return newItemItem(cols, ws)
	}
	// P whole, in float64, then S row by row: P_j + order2 Σ_k P_jk P_k.
	// The bounds hold for the whole of P: a part that passes them alone
	// stops, and the parts add what they found.
	first, stride := 0, 1
	if parts != nil {
		first, stride = parts.me()
	}
	pc, pw := make([][]int32, n), make([][]float64, n)
	acc, mark := make([]float64, n), make([]bool, n)
	var touched []int32
	var entries, work int64
	over := func() bool { return entries > twoHopEntries || work > twoHopWork }
	for j := first; j < n && !over(); j += stride {
		touched = one(j, acc, mark, touched[:0])
		slices.Sort(touched)
		for _, i := range touched {
			if v := norm(j, i, acc[i]); v != 0 {
				pc[j], pw[j] = append(pc[j], i), append(pw[j], v)
			}
			acc[i], mark[i] = 0, false
		}
		l := int64(len(pc[j]))
		entries, work = entries+l, work+l*l
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	if parts != nil {
		sums := []int64{entries, work}
		if err := train.NewParts(ctx, parts.Ex, parts.step("two-hop-bounds")).AddInts(sums); err != nil {
			return nil, err
		}
		entries, work = sums[0], sums[1]
	}
	if over() {
		return nil, &SkippedError{MethodGraph, fmt.Sprintf("the two-hop term needs more than %d one-hop entries or %.3g multiply-adds", MaxTwoHopEntries, float64(MaxWork))}
	}
	if parts != nil {
		if err := joinRows(ctx, parts, "one-hop", pc, pw); err != nil {
			return nil, err
		}
	}
	two := func(j int, acc []float64, mark []bool, touched []int32) []int32 {
		for _, i := range pc[j] {
			touched = touch(i, mark, touched)
		}
		for k, m := range pc[j] {
			f := pw[j][k]
			for b, i := range pc[m] {
				touched = touch(i, mark, touched)
				acc[i] += f * pw[m][b]
			}
		}
		return touched
	}
	cols, ws, err := sparseRows(ctx, n, Neighbours(n), workers, two, func(j int, i int32, v float64) float32 {
		var p float64
		if k, ok := slices.BinarySearch(pc[j], i); ok {
			p = pw[j][k]
		}
		return float32(p + order2*v)
	}, parts)
	if err != nil {
		return nil, err
	}
	return newItemItem(cols, ws)
}
