package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"grouprank/data"
	"grouprank/data/store"
	"grouprank/recommend/experiment"
	"grouprank/recommend/ui"
	"grouprank/train"
)

// Models lists every published version for the dashboard, newest first,
// each with its manifest and training report (read once per version:
// snapshots are immutable) and whether it is current, in service, or what a
// rollback returns to.
func (ms *models) Models(context.Context) ([]ui.ModelInfo, error) {
	versions, err := store.Published(ms.root)
	if err != nil {
		return nil, err
	}
	cur, _ := store.Current(ms.root)
	hist, err := store.History(ms.root)
	if err != nil {
		return nil, err
	}
	prev := ""
	if len(hist) >= 2 {
		prev = hist[len(hist)-2]
	}
	serving := ""
	if m := ms.cur.Load(); m != nil {
		serving = m.Version
	}
	out := make([]ui.ModelInfo, 0, len(versions))
	for _, v := range versions {
		info := ms.info(v)
		info.Current, info.Serving, info.Previous = v == cur, v == serving, v == prev
		out = append(out, info)
	}
	slices.SortStableFunc(out, func(a, b ui.ModelInfo) int { return b.Created.Compare(a.Created) })
	return out, nil
}

// info reads a version's manifest and report, from its open snapshot when
// it is in service and by opening it read-only otherwise.
func (ms *models) info(v string) ui.ModelInfo {
	if i, ok := ms.infos.Load(v); ok {
		return i.(ui.ModelInfo)
	}
	info := ui.ModelInfo{ModelVersion: data.ModelVersion{Version: v}}
	read := func(s *store.Snapshot) {
		info.ModelVersion = s.Manifest
		if b, err := s.Blob(train.ReportFile); err != nil {
			info.Error = fmt.Sprintf("training report: %v", err)
		} else if json.Valid(b) {
			info.Report = b
		}
	}
	ms.mu.Lock()
	var open *store.Snapshot
	for _, s := range ms.open {
		if s.Manifest.Version == v {
			open = s
		}
	}
	if open != nil {
		read(open)
	}
	ms.mu.Unlock()
	if open == nil {
		s, err := store.OpenSnapshot(ms.root, v)
		if err != nil {
			info.Error = err.Error()
			return info // not cached: it may be readable later
		}
		read(s)
		s.Close()
	}
	ms.infos.Store(v, info)
	return info
}

// reportTTL is how long an experiment's report is reused: a report rereads
// every exposure and event of the experiment from the live store, which
// takes seconds on a big experiment, and the dashboard asks on every view.
const reportTTL = 30 * time.Second

// reportCache keeps each experiment's latest report for a while; concurrent
// asks for one key wait for one computation.
type reportCache struct {
	ttl     time.Duration
	compute func(key string) (*experiment.Report, error)
	mu      sync.Mutex
	entries map[string]*reportEntry
}

type reportEntry struct {
	once sync.Once
	at   time.Time
	r    *experiment.Report
	err  error
}

func newReportCache(ttl time.Duration, compute func(key string) (*experiment.Report, error)) *reportCache {
	return &reportCache{ttl: ttl, compute: compute, entries: map[string]*reportEntry{}}
}

// get returns a report computed within the TTL. Errors are not kept, nor
// is a report without data: it is cheap to compute again, and the first
// exposures of a just-started experiment show at the next ask, not a TTL
// later.
func (c *reportCache) get(_ context.Context, key string) (*experiment.Report, error) {
	c.mu.Lock()
	e := c.entries[key]
	if e == nil || (!e.at.IsZero() && time.Since(e.at) > c.ttl) {
		e = &reportEntry{}
		c.entries[key] = e
	}
	c.mu.Unlock()
	e.once.Do(func() {
		e.r, e.err = c.compute(key)
		c.mu.Lock()
		e.at = time.Now()
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
