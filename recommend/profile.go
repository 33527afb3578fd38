package recommend

import (
	"cmp"
	"math"
	"slices"
	"sync"

	"grouprank/data"
	"grouprank/features"
)

// ProfileModel ranks items from a group's profile alone, so groups with little
// or no history (and unknown groups, from their channel and city tier) get a
// sound ranking:
//
//	score(g, i) = base_cell(i) * A_g(l1(i)) / A_cell(l1(i)) * B_g(band(i)) / B_cell(band(i)) * (1 + 2 brand_g(i))
//
// base_cell(i) is item i's share of the decayed orders of the group's
// channel x tier cell, shrunk toward its channel's share and that toward the
// overall share (CellPrior and ChannelPrior pseudo-orders). A_g is the group's
// L1 category share shrunk toward the cell's (ProfilePrior pseudo-orders), and
// A_cell the cell's own: their ratio moves the cell's popular items toward the
// group's categories. B does the same for price bands; brand_g(i) is the
// group's share of orders of i's brand (top brands only).
type ProfileModel struct {
	cat          *features.Catalog
	st           *features.ItemStats
	CellPrior    float32
	ChannelPrior float32
	ProfilePrior float32
	mu           sync.RWMutex
	cells        map[int]*cell
}

type cell struct {
	orders map[*float32][][]int32 // items per (L1, band) by base share (times a boost) descending; see order
	base   []float32              // per item
	l1     []float32              // share per L1
	band   []float32              // share per band
}

// NewProfileModel builds the model on a catalogue and its item statistics.
func NewProfileModel(cat *features.Catalog, st *features.ItemStats) *ProfileModel {
	return &ProfileModel{cat: cat, st: st, CellPrior: 50, ChannelPrior: 200, ProfilePrior: 5, cells: map[int]*cell{}}
}

func (m *ProfileModel) cell(ch data.Channel, tier data.CityTier) *cell {
	key := features.CellOf(ch, tier)
	return memo(&m.mu, &m.cells, key, 0, func() *cell { return m.buildCell(ch, key) })
}

// buildCell computes the base shares of channel ch's cell key.
func (m *ProfileModel) buildCell(ch data.Channel, key int) *cell {
	I := m.cat.Len()
	share := func(row []float32) ([]float32, float32) {
		var n float32
		for _, x := range row {
			n += x
		}
		return row, n
	}
	all, nAll := share(m.st.Pop)
	chRow, nCh := share(m.st.PopChannel[int(ch)*I : (int(ch)+1)*I])
	cellRow, nCell := share(m.st.PopCell[key*I : (key+1)*I])
	c := &cell{base: make([]float32, I), l1: make([]float32, len(m.cat.L1Names)), band: make([]float32, features.NumBands+1)}
	uniform := 1 / float32(I)
	for i := range I {
		p := uniform
		if nAll > 0 {
			p = (all[i] + 1*uniform) / (nAll + 1)
		}
		pc := (chRow[i] + m.ChannelPrior*p) / (nCh + m.ChannelPrior)
		c.base[i] = (cellRow[i] + m.CellPrior*pc) / (nCell + m.CellPrior)
		c.l1[m.cat.L1[i]] += c.base[i]
		c.band[m.cat.Band[i]] += c.base[i]
	}
	return c
}

// Score writes the score of every catalogue item for group g of the profiles into dst.
func (m *ProfileModel) Score(p *features.Profiles, g int32, dst []float32) {
	var brands []features.Weighted
	if p.Brands != nil {
		brands = p.Brands[g]
	}
	m.ScoreProfile(p.Channel[g], p.Tier[g], p.L1Of(g), p.BandOf(g), p.Weight[g], brands, dst)
}

// ScoreProfile scores every catalogue item for a profile given as its parts;
// an unknown group passes its channel and tier with weight 0.
func (m *ProfileModel) ScoreProfile(ch data.Channel, tier data.CityTier, l1, band []float32, weight float32, brands []features.Weighted, dst []float32) {
	f := m.factors(nil, ch, tier, l1, band, weight, brands)
	for i := range dst {
		dst[i] = f.score(m.cat, i)
	}
}

