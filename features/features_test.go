package features_test

import (
	"math"
	"reflect"
	"testing"

	"grouprank/data"
	"grouprank/features"
)

const t0 = data.Timestamp(1788220800000) // 2026-09-01

func world() (*features.Catalog, *features.Groups) {
	ps := []data.Product{
		{SKU: 1, CategoryL1: "food", CategoryL2: "snacks", Brand: "a", PriceCents: 1500, GoodReviews: 90, Reviews: 100, Seller: data.SellerPOP, InStock: true},
		{SKU: 2, CategoryL1: "food", CategoryL2: "drinks", Brand: "b", PriceCents: 3000, GoodReviews: 1, Reviews: 1, Seller: data.SellerPOP, InStock: true},
		{SKU: 3, CategoryL1: "appliances", CategoryL2: "kitchen", Brand: "c", PriceCents: 60000, Seller: data.SellerSelf, InStock: false},
	}
	gs := []data.Group{{ID: 10, Promoter: 1, Channel: data.ChannelMother, CityTier: 3}, {ID: 11, Promoter: 2, Channel: data.ChannelInstaller, CityTier: 1}}
	return features.NewCatalog(ps, t0), features.NewGroups(gs)
}

func TestCatalogIndex(t *testing.T) {
	cat, gs := world()
	if cat.Len() != 3 || cat.Index[3] != 2 || cat.Eligible[2] || !cat.Eligible[0] || !cat.POP[0] || cat.POP[2] {
		t.Fatalf("%+v", cat)
	}
	if cat.L1[0] != cat.L1[1] || cat.L1[0] == cat.L1[2] || cat.Band[0] != 0 || cat.Band[2] != 5 {
		t.Fatalf("l1 %v band %v", cat.L1, cat.Band)
	}
	if features.PriceBand(data.UnknownPrice) != features.UnknownBand || gs.Index[11] != 1 {
		t.Fatal("band or group index")
	}
}

// Relative prices are against each L1's median price when the catalogue was
// indexed; an update moves only its own item's, and a new category gets its
// own median.
func TestRelativePrices(t *testing.T) {
	cat, _ := world()
	food := cat.L1[0]
	if got := cat.L1RefCents[food]; got != 2250 { // median of 1500 and 3000
		t.Fatalf("food's reference price %v, want 2250", got)
	}
	if math.Abs(float64(cat.RelPrice[0])-math.Log(1500.0/2250)) > 1e-6 || cat.RelPrice[2] != 0 {
		t.Fatalf("relative prices %v", cat.RelPrice)
	}
	dearer := cat.Products[1]
	dearer.PriceCents = 9000
	fresh := data.Product{SKU: 4, CategoryL1: "toys", CategoryL2: "blocks", Brand: "d", PriceCents: 5000, InStock: true}
	ext, added := cat.Extend([]data.Product{dearer, fresh}, t0)
	if added != 1 || ext.L1RefCents[food] != 2250 || ext.RelPrice[0] != cat.RelPrice[0] {
		t.Fatalf("reference %v, relative prices %v after a price update", ext.L1RefCents, ext.RelPrice)
	}
	if math.Abs(float64(ext.RelPrice[1])-math.Log(9000.0/2250)) > 1e-6 || ext.L1RefCents[ext.L1[3]] != 5000 || ext.RelPrice[3] != 0 {
		t.Fatalf("updated item %v, new category reference %v", ext.RelPrice[1], ext.L1RefCents)
	}
}

