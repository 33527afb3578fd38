package service

import (
	"context"

	"grouprank/data"
	"grouprank/data/store"
)

// What the service needs of the live data, each interface on the side that
// uses it. data/store.Live (one process's badger store) satisfies them all.

// EventLog is the durable log of events: appended in batches (fresh says
// which were new), read back in time order or after an arrival mark.
type EventLog interface {
	AppendEvents(evs []data.Event) (fresh []bool, err error)
	KnownOrders(ids []data.OrderID) ([]bool, error)
	Events(ctx context.Context, since data.Timestamp, fn func(data.Event) error) error
	EventsAfter(ctx context.Context, after uint64, fn func(data.Event) error) error
}

// EventReader is the reading side of an EventLog: what reports and power
// calculations scan.
type EventReader interface {
	Events(ctx context.Context, since data.Timestamp, fn func(data.Event) error) error
}

// ExposureLog's store: the served lists, appended in batches and read back
// in time order.
type ExposureStore interface {
	AppendExposures(exps []data.Exposure) error
	Exposures(ctx context.Context, since data.Timestamp, fn func(data.Exposure) error) error
}

// Checkpoints keep the push memory's newest checkpoint.
type Checkpoints interface {
	PutCheckpoint(c data.Checkpoint) error
	LoadCheckpoint() (*data.Checkpoint, error)
}

// MemoryStore is what RestoreMemory reads: the newest checkpoint and the
// events after it (or the last 31 days of events).
type MemoryStore interface {
	Checkpoints
	Events(ctx context.Context, since data.Timestamp, fn func(data.Event) error) error
	EventsAfter(ctx context.Context, after uint64, fn func(data.Event) error) error
}

// ReportStore is what an experiment's report reads: its exposures and events.
type ReportStore interface {
	EventReader
	Exposures(ctx context.Context, since data.Timestamp, fn func(data.Exposure) error) error
}

// CatalogStore keeps catalogue updates and documents (the business rules)
// that every model loaded applies.
type CatalogStore interface {
	PutProducts(ps []data.Product) error
	Products() ([]data.Product, error)
	DocStore
}

// DocStore keeps documents by kind and key, updated atomically per kind.
type DocStore interface {
	Docs(kind string) (map[string][]byte, error)
	UpdateDocs(kind string, fn func(docs map[string][]byte) (map[string][]byte, error)) error
}

var (
	_ EventLog      = (*store.Live)(nil)
	_ ExposureStore = (*store.Live)(nil)
	_ MemoryStore   = (*store.Live)(nil)
	_ ReportStore   = (*store.Live)(nil)
	_ CatalogStore  = (*store.Live)(nil)
)
