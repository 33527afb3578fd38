package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/net/netutil"

	"grouprank/data"
	"grouprank/recommend/api"
	"grouprank/recommend/experiment"
	"grouprank/recommend/service"
)

func serveCmd(e *env) *cobra.Command {
	plaus := data.DefaultPlausibility
	var maxPicks, maxEvents int
	var insecure bool
	unknownGroups := "accept"
	lim := defaultConnLimits
	var checkpointEvery, drain time.Duration
	var root, addr, token, sensitive, live, keys, pprofAddr, snapshotCache string
	var repush, explore float64
	var cacheSlots, natsReplicas int
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
			if err := lim.check(); err != nil {
				return err
			}
			return serve(cmd.Context(), e, serveOptions{root: root, addr: addr, token: token, sensitive: ss, live: live, apiKeys: apps, pprof: pprofAddr, cacheSlots: cacheSlots,
				repush: data.Timestamp(repush * float64(data.Day)), explore: explore, plausibility: plaus, maxPicks: maxPicks, maxEvents: maxEvents, conns: lim,
				refuseUnknown: unknownGroups == "refuse", checkpointEvery: checkpointEvery, natsReplicas: natsReplicas, snapshotCache: snapshotCache, drain: drain})
		},
	}
	c.Flags().DurationVar(&checkpointEvery, "checkpoint-every", 10*time.Minute, "write the in-memory state (a week of pushes, a month of orders) to the live store this often and on shutdown, so a restart loads it and replays only the events that arrived after it (0: never; restarts replay 31 days)")
	c.Flags().DurationVar(&drain, "drain", 0, "on SIGTERM, answer /readyz 503 for this long while still serving, so a load balancer (a Kubernetes Service) stops sending requests before the listener closes; then finish the requests in flight (at most 10 s) and stop")
	c.Flags().StringVar(&unknownGroups, "unknown-groups", unknownGroups, "events of groups the snapshot does not know: accept (kept a week, like all) or refuse")
	c.Flags().BoolVar(&insecure, "insecure", false, "serve without --api-keys on an address other machines can reach")
	lim.flags(c.Flags())
	c.Flags().IntVar(&maxPicks, "max-inflight-picks", api.DefaultPicksInFlight, "picks requests worked on at once; more are answered 503 with Retry-After")
	c.Flags().IntVar(&maxEvents, "max-inflight-events", api.DefaultEventsInFlight, "event batches worked on at once; more are answered 503 with Retry-After")
	c.Flags().Int32Var(&plaus.MaxQuantity, "max-order-quantity", plaus.MaxQuantity, "order events of more units are refused as implausible")
	c.Flags().Float64Var(&plaus.PriceRatio, "max-price-ratio", plaus.PriceRatio, "order events whose amount differs from quantity x list price by more than this factor either way are refused as implausible")
	c.Flags().StringVar(&root, "root", "snapshots", "snapshot root directory (grouprank publish --root), or nats://... URLs: serve the JetStream cluster's current model, fetched into --snapshot-cache, and follow it as it moves")
	c.Flags().StringVar(&snapshotCache, "snapshot-cache", "snapshot-cache", "with --root nats://...: the local directory the cluster's snapshots are fetched into")
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "listen address")
	c.Flags().StringVar(&live, "live", "live", liveHelp)
	c.Flags().IntVar(&natsReplicas, "nats-replicas", 3, "with --live or --root nats://...: copies of every stream and bucket (the cluster's size; 1 for one server)")
	c.Flags().Float64Var(&repush, "repush-days", 3, "leave out items pushed to the group within this many days, whoever pushed them")
	c.Flags().StringVar(&sensitive, "sensitive-categories", "underwear,health", "L1 categories reasons never name (comma-separated)")
	c.Flags().StringVar(&keys, "api-keys", "", "app:key pairs, comma-separated, that picks and events require (X-API-Key); empty: open")
	c.Flags().IntVar(&cacheSlots, "candidate-cache", 65536, "group vectors whose dot-product candidates are kept between requests (0: off; about 2.4 KB each)")
	c.Flags().StringVar(&pprofAddr, "pprof", "", "address of a separate listener serving Go's /debug/pprof profiles (empty: off; keep it on loopback)")
	c.Flags().StringVar(&token, "admin-token", "", "bearer token of the admin routes (promote, rollback, reload); empty disables them")
	c.Flags().Float64Var(&explore, "explore", 0, "share of logged lists drawn at random from the items passing the request's filters, with their propensities logged, so models trained on the service's own logs keep a randomised slice (an experiment arm's option explore overrides it; previews never explore)")
	return c
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
	natsReplicas            int           // --live or --root nats://...: copies of every stream and bucket
	snapshotCache           string        // --root nats://...: where the cluster's snapshots are fetched to
	drain                   time.Duration // unready this long before the listener closes
}

