package synth

import (
	"math"
	"sync"

	"grouprank/data"
)

const (
	dims        = 24  // taste space
	numPersonas = 128 // global persona pool
	maxMix      = 5   // personas per group at most
)

// channel shares of groups and channel-specific category preferences
// (order of categories): field shares, mothers dominate.
var (
	channelShare = []float64{0.80, 0.06, 0.05, 0.04, 0.03, 0.02}
	channelTaste = [][]float64{
		{3, 2, 3, 2.5, 2, 1.5, 2.5, 0.5, 0.5, 1},     // mother
		{3, 3, 3, 1, 1, 0.5, 1, 0.8, 0.8, 1},         // courier
		{1, 0.5, 1.5, 0.3, 0.3, 0.3, 0.3, 4, 3, 0.5}, // installer
		{1, 0.5, 1, 0.5, 1.5, 2.5, 1, 2.5, 2.5, 0.5}, // store guide
		{3, 1, 1, 1, 2.5, 2.5, 0.1, 0.5, 3, 0.3},     // campus
		{2, 1.5, 2, 1, 1.5, 1, 1, 1, 1, 1},           // other
	}
	// tier shares of groups per channel; couriers lean to lower tiers.
	tierShare = [][]float64{
		{0.20, 0.18, 0.17, 0.14, 0.13, 0.18},
		{0.08, 0.12, 0.16, 0.18, 0.20, 0.26},
	}
)

// persona is a kind of member: a taste and a price sensitivity.
type persona struct {
	channel int // channel index it belongs to (0-based over data.Channels)
	tier    int // 1..6, the tier it is typical of
	taste   []float32
	priceS  float64 // sensitivity to price within a category (against its median)
	priceA  float64 // aversion to absolute price: appetite falls as price^-priceA
}

// group holds one group's hidden parameters.
type group struct {
	promoter   int32
	channel    uint8 // index into data.Channels
	tier       uint8 // 1..6
	createdDay int32 // day index it was created (< 0: before the window)
	members    int32 // initial member count
	mixN       uint8
	mix        [maxMix]uint8   // persona ids
	mixW       [maxMix]float32 // weights, summing to 1
	scale      float32         // members/100 * activity
	gcat       [numL1]float32  // hidden per-L1 affinity (log scale)
}

// numL1 is len(categories); TestCategoryTree keeps them equal.
const numL1 = 10

// promoter holds one promoter's hidden traits.
type promoter struct {
	skill  float32 // conversion multiplier and knowledge of the group's taste
	active float32 // probability of opening the app for a group on a day
	pushes float32 // mean pushes per active group-day
	depth  int16   // how far down the list they scroll
}

// World is the hidden state of a synthetic world, rebuilt from Params alone.
type World struct {
	P            Params
	cat          *catalog
	personas     []persona
	groups       []group
	promoters    []promoter
	itemVec      []float32 // items x dims
	b0           float64   // global conversion scale solved from ConversionPerPush
	personaAlias []alias   // persona -> draws of items by appetite at list prices
	organic0     float64   // organic scale
	start        data.Timestamp
	catOnce      sync.Once
	catBase      []float64 // persona x L1: mean appetite at list prices (CategoryAppetites)
	mech         mechanics
}

// mechanics are the constants in which world versions differ.
type mechanics struct {
	taste     float64 // weight of the persona-item taste match (times TasteConcentration)
	etaSD     float64 // spread of the hidden pair-level idiosyncrasy
	gcatSD    float64 // spread of the hidden group category effects
	relPrice  float64 // weight of the within-category price sensitivity
	quality   float64 // weight of the hidden quality
	selfTrust float64 // log appetite bonus of self-operated items (genuine goods, the retailer's own delivery)
	organic   float64 // multiplier of OrganicPerGroupDay
}

