package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"grouprank/data"
)

// category is one L1 category of the tree.
type category struct {
	name      string
	sub       []string
	share     float64 // share of the catalogue
	medianYu  float64 // median price in yuan
	popShare  float64 // share of POP items
	sensitive bool    // never named in reasons a promoter forwards
	// popRate and selfRate are the commission-rate ranges of POP and paying
	// self-operated items (world version 2): thin margins on appliances,
	// electronics, fresh food and formula pay little even from POP sellers.
	popRate, selfRate [2]float64
}

// Categories is the category tree: L1 names in order, with their L2 names.
var categories = []category{
	{"food", []string{"snacks", "grains_oils", "drinks", "instant"}, 0.18, 30, 0.85, false, [2]float64{0.05, 0.25}, [2]float64{0.01, 0.05}},
	{"fresh", []string{"fruit", "meat", "seafood", "vegetables"}, 0.10, 45, 0.85, false, [2]float64{0.03, 0.15}, [2]float64{0.01, 0.04}},
	{"home", []string{"cleaning", "kitchenware", "storage", "paper"}, 0.15, 35, 0.85, false, [2]float64{0.05, 0.30}, [2]float64{0.01, 0.05}},
	{"underwear", []string{"bras", "socks", "pajamas"}, 0.08, 50, 0.9, true, [2]float64{0.08, 0.30}, [2]float64{0.01, 0.05}},
	{"apparel", []string{"womens", "mens", "kids"}, 0.12, 90, 0.85, false, [2]float64{0.08, 0.30}, [2]float64{0.01, 0.05}},
	{"beauty", []string{"skincare", "makeup", "haircare"}, 0.09, 80, 0.75, false, [2]float64{0.08, 0.30}, [2]float64{0.01, 0.05}},
	{"baby", []string{"formula", "diapers", "toys"}, 0.08, 120, 0.55, false, [2]float64{0.03, 0.15}, [2]float64{0.005, 0.03}},
	{"appliances", []string{"kitchen_appliances", "large_appliances", "personal_care"}, 0.08, 700, 0.15, false, [2]float64{0.02, 0.08}, [2]float64{0.005, 0.03}},
	{"electronics", []string{"phones", "accessories", "computers"}, 0.08, 500, 0.25, false, [2]float64{0.01, 0.06}, [2]float64{0.005, 0.02}},
	{"health", []string{"supplements", "medical"}, 0.04, 100, 0.6, true, [2]float64{0.05, 0.25}, [2]float64{0.01, 0.05}},
}

// categoryNames are the L1 categories' names for people.
var categoryNames = map[string]data.CategoryName{
	"food":        {ZH: "食品", EN: "food"},
	"fresh":       {ZH: "生鲜", EN: "fresh food"},
	"home":        {ZH: "家居日用", EN: "home goods"},
	"underwear":   {ZH: "内衣", EN: "underwear"},
	"apparel":     {ZH: "服饰", EN: "clothing"},
	"beauty":      {ZH: "美妆", EN: "beauty"},
	"baby":        {ZH: "母婴", EN: "baby goods"},
	"appliances":  {ZH: "家电", EN: "appliances"},
	"electronics": {ZH: "数码", EN: "electronics"},
	"health":      {ZH: "健康", EN: "health"},
}

// CategoryNames returns the L1 categories' names for people (written to a
// world's categories.json).
func CategoryNames() map[string]data.CategoryName {
	out := make(map[string]data.CategoryName, len(categoryNames))
	for k, v := range categoryNames {
		out[k] = v
	}
	return out
}

// CategoryTree returns the L1 categories with their L2 children, in tree order.
func CategoryTree() map[string][]string {
	m := make(map[string][]string, len(categories))
	for _, c := range categories {
		m[c.name] = append([]string(nil), c.sub...)
	}
	return m
}

// SensitiveCategories lists the L1 categories a forwarded reason must never name.
func SensitiveCategories() []string {
	var out []string
	for _, c := range categories {
		if c.sensitive {
			out = append(out, c.name)
		}
	}
	return out
}

// item is the hidden and visible state of one product at the start.
type item struct {
	l1, l2    uint8
	brand     int32
	quality   float32 // hidden
	launchDay int32   // day index it becomes active (< 0: before the window)
}

