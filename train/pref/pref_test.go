package pref

import (
	"cmp"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/viterin/vek/vek32"

	"grouprank/train"
)

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-5 {
		t.Errorf("%s = %.6f, want %.6f", what, got, want)
	}
}

// X = [[1,1],[1,0]]: two rows, two items.
func tiny() *train.Interactions {
	return train.NewInteractions(2, 2, []int32{0, 0, 1}, []int32{0, 1, 0}, []float32{1, 1, 1})
}

// TestEASEHandComputed: G = XᵀX = [[2,1],[1,1]]; with lambda 1, P = (G+I)^-1
// = 1/5 [[2,-1],[-1,3]], so B_01 = -P_01/P_11 = 1/3 (item 1 from item 0:
// G_01/(G_00+lambda)) and B_10 = -P_10/P_00 = 1/2 (G_10/(G_11+lambda)).
func TestEASEHandComputed(t *testing.T) {
	s, err := EASE(gram(tiny(), nil), 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "B_00", float64(s.At(0, 0)), 0)
	near(t, "B_01", float64(s.At(0, 1)), 1.0/3)
	near(t, "B_10", float64(s.At(1, 0)), 1.0/2)
	near(t, "B_11", float64(s.At(1, 1)), 0)
	if _, err := EASE([]float64{0, 0, 0, 0}, 2, -1); err == nil {
		t.Error("a Gram matrix made indefinite by a negative penalty was accepted")
	}
}

// TestGraphFilterHandComputed: row degrees (2, 1), column degrees (2, 1);
// R̃ = [[1/2, 1/√2], [1/√2, 0]], P = R̃ᵀR̃ = [[3/4, 1/(2√2)], [1/(2√2), 1/2]],
// P² row 0 = [3/4·3/4 + 1/8, 3/4·1/(2√2) + 1/(4√2)].
func TestGraphFilterHandComputed(t *testing.T) {
	c := 1 / (2 * math.Sqrt2)
	ctx := context.Background()
	s, err := GraphFilter(ctx, tiny(), 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range []float64{0.75, c, c, 0.5} {
		near(t, "P", float64(s.At(int32(k/2), int32(k%2))), want)
	}
	if s, err = GraphFilter(ctx, tiny(), 2, 1); err != nil {
		t.Fatal(err)
	}
	near(t, "S_00", float64(s.At(0, 0)), 0.75+2*(0.5625+0.125))
	near(t, "S_01", float64(s.At(0, 1)), c+2*(0.75*c+c/2))
}

func TestCosineHandComputed(t *testing.T) {
	s, err := Cosine(context.Background(), tiny(), 1)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "cos(0,1)", float64(s.At(0, 1)), 1/math.Sqrt(2))
	near(t, "diagonal", float64(s.At(0, 0)), 0)
	if s.NNZ() != 2 {
		t.Errorf("%d entries stored, want the two off-diagonal ones", s.NNZ())
	}
}

// world: 4 groups, 5 items, 3 members. Group 3 has no orders of its own:
// its one member bought item 4 alone.
func world() *Data {
	g := train.NewInteractions(4, 5, []int32{0, 0, 0, 1, 1, 2, 2, 2}, []int32{0, 1, 2, 0, 1, 1, 2, 3}, []float32{1, 1, 1, 1, 1, 1, 1, 1})
	m := train.NewInteractions(3, 5, []int32{0, 1, 2}, []int32{3, 2, 4}, []float32{1, 1, 1})
	of := train.NewInteractions(4, 3, []int32{0, 1, 3}, []int32{0, 1, 2}, []float32{1, 1, 1})
	return &Data{Items: 5, Groups: g, Members: m, Of: of}
}

func TestConsensusRow(t *testing.T) {
	in := newInputs(world(), 0.5, 0.5, 0)
	cols, ws := in.row(0, nil, nil)
	if !slices.Equal(cols, []int32{0, 1, 2, 3}) || !slices.Equal(ws, []float32{1, 1, 1, 0.5}) {
		t.Errorf("group 0's row = %v %v, want its items plus half its member's item 3", cols, ws)
	}
	cols, _ = in.row(3, nil, nil)
	if !slices.Equal(cols, []int32{4}) {
		t.Errorf("a group without orders of its own scores from its members' (got %v)", cols)
	}
	// members model: group 3's only signal is its member's item 4.
	m, err := Fit(context.Background(), world(), Config{Method: MethodMembers}, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float32, 5)
	m.Score(3, dst)
	if top := TopK(dst, nil, 1); top[0] != 4 {
		t.Errorf("members' top item for group 3 = %d, want 4", top[0])
	}
}

func TestHoldOut(t *testing.T) {
	d := world()
	s := HoldOut(d, 0.5, 7)
	for g := range d.Groups.Rows {
		all, _ := d.Groups.Row(g)
		kept, _ := s.Train.Groups.Row(g)
		held := s.Targets[g]
		if len(all) < 2 && len(held) > 0 {
			t.Errorf("group %d: its only item was held out", g)
		}
		if len(all) >= 2 && (len(held) == 0 || len(kept) == 0) {
			t.Errorf("group %d: %d held, %d kept of %d", g, len(held), len(kept), len(all))
		}
		if got := append(slices.Clone(kept), held...); len(got) != len(all) {
			t.Errorf("group %d: kept %v + held %v is not its items %v", g, kept, held, all)
		}
	}
	if s.Train.Members.NNZ() != d.Members.NNZ() {
		t.Error("members' rows were held out")
	}
	again := HoldOut(d, 0.5, 7)
	for g := range s.Targets {
		if !slices.Equal(s.Targets[g], again.Targets[g]) {
			t.Fatal("the same seed cut a different split")
		}
	}
}