func mechanicsOf(version int) mechanics {
	if version == 1 {
		return mechanics{taste: 1, etaSD: 0.5, gcatSD: 0.5, relPrice: 1, quality: 0.6, organic: 1}
	}
	return mechanics{taste: tasteWeight, etaSD: etaSD, gcatSD: gcatSD, relPrice: relPriceWeight, quality: qualityWeight, selfTrust: selfTrust, organic: organicBoost}
}

// World version 2's spreads of what a group wants: the best items for a
// group sell a few times better than a sensible list, not tens of times
// (docs/data.md, TestPlausibleHeadroom).
const (
	tasteWeight    = 0.4
	etaSD          = 0.3
	gcatSD         = 0.4
	relPriceWeight = 0.6
	qualityWeight  = 0.35
	selfTrust      = 0.6
	// Members order on their own more than a world of version 1 had them
	// do, so that a group still places about an order a day (FIELD.md)
	// though the best pushes sell less than they did there.
	organicBoost = 1.8
)

func (w *World) buildTaste() {
	r := newRand(w.P.Seed, streamPersona, 0)
	unitVec := func() []float32 {
		v := make([]float32, dims)
		var n float64
		for i := range v {
			x := r.NormFloat64()
			v[i], n = float32(x), n+x*x
		}
		for i := range v {
			v[i] /= float32(math.Sqrt(n))
		}
		return v
	}
	l1v := make([][]float32, len(categories))
	for i := range l1v {
		l1v[i] = unitVec()
	}
	l2v := make([][]float32, w.cat.numL2)
	for i := range l2v {
		l2v[i] = unitVec()
	}
	bv := make([][]float32, len(w.cat.brands))
	for i := range bv {
		bv[i] = unitVec()
	}
	w.itemVec = make([]float32, len(w.cat.items)*dims)
	for j, it := range w.cat.items {
		v := w.itemVec[j*dims : (j+1)*dims]
		nz := unitVec()
		for k := range v {
			v[k] = 1.0*l1v[it.l1][k] + 0.6*l2v[it.l2][k] + 0.45*bv[it.brand][k] + 0.3*nz[k]
		}
	}
	w.personas = make([]persona, numPersonas)
	for s := range w.personas {
		ch := s % len(data.Channels)
		if s >= numPersonas/2 {
			ch = 0 // half the pool is mothers' personas: the bulk of the field
		}
		tier := 1 + r.IntN(6)
		u := make([]float32, dims)
		favs := 2 + r.IntN(3)
		for range favs {
			l1 := pick(r, channelTaste[ch])
			a := float32(0.6 + 0.8*r.Float64())
			l2 := w.cat.l2Base[l1] + r.IntN(len(categories[l1].sub))
			for k := range u {
				u[k] += a*l1v[l1][k] + 0.5*a*l2v[l2][k]
			}
		}
		for range 2 { // brand loyalties
			b := r.IntN(len(bv))
			for k := range u {
				u[k] += 0.5 * bv[b][k]
			}
		}
		nz := unitVec()
		for k := range u {
			u[k] += 0.3 * nz[k]
		}
		ps := (0.25 + 0.15*float64(tier)) * math.Exp(0.3*r.NormFloat64())
		w.personas[s] = persona{channel: ch, tier: tier, taste: u, priceS: ps, priceA: 0.2}
	}
	if w.P.WorldVersion >= 2 {
		// Members of smaller towns feel a price more; a 700-yuan appliance
		// sells a few percent as often as a 30-yuan snack (docs/data.md).
		r := newRand(w.P.Seed, streamPersona, 1)
		for s := range w.personas {
			pe := &w.personas[s]
			pe.priceA = (absPriceAversion + 0.05*(float64(pe.tier)-3.5)) * math.Exp(0.15*r.NormFloat64())
		}
	}
}

// absPriceAversion is the mean exponent of the absolute price response of
// world version 2's personas.
const absPriceAversion = 0.6

