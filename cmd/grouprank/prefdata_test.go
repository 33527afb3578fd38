package main

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"grouprank/data"
	"grouprank/features"
	"grouprank/recommend"
	"grouprank/train"
	"grouprank/train/pref"
)

// TestSplitAtMatchesRebuild: the history before t as splitAt derives it
// from the whole history's indexes and memberships holds what a world of
// the orders and pushes before t builds on its own, member by member (the
// members' indexes are the whole history's, and its members who order from
// t on have empty rows), with the same targets; and a split of a split
// stays within the first's history.
func TestSplitAtMatchesRebuild(t *testing.T) {
	w, p := fixturePrefWorld(t)
	// Only members with orders are held: a member without has nothing a
	// model reads.
	for m := range p.data.Members.Rows {
		if c, _ := p.data.Members.Row(m); len(c) == 0 {
			t.Fatalf("member %d is held without an order", p.members[m])
		}
	}
	if p.data.Of.NNZ() == 0 {
		t.Fatal("the fixture's members never ordered: it tests nothing")
	}
	at := w.first + (w.last-w.first)/2
	q, s, err := p.splitAt(at)
	if err != nil {
		t.Fatal(err)
	}
	// The reference: a world of the rows before at, built anew.
	before := *w
	before.orders, before.own, before.pushes, before.members, before.read = nil, nil, nil, nil, false
	for _, o := range w.orders {
		if o.Time < at {
			before.orders = append(before.orders, o)
		}
	}
	for _, o := range w.own {
		if o.Time < at {
			before.own = append(before.own, o)
		}
	}
	for _, x := range w.pushes {
		if x.Time < at {
			before.pushes = append(before.pushes, x)
		}
	}
	r, err := newPrefWorldIn(&before, p.items, p.groups, nil)
	if err != nil {
		t.Fatal(err)
	}
	if q.data.Members.NNZ() == 0 || q.data.Pushed.NNZ() == 0 || q.data.Of.NNZ() == 0 {
		t.Fatalf("the fixture's split holds no member orders, pushes or memberships: it tests nothing")
	}
	sameMatrix(t, "groups", q.data.Groups, r.data.Groups)
	sameMatrix(t, "pushes no order carried", q.data.Pushed, r.data.Pushed)
	// r's member k is q's member qk[k].
	qk := make([]int32, len(r.members))
	for k, id := range r.members {
		at := slices.Index(q.members, id)
		if at < 0 {
			t.Fatalf("member %d is not indexed in the split", id)
		}
		qk[k] = int32(at)
	}
	for k := range r.members {
		c, _ := q.data.Members.Row(int(qk[k]))
		rc, _ := r.data.Members.Row(k)
		if !slices.Equal(c, rc) {
			t.Fatalf("member %d's own orders before the split: %v, rebuilt %v", r.members[k], c, rc)
		}
	}
	early := make([]bool, len(q.members)) // q's members with orders before at
	for _, m := range qk {
		early[m] = true
	}
	for g := range q.data.Of.Rows {
		// q's members who order from at on (the whole history's members)
		// have no row before it: the rebuilt world does not index them.
		var qs []int32
		all, _ := q.data.Of.Row(g)
		for _, m := range all {
			if early[m] {
				qs = append(qs, m)
			} else if c, _ := q.data.Members.Row(int(m)); len(c) > 0 {
				t.Fatalf("member %d ordered only from the split's end on, yet has a row before it: %v", q.members[m], c)
			}
		}
		rs, _ := r.data.Of.Row(g)
		var mapped []int32
		for _, m := range rs {
			mapped = append(mapped, qk[m])
		}
		slices.Sort(mapped)
		if !slices.Equal(qs, mapped) {
			t.Fatalf("group %d's members: %v, rebuilt %v", g, qs, mapped)
		}
		var want []pref.Placed
		for _, x := range r.data.Placed[g] {
			want = append(want, pref.Placed{Member: qk[x.Member], Item: x.Item, Weight: x.Weight})
		}
		if !slices.Equal(q.data.Placed[g], want) {
			t.Fatalf("group %d's placed orders: %v, rebuilt %v", g, q.data.Placed[g], want)
		}
	}
	for g := range p.groups {
		if want := newItems(w, p, r.data, g, at, w.last+1); !slices.Equal(s.Targets[g], want) {
			t.Fatalf("group %d's targets: %v, want %v", g, s.Targets[g], want)
		}
	}
	// A split of the split at an earlier instant is the whole's at it; one
	// at a later instant holds no target (the split's history ends at at).
	earlier := w.first + (at-w.first)/2
	_, s1, err := q.splitAt(earlier)
	if err != nil {
		t.Fatal(err)
	}
	_, s2, err := p.splitAt(earlier)
	if err != nil {
		t.Fatal(err)
	}
	sameMatrix(t, "a split of the split", s1.Train.Groups, s2.Train.Groups)
	sameMatrix(t, "a split of the split: pushes", s1.Train.Pushed, s2.Train.Pushed)
	for g := range s1.Targets {
		if want := newItems(w, p, s1.Train, g, earlier, at); !slices.Equal(s1.Targets[g], want) {
			t.Fatalf("a split of the split: group %d's targets %v, want %v", g, s1.Targets[g], want)
		}
	}
	_, s3, err := q.splitAt(w.last + 1)
	if err != nil {
		t.Fatal(err)
	}
	if n := s3.Groups(); n != 0 {
		t.Fatalf("a split of the split after its end holds %d groups' targets", n)
	}
}

