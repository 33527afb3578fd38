package pref

import (
	"context"
	"slices"
	"testing"

	"grouprank/train"
)

// creditWorld: 3 groups, 4 items, 3 members. Groups 0 and 1 ordered with no
// buyer named, so their members are credited their orders: group 0 (members
// 0, 1) items 0, 1; group 1 (members 1, 2) item 2. Member 0 also bought item
// 3 alone, and placed item 3 in group 2 (its own order, not credited).
func creditWorld() *Data {
	g := train.NewInteractions(3, 4, []int32{0, 0, 1, 2}, []int32{0, 1, 2, 3}, []float32{1, 1, 1, 1})
	// member rows: own orders plus credited ones
	m := train.NewInteractions(3, 4, []int32{0, 0, 0, 1, 1, 1, 2}, []int32{0, 1, 3, 0, 1, 2, 2}, []float32{1, 1, 2, 1, 1, 1, 1})
	of := train.NewInteractions(3, 3, []int32{0, 0, 1, 1, 2}, []int32{0, 1, 1, 2, 0}, []float32{1, 1, 1, 1, 1})
	placed := [][]Placed{
		{{Member: 0, Item: 0, Weight: 1, Credited: true}, {Member: 1, Item: 0, Weight: 1, Credited: true},
			{Member: 0, Item: 1, Weight: 1, Credited: true}, {Member: 1, Item: 1, Weight: 1, Credited: true}},
		{{Member: 1, Item: 2, Weight: 1, Credited: true}, {Member: 2, Item: 2, Weight: 1, Credited: true}},
		{{Member: 0, Item: 3, Weight: 1}},
	}
	return &Data{Items: 4, Groups: g, Members: m, Of: of, Placed: placed}
}

func TestWithoutCredit(t *testing.T) {
	d := creditWorld()
	if !d.HasCredit() || d.Credited() != 6 {
		t.Fatalf("HasCredit %v, credited weight %g; want true, 6", d.HasCredit(), d.Credited())
	}
	u := d.WithoutCredit()
	if err := u.Check(); err != nil {
		t.Fatal(err)
	}
	if u.HasCredit() || u.WithoutCredit() != u {
		t.Error("the data without credit still credit, or are copied again")
	}
	for m, want := range [][]int32{{3}, nil, nil} {
		if got, ws := u.Members.Row(m); !slices.Equal(got, want) || (len(ws) > 0 && ws[0] != 2) {
			t.Errorf("member %d's row without credit: %v %v, want %v (weight 2: own order and the one placed in group 2)", m, got, ws, want)
		}
	}
	if len(u.Placed[0])+len(u.Placed[1]) != 0 || !slices.Equal(u.Placed[2], d.Placed[2]) {
		t.Errorf("placed lists without credit: %v", u.Placed)
	}
	if d.Members.NNZ() != 7 || len(d.Placed[0]) != 4 {
		t.Error("WithoutCredit changed the data it read")
	}
	// Group 0's consensus reads its members' orders outside it only: member
	// 0's item 3 (own, twice) and member 1's item 2 (credited from group 1).
	cols, ws := d.MembersRow(0)
	if !slices.Equal(cols, []int32{2, 3}) || !slices.Equal(ws, []float32{0.5, 1}) {
		t.Errorf("group 0's members' row: %v %v, want items 2, 3 at 0.5, 1", cols, ws)
	}
}

// A group whose orders are all held out keeps the members credited them:
// they are members by the members table, not through the orders.
func TestKnownMembersKeepsCredited(t *testing.T) {
	d := creditWorld()
	targets := [][]int32{{0, 1}, nil, nil}
	_, placed := withoutHeld(d, targets)
	of := knownMembers(d, placed, targets)
	if got, _ := of.Row(0); !slices.Equal(got, []int32{0, 1}) {
		t.Errorf("group 0's members with every order held out: %v, want [0 1]", got)
	}
}

