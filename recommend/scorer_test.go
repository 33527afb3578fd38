package recommend_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"grouprank/data"
	"grouprank/features"
	"grouprank/recommend"
)

// fixture is a small catalogue with history, item vectors and a model with
// every weight set, so the fast path and the per-item path must agree term by term.
func fixture(t *testing.T) (*recommend.Scorer, []recommend.Group, *features.PushLog) {
	t.Helper()
	return fixtureWith(t, nil)
}

// fixtureWith is fixture with its conversion model changed by edit (nil: as is).
func fixtureWith(t *testing.T, edit func(*recommend.Conversion)) (*recommend.Scorer, []recommend.Group, *features.PushLog) {
	t.Helper()
	r := rand.New(rand.NewPCG(9, 9))
	cats := []string{"food", "home", "baby", "appliances"}
	var ps []data.Product
	for i := range 60 {
		ps = append(ps, data.Product{SKU: data.SKU(i + 1), CategoryL1: cats[i%4], CategoryL2: fmt.Sprint(i % 7), Brand: fmt.Sprint(i % 9),
			PriceCents: int64(500 + r.IntN(200000)), GoodReviews: int32(r.IntN(90)), Reviews: 90, Commission: r.Float64() * 0.3,
			Seller: data.SellerType(i % 2), InStock: i%11 != 0})
	}
	gs := []data.Group{{ID: 1, Promoter: 1, Channel: data.ChannelMother, CityTier: 2}, {ID: 2, Promoter: 2, Channel: data.ChannelInstaller, CityTier: 4}}
	cat, groups := features.NewCatalog(ps, data.UnknownTime), features.NewGroups(gs)
	day := data.Day
	o, p := &features.Events{}, &features.Events{}
	for n := range 300 {
		g, i, tm := int32(n%2), int32(r.IntN(60)), data.Timestamp(r.IntN(20))*day+data.Timestamp(r.IntN(int(day)))
		o.Group, o.Item, o.Time, o.Qty = append(o.Group, g), append(o.Item, i), append(o.Time, tm), append(o.Qty, 1)
		p.Group, p.Item, p.Time, p.Qty = append(p.Group, g), append(p.Item, int32(r.IntN(60))), append(p.Time, tm), append(p.Qty, 1)
		p.Converted = append(p.Converted, n%3 == 0)
		p.Found = append(p.Found, n%4 == 1)
	}
	at := 20 * day
	prof := features.BuildProfiles(cat, groups, o, p, nil, at, features.DefaultConfig())
	st := features.BuildItemStats(cat, groups, o, p, at, features.DefaultStatsConfig())
	items := &recommend.Factors{K: 8, V: make([]float32, 60*8)}
	for i := range items.V {
		items.V[i] = float32(r.NormFloat64())
	}
	in := &recommend.Inputs{Cat: cat, Stats: st, Items: items, Profile: recommend.NewProfileModel(cat, st),
		RatingMean: 0.8, RatingPrior: 20, PushConvPrior: 20, ConvMean: 0.2}
	conv := &recommend.Conversion{Features: recommend.FeatureNames(), Weights: make([]float64, recommend.NumFeatures), Bias: -1.3,
		Calibration: recommend.Calibration{Method: "isotonic", X: []float64{-4, -1, 0, 2}, Y: []float64{0.01, 0.1, 0.3, 0.8}}}
	conv.OrderWeights, conv.OrderBias = make([]float64, recommend.NumFeatures), -0.7
	conv.Orders = recommend.Calibration{Method: "isotonic", X: []float64{-3, 0, 3}, Y: []float64{0.02, 0.5, 4}}
	for f := range conv.Weights {
		conv.Weights[f] = r.NormFloat64()
		conv.OrderWeights[f] = r.NormFloat64() / 2
	}
	vec := make([]float32, 8)
	for k := range vec {
		vec[k] = float32(r.NormFloat64())
	}
	if edit != nil {
		edit(conv)
	}
	g0 := recommend.GroupOf(prof, 0, vec)
	g1 := recommend.GroupOf(prof, 1, nil)
	cold := recommend.Group{Channel: data.ChannelCourier, Tier: 1}
	return recommend.NewScorer(in, conv), []recommend.Group{g0, g1, cold}, features.NewPushLog(2, p, cat)
}

