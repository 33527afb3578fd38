package features

import (
	"cmp"
	"math"
	"slices"

	"grouprank/data"
)

// Config sets how history is weighed.
type Config struct {
	HalfLifeDays float64 // weight of an event halves every HalfLifeDays before the profile's instant (0: no decay)
	TopN         int     // sparse affinities kept per group (L2, brand)
	RecentDays   float64 // window of the plain counts that reasons quote (default 30)
	// TastePrior is the pseudo-count of expected conversions that shrinks a
	// group's exposure-adjusted taste per L1 toward its overall level
	// (Profiles.L1Taste); 0 takes the default 3.
	TastePrior float64
	// TasteHalfLifeDays is the half-life of the tastes' evidence (0: none,
	// every event counts fully). Tastes change more slowly than activity:
	// on seed 1 (4,000 groups) 14 days gave 66.13 yuan of commission per
	// push, 45 days 66.46 and none 66.60.
	TasteHalfLifeDays float64
}

// DefaultConfig is a 14-day half-life (the tastes' evidence undecayed), top
// 10, a 30-day reason window and a taste prior of 3 expected conversions.
func DefaultConfig() Config { return Config{HalfLifeDays: 14, TopN: 10, RecentDays: 30, TastePrior: 3} }

// Weighted is one entry of a sparse affinity.
type Weighted struct {
	ID     int32   // L2 or brand index of the Catalog
	Weight float32 // share of the group's decayed orders
}

// Profiles hold every group's preference profile at one instant; row g of
// each flat slice belongs to group g of the Groups index.
type Profiles struct {
	At       data.Timestamp
	NumL1    int
	L1       []float32 // G x NumL1: share of decayed orders per L1 category (0 without orders)
	L1Recent []float32 // G x NumL1: plain order counts per L1 in the last RecentDays (for reasons)
	// L1Taste is G x NumL1: the log of how much more the group took to each
	// L1 than a group of average taste would have, given what it was exposed
	// to: its pushes that sold, its members' unprompted first orders and its
	// promoter's picks from the lists shown, each against its expectation and
	// the group's own level, shrunk toward 0 (see exposureTaste). Unlike L1,
	// which counts orders and so mostly echoes what was pushed to the group,
	// it compares like with like.
	L1Taste []float32
	// L2Taste is G x NumL2: how much more the group took to each L2
	// subcategory than its L1 taste says, shrunk toward its channel x tier
	// cell's (see exposureTaste).
	L2Taste []float32
	NumL2   int
	// PriceTaste is G x NumRelBins: the group's taste for each relative
	// price level (RelBin), measured and pooled like L1Taste.
	PriceTaste []float32
	L2         [][]Weighted // top-N L2 categories by share
	Brands     [][]Weighted // top-N brands by share
	Band       []float32    // G x (NumBands+1): share of decayed orders per price band (last: unknown price)
	POPShare   []float32    // share of decayed orders that are POP items
	Weight     []float32    // decayed order count (how much the profile knows)
	PerDay     []float32    // decayed orders per day
	DaysSince  []float32    // days since the last order; -1 when none (or only undated ones)
	Pushes     []float32    // decayed pushes
	PushConv   []float32    // share of decayed pushes with an order through them
	Channel    []data.Channel
	Tier       []data.CityTier
}

// before reports whether an event at t counts as history at instant at:
// strictly before it, or undated (or at itself undated).
func before(t, at data.Timestamp) bool {
	return at == data.UnknownTime || t == data.UnknownTime || t < at
}

// decay returns the weight of an event at t seen from at.
func decay(cfg Config, at, t data.Timestamp) float32 {
	if cfg.HalfLifeDays <= 0 || t == data.UnknownTime || at == data.UnknownTime {
		return 1
	}
	days := float64(at-t) / float64(data.Day)
	return float32(math.Exp2(-days / cfg.HalfLifeDays))
}

