package recommend

import (
	"cmp"
	"math"
	"slices"

	"github.com/viterin/vek/vek32"

	"grouprank/features"
)

// Candidates marks the union of the sources' top items in s.cand and lists
// them. Each source is one method below:
//
//   - vectorSource: the group vector's dot products with every item (top Depth);
//   - preferenceSource: a model learnt from orders alone, by its item-item
//     scores and item priors (top Depth);
//   - profileSource: the profile model's score, plain and times each
//     objective's boost (top Depth each);
//   - foundSource: what promoters of the group's channel push of their own
//     accord, plain and times each boost;
//   - listSource: the cell's bestsellers, the trending items and the
//     request's extra items (campaigns).
//
// Each objective's boost (Boost of its item terms; nil for the orders
// objective) adds one more profile and found source, so an objective that
// values price or commission finds the items of that kind the group is
// likely to buy.
func (r *Ranker) Candidates(g *Group, floors Floors, s *RankScratch, boosts ...[]float32) []int32 {
	for _, i := range s.list { // unmark the last request's candidates (cheaper than clearing every item)
		s.cand[i] = false
	}
	s.list = s.list[:0]
	defer func() { s.pre, s.extra = nil, nil }() // UseDots and the extras serve one call
	r.vectorSource(g, floors, s)
	r.preferenceSource(g, floors, s)
	r.profileSource(g, floors, s, nil)
	for _, b := range boosts {
		r.profileSource(g, floors, s, b)
	}
	cat := r.Scorer.in.Cat
	s.addPassing(cat, floors, r.found(g.Channel, nil))
	for _, b := range boosts {
		s.addPassing(cat, floors, r.found(g.Channel, b))
	}
	for _, src := range [][]int32{r.bestsellers(features.CellOf(g.Channel, g.Tier)), r.trending(), s.extra} {
		s.addPassing(cat, floors, src)
	}
	return s.list
}

// addEntries adds a source's top items to the candidates.
func (s *RankScratch) addEntries(es []heapEntry) {
	for _, e := range es {
		if !s.cand[e.i] {
			s.cand[e.i] = true
			s.list = append(s.list, e.i)
		}
	}
}

// addPassing adds the items of a ready list that pass the request's floors.
func (s *RankScratch) addPassing(cat *features.Catalog, floors Floors, items []int32) {
	for _, i := range items {
		if !s.cand[i] && floors.Pass(cat, i) { // the request's own filters on top of eligibility
			s.cand[i] = true
			s.list = append(s.list, i)
		}
	}
}

// vectorSource adds the items with the largest dot products with the
// group's vector: from the dot-product cache when it holds the vector,
// else by a scan of every item (or of the caller's dot products, UseDots).
// It leaves s.hasDot telling the scorer whether s.dotv holds every dot.
func (r *Ranker) vectorSource(g *Group, floors Floors, s *RankScratch) {
	in := r.Scorer.in
	cat := in.Cat
	s.hasDot = g.Vector != nil && in.Items != nil
	if s.hasDot && r.dots != nil && floors.Eligible && s.pre == nil {
		if e := r.dots.get(g.Vector); e != nil && r.takeCached(e, floors, s) {
			s.hasDot = false // the scorer computes the candidates' dot products itself
		}
	}
	if !s.hasDot {
		return
	}
	// With the cache on, keep the eligible items' top Depth+extra (what
	// any request's filters then choose from); otherwise the filtered top Depth.
	keep, n := floors, r.Depth
	if r.dots != nil && floors.Eligible {
		keep, n = Floors{Eligible: true}, r.Depth+r.dots.extra
	}
	h := topBuf{n: n, b: s.heap[:0]}
	var thr float32 // no entry below: the seeded bar, then the buffer's
	full := false   // more positive items passed than are kept
	// scan offers the items whose dot product is below to.
	scan := func(dots []float32, to float32) {
		t, f := thr, full // in registers for the scan
		for j := 0; j < len(dots); j++ {
			if f && t > 0 { // an item below the bar changes nothing: jump to the next one that is not
				if j += skipBelow(dots[j:], t); j == len(dots) {
					break
				}
			}
			d := dots[j]
			if d >= to {
				continue
			}
			if d < t || d <= 0 {
				// Below the bar: no entry. At least n passing items are
				// above it, so a positive passing item here is one more.
				if !f && d > 0 {
					f = keep.Pass(cat, int32(j))
				}
				continue
			}
			i := int32(j)
			if !h.wants(i, d) { // equal to the bar at a larger index (items come in index order)
				if !f {
					f = keep.Pass(cat, i)
				}
				continue
			}
			if keep.Pass(cat, i) && h.offer(i, d) {
				t = max(t, h.bar.v)
			}
		}
		thr, full = t, f
	}
	if s.pre == nil {
		// Every dot product first, then the scan from a seeded bar: most
		// items fall below it and are skipped many at a time (skipBelow),
		// where a scan during the products starts from 0 and offers (and
		// selects) many more.
		in.Items.DotInto(s.dot, g.Vector, nil)
		s.dotv = s.dot
	} else {
		s.dotv = s.pre
	}
	inf := float32(math.Inf(1))
	seed := seedBar(s, s.dotv, n)
	thr = seed
	scan(s.dotv, inf)
	if !h.sel && seed > 0 {
		// Fewer than n kept items reach the seed (the maxima it came
		// from hold items the floors drop): the rest come from below
		// it. Every item at or above it is in the buffer, none dropped.
		thr, full = 0, false
		scan(s.dotv, seed)
	}
	h.finish()
	full = full || h.dropped
	s.heap = h.b
	if n == r.Depth {
		s.addEntries(h.b)
		return
	}
	if r.takeCached(r.dots.put(g.Vector, h.b, full), floors, s) {
		return
	}
	// the request's filters leave fewer than Depth of the kept items: pick from all the dots
	fh := topHeap{n: r.Depth, h: s.heap[:0]}
	for i, d := range s.dotv {
		if fh.wants(int32(i), d) && floors.Pass(cat, int32(i)) {
			fh.offer(int32(i), d)
		}
	}
	s.addEntries(fh.h)
	s.heap = fh.h
}