// TestLogitsMatchFeatures: Scorer.Logits (all items at once, as the service
// ranks) equals Features + Conversion.Logit (one push, as training sees it)
// for every item, with and without recent pushes.
func TestLogitsMatchFeatures(t *testing.T) {
	sc, groups, log := fixture(t)
	in, conv := sc.Inputs(), sc.Conversion()
	x := make([]float64, recommend.NumFeatures)
	dst := make([]float32, in.Cat.Len())
	probs, q := make([]float32, in.Cat.Len()), make([]float32, in.Cat.Len())
	if err := conv.Check(); err != nil {
		t.Fatal(err)
	}
	for gi, g := range groups {
		for _, at := range []data.Timestamp{19*data.Day + 5*data.Hour, 25 * data.Day} {
			var rec features.Recent
			if gi < 2 {
				rec = log.RecentAt(int32(gi), at)
			}
			sc.Logits(&g, &rec, dst)
			sc.Predict(&g, &rec, probs, q)
			for i := range dst {
				f := features.Fatigue{Position: 1}
				if gi < 2 {
					f = log.At(int32(gi), int32(i), in.Cat.L1[i], at)
					if rf := rec.For(int32(i), in.Cat.L1[i]); rf != f {
						t.Fatalf("group %d item %d: Recent %+v, At %+v", gi, i, rf, f)
					}
				}
				in.Features(&g, int32(i), f, x)
				want := conv.Logit(x)
				if math.Abs(float64(dst[i])-want) > 1e-3*math.Max(1, math.Abs(want)) {
					t.Fatalf("group %d item %d: fast logit %.5f, per-item %.5f (features %v)", gi, i, dst[i], want, x)
				}
				if p := conv.Prob(x); math.Abs(float64(probs[i])-p) > 1e-4 {
					t.Fatalf("group %d item %d: fast p %.5f, per-item %.5f", gi, i, probs[i], p)
				}
				if o := conv.ExpectedOrdersOf(x); math.Abs(float64(q[i])-o) > 1e-3*math.Max(1, o) {
					t.Fatalf("group %d item %d: fast expected orders %.5f, per-item %.5f", gi, i, q[i], o)
				}
			}
		}
	}
}

func TestGroupRecordRoundTrip(t *testing.T) {
	_, groups, _ := fixture(t)
	for k, g := range groups {
		if k%2 == 0 { // records with and without recent orders
			g.Orders = []recommend.Order{{SKU: 42, Quantity: 2, Time: 1700000000000}, {SKU: 7, Quantity: 1, Time: 1690000000000}}
		}
		b := recommend.EncodeGroup(&g)
		back, err := recommend.DecodeGroup(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, g) {
			t.Errorf("round trip:\n%+v\n%+v", back, g)
		}
		if _, err := recommend.DecodeGroup(b[:len(b)-1]); err == nil {
			t.Error("truncated record: want an error")
		}
	}
	// Version-5 records (written before the L2 tastes), version-4 ones
	// (before the L1 tastes too) and version-3 ones (before recent orders
	// too) still decode, without them.
	g := groups[1]
	if len(g.L1Taste) == 0 || len(g.L2Taste) == 0 {
		t.Fatal("fixture group without L1 or L2 tastes")
	}
	g.Orders = []recommend.Order{{SKU: 42, Quantity: 2, Time: 1700000000000}}
	g.Members = []features.Weighted{{ID: 3, Weight: 0.5}, {ID: 9, Weight: 1}}
	cur := recommend.EncodeGroup(&g)
	if back, err := recommend.DecodeGroup(cur); err != nil || !reflect.DeepEqual(back, g) {
		t.Errorf("record with members' row: %v", err)
	}
	// Version-6 records (written before the members' row) decode without it.
	g.Members = nil
	cur = recommend.EncodeGroup(&g)
	v6 := append([]byte{6}, cur[1:len(cur)-2]...)
	if back, err := recommend.DecodeGroup(v6); err != nil || !reflect.DeepEqual(back, g) {
		t.Errorf("version-6 record: %v", err)
	}
	g.L2Taste, g.PriceTaste = nil, nil
	cur = recommend.EncodeGroup(&g)
	v5 := append([]byte{5}, cur[1:len(cur)-6]...)
	if back, err := recommend.DecodeGroup(v5); err != nil || !reflect.DeepEqual(back, g) {
		t.Errorf("version-5 record: %v", err)
	}
	g.L1Taste = nil
	cur = recommend.EncodeGroup(&g)
	v4 := append([]byte{4}, cur[1:len(cur)-8]...)
	if back, err := recommend.DecodeGroup(v4); err != nil || !reflect.DeepEqual(back, g) {
		t.Errorf("version-4 record: %v", err)
	}
	g.Orders = nil
	cur = recommend.EncodeGroup(&g)
	v3 := append([]byte{3}, cur[1:len(cur)-10]...)
	if back, err := recommend.DecodeGroup(v3); err != nil || !reflect.DeepEqual(back, g) {
		t.Errorf("version-3 record: %v", err)
	}
	if _, err := recommend.DecodeGroup(append([]byte{8}, cur[1:]...)); err == nil {
		t.Error("record of a later layout: want an error")
	}
	f := &recommend.Factors{K: 2, V: []float32{1, 2, 3, 4}}
	if back, err := recommend.DecodeFactors(recommend.EncodeFactors(f)); err != nil || !reflect.DeepEqual(back, f) {
		t.Errorf("factors round trip: %v %v", back, err)
	}
}