func TestTopKAndNDCG(t *testing.T) {
	scores := []float32{0.1, 0.9, 0.5, 0.5, 0.7}
	if got := TopK(scores, []int32{1}, 3); !slices.Equal(got, []int32{4, 2, 3}) {
		t.Errorf("TopK = %v, want [4 2 3] (item 1 skipped, the tie to the lower index)", got)
	}
	// target 3 at rank 2 (0-based) of the list skipping item 1: 1/log2(4).
	near(t, "ndcg", ndcgOf(scores, []int32{1}, []int32{3}, 10), 0.5)
	// Against the plain selection (every item weighed by worse), with ties,
	// NaNs and skipped items, for k below, at and above the items.
	r := rand.New(rand.NewPCG(4, 5))
	for trial := range 400 {
		n := 1 + r.IntN(60)
		if trial%4 == 0 {
			n = 1 + r.IntN(2000) // long runs the scan jumps over
		}
		scores := make([]float32, n)
		for i := range scores {
			scores[i] = float32(r.IntN(6))
			switch r.IntN(20) {
			case 0, 1:
				scores[i] = float32(math.NaN())
			case 2:
				scores[i] = float32(math.Inf(2*r.IntN(2) - 1))
			case 3:
				scores[i] = math.Nextafter32(scores[i], 10) // just above a held score
			}
		}
		var skip []int32
		for i := range int32(n) {
			if r.IntN(4) == 0 {
				skip = append(skip, i)
			}
		}
		k := 1 + r.IntN(n+3)
		if got, want := TopK(scores, skip, k), topKPlain(scores, skip, k); !slices.Equal(got, want) {
			t.Fatalf("trial %d: TopK(%v, %v, %d) = %v, want %v", trial, scores, skip, k, got, want)
		}
	}
}

// topKPlain is TopK weighing every item against the last held with worse.
func topKPlain(scores []float32, skip []int32, k int) []int32 {
	type e struct {
		i int32
		v float32
	}
	var top []e
	worse := func(a, b e) bool { return a.v < b.v || (a.v == b.v && a.i > b.i) }
	for i, v := range scores {
		x := e{int32(i), v}
		if _, ok := slices.BinarySearch(skip, int32(i)); ok || (len(top) == k && !worse(top[k-1], x)) {
			continue
		}
		p := sort.Search(len(top), func(n int) bool { return worse(top[n], x) })
		top = slices.Insert(top, p, x)
		top = top[:min(len(top), k)]
	}
	out := make([]int32, len(top))
	for n, x := range top {
		out[n] = x.i
	}
	return out
}

// TestSelectionPicksTheSignal: groups buy items in pairs (0,1), (2,3), ...;
// every item-item method learns the pairs, popularity cannot, and the
// search must choose one that learnt them.
func TestSelectionPicksTheSignal(t *testing.T) {
	var r, c []int32
	var w []float32
	const groups, items = 300, 20
	for g := range groups {
		p := int32(2 * (g % (items / 2)))
		// each group buys two pairs' items
		q := int32(2 * ((g/10 + g) % (items / 2)))
		for _, i := range []int32{p, p + 1, q, q + 1} {
			r, c, w = append(r, int32(g)), append(c, i), append(w, 1)
		}
	}
	d := &Data{Items: items, Groups: train.NewInteractions(groups, items, r, c, w)}
	val := HoldOuts(d, 0.25, 2, 3)
	sel, err := SelectModel(context.Background(), val, "test", Methods, 10, 1, 1, Progress{})
	if err != nil {
		t.Fatal(err)
	}
	if sel.Chosen.Method == MethodPopular || sel.NDCG10 < 0.5 {
		t.Errorf("chose %s with validation NDCG@10 %.3f; the pairs are learnable", sel.Chosen.Method, sel.NDCG10)
	}
	for _, s := range sel.Searches {
		if s.Method == MethodMembers && s.Skipped == "" {
			t.Error("the members' method ran without members")
		}
		if len(s.Trials) > 10 {
			t.Errorf("%s ran %d trials over a budget of 10", s.Method, len(s.Trials))
		}
	}
}

// TestMembersWhereverPlaced: a member's orders count for a group's
// consensus wherever they were placed, except in the group itself; a
// hold-out removes the held-out orders from the members' rows too.
func TestMembersWhereverPlaced(t *testing.T) {
	// Member 0 belongs to groups 0 and 1; it bought item 2 in group 0,
	// item 3 in group 1 and item 4 alone.
	d := &Data{Items: 5,
		Groups:  train.NewInteractions(2, 5, []int32{0, 0, 1, 1}, []int32{1, 2, 0, 3}, []float32{1, 1, 1, 1}),
		Members: train.NewInteractions(1, 5, []int32{0, 0, 0}, []int32{2, 3, 4}, []float32{1, 1, 1}),
		Of:      train.NewInteractions(2, 1, []int32{0, 1}, []int32{0, 0}, []float32{1, 1}),
		Placed:  [][]Placed{{{Member: 0, Item: 2, Weight: 1}}, {{Member: 0, Item: 3, Weight: 1}}}}
	if cols, _ := d.MembersRow(0); !slices.Equal(cols, []int32{3, 4}) {
		t.Errorf("group 0's consensus row %v, want items 3 and 4 (not its own order of 2)", cols)
	}
	if cols, _ := d.MembersRow(1); !slices.Equal(cols, []int32{2, 4}) {
		t.Errorf("group 1's consensus row %v, want items 2 and 4", cols)
	}
	for seed := range uint64(20) {
		s := HoldOut(d, 0.5, seed)
		for g, held := range s.Targets {
			for _, i := range held {
				for _, p := range d.Placed[g] {
					if p.Item != i {
						continue
					}
					if cols, _ := s.Train.Members.Row(int(p.Member)); slices.Contains(cols, i) {
						t.Fatalf("seed %d: group %d's held-out item %d is still in member %d's row", seed, g, i, p.Member)
					}
				}
			}
		}
	}
}