func (w *World) buildGroups() {
	r := newRand(w.P.Seed, streamGroup, 0)
	n := w.P.Groups
	w.groups = make([]group, 0, n)
	byChannel := make([][]int, len(data.Channels))
	for s, pe := range w.personas {
		byChannel[pe.channel] = append(byChannel[pe.channel], s)
	}
	for len(w.groups) < n {
		pi := int32(len(w.promoters))
		pr := promoter{
			skill:  float32(math.Exp(0.35 * r.NormFloat64())),
			active: float32(0.35 + 0.6*r.Float64()),
			pushes: float32(w.P.PushesPerGroupDay * lognormal(r, 0.5) / math.Exp(0.125)),
			depth:  int16(10 + r.IntN(31)),
		}
		w.promoters = append(w.promoters, pr)
		ch := pick(r, channelShare)
		ts := tierShare[0]
		if ch == 1 {
			ts = tierShare[1]
		}
		tier := 1 + pick(r, ts)
		ng := 1
		if u := r.Float64(); u > 0.9 {
			ng = 3 + r.IntN(3)
		} else if u > 0.7 {
			ng = 2
		}
		for range ng {
			if len(w.groups) == n {
				break
			}
			g := group{promoter: pi, channel: uint8(ch), tier: uint8(tier)}
			g.createdDay = int32(-30 - r.IntN(400))
			if r.Float64() < w.P.NewGroupShare {
				g.createdDay = int32(r.IntN(w.P.Days))
			}
			g.members = int32(math.Max(50, math.Min(500, 110*lognormal(r, 0.6))))
			act := lognormal(r, 1.1)
			g.scale = float32(float64(g.members) / 100 * act)
			g.mixN = uint8(2 + r.IntN(maxMix-1))
			var tot float64
			for k := range int(g.mixN) {
				pool := byChannel[ch]
				if r.Float64() < 0.25 || len(pool) == 0 {
					pool = byChannel[r.IntN(len(byChannel))]
				}
				// prefer personas typical of the group's tier
				best, bestD := pool[r.IntN(len(pool))], 99
				for range 3 {
					s := pool[r.IntN(len(pool))]
					if d := abs(w.personas[s].tier - tier); d < bestD {
						best, bestD = s, d
					}
				}
				x := -math.Log(r.Float64()) // Dirichlet(1)
				g.mix[k], g.mixW[k] = uint8(best), float32(x)
				tot += x
			}
			for k := range int(g.mixN) {
				g.mixW[k] /= float32(tot)
			}
			for c := range g.gcat {
				g.gcat[c] = float32(w.mech.gcatSD * r.NormFloat64())
			}
			w.groups = append(w.groups, g)
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// calibrate solves b0 so that a typical list push on day 0 (a random group,
// an item of the top of today's practice) expects ConversionPerPush orders,
// and the organic scale so that a typical group places OrganicPerGroupDay
// organic orders a day.
func (w *World) calibrate() {
	w.b0, w.organic0 = 1, 1
	r := newRand(w.P.Seed, streamCalib, 0)
	var top []int
	w.cat.dayStates(w.start, 1, func(_ int, cur []data.Product) {
		el := make([]data.Product, 0, len(cur))
		idx := make([]int, 0, len(cur))
		for j := range cur {
			if eligible(&cur[j], w.start) {
				el = append(el, cur[j])
				idx = append(idx, j)
			}
		}
		for _, k := range data.RankByPractice(el)[:min(30, len(el))] {
			top = append(top, idx[k])
		}
	})
	var sum, sumScale float64
	const samples = 4000
	for range samples {
		g := r.IntN(len(w.groups))
		j := top[r.IntN(len(top))]
		sum += w.saturate(g, w.expected(g, j, float64(w.cat.initial[j].PriceCents)))
		sumScale += float64(w.groups[g].scale)
	}
	w.b0 = w.P.ConversionPerPush / (sum / samples)
	w.organic0 = w.mech.organic * w.P.OrganicPerGroupDay / (sumScale / samples)
}
