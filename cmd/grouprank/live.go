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