// TestObjectives: the commission objective ranks by p x commission, and the
// floors hold whatever the score.
func TestObjectives(t *testing.T) {
	sc, groups, _ := fixture(t)
	cat := sc.Inputs().Cat
	probs, q := make([]float32, cat.Len()), make([]float32, cat.Len())
	sc.Predict(&groups[0], nil, probs, q)
	obj, err := recommend.ObjectiveByName("commission")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := recommend.ObjectiveByName("nope"); err == nil {
		t.Error("unknown objective: want an error")
	}
	floors := recommend.Floors{Eligible: true, MinRating: 0.3}
	in := sc.Inputs()
	// Without caution the top pick has the highest expected commission;
	// with it, the highest expected commission x exp(-caution x thin).
	for _, caution := range []float64{0, recommend.DefaultCaution, 3} {
		o := obj.WithCaution(caution)
		if caution == recommend.DefaultCaution {
			o = obj // the named objective's own
		}
		picks := recommend.TopK(in, probs, q, recommend.ItemTerms(in, o), o, floors, 5)
		best, bestI := -1.0, -1
		for i := range probs {
			if floors.Pass(cat, int32(i)) {
				v := float64(q[i]) * math.Max(float64(cat.PriceCents[i])*float64(cat.Commission[i]), recommend.EpsCommissionCents) *
					math.Exp(-caution*in.Thin(i))
				if v > best {
					best, bestI = v, i
				}
			}
		}
		top := picks[0]
		if int(top.Item) != bestI {
			t.Errorf("caution %g: top pick %d, want %d (value %.4f)", caution, top.Item, bestI, best)
		}
		if want := -caution * in.Thin(int(top.Item)); math.Abs(top.Parts.Caution-want) > 1e-12 {
			t.Errorf("caution %g: caution term %g, want %g", caution, top.Parts.Caution, want)
		}
		if got := top.Parts.LogP + top.Parts.Commission + top.Parts.Caution; math.Abs(got-top.Parts.Score) > 1e-9 {
			t.Errorf("caution %g: parts sum to %g, score %g", caution, got, top.Parts.Score)
		}
	}
	picks := recommend.TopK(in, probs, q, recommend.ItemTerms(in, obj), obj, floors, 5)
	for k, p := range picks {
		if !floors.Pass(cat, p.Item) {
			t.Errorf("pick %d breaks the floors", k)
		}
		if k > 0 && p.Parts.Score > picks[k-1].Parts.Score {
			t.Errorf("picks out of order at %d", k)
		}
	}
}

