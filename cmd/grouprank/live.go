package main

import (
	"context"

	"grouprank/data"
	"grouprank/data/jetstream"
	"grouprank/data/store"
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
