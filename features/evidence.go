package features

import (
	"runtime"

	"golang.org/x/sync/errgroup"

	"grouprank/data"
)

// tasteEvidence is exposureTaste's four kinds of evidence per group and
// category (key gives each item's category, K of them), computed one group
// at a time from the group's own events (row), so that no groups x
// categories array of them is ever held: at 1M groups and a few hundred L2
// categories those would not fit in memory. Each kind's counts and
// expectations for a group are summed over its events in their order, as
// over all events, so the figures do not depend on how the groups are
// visited. The kinds:
//
//   - sales: the orders credited to the group's pushes of the category
//     (Events.Orders; without them, the pushes that sold), against the sum
//     over those pushes of the item's orders (conversion) per push over
//     every group (shrunk toward the mean with 20 pseudo-pushes). A push's
//     orders are Poisson around its expectation, so their count, not
//     whether there was one, measures the group's appetite;
//   - picks: the items promoters pushed out of the lists shown for the
//     group against how often items are picked at the rank they were shown
//     (pickRates);
//   - finds: the items the group's promoter found outside any list, against
//     the group's found pushes spread over the categories as every group's
//     are;
//   - discoveries: the members' unprompted first orders of an item, against
//     the group's total of them spread as every group's are.
//
// A kind that is not recorded is left out.
type tasteEvidence struct {
	key        []int32
	K          int
	a          float64
	at         data.Timestamp
	cfg        Config
	pushes     *Events
	orders     *Events
	shown      *Shown
	pushOf     byGroup
	orderOf    byGroup
	listOf     byGroup
	rate       []float64 // sales: the items' orders per push; nil: no sales kind
	pickRate   []float32 // nil: no picks kind
	find, disc share
	kinds      int // how many are recorded
	groups     int
	blocks     *GroupBlocks
}

// share is a kind whose expectation spreads each group's count over the
// categories as every group's is.
type share struct {
	on    bool
	share []float64
	tot   float64
}

// byGroup lists events (or lists) group by group, each group's in their order.
type byGroup struct {
	start []int
	idx   []int32
}

func indexByGroup(group []int32, G int) byGroup {
	b := byGroup{start: make([]int, G+1), idx: make([]int32, len(group))}
	for _, g := range group {
		b.start[g+1]++
	}
	for g := range G {
		b.start[g+1] += b.start[g]
	}
	next := append([]int(nil), b.start[:G]...)
	for e, g := range group {
		b.idx[next[g]] = int32(e)
		next[g]++
	}
	return b
}

func (b byGroup) of(g int) []int32 { return b.idx[b.start[g]:b.start[g+1]] }

// evidenceScratch is one worker's buffers for rows.
type evidenceScratch struct {
	got, exp []float64
	first    map[int32]data.Timestamp
}

func newTasteEvidence(cat *Catalog, key []int32, K int, groups *Groups, orders, pushes *Events, shown *Shown, at data.Timestamp, cfg Config, a float64) *tasteEvidence {
	G := groups.Len()
	cfg.HalfLifeDays = cfg.TasteHalfLifeDays
	t := &tasteEvidence{key: key, K: K, a: a, at: at, cfg: cfg, pushes: pushes, orders: orders, shown: shown, groups: G,
		blocks: groups.Blocks()}
	t.pushOf = indexByGroup(pushes.Group, G)
	if pushes.Converted != nil || pushes.Orders != nil {
		t.rate = itemSaleRates(cat.Len(), pushes, at, groups.Parts)
	}
	if shown != nil {
		t.pickRate = pickRates(cat.Len(), shown, at, groups.Parts)
		if t.pickRate != nil {
			t.listOf = indexByGroup(shown.Group, G)
		}
	}
	if orders.Organic != nil {
		t.orderOf = indexByGroup(orders.Group, G)
	}
	if pushes.Found != nil {
		t.find = t.shareOf(func(g int, got []float64, _ *evidenceScratch) { t.findRow(g, got) })
	}
	if orders.Organic != nil {
		t.disc = t.shareOf(t.discRow)
	}
	for _, on := range []bool{t.rate != nil, t.pickRate != nil, t.find.on, t.disc.on} {
		if on {
			t.kinds++
		}
	}
	return t
}

