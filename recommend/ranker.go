package recommend

import (
	"cmp"
	"math"
	"slices"
	"sync"

	"grouprank/data"
	"grouprank/features"
)

// Ranker turns a group into picks: candidates (the group vector against
// every item, the profile model, the items the channel's promoters push of
// their own accord, the group's channel x tier bestsellers; merged and
// de-duplicated), calibrated p for each, the objective's blend,
// the floors, then the top k. Only candidates are blended, so an objective
// cannot reach for items the group's history says nothing about.
type Ranker struct {
	Scorer *Scorer
	// Depth is how many items each candidate source contributes.
	Depth int

	mu    sync.RWMutex
	cells map[[2]int][]int32 // (cell, depth) -> the cell's bestsellers among eligible items
	dots  *dotCache          // nil: off (EnableDotCache)

	trendOnce sync.Once
	trend     []int32 // the trending items (trending)

	finds map[foundKey][]int32 // (channel, boost, depth) -> found source (found)
}

// foundKey identifies one found list: a channel, the boost it was weighted
// by (its first element's address: boosts are built once per objective and
// never changed; nil for none) and the depth.
type foundKey struct {
	ch    data.Channel
	boost *float32
	depth int
}

// NewRanker ranks with a scorer; each candidate source gives 200 items.
func NewRanker(s *Scorer) *Ranker {
	return &Ranker{Scorer: s, Depth: DefaultDepth, cells: map[[2]int][]int32{}}
}

// DefaultDepth is a ranker's candidates per source.
const DefaultDepth = 200

// bestsellers are the cell's top items among those eligible, computed once per cell.
func (r *Ranker) bestsellers(c int) []int32 {
	return memo(&r.mu, &r.cells, [2]int{c, r.Depth}, 0, func() []int32 {
		in := r.Scorer.in
		I := in.Cat.Len()
		if c*I+I > len(in.Stats.PopCell) {
			return nil
		}
		return r.topEligible(in.Stats.PopCell[c*I:(c+1)*I], nil)
	})
}

// topEligible are the r.Depth items with the highest positive row value
// (times boost, when not nil) among those eligible, in heap order.
func (r *Ranker) topEligible(row, boost []float32) []int32 {
	cat := r.Scorer.in.Cat
	h := topHeap{n: r.Depth}
	eligible := Floors{Eligible: true}
	for i, v := range row {
		if boost != nil {
			v *= boost[i]
		}
		if h.wants(int32(i), v) && eligible.Pass(cat, int32(i)) {
			h.offer(int32(i), v)
		}
	}
	var l []int32
	for _, e := range h.h {
		l = append(l, e.i)
	}
	return l
}

// maxFoundLists bounds the ranker's cache of found lists: boosts rebuilt
// (new rules) leave stale keys, so a full cache starts afresh.
const maxFoundLists = 256

// found are the eligible items promoters of channel ch pushed of their own
// accord (features.ItemStats.FoundChannel), most often first, each count
// weighted by boost (nil: none): what promoters who know their members pick,
// whatever the lists rank first, so items no list showed can be candidates.
// Computed once per channel and boost.
func (r *Ranker) found(ch data.Channel, boost []float32) []int32 {
	in := r.Scorer.in
	I := in.Cat.Len()
	if int(ch) >= features.NumChannelRows || len(in.Stats.FoundChannel) < (int(ch)+1)*I {
		return nil
	}
	key := foundKey{ch: ch, depth: r.Depth}
	if boost != nil {
		if len(boost) < I {
			return nil
		}
		key.boost = &boost[0]
	}
	return memo(&r.mu, &r.finds, key, maxFoundLists, func() []int32 {
		l := r.topEligible(in.Stats.FoundChannel[int(ch)*I:(int(ch)+1)*I], boost)
		slices.Sort(l)
		return l
	})
}

// TrendingDepth is how many trending items are candidates for every group.
const TrendingDepth = 50

// trending are the eligible items whose orders grew the most (the
// statistics' trend: recent window against the one before), computed once.
func (r *Ranker) trending() []int32 {
	r.trendOnce.Do(func() {
		in := r.Scorer.in
		if len(in.Stats.Trend) < in.Cat.Len() {
			return
		}
		h := topHeap{n: TrendingDepth}
		eligible := Floors{Eligible: true}
		for i, v := range in.Stats.Trend[:in.Cat.Len()] {
			if h.wants(int32(i), v) && eligible.Pass(in.Cat, int32(i)) {
				h.offer(int32(i), v)
			}
		}
		for _, e := range h.h {
			r.trend = append(r.trend, e.i)
		}
		slices.Sort(r.trend)
	})
	return r.trend
}

