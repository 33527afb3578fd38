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
	// L1Taste is G x NumL1: the log of how much better than expected the
	// group's pushes of each L1 converted, given the items pushed and the
	// group's conversion over all categories, shrunk toward 0 (see
	// exposureTaste). Unlike L1, which counts orders and so mostly echoes
	// what was pushed to the group, it compares like with like.
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

// BuildProfiles computes every group's profile at instant at from the orders
// and pushes before it.
func BuildProfiles(cat *Catalog, groups *Groups, orders, pushes *Events, at data.Timestamp, cfg Config) *Profiles {
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
	p.L1Taste = exposureTaste(cat, G, pushes, at, cfg)
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

// exposureTaste estimates each group's taste per L1 from its pushes before
// at: with r_i the item's conversion per push over every group (shrunk toward
// the mean with 20 pseudo-pushes), E_gc the decayed sum of r_i over the
// group's pushes of category c and C_gc its decayed converted pushes, the
// group's level is s_g = (C_g + a) / (E_g + a) over all categories and its
// taste for c is log((C_gc + a) / (s_g E_gc + a)), a = cfg.TastePrior. A
// category never pushed to the group gets 0, its overall level. Without
// conversion flags (pushes.Converted nil) every taste is 0.
func exposureTaste(cat *Catalog, G int, pushes *Events, at data.Timestamp, cfg Config) []float32 {
	K := len(cat.L1Names)
	out := make([]float32, G*K)
	if pushes.Converted == nil || G == 0 || K == 0 {
		return out
	}
	a := cfg.TastePrior
	if a <= 0 {
		a = 3
	}
	I := cat.Len()
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
		return out
	}
	const prior = 20
	mean := tc / tn
	rate := make([]float64, I)
	for i := range I {
		rate[i] = (c[i] + prior*mean) / (n[i] + prior)
	}
	exp, got := make([]float64, G*K), make([]float64, G*K)
	for e := range pushes.Group {
		t := pushes.Time[e]
		if !before(t, at) {
			continue
		}
		i := pushes.Item[e]
		w := float64(decay(cfg, at, t))
		k := int(pushes.Group[e])*K + int(cat.L1[i])
		exp[k] += w * rate[i]
		if pushes.Converted[e] {
			got[k] += w
		}
	}
	for g := range G {
		var eg, cg float64
		for k := range K {
			eg += exp[g*K+k]
			cg += got[g*K+k]
		}
		if eg == 0 {
			continue
		}
		s := (cg + a) / (eg + a)
		for k := range K {
			if e := exp[g*K+k]; e > 0 {
				out[g*K+k] = float32(math.Log((got[g*K+k] + a) / (s*e + a)))
			}
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
