package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"grouprank/data"
	"grouprank/data/jetstream"
	"grouprank/data/store"
	"grouprank/recommend"
	"grouprank/recommend/experiment"
	"grouprank/recommend/service"
)

// liveStore is the service's live data: one process's badger store (a
// directory) or the JetStream cluster every replica shares (nats:// URLs).
type liveStore interface {
	service.EventLog
	service.ExposureStore
	service.MemoryStore
	service.CatalogStore
	experiment.Docs
	LastArrival() uint64
	PutCheckpoint(c data.Checkpoint) error
	Close() error
}

var (
	_ liveStore = (*store.Live)(nil)
	_ liveStore = (*jetstream.Live)(nil)
)

// openLive opens --live: comma-separated nats:// URLs name a JetStream
// cluster (its streams and buckets kept in replicas copies), anything else
// a directory.
func openLive(ctx context.Context, spec string, replicas int) (liveStore, error) {
	if jetstream.IsURL(spec) {
		return jetstream.Open(ctx, spec, jetstream.Options{Replicas: replicas})
	}
	return store.OpenLive(spec)
}

const liveHelp = "the live data: a directory (one process's store; events outlive snapshots) or nats://host:4222[,nats://...] (a JetStream cluster every replica shares)"

// restoreMemory rebuilds the service's memory from the live data. On a log
// several replicas share it also starts the follower through which the
// memory then hears every event (nil on a directory), under lock.
func restoreMemory(ctx context.Context, e *env, live liveStore, spec string, keepBuyers func(data.MemberID) bool, lock sync.Locker) (
	mem *recommend.PushMemory, follower *service.Follower, replayed int, from string, err error) {
	fl, ok := live.(service.FollowLog)
	if !ok || !jetstream.IsURL(spec) {
		mem, replayed, from, err = service.RestoreMemory(ctx, live, e.log, e.now(), keepBuyers)
		return mem, nil, replayed, from, err
	}
	var mark uint64
	if mem, replayed, from, mark, err = service.RestoreFollowed(ctx, live, fl.LastArrival, e.log, e.now(), keepBuyers); err != nil {
		return nil, nil, 0, "", err
	}
	follower = service.NewFollower(fl, mem, lock, mark)
	go func() {
		if err := follower.Run(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("following the live log stopped", slog.String("error", err.Error()))
		}
	}()
	return mem, follower, replayed, from, nil
}

// experimentsRefresh is how often a replica on a shared log rereads the
// experiments, which any replica may change.
const experimentsRefresh = 2 * time.Second

// refreshExperiments rereads the experiments every experimentsRefresh
// until ctx ends.
func refreshExperiments(ctx context.Context, e *env, reg *experiment.Registry) {
	tick := time.NewTicker(experimentsRefresh)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := reg.Refresh(); err != nil {
				e.log.Warn("rereading the experiments", slog.String("error", err.Error()))
			}
		}
	}
}

// keepMemory writes a checkpoint of the memory now (the replay just done is
// not repeated by the next start) and every `every` (0: never), forgets
// every minute what no request can read any more, and returns the last
// checkpoint, to run at shutdown. A checkpoint names the arrival mark the
// memory holds: the follower's on a shared log, the store's last otherwise
// (batches wait on ingest while the state is copied, not while it is
// encoded).
func keepMemory(ctx context.Context, e *env, live liveStore, mem *recommend.PushMemory, follower *service.Follower, ingest *sync.RWMutex, every time.Duration) func() {
	checkpoint := func() {
		if every <= 0 {
			return
		}
		ingest.Lock()
		state := mem.Clone()
		var arrival uint64
		if follower != nil {
			arrival = follower.Applied() // what the memory holds, not what the log does (and no network call under the lock)
		} else {
			arrival = live.LastArrival()
		}
		ingest.Unlock()
		c := data.Checkpoint{Arrival: arrival, State: state.Encode()}
		if err := live.PutCheckpoint(c); err != nil {
			e.log.Error("checkpoint", slog.String("error", err.Error()))
			return
		}
		e.log.Debug("checkpoint written", slog.Uint64("arrival", c.Arrival), slog.Int("bytes", len(c.State)))
	}
	checkpoint()
	go func() {
		tick := time.NewTicker(time.Minute)
		defer tick.Stop()
		last := e.now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				now := e.now()
				mem.Sweep(data.TimestampOf(now))
				if every > 0 && now.Sub(last) >= every {
					checkpoint()
					last = now
				}
			}
		}
	}()
	return checkpoint
}