// TestProfilesUseOnlyThePast: adding events at or after T changes nothing at T.
func TestProfilesUseOnlyThePast(t *testing.T) {
	cat, gs := world()
	at := t0 + 10*data.Day
	past := &features.Events{Group: []int32{0, 0, 1}, Item: []int32{0, 1, 2}, Time: []data.Timestamp{at - 14*data.Day, at - data.Day, at - 2*data.Day}, Qty: []float32{1, 1, 1}}
	pushes := &features.Events{Group: []int32{0, 0}, Item: []int32{0, 1}, Time: []data.Timestamp{at - 3*data.Day, at - data.Day}, Qty: []float32{1, 1}, Converted: []bool{true, false}}
	future := &features.Events{Group: append(past.Group, 0, 1), Item: append(past.Item, 2, 0), Time: append(past.Time, at, at+data.Day), Qty: append(past.Qty, 5, 5)}
	cfg := features.DefaultConfig()
	a := features.BuildProfiles(cat, gs, past, pushes, nil, at, cfg)
	b := features.BuildProfiles(cat, gs, future, pushes, nil, at, cfg)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("events at or after T changed the profile")
	}
	sa := features.BuildItemStats(cat, gs, past, pushes, at, features.DefaultStatsConfig())
	sb := features.BuildItemStats(cat, gs, future, pushes, at, features.DefaultStatsConfig())
	if !reflect.DeepEqual(sa, sb) {
		t.Fatal("events at or after T changed the statistics")
	}
	// Decay: the order 14 days back (one half-life) weighs half the one a day back.
	w0, w1 := float64(a.L1Of(0)[cat.L1[0]]), float64(a.Weight[0])
	if math.Abs(w0-1) > 1e-6 || math.Abs(w1-(0.5+math.Exp2(-1.0/14))) > 1e-5 {
		t.Fatalf("food share %v weight %v", w0, w1)
	}
	if a.DaysSince[0] != 1 || a.DaysSince[1] != 2 || a.POPShare[1] != 0 || math.Abs(float64(a.POPShare[0])-1) > 1e-6 {
		t.Fatalf("days since %v pop %v", a.DaysSince, a.POPShare)
	}
	if a.PushConv[0] <= 0 || a.PushConv[0] >= 1 || len(a.Brands[0]) != 2 || a.Brands[0][0].ID != cat.Brand[1] {
		t.Fatalf("push conversion %v brands %v", a.PushConv, a.Brands[0])
	}
	var sum float32
	for _, x := range a.BandOf(0) {
		sum += x
	}
	if math.Abs(float64(sum)-1) > 1e-5 {
		t.Fatalf("band shares sum to %v", sum)
	}
}

func TestItemStatsShrinkage(t *testing.T) {
	cat, gs := world()
	none := &features.Events{}
	s := features.BuildItemStats(cat, gs, none, none, t0, features.DefaultStatsConfig())
	mean := float32(91) / 101
	if r := s.Rating[1]; r <= mean-0.01 || r >= 1 { // 1 of 1 good, shrunk toward the mean
		t.Fatalf("rating of a single good review %v, mean %v", r, mean)
	}
	if math.Abs(float64(s.Rating[2]-mean)) > 1e-6 {
		t.Fatalf("no reviews should give the mean, got %v", s.Rating[2])
	}
	for i := range 3 {
		if s.Conv[i] != s.Conv[0] || s.Trend[i] != 1 {
			t.Fatalf("no pushes: conv %v trend %v", s.Conv, s.Trend)
		}
	}
}

func TestUndatedEventsCount(t *testing.T) {
	cat, gs := world()
	ev := &features.Events{Group: []int32{0}, Item: []int32{0}, Time: []data.Timestamp{data.UnknownTime}, Qty: []float32{1}}
	p := features.BuildProfiles(cat, gs, ev, &features.Events{}, nil, data.UnknownTime, features.DefaultConfig())
	if p.Weight[0] != 1 || p.DaysSince[0] != -1 {
		t.Fatalf("weight %v days since %v", p.Weight[0], p.DaysSince[0])
	}
}

// pushDaily appends n daily pushes of item i to group g from t0, the first
// conv of them converted.
func pushDaily(p *features.Events, g, i int32, n, conv int) {
	for k := range n {
		p.Group, p.Item, p.Qty = append(p.Group, g), append(p.Item, i), append(p.Qty, 1)
		p.Time = append(p.Time, t0+data.Timestamp(k)*data.Day)
		p.Converted = append(p.Converted, k < conv)
	}
}

