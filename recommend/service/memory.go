package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"grouprank/data"
	"grouprank/recommend"
)

// RestoreMemory rebuilds the push memory: from the newest checkpoint and
// the events that arrived after it, or (no checkpoint, or a damaged one,
// which is logged) by replaying the last 31 days of events. It reports how
// many events it replayed and from what.
func RestoreMemory(ctx context.Context, live MemoryStore, log *slog.Logger, now time.Time, keepBuyers func(data.MemberID) bool) (*recommend.PushMemory, int, string, error) {
	n := 0
	add := func(mem *recommend.PushMemory) func(ev data.Event) error {
		return func(ev data.Event) error {
			n++
			mem.Hear(&ev)
			return nil
		}
	}
	ck, err := live.LoadCheckpoint()
	if err == nil {
		mem, derr := recommend.DecodePushMemory(ck.State)
		if derr == nil {
			mem.KeepBuyers(keepBuyers)
			if err := live.EventsAfter(ctx, ck.Arrival, add(mem)); err != nil {
				return nil, 0, "", err
			}
			return mem, n, fmt.Sprintf("checkpoint at arrival %d", ck.Arrival), nil
		}
		err = derr
	}
	if !errors.Is(err, data.ErrNotFound) {
		log.Warn("the checkpoint cannot be used; replaying 31 days of events", slog.String("error", err.Error()))
	}
	mem := recommend.NewPushMemory()
	mem.KeepBuyers(keepBuyers)
	if err := live.Events(ctx, data.TimestampOf(now)-31*data.Day, add(mem)); err != nil {
		return nil, 0, "", err
	}
	return mem, n, "31 days of events", nil
}

// LiveEvents stores the API's events in the live store (api.EventSink,
// api.OrderIndex): an event is durable once Append returns.
type LiveEvents struct{ L EventLog }

func (le LiveEvents) Append(_ context.Context, evs []data.Event) ([]bool, error) {
	return le.L.AppendEvents(evs)
}

func (le LiveEvents) KnownOrders(_ context.Context, ids []data.OrderID) ([]bool, error) {
	return le.L.KnownOrders(ids)
}
