package recommend

import (
	"reflect"
	"testing"

	"grouprank/data"
	"grouprank/features"
)

// TestLiveMembers: a group's members' row follows joins, leaves and its
// members' orders heard since the snapshot, with the snapshot's definition
// (the mean over members with orders outside the group of their rows
// without what they placed in it), computed by hand below.
func TestLiveMembers(t *testing.T) {
	cat := sixItems()
	const since = data.Timestamp(1_000_000)
	m := &Model{Ranker: &Ranker{Scorer: &Scorer{in: &Inputs{Cat: cat}}}, fold: &foldIn{since: since, pref: &Preference{}}}
	w := weightedPairs
	// Member 10 bought items 0 and 1, item 1 in group 1; member 11 bought item 2 twice, elsewhere.
	m.Members = NewMembers(map[data.MemberID][]features.Weighted{10: w(0, 1, 1, 1), 11: w(2, 2)},
		map[data.MemberID][]MemberOf{10: {{Group: 1, Placed: w(1, 1)}}, 11: {{Group: 1}, {Group: 2}}})
	mem := NewPushMemory()
	check := func(what string, g data.GroupID, extra []data.MemberID, want []features.Weighted) {
		t.Helper()
		checkLive(t, what, m, g, extra, mem, want)
	}
	check("nothing heard", 1, nil, nil)
	buy := func(id string, g data.GroupID, b data.MemberID, sku data.SKU, at data.Timestamp) {
		mem.Hear(&data.Event{ID: id, Kind: data.EventOrder, Group: g, Buyer: b, SKU: sku, Time: at, Order: 1, Quantity: 1})
	}
	member := func(id string, k data.EventKind, g data.GroupID, b data.MemberID, at data.Timestamp) {
		mem.Hear(&data.Event{ID: id, Kind: k, Group: g, Buyer: b, Time: at})
	}
	buy("old", data.NoGroup, 11, 5, since-1) // before the snapshot: in it already
	member("old-join", data.EventJoin, 1, 13, since-1)
	check("events before the snapshot", 1, nil, nil)
	buy("own", data.NoGroup, 11, 4, since+1) // member 11's own order of item 3
	check("a member's own order", 1, nil, w(0, 0.5, 2, 1, 3, 0.5))
	check("the member's other group", 2, nil, w(2, 2, 3, 1))
	buy("in-group", 1, 11, 6, since+2) // placed in group 1: the group's own row, not its members'
	check("an order placed in the group", 1, nil, w(0, 0.5, 2, 1, 3, 0.5))
	member("join", data.EventJoin, 1, 12, since+3)
	check("a member without orders joins", 1, nil, w(0, 0.5, 2, 1, 3, 0.5))
	buy("elsewhere", 2, 12, 5, since+4) // member 12 orders item 4 in group 2
	check("the new member orders elsewhere", 1, nil, w(0, 1.0/3, 2, 2.0/3, 3, 1.0/3, 4, 1.0/3))
	member("leave", data.EventLeave, 1, 10, since+5)
	check("a member leaves", 1, nil, w(2, 1, 3, 0.5, 4, 0.5))
	check("a new group named with its members", 99, []data.MemberID{10, 404}, w(0, 1, 1, 1))
	member("join-new", data.EventJoin, 99, 11, since+6)
	check("a new group someone joined", 99, nil, w(2, 2, 3, 1, 5, 1))
}

// TestKeepBuyers: with a filter, the memory keeps the orders of the buyers
// it admits and of members who joined a group, and no others; a checkpoint
// keeps who joined.
func TestKeepBuyers(t *testing.T) {
	mem := NewPushMemory()
	mem.KeepBuyers(func(m data.MemberID) bool { return m == 11 })
	order := func(b data.MemberID, at data.Timestamp) {
		mem.Hear(&data.Event{ID: "o", Kind: data.EventOrder, Group: 5, Buyer: b, SKU: 1, Time: at, Order: 1, Quantity: 1})
	}
	order(11, 10)
	order(99, 11)
	if len(mem.BuysSince(11, 0)) != 1 || len(mem.BuysSince(99, 0)) != 0 {
		t.Fatalf("kept %d of 11's orders and %d of 99's, want 1 and 0", len(mem.BuysSince(11, 0)), len(mem.BuysSince(99, 0)))
	}
	if len(mem.OrdersSince(5, 0)) != 2 {
		t.Error("the group's own orders depend on the buyer filter")
	}
	mem.Hear(&data.Event{ID: "j", Kind: data.EventJoin, Group: 6, Buyer: 99, Time: 12})
	back, err := DecodePushMemory(mem.Encode())
	if err != nil {
		t.Fatal(err)
	}
	back.KeepBuyers(func(data.MemberID) bool { return false })
	for _, m := range []*PushMemory{mem, back} {
		m.Hear(&data.Event{ID: "o2", Kind: data.EventOrder, Group: 5, Buyer: 99, SKU: 1, Time: 13, Order: 2, Quantity: 1})
		if len(m.BuysSince(99, 0)) != 1 {
			t.Errorf("a member who joined a group: %d orders kept, want 1", len(m.BuysSince(99, 0)))
		}
	}
}

