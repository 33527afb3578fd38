package train

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"grouprank/data"
	"grouprank/features"
)

// preparedHistory is a small history with shown lists: 30 groups over 10
// days, each shown two items a day and pushing the one it likes, which it
// then orders most days.
func preparedHistory(t *testing.T) *History {
	t.Helper()
	r := historyRows()
	h := NewHistory(r.changes, r.groups, r.orders, r.pushes, 10*data.Day, 3*data.Day)
	sb := features.NewShownBuilder(h.Index, h.Groups, r.pushes)
	for n := range r.exps {
		sb.Add(&r.exps[n])
	}
	h.Shown = sb.Shown()
	return h
}

type rows struct {
	changes []data.CatalogChange
	groups  []data.Group
	pushes  []data.Push
	orders  []data.Order
	exps    []data.Exposure
}

// historyRows are preparedHistory's rows and exposures.
func historyRows() rows {
	var r rows
	r.changes = []data.CatalogChange{
		{At: data.UnknownTime, Kind: data.ChangeNew, Product: data.Product{SKU: 1, Title: "a", CategoryL1: "food", PriceCents: 100, InStock: true}},
		{At: data.UnknownTime, Kind: data.ChangeNew, Product: data.Product{SKU: 2, Title: "b", CategoryL1: "home", PriceCents: 900, InStock: true}},
		{At: data.UnknownTime, Kind: data.ChangeNew, Product: data.Product{SKU: 3, Title: "c", CategoryL1: "food", PriceCents: 300, InStock: true}},
	}
	for g := range 30 {
		id := data.GroupID(g + 1)
		r.groups = append(r.groups, data.Group{ID: id, Promoter: data.PromoterID(g + 1), Channel: data.ChannelMother, CityTier: 1})
		for d := range 10 {
			tm := data.Timestamp(d)*data.Day + data.Hour
			req := fmt.Sprintf("r%d-%d", g, d)
			liked, other := data.SKU(1+g%2), data.SKU(3-g%2)
			if d%3 == 0 {
				liked, other = other, liked
			}
			r.exps = append(r.exps,
				data.Exposure{RequestID: req, Group: id, SKU: other, Rank: 1, Propensity: 1, Time: tm},
				data.Exposure{RequestID: req, Group: id, SKU: liked, Rank: 2, Propensity: 1, Time: tm})
			pid := data.PushID(len(r.pushes) + 1)
			r.pushes = append(r.pushes, data.Push{ID: pid, Group: id, SKU: liked, Time: tm + data.Hour, RequestID: req})
			if (g+d)%4 != 0 {
				r.orders = append(r.orders, data.Order{ID: data.OrderID(len(r.orders) + 1), Group: id, SKU: liked, Push: pid, Quantity: 1,
					AmountCents: 100, Time: tm + 2*data.Hour, Status: data.StatusPlaced})
			}
		}
	}
	// A push found outside any list, and one for an unknown group carrying
	// a known list's request id.
	r.pushes = append(r.pushes, data.Push{ID: data.PushID(len(r.pushes) + 1), Group: 1, SKU: 3, Time: 5*data.Day + 3*data.Hour},
		data.Push{ID: data.PushID(len(r.pushes) + 2), Group: 99, SKU: 1, Time: 5*data.Day + 3*data.Hour, RequestID: "r0-5"})
	return r
}

// TestTakeHistory: TakeHistory lets the rows go and builds NewHistory's
// history; its shown-list builder, from the request keys it kept, finds the
// picks the rows' builder finds; MarkRandom marks the pushes of the
// randomised lists' keys, never a push found outside a list.
func TestTakeHistory(t *testing.T) {
	r := historyRows()
	want := NewHistory(r.changes, r.groups, r.orders, r.pushes, 10*data.Day, 3*data.Day)
	o, p := slices.Clone(r.orders), slices.Clone(r.pushes)
	h := TakeHistory(r.changes, r.groups, &o, &p, 10*data.Day, 3*data.Day)
	if o != nil || p != nil {
		t.Fatal("TakeHistory kept the rows")
	}
	if !reflect.DeepEqual(h, want) {
		t.Fatal("TakeHistory and NewHistory built different histories")
	}

	fromRows := features.NewShownBuilder(h.Index, h.Groups, r.pushes)
	fromKeys := h.NewShownBuilder()
	for n := range r.exps {
		fromRows.Add(&r.exps[n])
		fromKeys.Add(&r.exps[n])
	}
	if !reflect.DeepEqual(fromKeys.Shown(), fromRows.Shown()) {
		t.Fatal("the history's shown-list builder and the rows' disagree")
	}
	if n := fromKeys.Shown().Lists(); n != 300 {
		t.Fatalf("%d lists, want 300", n)
	}

	h.MarkRandom(map[uint64]bool{data.RequestKey("r0-5"): true, 0: true})
	marked := 0
	for e, random := range h.random {
		if !random {
			continue
		}
		marked++
		if g, d := h.pushes.Group[e], h.pushes.Time[e]/data.Day; g != 0 || d != 5 || h.pushes.Found[e] {
			t.Errorf("push %d (group %d, day %d, found %v) marked random", e, g, d, h.pushes.Found[e])
		}
	}
	if marked != 1 {
		t.Fatalf("%d pushes marked random, want 1 (group 1's push from list r0-5)", marked)
	}
	if h.pushKey != nil {
		t.Fatal("MarkRandom kept the request keys")
	}
}