// TestL1Taste: a group whose pushes of a category convert better than those
// items do elsewhere gets a positive taste for it, worse a negative one, and
// a category never pushed to it 0; the values follow exposureTaste's formula.
func TestL1Taste(t *testing.T) {
	cat, gs := world()
	food, appl := cat.L1[0], cat.L1[2]
	p := &features.Events{}
	push := func(g, i int32, n, conv int) { pushDaily(p, g, i, n, conv) }
	push(0, 0, 10, 8) // group 0: food converts, appliances do not
	push(0, 2, 10, 2)
	push(1, 0, 10, 2) // group 1: the other way round
	push(1, 2, 10, 8)
	cfg := features.DefaultConfig()
	cfg.HalfLifeDays = 0
	at := t0 + 20*data.Day
	flat := features.FlatL1Taste(cat, gs, &features.Events{}, p, nil, at, cfg) // the formula; TestPooledTaste covers the pooling
	prof := features.BuildProfiles(cat, gs, &features.Events{}, p, nil, at, cfg)
	K := prof.NumL1
	taste := func(g int32, c int32) float64 { return float64(flat[int(g)*K+int(c)]) }
	// Both items: 20 pushes, 10 converted, so each rate is 0.5 (the mean too).
	a := cfg.TastePrior
	s := (10 + a) / (10 + a) // each group converted as expected overall
	for _, c := range []struct {
		g, l1 int32
		got   float64
	}{{0, food, 8}, {0, appl, 2}, {1, food, 2}, {1, appl, 8}} {
		want := math.Log((c.got + a) / (s*5 + a))
		if d := taste(c.g, c.l1) - want; math.Abs(d) > 1e-6 {
			t.Errorf("group %d L1 %d: taste %.6f, want %.6f", c.g, c.l1, taste(c.g, c.l1), want)
		}
	}
	pooled := func(g int32, c int32) float32 { return prof.L1Taste[int(g)*K+int(c)] }
	if !(pooled(0, food) > 0 && pooled(0, appl) < 0 && pooled(1, food) < 0 && pooled(1, appl) > 0) {
		t.Errorf("signs: %v", prof.L1Taste)
	}
	// A category never pushed to the group: 0. Pushes after the instant do not count.
	for c := range int32(K) {
		if c != food && c != appl && (taste(0, c) != 0 || taste(1, c) != 0) { // the pooled taste borrows from the others; the evidence has none
			t.Errorf("L1 %d never pushed: %v", c, prof.L1Taste)
		}
	}
	if early := features.BuildProfiles(cat, gs, &features.Events{}, p, nil, t0, cfg); slicesNonZero(early.L1Taste) {
		t.Errorf("no pushes before the instant: %v", early.L1Taste)
	}
	// Without conversion flags there is nothing to compare: every taste 0.
	p.Converted = nil
	if prof := features.BuildProfiles(cat, gs, &features.Events{}, p, nil, at, cfg); slicesNonZero(prof.L1Taste) {
		t.Errorf("no conversion flags: %v", prof.L1Taste)
	}
}

