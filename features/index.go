package features

import (
	"math"
	"slices"
	"sort"

	"grouprank/data"
)

// NumBands is the number of price bands.
const NumBands = 7

// bandEdgesYuan are the upper edges of the price bands in yuan; the last band is open.
var bandEdgesYuan = [NumBands - 1]float64{20, 50, 100, 200, 500, 1500}

// BandNames names the price bands for people.
var BandNames = [NumBands]string{"<20", "20-50", "50-100", "100-200", "200-500", "500-1500", ">=1500"}

// UnknownBand is the band of an item without a price.
const UnknownBand = NumBands

// PriceBand maps a price to its band; an unknown price gives UnknownBand.
func PriceBand(priceCents int64) int {
	if priceCents < 0 {
		return UnknownBand
	}
	y := float64(priceCents) / 100
	for b, e := range bandEdgesYuan {
		if y < e {
			return b
		}
	}
	return NumBands - 1
}

// Catalog is a dense index over products: item i of every slice is SKUs[i].
type Catalog struct {
	SKUs       []data.SKU
	Index      map[data.SKU]int32
	L1         []int32 // index into L1Names
	L2         []int32 // index into L2Names
	Brand      []int32 // index into BrandNames
	L1Names    []string
	L2Names    []string
	BrandNames []string
	PriceCents []int64
	Band       []uint8
	RelPrice   []float32 // log(price / L1RefCents of the item's L1 category); 0 without a price
	// L1RefCents is each L1 category's median price when the catalogue was
	// first indexed; Extend keeps it (new categories get their own), so a
	// price update moves only its own item's relative price.
	L1RefCents  []float64
	POP         []bool
	Commission  []float32 // rate; 0 when unknown
	GoodReviews []int32
	Reviews     []int32
	Eligible    []bool // active and in stock at the catalogue's instant
	Products    []data.Product
	// Listed is when each item entered the catalogue, where the catalogue's
	// history is known (train.Timeline); nil otherwise.
	Listed []data.Timestamp
}

// NewCatalog indexes products (e.g. data.CatalogAt(changes, T)) in SKU order;
// Eligible says which can be pushed at instant at.
func NewCatalog(products []data.Product, at data.Timestamp) *Catalog {
	ps := append([]data.Product(nil), products...)
	sort.Slice(ps, func(a, b int) bool { return ps[a].SKU < ps[b].SKU })
	return indexCatalog(ps, at, vocab{}, vocab{}, vocab{}, nil)
}

// Extend applies catalogue updates to c without moving anything: an update
// of a known SKU replaces its state at its index, a new SKU is appended
// after the others, and new category and brand names get new ids after the
// known ones. So statistics, vectors and profiles indexed by c stay valid
// (extended for the new items). It returns the new catalogue and how many
// items were added.
func (c *Catalog) Extend(updates []data.Product, at data.Timestamp) (*Catalog, int) {
	ps := append([]data.Product(nil), c.Products...)
	added := 0
	for _, u := range updates {
		if i, ok := c.Index[u.SKU]; ok {
			ps[i] = u
			continue
		}
		ps = append(ps, u)
		added++
	}
	return indexCatalog(ps, at, seeded(c.L1Names), seeded(c.L2Names), seeded(c.BrandNames), c.L1RefCents), added
}

func seeded(names []string) vocab {
	var v vocab
	for _, n := range names {
		v.id(n)
	}
	return v
}

