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
	mem, n, from, _, err := restore(ctx, live, nil, log, now, keepBuyers)
	return mem, n, from, err
}

// RestoreFollowed rebuilds the memory of a replica that follows a shared
// log (Follower): from the newest checkpoint alone, the follower replaying
// what arrived after it, or by replaying the last 31 days. It also returns
// the arrival mark the memory holds, where the follower starts. Events
// stored while the 31 days are replayed may be heard twice (once by the
// replay, once by the follower); with a checkpoint, none is.
func RestoreFollowed(ctx context.Context, live MemoryStore, last func() uint64, log *slog.Logger, now time.Time, keepBuyers func(data.MemberID) bool) (*recommend.PushMemory, int, string, uint64, error) {
	return restore(ctx, live, last, log, now, keepBuyers)
}

// restore is RestoreMemory, or, with last (the log's newest arrival),
// RestoreFollowed.
func restore(ctx context.Context, live MemoryStore, last func() uint64, log *slog.Logger, now time.Time, keepBuyers func(data.MemberID) bool) (*recommend.PushMemory, int, string, uint64, error) {
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
			if last != nil {
				return mem, 0, fmt.Sprintf("checkpoint at arrival %d (the follower replays what arrived after it)", ck.Arrival), ck.Arrival, nil
			}
			if err := live.EventsAfter(ctx, ck.Arrival, add(mem)); err != nil {
				return nil, 0, "", 0, err
			}
			return mem, n, fmt.Sprintf("checkpoint at arrival %d", ck.Arrival), ck.Arrival, nil
		}
		err = derr
	}
	if !errors.Is(err, data.ErrNotFound) {
		log.Warn("the checkpoint cannot be used; replaying 31 days of events", slog.String("error", err.Error()))
	}
	var mark uint64
	if last != nil {
		mark = last()
	}
	mem := recommend.NewPushMemory()
	mem.KeepBuyers(keepBuyers)
	if err := live.Events(ctx, data.TimestampOf(now)-31*data.Day, add(mem)); err != nil {
		return nil, 0, "", 0, err
	}
	return mem, n, "31 days of events", mark, nil
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