// RankScratch holds one goroutine's buffers for Rank.
type RankScratch struct {
	probs, orders, src, prof, dot []float32
	hasDot                        bool
	heap                          []heapEntry
	heads                         []heapEntry // profile walk: (list, bound of its head)
	pre                           []float32   // the next Candidates' dot products, computed by the caller (UseDots)
	extra                         []int32     // the next Candidates' extra candidates (campaign items), nil after it
	dotv                          []float32   // the dot products the scorer reads: dot or pre
	cand                          []bool
	list                          []int32
	pool                          []int32   // exploration: the items passing the floors
	pref                          []float32 // the preference source's scores
}

// NewScratch sizes buffers for the ranker's catalogue.
func (r *Ranker) NewScratch() *RankScratch {
	n := r.Scorer.in.Cat.Len()
	return &RankScratch{probs: make([]float32, n), orders: make([]float32, n), dot: make([]float32, n), src: make([]float32, n), cand: make([]bool, n)}
}

// UseDots hands the next Candidates call the group vector's dot products
// with every item, computed by the caller (Factors.DotsInto for a batch of
// groups), instead of computing them itself.
func (s *RankScratch) UseDots(d []float32) { s.pre = d }

// Candidates are the items the last Prepare (or Candidates) gathered; valid
// until the scratch's next use.
func (s *RankScratch) Candidates() []int32 { return s.list }

// Fits reports whether the scratch was sized for r's catalogue.
func (s *RankScratch) Fits(r *Ranker) bool { return len(s.probs) == r.Scorer.in.Cat.Len() }

// Boost turns an objective's item terms (ItemTerms) into the weights of its
// candidate source: exp(terms - max terms), in (0, 1].
func Boost(terms []float64) []float32 {
	if terms == nil {
		return nil
	}
	hi := math.Inf(-1)
	for _, t := range terms {
		hi = math.Max(hi, t)
	}
	out := make([]float32, len(terms))
	for i, t := range terms {
		out[i] = float32(math.Exp(t - hi))
	}
	return out
}