// indexCatalog indexes products in the order given, continuing the vocabularies.
// indexCatalog indexes ps; ref are the L1 reference prices to keep (nil:
// none), the categories beyond them get their median.
func indexCatalog(ps []data.Product, at data.Timestamp, l1, l2, br vocab, ref []float64) *Catalog {
	n := len(ps)
	c := &Catalog{SKUs: make([]data.SKU, n), Index: make(map[data.SKU]int32, n), L1: make([]int32, n), L2: make([]int32, n),
		Brand: make([]int32, n), PriceCents: make([]int64, n), Band: make([]uint8, n), POP: make([]bool, n),
		Commission: make([]float32, n), GoodReviews: make([]int32, n), Reviews: make([]int32, n), Eligible: make([]bool, n), Products: ps}
	for i := range ps {
		p := &ps[i]
		c.SKUs[i] = p.SKU
		c.Index[p.SKU] = int32(i)
		c.L1[i] = l1.id(p.CategoryL1)
		c.L2[i] = l2.id(p.CategoryL1 + "/" + p.CategoryL2)
		c.Brand[i] = br.id(p.Brand)
		c.PriceCents[i] = p.PriceCents
		c.Band[i] = uint8(PriceBand(p.PriceCents))
		c.POP[i] = p.Seller == data.SellerPOP
		c.Commission[i] = float32(math.Max(0, p.Commission))
		c.GoodReviews[i], c.Reviews[i] = p.GoodReviews, p.Reviews
		c.Eligible[i] = p.InStock && p.ActiveAt(at)
	}
	c.L1Names, c.L2Names, c.BrandNames = l1.names, l2.names, br.names
	c.L1RefCents = ref
	if len(ref) < len(c.L1Names) {
		c.L1RefCents = append(slices.Clone(ref), medianPrices(c)[len(ref):]...)
	}
	c.RelPrice = relPrices(c)
	return c
}

// relPrices is every item's log price relative to its L1 category's
// reference price: how dear it is for what it is.
func relPrices(c *Catalog) []float32 {
	out := make([]float32, len(c.PriceCents))
	for i, p := range c.PriceCents {
		if m := c.L1RefCents[c.L1[i]]; p > 0 && m > 0 {
			out[i] = float32(math.Log(float64(p) / m))
		}
	}
	return out
}

// medianPrices is each L1 category's median price over its items with a price (0: none).
func medianPrices(c *Catalog) []float64 {
	by := make([][]float64, len(c.L1Names))
	for i, p := range c.PriceCents {
		if p > 0 {
			by[c.L1[i]] = append(by[c.L1[i]], float64(p))
		}
	}
	med := make([]float64, len(by))
	for l, ps := range by {
		if len(ps) == 0 {
			continue
		}
		sort.Float64s(ps)
		med[l] = ps[len(ps)/2]
		if len(ps)%2 == 0 {
			med[l] = (ps[len(ps)/2-1] + ps[len(ps)/2]) / 2
		}
	}
	return med
}

// Len is the number of items.
func (c *Catalog) Len() int { return len(c.SKUs) }

type vocab struct {
	ids   map[string]int32
	names []string
}

func (v *vocab) id(s string) int32 {
	if v.ids == nil {
		v.ids = map[string]int32{}
	}
	if id, ok := v.ids[s]; ok {
		return id
	}
	id := int32(len(v.names))
	v.ids[s] = id
	v.names = append(v.names, s)
	return id
}

// Groups is a dense index over groups.
type Groups struct {
	IDs     []data.GroupID
	Index   map[data.GroupID]int32
	Channel []data.Channel
	Tier    []data.CityTier
	Created []data.Timestamp
	// Parts, when not nil, says these are one part's groups of a sharded
	// job: what is built over them (profiles, item statistics) joins its
	// sums with the other parts' through it.
	Parts Parts
}

// NewGroups indexes groups in id order.
func NewGroups(groups []data.Group) *Groups {
	gs := append([]data.Group(nil), groups...)
	sort.Slice(gs, func(a, b int) bool { return gs[a].ID < gs[b].ID })
	g := &Groups{IDs: make([]data.GroupID, len(gs)), Index: make(map[data.GroupID]int32, len(gs)),
		Channel: make([]data.Channel, len(gs)), Tier: make([]data.CityTier, len(gs)), Created: make([]data.Timestamp, len(gs))}
	for i, x := range gs {
		g.IDs[i], g.Channel[i], g.Tier[i], g.Created[i] = x.ID, x.Channel, x.CityTier, x.Created
		g.Index[x.ID] = int32(i)
	}
	return g
}

