package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/net/netutil"

	"grouprank/data"
	"grouprank/data/store"
	"grouprank/recommend"
	"grouprank/recommend/api"
	"grouprank/recommend/experiment"
	"grouprank/train"
)

func serveCmd(e *env) *cobra.Command {
	plaus := data.DefaultPlausibility
	var maxPicks, maxEvents int
	var insecure bool
	unknownGroups := "accept"
	lim := defaultConnLimits
	var checkpointEvery time.Duration
	var root, addr, token, sensitive, live, keys, pprofAddr string
	var repush, explore float64
	var cacheSlots int
	c := &cobra.Command{
		Use:   "serve",
		Short: "Serve picks from the current snapshot over HTTP",
		Long: `serve opens the current snapshot (--root, see grouprank publish) read-only, keeps
its catalogue, statistics and item vectors in memory, reads group records from
it per request, and answers GET /v1/groups/{group}/picks, /healthz and /readyz
on --addr until interrupted (then it drains requests and stops).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ss := map[string]bool{}
			for _, c := range strings.Split(sensitive, ",") {
				if c = strings.TrimSpace(c); c != "" {
					ss[c] = true
				}
			}
			apps, err := parseAPIKeys(keys)
			if err != nil {
				return err
			}
			if unknownGroups != "accept" && unknownGroups != "refuse" {
				return fmt.Errorf("--unknown-groups %q: want accept or refuse: %w", unknownGroups, data.ErrInvalid)
			}
			if len(apps) == 0 && !insecure && !loopback(addr) {
				return fmt.Errorf("serve: --addr %s is reachable from other machines, but --api-keys is empty, so picks and events would be open to anyone: "+
					"give --api-keys app:key,... (or --insecure to serve it open anyway): %w", addr, data.ErrInvalid)
			}
			for name, d := range map[string]time.Duration{"read-timeout": lim.read, "write-timeout": lim.write, "idle-timeout": lim.idle} {
				if d <= 0 {
					return fmt.Errorf("--%s %s: want a duration > 0: %w", name, d, data.ErrInvalid)
				}
			}
			return serve(cmd.Context(), e, serveOptions{root: root, addr: addr, token: token, sensitive: ss, live: live, apiKeys: apps, pprof: pprofAddr, cacheSlots: cacheSlots,
				repush: data.Timestamp(repush * float64(data.Day)), explore: explore, plausibility: plaus, maxPicks: maxPicks, maxEvents: maxEvents, conns: lim,
				refuseUnknown: unknownGroups == "refuse", checkpointEvery: checkpointEvery})
		},
	}
	c.Flags().DurationVar(&checkpointEvery, "checkpoint-every", 10*time.Minute, "write the in-memory state (a week of pushes, a month of orders) to the live store this often and on shutdown, so a restart loads it and replays only the events that arrived after it (0: never; restarts replay 31 days)")
	c.Flags().StringVar(&unknownGroups, "unknown-groups", unknownGroups, "events of groups the snapshot does not know: accept (kept a week, like all) or refuse")
	c.Flags().BoolVar(&insecure, "insecure", false, "serve without --api-keys on an address other machines can reach")
	c.Flags().DurationVar(&lim.read, "read-timeout", lim.read, "a request, its body included, must arrive within this (slow clients are cut off)")
	c.Flags().DurationVar(&lim.write, "write-timeout", lim.write, "an answer must be written within this (clients that do not read are cut off)")
	c.Flags().DurationVar(&lim.idle, "idle-timeout", lim.idle, "a kept-alive connection is closed after this long without a request")
	c.Flags().IntVar(&lim.conns, "max-conns", lim.conns, "connections open at once; more wait to be accepted")
	c.Flags().IntVar(&maxPicks, "max-inflight-picks", api.DefaultPicksInFlight, "picks requests worked on at once; more are answered 503 with Retry-After")
	c.Flags().IntVar(&maxEvents, "max-inflight-events", api.DefaultEventsInFlight, "event batches worked on at once; more are answered 503 with Retry-After")
	c.Flags().Int32Var(&plaus.MaxQuantity, "max-order-quantity", plaus.MaxQuantity, "order events of more units are refused as implausible")
	c.Flags().Float64Var(&plaus.PriceRatio, "max-price-ratio", plaus.PriceRatio, "order events whose amount differs from quantity x list price by more than this factor either way are refused as implausible")
	c.Flags().StringVar(&root, "root", "snapshots", "snapshot root directory (grouprank publish --root)")
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "listen address")
	c.Flags().StringVar(&live, "live", "live", "the service's own store (events; outlives snapshots)")
	c.Flags().Float64Var(&repush, "repush-days", 3, "leave out items pushed to the group within this many days, whoever pushed them")
	c.Flags().StringVar(&sensitive, "sensitive-categories", "underwear,health", "L1 categories reasons never name (comma-separated)")
	c.Flags().StringVar(&keys, "api-keys", "", "app:key pairs, comma-separated, that picks and events require (X-API-Key); empty: open")
	c.Flags().IntVar(&cacheSlots, "candidate-cache", 65536, "group vectors whose dot-product candidates are kept between requests (0: off; about 2.4 KB each)")
	c.Flags().StringVar(&pprofAddr, "pprof", "", "address of a separate listener serving Go's /debug/pprof profiles (empty: off; keep it on loopback)")
	c.Flags().StringVar(&token, "admin-token", "", "bearer token of the admin routes (promote, rollback, reload); empty disables them")
	c.Flags().Float64Var(&explore, "explore", 0, "share of logged lists drawn at random from the items passing the request's filters, with their propensities logged, so models trained on the service's own logs keep a randomised slice (an experiment arm's option explore overrides it; previews never explore)")
	return c
}

// restoreMemory rebuilds the push memory: from the newest checkpoint and
// the events that arrived after it, or (no checkpoint, or a damaged one,
// which is logged) by replaying the last 31 days of events. It reports how
// many events it replayed and from what.
func restoreMemory(live *store.Live, log *slog.Logger) (*recommend.PushMemory, int, string, error) {
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
			if err := live.EventsAfter(ck.Arrival, add(mem)); err != nil {
				return nil, 0, "", err
			}
			return mem, n, fmt.Sprintf("checkpoint at arrival %d", ck.Arrival), nil
		}
		err = derr
	}
	if !errors.Is(err, data.ErrNotFound) {
		log.Warn("the checkpoint cannot be used; replaying 31 days of events", slog.String("error", err.Error()))
	}
	mem := recommend.NewPushMemory()
	if err := live.Events(data.TimestampOf(time.Now())-31*data.Day, add(mem)); err != nil {
		return nil, 0, "", err
	}
	return mem, n, "31 days of events", nil
}

// snapshotGroups reads group records from an open snapshot.
type snapshotGroups struct{ s *store.Snapshot }

func (g snapshotGroups) Group(id data.GroupID) (recommend.Group, error) {
	b, err := g.s.Group(id)
	if err != nil {
		return recommend.Group{}, err
	}
	return recommend.DecodeGroup(b)
}

// loadModel opens a snapshot and builds the model that serves it.
func loadModel(root, version string) (*recommend.Model, *store.Snapshot, error) {
	s, err := store.OpenSnapshot(root, version)
	if err != nil {
		return nil, nil, err
	}
	files := map[string][]byte{}
	for _, f := range s.Manifest.Files {
		if f.Name == train.GroupsFile {
			continue
		}
		b, err := s.Blob(f.Name)
		if err != nil {
			s.Close()
			return nil, nil, err
		}
		files[f.Name] = b
	}
	// Every byte served is checked against the manifest at open: the
	// artefact files by their checksums, the group records re-encoded as the
	// groups.bin they were published from (errors name the file, not a path).
	where := func(name string) string { return name }
	err = train.VerifyFiles(&s.Manifest, files, where)
	if err == nil {
		err = train.VerifyGroups(&s.Manifest, s.EachGroup, "the group records")
	}
	if err != nil {
		s.Close()
		return nil, nil, fmt.Errorf("snapshot %s is damaged: %w", version, err)
	}
	a, err := train.DecodeArtefact(s.Manifest, files, func(name string) string { return s.Dir + ": " + name })
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	in, _ := a.Inputs()
	m := recommend.NewModel(a.Manifest.Version, recommend.NewRanker(recommend.NewScorer(in, &a.Spec.Conversion)), snapshotGroups{s})
	m.Manifest, m.CategoryNames, m.IDs, m.Members = s.Manifest, a.Spec.CategoryNames, a.IDs, a.Members
	switch f := a.Spec.FoldIn; {
	case a.Spec.Preference != nil:
		m.EnablePrefFoldIn(f.Alpha0, f.Lambda, f.Nu, a.Manifest.Windows.Serve)
	case f.Lambda > 0:
		m.EnableFoldIn(f.Alpha0, f.Lambda, f.Nu, f.Confidence, a.Manifest.Windows.Serve)
	}
	return m, s, nil
}

// models holds the model in service and swaps it atomically; a snapshot
// swapped out stays open for a minute (retireAfter), so requests that
// started on the old model finish on it, and is then closed.
type models struct {
	live      *store.Live // catalogue updates, applied to every model loaded
	root      string
	sensitive map[string]bool
	repush    data.Timestamp
	cache     int             // dot-product candidate cache slots per model
	rules     recommend.Rules // business rules, applied to every model loaded
	log       *slog.Logger
	cur       atomic.Pointer[recommend.Model] // nil until a snapshot is loaded
	infos     sync.Map                        // version -> ui.ModelInfo without its flags (snapshots are immutable)
	others    sync.Map                        // version -> *recommend.Model: arms' model versions
	mu        sync.Mutex
	open      []*store.Snapshot // every snapshot open: the current one, arms' versions, retired ones in their grace period
	current   *store.Snapshot   // the snapshot of the model in service
	closed    bool
}

// load opens version and puts it in service.
func (ms *models) load(version string) (string, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return version, ms.swap(version, nil)
}

// swap opens and verifies version, runs commit (when not nil: what makes it
// current on disk), and only then puts it in service; a version that fails
// either step changes nothing. ms.mu is held.
func (ms *models) swap(version string, commit func() error) error {
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
func (ms *models) prepare(version string) (*recommend.Model, *store.Snapshot, error) {
	m, snap, err := loadModel(ms.root, version)
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
			m, added = m.WithCatalog(ups, data.TimestampOf(time.Now()))
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
func (ms *models) install(version string, m *recommend.Model, snap *store.Snapshot, t0 time.Time) {
	retired := ms.current
	ms.open = append(ms.open, snap)
	ms.current = snap
	ms.cur.Store(m)
	ms.log.Info("model in service", slog.String("model_version", version), slog.String("took", time.Since(t0).Round(time.Millisecond).String()))
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
func (ms *models) retire(s *store.Snapshot) {
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

// version returns a published model other than the one in service (an
// experiment arm's model_version), loading it once; catalogue updates apply
// to it as to the current one at load time.
func (ms *models) version(v string) (*recommend.Model, error) {
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
	m, snap, err := loadModel(ms.root, v)
	if err != nil {
		return nil, err
	}
	m.Sensitive, m.RepushWithin = ms.sensitive, ms.repush
	if ms.live != nil {
		if ups, err := ms.live.Products(); err == nil && len(ups) > 0 {
			m, _ = m.WithCatalog(ups, data.TimestampOf(time.Now()))
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
func (ms *models) ready(m *recommend.Model) (*recommend.Model, error) {
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
func (ms *models) Rules() recommend.Rules {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.rules
}

// SetRules validates, stores (live store, synced) and applies business
// rules to the model in service, swapped atomically; later models get them
// too.
func (ms *models) SetRules(_ context.Context, r recommend.Rules) error {
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

// loadRules reads the stored business rules (none: the zero Rules).
func loadRules(live *store.Live) (recommend.Rules, error) {
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
func (ms *models) UpdateCatalog(_ context.Context, us []data.ProductUpdate) (int, error) {
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
	next, added := ms.cur.Load().WithCatalog(ps, data.TimestampOf(time.Now()))
	next, err = ms.ready(next)
	if err != nil {
		return 0, err
	}
	ms.cur.Store(next)
	ms.log.Info("catalogue updated", slog.Int("products", len(ps)), slog.Int("new", added), slog.String("model_version", next.Version))
	return added, nil
}

// Reload puts the version CURRENT names in service.
func (ms *models) Reload(context.Context) (string, error) {
	v, err := store.Current(ms.root)
	if err != nil {
		return "", err
	}
	return ms.load(v)
}

// Promote makes a published version current and puts it in service. The
// version is opened and verified first: one that fails leaves CURRENT,
// HISTORY and the model in service as they were.
func (ms *models) Promote(_ context.Context, version string) (string, error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return version, ms.swap(version, func() error { return store.Promote(ms.root, version) })
}

// Rollback makes the previous version current and puts it in service,
// verified first as Promote does.
func (ms *models) Rollback(context.Context) (string, error) {
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

func (ms *models) close() {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	for _, s := range ms.open {
		s.Close()
	}
	ms.closed = true
}

type serveOptions struct {
	root, addr, token, live string
	pprof                   string // net/http/pprof listener ("" off)
	cacheSlots              int    // dot-product candidate cache slots (0 off)
	sensitive               map[string]bool
	repush                  data.Timestamp
	ready                   func(baseURL string) // called once the service listens (nil: nothing)
	apiKeys                 map[string]string
	explore                 float64 // share of logged lists drawn at random (api.Deps.Explore)
	plausibility            data.Plausibility
	maxPicks, maxEvents     int // work in flight (api.Deps.MaxPicksInFlight, MaxEventsInFlight)
	conns                   connLimits
	refuseUnknown           bool // events of groups the snapshot does not know are refused
	checkpointEvery         time.Duration
}

// connLimits bound what one client can hold of the server: the time to send
// a request and to take an answer, an idle keep-alive, and the connections
// open at once.
type connLimits struct {
	read, write, idle time.Duration
	conns             int
}

var defaultConnLimits = connLimits{read: 15 * time.Second, write: 30 * time.Second, idle: 60 * time.Second, conns: 4096}

// server is the HTTP server of h with the limits (zero fields: the defaults).
func (l connLimits) server(h http.Handler) *http.Server {
	d := defaultConnLimits
	for _, f := range []struct{ v, def *time.Duration }{{&l.read, &d.read}, {&l.write, &d.write}, {&l.idle, &d.idle}} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return &http.Server{Handler: h, ReadHeaderTimeout: min(5*time.Second, l.read), ReadTimeout: l.read, WriteTimeout: l.write, IdleTimeout: l.idle}
}

// parseAPIKeys reads "app:key,app:key".
func parseAPIKeys(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		app, key, ok := strings.Cut(pair, ":")
		if !ok || app == "" || len(key) < 8 {
			return nil, fmt.Errorf("--api-keys: %q: want app:key with a key of at least 8 characters", pair)
		}
		out[app] = key
	}
	return out, nil
}

// liveEvents stores events in the live store.
type liveEvents struct{ l *store.Live }

func (le liveEvents) Append(_ context.Context, evs []data.Event) ([]bool, error) {
	return le.l.AppendEvents(evs)
}

func (le liveEvents) KnownOrders(_ context.Context, ids []data.OrderID) ([]bool, error) {
	return le.l.KnownOrders(ids)
}

func serve(ctx context.Context, e *env, o serveOptions) error {
	live, err := store.OpenLive(o.live)
	if err != nil {
		return err
	}
	defer live.Close()
	rules, err := loadRules(live)
	if err != nil {
		return err
	}
	ms := &models{live: live, root: o.root, log: e.log, sensitive: o.sensitive, repush: o.repush, cache: o.cacheSlots, rules: rules}
	if _, err := ms.Reload(ctx); errors.Is(err, data.ErrNotFound) {
		e.log.Warn("no current snapshot: serving without a model until one is promoted (picks answer 503)", slog.String("root", o.root))
	} else if err != nil {
		return err
	}
	defer ms.close()
	t0 := time.Now()
	mem, replayed, from, err := restoreMemory(live, e.log)
	if err != nil {
		return err
	}
	mem.Sweep(data.TimestampOf(time.Now()))
	e.log.Info("live store open", slog.String("dir", o.live), slog.String("memory_from", from), slog.Int("events_replayed", replayed),
		slog.Duration("took", time.Since(t0).Round(time.Millisecond)))
	var ingest sync.RWMutex // event batches hold it to read; a checkpoint, to write (no batch half stored)
	checkpoint := func() {
		if o.checkpointEvery <= 0 {
			return
		}
		ingest.Lock()
		c := store.Checkpoint{Arrival: live.LastArrival(), State: mem.Encode()}
		ingest.Unlock()
		if err := live.PutCheckpoint(c); err != nil {
			e.log.Error("checkpoint", slog.String("error", err.Error()))
			return
		}
		e.log.Debug("checkpoint written", slog.Uint64("arrival", c.Arrival), slog.Int("bytes", len(c.State)))
	}
	checkpoint() // the replay just done is not repeated by the next start
	defer checkpoint()
	go func() { // what no request can read any more is forgotten every minute; the state is checkpointed
		tick := time.NewTicker(time.Minute)
		defer tick.Stop()
		last := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				mem.Sweep(data.TimestampOf(now))
				if o.checkpointEvery > 0 && now.Sub(last) >= o.checkpointEvery {
					checkpoint()
					last = now
				}
			}
		}
	}()
	addr, token := o.addr, o.token
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	exps := newExposureLog(live, e.log)
	defer exps.close()
	reg, err := experiment.NewRegistry(live, optionCheck(o.root))
	if err != nil {
		return err
	}
	reports := newReportCache(reportTTL, func(key string) (*experiment.Report, error) {
		exps.flush() // the report reads what was served up to now
		return buildReport(live, reg, key, ms.cur.Load(), time.Now())
	})
	h := api.New(api.Deps{Model: ms.cur.Load, Log: e.log, Ingest: ingest.RLocker(), Admin: ms, AdminToken: token, Events: liveEvents{live}, Orders: liveEvents{live}, Plausibility: o.plausibility, MaxPicksInFlight: o.maxPicks, MaxEventsInFlight: o.maxEvents, RefuseUnknownGroups: o.refuseUnknown, Memory: mem, Exposures: exps,
		Catalog: ms, APIKeys: o.apiKeys, Experiments: reg, ModelVersion: ms.version, Report: reports.get, Rules: ms, Models: ms,
		Explore: o.explore})
	srv := o.conns.server(h)
	conns := o.conns.conns
	if conns <= 0 {
		conns = defaultConnLimits.conns
	}
	ln = netutil.LimitListener(ln, conns)
	inService := "none"
	if m := ms.cur.Load(); m != nil {
		inService = m.Version
	}
	fmt.Fprintf(e.stdout, "listening on http://%s (model %s; dashboard http://%s/ui/)\n", ln.Addr(), inService, ln.Addr())
	if o.ready != nil {
		o.ready("http://" + ln.Addr().String())
	}
	if o.pprof != "" {
		pl, err := net.Listen("tcp", o.pprof)
		if err != nil {
			return fmt.Errorf("--pprof: %w", err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		ps := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go ps.Serve(pl) //nolint:errcheck // closed with the process
		defer ps.Close()
		e.log.Info("profiles", slog.String("addr", "http://"+pl.Addr().String()+"/debug/pprof/"))
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	e.log.Info("stopped")
	return nil
}

// loopback reports whether addr (host:port) listens on this machine only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
