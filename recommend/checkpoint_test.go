package recommend

import (
	"reflect"
	"testing"

	"grouprank/data"
)

func TestPushMemoryRoundTrip(t *testing.T) {
	m := NewPushMemory()
	t0 := data.Timestamp(1788220800000)
	for g := range data.GroupID(50) {
		for k := range 7 {
			m.Add(g+1, data.SKU(100+int(g)*k), t0+data.Timestamp(k)*data.Hour)
			m.AddOrder(g+1, Order{SKU: data.SKU(k + 1), Quantity: int32(k%3 + 1), Time: t0 + data.Timestamp(k)*data.Day})
			m.AddMemberOrder(data.MemberID(g%7+1), MemberOrder{Group: g % 3, Order: Order{SKU: data.SKU(k + 2), Quantity: 1, Time: t0 + data.Timestamp(k)*data.Hour}})
			m.AddMembership(g+1, MembershipChange{Member: data.MemberID(k + 1), Join: k%2 == 0, Time: t0 + data.Timestamp(k*60_000)})
		}
	}
	b := m.Encode()
	back, err := DecodePushMemory(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.groups, m.groups) || !reflect.DeepEqual(back.orders, m.orders) || back.latest != m.latest ||
		!reflect.DeepEqual(back.buys, m.buys) || !reflect.DeepEqual(back.joins, m.joins) || len(m.buys) != 7 || len(m.joins) != 50 {
		t.Error("decoded memory differs")
	}
	for n := range len(b) {
		if _, err := DecodePushMemory(b[:n]); err == nil {
			t.Fatalf("a record cut to %d of %d bytes decoded", n, len(b))
		}
	}
}

// TestPushMemoryFirstFormat: a checkpoint of the first format (pushes and
// orders, no buyers or memberships) still loads.
func TestPushMemoryFirstFormat(t *testing.T) {
	m := NewPushMemory()
	m.Add(3, 9, 1_790_000_000_000)
	m.AddOrder(3, Order{SKU: 9, Quantity: 2, Time: 1_790_000_100_000})
	b := m.Encode()
	if b[len(b)-2] != 0 || b[len(b)-1] != 0 {
		t.Fatalf("a memory without buyers or memberships ends in %x, want two empty sections", b[len(b)-2:])
	}
	v1 := append([]byte{1}, b[1:len(b)-2]...)
	back, err := DecodePushMemory(v1)
	if err != nil || !reflect.DeepEqual(back.groups, m.groups) || !reflect.DeepEqual(back.orders, m.orders) {
		t.Fatalf("format 1: %v", err)
	}
}
