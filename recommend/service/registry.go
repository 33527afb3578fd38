// Package service owns the running service beside its HTTP API: the model
// in service and its hot swap (Registry: open, verify, promote, roll back,
// catalogue updates and business rules applied to every model loaded), the
// in-memory state restored at start (RestoreMemory: a checkpoint and the
// events after it), the live store as the API's event sink (LiveEvents:
// where an event becomes durable), exposure batching (ExposureLog) and the
// experiments' report cache (ReportCache). It reads and writes the live data
// through small interfaces (live.go) that data/store.Live satisfies.
// cmd/grouprank wires them to flags; package api serves them.
package service

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"grouprank/data"
	"grouprank/data/store"
	"grouprank/recommend"
	"grouprank/recommend/ui"
	"grouprank/train"
)

// Config sets a Registry.
type Config struct {
	Live       CatalogStore // catalogue updates and business rules, applied to every model loaded (nil: none)
	Root       string       // the snapshot root (CURRENT, HISTORY, snapshots/)
	Sensitive  map[string]bool
	Repush     data.Timestamp
	CacheSlots int             // dot-product candidate cache slots per model (0: off)
	Rules      recommend.Rules // business rules in force at start (LoadRules)
	Log        *slog.Logger
	Now        func() time.Time // the clock catalogue updates are dated by (time.Now when nil)
}

// NewRegistry is a registry with no model in service yet (Reload puts the
// current one in).
func NewRegistry(c Config) *Registry {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return &Registry{live: c.Live, root: c.Root, sensitive: c.Sensitive, repush: c.Repush, cache: c.CacheSlots, rules: c.Rules, log: c.Log, now: c.Now}
}

// Current is the model in service (nil until a snapshot is loaded).
func (ms *Registry) Current() *recommend.Model { return ms.cur.Load() }

// Registry holds the model in service and swaps it atomically; a snapshot
// swapped out stays open for a minute (retireAfter), so requests that
// started on the old model finish on it, and is then closed.
type Registry struct {
	live      CatalogStore // catalogue updates, applied to every model loaded
	root      string
	sensitive map[string]bool
	repush    data.Timestamp
	cache     int             // dot-product candidate cache slots per model
	rules     recommend.Rules // business rules, applied to every model loaded
	log       *slog.Logger
	now       func() time.Time                // the clock catalogue updates are dated by
	cur       atomic.Pointer[recommend.Model] // nil until a snapshot is loaded
	infos     sync.Map                        // version -> ui.ModelInfo without its flags (snapshots are immutable)
	others    sync.Map                        // version -> *recommend.Model: arms' model versions
	mu        sync.Mutex
	open      []*store.Snapshot // every snapshot open: the current one, arms' versions, retired ones in their grace period
	current   *store.Snapshot   // the snapshot of the model in service
	closed    bool
}

// load opens version and puts it in service.
func (ms *Registry) load(version string) (string, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return version, ms.swap(version, nil)
}

// swap opens and verifies version, runs commit (when not nil: what makes it
// current on disk), and only then puts it in service; a version that fails
// either step changes nothing. ms.mu is held.
func (ms *Registry) swap(version string, commit func() error) error {
	t0 := time.Now()
	m, snap, err := ms.prepare(version)
	if err != nil {
		return err
	}
	if commit != nil {
		if err := commit(); err != nil {
			snap.Close()
			return err
		}
	}
	ms.install(version, m, snap, t0)
	return nil
}

