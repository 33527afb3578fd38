package synth

import (
	"math"
	"sync"

	"grouprank/data"
)

// base is a persona's appetite for an item at a price, before group effects.
func (w *World) base(s, j int, priceCents float64) float64 {
	pe := &w.personas[s]
	it := &w.cat.items[j]
	v := w.itemVec[j*dims : (j+1)*dims]
	var dot float32
	for k, x := range pe.taste {
		dot += x * v[k]
	}
	lp := math.Log(priceCents / w.cat.refPrice[it.l1])
	lg := math.Log(priceCents / 3000)
	trust := 0.0
	if w.cat.initial[j].Seller == data.SellerSelf {
		trust = w.mech.selfTrust
	}
	return math.Exp(trust + w.mech.taste*w.P.TasteConcentration*float64(dot) - w.mech.relPrice*w.P.PriceSensitivity*pe.priceS*lp - pe.priceA*lg + w.mech.quality*float64(it.quality) - 2)
}

// eta is the hidden idiosyncratic affinity of group g for item j.
func (w *World) eta(g, j int) float64 {
	return w.mech.etaSD * normal(mix(w.P.Seed, streamNoise, uint64(g), uint64(j)))
}

// saturate bounds the expected orders of one push by the group's size: at most
// a fifth of its members order from one push, approached smoothly.
func (w *World) saturate(g int, raw float64) float64 {
	c := 0.2 * float64(w.groups[g].members)
	return c * -math.Expm1(-raw/c)
}

// expected is the neutral expected orders of a push of item j at a price into
// group g (first push of the day, no fatigue), before saturation.
func (w *World) expected(g, j int, priceCents float64) float64 {
	gr := &w.groups[g]
	var m float64
	for k := range int(gr.mixN) {
		m += float64(gr.mixW[k]) * w.base(int(gr.mix[k]), j, priceCents)
	}
	pr := &w.promoters[gr.promoter]
	l1 := w.cat.items[j].l1
	return w.b0 * float64(gr.scale) * float64(pr.skill) * math.Exp(float64(gr.gcat[l1])+w.eta(g, j)) * m
}

// PositionFactor is the true multiplier of the k-th push (1-based) a group receives in a day:
// later pushes get less attention.
func PositionFactor(k int) float64 { return 1 / (1 + 0.25*float64(max(k, 1)-1)) }

// FatigueFactor is the true multiplier of a push given how many days ago the
// same item was pushed to the group (itemAgo) and how many pushes of its
// category the group received in the last three days (catRecent).
func FatigueFactor(itemAgo []int, catRecent int) float64 {
	var x float64
	for _, d := range itemAgo {
		x += 0.8 * math.Exp(-float64(d)/3)
	}
	return math.Exp(-x - 0.07*float64(catRecent))
}

// Truth answers what a push is truly worth. It is built from the world's
// parameters alone and never written to disk; only evaluators may use it.
// Its methods are safe for concurrent use.
type Truth struct {
	w      *World
	day    int
	prices []float64 // prices on day
	active []bool    // eligible on day
	once   sync.Once
	base   [][]float32 // persona -> item appetite at day prices (computed on first Scores)
}

// Truth returns the truth as of the start of day (0-based within the window).
func (w *World) Truth(day int) *Truth {
	t := &Truth{w: w, day: day, prices: make([]float64, len(w.cat.items)), active: make([]bool, len(w.cat.items))}
	w.cat.dayStates(w.start, day+1, func(d int, cur []data.Product) {
		if d != day {
			return
		}
		at := w.start + data.Timestamp(d)*data.Day
		for j := range cur {
			t.prices[j] = float64(cur[j].PriceCents)
			t.active[j] = eligible(&cur[j], at)
		}
	})
	return t
}

// Expected is the true expected orders of a push of sku into group (first push
// of the day, no fatigue), at this Truth's day prices. Unknown ids give 0.
func (t *Truth) Expected(g data.GroupID, sku data.SKU) float64 {
	gi, j := int(g)-1, int(sku)-skuBase
	if gi < 0 || gi >= len(t.w.groups) || j < 0 || j >= len(t.prices) {
		return 0
	}
	return t.w.saturate(gi, t.w.expected(gi, j, t.prices[j]))
}

// ExpectedAt is Expected in context: the push is the position-th (1-based) of
// the group's day, the same item was pushed to the group itemAgo days ago (one
// entry per earlier push within 7 days) and the group received catRecent pushes
// of its category in the last three days. This is exactly what the generator
// draws a push's orders from (Poisson with this mean).
func (t *Truth) ExpectedAt(g data.GroupID, sku data.SKU, position int, itemAgo []int, catRecent int) float64 {
	gi, j := int(g)-1, int(sku)-skuBase
	if gi < 0 || gi >= len(t.w.groups) || j < 0 || j >= len(t.prices) {
		return 0
	}
	raw := t.w.expected(gi, j, t.prices[j]) * PositionFactor(position) * FatigueFactor(itemAgo, catRecent)
	return t.w.saturate(gi, raw)
}