// seedBar, with every dot product known, is the n-th largest of about 2n
// maxima of strided items (item j with j + m, j + 2m, ..., m of them:
// elementwise maxima of contiguous slices), or 0 when there are too few
// items for that to pay. n maxima reaching it are n distinct items that
// do: when the floors keep them, no item below it is among the n best.
// About 1.4n items reach it (n maxima of 2n slices hold at least one), so
// the buffer of 2n hardly ever has to select.
func seedBar(s *RankScratch, dots []float32, n int) float32 {
	if n == 0 || len(dots) < 8*n {
		return 0
	}
	strides := len(dots) / (2 * n)
	m := len(dots) / strides
	if cap(s.maxes) < m {
		s.maxes = make([]float32, m)
	}
	maxes := s.maxes[:m]
	copy(maxes, dots[:m])
	for t := 1; t < strides; t++ {
		vek32.Maximum_Inplace(maxes, dots[t*m:(t+1)*m])
	}
	es := s.heads[:0]
	for j, v := range maxes {
		es = append(es, heapEntry{int32(j), v})
	}
	selectBest(es, n)
	s.heads = es[:0]
	return es[n-1].v
}

// preferenceSource adds, for a model learnt from orders alone, the items
// with the largest item-item scores and item priors.
func (r *Ranker) preferenceSource(g *Group, floors Floors, s *RankScratch) {
	in := r.Scorer.in
	w := r.Scorer.conv.Weights
	if in.Pref == nil || (w[FeatItemItem] == 0 && w[FeatItemPrior] == 0) {
		return
	}
	cat := in.Cat
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
	s.addEntries(h.h)
	s.heap, s.pref = h.h, v
}

// profileSource adds the items with the best profile-model score (times
// boost when not nil). It walks the cell's items per (category, band) list,
// from the highest base share down, lists in order of the best score their
// head could reach, and stops a list (and the walk) once no item left in it
// (in any) can enter: score(i) <= base(i) * boost(i) * l1[c] * band[b] *
// (largest brand factor).
func (r *Ranker) profileSource(g *Group, floors Floors, s *RankScratch, b []float32) {
	in := r.Scorer.in
	cat := in.Cat
	a := getArena()
	defer putArena(a)
	f := in.Profile.factors(a, g.Channel, g.Tier, g.L1, g.Band, g.Weight, g.Brands)
	c := in.Profile.cell(g.Channel, g.Tier)
	bmax := f.brandMax() * (1 + 1e-5)
	nb := len(f.band)
	h := topBuf{n: r.Depth, b: s.heap[:0]}
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
		if h.sel && hd.v < h.bar.v {
			break
		}
		// Every item of the list has its category's and band's factors:
		// score(i) is base(i) * l1 * band (* its brand's), multiplied in
		// profileFactors.score's order.
		l1, band := f.l1[int(hd.i)/nb], f.band[int(hd.i)%nb]
		fac := l1 * band * bmax
		for _, i := range lists[hd.i] {
			base := c.base[i]
			ub := base * fac
			v := base * l1 * band
			if f.brand != nil {
				v *= f.brand[cat.Brand[i]]
			}
			if b != nil {
				ub *= b[i]
				v *= b[i]
			}
			if h.sel && ub < h.bar.v {
				break
			}
			if v > 0 && h.wants(i, v) && floors.Pass(cat, i) {
				h.offer(i, v)
			}
		}
	}
	h.finish()
	s.addEntries(h.b)
	s.heap = h.b
}