func (t *tasteEvidence) scratch() *evidenceScratch {
	return &evidenceScratch{got: make([]float64, t.K), exp: make([]float64, t.K), first: map[int32]data.Timestamp{}}
}

// itemSaleRates is each item's orders per push before at, shrunk toward the
// mean with 20 pseudo-pushes, over every part's pushes; nil when no push
// came before at.
func itemSaleRates(I int, pushes *Events, at data.Timestamp, parts Parts) []float64 {
	n, c := make([]float64, I), make([]float64, I)
	for e := range pushes.Group {
		if !before(pushes.Time[e], at) {
			continue
		}
		i := pushes.Item[e]
		n[i]++
		c[i] += sold(pushes, e) // whole orders: the sums are exact
	}
	addCounts(parts, nil, [][]float64{n, c})
	var tn, tc float64
	for i := range I {
		tn += n[i]
		tc += c[i]
	}
	if tn == 0 {
		return nil
	}
	const prior = 20
	mean := tc / tn
	rate := make([]float64, I)
	for i := range I {
		rate[i] = (c[i] + prior*mean) / (n[i] + prior)
	}
	return rate
}

// sold is what push e sold: its credited orders, or 1 when it converted.
func sold(pushes *Events, e int) float64 {
	if pushes.Orders != nil {
		return float64(pushes.Orders[e])
	}
	if pushes.Converted[e] {
		return 1
	}
	return 0
}

// shareOf sums a share kind's counts over every group (in blocks,
// GroupBlocks.SumBlocks), categories in order within each.
func (t *tasteEvidence) shareOf(row func(g int, got []float64, s *evidenceScratch)) share {
	sums := make([]float64, t.K+1) // the categories', then all
	t.blocks.SumBlocks(sums, 0, func(_ int, groups []int32, acc []float64) {
		s := t.scratch()
		for _, g := range groups {
			clear(s.got)
			row(int(g), s.got, s)
			for k, x := range s.got {
				acc[k] += x
				acc[t.K] += x
			}
		}
	})
	sh := share{share: sums[:t.K], tot: sums[t.K]}
	sh.on = sh.tot != 0
	return sh
}

// row sets got and exp (K each) to group g's pooled evidence: per kind, its
// count added as it is and its expectation times the group's own level for
// the kind, s = (count + a) / (expected + a) over all categories.
func (t *tasteEvidence) row(g int, got, exp []float64, s *evidenceScratch) {
	clear(got)
	clear(exp)
	add := func() {
		var eg, cg float64
		for k := range t.K {
			eg += s.exp[k]
			cg += s.got[k]
		}
		f := (cg + t.a) / (eg + t.a)
		for k := range t.K {
			got[k] += s.got[k]
			exp[k] += f * s.exp[k]
		}
	}
	if t.rate != nil {
		clear(s.got)
		clear(s.exp)
		t.salesRow(g, s.got, s.exp)
		add()
	}
	if t.pickRate != nil {
		clear(s.got)
		clear(s.exp)
		t.pickRow(g, s.got, s.exp)
		add()
	}
	for _, k := range []struct {
		sh  *share
		row func()
	}{{&t.find, func() { t.findRow(g, s.got) }}, {&t.disc, func() { t.discRow(g, s.got, s) }}} {
		if !k.sh.on {
			continue
		}
		clear(s.got)
		k.row()
		var n float64
		for _, x := range s.got {
			n += x
		}
		for c := range t.K {
			s.exp[c] = n * k.sh.share[c] / k.sh.tot
		}
		add()
	}
}