// TestReason: each kind of statement a reason makes is checked against the
// evidence behind it, in both languages, for every item and a few groups;
// without evidence there is no reason.
func TestReason(t *testing.T) {
	sc, groups, _ := fixture(t)
	cat := sc.Inputs().Cat
	m := recommend.NewModel("v", recommend.NewRanker(sc), nil)
	m.Sensitive = map[string]bool{"baby": true}
	m.CategoryNames = map[string]data.CategoryName{"food": {ZH: "食品", EN: "food"}, "home": {ZH: "家居日用", EN: "home goods"}}
	m.Manifest.Windows.Serve = data.TimestampOf(time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC))
	g := groups[0]
	g.L1Recent = make([]float32, len(cat.L1Names))
	find := func(name string, reviews bool) int32 {
		for i := range cat.Len() {
			if cat.L1Names[cat.L1[i]] == name && (cat.Reviews[i] >= 20) == reviews {
				return int32(i)
			}
		}
		t.Fatalf("no %s item with reviews %v", name, reviews)
		return 0
	}
	food, home, baby := find("food", true), find("home", true), find("baby", true)
	g.L1Recent[cat.L1[food]], g.L1Recent[cat.L1[home]], g.L1Recent[cat.L1[baby]] = 9, 4, 30
	rate := func(i int32) int { return int(100 * float64(cat.GoodReviews[i]) / float64(cat.Reviews[i])) }
	for _, c := range []struct {
		item     int32
		lang     string
		want     string
		evidence string
	}{
		{food, recommend.LangZH, fmt.Sprintf("截至11月19日，本群30天内买过9单食品；好评率%d%%（%d条评价）", rate(food), cat.Reviews[food]), "both"},
		{food, recommend.LangEN, fmt.Sprintf("9 orders of food from this group in the 30 days to 19 November 2026; %d%% good reviews (%d reviews)", rate(food), cat.Reviews[food]), "both"},
		{home, recommend.LangZH, fmt.Sprintf("好评率%d%%（%d条评价）", rate(home), cat.Reviews[home]), "4 orders: below the quotable count"},
		{baby, recommend.LangZH, fmt.Sprintf("好评率%d%%（%d条评价）", rate(baby), cat.Reviews[baby]), "sensitive: never named"},
	} {
		if got := m.Reason(&g, c.item, c.lang, nil); got != c.want {
			t.Errorf("item %d (%s; %s): %q, want %q", c.item, c.lang, c.evidence, got, c.want)
		}
	}
	// no evidence (no quotable orders, too few reviews): no reason at all
	empty := recommend.Group{Channel: data.ChannelMother}
	reviews := cat.Reviews[food]
	cat.Reviews[food] = 19 // too few to quote
	if got := m.Reason(&empty, food, recommend.LangZH, nil); got != "" {
		t.Errorf("an item without evidence for a group without orders: %q, want no reason", got)
	}
	cat.Reviews[food] = reviews
	// members who bought the item (wherever they ordered it), from three
	// up, never for a sensitive category
	sweets := int32(-1)
	for i := range int32(cat.Len()) {
		if cat.L1Names[cat.L1[i]] == "food" && i != food {
			sweets = i
			break
		}
	}
	sweetsReviews := cat.Reviews[sweets]
	cat.Reviews[sweets] = 0 // no rating to quote: the members' statement alone
	row := func(items ...int32) []features.Weighted {
		var w []features.Weighted
		for _, i := range items {
			w = append(w, features.Weighted{ID: i, Weight: 1})
		}
		slices.SortFunc(w, func(a, b features.Weighted) int { return int(a.ID - b.ID) })
		return w
	}
	m.Members = recommend.NewMembers(map[data.MemberID][]features.Weighted{
		1: row(sweets, baby), 2: row(sweets, baby, home), 3: row(sweets, baby), 4: row(home)}, nil)
	for _, c := range []struct {
		item    int32
		members []data.MemberID
		want    string
	}{
		{sweets, []data.MemberID{1, 2, 3, 4}, "截至11月19日，群里有3位成员买过"},
		{sweets, []data.MemberID{1, 2, 4}, ""},                                                            // two: too few to quote
		{baby, []data.MemberID{1, 2, 3}, fmt.Sprintf("好评率%d%%（%d条评价）", rate(baby), cat.Reviews[baby])},    // sensitive
		{home, []data.MemberID{1, 2, 4, 9}, fmt.Sprintf("好评率%d%%（%d条评价）", rate(home), cat.Reviews[home])}, // two (9 is unknown)
	} {
		if got := m.Reason(&empty, c.item, recommend.LangZH, c.members); got != c.want {
			t.Errorf("item %d, members %v: %q, want %q", c.item, c.members, got, c.want)
		}
	}
	if got := m.Reason(&empty, sweets, recommend.LangEN, []data.MemberID{1, 2, 3}); got != "3 members of this group had bought it by 19 November 2026" {
		t.Errorf("in English: %q", got)
	}
	m.Members = nil
	// an item the group ordered that other groups ordered with this one,
	// from five groups in common up, the largest share first; never naming
	// a sensitive category's item
	n := int32(cat.Len())
	together := &recommend.Together{Groups: make([]int32, n), Ptr: make([]int64, n+1)}
	pairs := map[int32][][2]int32{sweets: {{home, 5}, {baby, 9}, {food, 6}}} // neighbour, groups in common
	for i := range n {
		for _, p := range pairs[i] {
			together.Col, together.Both = append(together.Col, p[0]), append(together.Both, p[1])
		}
		together.Ptr[i+1] = int64(len(together.Col))
	}
	together.Groups[sweets], together.Groups[home], together.Groups[baby], together.Groups[food] = 20, 10, 12, 40
	if err := together.Check(); err != nil {
		t.Fatal(err)
	}
	m.Together = together
	ordered := func(items ...int32) recommend.Group {
		var g recommend.Group
		for _, i := range items {
			g.Orders = append(g.Orders, recommend.Order{SKU: cat.SKUs[i], Quantity: 1})
		}
		return g
	}
	title := func(i int32) string { // the fixture's products have no titles: the SKU names them
		if t := cat.Products[i].Title; t != "" {
			return t
		}
		return fmt.Sprintf("商品%d", cat.SKUs[i])
	}
	for _, c := range []struct {
		g    recommend.Group
		want string
	}{
		{ordered(food, home), fmt.Sprintf("本群买过「%s」，截至11月19日买过它的10个群中有5个也买了这件", title(home))}, // 5/10 beats 6/40
		{ordered(food), fmt.Sprintf("本群买过「%s」，截至11月19日买过它的40个群中有6个也买了这件", title(food))},
		{ordered(baby), ""}, // sensitive: 9 groups, never named
		{ordered(sweets), ""},
	} {
		if got := m.Reason(&c.g, sweets, recommend.LangZH, nil); got != c.want {
			t.Errorf("bought %v: %q, want %q", c.g.Orders, got, c.want)
		}
	}
	m.Together, cat.Reviews[sweets] = nil, sweetsReviews
	// every statement of every reason is backed by its numbers
	orders := regexp.MustCompile(`^截至11月19日，本群30天内买过(\d+)单(.+)$`)
	rating := regexp.MustCompile(`^好评率(\d+)%（(\d+)条评价）$`)
	for _, gr := range groups[:min(5, len(groups))] {
		gr.L1Recent = g.L1Recent
		for i := range int32(cat.Len()) {
			reason := m.Reason(&gr, i, recommend.LangZH, nil)
			if reason == "" {
				continue
			}
			for _, part := range strings.Split(reason, "；") {
				l1 := cat.L1Names[cat.L1[i]]
				if x := orders.FindStringSubmatch(part); x != nil {
					n, _ := strconv.Atoi(x[1])
					if n != int(gr.L1Recent[cat.L1[i]]) || n < 5 || m.Sensitive[l1] || x[2] != m.CategoryNames[l1].Name("zh", l1) {
						t.Errorf("item %d (%s, %v orders): %q is not what the record says", i, l1, gr.L1Recent[cat.L1[i]], part)
					}
				} else if x := rating.FindStringSubmatch(part); x != nil {
					p, _ := strconv.Atoi(x[1])
					r, _ := strconv.Atoi(x[2])
					if r != int(cat.Reviews[i]) || r < 20 || p != int(100*float64(cat.GoodReviews[i])/float64(cat.Reviews[i])) {
						t.Errorf("item %d: %q, but %d of %d reviews are good", i, part, cat.GoodReviews[i], cat.Reviews[i])
					}
				} else {
					t.Errorf("item %d: %q is no statement a reason may make", i, part)
				}
			}
		}
	}
}