// prepare opens and verifies version and builds its model, with the live
// catalogue updates; nothing changes in service. ms.mu is held.
func (ms *Registry) prepare(version string) (*recommend.Model, *store.Snapshot, error) {
	m, snap, err := OpenModel(ms.root, version)
	if err != nil {
		return nil, nil, err
	}
	m.Sensitive, m.RepushWithin = ms.sensitive, ms.repush
	if ms.live != nil {
		ups, err := ms.live.Products()
		if err != nil {
			snap.Close()
			return nil, nil, err
		}
		if len(ups) > 0 {
			var added int
			m, added = m.WithCatalog(ups, data.TimestampOf(ms.now()))
			ms.log.Info("catalogue updates applied", slog.Int("products", len(ups)), slog.Int("new", added))
		}
	}
	if m, err = ms.ready(m); err != nil {
		snap.Close()
		return nil, nil, err
	}
	return m, snap, nil
}

// install puts a prepared model in service; the one it replaces is
// retired after a grace period. ms.mu is held.
func (ms *Registry) install(version string, m *recommend.Model, snap *store.Snapshot, t0 time.Time) {
	retired := ms.current
	ms.open = append(ms.open, snap)
	ms.current = snap
	ms.cur.Store(m)
	ms.log.Info("model in service", slog.String("model_version", version), slog.Duration("took", time.Since(t0).Round(time.Millisecond)))
	if retired != nil {
		// requests that started on the old model finish within their
		// timeouts; close its snapshot (and let its model be collected) after a grace period
		time.AfterFunc(retireAfter, func() { ms.retire(retired) })
	}
}

// retireAfter is how long a swapped-out snapshot stays open for requests
// that started on it.
const retireAfter = time.Minute

// retire closes a snapshot no longer in service.
func (ms *Registry) retire(s *store.Snapshot) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if s == ms.current || ms.closed {
		return
	}
	if i := slices.Index(ms.open, s); i >= 0 {
		ms.open = slices.Delete(ms.open, i, i+1)
		s.Close()
		ms.log.Info("retired snapshot closed", slog.String("dir", s.Dir))
	}
}

// Version returns a published model other than the one in service (an
// experiment arm's model_version), loading it once; catalogue updates apply
// to it as to the current one at load time.
func (ms *Registry) Version(v string) (*recommend.Model, error) {
	if cur := ms.cur.Load(); cur != nil && cur.Version == v {
		return cur, nil
	}
	if m, ok := ms.others.Load(v); ok {
		return m.(*recommend.Model), nil
	}
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if m, ok := ms.others.Load(v); ok {
		return m.(*recommend.Model), nil
	}
	m, snap, err := OpenModel(ms.root, v)
	if err != nil {
		return nil, err
	}
	m.Sensitive, m.RepushWithin = ms.sensitive, ms.repush
	if ms.live != nil {
		if ups, err := ms.live.Products(); err == nil && len(ups) > 0 {
			m, _ = m.WithCatalog(ups, data.TimestampOf(ms.now()))
		}
	}
	if m, err = ms.ready(m); err != nil {
		snap.Close()
		return nil, err
	}
	ms.open = append(ms.open, snap)
	ms.others.Store(v, m)
	ms.log.Info("model loaded for an experiment arm", slog.String("model_version", v))
	return m, nil
}

// ready applies the business rules in force, turns the candidate cache on
// and fills the per-cell caches of a model about to serve.
func (ms *Registry) ready(m *recommend.Model) (*recommend.Model, error) {
	if r := ms.rules; len(r.Boosts)+len(r.BlockedSKUs)+len(r.BlockedBrands)+len(r.BlockedCategories) > 0 || r.MinRating > 0 {
		var err error
		if m, err = m.WithRules(r); err != nil {
			return nil, err
		}
	}
	m.Ranker.EnableDotCache(ms.cache)
	m.Warm()
	return m, nil
}

// Rules are the business rules in force.
func (ms *Registry) Rules() recommend.Rules {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.rules
}

