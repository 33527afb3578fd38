package features_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"grouprank/data"
	"grouprank/features"
)

// TestShownBuilder: exposures become lists (a new list at every change of
// request id), items pushed from a list carry its request id and are marked
// picked, ranks are capped, and exposures of unknown items or groups are left
// out.
func TestShownBuilder(t *testing.T) {
	cat, gs := world()
	pushes := []data.Push{
		{ID: 1, Group: 10, SKU: 2, Time: t0, RequestID: "r1"},
		{ID: 2, Group: 10, SKU: 1, Time: t0, RequestID: ""},   // found: not a pick
		{ID: 3, Group: 11, SKU: 1, Time: t0, RequestID: "r2"}, // picked from r2
	}
	b := features.NewShownBuilder(cat, gs, pushes)
	if b.Shown() != nil {
		t.Fatal("an empty log is nil")
	}
	for _, e := range []data.Exposure{
		{RequestID: "r1", Group: 10, SKU: 1, Rank: 1, Time: t0},
		{RequestID: "r1", Group: 10, SKU: 2, Rank: 2, Time: t0},
		{RequestID: "r1", Group: 10, SKU: 99, Rank: 3, Time: t0}, // unknown item
		{RequestID: "r2", Group: 11, SKU: 1, Rank: 200, Time: t0 + data.Day},
		{RequestID: "r3", Group: 12, SKU: 1, Rank: 1, Time: t0}, // unknown group
	} {
		b.Add(&e)
	}
	s := b.Shown()
	if s.Lists() != 2 || len(s.Item) != 3 || len(s.Start) != 3 || s.Start[1] != 2 || s.Start[2] != 3 {
		t.Fatalf("lists %d, rows %d, starts %v", s.Lists(), len(s.Item), s.Start)
	}
	if s.Group[0] != 0 || s.Group[1] != 1 || s.Time[1] != t0+data.Day {
		t.Fatalf("groups %v times %v", s.Group, s.Time)
	}
	if p := s.Picked(); p[0] || !p[1] || !p[2] {
		t.Fatalf("picked %v", p)
	}
	if r := s.Ranks(); r[0] != 1 || r[1] != 2 || r[2] != features.MaxShownRank {
		t.Fatalf("ranks %v", r)
	}
	if s.Irregular() != 1 { // r2's one row at rank 200
		t.Fatalf("%d lists keep their ranks, want 1", s.Irregular())
	}
}

// TestTasteEvidence: the promoter's picks from the lists and the members'
// unprompted first orders each move a group's category taste: a group whose
// promoter picks the food on its lists more often than promoters do at those
// ranks leans to food, and so does a group whose members discover food
// without a push more often than its promoter's found pushes of food would
// predict. Without the lists or the marks those tastes are 0; with them all
// the evidence pools.
func TestTasteEvidence(t *testing.T) {
	cat, gs := world()
	food, appl := cat.L1[0], cat.L1[2]
	cfg := features.DefaultConfig()
	cfg.HalfLifeDays = 0
	at := t0 + 30*data.Day
	// Lists: every day each group is shown item 0 (food) at rank 1 and item 2
	// (appliances) at rank 2. Group 0's promoter picks the food 8 days in 10
	// and the appliance 2; group 1's the other way round.
	var pushes []data.Push
	var exps []data.Exposure
	pick := func(g data.GroupID, d int, skus ...data.SKU) {
		req := string(rune('a'+int(g))) + string(rune('A'+d))
		for r, sku := range []data.SKU{1, 3} {
			exps = append(exps, data.Exposure{RequestID: req, Group: g, SKU: sku, Rank: int32(r + 1), Time: t0 + data.Timestamp(d)*data.Day})
		}
		for _, sku := range skus {
			pushes = append(pushes, data.Push{ID: data.PushID(len(pushes) + 1), Group: g, SKU: sku, Time: t0 + data.Timestamp(d)*data.Day, RequestID: req})
		}
	}
	for d := range 10 {
		var a, b []data.SKU
		if d < 8 {
			a, b = append(a, 1), append(b, 3)
		} else {
			a, b = append(a, 3), append(b, 1)
		}
		pick(10, d, a...)
		pick(11, d, b...)
	}
	sb := features.NewShownBuilder(cat, gs, pushes)
	for n := range exps {
		sb.Add(&exps[n])
	}
	shown := sb.Shown()
	none := &features.Events{}
	// The evidence's formulas (FlatL1Taste); TestPooledTaste covers the pooling.
	prof := features.FlatL1Taste(cat, gs, none, none, shown, at, cfg)
	K := len(cat.L1Names)
	taste := func(p []float32, g int32, c int32) float64 { return float64(p[int(g)*K+int(c)]) }
	if !(taste(prof, 0, food) > 0 && taste(prof, 0, appl) < 0 && taste(prof, 1, food) < 0 && taste(prof, 1, appl) > 0) {
		t.Fatalf("picks: tastes %v", prof)
	}
	// Both items were picked 10 times in 20 showings at their rank, so each
	// cell's rate is 0.5 whatever the shrinkage; each group picked 10 of an
	// expected 10, so its level is 1: taste = log((8 + a) / (5 + a)).
	a := cfg.TastePrior
	if want := math.Log((8 + a) / (5 + a)); math.Abs(taste(prof, 0, food)-want) > 1e-5 {
		t.Errorf("group 0 food: %.6f, want %.6f", taste(prof, 0, food), want)
	}
	if p := features.BuildProfiles(cat, gs, none, none, nil, at, cfg); slicesNonZero(p.L1Taste) {
		t.Errorf("no lists: %v", p.L1Taste)
	}
	if p := features.BuildProfiles(cat, gs, none, none, shown, t0, cfg); slicesNonZero(p.L1Taste) {
		t.Errorf("no lists before the instant: %v", p.L1Taste)
	}

	// Discoveries: each group's promoter found food and appliances 5 times
	// each. Group 0's members ordered two food items unprompted (and one of
	// them again, which is no discovery) and no appliance; group 1's members
	// ordered the appliance unprompted and a food item through a push.
	found := &features.Events{}
	orders := &features.Events{}
	fp := func(g, i int32, d int) {
		found.Group, found.Item, found.Qty = append(found.Group, g), append(found.Item, i), append(found.Qty, 1)
		found.Time, found.Found = append(found.Time, t0+data.Timestamp(d)*data.Day), append(found.Found, true)
	}
	ord := func(g, i int32, d int, organic bool) {
		orders.Group, orders.Item, orders.Qty = append(orders.Group, g), append(orders.Item, i), append(orders.Qty, 1)
		orders.Time, orders.Organic = append(orders.Time, t0+data.Timestamp(d)*data.Day), append(orders.Organic, organic)
	}
	for g := range int32(2) {
		for d := range 5 {
			fp(g, 0, d)
			fp(g, 2, d)
		}
	}
	ord(0, 0, 1, true)
	ord(0, 0, 2, true) // a re-order: not a discovery
	ord(0, 1, 3, true)
	ord(1, 2, 1, true)
	ord(1, 1, 4, false) // came through a push: not a discovery
	prof = features.FlatL1Taste(cat, gs, orders, found, nil, at, cfg)
	if !(taste(prof, 0, food) > 0 && taste(prof, 0, appl) < 0 && taste(prof, 1, food) < 0 && taste(prof, 1, appl) > 0) {
		t.Fatalf("discoveries: tastes %v", prof)
	}
	// Discoveries are set against the group's total spread as everyone's:
	// the 3 fall one each on snacks, drinks and kitchen, so group 0 (2 of
	// them) expects 4/3 in food. Its finds (5 food, 5 appliances, like every
	// group's) add 5 to both sides. Each kind's level is 1: taste =
	// log((2 + 5 + a) / (4/3 + 5 + a)).
	if want := math.Log((7 + a) / (4.0/3 + 5 + a)); math.Abs(taste(prof, 0, food)-want) > 1e-5 {
		t.Errorf("group 0 food from discoveries: %.6f, want %.6f", taste(prof, 0, food), want)
	}
	orders.Organic = nil
	if p := features.BuildProfiles(cat, gs, orders, found, nil, at, cfg); slicesNonZero(p.L1Taste) {
		t.Errorf("no organic marks: %v", p.L1Taste)
	}
}