// TestWithCatalog: updates apply without a new model; a new item is ranked
// from its content, and the others' scores barely move (the profile model's
// uniform prior share is one over the catalogue size, which grew by one).
func TestWithCatalog(t *testing.T) {
	sc, groups, _ := fixture(t)
	m := recommend.NewModel("v", recommend.NewRanker(sc), nil)
	cat := sc.Inputs().Cat
	before := make([]float32, cat.Len())
	sc.Logits(&groups[0], nil, before)
	old := cat.Products[3]
	cheaper := old
	cheaper.PriceCents = old.PriceCents / 2
	fresh := data.Product{SKU: 9999, Title: "new", CategoryL1: "food", CategoryL2: "new-l2", Brand: "new-brand", PriceCents: 1500,
		GoodReviews: 40, Reviews: 50, Commission: 0.2, Seller: data.SellerPOP, InStock: true}
	m2, added := m.WithCatalog([]data.Product{cheaper, fresh}, data.UnknownTime)
	in2 := m2.Ranker.Scorer.Inputs()
	if added != 1 || in2.Cat.Len() != cat.Len()+1 || in2.Cat.Index[9999] != int32(cat.Len()) || in2.Cat.PriceCents[3] != cheaper.PriceCents {
		t.Fatalf("added %d, %d items, new index %d", added, in2.Cat.Len(), in2.Cat.Index[9999])
	}
	if in2.Cat.L1Names[in2.Cat.L1[3]] != cat.L1Names[cat.L1[3]] || len(in2.Cat.BrandNames) != len(cat.BrandNames)+1 {
		t.Error("vocabularies moved")
	}
	after := make([]float32, in2.Cat.Len())
	m2.Ranker.Scorer.Logits(&groups[0], nil, after)
	for i := range before {
		if i != 3 && math.Abs(float64(after[i]-before[i])) > 0.05 {
			t.Fatalf("item %d's logit moved from %v to %v", i, before[i], after[i])
		}
	}
	if after[3] == before[3] {
		t.Error("the price change did not reach the score")
	}
	if v := after[cat.Len()]; math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
		t.Errorf("the new item's logit is %v", v)
	}
	if sc.Inputs().Cat.Len() != cat.Len() {
		t.Error("the old model changed")
	}
}

