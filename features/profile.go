package features

import (
	"math"
	"sort"

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
}

// DefaultConfig is a 14-day half-life, top 10, a 30-day reason window and a
// taste prior of 3 expected conversions.
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
	L1Taste   []float32
	L2        [][]Weighted // top-N L2 categories by share
	Brands    [][]Weighted // top-N brands by share
	Band      []float32    // G x (NumBands+1): share of decayed orders per price band (last: unknown price)
	POPShare  []float32    // share of decayed orders that are POP items
	Weight    []float32    // decayed order count (how much the profile knows)
	PerDay    []float32    // decayed orders per day
	DaysSince []float32    // days since the last order; -1 when none (or only undated ones)
	Pushes    []float32    // decayed pushes
	PushConv  []float32    // share of decayed pushes with an order through them
	Channel   []data.Channel
	Tier      []data.CityTier
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
	l2 := make([]map[int32]float32, G)
	br := make([]map[int32]float32, G)
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
		if l2[g] == nil {
			l2[g], br[g] = map[int32]float32{}, map[int32]float32{}
		}
		l2[g][cat.L2[i]] += w
		br[g][cat.Brand[i]] += w
		if t > last[g] {
			last[g] = t
		}
	}
	p.L1Taste = exposureTaste(cat, G, orders, pushes, shown, at, cfg)
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
			p.L2[g] = topN(l2[g], w, cfg.TopN)
			p.Brands[g] = topN(br[g], w, cfg.TopN)
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

// exposureTaste estimates each group's taste per L1 category at instant at
// from three kinds of evidence, each a decayed count set against what a
// group of average taste would have shown given what it was exposed to:
//
//   - sales: C_gc, the group's pushes of category c that sold, against E_gc,
//     the sum over those pushes of the item's conversion per push over every
//     group (shrunk toward the mean with 20 pseudo-pushes);
//   - discoveries: D_gc, its members' orders of c placed without a push and
//     of items the group had not ordered before, against κ F_gc, its pushes
//     of c the promoter found outside any list (Events.Found), κ being
//     discoveries per found push over every group. Promoters who find items
//     themselves follow what their members like across the catalogue;
//     members who order unprompted add the group's own leaning;
//   - picks: P_gc, the items of c the promoter pushed out of the lists shown
//     for the group (Shown), against Q_gc, the sum over the items shown of
//     how often an item at that rank was picked over every group (see
//     pickRates). A promoter picks what suits the group.
//
// Each kind has the group's own level, s = (got + a) / (expected + a) over
// all categories, and the taste for c pools them: log((C + D + P + a) /
// (s_C E + s_D κ F + s_P Q + a)), a = cfg.TastePrior. A category with
// nothing expected gets 0, the group's overall level. Evidence that is not
// recorded (no conversion flags, no found or organic marks, no lists) is
// left out; with none at all every taste is 0.
func exposureTaste(cat *Catalog, G int, orders, pushes *Events, shown *Shown, at data.Timestamp, cfg Config) []float32 {
	K := len(cat.L1Names)
	out := make([]float32, G*K)
	if G == 0 || K == 0 {
		return out
	}
	a := cfg.TastePrior
	if a <= 0 {
		a = 3
	}
	var ev []evidence
	for _, e := range []evidence{salesEvidence(cat, G, pushes, at, cfg), discoveryEvidence(cat, G, orders, pushes, at, cfg),
		pickEvidence(cat, G, shown, at, cfg)} {
		if e.got != nil {
			ev = append(ev, e)
		}
	}
	if len(ev) == 0 {
		return out
	}
	level := make([]float64, len(ev))
	for g := range G {
		for x, e := range ev {
			var eg, cg float64
			for k := range K {
				eg += e.exp[g*K+k]
				cg += e.got[g*K+k]
			}
			level[x] = (cg + a) / (eg + a)
		}
		for k := range K {
			var got, exp float64
			for x, e := range ev {
				got += e.got[g*K+k]
				exp += level[x] * e.exp[g*K+k]
			}
			if exp > 0 {
				out[g*K+k] = float32(math.Log((got + a) / (exp + a)))
			}
		}
	}
	return out
}

// evidence is one kind of taste evidence: per group and L1 (G x K) the
// decayed count observed and the count a group of average taste would have
// shown; nil when the kind is not recorded.
type evidence struct{ got, exp []float64 }

// salesEvidence counts the pushes that sold against the items' conversion.
func salesEvidence(cat *Catalog, G int, pushes *Events, at data.Timestamp, cfg Config) evidence {
	if pushes.Converted == nil {
		return evidence{}
	}
	I, K := cat.Len(), len(cat.L1Names)
	n, c := make([]float64, I), make([]float64, I)
	var tn, tc float64
	for e := range pushes.Group {
		if !before(pushes.Time[e], at) {
			continue
		}
		i := pushes.Item[e]
		n[i]++
		tn++
		if pushes.Converted[e] {
			c[i]++
			tc++
		}
	}
	if tn == 0 {
		return evidence{}
	}
	const prior = 20
	mean := tc / tn
	rate := make([]float64, I)
	for i := range I {
		rate[i] = (c[i] + prior*mean) / (n[i] + prior)
	}
	ev := evidence{got: make([]float64, G*K), exp: make([]float64, G*K)}
	for e := range pushes.Group {
		t := pushes.Time[e]
		if !before(t, at) {
			continue
		}
		i := pushes.Item[e]
		w := float64(decay(cfg, at, t))
		k := int(pushes.Group[e])*K + int(cat.L1[i])
		ev.exp[k] += w * rate[i]
		if pushes.Converted[e] {
			ev.got[k] += w
		}
	}
	return ev
}