// TestPushesInTheRow: a push no order carried joins the group's row at the
// push weight, and a split may hold out a group's only ordered item when it
// was also pushed another (the history keeps that push), taking every line
// of the held-out item with it; a group with one ordered item and nothing
// else is never held out.
func TestPushesInTheRow(t *testing.T) {
	// group 0 ordered item 0 and was pushed items 1 and 0; group 1 ordered item 2 only.
	g := train.NewInteractions(2, 4, []int32{0, 1}, []int32{0, 2}, []float32{1, 1})
	p := train.NewInteractions(2, 4, []int32{0, 0}, []int32{1, 0}, []float32{1, 1})
	d := &Data{Items: 4, Groups: g, Pushed: p}
	if err := d.Check(); err != nil {
		t.Fatal(err)
	}
	cols, ws := d.OwnRow(0, 0.5)
	if !slices.Equal(cols, []int32{0, 1}) || !slices.Equal(ws, []float32{1.5, 0.5}) {
		t.Errorf("group 0's row at push weight 0.5 = %v %v, want items 0, 1 weighing 1.5, 0.5", cols, ws)
	}
	if cols, _ := d.OwnRow(0, 0); !slices.Equal(cols, []int32{0}) {
		t.Errorf("group 0's row at push weight 0 = %v, want its order alone", cols)
	}
	if seen := d.Seen(0); !slices.Equal(seen, []int32{0, 1}) {
		t.Errorf("group 0's history = %v, want items 0 and 1", seen)
	}
	s := HoldOut(d, 0.2, 1)
	if !slices.Equal(s.Targets[0], []int32{0}) || len(s.Targets[1]) != 0 {
		t.Fatalf("targets = %v, want item 0 of group 0 and nothing of group 1", s.Targets)
	}
	if cols, _ := s.Train.Groups.Row(0); len(cols) != 0 {
		t.Errorf("group 0 keeps orders %v", cols)
	}
	if cols, _ := s.Train.Pushed.Row(0); !slices.Equal(cols, []int32{1}) {
		t.Errorf("group 0 keeps pushes of %v, want item 1 alone (item 0 is the target)", cols)
	}
	if ks := knobs(MethodIALS, false, true); !slices.ContainsFunc(ks, func(k knob) bool { return k.name == "push_weight" }) {
		t.Error("the push weight is not searched when pushes exist")
	}
	if ks := knobs(MethodIALS, false, false); slices.ContainsFunc(ks, func(k knob) bool { return k.name == "push_weight" }) {
		t.Error("the push weight is searched without pushes")
	}
}

// MembersAdd compares the chosen model with the best trial of its method
// (of a blend's first part) that reads no member signal.
func TestMembersAdd(t *testing.T) {
	ials := func(cons, rows, ndcg float64) Trial {
		return Trial{Config: Config{Method: MethodIALS, Consensus: cons, MemberRows: rows}, NDCG10: ndcg}
	}
	searches := []*Search{
		{Method: MethodPopular, Trials: []Trial{{Config: Config{Method: MethodPopular}, NDCG10: 0.2}}},
		{Method: MethodIALS, Trials: []Trial{ials(0, 0, 0.10), ials(0.3, 1, 0.15), ials(0, 0, 0.12), ials(0, 1, 0.14)}},
	}
	blend := Config{Method: MethodBlend, Parts: []Config{{Method: MethodIALS, Consensus: 0.3, MemberRows: 1}, {Method: MethodPopular}}, Weight: 0.25}
	for _, c := range []struct {
		name          string
		chosen        Config
		with, without float64
		method        string
		ok            bool
	}{
		{"ials with members", Config{Method: MethodIALS, Consensus: 0.3, MemberRows: 1}, 0.3, 0.12, MethodIALS, true},
		{"blend of ials with members", blend, 0.3, 0.12, MethodIALS, true},
		{"no member signal chosen", Config{Method: MethodIALS}, 0, 0, "", false},
		{"popular", Config{Method: MethodPopular}, 0, 0, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			sel := &Selection{Searches: searches, Chosen: c.chosen, NDCG10: 0.3}
			with, without, method, ok := sel.MembersAdd()
			if with != c.with || without != c.without || method != c.method || ok != c.ok {
				t.Errorf("got %v %v %q %v, want %v %v %q %v", with, without, method, ok, c.with, c.without, c.method, c.ok)
			}
		})
	}
}

// A held-out group whose orders name their buyers keeps only the members
// who placed one of its remaining orders (the others may be members only
// through the orders held out); a group whose orders name no buyer keeps
// every member it lists.
func TestKnownMembers(t *testing.T) {
	// group 0: items 0 (placed by member 0) and 1 (placed by member 1), member 2 placed none
	// of its orders (a buy's initiator) and stays;
	// group 1: items 0 and 2, no buyer named, members 1 and 2 listed.
	g := train.NewInteractions(2, 3, []int32{0, 0, 1, 1}, []int32{0, 1, 0, 2}, []float32{1, 1, 1, 1})
	m := train.NewInteractions(3, 3, []int32{0, 1, 2}, []int32{0, 1, 2}, []float32{1, 1, 1})
	of := train.NewInteractions(2, 3, []int32{0, 0, 0, 1, 1}, []int32{0, 1, 2, 1, 2}, []float32{1, 1, 1, 1, 1})
	d := &Data{Items: 3, Groups: g, Members: m, Of: of, Placed: [][]Placed{{{Member: 0, Item: 0, Weight: 1}, {Member: 1, Item: 1, Weight: 1}}, nil}}
	for seed := range uint64(8) {
		s := HoldOut(d, 0.5, seed)
		if len(s.Targets[0]) != 1 || len(s.Targets[1]) != 1 {
			t.Fatalf("seed %d: targets %v", seed, s.Targets)
		}
		kept, _ := s.Train.Groups.Row(0)
		buyer := kept[0] // member i placed item i in group 0
		if got, _ := s.Train.Of.Row(0); !slices.Equal(got, []int32{buyer, 2}) {
			t.Errorf("seed %d: group 0 kept items %v and members %v, want members %d and 2", seed, kept, got, buyer)
		}
		if got, _ := s.Train.Of.Row(1); !slices.Equal(got, []int32{1, 2}) {
			t.Errorf("seed %d: group 1 (no buyer named) kept members %v, want [1 2]", seed, got)
		}
	}
	if d.Of.NNZ() != 5 {
		t.Error("the split changed the history's membership")
	}
}