// serve runs the service until ctx ends, then drains it.
func serve(ctx context.Context, e *env, o serveOptions) error {
	live, err := openLive(ctx, o.live, o.natsReplicas)
	if err != nil {
		return err
	}
	defer live.Close()
	rules, err := service.LoadRules(live)
	if err != nil {
		return err
	}
	msync, err := clusterModels(ctx, e, &o) // --root nats://...: the cluster's models, cached locally
	if err != nil {
		return err
	}
	if msync != nil {
		defer msync.Close()
	}
	ms := service.NewRegistry(service.Config{Live: live, Root: o.root, Log: e.log, Now: e.now, Sensitive: o.sensitive, Repush: o.repush,
		CacheSlots: o.cacheSlots, Rules: rules})
	if _, err := ms.Reload(ctx); errors.Is(err, data.ErrNotFound) {
		e.log.Warn("no current snapshot: serving without a model until one is promoted (picks answer 503)", slog.String("root", o.root))
	} else if err != nil {
		return err
	}
	defer ms.Close()
	t0 := time.Now()
	// Orders by buyer are kept for the members the model in service knows:
	// theirs change their groups' members' rows.
	keepBuyers := func(id data.MemberID) bool { m := ms.Current(); return m != nil && m.Members.Knows(id) }
	var ingest sync.RWMutex // event batches hold it to read; a checkpoint, to write (no batch half stored)
	mem, follower, replayed, from, err := restoreMemory(ctx, e, live, o.live, keepBuyers, ingest.RLocker())
	if err != nil {
		return err
	}
	mem.Sweep(data.TimestampOf(e.now()))
	e.log.Info("live store open", slog.String("dir", o.live), slog.String("memory_from", from), slog.Int("events_replayed", replayed),
		tookSince(t0))
	defer keepMemory(ctx, e, live, mem, follower, &ingest, o.checkpointEvery)()
	addr, token := o.addr, o.token
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	exps := service.NewExposureLog(live, e.log)
	defer exps.Close()
	reg, err := experiment.NewRegistry(live, service.OptionCheck(o.root))
	if err != nil {
		return err
	}
	reports := service.NewReportCache(service.ReportTTL, e.now, func(key string) (*experiment.Report, error) {
		exps.Flush() // the report reads what was served up to now
		return service.BuildReport(ctx, live, reg, key, ms.Current(), e.now())
	})
	deps := api.Deps{Model: ms.Current, Log: e.log, Ingest: ingest.RLocker(), Admin: ms, AdminToken: token, Events: service.LiveEvents{L: live}, Orders: service.LiveEvents{L: live}, Plausibility: o.plausibility, MaxPicksInFlight: o.maxPicks, MaxEventsInFlight: o.maxEvents, RefuseUnknownGroups: o.refuseUnknown, Memory: mem, Exposures: exps,
		Catalog: ms, APIKeys: o.apiKeys, Experiments: reg, ModelVersion: ms.Version, Report: reports.Get, Rules: ms, Models: ms,
		Explore: o.explore, Now: e.now}
	if follower != nil {
		deps.Follower = follower
		go refreshExperiments(ctx, e, reg) // other replicas change them too
	}
	var draining atomic.Bool
	notDraining := func() error {
		if draining.Load() {
			return fmt.Errorf("%w: draining: the process is stopping", data.ErrUnavailable)
		}
		return nil
	}
	deps.Ready = notDraining
	if msync != nil {
		deps.Ready = func() error {
			if err := notDraining(); err != nil {
				return err
			}
			return msync.Ready()
		}
		go msync.watch(ctx, ms)
		deps.Admin = clusterAdmin{sync: msync, ms: ms}
	}
	h := api.New(deps)
	srv := o.conns.server(h)
	conns := o.conns.conns
	if conns <= 0 {
		conns = defaultConnLimits.conns
	}
	ln = netutil.LimitListener(ln, conns)
	inService := "none"
	if m := ms.Current(); m != nil {
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
	if o.drain > 0 {
		draining.Store(true)
		e.log.Info("draining: unready while still serving", slog.Duration("for", o.drain))
		select {
		case <-time.After(o.drain):
		case err := <-done:
			return err
		}
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