func (t *tasteEvidence) salesRow(g int, got, exp []float64) {
	p := t.pushes
	for _, e32 := range t.pushOf.of(g) {
		e := int(e32)
		tm := p.Time[e]
		if !before(tm, t.at) {
			continue
		}
		i := p.Item[e]
		w := float64(decay(t.cfg, t.at, tm))
		k := int(t.key[i])
		exp[k] += w * t.rate[i]
		got[k] += w * sold(p, e)
	}
}

func (t *tasteEvidence) pickRow(g int, got, exp []float64) {
	sh := t.shown
	for _, l32 := range t.listOf.of(g) {
		l := int(l32)
		tm := sh.Time[l]
		if !before(tm, t.at) {
			continue
		}
		w := float64(decay(t.cfg, t.at, tm))
		rows := sh.list(l)
		p := 0
		for r := rows.from; r < rows.to; r++ {
			i := sh.Item[r]
			k := int(t.key[i])
			exp[k] += w * float64(t.pickRate[int(i)*MaxShownRank+rows.rankIdx(r)])
			if p < len(rows.picked) && int(rows.picked[p]) == r {
				got[k] += w
				p++
			}
		}
	}
}

func (t *tasteEvidence) findRow(g int, got []float64) {
	p := t.pushes
	for _, e := range t.pushOf.of(g) {
		if tm := p.Time[e]; before(tm, t.at) && p.Found[e] {
			got[int(t.key[p.Item[e]])] += float64(decay(t.cfg, t.at, tm))
		}
	}
}

// discRow counts the group's organic orders of items it had not ordered
// before (the earliest order of each item; ties all count).
func (t *tasteEvidence) discRow(g int, got []float64, s *evidenceScratch) {
	o := t.orders
	first := s.first
	clear(first)
	evs := t.orderOf.of(g)
	for _, e := range evs {
		tm := o.Time[e]
		if !before(tm, t.at) {
			continue
		}
		if f, ok := first[o.Item[e]]; !ok || tm < f {
			first[o.Item[e]] = tm
		}
	}
	for _, e := range evs {
		tm := o.Time[e]
		if !before(tm, t.at) || !o.Organic[e] || first[o.Item[e]] != tm {
			continue
		}
		got[int(t.key[o.Item[e]])] += float64(decay(t.cfg, t.at, tm))
	}
}

// each calls fn with every group's row, groups in fixed blocks on every
// core: fn may write only what belongs to group g.
func (t *tasteEvidence) each(fn func(g int, got, exp []float64)) {
	var eg errgroup.Group
	eg.SetLimit(runtime.GOMAXPROCS(0))
	const block = 1024
	for lo := 0; lo < t.groups; lo += block {
		eg.Go(func() error {
			s, got, exp := t.scratch(), make([]float64, t.K), make([]float64, t.K)
			for g := lo; g < min(t.groups, lo+block); g++ {
				t.row(g, got, exp, s)
				fn(g, got, exp)
			}
			return nil
		})
	}
	eg.Wait()
}

// sumRows adds up, in dst, what fn adds into acc for each group's row,
// in blocks (GroupBlocks.SumBlocks): fn may write only acc.
func (t *tasteEvidence) sumRows(dst []float64, fn func(g int, got, exp, acc []float64)) {
	t.blocks.SumBlocks(dst, 0, func(_ int, groups []int32, acc []float64) {
		s, got, exp := t.scratch(), make([]float64, t.K), make([]float64, t.K)
		for _, g := range groups {
			t.row(int(g), got, exp, s)
			fn(int(g), got, exp, acc)
		}
	})
}

// dense is every group's row (G x K), for small K.
func (t *tasteEvidence) dense() (got, exp []float64) {
	got, exp = make([]float64, t.groups*t.K), make([]float64, t.groups*t.K)
	t.each(func(g int, gr, er []float64) {
		copy(got[g*t.K:], gr)
		copy(exp[g*t.K:], er)
	})
	return got, exp
}