// profileFactors are a group's profile-model terms: score(i) =
// base[i] * l1[L1(i)] * band[Band(i)] (* brand[Brand(i)] when the group has brands).
type profileFactors struct {
	base, l1, band, brand []float32
	bmax                  float32 // the largest entry of brand (1 without)
}

func (f *profileFactors) score(cat *features.Catalog, i int) float32 {
	s := f.base[i] * f.l1[cat.L1[i]] * f.band[cat.Band[i]]
	if f.brand != nil {
		s *= f.brand[cat.Brand[i]]
	}
	return s
}

// brandMax is the largest brand factor (1 without brands): no item of
// category c and band b scores more than its base times
// l1[c] * band[b] * brandMax. factors sets it.
func (f *profileFactors) brandMax() float32 { return f.bmax }

// order is the cell's items split by (L1, band) (list L1*len(band)+band),
// each list from the highest base share (times boost, when not nil) down,
// computed once per cell and boost. Within a list every item shares its
// category and band factors, so a walk can stop a list as soon as its base
// (times boost) times those factors falls below what it needs.
func (m *ProfileModel) order(c *cell, boost []float32) [][]int32 {
	var key *float32
	if len(boost) > 0 {
		key = &boost[0]
	}
	m.mu.RLock()
	o, ok := c.orders[key]
	m.mu.RUnlock()
	if ok {
		return o
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if o, ok := c.orders[key]; ok {
		return o
	}
	nb := len(c.band)
	v := make([]float32, len(c.base))
	lists := make([][]int32, len(c.l1)*nb)
	for i := range c.base {
		v[i] = c.base[i]
		if boost != nil {
			v[i] *= boost[i]
		}
		li := int(m.cat.L1[i])*nb + int(m.cat.Band[i])
		lists[li] = append(lists[li], int32(i))
	}
	for _, o := range lists {
		slices.SortFunc(o, func(a, b int32) int {
			if c := cmp.Compare(v[b], v[a]); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
	}
	if c.orders == nil {
		c.orders = map[*float32][][]int32{}
	}
	c.orders[key] = lists
	return lists
}

// factors are the profile's terms; their tables come from a (nil: allocated).
func (m *ProfileModel) factors(a *f32Arena, ch data.Channel, tier data.CityTier, l1, band []float32, weight float32, brands []features.Weighted) profileFactors {
	c := m.cell(ch, tier)
	k := m.ProfilePrior
	f := profileFactors{base: c.base, l1: shrunkRatios(a, l1, c.l1, weight, k), band: shrunkRatios(a, band, c.band, weight, k), bmax: 1}
	if weight > 0 && len(brands) > 0 {
		f.brand = a.take(len(m.cat.BrandNames))
		for i := range f.brand {
			f.brand[i] = 1
		}
		for _, b := range brands {
			if int(b.ID) < len(f.brand) {
				f.brand[b.ID] = 1 + 2*b.Weight*weight/(weight+k)
			}
		}
		// The largest entry: among the group's brands' (each brand's last
		// value), and 1 when some brand is not the group's.
		var mx float32
		if len(brands) < len(f.brand) {
			mx = 1
		} else {
			for _, v := range f.brand {
				mx = max(mx, v)
			}
		}
		for _, b := range brands {
			if int(b.ID) < len(f.brand) {
				mx = max(mx, f.brand[b.ID])
			}
		}
		f.bmax = mx
	}
	return f
}

// shrunkRatios is, per entry, the group's share shrunk toward the cell's
// (k pseudo-orders against the group's weight) over the cell's share, in a
// slice from a (nil: allocated).
func shrunkRatios(a *f32Arena, own, cell []float32, weight, k float32) []float32 {
	out := a.take(len(cell))
	for j := range out {
		a := cell[j]
		if weight > 0 && j < len(own) {
			a = (weight*own[j] + k*cell[j]) / (weight + k)
		}
		out[j] = ratio(a, cell[j])
	}
	return out
}

func ratio(a, b float32) float32 {
	if b <= 0 {
		return 1
	}
	return float32(math.Min(float64(a/b), 1e6))
}
