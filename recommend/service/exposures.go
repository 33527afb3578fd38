package service

import (
	"log/slog"
	"sync/atomic"
	"time"

	"grouprank/data"
)

// ExposureLog writes the exposures of served lists to the live store in the
// background, in batches (every 100 ms or 4,096 exposures), so requests do
// not wait for a disk sync. A full queue drops a list and counts it.
type ExposureLog struct {
	ch      chan []data.Exposure
	sync    chan chan struct{} // flush requests
	done    chan struct{}
	live    ExposureStore
	log     *slog.Logger
	dropped atomic.Int64
}

func NewExposureLog(live ExposureStore, log *slog.Logger) *ExposureLog {
	x := &ExposureLog{ch: make(chan []data.Exposure, 1024), sync: make(chan chan struct{}), done: make(chan struct{}), live: live, log: log}
	go x.run()
	return x
}

// Log queues one list's exposures without blocking.
func (x *ExposureLog) Log(exps []data.Exposure) {
	select {
	case x.ch <- exps:
	default:
		x.dropped.Add(1)
	}
}

// Dropped is how many lists a full queue dropped (api.DroppedCounter).
func (x *ExposureLog) Dropped() int64 { return x.dropped.Load() }

// LogWait queues one list's exposures, waiting for room (batch jobs, which
// must not drop any).
func (x *ExposureLog) LogWait(exps []data.Exposure) { x.ch <- exps }

func (x *ExposureLog) run() {
	defer close(x.done)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var buf []data.Exposure
	flush := func() {
		if len(buf) == 0 {
			return
		}
		if err := x.live.AppendExposures(buf); err != nil {
			x.log.Error("exposures lost", slog.Int("exposures", len(buf)), slog.String("error", err.Error()))
		}
		buf = buf[:0]
	}
	for {
		select {
		case e, ok := <-x.ch:
			if !ok {
				flush()
				return
			}
			buf = append(buf, e...)
			if len(buf) >= 4096 {
				flush()
			}
		case <-tick.C:
			flush()
		case ack := <-x.sync:
			for drained := false; !drained; { // what was queued before the request
				select {
				case e := <-x.ch:
					buf = append(buf, e...)
				default:
					drained = true
				}
			}
			flush()
			close(ack)
		}
	}
}

// Flush writes what is queued now and returns once it is stored.
func (x *ExposureLog) Flush() {
	ack := make(chan struct{})
	select {
	case x.sync <- ack:
		<-ack
	case <-x.done:
	}
}

// Close writes what is queued and stops.
func (x *ExposureLog) Close() {
	close(x.ch)
	<-x.done
	if n := x.dropped.Load(); n > 0 {
		x.log.Warn("exposure lists dropped on a full queue", slog.Int64("lists", n))
	}
}
