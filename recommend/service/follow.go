package service

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"grouprank/data"
	"grouprank/recommend"
)

// FollowLog is a live log every replica reads: Follow delivers the events
// stored after a mark, then each new one, in arrival order.
type FollowLog interface {
	Follow(ctx context.Context, after uint64, fn func(seq uint64, e data.Event) error) error
	LastArrival() uint64
}

// Follower keeps a replica's memory (fatigue, the recent-push filter,
// fold-in of orders, members) in step with a log several replicas write:
// every event, whichever replica accepted it, reaches the memory through
// the follower, in arrival order, so Applied is exactly what the memory
// holds and a checkpoint can name it. A replica's own events reach its
// memory when the follower reads them back (milliseconds after the batch
// is acknowledged).
type Follower struct {
	log     FollowLog
	mem     *recommend.PushMemory
	lock    sync.Locker // held (shared) while an event is heard; a checkpoint takes it exclusively
	applied atomic.Uint64
	target  uint64 // the log's last arrival when the follower started: ready once applied reaches it
}

// NewFollower follows log into mem from arrival mark from (what mem
// already holds), under lock.
func NewFollower(log FollowLog, mem *recommend.PushMemory, lock sync.Locker, from uint64) *Follower {
	f := &Follower{log: log, mem: mem, lock: lock, target: log.LastArrival()}
	f.applied.Store(from)
	return f
}

// Run follows until ctx ends.
func (f *Follower) Run(ctx context.Context) error {
	return f.log.Follow(ctx, f.applied.Load(), func(seq uint64, e data.Event) error {
		f.lock.Lock()
		f.mem.Hear(&e)
		f.applied.Store(seq)
		f.lock.Unlock()
		return nil
	})
}

// Applied is the arrival mark of the last event the memory heard.
func (f *Follower) Applied() uint64 { return f.applied.Load() }

// Lag is how many events the log holds that the memory has not heard.
func (f *Follower) Lag() uint64 {
	last, applied := f.log.LastArrival(), f.applied.Load()
	if last < applied {
		return 0
	}
	return last - applied
}

// Ready returns nil once the memory has heard every event the log held
// when the follower started (then picks see what every replica accepted
// before it), else how far it still is.
func (f *Follower) Ready() error {
	if a := f.applied.Load(); a < f.target {
		return fmt.Errorf("%w: the memory is catching up with the live log (%d of %d events)", data.ErrUnavailable, a, f.target)
	}
	return nil
}