// SetRules validates, stores (live store, synced) and applies business
// rules to the model in service, swapped atomically; later models get them
// too.
func (ms *Registry) SetRules(_ context.Context, r recommend.Rules) error {
	if err := r.Validate(); err != nil {
		return err
	}
	ms.mu.Lock()
	defer ms.mu.Unlock()
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if ms.cur.Load() == nil {
		return fmt.Errorf("%w: no snapshot loaded: publish and promote a model first", data.ErrUnavailable)
	}
	if err := ms.live.UpdateDocs(rulesKind, func(map[string][]byte) (map[string][]byte, error) {
		return map[string][]byte{rulesKey: b}, nil
	}); err != nil {
		return err
	}
	next, err := ms.cur.Load().WithRules(r)
	if err != nil {
		return err
	}
	ms.rules = r
	ms.cur.Store(next)
	ms.log.Info("business rules applied", slog.Int("boosts", len(r.Boosts)), slog.Int("blocked_skus", len(r.BlockedSKUs)),
		slog.Int("blocked_brands", len(r.BlockedBrands)), slog.Int("blocked_categories", len(r.BlockedCategories)))
	return nil
}

// The live store's document holding the business rules.
const rulesKind, rulesKey = "rules", "current"

// LoadRules reads the stored business rules (none: the zero Rules).
func LoadRules(live DocStore) (recommend.Rules, error) {
	var r recommend.Rules
	docs, err := live.Docs(rulesKind)
	if err != nil || docs[rulesKey] == nil {
		return r, err
	}
	if err := json.Unmarshal(docs[rulesKey], &r); err != nil {
		return r, fmt.Errorf("stored business rules: %w", err)
	}
	return r, nil
}

// UpdateCatalog stores catalogue updates and applies them to the model in
// service (swapped atomically); models loaded later apply them too.
func (ms *Registry) UpdateCatalog(_ context.Context, us []data.ProductUpdate) (int, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if ms.cur.Load() == nil {
		return 0, fmt.Errorf("%w: no snapshot loaded: publish and promote a model first", data.ErrUnavailable)
	}
	ps, err := recommend.MergeUpdates(ms.cur.Load().Ranker.Scorer.Inputs().Cat, us)
	if err != nil {
		return 0, err
	}
	if err := ms.live.PutProducts(ps); err != nil {
		return 0, err
	}
	next, added := ms.cur.Load().WithCatalog(ps, data.TimestampOf(ms.now()))
	next, err = ms.ready(next)
	if err != nil {
		return 0, err
	}
	ms.cur.Store(next)
	ms.log.Info("catalogue updated", slog.Int("products", len(ps)), slog.Int("new", added), slog.String("model_version", next.Version))
	return added, nil
}

// Reload puts the version CURRENT names in service.
func (ms *Registry) Reload(context.Context) (string, error) {
	v, err := store.Current(ms.root)
	if err != nil {
		return "", err
	}
	return ms.load(v)
}

// Promote makes a published version current and puts it in service. The
// version is opened and verified first: one that fails leaves CURRENT,
// HISTORY and the model in service as they were.
func (ms *Registry) Promote(_ context.Context, version string) (string, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return version, ms.swap(version, func() error { return store.Promote(ms.root, version) })
}

// Rollback makes the previous version current and puts it in service,
// verified first as Promote does.
func (ms *Registry) Rollback(context.Context) (string, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	prev, err := store.Previous(ms.root)
	if err != nil {
		return "", err
	}
	return prev, ms.swap(prev, func() error {
		v, err := store.Rollback(ms.root)
		if err == nil && v != prev {
			err = fmt.Errorf("rollback: the history changed meanwhile (%s, not %s): %w", v, prev, data.ErrConflict)
		}
		return err
	})
}

func (ms *Registry) Close() {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	for _, s := range ms.open {
		s.Close()
	}
	ms.closed = true
}

// Models lists every published version for the dashboard, newest first,
// each with its manifest and training report (read once per version:
// snapshots are immutable) and whether it is current, in service, or what a
// rollback returns to.
func (ms *Registry) Models(context.Context) ([]ui.ModelInfo, error) {
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
func (ms *Registry) info(v string) ui.ModelInfo {
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