// BuildProfiles computes every group's profile at instant at from the orders,
// pushes and shown lists (nil when not logged) before it.
func BuildProfiles(cat *Catalog, groups *Groups, orders, pushes *Events, shown *Shown, at data.Timestamp, cfg Config) *Profiles {
	if cfg.RecentDays <= 0 {
		cfg.RecentDays = 30
	}
	G, K := groups.Len(), len(cat.L1Names)
	p := &Profiles{At: at, NumL1: K, L1: make([]float32, G*K), L1Recent: make([]float32, G*K), L2: make([][]Weighted, G),
		Brands: make([][]Weighted, G), Band: make([]float32, G*(NumBands+1)), POPShare: make([]float32, G),
		Weight: make([]float32, G), PerDay: make([]float32, G), DaysSince: make([]float32, G), Pushes: make([]float32, G),
		PushConv: make([]float32, G), Channel: groups.Channel, Tier: groups.Tier}
	last := make([]data.Timestamp, G)
	recent := data.Timestamp(cfg.RecentDays * float64(data.Day))
	for e := range orders.Group {
		t := orders.Time[e]
		if !before(t, at) {
			continue
		}
		g, i := orders.Group[e], orders.Item[e]
		w := decay(cfg, at, t) * orders.Qty[e]
		p.Weight[g] += w
		p.L1[int(g)*K+int(cat.L1[i])] += w
		if t == data.UnknownTime || at == data.UnknownTime || at-t <= recent {
			p.L1Recent[int(g)*K+int(cat.L1[i])]++
		}
		p.Band[int(g)*(NumBands+1)+int(cat.Band[i])] += w
		if cat.POP[i] {
			p.POPShare[g] += w
		}
		if t > last[g] {
			last[g] = t
		}
	}
	p.L1Taste, p.L2Taste = exposureTaste(cat, groups, orders, pushes, shown, at, cfg)
	p.NumL2 = len(cat.L2Names)
	a := cfg.TastePrior
	if a <= 0 {
		a = 3
	}
	p.PriceTaste = priceTaste(cat, groups, orders, pushes, shown, at, cfg, a)
	var conv = make([]float32, G)
	for e := range pushes.Group {
		t := pushes.Time[e]
		if !before(t, at) {
			continue
		}
		w := decay(cfg, at, t)
		p.Pushes[pushes.Group[e]] += w
		if pushes.Converted != nil && pushes.Converted[e] {
			conv[pushes.Group[e]] += w
		}
	}
	topShares(cat, orders, at, cfg, p)
	span := float32(math.Inf(1))
	if cfg.HalfLifeDays > 0 {
		span = float32(cfg.HalfLifeDays / math.Ln2) // the decayed window's effective length in days
	}
	for g := range G {
		w := p.Weight[g]
		if w > 0 {
			inv := 1 / w
			for k := range K {
				p.L1[g*K+k] *= inv
			}
			for b := range NumBands + 1 {
				p.Band[g*(NumBands+1)+b] *= inv
			}
			p.POPShare[g] *= inv
		}
		if !math.IsInf(float64(span), 1) {
			p.PerDay[g] = w / span
		}
		p.DaysSince[g] = -1
		if last[g] != data.UnknownTime && at != data.UnknownTime {
			p.DaysSince[g] = float32(at-last[g]) / float32(data.Day)
		}
		if p.Pushes[g] > 0 {
			p.PushConv[g] = conv[g] / p.Pushes[g]
		}
	}
	return p
}

// exposureTaste estimates each group's taste per L1 category, and per L2
// subcategory within it, at instant at from four kinds of evidence, each a
// decayed count set against what a group of average taste would have shown
// given what it was exposed to:
//
//   - sales: the orders credited to the group's pushes of the category
//     (Events.Orders; without them, the pushes that sold), against the sum
//     over those pushes of the item's orders (conversion) per push over
//     every group (shrunk toward the mean with 20 pseudo-pushes);
//   - picks: the items of the category the promoter pushed out of the lists
//     shown for the group (Shown), against the sum over the items shown of
//     how often an item at that rank was picked over every group (see
//     pickRates). A promoter picks what suits the group;
//   - finds: the items of the category the promoter found outside any list
//     (Events.Found), against the group's found pushes spread over the
//     categories as every group's are. Promoters who find items themselves
//     follow what their members like across the catalogue;
//   - discoveries: its members' orders of the category placed without a push
//     and of items the group had not ordered before, against the group's
//     discoveries spread as every group's are.
//
// Each kind has the group's own level, s = (got + a) / (expected + a) over
// all categories (a = cfg.TastePrior), and the kinds pool into one count C
// and one expectation E = sum of s x expected per category. The L1 tastes
// are pooledTaste's posterior modes of C against E summed over each L1's
// subcategories. An L2's taste is how much more the group took
// to it than its L1 taste says, log((C + b m) / (E e^t + b)) with b =
// l2TastePrior pseudo-counts and m the same ratio over the group's channel x tier cell,
// so a subcategory without evidence gets its cell's. Evidence that is not
// recorded (no conversion flags, no found or organic marks, no lists) is
// left out; with none at all every taste is 0. l2 is indexed by L2 (G x
// len(cat.L2Names)).
func exposureTaste(cat *Catalog, groups *Groups, orders, pushes *Events, shown *Shown, at data.Timestamp, cfg Config) (l1, l2 []float32) {
	G, K, F := groups.Len(), len(cat.L1Names), len(cat.L2Names)
	l1, l2 = make([]float32, G*K), make([]float32, G*F)
	if K == 0 || F == 0 || (G == 0 && groups.Parts == nil) {
		return l1, l2
	}
	a := cfg.TastePrior
	if a <= 0 {
		a = 3
	}
	parent := make([]int32, F) // each L2's L1 (L2 names are "L1/L2")
	for i := range cat.Len() {
		parent[cat.L2[i]] = cat.L1[i]
	}
	ev := newTasteEvidence(cat, cat.L2, F, groups, orders, pushes, shown, at, cfg, a)
	if ev.kinds == 0 {
		return l1, l2
	}
	got1, exp1 := make([]float64, G*K), make([]float64, G*K)
	ev.each(func(g int, got, exp []float64) {
		for f := range F {
			got1[g*K+int(parent[f])] += got[f]
			exp1[g*K+int(parent[f])] += exp[f]
		}
	})
	cells := groupCells(groups)
	l1 = pooledTaste(got1, exp1, cells, ev.blocks, G, K, 5)
	// L2 deviations from the L1 taste, shrunk toward the cell's: the
	// expectations times e^(L1 taste), summed per cell (in blocks).
	scaled := func(g int, exp []float64) {
		for f := range F {
			exp[f] *= math.Exp(float64(l1[g*K+int(parent[f])]))
		}
	}
	const nc = NumCells
	sums := make([]float64, 2*nc*F)
	ev.sumRows(sums, func(g int, got, exp, acc []float64) {
		scaled(g, exp)
		c := int(cells[g])
		for f := range F {
			acc[c*F+f] += got[f]
			acc[(nc+c)*F+f] += exp[f]
		}
	})
	cg, ce := sums[:nc*F], sums[nc*F:]
	const b = l2TastePrior
	ev.each(func(g int, got, exp []float64) {
		scaled(g, exp)
		c := int(cells[g])
		for f := range F {
			m := (cg[c*F+f] + 1) / (ce[c*F+f] + 1)
			l2[g*F+f] = float32(math.Log((got[f] + b*m) / (exp[f] + b)))
		}
	})
	return l1, l2
}