// TestConversionFromEarlierBuild: a model fitted before the last feature was
// appended loads with weight 0 for it and scores as it did; a model whose
// features are not a prefix of this build's is refused.
func TestConversionFromEarlierBuild(t *testing.T) {
	names := recommend.FeatureNames()
	n := len(names) - 1
	old := &recommend.Conversion{Features: slices.Clone(names[:n]), Weights: make([]float64, n), Bias: -1,
		OrderWeights: make([]float64, n), OrderBias: -0.5,
		Calibration: recommend.Calibration{Method: "platt", A: 1, B: 0},
		Orders:      recommend.Calibration{Method: "isotonic", X: []float64{-3, 0, 3}, Y: []float64{0.02, 0.5, 4}}}
	for f := range n {
		old.Weights[f], old.OrderWeights[f] = float64(f)/10, -float64(f)/20
	}
	x := make([]float64, n)
	for f := range x {
		x[f] = float64(f%3) - 1
	}
	p, q := old.Prob(x), old.ExpectedOrdersOf(x)
	if err := old.Check(); err != nil {
		t.Fatal(err)
	}
	if len(old.Weights) != recommend.NumFeatures || len(old.OrderWeights) != recommend.NumFeatures || old.Weights[n] != 0 {
		t.Fatalf("not extended: %d weights, %d order weights", len(old.Weights), len(old.OrderWeights))
	}
	xx := append(x, 3.5) // whatever the new feature's value
	if old.Prob(xx) != p || old.ExpectedOrdersOf(xx) != q {
		t.Errorf("scores changed: p %v -> %v, q %v -> %v", p, old.Prob(xx), q, old.ExpectedOrdersOf(xx))
	}
	renamed := slices.Clone(names[:n])
	renamed[2] = "something_else"
	bad := &recommend.Conversion{Features: renamed, Weights: make([]float64, n), Calibration: old.Calibration}
	if err := bad.Check(); err == nil || !strings.Contains(err.Error(), "do not match") {
		t.Errorf("renamed feature: %v", err)
	}
}