// Len is the number of groups.
func (g *Groups) Len() int { return len(g.IDs) }

// Events are orders or pushes as dense, flat columns, never modified once
// built (Before and Between may return the same Events).
type Events struct {
	Group     []int32
	Item      []int32
	Time      []data.Timestamp
	Qty       []float32 // orders only: units; nil for pushes (each is one)
	Converted []bool    // pushes only: an order came through it; nil for orders
	// Orders is, for pushes, how many orders were credited to each (nil when
	// only Converted is known; then a push that sold counts one).
	Orders []float32
	// Found marks pushes of items the promoter found outside any list shown
	// to it (data.Push.RequestID empty); nil when not known, and for orders.
	Found []bool
	// Organic marks orders placed without a push link (data.NoPush): what
	// members bought of their own accord; nil when not known, and for pushes.
	Organic []bool
}

// Len is the number of events.
func (e *Events) Len() int { return len(e.Group) }

// NoOrders and NoPushes are orders and pushes with no row but every column a
// world's orders or pushes have: what a part of a sharded job holds when the
// world has rows but none of them is its groups'. (A nil column means the
// world lacks it, which must hold in every part alike.)
func NoOrders() *Events {
	return &Events{Group: []int32{}, Item: []int32{}, Time: []data.Timestamp{}, Qty: []float32{}, Organic: []bool{}}
}

// NoPushes: see NoOrders.
func NoPushes() *Events {
	return &Events{Group: []int32{}, Item: []int32{}, Time: []data.Timestamp{}, Converted: []bool{}, Orders: []float32{}, Found: []bool{}}
}

// Before keeps the events strictly before t (and those of unknown time).
func (e *Events) Before(t data.Timestamp) *Events {
	return e.filter(func(x data.Timestamp) bool { return before(x, t) })
}

// Between keeps the events in [from, to).
func (e *Events) Between(from, to data.Timestamp) *Events {
	return e.filter(func(x data.Timestamp) bool { return x != data.UnknownTime && x >= from && x < to })
}

// filter keeps the events whose time keep accepts. When it keeps them all
// it returns e itself: events are never modified once built, and the copy
// would double what a serving build holds (at a million groups, gigabytes).
func (e *Events) filter(keep func(data.Timestamp) bool) *Events {
	n := 0
	for _, t := range e.Time {
		if keep(t) {
			n++
		}
	}
	if n == len(e.Time) {
		return e
	}
	out := &Events{Group: make([]int32, 0, n), Item: make([]int32, 0, n), Time: make([]data.Timestamp, 0, n)}
	if e.Qty != nil {
		out.Qty = make([]float32, 0, n)
	}
	if e.Converted != nil {
		out.Converted = make([]bool, 0, n)
	}
	if e.Orders != nil {
		out.Orders = make([]float32, 0, n)
	}
	if e.Found != nil {
		out.Found = make([]bool, 0, n)
	}
	if e.Organic != nil {
		out.Organic = make([]bool, 0, n)
	}
	for i := range e.Group {
		if keep(e.Time[i]) {
			out.Group = append(out.Group, e.Group[i])
			out.Item = append(out.Item, e.Item[i])
			out.Time = append(out.Time, e.Time[i])
			if e.Qty != nil {
				out.Qty = append(out.Qty, e.Qty[i])
			}
			if e.Converted != nil {
				out.Converted = append(out.Converted, e.Converted[i])
			}
			if e.Orders != nil {
				out.Orders = append(out.Orders, e.Orders[i])
			}
			if e.Found != nil {
				out.Found = append(out.Found, e.Found[i])
			}
			if e.Organic != nil {
				out.Organic = append(out.Organic, e.Organic[i])
			}
		}
	}
	return out
}