// TestSalesCountOrders: with the orders credited to each push known, the
// sales evidence counts orders, not pushes that sold. Two groups whose
// pushes sold equally often differ when one's sales brought three orders
// each; the values follow exposureTaste's formula with orders per push as
// the items' rates.
func TestSalesCountOrders(t *testing.T) {
	cat, gs := world()
	food, appl := cat.L1[0], cat.L1[2]
	p := &features.Events{}
	for g := range int32(2) {
		pushDaily(p, g, 0, 10, 5)
		pushDaily(p, g, 2, 10, 5)
	}
	for e := range p.Group {
		n := float32(0)
		if p.Converted[e] {
			n = 1
			if p.Group[e] == 0 && p.Item[e] == 0 {
				n = 3 // group 0's food pushes that sold brought three orders each
			}
		}
		p.Orders = append(p.Orders, n)
	}
	cfg := features.DefaultConfig()
	cfg.HalfLifeDays = 0
	at := t0 + 20*data.Day
	flat := features.FlatL1Taste(cat, gs, &features.Events{}, p, nil, at, cfg)
	K := len(cat.L1Names)
	taste := func(g, c int32) float64 { return float64(flat[int(g)*K+int(c)]) }
	// 40 pushes, 30 orders: mean 0.75 a push, shrunk with 20 pseudo-pushes.
	rateFood, rateAppl := (20+20*0.75)/(20+20), (10+20*0.75)/(20+20)
	a := cfg.TastePrior
	s0 := (15 + 5 + a) / (10*rateFood + 10*rateAppl + a)
	s1 := (5 + 5 + a) / (10*rateFood + 10*rateAppl + a)
	for _, c := range []struct {
		g, l1    int32
		got, exp float64
	}{{0, food, 15, s0 * 10 * rateFood}, {0, appl, 5, s0 * 10 * rateAppl}, {1, food, 5, s1 * 10 * rateFood}, {1, appl, 5, s1 * 10 * rateAppl}} {
		want := math.Log((c.got + a) / (c.exp + a))
		if d := taste(c.g, c.l1) - want; math.Abs(d) > 1e-5 {
			t.Errorf("group %d L1 %d: taste %.6f, want %.6f", c.g, c.l1, taste(c.g, c.l1), want)
		}
	}
	if !(taste(0, food) > taste(1, food)) {
		t.Errorf("group 0's food sold three orders a sale, group 1's one: tastes %.4f, %.4f", taste(0, food), taste(1, food))
	}
	// The flags alone cannot tell the groups apart.
	p.Orders = nil
	flat = features.FlatL1Taste(cat, gs, &features.Events{}, p, nil, at, cfg)
	if taste(0, food) != taste(1, food) {
		t.Errorf("conversion flags only: food tastes %.4f, %.4f, want equal", taste(0, food), taste(1, food))
	}
}

func slicesNonZero(xs []float32) bool {
	for _, x := range xs {
		if x != 0 {
			return true
		}
	}
	return false
}

// TestFoundStats: pushes promoters found themselves are counted per item and
// channel against the average item's count over the part of the window the
// item was listed for (a Gamma-Poisson ratio); an item listed after the window
// is neutral, as is every item of statistics without the mark or appended by
// Extend.
func TestFoundStats(t *testing.T) {
	cat, gs := world()
	at := t0 + 10*data.Day
	cat.Listed = []data.Timestamp{t0, t0, at + data.Day} // item 2 comes after the window
	p := &features.Events{}
	push := func(g, i int32, n int, found bool) {
		for k := range n {
			p.Group, p.Item, p.Qty = append(p.Group, g), append(p.Item, i), append(p.Qty, 1)
			p.Time = append(p.Time, t0+data.Timestamp(k)*data.Hour)
			p.Converted = append(p.Converted, false)
			p.Found = append(p.Found, found)
		}
	}
	push(0, 0, 8, true)   // item 0: found 8 times by the mothers' group
	push(1, 1, 2, true)   // item 1: twice by the installer's
	push(0, 1, 30, false) // from lists: not counted
	cfg := features.DefaultStatsConfig()
	cfg.HalfLifeDays = 0
	st := features.BuildItemStats(cat, gs, &features.Events{}, p, at, cfg)
	// Items 0 and 1 were listed all window, item 2 none of it: 10 found pushes over 2 exposed items.
	if st.FoundExposure[0] != 1 || st.FoundExposure[1] != 1 || st.FoundExposure[2] != 0 || st.FoundMean != 5 {
		t.Fatalf("exposure %v, mean %v", st.FoundExposure, st.FoundMean)
	}
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-6 {
			t.Errorf("%s: %.6f, want %.6f", name, got, want)
		}
	}
	near("item 0", st.FoundRel(0, -1), math.Log((8+1)/(5+1.0)))
	near("item 1", st.FoundRel(1, -1), math.Log((2+1)/(5+1.0)))
	near("item 2 (not listed yet)", st.FoundRel(2, -1), 0)
	mother, installer := int(data.ChannelMother), int(data.ChannelInstaller)
	near("item 0 among mothers", st.FoundRel(0, mother), math.Log((8+1)/(4+1.0)))
	near("item 0 among installers", st.FoundRel(0, installer), math.Log((0+1)/(1+1.0)))
	near("item 1 among installers", st.FoundRel(1, installer), math.Log((2+1)/(1+1.0)))
	ext := st.Extend(1, 0.1)
	near("item 0 after Extend", ext.FoundRel(0, mother), st.FoundRel(0, mother))
	near("appended item", ext.FoundRel(3, mother), 0)
	// Half the window listed, with no decay: half the mean expected.
	cat.Listed[2] = t0 + 5*data.Day
	st = features.BuildItemStats(cat, gs, &features.Events{}, p, at, cfg)
	if math.Abs(float64(st.FoundExposure[2])-0.5) > 1e-6 {
		t.Errorf("half-listed exposure %v", st.FoundExposure[2])
	}
	// Pushes without the mark (older data, BeiBei): no found statistics, every ratio 0.
	p.Found = nil
	st = features.BuildItemStats(cat, gs, &features.Events{}, p, at, cfg)
	if st.Found != nil || st.FoundRel(0, -1) != 0 || st.FoundRel(0, mother) != 0 {
		t.Errorf("unmarked pushes: found %v", st.Found)
	}
}

