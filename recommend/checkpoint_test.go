package recommend

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"slices"
	"testing"

	"grouprank/data"
)

func TestPushMemoryRoundTrip(t *testing.T) {
	m := NewPushMemory()
	t0 := data.Timestamp(1788220800000)
	for g := range data.GroupID(50) {
		for k := range 7 {
			m.Add(g+1, data.SKU(100+int(g)*k), t0+data.Timestamp(k)*data.Hour)
			m.AddOrder(g+1, Order{SKU: data.SKU(k + 1), Quantity: int32(k%3 + 1), Time: t0 + data.Timestamp(k)*data.Day, Unnamed: k%4 == 1})
			m.AddMemberOrder(data.MemberID(g%7+1), MemberOrder{Group: g % 3, Order: Order{SKU: data.SKU(k + 2), Quantity: 1, Time: t0 + data.Timestamp(k)*data.Hour}})
			m.AddMembership(g+1, MembershipChange{Member: data.MemberID(k + 1), Join: k%2 == 0, Time: t0 + data.Timestamp(k*60_000)})
		}
	}
	b := m.Encode()
	if c := m.Clone(); !bytes.Equal(c.Encode(), b) {
		t.Error("a clone encodes differently from its memory")
	}
	back, err := DecodePushMemory(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.groups, m.groups) || !reflect.DeepEqual(back.orders, m.orders) || back.latest != m.latest ||
		!reflect.DeepEqual(back.buys, m.buys) || !reflect.DeepEqual(back.joins, m.joins) || len(m.buys) != 7 || len(m.joins) != 50 ||
		!reflect.DeepEqual(back.unnamedAt, m.unnamedAt) || len(m.unnamedAt) != 50 || m.unnamedAt[1] != t0+5*data.Day {
		t.Error("decoded memory differs")
	}
	for n := range len(b) {
		if _, err := DecodePushMemory(b[:n]); err == nil {
			t.Fatalf("a record cut to %d of %d bytes decoded", n, len(b))
		}
	}
}

// TestPushMemoryOlderFormats: checkpoints of the first format (pushes and
// orders) and the second (with buyers and memberships, orders without
// whether they name a buyer) still load, their orders naming one.
func TestPushMemoryOlderFormats(t *testing.T) {
	m := NewPushMemory()
	m.Add(3, 9, 1_790_000_000_000)
	m.AddOrder(3, Order{SKU: 9, Quantity: 2, Time: 1_790_000_100_000})
	for format := byte(1); format <= 2; format++ {
		b := []byte{format}
		b = binary.AppendVarint(b, 1_790_000_100_000)                          // latest
		b = binary.AppendVarint(binary.AppendUvarint(b, 1), 3)                 // pushes: group 3
		b = binary.AppendVarint(binary.AppendUvarint(b, 1), 9)                 // one push, SKU 9
		b = binary.AppendVarint(b, 1_790_000_000_000)                          // at
		b = binary.AppendVarint(binary.AppendUvarint(b, 1), 3)                 // orders: group 3
		b = appendVarints(binary.AppendUvarint(b, 1), 9, 2, 1_790_000_100_000) // one order
		if format == 2 {
			b = binary.AppendUvarint(binary.AppendUvarint(b, 0), 0) // no buyers, no memberships
		}
		back, err := DecodePushMemory(b)
		if err != nil || !reflect.DeepEqual(back.groups, m.groups) || !reflect.DeepEqual(back.orders, m.orders) || len(back.unnamedAt) != 0 {
			t.Fatalf("format %d: %v", format, err)
		}
	}
}

// TestCloneIsIndependent: what the memory hears after a clone, in place or
// appended, leaves the clone as it was.
func TestCloneIsIndependent(t *testing.T) {
	m := NewPushMemory()
	t0 := data.Timestamp(1_790_000_000_000)
	for k := range 5 {
		m.Add(1, data.SKU(k+1), t0+data.Timestamp(2*k)*data.Hour)
		m.AddOrder(1, Order{SKU: 1, Quantity: 1, Time: t0})
	}
	c := m.Clone()
	before := c.Encode()
	m.Add(1, 99, t0+data.Hour) // inserted between earlier pushes, in place
	m.Add(2, 7, t0)
	m.AddOrder(1, Order{SKU: 2, Quantity: 1, Time: t0 + 1})
	c.Add(1, 42, t0+3*data.Hour) // and the clone's own appends stay in its list
	if after := m.Clone().Encode(); bytes.Equal(after, before) {
		t.Fatal("the memory did not change")
	}
	c2 := c.Clone()
	c2.groups[1] = slices.DeleteFunc(slices.Clone(c2.groups[1]), func(p timedSKU) bool { return p.sku == 42 })
	if !bytes.Equal(c2.Encode(), before) {
		t.Error("the clone changed with the memory")
	}
}
