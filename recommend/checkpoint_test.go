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
		}
	}
	b := m.Encode()
	back, err := DecodePushMemory(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.groups, m.groups) || !reflect.DeepEqual(back.orders, m.orders) || back.latest != m.latest {
		t.Error("decoded memory differs")
	}
	for n := range len(b) {
		if _, err := DecodePushMemory(b[:n]); err == nil {
			t.Fatalf("a record cut to %d of %d bytes decoded", n, len(b))
		}
	}
}