// TestL2Taste: two groups whose pushes of food sell equally well overall
// but split differently between its subcategories get the same L1 taste for
// food and opposite L2 tastes for snacks and drinks (and, the snacks being
// cheaper, opposite price tastes); a subcategory with no evidence gets its
// cell's (here, no group of the cell had any: 0).
func TestL2Taste(t *testing.T) {
	cat, gs := world()
	p := &features.Events{}
	push := func(g, i int32, n, conv int) { pushDaily(p, g, i, n, conv) }
	push(0, 0, 10, 8) // group 0: snacks sell, drinks do not
	push(0, 1, 10, 2)
	push(1, 0, 10, 2) // group 1: the other way round
	push(1, 1, 10, 8)
	cfg := features.DefaultConfig()
	cfg.HalfLifeDays = 0
	prof := features.BuildProfiles(cat, gs, &features.Events{}, p, nil, t0+20*data.Day, cfg)
	K, F := prof.NumL1, prof.NumL2
	food := cat.L1[0]
	snacks, drinks, kitchen := cat.L2[0], cat.L2[1], cat.L2[2]
	if F != len(cat.L2Names) || len(prof.L2Taste) != 2*F {
		t.Fatalf("L2 tastes %d for %d subcategories", len(prof.L2Taste), F)
	}
	l2 := func(g int, c int32) float32 { return prof.L2TasteOf(int32(g))[c] }
	if d := prof.L1Taste[food] - prof.L1Taste[K+int(food)]; math.Abs(float64(d)) > 1e-6 {
		t.Errorf("food L1 tastes differ: %v", prof.L1Taste)
	}
	if !(l2(0, snacks) > 0.2 && l2(0, drinks) < -0.2 && l2(1, snacks) < -0.2 && l2(1, drinks) > 0.2) {
		t.Errorf("L2 tastes: %v", prof.L2Taste)
	}
	if l2(0, kitchen) != 0 || l2(1, kitchen) != 0 {
		t.Errorf("kitchen, no evidence: %v %v", l2(0, kitchen), l2(1, kitchen))
	}
	// The snacks are the cheaper food (under the food median: level 1), the
	// drinks the dearer (level 3), so the price tastes split the same way.
	cheap, dear := features.RelBin(cat.RelPrice[0]), features.RelBin(cat.RelPrice[1])
	if cheap != 1 || dear != 3 {
		t.Fatalf("relative price levels %d and %d", cheap, dear)
	}
	pt := func(g int32, b int32) float32 { return prof.PriceTasteOf(g)[b] }
	if !(pt(0, cheap) > pt(0, dear) && pt(1, cheap) < pt(1, dear)) {
		t.Errorf("price tastes: %v", prof.PriceTaste)
	}
}
