package recommend_test

import (
	"bytes"
	"testing"

	"grouprank/data"
	"grouprank/recommend"
)

// FuzzGroupRecord: a snapshot's group records decode without panicking;
// what decodes re-encodes to a record that decodes the same.
func FuzzGroupRecord(f *testing.F) {
	g := recommend.Group{Vector: []float32{0.1, -0.2}, L1: []float32{0.5, 0.5}, L1Recent: []float32{3, 9}, Weight: 2, PerDay: 0.3, DaysSince: 1,
		Orders: []recommend.Order{{SKU: 5, Quantity: 1, Time: 1_790_000_000_000}}}
	f.Add(recommend.EncodeGroup(&g))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := recommend.DecodeGroup(b)
		if err != nil {
			return
		}
		again, err := recommend.DecodeGroup(recommend.EncodeGroup(&g))
		if err != nil || len(again.Vector) != len(g.Vector) || len(again.Orders) != len(g.Orders) {
			t.Fatalf("%x decodes to a group whose record does not decode the same: %v", b, err)
		}
	})
}

// FuzzPushMemory: a checkpoint of the service's memory decodes without
// panicking; what decodes re-encodes to the same bytes.
func FuzzPushMemory(f *testing.F) {
	m := recommend.NewPushMemory()
	m.Hear(&data.Event{ID: "p", Kind: data.EventPush, Group: 3, SKU: 9, Time: 1_790_000_000_000, Push: 1})
	m.Hear(&data.Event{ID: "o", Kind: data.EventOrder, Group: 3, Buyer: 4, SKU: 9, Time: 1_790_000_100_000, Order: 1, Quantity: 2})
	m.Hear(&data.Event{ID: "j", Kind: data.EventJoin, Group: 3, Buyer: 5, Time: 1_790_000_200_000})
	f.Add(m.Encode())
	f.Add([]byte{1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := recommend.DecodePushMemory(b)
		if err != nil {
			return
		}
		again, err := recommend.DecodePushMemory(m.Encode())
		if err != nil || !bytes.Equal(again.Encode(), m.Encode()) {
			t.Fatalf("%x decodes to a memory whose checkpoint does not decode the same: %v", b, err)
		}
	})
}