// discoveryEvidence counts the members' unprompted first orders of an item
// against the promoter's found pushes.
func discoveryEvidence(cat *Catalog, G int, orders, pushes *Events, at data.Timestamp, cfg Config) evidence {
	if orders.Organic == nil || pushes.Found == nil {
		return evidence{}
	}
	K := len(cat.L1Names)
	first := make(map[int64]data.Timestamp, orders.Len()) // (group, item) -> its earliest order
	for e := range orders.Group {
		t := orders.Time[e]
		if !before(t, at) {
			continue
		}
		key := int64(orders.Group[e])<<32 | int64(orders.Item[e])
		if f, ok := first[key]; !ok || t < f {
			first[key] = t
		}
	}
	ev := evidence{got: make([]float64, G*K), exp: make([]float64, G*K)}
	var d, f float64
	for e := range orders.Group {
		t := orders.Time[e]
		if !before(t, at) || !orders.Organic[e] || first[int64(orders.Group[e])<<32|int64(orders.Item[e])] != t {
			continue
		}
		w := float64(decay(cfg, at, t))
		ev.got[int(orders.Group[e])*K+int(cat.L1[orders.Item[e]])] += w
		d += w
	}
	for e := range pushes.Group {
		t := pushes.Time[e]
		if !before(t, at) || !pushes.Found[e] {
			continue
		}
		w := float64(decay(cfg, at, t))
		ev.exp[int(pushes.Group[e])*K+int(cat.L1[pushes.Item[e]])] += w
		f += w
	}
	if d == 0 || f == 0 {
		return evidence{}
	}
	kappa := d / f
	for k := range ev.exp {
		ev.exp[k] *= kappa
	}
	return ev
}

// pickEvidence counts the items promoters pushed out of the lists shown for
// each group against how often items are picked at the rank they were shown.
func pickEvidence(cat *Catalog, G int, shown *Shown, at data.Timestamp, cfg Config) evidence {
	if shown == nil {
		return evidence{}
	}
	rate := pickRates(cat.Len(), shown, at)
	if rate == nil {
		return evidence{}
	}
	K := len(cat.L1Names)
	ev := evidence{got: make([]float64, G*K), exp: make([]float64, G*K)}
	for l := range shown.Lists() {
		t := shown.Time[l]
		if !before(t, at) {
			continue
		}
		w := float64(decay(cfg, at, t))
		g := int(shown.Group[l])
		from, to := shown.rows(l)
		for r := from; r < to; r++ {
			i := shown.Item[r]
			k := g*K + int(cat.L1[i])
			ev.exp[k] += w * float64(rate[int(i)*MaxShownRank+shown.rankIdx(r)])
			if shown.Picked[r] {
				ev.got[k] += w
			}
		}
	}
	return ev
}

// pickRates estimates, from the lists shown before at, how often an item
// shown at a rank is pushed from the list, for every item and rank (I x
// MaxShownRank): the item-rank cell's own rate shrunk with 20 pseudo-views
// toward the rank's rate times the item's lift (its picks over what its
// ranks' rates predict, shrunk with 20 pseudo-picks). Nil when no list was
// shown before at or none was picked from.
func pickRates(I int, shown *Shown, at data.Timestamp) []float32 {
	const R, prior = MaxShownRank, 20
	views, picks := make([]float32, I*R), make([]float32, I*R)
	var rv, rp [R]float64
	for l := range shown.Lists() {
		if !before(shown.Time[l], at) {
			continue
		}
		from, to := shown.rows(l)
		for r := from; r < to; r++ {
			k := shown.rankIdx(r)
			c := int(shown.Item[r])*R + k
			views[c]++
			rv[k]++
			if shown.Picked[r] {
				picks[c]++
				rp[k]++
			}
		}
	}
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

func topN(m map[int32]float32, total float32, n int) []Weighted {
	out := make([]Weighted, 0, len(m))
	for id, w := range m {
		out = append(out, Weighted{id, w / total})
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Weight != out[b].Weight {
			return out[a].Weight > out[b].Weight
		}
		return out[a].ID < out[b].ID
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// L1Of returns group g's L1 shares (a view into L1).
func (p *Profiles) L1Of(g int32) []float32 { return p.L1[int(g)*p.NumL1 : int(g+1)*p.NumL1] }

// BandOf returns group g's price-band shares (a view into Band).
func (p *Profiles) BandOf(g int32) []float32 {
	return p.Band[int(g)*(NumBands+1) : int(g+1)*(NumBands+1)]
}
