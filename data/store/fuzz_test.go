package store

import (
	"bytes"
	"testing"

	"grouprank/data"
)

// FuzzEventRecord: the live store's binary event records (and their JSON
// predecessors) decode without panicking; whatever decodes and checks out
// encodes back to a record that decodes to the same event.
func FuzzEventRecord(f *testing.F) {
	for _, e := range []data.Event{
		{ID: "o1", Kind: data.EventOrder, Group: 1, SKU: 5, Time: 1_790_000_000_000, Order: 11, Quantity: 2, AmountCents: 990, Push: 3},
		{ID: "x", Kind: data.EventExposure, Group: 2, SKU: 7, Time: 1_790_000_000_000, RequestID: "r", Rank: 3},
	} {
		f.Add(encodeEvent(&e))
	}
	f.Add([]byte(`{"ID":"j","Kind":2,"Group":1,"SKU":1,"Time":1790000000000,"Push":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var e data.Event
		if err := decodeEvent(b, &e); err != nil || e.Check() != nil {
			return
		}
		var again data.Event
		if err := decodeEvent(encodeEvent(&e), &again); err != nil || again != e {
			t.Fatalf("%x: %+v re-encoded decodes to %+v (%v)", b, e, again, err)
		}
	})
}

// FuzzExposureRecord: stored exposure lists decode without panicking.
func FuzzExposureRecord(f *testing.F) {
	f.Add([]byte(`{"r":"r1","g":1,"m":"v1","t":1790000000000,"s":[5,6],"k":[1,2],"p":[1,1]}`))
	f.Add(bytes.Repeat([]byte{0xff}, 40))
	f.Fuzz(func(t *testing.T, b []byte) {
		var l data.ExposureList
		_ = decodeExposures(b, &l)
	})
}