// catalog is the generated catalogue: items, their initial products and every dated change.
type catalog struct {
	items    []item
	initial  []data.Product       // state when first listed
	changes  []data.CatalogChange // all changes, in time order, the first listing included
	brands   []string
	brandL2  []int32 // brand -> global L2 index
	l2Base   []int   // L1 -> index of its first L2 in the global L2 numbering
	numL2    int
	refPrice []float64 // L1 -> median price in cents
}

const skuBase = 10_000_000

// skuOf maps an item index to its SKU.
func skuOf(j int) data.SKU { return data.SKU(skuBase + j) }

func buildCatalog(p *Params) *catalog {
	r := newRand(p.Seed, streamCatalog, 0)
	c := &catalog{l2Base: make([]int, len(categories)), refPrice: make([]float64, len(categories))}
	for i, cat := range categories {
		c.l2Base[i] = c.numL2
		c.numL2 += len(cat.sub)
		c.refPrice[i] = cat.medianYu * 100
	}
	// Brands: per L2 a Zipf-popular set, each with a quality offset and a price level.
	type brandInfo struct {
		quality, priceLevel, popBias float64
	}
	perL2 := make([][]int32, c.numL2)
	var binfo []brandInfo
	nb := max(4, min(40, p.Products/(c.numL2*12)))
	for l2 := range c.numL2 {
		for b := range nb {
			id := int32(len(c.brands))
			c.brands = append(c.brands, fmt.Sprintf("brand-%d-%d", l2, b))
			c.brandL2 = append(c.brandL2, int32(l2))
			binfo = append(binfo, brandInfo{0.5 * r.NormFloat64(), 0.3 * r.NormFloat64(), r.Float64()})
			perL2[l2] = append(perL2[l2], id)
		}
	}
	shares := make([]float64, len(categories))
	for i, cat := range categories {
		shares[i] = cat.share
	}
	start := data.TimestampOf(p.Start)
	c.items = make([]item, p.Products)
	c.initial = make([]data.Product, p.Products)
	for j := range c.items {
		l1 := pick(r, shares)
		cat := categories[l1]
		sub := r.IntN(len(cat.sub))
		l2 := c.l2Base[l1] + sub
		bs := perL2[l2]
		bi := bs[min(len(bs)-1, int(float64(len(bs))*math.Pow(r.Float64(), 2)))] // Zipf-like brand popularity
		b := binfo[bi]
		pop := r.Float64() < cat.popShare*(0.6+0.8*b.popBias)
		q := b.quality + 0.7*r.NormFloat64()
		if !pop {
			q += 0.8 // the retailer's own stock: genuine goods, trusted
		}
		price := cat.medianYu * 100 * math.Exp(0.35*float64(sub-len(cat.sub)/2)*0.3+b.priceLevel+0.55*r.NormFloat64())
		seller, rate := data.SellerPOP, commissionOf(p.WorldVersion, &cat, true, math.Pow(r.Float64(), 1.4), q)
		if !pop {
			seller = data.SellerSelf
			price *= 1.6
			if r.Float64() < 0.55 {
				rate = 0
			} else {
				rate = commissionOf(p.WorldVersion, &cat, false, r.Float64(), q)
			}
		}
		rate = math.Round(math.Max(0, math.Min(0.4, rate))*1000) / 1000
		reviews := int32(math.Min(2e6, math.Exp(4.5+1.6*r.NormFloat64()+0.3*q)))
		goodRate := 1 / (1 + math.Exp(-(2.6 + 0.9*q + 0.4*r.NormFloat64())))
		good := int32(math.Round(goodRate * float64(reviews)))
		launch := int32(-1 - r.IntN(365))
		if r.Float64() < 0.12 {
			launch = int32(r.IntN(p.Days))
			reviews, good = reviews/20, good/20
		}
		c.items[j] = item{l1: uint8(l1), l2: uint8(l2), brand: bi, quality: float32(q), launchDay: launch}
		c.initial[j] = data.Product{
			SKU: skuOf(j), Title: fmt.Sprintf("%s %s #%d", c.brands[bi], cat.sub[sub], j),
			CategoryL1: cat.name, CategoryL2: cat.sub[sub], Brand: c.brands[bi],
			PriceCents: int64(math.Max(100, math.Round(price/10)*10)), GoodReviews: good, Reviews: reviews,
			Commission: rate, Seller: seller, ActiveFrom: start + data.Timestamp(launch)*data.Day, InStock: true,
		}
	}
	c.changes = c.timeline(p, r, start)
	return c
}

