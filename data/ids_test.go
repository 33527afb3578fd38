package data

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestIDMapRoundTrip(t *testing.T) {
	m := NewIDMap()
	for _, n := range []string{"0", "g-7", "0", "x"} {
		m.Intern(IDGroup, n)
	}
	m.Intern(IDSKU, "0")
	if id, _ := m.Lookup(IDGroup, "x"); id != 3 || m.Name(IDGroup, 2) != "g-7" || m.Len(IDGroup) != 3 {
		t.Errorf("ids: x=%d, 2=%s, len %d", id, m.Name(IDGroup, 2), m.Len(IDGroup))
	}
	if m.Name(IDMember, 5) != "5" {
		t.Error("an unmapped kind is not its decimal id")
	}
	back, err := IDMapFrom(m.Rows())
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := back.Resolve(IDSKU, "0"); !ok || id != 1 {
		t.Errorf("rebuilt map resolves sku 0 to %d %v", id, ok)
	}
	if id, ok := back.Resolve(IDMember, "12"); !ok || id != 12 {
		t.Error("a kind without a map resolves decimal ids as themselves")
	}
	rows := m.Rows()
	rows[1].ID = 9
	if _, err := IDMapFrom(rows); err == nil || !strings.Contains(err.Error(), "out of sequence") {
		t.Errorf("gap accepted: %v", err)
	}
}

func TestOwnOrders(t *testing.T) {
	ok := Order{ID: 1, Buyer: 3, SKU: 2, Quantity: 1, AmountCents: UnknownPrice, Status: StatusPlaced}
	if err := ok.Validate(); err != nil || !ok.Own() {
		t.Errorf("a member's own order: %v", err)
	}
	for field, o := range map[string]Order{
		"buyer": {ID: 1, SKU: 2, Quantity: 1, Status: StatusPlaced},
		"push":  {ID: 1, Buyer: 3, SKU: 2, Quantity: 1, Status: StatusPlaced, Push: 4},
		"group": {ID: 1, Group: -1, Buyer: 3, SKU: 2, Quantity: 1, Status: StatusPlaced},
	} {
		err := o.Validate()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("%s: %v", field, err)
		}
	}
}

func TestOwnOrderEvents(t *testing.T) {
	base := Event{ID: "e", Kind: EventOrder, SKU: 3, Time: 1788220800000, Order: 1, Quantity: 1}
	own := base
	own.Buyer = 5
	if err := own.Check(); err != nil {
		t.Errorf("a member's own order event: %v", err)
	}
	for field, e := range map[string]Event{
		"buyer": base, // group 0 without a buyer
		"group": {ID: "e", Kind: EventPush, SKU: 3, Time: 1788220800000, Push: 1, Buyer: 5},
		"push":  {ID: "e", Kind: EventOrder, Buyer: 5, SKU: 3, Time: 1788220800000, Order: 1, Quantity: 1, Push: 2},
	} {
		var fe *FieldError
		if err := e.Check(); !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("%s: %v", field, err)
		}
	}
}

func TestIDMapCanonicalize(t *testing.T) {
	m := NewIDMap()
	for _, n := range []string{"10", "b", "2", "07", "a", "7", "-3"} {
		m.Intern(IDGroup, n)
	}
	m.Intern(IDSKU, "5")
	renum := m.Canonicalize()
	want := []string{"-3", "2", "07", "7", "10", "a", "b"}
	for i, n := range want {
		if got := m.Name(IDGroup, int64(i+1)); got != n {
			t.Errorf("group %d is %q, want %q", i+1, got, n)
		}
		if id, _ := m.Lookup(IDGroup, n); id != int64(i+1) {
			t.Errorf("%q looks up %d, want %d", n, id, i+1)
		}
	}
	// first seen: 10 b 2 07 a 7 -3 -> 5 7 2 3 6 4 1
	if got := renum[IDGroup][1:]; !slices.Equal(got, []int64{5, 7, 2, 3, 6, 4, 1}) {
		t.Errorf("renumbering %v", got)
	}
	if got := renum[IDSKU][1:]; !slices.Equal(got, []int64{1}) {
		t.Errorf("sku renumbering %v", got)
	}
	if _, err := IDMapFrom(m.Rows()); err != nil {
		t.Fatal(err)
	}
}