func sameMatrix(t *testing.T, what string, a, b *train.Interactions) {
	t.Helper()
	if a.Rows != b.Rows || a.Cols != b.Cols || !slices.Equal(a.Ptr, b.Ptr) || !slices.Equal(a.Col, b.Col) || !slices.Equal(a.W, b.W) {
		t.Fatalf("%s: the split's matrix (%d x %d, %d entries) differs from the rebuilt one (%d x %d, %d entries)", what, a.Rows, a.Cols, len(a.Col), b.Rows, b.Cols, len(b.Col))
	}
}

// newItems are the items group g (p's index) placed orders for from from
// to before to that its history d had not seen, sorted: a time split's
// targets.
func newItems(w *world, p *prefWorld, d *pref.Data, g int, from, to data.Timestamp) []int32 {
	var out []int32
	for _, o := range w.orders {
		if o.Time >= from && o.Time < to && o.Status == data.StatusPlaced && p.groupAt[o.Group] == int32(g) {
			i := p.itemAt[o.SKU]
			if _, seen := slices.BinarySearch(d.Seen(int32(g)), i); !seen && !slices.Contains(out, i) {
				out = append(out, i)
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestMembersFileMatchesServed: members.bin written member by member from
// the preference data holds the bytes the service's maps of the same
// members encode to (train.EncodeMembers), and decodes back to them.
func TestMembersFileMatchesServed(t *testing.T) {
	_, p := fixturePrefWorld(t)
	// The service's members, built the plain way: maps by member id.
	d := p.data
	rows := map[data.MemberID][]features.Weighted{}
	for m := range d.Members.Rows {
		if cols, ws := d.Members.Row(m); len(cols) > 0 {
			rows[p.members[m]] = weightedRow(cols, ws)
		}
	}
	in := map[data.MemberID][]recommend.MemberOf{}
	placedIn := 0
	for g := range d.Of.Rows {
		ms, _ := d.Of.Row(g)
		for _, m := range ms {
			sum := map[int32]float32{}
			for _, x := range d.Placed[g] {
				if x.Member == m {
					sum[x.Item] += x.Weight
				}
			}
			var placed []features.Weighted
			for i, x := range sum {
				placed = append(placed, features.Weighted{ID: i, Weight: x})
			}
			slices.SortFunc(placed, func(a, b features.Weighted) int { return int(a.ID - b.ID) })
			if len(placed) == 0 {
				placed = []features.Weighted{}
			} else {
				placedIn++
			}
			in[p.members[m]] = append(in[p.members[m]], recommend.MemberOf{Group: p.groups[g], Placed: placed})
		}
	}
	if len(rows) == 0 || placedIn == 0 {
		t.Fatalf("the fixture has %d members with orders, %d who placed one in a group: it tests nothing", len(rows), placedIn)
	}
	want := train.EncodeMembers(recommend.NewMembers(rows, in))
	var buf bytes.Buffer
	if err := p.writeMembers(&buf); err != nil {
		t.Fatal(err)
	}
	got := buf.Bytes()
	if !bytes.Equal(got, want) {
		t.Fatalf("members.bin: %d bytes, the service's members encode to %d", len(got), len(want))
	}
	back, err := train.DecodeMembers(got, d.Items)
	if err != nil || len(back.Rows) != len(rows) || len(back.In) != len(in) {
		t.Fatalf("decoded: %v, %d rows and %d members in groups, want %d and %d", err, len(back.Rows), len(back.In), len(rows), len(in))
	}
}

// fixturePrefWorld is the shared fixture world and its preference data.
func fixturePrefWorld(t *testing.T) (*world, *prefWorld) {
	t.Helper()
	dir, _ := sharedFixtures(t)
	w, err := loadWorld(context.Background(), dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	p, err := newPrefWorld(w)
	if err != nil {
		t.Fatal(err)
	}
	return w, p
}

// TestCreditedOrders: a group's orders that name no buyer are credited to
// each of its members: a member's row is the sum of their groups' orders,
// each group's placed list names every member and item (credited), and
// the data without credit have no member orders at all.
func TestCreditedOrders(t *testing.T) {
	world := filepath.Join(t.TempDir(), "w")
	if _, stderr, err := runArgs(t, nil, "import", "grouprec", "--in", creditFixture(t), "--out", world); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	w, err := loadWorld(context.Background(), world, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	p, err := newPrefWorld(w)
	if err != nil {
		t.Fatal(err)
	}
	d := p.data
	if len(p.members) != 60 {
		t.Fatalf("%d members indexed, want the 60 listed", len(p.members))
	}
	want := map[[2]int32]float32{} // (member, item) -> weight
	for g := range d.Groups.Rows {
		cols, ws := d.Groups.Row(g)
		ms, _ := d.Of.Row(g)
		var placed []pref.Placed
		for _, m := range ms {
			for k, i := range cols {
				want[[2]int32{m, i}] += ws[k]
				placed = append(placed, pref.Placed{Member: m, Item: i, Weight: ws[k], Credited: true})
			}
		}
		key := func(a, b pref.Placed) int { return int(a.Member-b.Member)*1000 + int(a.Item-b.Item) }
		got := slices.Clone(d.Placed[g])
		slices.SortFunc(got, key)
		slices.SortFunc(placed, key)
		if !slices.Equal(got, placed) {
			t.Fatalf("group %s's placed list %v, want %v", p.groupName(int32(g)), got, placed)
		}
	}
	n := 0
	for m := range d.Members.Rows {
		cols, ws := d.Members.Row(m)
		for k, i := range cols {
			n++
			if want[[2]int32{int32(m), i}] != ws[k] {
				t.Fatalf("member %d's weight of item %s: %g, want %g", m, p.itemName(i), ws[k], want[[2]int32{int32(m), i}])
			}
		}
	}
	if n != len(want) || d.Credited() != 1260 {
		t.Errorf("%d member entries (want %d), credited weight %g (want 1260)", n, len(want), d.Credited())
	}
	if u := d.WithoutCredit(); u.Members.NNZ() != 0 {
		t.Errorf("without credit, %d member entries remain", u.Members.NNZ())
	}
	// members.bin keeps which part of a row was credited: here all of it
	var buf bytes.Buffer
	if err := p.writeMembers(&buf); err != nil {
		t.Fatal(err)
	}
	ms, err := train.DecodeMembers(buf.Bytes(), d.Items)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms.Rows) != 60 || !reflect.DeepEqual(ms.Credited, ms.Rows) {
		t.Errorf("members.bin: %d rows, credited parts equal to them: %v", len(ms.Rows), reflect.DeepEqual(ms.Credited, ms.Rows))
	}
}