// commissionOf maps a uniform draw u to the commission rate of a POP or
// paying self-operated item of category cat; a POP item of lower hidden
// quality q pays more. Version 1 draws every category's rates from one range
// (POP 5-30%, self-operated 0.5-5%); version 2 from the category's own.
func commissionOf(version int, cat *category, pop bool, u, q float64) float64 {
	span, qw := cat.popRate, 0.08
	if !pop {
		span, qw = cat.selfRate, 0
	}
	if version == 1 {
		span = [2]float64{0.05, 0.30}
		if !pop {
			span = [2]float64{0.005, 0.05}
		}
	}
	w := span[1] - span[0]
	return span[0] + w*u - qw*w*q
}

// timeline draws the dated changes of the window: first listings, stock-outs
// and restocks, price and commission edits, retirements.
func (c *catalog) timeline(p *Params, r *rand.Rand, start data.Timestamp) []data.CatalogChange {
	var out []data.CatalogChange
	cur := make([]data.Product, len(c.initial))
	copy(cur, c.initial)
	restock := make([]int, len(cur)) // day the item comes back, 0 when in stock
	for j := range cur {
		at := cur[j].ActiveFrom
		if c.items[j].launchDay < 0 {
			at = start - data.Day // listed before the window: known from the day before it
		}
		out = append(out, data.CatalogChange{At: at, Kind: data.ChangeNew, Product: cur[j]})
	}
	for d := 1; d < p.Days; d++ {
		at := start + data.Timestamp(d)*data.Day
		for j := range cur {
			pr := &cur[j]
			if int(c.items[j].launchDay) >= d || pr.ActiveUntil != data.UnknownTime {
				continue
			}
			var kind data.ChangeKind = 255
			switch u := r.Float64(); {
			case restock[j] == d:
				pr.InStock, restock[j], kind = true, 0, data.ChangeStock
			case restock[j] == 0 && u < 0.004:
				pr.InStock, restock[j], kind = false, d+1+r.IntN(5), data.ChangeStock
			case u < 0.007:
				pr.PriceCents = int64(math.Max(100, math.Round(float64(pr.PriceCents)*math.Exp(0.12*r.NormFloat64())/10)*10))
				kind = data.ChangePrice
			case u < 0.009 && pr.Seller == data.SellerPOP:
				hi := 0.4
				if p.WorldVersion >= 2 {
					hi = 1.25 * categories[c.items[j].l1].popRate[1]
				}
				pr.Commission = math.Round(math.Max(0.02, math.Min(hi, pr.Commission*math.Exp(0.3*r.NormFloat64())))*1000) / 1000
				kind = data.ChangeCommission
			case u < 0.0105:
				pr.ActiveUntil, kind = at, data.ChangeRetire
			}
			if kind != 255 {
				out = append(out, data.CatalogChange{At: at, Kind: kind, Product: *pr})
			}
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].At < out[b].At })
	return out
}

// dayStates replays the timeline and calls fn with the catalogue state at the
// start of each day 0..days-1 (indexed by item; inactive items included).
func (c *catalog) dayStates(start data.Timestamp, days int, fn func(day int, cur []data.Product)) {
	cur := make([]data.Product, len(c.initial))
	copy(cur, c.initial)
	k := 0
	for d := range days {
		at := start + data.Timestamp(d)*data.Day
		for ; k < len(c.changes) && c.changes[k].At <= at; k++ {
			ch := &c.changes[k]
			cur[int(ch.Product.SKU)-skuBase] = ch.Product
		}
		fn(d, cur)
	}
}

// eligible reports whether product p can be shown and pushed at instant t.
func eligible(p *data.Product, t data.Timestamp) bool {
	return p.InStock && p.ActiveAt(t)
}