// TestColdHoldOut: one in ColdEvery of the groups whose members ordered
// elsewhere is held out whole, its orders leaving every row the models
// read (its own, its members', its placed list), a probe is never held out,
// and the split is the same for the same seed.
func TestColdHoldOut(t *testing.T) {
	// 20 groups over 4 items; group g's members g and g+1 (21 members);
	// group g orders item g%4, no buyer named (credited to both members).
	const n = 20
	var gr, gc, mr, mc, or, oc []int32
	var gw, mw, ow []float32
	placed := make([][]Placed, n)
	for g := range int32(n) {
		gr, gc, gw = append(gr, g), append(gc, g%4), append(gw, 1)
		for _, m := range []int32{g, g + 1} {
			or, oc, ow = append(or, g), append(oc, m), append(ow, 1)
			mr, mc, mw = append(mr, m), append(mc, g%4), append(mw, 1)
			placed[g] = append(placed[g], Placed{Member: m, Item: g % 4, Weight: 1, Credited: true})
		}
	}
	d := &Data{Items: 4, Groups: train.NewInteractions(n, 4, gr, gc, gw), Members: train.NewInteractions(n+1, 4, mr, mc, mw),
		Of: train.NewInteractions(n, n+1, or, oc, ow), Placed: placed}
	s := ColdHoldOut(d, 7)
	if err := s.Train.Check(); err != nil {
		t.Fatal(err)
	}
	if s.Groups() != n/ColdEvery {
		t.Fatalf("%d groups held out, want %d", s.Groups(), n/ColdEvery)
	}
	for g, ts := range s.Targets {
		cols, _ := d.Groups.Row(g)
		kept, _ := s.Train.Groups.Row(g)
		if len(ts) == 0 {
			if !slices.Equal(kept, cols) {
				t.Errorf("group %d was not held out, yet its row %v became %v", g, cols, kept)
			}
			continue
		}
		if !slices.Equal(ts, cols) || len(kept) != 0 || len(s.Train.Placed[g]) != 0 {
			t.Errorf("held-out group %d: targets %v of items %v, kept %v, placed %v", g, ts, cols, kept, s.Train.Placed[g])
		}
		for _, m := range []int{g, g + 1} {
			want := 0 // member m's orders: from groups m-1 and m, less the held-out ones
			for _, h := range []int{m - 1, m} {
				if h >= 0 && h < n && len(s.Targets[h]) == 0 {
					want++
				}
			}
			if got := s.Train.Members.Ptr[m+1] - s.Train.Members.Ptr[m]; int(got) > want {
				t.Errorf("member %d keeps %d orders after group %d is held out, want at most %d", m, got, g, want)
			}
		}
	}
	again := ColdHoldOut(d, 7)
	if !slices.EqualFunc(s.Targets, again.Targets, slices.Equal) {
		t.Error("the same seed cut another split")
	}
	// Without members there is nothing a cold group could be ranked by.
	if s := ColdHoldOut(&Data{Items: 4, Groups: d.Groups}, 7); s.Groups() != 0 {
		t.Errorf("a history without members held %d groups out", s.Groups())
	}
	// A member split's probes are never held out.
	p := *d
	p.Probes = n - 1
	s = ColdHoldOut(&p, 7)
	for g, ts := range s.Targets {
		if g > 0 && len(ts) > 0 {
			t.Errorf("probe %d held out", g)
		}
	}
}

// TestColdMembersScores: with consensus 0, a group with no row of its own
// is ranked by popularity, or, with ColdMembers, by its members' row, for
// item-item and iALS alike; a group with a row is scored the same either
// way, and the served form carries the cold weight.
func TestColdMembersScores(t *testing.T) {
	ctx := context.Background()
	d := world() // group 3 has no orders
	// its member bought item 3 alone, which group 2 bought beside 1 and 2
	d.Members = train.NewInteractions(3, 5, []int32{0, 1, 2}, []int32{3, 2, 3}, []float32{1, 1, 1})
	pop := newInputs(d, 0, 0, 0).pop
	for _, cfg := range []Config{
		{Method: MethodItemKNN},
		{Method: MethodIALS, Factors: 4, Reg: 0.01, Alpha0: 0.1, Confidence: 4},
	} {
		off, on := cfg, cfg
		on.ColdMembers = true
		mOff, err := Fit(ctx, d, off, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		mOn, err := Fit(ctx, d, on, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		a, b := make([]float32, 5), make([]float32, 5)
		mOff.Score(3, a)
		mOn.Score(3, b)
		if !slices.Equal(a, pop) {
			t.Errorf("%s: a group without orders scored %v without ColdMembers, want popularity %v", cfg.Method, a, pop)
		}
		if cfg.Method == MethodItemKNN && (b[1] <= pop[1] || b[2] <= pop[2] || b[4] != pop[4]) {
			t.Errorf("%s: a group without orders scored %v with ColdMembers, want items 1 and 2 (item 3's neighbours) raised", cfg.Method, b)
		}
		if slices.Equal(a, b) {
			t.Errorf("%s: ColdMembers did not change a cold group's scores: %v", cfg.Method, b)
		}
		for g := range int32(3) {
			mOff.Score(g, a)
			mOn.Score(g, b)
			if !slices.Equal(a, b) {
				t.Errorf("%s: group %d (with orders) scored %v, and %v with ColdMembers", cfg.Method, g, a, b)
			}
		}
		s, err := Serve(mOn)
		if err != nil {
			t.Fatal(err)
		}
		if s.ColdConsensus+s.ColdVectorConsensus != 1 || s.Consensus+s.VectorConsensus != 0 {
			t.Errorf("%s: served consensus %g/%g, cold %g/%g; want 0 and 1", cfg.Method, s.Consensus, s.VectorConsensus, s.ColdConsensus, s.ColdVectorConsensus)
		}
	}
}