// PriceTasteOf is group g's row of PriceTaste (nil when there is none).
func (p *Profiles) PriceTasteOf(g int32) []float32 {
	if len(p.PriceTaste) < int(g+1)*NumRelBins {
		return nil
	}
	return p.PriceTaste[int(g)*NumRelBins : int(g+1)*NumRelBins]
}

// L2TasteOf is group g's row of L2Taste (nil when there is none).
func (p *Profiles) L2TasteOf(g int32) []float32 {
	if p.NumL2 == 0 || len(p.L2Taste) < int(g+1)*p.NumL2 {
		return nil
	}
	return p.L2Taste[int(g)*p.NumL2 : int(g+1)*p.NumL2]
}

// l2TastePrior is the pseudo-count of expected evidence that shrinks a
// group's L2 taste toward its cell's (chosen on seed 1: 5, 10 and 30 gave
// 66.04, 66.13 and 66.14 yuan of commission per push, 4,000 groups).
const l2TastePrior = 10

// NumRelBins is the number of relative price levels PriceTaste has.
const NumRelBins = 5

// RelBin is the relative price level of an item with relative price rel
// (Catalog.RelPrice, the log of its price over its L1 category's median):
// 0 for well under half the median ... 4 for well over twice it.
func RelBin(rel float32) int32 {
	switch {
	case rel < -0.7:
		return 0
	case rel < -0.25:
		return 1
	case rel <= 0.25:
		return 2
	case rel <= 0.7:
		return 3
	}
	return 4
}

// priceTaste is each group's taste per relative price level (G x
// NumRelBins): exposureTaste's evidence by the items' RelBin, pooled the
// same way as the L1 tastes.
func priceTaste(cat *Catalog, groups *Groups, orders, pushes *Events, shown *Shown, at data.Timestamp, cfg Config, a float64) []float32 {
	G := groups.Len()
	key := make([]int32, cat.Len())
	for i, r := range cat.RelPrice {
		key[i] = RelBin(r)
	}
	ev := newTasteEvidence(cat, key, NumRelBins, groups, orders, pushes, shown, at, cfg, a)
	if ev.kinds == 0 {
		return make([]float32, G*NumRelBins)
	}
	got, exp := ev.dense()
	return pooledTaste(got, exp, groupCells(groups), ev.blocks, G, NumRelBins, 5)
}

// groupCells is each group's channel x city tier cell (CellOf), of
// NumCells.
func groupCells(groups *Groups) []int32 {
	out := make([]int32, groups.Len())
	for g := range out {
		out[g] = int32(CellOf(groups.Channel[g], groups.Tier[g]))
	}
	return out
}

// NumCells is how many channel x city tier cells there are.
const NumCells = NumChannelRows * NumTierRows