// Candidates marks the union of the sources' top items in s.cand and lists
// them. Each objective's boost (Boost of its item terms; nil for the orders
// objective) adds one more source: the profile model's score times the
// boost, so an objective that values price or commission finds the items of
// that kind the group is likely to buy.
func (r *Ranker) Candidates(g *Group, floors Floors, s *RankScratch, boosts ...[]float32) []int32 {
	in := r.Scorer.in
	cat := in.Cat
	for _, i := range s.list { // unmark the last request's candidates (cheaper than clearing every item)
		s.cand[i] = false
	}
	s.list = s.list[:0]
	add := func(h *topHeap) {
		for _, e := range h.h {
			if !s.cand[e.i] {
				s.cand[e.i] = true
				s.list = append(s.list, e.i)
			}
		}
	}
	s.hasDot = g.Vector != nil && in.Items != nil
	defer func() { s.pre, s.extra = nil, nil }() // UseDots and the extras serve one call
	if s.hasDot && r.dots != nil && floors.Eligible && s.pre == nil {
		if e := r.dots.get(g.Vector); e != nil && r.takeCached(e, floors, s) {
			s.hasDot = false // the scorer computes the candidates' dot products itself
		}
	}
	if s.hasDot {
		// With the cache on, keep the eligible items' top Depth+extra (what
		// any request's filters then choose from); otherwise the filtered top Depth.
		keep, n := floors, r.Depth
		if r.dots != nil && floors.Eligible {
			keep, n = Floors{Eligible: true}, r.Depth+r.dots.extra
		}
		h := topHeap{n: n, h: s.heap[:0]}
		var thr float32 // once the heap is full, the smallest value it holds
		full := false   // an item was offered to a full heap: more positive items than kept
		scan := func(lo int, dots []float32) {
			for j, d := range dots {
				if d < thr || d <= 0 { // items come in index order: below the smallest held, no entry
					continue
				}
				if i := int32(lo + j); h.wants(i, d) && keep.Pass(cat, i) {
					full = full || len(h.h) == h.n
					h.offer(i, d)
					if len(h.h) == h.n {
						thr = h.h[0].v
					}
				}
			}
		}
		if s.pre != nil {
			s.dotv = s.pre
			// With every dot product known, seed the threshold: the n-th
			// largest of every 16th item (among those the floors keep) is a
			// lower bound of the n-th largest of all, so the scan offers far
			// fewer items to the heap.
			if len(s.pre) >= 32*n {
				sample := topHeap{n: n, h: s.heads[:0]}
				for i := 0; i < len(s.pre); i += 16 {
					if d := s.pre[i]; sample.wants(int32(i), d) && keep.Pass(cat, int32(i)) {
						sample.offer(int32(i), d)
					}
				}
				if len(sample.h) == n {
					thr, full = sample.h[0].v, true
				}
				s.heads = sample.h[:0]
			}
			scan(0, s.pre)
		} else {
			s.dotv = s.dot
			in.Items.DotInto(s.dot, g.Vector, scan)
		}
		s.heap = h.h
		if n == r.Depth {
			add(&h)
		} else if !r.takeCached(r.dots.put(g.Vector, h.h, full), floors, s) {
			// the request's filters leave fewer than Depth of the kept items: pick from all the dots
			h := topHeap{n: r.Depth, h: s.heap[:0]}
			for i, d := range s.dotv {
				if h.wants(int32(i), d) && floors.Pass(cat, int32(i)) {
					h.offer(int32(i), d)
				}
			}
			add(&h)
			s.heap = h.h
		}
	}
	// The preference source: a model learnt from orders alone ranks by its
	// item-item scores and item priors besides the dot products.
	if w := r.Scorer.conv.Weights; in.Pref != nil && (w[FeatItemItem] != 0 || w[FeatItemPrior] != 0) {
		v := s.pref[:0]
		if cap(v) < cat.Len() {
			v = make([]float32, cat.Len())
		}
		v = v[:cat.Len()]
		clear(v)
		in.Pref.addInto(g, float32(w[FeatItemItem]), float32(w[FeatItemPrior]), nil, v)
		h := topHeap{n: r.Depth, h: s.heap[:0]}
		for i, x := range v {
			if h.wants(int32(i), x) && floors.Pass(cat, int32(i)) {
				h.offer(int32(i), x)
			}
		}
		add(&h)
		s.heap, s.pref = h.h, v
	}
	f := in.Profile.factors(g.Channel, g.Tier, g.L1, g.Band, g.Weight, g.Brands)
	c := in.Profile.cell(g.Channel, g.Tier)
	// The profile source and each boosted source walk the cell's items per
	// (category, band) list, from the highest base share down, lists in
	// order of the best score their head could reach, and stop a list (and
	// the walk) once no item left in it (in any) can enter:
	// score(i) <= base(i) * boost(i) * l1[c] * band[b] * (largest brand factor).
	bmax := f.brandMax() * (1 + 1e-5)
	nb := len(f.band)
	for _, b := range append([][]float32{nil}, boosts...) {
		h := topHeap{n: r.Depth, h: s.heap[:0]}
		lists := in.Profile.order(c, b)
		s.heads = s.heads[:0]
		for li, l := range lists {
			if len(l) == 0 {
				continue
			}
			ub := c.base[l[0]] * f.l1[li/nb] * f.band[li%nb] * bmax
			if b != nil {
				ub *= b[l[0]]
			}
			s.heads = append(s.heads, heapEntry{int32(li), ub})
		}
		slices.SortFunc(s.heads, func(x, y heapEntry) int { return cmp.Compare(y.v, x.v) })
		for _, hd := range s.heads {
			if len(h.h) == h.n && hd.v < h.h[0].v {
				break
			}
			fac := f.l1[int(hd.i)/nb] * f.band[int(hd.i)%nb] * bmax
			for _, i := range lists[hd.i] {
				ub := c.base[i] * fac
				v := f.score(cat, int(i))
				if b != nil {
					ub *= b[i]
					v *= b[i]
				}
				if len(h.h) == h.n && ub < h.h[0].v {
					break
				}
				if h.wants(i, v) && floors.Pass(cat, i) {
					h.offer(i, v)
				}
			}
		}
		add(&h)
		s.heap = h.h
	}
	// The found source: the items promoters of the group's channel push of
	// their own accord, plain and weighted by each boost.
	for _, b := range append([][]float32{nil}, boosts...) {
		for _, i := range r.found(g.Channel, b) {
			if !s.cand[i] && floors.Pass(cat, i) {
				s.cand[i] = true
				s.list = append(s.list, i)
			}
		}
	}
	for _, src := range [][]int32{r.bestsellers(features.CellOf(g.Channel, g.Tier)), r.trending(), s.extra} {
		for _, i := range src {
			if !s.cand[i] && floors.Pass(cat, i) { // the request's own filters on top of eligibility
				s.cand[i] = true
				s.list = append(s.list, i)
			}
		}
	}
	return s.list
}