// TestPrepare: the bases Prepare builds ahead are the ones BuildBase builds
// with the shown lists held; once they are let go, another instant or
// another configuration is an error, not a base built without them.
func TestPrepare(t *testing.T) {
	ctx := context.Background()
	cfg := DefaultBaseConfig()
	cfg.ALS.Epochs, cfg.ALS.Factors = 2, 4
	at, at2 := 6*data.Day, 10*data.Day
	want, err := preparedHistory(t).BuildBase(ctx, at, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	want2, err := preparedHistory(t).BuildProfiles(at2, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The lists change the profiles (else the comparisons below prove nothing).
	bare := preparedHistory(t)
	bare.Shown = nil
	if b, _ := bare.BuildProfiles(at, cfg); reflect.DeepEqual(b.Profiles.L1Taste, want.Profiles.L1Taste) {
		t.Fatal("the shown lists do not change the L1 tastes")
	}

	h := preparedHistory(t)
	h.Prepare(cfg, at, at2)
	if h.Shown != nil {
		t.Fatal("Prepare kept the shown lists")
	}
	if !h.ReadShown() || bare.ReadShown() {
		t.Fatalf("ReadShown: %v after Prepare with lists, %v without any", h.ReadShown(), bare.ReadShown())
	}
	if bare.Prepare(cfg, at); bare.ReadShown() {
		t.Fatal("ReadShown after Prepare without lists")
	}
	got, err := h.BuildBase(ctx, at, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatal("the base built on prepared profiles differs from the one built with the shown lists")
	}
	other := cfg
	other.Profile.HalfLifeDays++
	if _, err := h.BuildProfiles(at2, other); err == nil {
		t.Fatal("a base prepared with one configuration was taken with another")
	}
	got2, err := h.BuildProfiles(at2, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got2, want2) {
		t.Fatal("the prepared profiles at the second instant differ")
	}
	// Each prepared base is taken once; then, and at any other instant, the
	// lists are missing.
	for _, x := range []data.Timestamp{at, 8 * data.Day} {
		if _, err := h.BuildBase(ctx, x, cfg, nil); !errors.Is(err, ErrShownReleased) {
			t.Fatalf("BuildBase at day %d after Prepare: %v, want ErrShownReleased", x/data.Day, err)
		}
	}
}

// TestExamplesInBlockOrder: the labelled pushes are held in their groups'
// block order (each block's rows one run, in the pushes' order), and
// InOrder and RandomTest walk them in the pushes' order, the order the
// report, the calibration and the off-policy draw read them in.
func TestExamplesInBlockOrder(t *testing.T) {
	ctx := context.Background()
	cfg := DefaultBaseConfig()
	cfg.ALS.Epochs, cfg.ALS.Factors = 2, 4
	h := preparedHistory(t)
	w := data.Windows{T1: 4 * data.Day, T2: 6 * data.Day, T3: 8 * data.Day, End: 10 * data.Day, Attribution: data.Day / 2}
	base, err := h.BuildBase(ctx, w.T1, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.random = make([]bool, h.pushes.Len())
	for e := range h.random {
		h.random[e] = e%3 == 0
	}
	ex := h.Examples(base, cfg, w, nil)
	// the pushes of the windows, in their order
	var want []int
	for e, tm := range h.pushes.Time {
		if PartOf(w, tm) != PartNone {
			want = append(want, e)
		}
	}
	if ex.Len() != len(want) || ex.Len() < 100 {
		t.Fatalf("%d examples, want %d (and enough to tell orders apart)", ex.Len(), len(want))
	}
	inOrder := true
	for k, n := range ex.InOrder() {
		e := want[k]
		if ex.Group[n] != h.pushes.Group[e] || ex.Item[n] != h.pushes.Item[e] || ex.Time[n] != h.pushes.Time[e] || ex.Random[n] != h.random[e] {
			t.Fatalf("InOrder's example %d (held at %d) is not push %d", k, n, e)
		}
		inOrder = inOrder && int(n) == k
	}
	if inOrder {
		t.Fatal("the examples are held in the pushes' order: the test proves nothing")
	}
	at := 0
	for b := range data.Blocks {
		for _, r := range ex.Blocks.Of(b) {
			if int(r) != at {
				t.Fatalf("block %d: row %d held at %d", b, at, r)
			}
			at++
		}
	}
	var random []int
	for k, n := range ex.InOrder() {
		if ex.Part[n] == PartTest && h.random[want[k]] {
			random = append(random, int(n))
		}
	}
	if got := ex.RandomTest(); len(random) == 0 || !slices.Equal(got, random) {
		t.Fatalf("RandomTest %v, want %v", got, random)
	}
}