// TestShownBuilderPickedRandom: an exposure is marked picked exactly when a
// push of its item carries its list's request id, and every row reads back
// its rank (capped), over many lists, pushes and repeated items, lists whose
// ranks run 1, 2, 3, ... (some past MaxShownRank) and lists whose ranks do
// not; taking the log halfway changes nothing for the builder.
func TestShownBuilderPickedRandom(t *testing.T) {
	cat, gs := world()
	r := rand.New(rand.NewPCG(4, 4))
	type key struct {
		req string
		sku data.SKU
	}
	pushed := map[key]bool{}
	var pushes []data.Push
	for n := range 3000 {
		p := data.Push{ID: data.PushID(n + 1), Group: 10, SKU: data.SKU(1 + r.IntN(3)), Time: t0, RequestID: fmt.Sprint("r", r.IntN(500))}
		if r.IntN(5) == 0 {
			p.RequestID = "" // found elsewhere: no list
		} else {
			pushed[key{p.RequestID, p.SKU}] = true
		}
		pushes = append(pushes, p)
	}
	b := features.NewShownBuilder(cat, gs, pushes)
	var want []bool
	var ranks []int
	irregular := 0
	for l := range 800 {
		req := fmt.Sprint("r", l)
		n, from := 1+r.IntN(4), 1
		if l%10 == 0 {
			n = 60 + r.IntN(20) // past the cap
		}
		regular := r.IntN(3) > 0
		if !regular {
			from = 2 + r.IntN(3)
			irregular++
		}
		for k := range n {
			e := data.Exposure{RequestID: req, Group: data.GroupID(10 + l%2), SKU: data.SKU(1 + r.IntN(3)), Rank: int32(from + k), Time: t0}
			if !regular && r.IntN(4) == 0 {
				e.Rank = int32(r.IntN(3)) // 0 counts as rank 1
			}
			b.Add(&e)
			want = append(want, pushed[key{req, e.SKU}])
			ranks = append(ranks, min(max(int(e.Rank), 1), features.MaxShownRank))
		}
		if l == 400 {
			if got := b.Shown().Picked(); !slices.Equal(got, want) {
				t.Fatal("picked flags halfway differ from the pushes'")
			}
		}
	}
	s := b.Shown()
	if got := s.Picked(); !slices.Equal(got, want) || !slices.Contains(want, true) || !slices.Contains(want, false) {
		t.Fatalf("picked flags differ from the pushes' (%d rows)", len(want))
	}
	if got := s.Ranks(); !slices.Equal(got, ranks) {
		t.Fatalf("ranks differ from the exposures' (%d rows)", len(ranks))
	}
	if s.Irregular() == 0 || s.Irregular() > irregular {
		t.Fatalf("%d lists keep their ranks; %d were logged out of order", s.Irregular(), irregular)
	}
}
