package service

import (
	"context"
	"sync"
	"time"

	"grouprank/recommend/experiment"
)

// ReportTTL is how long an experiment's report is reused: a report rereads
// every exposure and event of the experiment from the live store, which
// takes seconds on a big experiment, and the dashboard asks on every view.
const ReportTTL = 30 * time.Second

// ReportCache keeps each experiment's latest report for a while; concurrent
// asks for one key wait for one computation.
type ReportCache struct {
	ttl     time.Duration
	compute func(key string) (*experiment.Report, error)
	mu      sync.Mutex
	entries map[string]*reportEntry
	now     func() time.Time
}

type reportEntry struct {
	once sync.Once
	at   time.Time
	r    *experiment.Report
	err  error
}

// NewReportCache keeps compute's reports for ttl by the clock now (time.Now when nil).
func NewReportCache(ttl time.Duration, now func() time.Time, compute func(key string) (*experiment.Report, error)) *ReportCache {
	if now == nil {
		now = time.Now
	}
	return &ReportCache{ttl: ttl, compute: compute, entries: map[string]*reportEntry{}, now: now}
}

// Get returns a report computed within the TTL. Errors are not kept, nor
// is a report without data: it is cheap to compute again, and the first
// exposures of a just-started experiment show at the next ask, not a TTL
// later.
func (c *ReportCache) Get(_ context.Context, key string) (*experiment.Report, error) {
	c.mu.Lock()
	e := c.entries[key]
	if e == nil || (!e.at.IsZero() && c.now().Sub(e.at) > c.ttl) {
		e = &reportEntry{}
		c.entries[key] = e
	}
	c.mu.Unlock()
	e.once.Do(func() {
		e.r, e.err = c.compute(key)
		c.mu.Lock()
		e.at = c.now()
		c.mu.Unlock()
	})
	if e.err != nil || e.r != nil && e.r.Verdict == experiment.VerdictNoData {
		c.mu.Lock()
		if c.entries[key] == e {
			delete(c.entries, key)
		}
		c.mu.Unlock()
	}
	return e.r, e.err
}
