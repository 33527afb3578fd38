package recommend

import (
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
	maxes                         []float32   // seedBar's maxima
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

// topHeap keeps the n highest positive values offered (any values with
// all), ties to the smaller index, whatever the order they are offered in.
type topHeap struct {
	n   int
	h   []heapEntry // min-heap
	all bool        // keep values <= 0 too
}

type heapEntry struct {
	i int32
	v float32
}

func (t *topHeap) wants(i int32, v float32) bool {
	return (v > 0 || t.all) && (len(t.h) < t.n || entryLess(t.h[0], heapEntry{i, v}))
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

// sortBestFirst sorts entries best first (ties: the smaller index first).
func sortBestFirst(h []heapEntry) {
	slices.SortFunc(h, func(a, b heapEntry) int {
		switch {
		case entryLess(b, a):
			return -1
		case entryLess(a, b):
			return 1
		}
		return 0
	})
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
