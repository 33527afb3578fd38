package data

import (
	"slices"
	"testing"
)

// TestApplyMembership: joins open memberships and leaves close them, in
// time order whatever the order given; a second join of a member in the
// group, a leave of a stranger and other events change nothing.
func TestApplyMembership(t *testing.T) {
	ms := []Membership{{Group: 2, Member: 5, Joined: 10}, {Group: 1, Member: 7}}
	ev := func(k EventKind, g GroupID, m MemberID, at Timestamp) Event {
		return Event{ID: "x", Kind: k, Group: g, Buyer: m, Time: at}
	}
	got := ApplyMembership(ms, []Event{
		ev(EventLeave, 1, 7, 30),
		ev(EventJoin, 1, 8, 20),
		ev(EventJoin, 1, 7, 40),  // rejoins after leaving at 30
		ev(EventJoin, 2, 5, 25),  // already in
		ev(EventLeave, 2, 9, 26), // a stranger
		{ID: "o", Kind: EventOrder, Group: 1, Buyer: 8, SKU: 3, Time: 21, Order: 1, Quantity: 1},
	})
	want := []Membership{{Group: 1, Member: 7, Left: 30}, {Group: 1, Member: 7, Joined: 40}, {Group: 1, Member: 8, Joined: 20},
		{Group: 2, Member: 5, Joined: 10}}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if ms[1].Left != UnknownTime {
		t.Error("the input table was changed")
	}
}