// TestMemberHoldOut: a member split keeps every group's row and appends one
// probe per member with two or more own orders; a probe's held-out items are
// in no row the models learn from (its own, its member's, the orders placed
// in groups), popularity counts only the groups, and the split is the same
// for the same seed.
func TestMemberHoldOut(t *testing.T) {
	// groups 0, 1: one order each, placed by members 0 and 1; member 0 also
	// ordered items 1 and 2 elsewhere, member 1 only item 1, member 2 items 0, 2.
	g := train.NewInteractions(2, 4, []int32{0, 1}, []int32{0, 1}, []float32{1, 1})
	m := train.NewInteractions(3, 4, []int32{0, 0, 0, 1, 2, 2}, []int32{0, 1, 2, 1, 0, 2}, []float32{1, 1, 1, 1, 1, 1})
	of := train.NewInteractions(2, 3, []int32{0, 0, 1}, []int32{0, 2, 1}, []float32{1, 1, 1})
	placed := [][]Placed{{{Member: 0, Item: 0, Weight: 1}}, {{Member: 1, Item: 1, Weight: 1}}}
	d := &Data{Items: 4, Groups: g, Members: m, Of: of, Placed: placed}
	s := MemberHoldOut(d, 0.5, 3)
	if err := s.Train.Check(); err != nil {
		t.Fatal(err)
	}
	if s.Train.Probes != 2 || s.Train.Groups.Rows != 4 || len(s.Targets) != 4 || len(s.Targets[0])+len(s.Targets[1]) != 0 {
		t.Fatalf("probes %d, rows %d, targets %v", s.Train.Probes, s.Train.Groups.Rows, s.Targets)
	}
	for _, r := range []int{0, 1} {
		a, _ := g.Row(r)
		b, _ := s.Train.Groups.Row(r)
		if !slices.Equal(a, b) {
			t.Errorf("group %d's row %v became %v", r, a, b)
		}
	}
	for p, member := range []int{0, 2} { // members with two or more orders, in member order
		row, _ := s.Train.Groups.Row(2 + p)
		own, _ := s.Train.Members.Row(member)
		all, _ := m.Row(member)
		target := s.Targets[2+p]
		if len(target) != memberHeldOut(len(all), 0.5) || len(row) != len(all)-len(target) || !slices.Equal(row, own) {
			t.Errorf("member %d: probe row %v, own row %v, targets %v (orders %v)", member, row, own, target, all)
		}
		for _, x := range target {
			if slices.Contains(row, x) || !slices.Contains(all, x) {
				t.Errorf("member %d: target %d is in its probe row %v or not one of its orders %v", member, x, row, all)
			}
			for _, ps := range s.Train.Placed {
				for _, q := range ps {
					if int(q.Member) == member && q.Item == x {
						t.Errorf("member %d's held-out item %d is still placed in a group", member, x)
					}
				}
			}
		}
	}
	if !slices.Equal(s.Train.Popularity(), d.Popularity()) {
		t.Errorf("popularity with probes %v, without %v", s.Train.Popularity(), d.Popularity())
	}
	if again := MemberHoldOut(d, 0.5, 3); !reflect.DeepEqual(again.Targets, s.Targets) {
		t.Errorf("same seed, targets %v then %v", s.Targets, again.Targets)
	}
	if ProbesMembers(d) {
		t.Error("a history of two groups and three members probes members (fewer than ValidationGroups of either)")
	}
	// many members with two orders, groups with one: probe members; groups with two: do not
	n := ValidationGroups
	var mr, mc []int32
	var gr, gc []int32
	for k := range int32(n) {
		mr, mc = append(mr, k, k), append(mc, 0, 1)
		gr, gc = append(gr, k), append(gc, k%2)
	}
	many := &Data{Items: 2, Groups: train.NewInteractions(n, 2, gr, gc, ones(n)), Members: train.NewInteractions(n, 2, mr, mc, ones(2*n))}
	if !ProbesMembers(many) {
		t.Error("one order per group and two per member: groups probed")
	}
	gr2, gc2 := slices.Clone(gr), slices.Clone(gc)
	for k := range int32(n) {
		gr2, gc2 = append(gr2, k), append(gc2, (k+1)%2)
	}
	many.Groups = train.NewInteractions(n, 2, gr2, gc2, ones(2*n))
	if ProbesMembers(many) {
		t.Error("two orders per group: members probed")
	}
	// few groups, each with several orders, and many members: the groups' split stays
	few := &Data{Items: 2, Groups: train.NewInteractions(n, 2, []int32{0, 0, 1, 1}, []int32{0, 1, 0, 1}, ones(4)), Members: many.Members}
	if ProbesMembers(few) {
		t.Error("two groups with two orders each: members probed")
	}
}

func ones(n int) []float32 {
	w := make([]float32, n)
	for k := range w {
		w[k] = 1
	}
	return w
}

// randomRows is a seeded rows x items matrix with about fill of its entries
// set (weights 1 to 3).
func randomRows(rows, items int, fill float64, seed uint64) *train.Interactions {
	rng := rand.New(rand.NewPCG(seed, 1))
	var r, c []int32
	var w []float32
	for i := range rows {
		for j := range items {
			if rng.Float64() < fill {
				r, c, w = append(r, int32(i)), append(c, int32(j)), append(w, float32(1+rng.IntN(3)))
			}
		}
	}
	return train.NewInteractions(rows, items, r, c, w)
}