// TestLiveMembersCredit: with Preference.Credit, an order placed in a
// group that names no buyer joins, in each of the group's members' other
// groups, that member's row (a member at training until a leave heard
// before it, a member who joined since from the join on; the group's own
// members' row never holds it); without Credit it changes no members' row.
// A checkpoint and a clone keep which orders named no buyer and who joined
// where, and a sweep that drops them leaves the snapshot's rows.
func TestLiveMembersCredit(t *testing.T) {
	cat := sixItems()
	const since = data.Timestamp(1_000_000)
	w := weightedPairs
	model := func(credit bool) *Model {
		m := &Model{Ranker: &Ranker{Scorer: &Scorer{in: &Inputs{Cat: cat}}}, fold: &foldIn{since: since, pref: &Preference{Credit: credit}}}
		// Member 10 (groups 1 and 2) bought items 0 and 1, item 1 in group 1; member 11 (group 1) item 2 twice.
		m.Members = NewMembers(map[data.MemberID][]features.Weighted{10: w(0, 1, 1, 1), 11: w(2, 2)},
			map[data.MemberID][]MemberOf{10: {{Group: 1, Placed: w(1, 1)}, {Group: 2}}, 11: {{Group: 1}}})
		return m
	}
	credit, plain := model(true), model(false)
	mem := NewPushMemory()
	check := func(what string, m *Model, mem *PushMemory, g data.GroupID, want []features.Weighted) {
		t.Helper()
		checkLive(t, what, m, g, nil, mem, want)
	}
	unnamed := func(id string, g data.GroupID, sku data.SKU, at data.Timestamp) {
		mem.Hear(&data.Event{ID: id, Kind: data.EventOrder, Group: g, Buyer: data.UnknownMember, SKU: sku, Time: at, Order: 1, Quantity: 3})
	}
	unnamed("before", 2, 6, since-1) // in the snapshot already
	check("an order before the snapshot", credit, mem, 1, nil)
	unnamed("u1", 2, 4, since+1) // item 3 in group 2, which member 10 belongs to
	// group 1: member 10's row without item 1 (placed in it) plus item 3, member 11's as it was
	check("credited in the member's other group", credit, mem, 1, w(0, 0.5, 2, 1, 3, 0.5))
	check("not credited in the group it was placed in", credit, mem, 2, nil)
	check("a model that does not credit", plain, mem, 1, nil)
	mem.Hear(&data.Event{ID: "leave", Kind: data.EventLeave, Group: 2, Buyer: 10, Time: since + 2})
	unnamed("u2", 2, 5, since+3) // member 10 left group 2 before it
	check("an order after the member left", credit, mem, 1, w(0, 0.5, 2, 1, 3, 0.5))
	unnamed("u3", 3, 6, since+3) // group 3, before member 11 joins it
	mem.Hear(&data.Event{ID: "join", Kind: data.EventJoin, Group: 3, Buyer: 11, Time: since + 4})
	unnamed("u4", 3, 2, since+5) // item 1, after: credited to member 11
	joinedRow := w(0, 0.5, 1, 0.5, 2, 1, 3, 0.5)
	check("an order in a group the member joined since", credit, mem, 1, joinedRow)
	back, err := DecodePushMemory(mem.Encode())
	if err != nil {
		t.Fatal(err)
	}
	check("the memory from its checkpoint", credit, back, 1, joinedRow)
	check("a clone of it", credit, back.Clone(), 1, joinedRow)
	back.Sweep(since + (OrderDays+1)*data.Day)
	check("the orders swept away", credit, back, 1, nil)
}