// pickRates estimates, from the lists shown before at, how often an item
// shown at a rank is pushed from the list, for every item and rank (I x
// MaxShownRank): the item-rank cell's own rate shrunk with 20 pseudo-views
// toward the rank's rate times the item's lift (its picks over what its
// ranks' rates predict, shrunk with 20 pseudo-picks), over every part's
// lists. Nil when no list was shown before at or none was picked from.
func pickRates(I int, shown *Shown, at data.Timestamp, parts Parts) []float32 {
	const R, prior = MaxShownRank, 20
	views, picks := make([]float32, I*R), make([]float32, I*R)
	var rv, rp [R]float64
	for l := range shown.Lists() {
		if !before(shown.Time[l], at) {
			continue
		}
		rows := shown.list(l)
		p := 0
		for r := rows.from; r < rows.to; r++ {
			k := rows.rankIdx(r)
			c := int(shown.Item[r])*R + k
			views[c]++
			rv[k]++
			if p < len(rows.picked) && int(rows.picked[p]) == r {
				p++
				picks[c]++
				rp[k]++
			}
		}
	}
	addCounts(parts, [][]float32{views, picks}, [][]float64{rv[:], rp[:]})
	var tv, tp float64
	for r := range R {
		tv += rv[r]
		tp += rp[r]
	}
	if tp == 0 {
		return nil
	}
	var rankRate [R]float64
	for r := range R {
		rankRate[r] = (rp[r] + prior*tp/tv) / (rv[r] + prior)
	}
	out := make([]float32, I*R)
	for i := range I {
		var p, e float64
		for r := range R {
			p += float64(picks[i*R+r])
			e += float64(views[i*R+r]) * rankRate[r]
		}
		lift := (p + prior) / (e + prior)
		for r := range R {
			c := i*R + r
			out[c] = float32((float64(picks[c]) + prior*rankRate[r]*lift) / (float64(views[c]) + prior))
		}
	}
	return out
}

// topShares sets every ordering group's L2 and Brands: its top cfg.TopN
// L2 categories and brands by share of its decayed orders (p.Weight). A
// group's orders are read in their order, one group at a time, into two
// catalogue-wide accumulators, so that no per-group map is held (at a
// million groups those maps were gigabytes); each weight sums in the
// orders' order, as one pass over all orders sums it.
func topShares(cat *Catalog, orders *Events, at data.Timestamp, cfg Config, p *Profiles) {
	of := indexByGroup(orders.Group, len(p.Weight))
	l2 := newShares(len(cat.L2Names))
	br := newShares(len(cat.BrandNames))
	for g, total := range p.Weight {
		if total <= 0 {
			continue
		}
		for _, e := range of.of(g) {
			t := orders.Time[e]
			if !before(t, at) {
				continue
			}
			i := orders.Item[e]
			w := decay(cfg, at, t) * orders.Qty[e]
			l2.add(cat.L2[i], w)
			br.add(cat.Brand[i], w)
		}
		p.L2[g] = l2.top(total, cfg.TopN)
		p.Brands[g] = br.top(total, cfg.TopN)
	}
}

// shares accumulates one group's weight per id (L2 category or brand).
type shares struct {
	w       []float32
	seen    []bool
	touched []int32
	buf     []Weighted
}

func newShares(n int) *shares { return &shares{w: make([]float32, n), seen: make([]bool, n)} }

func (s *shares) add(id int32, w float32) {
	if !s.seen[id] {
		s.seen[id] = true
		s.touched = append(s.touched, id)
	}
	s.w[id] += w
}

// top returns the n largest shares of total (all when n <= 0), largest
// first, ties to the smaller id, and clears the accumulator.
func (s *shares) top(total float32, n int) []Weighted {
	s.buf = s.buf[:0]
	for _, id := range s.touched {
		s.buf = append(s.buf, Weighted{id, s.w[id] / total})
		s.w[id], s.seen[id] = 0, false
	}
	s.touched = s.touched[:0]
	slices.SortFunc(s.buf, func(a, b Weighted) int {
		if a.Weight != b.Weight {
			return cmp.Compare(b.Weight, a.Weight)
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if n > 0 && len(s.buf) > n {
		return slices.Clone(s.buf[:n])
	}
	return slices.Clone(s.buf)
}

// L1Of returns group g's L1 shares (a view into L1).
func (p *Profiles) L1Of(g int32) []float32 { return p.L1[int(g)*p.NumL1 : int(g+1)*p.NumL1] }

// BandOf returns group g's price-band shares (a view into Band).
func (p *Profiles) BandOf(g int32) []float32 {
	return p.Band[int(g)*(NumBands+1) : int(g+1)*(NumBands+1)]
}