// TestItemItemMatchesDense: the sparse item-item matrices hold the dense
// formulas' values, bit for bit for the one-hop ones (the same sums in the
// same order), every nonzero and nothing else.
func TestItemItemMatchesDense(t *testing.T) {
	ctx := context.Background()
	x := randomRows(60, 25, 0.15, 3)
	n := x.Cols
	g := gram(x, nil)
	cos, err := Cosine(ctx, x, 2)
	if err != nil {
		t.Fatal(err)
	}
	rowW, colD := degrees(x)
	p := gram(x, rowW)
	for j := range n {
		for i := range n {
			if colD[i] > 0 && colD[j] > 0 {
				p[j*n+i] /= math.Sqrt(colD[j] * colD[i])
			}
		}
	}
	gf1, err := GraphFilter(ctx, x, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	gf2, err := GraphFilter(ctx, x, 1.5, 2)
	if err != nil {
		t.Fatal(err)
	}
	stored := 0
	for j := range n {
		for i := range n {
			var want float32
			if i != j && g[i*n+i] > 0 && g[j*n+j] > 0 {
				want = float32(g[j*n+i] / math.Sqrt(g[j*n+j]*g[i*n+i]))
			}
			if got := cos.At(int32(j), int32(i)); got != want {
				t.Fatalf("cosine (%d, %d) = %v, want %v", j, i, got, want)
			}
			if got := gf1.At(int32(j), int32(i)); got != float32(p[j*n+i]) {
				t.Fatalf("one-hop filter (%d, %d) = %v, want %v", j, i, got, float32(p[j*n+i]))
			}
			var p2 float64
			for k := range n {
				p2 += p[j*n+k] * p[k*n+i]
			}
			want2 := p[j*n+i] + 1.5*p2
			if got := float64(gf2.At(int32(j), int32(i))); math.Abs(got-want2) > 1e-6*math.Max(1, math.Abs(want2)) {
				t.Fatalf("two-hop filter (%d, %d) = %v, want %v", j, i, got, want2)
			}
			if want != 0 {
				stored++
			}
		}
	}
	if cos.NNZ() != stored {
		t.Errorf("cosine stores %d entries, want its %d nonzero ones", cos.NNZ(), stored)
	}
	if err := cos.Check(); err != nil {
		t.Error(err)
	}
}

// TestSparseRowsKeepsStrongest: a row with more entries than it may keep
// keeps the strongest by magnitude (ties: the lower item), sorted by item.
func TestSparseRowsKeepsStrongest(t *testing.T) {
	vals := []float64{0.5, -3, 0, 2, 2, 1}
	row := func(j int, acc []float64, mark []bool, touched []int32) []int32 {
		for i := len(vals) - 1; i >= 0; i-- {
			touched = touch(int32(i), mark, touched)
			acc[i] += vals[i]
		}
		return touched
	}
	cols, ws, err := sparseRows(context.Background(), len(vals), 3, 1, row, func(_ int, _ int32, v float64) float32 { return float32(v) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	for j := range vals {
		if !slices.Equal(cols[j], []int32{1, 3, 4}) || !slices.Equal(ws[j], []float32{-3, 2, 2}) {
			t.Fatalf("row %d kept %v %v, want items 1, 3, 4 (-3, 2, 2)", j, cols[j], ws[j])
		}
	}
}

// TestItemItemWorkBound: rows whose products exceed MaxWork skip the
// method with the reason instead of running for hours.
func TestItemItemWorkBound(t *testing.T) {
	const items = 100_000
	c := make([]int32, items)
	for k := range c {
		c[k] = int32(k)
	}
	x := train.NewInteractions(1, items, make([]int32, items), c, slices.Repeat([]float32{1}, items))
	var sk *SkippedError
	if err := gramWork(x, MethodItemKNN); !errors.As(err, &sk) || !strings.Contains(sk.Reason, "multiply-adds") {
		t.Errorf("a row of %d items: %v, want a skip naming the multiply-adds", items, err)
	}
	if err := gramWork(tiny(), MethodItemKNN); err != nil {
		t.Error(err)
	}
}

// TestItemItemLargeCatalogue: item-kNN and the graph filter fit and serve a
// catalogue beyond EASE's dense limit, and EASE says why it is skipped.
func TestItemItemLargeCatalogue(t *testing.T) {
	const items = MaxEASEItems + 1000
	d := &Data{Items: items, Groups: randomRows(3000, items, 3.0/items, 5)}
	ctx := context.Background()
	for _, c := range []Config{{Method: MethodItemKNN}, {Method: MethodGraph, Order2: 1}} {
		m, err := Fit(ctx, d, c, 1, 2)
		if err != nil {
			t.Fatalf("%s: %v", c.Method, err)
		}
		s, err := Serve(m)
		if err != nil || s.ItemItem == nil || s.ItemItem.N != items || s.ItemItem.NNZ() == 0 {
			t.Fatalf("%s: served %+v, %v", c.Method, s, err)
		}
		dst := make([]float32, items)
		m.Score(0, dst)
		cols, _ := d.Groups.Row(0)
		if len(cols) > 0 {
			nb, _ := s.ItemItem.Row(cols[0])
			if len(nb) > 0 && dst[nb[0]] <= slices.Min(dst) {
				t.Errorf("%s: a neighbour of group 0's item does not score above the lowest item", c.Method)
			}
		}
	}
	_, err := Fit(ctx, d, Config{Method: MethodEASE, Lambda: 1}, 1, 2)
	var sk *SkippedError
	if !errors.As(err, &sk) || !strings.Contains(sk.Reason, "EASE") {
		t.Errorf("EASE on %d items: %v, want a skip saying why", items, err)
	}
}

// TestBlendPartnerAtBestPushWeight: a method whose chosen push weight
// differs from the best's is tried as the blend's partner at the best's
// (the service reads pushes at one weight), and every partner that can be
// served is tried.
func TestBlendPartnerAtBestPushWeight(t *testing.T) {
	const groups, items = 200, 20
	x := randomRows(groups, items, 0.2, 7)
	d := &Data{Items: items, Groups: x, Pushed: randomRows(groups, items, 0.1, 8)}
	val := HoldOuts(d, 0.25, 1, 3)
	best := &Search{Method: MethodIALS, NDCG10: 0.5, Best: &Config{Method: MethodIALS, Factors: 8, Reg: 0.01, Alpha0: 0.05, Confidence: 4, PushWeight: 0.1}}
	knn := &Search{Method: MethodItemKNN, NDCG10: 0.4, Best: &Config{Method: MethodItemKNN, PushWeight: 0.3}}
	pop := &Search{Method: MethodPopular, NDCG10: 0.3, Best: &Config{Method: MethodPopular}}
	out, err := searchBlend(context.Background(), val, []*Search{pop, best, knn}, 40, 1, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	var partners []string
	pairs := 0 // the trials of pairs, before any third part
	for _, tr := range out.Trials {
		leaves := tr.Config.Leaves()
		if leaves[0].Method != MethodIALS {
			t.Fatalf("trial %+v: want ials first", tr.Config)
		}
		for _, p := range leaves[1:] {
			if p.Method != MethodPopular && p.PushWeight != 0.1 {
				t.Fatalf("trial %+v: want every partner at ials's push weight", tr.Config)
			}
		}
		if len(leaves) == 2 {
			pairs++
			if !slices.Contains(partners, leaves[1].Method) {
				partners = append(partners, leaves[1].Method)
			}
		}
	}
	n, most := 2*len(blendWeights), 2*(len(blendWeights)+2*blendSteps)
	if !slices.Equal(partners, []string{MethodItemKNN, MethodPopular}) || pairs < n || pairs > most {
		t.Errorf("partners tried %v in %d trials, want item-knn then popular, %d weights each and at most %d past the edges",
			partners, pairs, len(blendWeights), 2*blendSteps)
	}
}

// TestBlendOfThree: the forward step keeps a further part only when it
// raises validation, the chosen blend scores on validation what its search
// said, and a blend of three methods serves in the linear form the service
// computes (Serve) with the model's own scores.
func TestBlendOfThree(t *testing.T) {
	const groups, items = 300, 30
	d := &Data{Items: items, Groups: randomRows(groups, items, 0.15, 11)}
	val := HoldOuts(d, 0.25, 1, 3)
	ctx := context.Background()
	ials := &Search{Method: MethodIALS, NDCG10: 0.5, Best: &Config{Method: MethodIALS, Factors: 4, Reg: 0.01, Alpha0: 0.05, Confidence: 4}}
	knn := &Search{Method: MethodItemKNN, NDCG10: 0.4, Best: &Config{Method: MethodItemKNN}}
	graph := &Search{Method: MethodGraph, NDCG10: 0.35, Best: &Config{Method: MethodGraph, Order2: 1}}
	pop := &Search{Method: MethodPopular, NDCG10: 0.3, Best: &Config{Method: MethodPopular}}
	out, err := searchBlend(ctx, val, []*Search{ials, knn, graph, pop}, 40, 1, 1, nil)
	if err != nil || out.Best == nil {
		t.Fatalf("blend: %+v, %v", out, err)
	}
	// the best trial of each size: a part is kept only when it beats them all
	bestOf := map[int]float64{}
	for _, tr := range out.Trials {
		n := len(tr.Config.Leaves())
		bestOf[n] = max(bestOf[n], tr.NDCG10)
	}
	n := len(out.Best.Leaves())
	if bestOf[3] == 0 {
		t.Fatalf("no third part was tried: %d trials", len(out.Trials))
	}
	for k, v := range bestOf {
		if k < n && v >= out.NDCG10 || k == n && v != out.NDCG10 || k == n+1 && v > out.NDCG10+1e-12 {
			t.Errorf("chosen %d parts at %.6f; best of %d parts %.6f", n, out.NDCG10, k, v)
		}
	}
	if v, err := val.Score(ctx, *out.Best, 1, 1); err != nil || math.Abs(v-out.NDCG10) > 1e-9 {
		t.Errorf("the chosen blend scores %.6f on validation (%v), its search said %.6f", v, err, out.NDCG10)
	}
	three := Config{Method: MethodBlend, Weight: 0.5, Parts: []Config{
		{Method: MethodBlend, Weight: 2, Parts: []Config{*ials.Best, *knn.Best}}, *graph.Best}}
	if got := three.Describe(); !strings.Contains(got, "ials (") || !strings.Contains(got, "+ 2 x item-knn (") || !strings.Contains(got, "+ 0.5 x graph-filter (") {
		t.Errorf("described as %q", got)
	}
	m, err := Fit(ctx, d, three, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Serve(m)
	if err != nil || s.Items == nil || s.ItemItem == nil {
		t.Fatalf("served %+v, %v", s, err)
	}
	want := make([]float32, items)
	for g := range int32(groups) {
		m.Score(g, want)
		cols, ws := d.OwnRow(g, 0)
		v := s.Vector(g)
		for i := range int32(items) {
			x := s.PriorWeight * float64(s.Prior[i])
			for k, j := range cols {
				x += s.ItemItemWeight * float64(ws[k]) * float64(s.ItemItem.At(j, i))
			}
			if v != nil {
				x += s.ALSWeight * float64(vek32.Dot(v, s.Items.Row(int(i))))
			}
			if math.Abs(x-float64(want[i])) > 1e-4*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("group %d item %d: served %.6f, model %.6f", g, i, x, want[i])
			}
		}
	}
	if servableBeside(three, Config{Method: MethodIALS, Factors: 4}) {
		t.Error("a second ials beside a blend holding one: servable")
	}
}

// TestBlendNDCGAtOnce: a blend's weights scored together, each part
// scored once a group, give exactly what the blend scores at each weight.
func TestBlendNDCGAtOnce(t *testing.T) {
	const groups, items = 300, 30
	d := &Data{Items: items, Groups: randomRows(groups, items, 0.15, 11)}
	s := HoldOut(d, 0.25, 3)
	ctx := context.Background()
	a, err := Fit(ctx, s.Train, Config{Method: MethodIALS, Factors: 4, Reg: 0.01, Alpha0: 0.05, Confidence: 4}, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Fit(ctx, s.Train, Config{Method: MethodItemKNN}, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	bl := NewBlend(a, b, groups, items, 1)
	ws := []float64{0.25, 1, 4, 0.0625}
	got, err := blendNDCG(ctx, bl, s, 2, ws)
	if err != nil {
		t.Fatal(err)
	}
	distinct := map[float64]bool{}
	for j, w := range ws {
		one := *bl
		one.Weight = float32(w)
		want, err := NDCG(ctx, &one, s, 10, 1)
		if err != nil || got[j] != want {
			t.Errorf("weight %g: %.9f at once, %.9f alone (%v)", w, got[j], want, err)
		}
		distinct[want] = true
	}
	if len(distinct) < 2 {
		t.Errorf("every weight scores the same (%v): the test tells nothing", got)
	}
}

// TestBlendMembersOnlySecond: the members' counts are a reference, never a
// blend's first part; when they score best on validation (a set whose group
// records copy the members'), the blend starts from the best other method
// and may take them as its second part.
func TestBlendMembersOnlySecond(t *testing.T) {
	const groups, items, people = 200, 20, 50
	var r, c []int32
	var w []float32
	for g := range groups {
		for _, m := range []int32{int32(g % people), int32((g + 7) % people)} {
			r, c, w = append(r, int32(g)), append(c, m), append(w, 1)
		}
	}
	d := &Data{Items: items, Groups: randomRows(groups, items, 0.2, 7), Members: randomRows(people, items, 0.3, 9),
		Of: train.NewInteractions(groups, people, r, c, w)}
	val := HoldOuts(d, 0.25, 1, 3)
	members := &Search{Method: MethodMembers, NDCG10: 0.9, Best: &Config{Method: MethodMembers}}
	best := &Search{Method: MethodIALS, NDCG10: 0.5, Best: &Config{Method: MethodIALS, Factors: 8, Reg: 0.01, Alpha0: 0.05, Confidence: 4}}
	pop := &Search{Method: MethodPopular, NDCG10: 0.3, Best: &Config{Method: MethodPopular}}
	out, err := searchBlend(context.Background(), val, []*Search{pop, members, best}, 40, 1, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out.Skipped != "" || len(out.Trials) == 0 {
		t.Fatalf("blend skipped (%q) with %d trials; want ials blended with the others", out.Skipped, len(out.Trials))
	}
	var partners []string
	for _, tr := range out.Trials {
		leaves := tr.Config.Leaves()
		if leaves[0].Method != MethodIALS {
			t.Fatalf("trial %+v: want ials first", tr.Config)
		}
		if p := leaves[1].Method; len(leaves) == 2 && !slices.Contains(partners, p) {
			partners = append(partners, p)
		}
	}
	if !slices.Equal(partners, []string{MethodMembers, MethodPopular}) {
		t.Errorf("partners %v, want members (the better on validation) then popular", partners)
	}
	// beside an item-item method the members' counts take its consensus
	// (one row serves both), and none when it reads no members
	for _, cons := range []float64{0.3, 0} {
		knn := &Search{Method: MethodItemKNN, NDCG10: 0.5, Best: &Config{Method: MethodItemKNN, Consensus: cons}}
		out, err := searchBlend(context.Background(), val, []*Search{members, knn}, 40, 1, 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		if cons == 0 {
			if out.Skipped == "" {
				t.Errorf("item-knn at consensus 0 blended with the members' counts: %+v", out.Trials)
			}
			continue
		}
		if len(out.Trials) == 0 || out.Trials[0].Config.Parts[1].Consensus != cons {
			t.Fatalf("item-knn at consensus %g: trials %+v", cons, out.Trials)
		}
		m, err := Fit(context.Background(), d, out.Trials[0].Config, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		if s, err := Serve(m); err != nil || s.ItemItem == nil || float32(s.Consensus) != float32(cons) {
			t.Errorf("served %+v, %v", s, err)
		}
	}
}

// TestKnobBeyond: past a grid's edge the search continues the grid's
// pattern (one value two places back times the ratio before it), never
// below a grid holding 0, never past a knob's bound, and only from the edge.
func TestKnobBeyond(t *testing.T) {
	byName := knobsByName(MethodEASE, MethodIALS, MethodGraph)
	for _, c := range []struct {
		knob string
		v    float64
		up   bool
		want float64 // 0: does not extend
	}{
		{"lambda", 1000, true, 3000},
		{"lambda", 3000, true, 10000},
		{"lambda", 10000, true, 30000},
		{"lambda", 300, true, 0},
		{"lambda", 0.1, false, 0.03},
		{"lambda", 0.03, false, 0.01},
		{"factors", 128, true, 256},
		{"factors", 256, true, 0},
		{"factors", 8, false, 4},
		{"reg", 1, true, 10},
		{"reg", 0.001, false, 0.0001},
		{"confidence", 64, true, 256},
		{"confidence", 1, false, 0.25},
		{"consensus", 10, true, 30},
		{"consensus", 0, false, 0},
		{"member_rows", 3, true, 10},
		{"push_weight", 1, true, 3},
		{"order2", 3, true, 10},
	} {
		got, ok := byName[c.knob].beyond(c.v, c.up)
		if !ok {
			got = 0
		}
		if got != c.want {
			t.Errorf("%s from %g (up %v): %g, want %g", c.knob, c.v, c.up, got, c.want)
		}
	}
}

// TestKnobNearAndBetween: later passes try a knob's grid neighbours of
// where the search stands, and the refinement the geometric midpoints
// toward them (3 significant digits), halving the step in log scale at
// each level; never for a knob at 0 or a coarse one.
func TestKnobNearAndBetween(t *testing.T) {
	byName := knobsByName(MethodIALS)
	for _, c := range []struct {
		knob    string
		v       float64
		level   int
		near    []float64
		between []float64
	}{
		{"reg", 0.1, 1, []float64{0.01, 1}, []float64{0.316, 0.0316}},
		{"reg", 0.1, 2, []float64{0.01, 1}, []float64{0.178, 0.0562}},
		{"reg", 1, 1, []float64{0.1}, []float64{0.316}},
		{"consensus", 0.1, 1, []float64{0, 0.3}, []float64{0.173, 0.0577}},
		{"consensus", 0, 1, []float64{0.1}, nil},
		{"confidence", 4, 1, []float64{1, 16}, []float64{8, 2}},
		{"confidence", 6, 1, []float64{4, 16}, []float64{9.8, 4.9}},
		{"factors", 64, 1, []float64{32, 128}, nil},
	} {
		k := byName[c.knob]
		if got := k.near(c.v); !slices.Equal(got, c.near) {
			t.Errorf("%s near %g: %v, want %v", c.knob, c.v, got, c.near)
		}
		if got := k.between(c.v, c.level); !slices.Equal(got, c.between) {
			t.Errorf("%s between %g at level %d: %v, want %v", c.knob, c.v, c.level, got, c.between)
		}
	}
}

// knobsByName is the knobs of the methods (with members and pushes) by name.
func knobsByName(methods ...string) map[string]knob {
	out := map[string]knob{}
	for _, m := range methods {
		for _, k := range knobs(m, true, true) {
			out[k.name] = k
		}
	}
	return out
}

// TestSelectStrongest: the quickselect keeps the same entries as sorting
// the row by magnitude (ties by the lower column) and cutting it, on rows
// with many equal magnitudes of both signs.
func TestSelectStrongest(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := range 300 {
		n := 1 + rng.IntN(400)
		es := make([]entry, n)
		for k, i := range rng.Perm(n) {
			es[k] = entry{int32(i), float32(rng.IntN(7)-3) * 0.25}
		}
		keep := 1 + rng.IntN(n)
		want := slices.Clone(es)
		slices.SortFunc(want, func(a, b entry) int {
			if a.stronger(b) {
				return -1
			}
			return 1
		})
		got := slices.Clone(es)
		selectStrongest(got, keep)
		byCol := func(a, b entry) int { return cmp.Compare(a.i, b.i) }
		w, g := slices.Clone(want[:keep]), slices.Clone(got[:keep])
		slices.SortFunc(w, byCol)
		slices.SortFunc(g, byCol)
		if !slices.Equal(w, g) {
			t.Fatalf("trial %d (n %d, keep %d): kept %v, want %v", trial, n, keep, g, w)
		}
	}
}

// TestSearchReusesItemItem: a search that reuses an item-item matrix
// between trials differing only in consensus scores every trial as a fit
// from scratch does, bit for bit, for every item-item method.
func TestSearchReusesItemItem(t *testing.T) {
	const groups, members, items = 120, 80, 30
	var r, c []int32
	for g := range groups {
		for _, m := range []int{g % members, (g * 7) % members} {
			r, c = append(r, int32(g)), append(c, int32(m))
		}
	}
	d := &Data{Items: items, Groups: randomRows(groups, items, 0.15, 8), Members: randomRows(members, items, 0.2, 9),
		Of: train.NewInteractions(groups, members, r, c, ones(len(r)))}
	val := HoldOuts(d, 0.25, 2, 3)
	for _, method := range []string{MethodItemKNN, MethodEASE, MethodGraph} {
		s, err := SearchMethod(context.Background(), val, method, 12, 1, 2)
		if err != nil {
			t.Fatal(err)
		}
		consensus := map[float64]bool{}
		for _, tr := range s.Trials {
			consensus[tr.Config.Consensus] = true
			v, err := val.Score(context.Background(), tr.Config, 1, 2)
			if err != nil || v != tr.NDCG10 {
				t.Errorf("%s: %s scored %v in the search, %v refitted (%v)", method, tr.Config.Describe(), tr.NDCG10, v, err)
			}
		}
		if len(consensus) < 2 {
			t.Errorf("%s: the search tried one consensus: nothing reused", method)
		}
	}
}

// TestMembersHeld: the share of held-out group items that one of the
// group's members has in their own orders in the split's history.
func TestMembersHeld(t *testing.T) {
	d := &Data{Items: 6,
		Groups:  train.NewInteractions(2, 6, []int32{0, 1}, []int32{0, 3}, []float32{1, 1}),
		Members: train.NewInteractions(2, 6, []int32{0, 0, 1}, []int32{5, 1, 4}, []float32{1, 1, 1}),
		Of:      train.NewInteractions(2, 2, []int32{0, 1}, []int32{0, 1}, []float32{1, 1})}
	// group 0 held out items 1 (its member 0 bought it) and 2; group 1 held out 4 (its member 1 bought it) and 5 (member 0 did, not its member)
	v := Validation{{Train: d, Targets: [][]int32{{1, 2}, {4, 5}}}}
	if got := v.MembersHeld(); got != 0.5 {
		t.Errorf("share %v, want 0.5", got)
	}
	if got := (Validation{{Train: &Data{Items: 6, Groups: d.Groups}, Targets: [][]int32{{1}, nil}}}).MembersHeld(); got != 0 {
		t.Errorf("without members: %v, want 0", got)
	}
}

// TestStackedMembersWhoOrdered: the stacked rows hold the groups' rows,
// then the rows of the members who ordered, in member order, weighted; a
// member without an order has no row (no vector to fit).
func TestStackedMembersWhoOrdered(t *testing.T) {
	d := world()
	d.Members = train.NewInteractions(4, 5, []int32{0, 2, 2}, []int32{3, 1, 4}, []float32{1, 2, 1}) // members 1 and 3 never ordered
	x := stacked(d, 0.5, 0, 0)
	if x.Rows != d.Groups.Rows+2 {
		t.Fatalf("%d rows, want the %d groups' and 2 members'", x.Rows, d.Groups.Rows)
	}
	for k, want := range []struct {
		cols []int32
		ws   []float32
	}{{[]int32{3}, []float32{0.5}}, {[]int32{1, 4}, []float32{1, 0.5}}} {
		cols, ws := x.Row(d.Groups.Rows + k)
		if !slices.Equal(cols, want.cols) || !slices.Equal(ws, want.ws) {
			t.Errorf("member row %d: %v %v, want %v %v", k, cols, ws, want.cols, want.ws)
		}
	}
	if x := stacked(d, 0, 0, 0); x.Rows != d.Groups.Rows {
		t.Errorf("member rows 0: %d rows, want the %d groups'", x.Rows, d.Groups.Rows)
	}
}
