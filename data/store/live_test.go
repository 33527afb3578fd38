package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"grouprank/data"
)

const t0 = data.Timestamp(1_790_000_000_000)

func openLive(t testing.TB) *Live {
	t.Helper()
	l, err := OpenLive(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func readEvents(t *testing.T, l *Live, since data.Timestamp) []data.Event {
	t.Helper()
	var out []data.Event
	if err := l.Events(context.Background(), since, func(e data.Event) error { out = append(out, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// Events come back exactly as stored, in time order, whether written as
// binary records or, before 2026-11-24, as JSON.
func TestEventsRoundTrip(t *testing.T) {
	l := openLive(t)
	evs := []data.Event{
		{ID: "o-1", Kind: data.EventOrder, Group: 7, SKU: 100001, Time: t0 + 3, Push: 99, Order: 1 << 40, Quantity: 3, AmountCents: 1_234_567},
		{ID: "e-\u4e2d\u6587", Kind: data.EventExposure, Group: 1 << 40, SKU: 5, Time: t0 + 1, RequestID: "req-1", Rank: 200},
		{ID: strings.Repeat("x", 128), Kind: data.EventPush, Group: 2, SKU: 6, Time: t0 + 2, Push: 12345678901},
	}
	if _, err := l.AppendEvents(evs); err != nil {
		t.Fatal(err)
	}
	legacy := data.Event{ID: "legacy", Kind: data.EventClick, Group: 3, SKU: 8, Time: t0 + 2, Push: 4}
	b, _ := json.Marshal(&legacy)
	if err := l.db.Update(func(txn *badger.Txn) error { return txn.Set(eventTimeKey(legacy.Time, legacy.ID), b) }); err != nil {
		t.Fatal(err)
	}
	got := readEvents(t, l, 0)
	want := []data.Event{evs[1], legacy, evs[2], evs[0]} // by time, then id
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events:\n got %+v\nwant %+v", got, want)
	}
	if got := readEvents(t, l, t0+3); len(got) != 1 || got[0].ID != "o-1" {
		t.Errorf("events since t0+3: %+v", got)
	}
}

// Exposure lists come back item by item as logged, binary or legacy JSON.
func TestExposuresRoundTrip(t *testing.T) {
	l := openLive(t)
	var exps []data.Exposure
	for k := range 3 {
		exps = append(exps, data.Exposure{RequestID: "r1", Group: 9, SKU: data.SKU(100 + k), Rank: int32(k + 1), Propensity: 1 / float64(k+1),
			ModelVersion: "m1", Experiment: "exp", Arm: "treatment", Unit: "g9", Time: t0 + 5})
	}
	exps = append(exps, data.Exposure{RequestID: "r2", Group: 10, SKU: 7, Rank: 1, Propensity: 0.05 / 20000, ModelVersion: "m1", Time: t0 + 6})
	if err := l.AppendExposures(exps); err != nil {
		t.Fatal(err)
	}
	legacy := data.ExposureList{RequestID: "r0", Group: 8, ModelVersion: "m0", Time: t0, SKU: []data.SKU{1, 2}, Rank: []int32{1, 2}, Propensity: []float64{1, 0.5}}
	b, _ := json.Marshal(&legacy)
	if err := l.db.Update(func(txn *badger.Txn) error { return txn.Set(exposureKey(&legacy), b) }); err != nil {
		t.Fatal(err)
	}
	var got []data.Exposure
	if err := l.Exposures(context.Background(), 0, func(e data.Exposure) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	want := append([]data.Exposure{
		{RequestID: "r0", Group: 8, SKU: 1, Rank: 1, Propensity: 1, ModelVersion: "m0", Time: t0},
		{RequestID: "r0", Group: 8, SKU: 2, Rank: 2, Propensity: 0.5, ModelVersion: "m0", Time: t0},
	}, exps...)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("exposures:\n got %+v\nwant %+v", got, want)
	}
}

// A damaged record is refused with its key named; cutting a binary record
// anywhere is caught, never read as a shorter valid one.
func TestDamagedRecords(t *testing.T) {
	e := data.Event{ID: "o-1", Kind: data.EventOrder, Group: 7, SKU: 100001, Time: t0, Order: 5, Quantity: 1, AmountCents: 990}
	full := encodeEvent(&e)
	for n := range len(full) {
		var got data.Event
		if err := decodeEvent(full[:n], &got); err == nil {
			t.Errorf("event record cut to %d of %d bytes decoded: %+v", n, len(full), got)
		}
	}
	if err := decodeEvent(append(full, 0), new(data.Event)); err == nil {
		t.Error("trailing byte accepted")
	}
	x := data.ExposureList{RequestID: "r", Group: 1, ModelVersion: "m", Time: t0, SKU: []data.SKU{1, 2}, Rank: []int32{1, 2}, Propensity: []float64{1, 0.25}}
	fullX := encodeExposures(&x)
	for n := range len(fullX) {
		if err := decodeExposures(fullX[:n], new(data.ExposureList)); err == nil {
			t.Errorf("exposure record cut to %d of %d bytes decoded", n, len(fullX))
		}
	}
	l := openLive(t)
	if err := l.db.Update(func(txn *badger.Txn) error { return txn.Set(eventTimeKey(t0, "bad"), full[:len(full)-2]) }); err != nil {
		t.Fatal(err)
	}
	err := l.Events(context.Background(), 0, func(data.Event) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "bad") {
		t.Errorf("damaged event: %v, want an error naming its key", err)
	}
}

// BenchmarkReadEvents is what an experiment report does first: reread
// stored events in time order, as binary records and as the JSON records
// stores kept before 2026-11-24. Reports events/s.
func BenchmarkReadEvents(b *testing.B) {
	for _, format := range []string{"binary", "json"} {
		b.Run("format="+format, func(b *testing.B) {
			l := openLive(b)
			const n = 100_000
			evs := make([]data.Event, 0, 1000)
			flush := func() {
				if format == "binary" {
					if _, err := l.AppendEvents(evs); err != nil {
						b.Fatal(err)
					}
				} else if err := l.db.Update(func(txn *badger.Txn) error {
					for k := range evs {
						v, _ := json.Marshal(&evs[k])
						if err := txn.Set(eventTimeKey(evs[k].Time, evs[k].ID), v); err != nil {
							return err
						}
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
				evs = evs[:0]
			}
			for k := range n {
				evs = append(evs, data.Event{ID: fmt.Sprintf("e%09d", k), Kind: data.EventOrder, Group: data.GroupID(k%100000 + 1),
					SKU: data.SKU(k%20000 + 1), Push: data.PushID(k), Order: data.OrderID(k + 1), Quantity: 1, AmountCents: 4990,
					Time: t0 + data.Timestamp(k)})
				if len(evs) == cap(evs) {
					flush()
				}
			}
			b.ResetTimer()
			for range b.N {
				c := 0
				if err := l.Events(context.Background(), 0, func(data.Event) error { c++; return nil }); err != nil || c != n {
					b.Fatalf("%d events, %v", c, err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// The live store indexes the orders it stores, and builds the index once
// for a store written before it existed.
func TestKnownOrders(t *testing.T) {
	dir := t.TempDir()
	l, err := OpenLive(dir)
	if err != nil {
		t.Fatal(err)
	}
	evs := []data.Event{{ID: "o1", Kind: data.EventOrder, Group: 1, SKU: 5, Time: t0, Order: 11, Quantity: 1, AmountCents: 100},
		{ID: "p1", Kind: data.EventPush, Group: 1, SKU: 5, Time: t0, Push: 12}}
	if _, err := l.AppendEvents(evs); err != nil {
		t.Fatal(err)
	}
	check := func(l *Live, when string) {
		t.Helper()
		got, err := l.KnownOrders([]data.OrderID{11, 12, 13})
		if err != nil || !reflect.DeepEqual(got, []bool{true, false, false}) {
			t.Errorf("%s: known orders %v, %v; want only 11", when, got, err)
		}
	}
	check(l, "after the append")
	// a store from before the index: drop it, reopen
	if err := l.db.DropPrefix([]byte(orderPrefix), []byte(orderIndexKey)); err != nil {
		t.Fatal(err)
	}
	if got, _ := l.KnownOrders([]data.OrderID{11}); got[0] {
		t.Fatal("the index was not dropped")
	}
	l.Close()
	if l, err = OpenLive(dir); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	check(l, "after reopening a store without the index")
}

// TestEventBuyer: a buyer round-trips; a record written before events
// carried one (format 1) still decodes, without it.
func TestEventBuyer(t *testing.T) {
	e := data.Event{ID: "o-2", Kind: data.EventOrder, Buyer: 42, SKU: 7, Time: t0, Order: 9, Quantity: 1, AmountCents: 100}
	var got data.Event
	if err := decodeEvent(encodeEvent(&e), &got); err != nil || got != e {
		t.Fatalf("round trip: %v %+v", err, got)
	}
	old := encodeEvent(&e)
	old[0] = recordBinary
	old = old[:len(old)-1] // format 1 had no buyer (42 is one varint byte)
	if err := decodeEvent(old, &got); err != nil || got.Buyer != 0 || got.Order != 9 {
		t.Errorf("format-1 record: %v %+v", err, got)
	}
}

// TestArrivalAndCheckpoint: events are numbered in arrival order (an event
// arriving late for an old time comes after), EventsAfter replays from a
// number, and a checkpoint round-trips, replacing the previous one;
// reopening keeps the numbers going.
func TestArrivalAndCheckpoint(t *testing.T) {
	dir := t.TempDir()
	l, err := OpenLive(dir)
	if err != nil {
		t.Fatal(err)
	}
	ev := func(id string, at data.Timestamp) data.Event {
		return data.Event{ID: id, Kind: data.EventPush, Group: 1, SKU: 2, Time: at, Push: 3}
	}
	if _, err := l.AppendEvents([]data.Event{ev("a", t0+10), ev("b", t0+20)}); err != nil {
		t.Fatal(err)
	}
	mark := l.LastArrival()
	if _, err := l.AppendEvents([]data.Event{ev("late", t0), ev("a", t0+10)}); err != nil { // "a" again: not stored twice
		t.Fatal(err)
	}
	var after []string
	l.EventsAfter(context.Background(), mark, func(e data.Event) error { after = append(after, e.ID); return nil })
	if !reflect.DeepEqual(after, []string{"late"}) || mark != 2 {
		t.Errorf("after arrival %d: %v", mark, after)
	}
	if _, err := l.LoadCheckpoint(); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("no checkpoint yet: %v", err)
	}
	big := make([]byte, 3*checkpointChunk+5)
	for i := range big {
		big[i] = byte(i * 7)
	}
	for _, c := range []data.Checkpoint{{Arrival: 1, State: []byte("first")}, {Arrival: mark, State: big}} {
		if err := l.PutCheckpoint(c); err != nil {
			t.Fatal(err)
		}
		got, err := l.LoadCheckpoint()
		if err != nil || got.Arrival != c.Arrival || !bytes.Equal(got.State, c.State) {
			t.Fatalf("checkpoint %d: %v", c.Arrival, err)
		}
	}
	chunks := 0
	l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(checkpointPrefix)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			chunks++
		}
		return nil
	})
	if chunks != 4 {
		t.Errorf("%d checkpoint chunks stored, want the newest one's 4 (the first's deleted)", chunks)
	}
	l.Close()
	if l, err = OpenLive(dir); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.LastArrival() != 3 {
		t.Errorf("reopened at arrival %d, want 3", l.LastArrival())
	}
	l.AppendEvents([]data.Event{ev("c", t0+30)})
	if l.LastArrival() <= 3 {
		t.Errorf("a new event after reopening got arrival %d", l.LastArrival())
	}
}

// A scan stops with the context's error once the context is done, within
// 1,024 records, for each of the three scans.
func TestScansStopWithContext(t *testing.T) {
	l := openLive(t)
	var evs []data.Event
	var exps []data.Exposure
	for k := range 3000 {
		evs = append(evs, data.Event{ID: fmt.Sprintf("p%d", k), Kind: data.EventPush, Group: 1, SKU: 2, Time: t0 + data.Timestamp(k), Push: data.PushID(k + 1)})
		exps = append(exps, data.Exposure{RequestID: fmt.Sprintf("r%d", k), Group: 1, SKU: 2, Rank: 1, Propensity: 1, Time: t0 + data.Timestamp(k)})
	}
	if _, err := l.AppendEvents(evs); err != nil {
		t.Fatal(err)
	}
	if err := l.AppendExposures(exps); err != nil {
		t.Fatal(err)
	}
	scans := map[string]func(ctx context.Context, stop func()) error{
		"Events": func(ctx context.Context, stop func()) error {
			return l.Events(ctx, 0, func(data.Event) error { stop(); return nil })
		},
		"EventsAfter": func(ctx context.Context, stop func()) error {
			return l.EventsAfter(ctx, 0, func(data.Event) error { stop(); return nil })
		},
		"Exposures": func(ctx context.Context, stop func()) error {
			return l.Exposures(ctx, 0, func(data.Exposure) error { stop(); return nil })
		},
	}
	for name, scan := range scans {
		t.Run(name, func(t *testing.T) {
			if err := scan(context.Background(), func() {}); err != nil {
				t.Fatalf("uncancelled: %v", err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			seen := 0
			err := scan(ctx, func() { seen++; cancel() })
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled after the first record: err %v, want context.Canceled", err)
			}
			if seen > 1024 {
				t.Errorf("%d records after the cancel, want at most 1,024", seen)
			}
		})
	}
}
