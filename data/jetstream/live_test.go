package jetstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"grouprank/data"
	"grouprank/data/jetstream/jstest"
)

const t0 = data.Timestamp(1_790_000_000_000)

// open starts n JetStream servers on loopback (a replicated cluster when 3)
// and connects to them.
func open(t testing.TB, n int, o Options) (*Live, *jstest.Cluster) {
	t.Helper()
	c, err := jstest.Start(t.TempDir(), n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Shutdown)
	o.Replicas = n
	l, err := Open(context.Background(), c.URL(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, c
}

func readAll(t *testing.T, l *Live, since data.Timestamp) []data.Event {
	t.Helper()
	var out []data.Event
	if err := l.Events(context.Background(), since, func(e data.Event) error { out = append(out, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func push(id string, g data.GroupID, at data.Timestamp) data.Event {
	return data.Event{ID: id, Kind: data.EventPush, Group: g, SKU: 5, Time: at, Push: data.PushID(len(id))}
}

// Events come back in time order (then id), across days, each once; an id
// sent again within the window is not fresh; EventsAfter replays what
// arrived after a mark, in arrival order; orders are indexed.
func TestEvents(t *testing.T) {
	l, _ := open(t, 1, Options{})
	order := data.Event{ID: "o", Kind: data.EventOrder, Group: 2, SKU: 7, Time: t0 + 5, Order: 1 << 40, Quantity: 2, AmountCents: 990}
	fresh, err := l.AppendEvents([]data.Event{push("c", 1, t0+data.Day+3), push("a", 1, t0+10), order, push("b", 1, t0+10)})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fresh, []bool{true, true, true, true}) {
		t.Fatalf("fresh %v", fresh)
	}
	mark := l.LastArrival()
	fresh, err = l.AppendEvents([]data.Event{push("a", 1, t0+10), push("d", 3, t0+1), push("d", 3, t0+1)})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fresh, []bool{false, true, false}) {
		t.Errorf("fresh %v, want [false true false]: a and the second d were sent before", fresh)
	}
	got := readAll(t, l, 0)
	var ids []string
	for _, e := range got {
		ids = append(ids, e.ID)
	}
	if want := []string{"d", "o", "a", "b", "c"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("events in order %v, want %v", ids, want)
	}
	if !reflect.DeepEqual(got[1], order) {
		t.Errorf("order came back as %+v, want %+v", got[1], order)
	}
	if got := readAll(t, l, t0+data.Day); len(got) != 1 || got[0].ID != "c" {
		t.Errorf("events since the second day: %+v", got)
	}
	var after []string
	if err := l.EventsAfter(context.Background(), mark, func(e data.Event) error { after = append(after, e.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(after, []string{"d"}) {
		t.Errorf("after the mark %v, want [d]", after)
	}
	known, err := l.KnownOrders([]data.OrderID{1 << 40, 7})
	if err != nil || !reflect.DeepEqual(known, []bool{true, false}) {
		t.Errorf("known orders %v, %v", known, err)
	}
}

// An id sent again after the server's de-duplication window is stored
// twice, and every reader still sees it once (the first arrival).
func TestDuplicateAfterTheWindow(t *testing.T) {
	l, _ := open(t, 1, Options{DedupWindow: 200 * time.Millisecond})
	if _, err := l.AppendEvents([]data.Event{push("a", 1, t0)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond)
	late := push("a", 1, t0)
	late.Group = 9 // a different body under the same id: the first arrival wins
	if _, err := l.AppendEvents([]data.Event{late}); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, l, 0); len(got) != 1 || got[0].Group != 1 {
		t.Errorf("events %+v, want the first a only", got)
	}
	n := 0
	if err := l.EventsAfter(context.Background(), 0, func(data.Event) error { n++; return nil }); err != nil || n != 1 {
		t.Errorf("EventsAfter gave %d events (%v), want 1", n, err)
	}
}

// Exposure lists come back item by item in time order, each list once.
func TestExposures(t *testing.T) {
	l, _ := open(t, 1, Options{})
	list := func(req string, at data.Timestamp, n int) []data.Exposure {
		var out []data.Exposure
		for k := range n {
			out = append(out, data.Exposure{RequestID: req, Group: 4, SKU: data.SKU(10 + k), Rank: int32(k + 1), Propensity: 0.5, ModelVersion: "m1",
				Experiment: "x", Arm: "b", Unit: "g4", Time: at})
		}
		return out
	}
	want := append(list("r1", t0, 3), list("r2", t0+7, 2)...)
	if err := l.AppendExposures(append(list("r2", t0+7, 2), list("r1", t0, 3)...)); err != nil {
		t.Fatal(err)
	}
	if err := l.AppendExposures(list("r1", t0, 3)); err != nil { // the same list again
		t.Fatal(err)
	}
	var got []data.Exposure
	if err := l.Exposures(context.Background(), 0, func(e data.Exposure) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("exposures\n got %+v\nwant %+v", got, want)
	}
}

// Concurrent updates of one kind of document from two connections never
// lose one: each is applied on the state the other left.
func TestUpdateDocsConcurrent(t *testing.T) {
	l, c := open(t, 1, Options{})
	l2, err := Open(context.Background(), c.URL(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	inc := func(docs map[string][]byte) (map[string][]byte, error) {
		var n int
		if b := docs["n"]; b != nil {
			json.Unmarshal(b, &n)
		}
		docs["n"], _ = json.Marshal(n + 1)
		return docs, nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for _, x := range []*Live{l, l2} {
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := x.UpdateDocs("layers", inc); err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	docs, err := l2.Docs("layers")
	if err != nil {
		t.Fatal(err)
	}
	if string(docs["n"]) != "40" {
		t.Errorf("after 40 increments the counter is %s", docs["n"])
	}
	refused := errors.New("refused")
	if err := l.UpdateDocs("layers", func(map[string][]byte) (map[string][]byte, error) { return nil, refused }); !errors.Is(err, refused) {
		t.Errorf("fn's error: %v", err)
	}
	if docs, _ := l.Docs("layers"); string(docs["n"]) != "40" {
		t.Errorf("a refused update changed the documents: %s", docs["n"])
	}
}

// Checkpoints and catalogue updates round-trip; none stored is ErrNotFound.
func TestCheckpointAndProducts(t *testing.T) {
	l, _ := open(t, 1, Options{})
	if _, err := l.LoadCheckpoint(); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("no checkpoint yet: %v", err)
	}
	big := bytes.Repeat([]byte("state-"), 1<<19) // 3 MiB: several chunks
	for _, c := range []data.Checkpoint{{Arrival: 3, State: []byte("first")}, {Arrival: 99, State: big}} {
		if err := l.PutCheckpoint(c); err != nil {
			t.Fatal(err)
		}
		got, err := l.LoadCheckpoint()
		if err != nil || got.Arrival != c.Arrival || !bytes.Equal(got.State, c.State) {
			t.Fatalf("checkpoint %d: got arrival %v, %d bytes, %v", c.Arrival, got != nil && got.Arrival == c.Arrival, len(c.State), err)
		}
	}
	if got, err := l.Products(); len(got) != 0 || err != nil {
		t.Errorf("products before any update: %v %v", got, err)
	}
	ps := []data.Product{{SKU: 9, PriceCents: 100, InStock: true}, {SKU: 2, PriceCents: 5}}
	if err := l.PutProducts(ps); err != nil {
		t.Fatal(err)
	}
	ps[0].PriceCents = 120
	if err := l.PutProducts(ps[:1]); err != nil {
		t.Fatal(err)
	}
	got, err := l.Products()
	if err != nil {
		t.Fatal(err)
	}
	if want := []data.Product{ps[1], ps[0]}; !reflect.DeepEqual(got, want) {
		t.Errorf("products %+v, want %+v", got, want)
	}
}

// On a three-server cluster (everything replicated 3 times), events keep
// being acknowledged while one server is down, and none acknowledged is
// lost once it is back.
func TestClusterSurvivesAServer(t *testing.T) {
	l, c := open(t, 3, Options{})
	var sent int
	batch := func(k int) {
		t.Helper()
		var evs []data.Event
		for j := range 50 {
			evs = append(evs, push(fmt.Sprintf("b%d-%d", k, j), data.GroupID(1+j), t0+data.Timestamp(k*100+j)))
		}
		fresh, err := l.AppendEvents(evs)
		if err != nil {
			t.Fatalf("batch %d: %v", k, err)
		}
		for _, f := range fresh {
			if f {
				sent++
			}
		}
	}
	batch(0)
	for k := range 3 {
		c.Kill(k)
		batch(1 + k)
		if err := c.Restart(k); err != nil {
			t.Fatal(err)
		}
		waitCurrent(t, l)
	}
	if got := readAll(t, l, 0); len(got) != sent || sent != 200 {
		t.Errorf("%d events read back, %d acknowledged as new, want 200", len(got), sent)
	}
}

// waitCurrent waits until every replica has caught up (Live.Current).
func waitCurrent(t *testing.T, l *Live) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := l.Current(context.Background())
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replicas not current after 30 s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A snapshot directory uploaded comes back file for file; a version is
// uploaded once; the current version moves only to uploaded versions, and
// a watcher hears the current one and every change.
func TestModels(t *testing.T) {
	l, _ := open(t, 1, Options{})
	ctx := context.Background()
	ms, err := l.Models(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ms.Current(ctx); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("no current model yet: %v", err)
	}
	src := t.TempDir()
	files := map[string][]byte{"MANIFEST": []byte("m"), "000001.sst": bytes.Repeat([]byte{7}, 3<<20), "KEYREGISTRY": nil}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(src, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := ms.Upload(ctx, "v1", src); err != nil {
		t.Fatal(err)
	}
	if err := ms.Upload(ctx, "v1", src); !errors.Is(err, data.ErrConflict) {
		t.Errorf("a second upload of v1: %v", err)
	}
	if err := ms.SetCurrent(ctx, "v2"); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("current set to a version never uploaded: %v", err)
	}
	heard := make(chan string, 16)
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go ms.Watch(wctx, func(v string) { heard <- v })
	if err := ms.SetCurrent(ctx, "v1"); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-heard:
		if v != "v1" {
			t.Errorf("watch heard %q", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the watch heard nothing")
	}
	if v, err := ms.Current(ctx); v != "v1" || err != nil {
		t.Errorf("current %q %v", v, err)
	}
	dst := filepath.Join(t.TempDir(), "snapshots", "v1")
	if err := ms.Fetch(ctx, "v1", dst); err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		got, err := os.ReadFile(filepath.Join(dst, name))
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("%s fetched as %d bytes (%v), want %d", name, len(got), err, len(b))
		}
	}
	if ents, _ := os.ReadDir(filepath.Dir(dst)); len(ents) != 1 {
		t.Errorf("the fetch left %d entries beside the snapshot", len(ents))
	}
	if err := ms.Fetch(ctx, "v9", filepath.Join(t.TempDir(), "v9")); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("fetching an unknown version: %v", err)
	}

	// promotions and rollbacks move the current version and its history together
	if _, err := ms.Rollback(ctx); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("rollback with one promotion: %v", err)
	}
	for _, v := range []string{"v2", "v3"} {
		if err := ms.Upload(ctx, v, src); err != nil {
			t.Fatal(err)
		}
	}
	if vs, err := ms.Published(ctx); !slices.Equal(vs, []string{"v1", "v2", "v3"}) || err != nil {
		t.Errorf("published %v %v", vs, err)
	}
	var wg sync.WaitGroup // two operators promoting at once: both land, one after the other
	errs := make([]error, 2)
	for k, v := range []string{"v2", "v3"} {
		wg.Add(1)
		go func() { defer wg.Done(); errs[k] = ms.SetCurrent(ctx, v) }()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("concurrent promotions: %v", errs)
	}
	last, _ := ms.Current(ctx)
	first := map[string]string{"v2": "v3", "v3": "v2"}[last]
	if prev, err := ms.Previous(ctx); prev != first || err != nil {
		t.Errorf("after promoting v2 and v3 at once (current %s): previous %q %v, want %s", last, prev, err, first)
	}
	for _, want := range []string{first, "v1"} {
		if v, err := ms.Rollback(ctx); v != want || err != nil {
			t.Errorf("rollback made %q current (%v), want %s", v, err, want)
		}
	}
	if _, err := ms.Rollback(ctx); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("rollback past the first promotion: %v", err)
	}
	deadline := time.After(10 * time.Second)
	for got := ""; got != "v1"; { // the watcher hears every change, and the last is v1
		select {
		case got = <-heard:
		case <-deadline:
			t.Fatalf("the watch did not hear the rollback to v1 (last heard %q)", got)
		}
	}
}