// takeCached adds the first Depth items of a cached dot-product list that
// pass the request's floors. It reports whether that is the exact answer:
// Depth of them passed, or the list held every positive item. Otherwise it
// takes nothing back out and the caller scans.
func (r *Ranker) takeCached(e *dotEntry, floors Floors, s *RankScratch) bool {
	cat := r.Scorer.in.Cat
	start := len(s.list)
	for _, it := range e.items {
		if len(s.list)-start == r.Depth {
			break
		}
		if !s.cand[it.i] && floors.Pass(cat, it.i) {
			s.cand[it.i] = true
			s.list = append(s.list, it.i)
		}
	}
	if len(s.list)-start == r.Depth || !e.full {
		return true
	}
	for _, i := range s.list[start:] {
		s.cand[i] = false
	}
	s.list = s.list[:start]
	return false
}

// topHeap keeps the n highest positive values offered, ties to the smaller
// index, whatever the order they are offered in.
type topHeap struct {
	n int
	h []heapEntry // min-heap
}

type heapEntry struct {
	i int32
	v float32
}

func (t *topHeap) wants(i int32, v float32) bool {
	return v > 0 && (len(t.h) < t.n || entryLess(t.h[0], heapEntry{i, v}))
}

func (t *topHeap) offer(i int32, v float32) {
	if !t.wants(i, v) {
		return
	}
	if len(t.h) < t.n {
		t.h = append(t.h, heapEntry{i, v})
		for j := len(t.h) - 1; j > 0; {
			p := (j - 1) / 2
			if !entryLess(t.h[j], t.h[p]) {
				break
			}
			t.h[j], t.h[p] = t.h[p], t.h[j]
			j = p
		}
		return
	}
	t.h[0] = heapEntry{i, v}
	for j := 0; ; {
		l, m := 2*j+1, j
		if l < len(t.h) && entryLess(t.h[l], t.h[m]) {
			m = l
		}
		if l+1 < len(t.h) && entryLess(t.h[l+1], t.h[m]) {
			m = l + 1
		}
		if m == j {
			return
		}
		t.h[j], t.h[m] = t.h[m], t.h[j]
		j = m
	}
}

// entryLess: a ranks below b.
func entryLess(a, b heapEntry) bool {
	if a.v != b.v {
		return a.v < b.v
	}
	return a.i > b.i
}

// Prepare computes group g's candidates and their calibrated p under its
// recent pushes (nil: none) into s; Pick then ranks them by any objective.
func (r *Ranker) Prepare(g *Group, rec *features.Recent, floors Floors, s *RankScratch, boosts ...[]float32) {
	r.Candidates(g, floors, s, boosts...)
	var dot []float32
	if s.hasDot {
		dot = s.dotv
	}
	r.Scorer.PredictAt(g, rec, dot, s.list, s.probs, s.orders)
}

// Pick returns the top k of the prepared candidates by the objective (terms
// from ItemTerms for the same catalogue).
func (r *Ranker) Pick(obj Objective, terms []float64, floors Floors, k int, s *RankScratch) []Pick {
	return TopKOf(r.Scorer.in, s.list, s.probs, s.orders, terms, obj, floors, k)
}

// Rank is Prepare then Pick; boost is Boost(terms), nil for none.
func (r *Ranker) Rank(g *Group, rec *features.Recent, obj Objective, terms []float64, boost []float32, floors Floors, k int, s *RankScratch) []Pick {
	r.Prepare(g, rec, floors, s, boost)
	return r.Pick(obj, terms, floors, k, s)
}