// TestMembersChangedAlone: each thing heard that changes a group's
// members' row does so on its own, so the check that spares a request the
// row's work when nothing changed (PushMemory.membersChanged) passes none
// of them by, and what concerns other groups leaves the row as it is.
func TestMembersChangedAlone(t *testing.T) {
	cat := sixItems()
	const since = data.Timestamp(1_000_000)
	w := weightedPairs
	m := &Model{Ranker: &Ranker{Scorer: &Scorer{in: &Inputs{Cat: cat}}}, fold: &foldIn{since: since, pref: &Preference{Credit: true}}}
	// members 10 (groups 1 and 2) and 11 (group 1); member 12 in group 5 alone
	m.Members = NewMembers(map[data.MemberID][]features.Weighted{10: w(0, 1), 11: w(2, 2), 12: w(4, 1)},
		map[data.MemberID][]MemberOf{10: {{Group: 1}, {Group: 2}}, 11: {{Group: 1}}, 12: {{Group: 5}}})
	order := func(id string, g data.GroupID, buyer data.MemberID, sku data.SKU, at data.Timestamp) *data.Event {
		return &data.Event{ID: id, Kind: data.EventOrder, Group: g, Buyer: buyer, SKU: sku, Time: at, Order: 1, Quantity: 1}
	}
	for _, c := range []struct {
		what    string
		heard   []*data.Event
		changed bool
	}{
		{"elsewhere: a group order naming no buyer in a group no member of group 1 is in, and member 12's order", []*data.Event{
			order("u", 5, data.UnknownMember, 4, since+1), order("b", 5, 12, 5, since+1)}, false},
		{"before the snapshot: member 10's order", []*data.Event{order("b", 2, 10, 4, since-1)}, false},
		{"member 10's own order", []*data.Event{order("b", data.NoGroup, 10, 4, since+1)}, true},
		{"a group order naming no buyer in member 10's other group", []*data.Event{order("u", 2, data.UnknownMember, 4, since+1)}, true},
		{"a group order naming no buyer in group 1 itself (its own row's)", []*data.Event{order("u", 1, data.UnknownMember, 4, since+1)}, false},
		{"a group order naming no buyer in a group member 11 joined", []*data.Event{
			{ID: "j", Kind: data.EventJoin, Group: 5, Buyer: 11, Time: since + 1}, order("u", 5, data.UnknownMember, 4, since+2)}, true},
		{"member 12 joining group 1", []*data.Event{{ID: "j", Kind: data.EventJoin, Group: 1, Buyer: 12, Time: since + 1}}, true},
	} {
		mem := NewPushMemory()
		for _, e := range c.heard {
			mem.Hear(e)
		}
		if got := mem.membersChanged(1, m.Members, nil, since, true); got != c.changed {
			t.Errorf("%s: changed %v, want %v", c.what, got, c.changed)
		}
		if _, got := m.liveMembers(1, nil, mem); got != c.changed {
			t.Errorf("%s: the row changed %v, want %v", c.what, got, c.changed)
		}
	}
}

// weightedPairs is a row from (item, weight) pairs.
func weightedPairs(pairs ...float32) []features.Weighted {
	var out []features.Weighted
	for k := 0; k < len(pairs); k += 2 {
		out = append(out, features.Weighted{ID: int32(pairs[k]), Weight: pairs[k+1]})
	}
	return out
}

// sixItems is a catalogue of SKUs 1 to 6 (items 0 to 5) without prices or commission.
func sixItems() *features.Catalog {
	var ps []data.Product
	for i := range 6 {
		ps = append(ps, data.Product{SKU: data.SKU(i + 1), PriceCents: data.UnknownPrice, Commission: data.UnknownRate, InStock: true})
	}
	return features.NewCatalog(ps, data.UnknownTime)
}

// checkLive checks m's live members' row of group g (with extra members
// named) against want (nil: unchanged, the snapshot's).
func checkLive(t *testing.T, what string, m *Model, g data.GroupID, extra []data.MemberID, mem *PushMemory, want []features.Weighted) {
	t.Helper()
	got, ok := m.liveMembers(g, extra, mem)
	if want == nil {
		if ok {
			t.Errorf("%s: changed (%v), want the snapshot's row", what, got)
		}
		return
	}
	if !ok || !reflect.DeepEqual(got, want) {
		t.Errorf("%s: %v (changed %v), want %v", what, got, ok, want)
	}
}

// TestMembersBoughtOwnOnly: a reason counts the members whose own orders
// hold the item, never an order credited to them from a group's order that
// named no buyer.
func TestMembersBoughtOwnOnly(t *testing.T) {
	w := weightedPairs
	// member 10 bought item 0, and was credited item 1 and a second line of item 0; member 11 was credited item 0
	ms := NewMembers(map[data.MemberID][]features.Weighted{10: w(0, 2, 1, 1), 11: w(0, 1)}, nil)
	ms.Credited = map[data.MemberID][]features.Weighted{10: w(0, 1, 1, 1), 11: w(0, 1)}
	ids := []data.MemberID{10, 11, 12}
	if got := ms.bought(ids, 0); got != 1 {
		t.Errorf("item 0: %d members bought it, want 1 (member 10's own line)", got)
	}
	if got := ms.bought(ids, 1); got != 0 {
		t.Errorf("item 1: %d members bought it, want 0 (credited only)", got)
	}
	ms.Credited = nil
	if got := ms.bought(ids, 0); got != 2 {
		t.Errorf("without credited parts: %d members bought item 0, want 2", got)
	}
}