// Prob is the true probability that such a push yields at least one order.
func (t *Truth) Prob(g data.GroupID, sku data.SKU) float64 {
	return 1 - math.Exp(-t.Expected(g, sku))
}

// Eligible reports whether sku can be pushed on this Truth's day.
func (t *Truth) Eligible(sku data.SKU) bool {
	j := int(sku) - skuBase
	return j >= 0 && j < len(t.active) && t.active[j]
}

// Scores writes the true expected orders of every item for group g into dst
// (indexed like Items) and returns it; ineligible items get 0.
func (t *Truth) Scores(g data.GroupID, dst []float64) []float64 { return t.scores(g, dst, true) }

// Systematic is Scores without the idiosyncratic factor of each (group,
// item) pair (eta): what a model that knew the group's personas, category
// effects and scale exactly, but nothing pair-specific, would expect. An
// evaluator ranks by it to measure how much of the oracle's advantage no
// model of group and item attributes can reach.
func (t *Truth) Systematic(g data.GroupID, dst []float64) []float64 { return t.scores(g, dst, false) }

func (t *Truth) scores(g data.GroupID, dst []float64, noise bool) []float64 {
	dst = append(dst[:0], make([]float64, len(t.prices))...)
	gi := int(g) - 1
	if gi < 0 || gi >= len(t.w.groups) {
		return dst
	}
	t.once.Do(func() {
		t.base = make([][]float32, len(t.w.personas))
		for s := range t.base {
			b := make([]float32, len(t.prices))
			for j := range b {
				b[j] = float32(t.w.base(s, j, t.prices[j]))
			}
			t.base[s] = b
		}
	})
	w, gr := t.w, &t.w.groups[gi]
	c := w.b0 * float64(gr.scale) * float64(w.promoters[gr.promoter].skill)
	for j := range dst {
		if !t.active[j] {
			continue
		}
		var m float64
		for k := range int(gr.mixN) {
			m += float64(gr.mixW[k]) * float64(t.base[gr.mix[k]][j])
		}
		e := float64(gr.gcat[w.cat.items[j].l1])
		if noise {
			e += w.eta(gi, j)
		}
		dst[j] = w.saturate(gi, c*math.Exp(e)*m)
	}
	return dst
}

// Items lists the SKUs in the index order Scores uses.
func (t *Truth) Items() []data.SKU {
	out := make([]data.SKU, len(t.prices))
	for j := range out {
		out[j] = skuOf(j)
	}
	return out
}

// Groups is the number of groups; their ids are 1..Groups.
func (w *World) Groups() int { return len(w.groups) }

// CategoryAppetites returns group g's true appetite per L1 category, by L1
// name: its category effect plus the log of its persona mix's mean appetite
// for the category's items at list prices. It is what a per-category taste
// would ideally measure (the category effects alone leave out which kinds of
// member the group is made of). nil for an unknown group. Ground truth for
// evaluators: no model may read it.
func (w *World) CategoryAppetites(g data.GroupID) map[string]float64 {
	gi := int(g) - 1
	if gi < 0 || gi >= len(w.groups) {
		return nil
	}
	w.catOnce.Do(func() {
		w.catBase = make([]float64, len(w.personas)*numL1)
		n := make([]float64, numL1)
		for j, it := range w.cat.items {
			n[it.l1]++
			for s := range w.personas {
				w.catBase[s*numL1+int(it.l1)] += w.base(s, j, float64(w.cat.initial[j].PriceCents))
			}
		}
		for s := range w.personas {
			for c := range numL1 {
				w.catBase[s*numL1+c] /= max(n[c], 1)
			}
		}
	})
	gr := &w.groups[gi]
	out := make(map[string]float64, len(categories))
	for c, cat := range categories {
		var m float64
		for k := range int(gr.mixN) {
			m += float64(gr.mixW[k]) * w.catBase[int(gr.mix[k])*numL1+c]
		}
		out[cat.name] = float64(gr.gcat[c]) + math.Log(m)
	}
	return out
}

// CategoryEffects returns group g's true effect per L1 category (the log
// multiplier of its expected orders of every item in it), by L1 name; nil
// for an unknown group. Ground truth for evaluators: no model may read it.
func (w *World) CategoryEffects(g data.GroupID) map[string]float64 {
	gi := int(g) - 1
	if gi < 0 || gi >= len(w.groups) {
		return nil
	}
	out := make(map[string]float64, len(categories))
	for c, cat := range categories {
		out[cat.name] = float64(w.groups[gi].gcat[c])
	}
	return out
}

// Rebuild regenerates the world's hidden state from its parameters.
func Rebuild(p Params) (*World, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	w := &World{P: p, start: data.TimestampOf(p.Start), mech: mechanicsOf(p.WorldVersion)}
	w.cat = buildCatalog(&p)
	w.buildTaste()
	w.buildGroups()
	w.personaAlias = make([]alias, len(w.personas))
	wt := make([]float64, len(w.cat.items))
	for s := range w.personas {
		for j := range wt {
			wt[j] = w.base(s, j, float64(w.cat.initial[j].PriceCents))
		}
		w.personaAlias[s] = newAlias(wt)
	}
	w.calibrate()
	return w, nil
}
