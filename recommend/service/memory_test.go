package service

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"grouprank/data"
	"grouprank/data/store"
	"grouprank/features"
)

// TestRestoreMemory: without a checkpoint the memory is replayed from 31
// days of events; with one, from it plus only the events that arrived
// after it (a late event for an old time included); a damaged checkpoint
// falls back to the full replay.
func TestRestoreMemory(t *testing.T) {
	dir := t.TempDir()
	live, err := store.OpenLive(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	now := data.TimestampOf(time.Now())
	push := func(id string, sku data.SKU, at data.Timestamp) data.Event {
		return data.Event{ID: id, Kind: data.EventPush, Group: 5, SKU: sku, Time: at, Push: 1}
	}
	if _, err := live.AppendEvents([]data.Event{push("a", 1, now-2*data.Day), push("b", 2, now-data.Day)}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mem, n, from, err := RestoreMemory(context.Background(), live, log, time.Now(), nil)
	if err != nil || n != 2 || from != "31 days of events" {
		t.Fatalf("first start: %v, %d events from %q", err, n, from)
	}
	if err := live.PutCheckpoint(data.Checkpoint{Arrival: live.LastArrival(), State: mem.Encode()}); err != nil {
		t.Fatal(err)
	}
	if _, err := live.AppendEvents([]data.Event{push("late", 3, now-3*data.Day)}); err != nil {
		t.Fatal(err)
	}
	mem, n, from, err = RestoreMemory(context.Background(), live, log, time.Now(), nil)
	if err != nil || n != 1 || !strings.HasPrefix(from, "checkpoint at arrival") {
		t.Fatalf("restart: %v, %d events from %q", err, n, from)
	}
	cat := features.NewCatalog([]data.Product{{SKU: 1, InStock: true}, {SKU: 2, InStock: true}, {SKU: 3, InStock: true}}, now)
	if _, pushed := mem.Recent(5, now, 7*data.Day, cat); len(pushed) != 3 {
		t.Errorf("restored memory holds %d of the 3 pushes", len(pushed))
	}
	if err := live.PutCheckpoint(data.Checkpoint{Arrival: 1, State: []byte{9, 9}}); err != nil {
		t.Fatal(err)
	}
	if _, n, from, err = RestoreMemory(context.Background(), live, log, time.Now(), nil); err != nil || n != 3 || from != "31 days of events" {
		t.Errorf("damaged checkpoint: %v, %d events from %q", err, n, from)
	}
}