// TestSetActive counts the orders of the week before the instant once each,
// from the record and from the live ones, and caps the count.
func TestSetActive(t *testing.T) {
	const at = data.Timestamp(1790000000000)
	o := func(days float64, sku data.SKU) recommend.Order {
		return recommend.Order{SKU: sku, Quantity: 1, Time: at - data.Timestamp(days*float64(data.Day))}
	}
	g := recommend.Group{Orders: []recommend.Order{o(-0.1, 1), o(1, 2), o(6, 3), o(8, 4)}}
	g.SetActive(at, []recommend.Order{o(1, 2), o(2, 5), o(7.5, 6)})
	if g.Active != 3 { // days 1, 2 and 6; the later, the older and the repeated one do not count
		t.Errorf("active %v, want 3", g.Active)
	}
	var many []recommend.Order
	for k := range 15 {
		many = append(many, o(0.1*float64(k+1), data.SKU(k+1)))
	}
	g.SetActive(at, many)
	if g.Active != recommend.MaxRecentOrders {
		t.Errorf("active %v, want the cap %d", g.Active, recommend.MaxRecentOrders)
	}
}

// TestLogitsWithoutItemTerms: with no category, band, brand or price
// weight (a model learnt from orders alone), the whole catalogue's logits,
// which then skip those terms, are bit for bit the per-item path's, which
// adds their zeros; with one such weight set they still agree. The groups
// have no vector (the two paths' dot product kernels round differently).
func TestLogitsWithoutItemTerms(t *testing.T) {
	for _, keepL1 := range []bool{false, true} {
		sc, groups, _ := fixtureWith(t, func(c *recommend.Conversion) {
			for _, f := range []int{recommend.FeatL1, recommend.FeatL1Taste, recommend.FeatBand, recommend.FeatBrand,
				recommend.FeatL2, recommend.FeatL2Taste, recommend.FeatPriceTaste} {
				c.Weights[f] = 0
			}
			if keepL1 {
				c.Weights[recommend.FeatL1] = 0.7
			}
		})
		n := sc.Inputs().Cat.Len()
		all := make([]int32, n)
		for i := range all {
			all[i] = int32(i)
		}
		full, p, q := make([]float32, n), make([]float32, n), make([]float32, n)
		want := make([]float32, n)
		for gi, g := range groups {
			if g.Vector != nil {
				continue
			}
			sc.Probs(&g, nil, full)
			sc.PredictAt(&g, nil, nil, all, p, q)
			copy(want, p)
			for i := range full {
				if math.Float32bits(full[i]) != math.Float32bits(want[i]) {
					t.Fatalf("L1 weight %v, group %d item %d: whole catalogue %v, per item %v", keepL1, gi, i, full[i], want[i])
				}
			}
		}
	}
}

// TestPredictAtOnePass: PredictAt evaluates both predictors in one pass over
// the items; every item's p and q are bit for bit those of evaluating them
// one after the other, with and without a group vector, the caller's dot
// products or the per-item ones, and recent pushes.
func TestPredictAtOnePass(t *testing.T) {
	sc, groups, log := fixture(t)
	n := sc.Inputs().Cat.Len()
	var items []int32
	for i := n - 1; i >= 0; i -= 3 { // not in item order
		items = append(items, int32(i))
	}
	p, q, wp, wq := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	for gi, g := range groups {
		var dots []float32
		if g.Vector != nil {
			dots = make([]float32, n)
			sc.Inputs().Items.DotInto(dots, g.Vector, nil)
		}
		recent := log.RecentAt(int32(min(gi, 1)), 20*data.Day)
		for _, r := range []*features.Recent{nil, &recent} {
			for _, dot := range [][]float32{nil, dots} {
				sc.PredictAt(&g, r, dot, items, p, q)
				sc.PredictAtApart(&g, r, dot, items, wp, wq)
				for _, i := range items {
					if math.Float32bits(p[i]) != math.Float32bits(wp[i]) || math.Float32bits(q[i]) != math.Float32bits(wq[i]) {
						t.Fatalf("group %d, recent %v, dots %v, item %d: one pass p %v q %v, apart p %v q %v", gi, r != nil, dot != nil, i, p[i], q[i], wp[i], wq[i])
					}
				}
			}
		}
	}
}
