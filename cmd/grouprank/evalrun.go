package main

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"grouprank/data"
	"grouprank/data/synth"
	"grouprank/features"
	"grouprank/train"
	"grouprank/train/exchange"
)

// evalRun is a loaded and split world ready to evaluate.
type evalRun struct {
	title  string
	cat    *features.Catalog
	gs     *features.Groups
	hist   *features.Events
	pushes *features.Events
	split  data.Timestamp
	data   *train.EvalData
	truth  *synth.World
	day    int
}

// loadEvalWorld loads --world for eval and tune, its orders counted as
// --count says, and says which evaluation it takes: the conversion-model
// path's time split (prepareEval), or the preference models' (ordersOnly:
// the orders carry no times, or the world has no pushes, the worlds train
// fits a preference model on).
func loadEvalWorld(cmd *cobra.Command, e *env, f *evalFlags) (w *world, ordersOnly bool, err error) {
	if w, err = loadWorld(cmd.Context(), f.world, e.log); err != nil {
		return nil, false, err
	}
	if err := countAs(w, f.count); err != nil {
		return nil, false, err
	}
	return w, w.last == data.UnknownTime || len(w.pushes) == 0, nil
}

// prepareEval cuts the conversion-model path's time split from w.
func prepareEval(cmd *cobra.Command, e *env, f *evalFlags, w *world) (*evalRun, error) {
	t0 := time.Now()
	end := w.last + 1
	var sw *synth.World
	if m, err := synth.ReadManifest(f.world); err == nil {
		end = data.TimestampOf(m.Params.Start) + data.Timestamp(m.Params.Days)*data.Day
		if sw, err = synth.Rebuild(m.Params); err != nil {
			return nil, err
		}
	} else if !os.IsNotExist(unwrapPath(err)) {
		return nil, err
	}
	end -= data.Timestamp(f.holdOutDays) * data.Day
	if f.testDays < 1 {
		return nil, fmt.Errorf("--test-days must be at least 1, got %d", f.testDays)
	}
	split := end - data.Timestamp(f.testDays)*data.Day
	if split <= w.first {
		return nil, fmt.Errorf("the test window (%d days before %s) leaves no history: the data start %s", f.testDays, end, w.first)
	}
	r := &evalRun{split: split, truth: sw, gs: features.NewGroups(w.groups)}
	r.cat = catalogAt(w.changes, split)
	orders, pushes := w.events(r.cat, r.gs)
	r.hist, r.pushes = orders.Before(split), pushes.Before(split)
	testEv := orders.Between(split, end)
	if testEv.Len() == 0 {
		return nil, fmt.Errorf("the test window %s to %s holds no placed order: nothing to evaluate against", split, end)
	}
	test := make([][]int32, r.gs.Len())
	for n := range testEv.Group {
		g := testEv.Group[n]
		if c := r.gs.Created[g]; c != data.UnknownTime && c >= split {
			continue // groups created after T are unknown at T
		}
		if !slices.Contains(test[g], testEv.Item[n]) {
			test[g] = append(test[g], testEv.Item[n])
		}
	}
	if f.evalGroups > 0 {
		var with []int
		for g, t := range test {
			if len(t) > 0 {
				with = append(with, g)
			}
		}
		rng := rand.New(rand.NewPCG(f.seed, 0x5a3e))
		rng.Shuffle(len(with), func(a, b int) { with[a], with[b] = with[b], with[a] })
		for _, g := range with[min(f.evalGroups, len(with)):] {
			test[g] = nil
		}
	}
	r.data = &train.EvalData{Cat: r.cat, Groups: r.gs, Test: test, ExcludeBought: f.excludeBought, AUCGroups: f.aucGroups, Seed: f.seed}
	if sw != nil && !f.noOracle {
		r.day = int((split - data.TimestampOf(sw.P.Start)) / data.Day)
		r.data.Oracle = newTruthOracle(sw.Truth(r.day), r.cat.SKUs, r.gs.IDs)
		var existing []int32
		for g := range r.gs.Len() {
			if c := r.gs.Created[g]; c == data.UnknownTime || c < split {
				existing = append(existing, int32(g))
			}
		}
		rng := rand.New(rand.NewPCG(f.seed, 0x0c1e))
		rng.Shuffle(len(existing), func(a, b int) { existing[a], existing[b] = existing[b], existing[a] })
		r.data.OracleGroups = existing[:min(f.oracleGroups, len(existing))]
		slices.Sort(r.data.OracleGroups)
	}
	r.title = fmt.Sprintf("%s: split at %s, %d test days; %d groups, %d items (%d eligible); %d history orders, %d test orders",
		filepath.Base(f.world), split.Time().Format("2006-01-02"), f.testDays, r.gs.Len(), r.cat.Len(), countTrue(r.cat.Eligible), r.hist.Len(), testEv.Len())
	e.log.Info("loaded", slog.String("world", f.world), slog.Int("groups", r.gs.Len()), slog.Int("items", r.cat.Len()),
		slog.Int("history_orders", r.hist.Len()), slog.Int("test_orders", testEv.Len()), tookSince(t0))
	return r, nil
}

func countTrue(b []bool) int {
	n := 0
	for _, x := range b {
		if x {
			n++
		}
	}
	return n
}

// inputs builds profiles, statistics, the history matrix and (when a method needs it) iALS.
// With ex, the parts of a sharded eval fit iALS together, each solving
// the groups of its shard and a share of the items (the same vectors).
func (r *evalRun) inputs(cmd *cobra.Command, e *env, f *evalFlags, methods []string, ex *exchange.Dir) (*train.Inputs, error) {
	cfg := features.DefaultConfig()
	cfg.HalfLifeDays = f.halfLife
	sc := features.DefaultStatsConfig()
	sc.HalfLifeDays = f.halfLife
	in := &train.Inputs{Cat: r.cat, Groups: r.gs,
		Profiles: features.BuildProfiles(r.cat, r.gs, r.hist, r.pushes, nil, r.split, cfg),
		Stats:    features.BuildItemStats(r.cat, r.gs, r.hist, r.pushes, r.split, sc),
		History:  train.HistoryMatrix(r.hist, r.gs.Len(), r.cat.Len(), r.split, f.halfLife, float32(f.confidence), float32(f.debias))}
	r.data.History = in.History
	if len(methods) == 0 || slices.Contains(methods, "ials") || slices.Contains(methods, "blend") {
		t0 := time.Now()
		cfgALS := f.als
		cfgALS.Seed, cfgALS.Workers = f.seed, f.workers
		prog := progress(e, "iALS epochs", cfgALS.Epochs)
		var als *train.ALS
		var err error
		if ex != nil {
			owner := func(g int) int { return shardOf(r.gs.IDs[g], f.shard.n) }
			als, err = train.TrainALSParts(cmd.Context(), "ials", in.History, owner, ex, cfgALS, prog)
		} else {
			als, err = train.TrainALS(cmd.Context(), in.History, cfgALS, prog)
		}
		if err != nil {
			return nil, err
		}
		in.ALS = als
		e.log.Info("iALS trained", slog.Int("factors", cfgALS.Factors), slog.Int("epochs", cfgALS.Epochs),
			slog.Int("nnz", in.History.NNZ()), tookSince(t0))
	}
	return in, nil
}

func (r *evalRun) evaluate(cmd *cobra.Command, e *env, f *evalFlags) (*train.Report, error) {
	var names []string
	for _, n := range strings.Split(f.methods, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	for _, n := range names {
		if !slices.Contains(train.MethodNames, n) {
			return nil, &train.UnknownMethodError{Name: n}
		}
	}
	if f.part != "" {
		return nil, r.evaluateShard(cmd, e, f, names)
	}
	in, err := r.inputs(cmd, e, f, names, nil)
	if err != nil {
		return nil, err
	}
	methods, err := train.Methods(in, names)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	total := len(r.data.OracleGroups) + countNonEmpty(r.data.Test)
	prog := progress(e, "ranking groups", total)
	rep, err := train.Evaluate(cmd.Context(), r.data, methods, f.workers, func(done, _ int) { prog(done) })
	if err != nil {
		return nil, err
	}
	e.log.Info("evaluated", slog.Int("groups", rep.Evaluated), slog.Int("oracle_groups", rep.OracleGroups),
		tookSince(t0))
	return rep, nil
}

func countNonEmpty(x [][]int32) int {
	n := 0
	for _, v := range x {
		if len(v) > 0 {
			n++
		}
	}
	return n
}

// evaluateShard builds the inputs and evaluates the groups of f.shard;
// with --exchange it first joins the other parts, fits iALS with them and
// tells them when it fails.
func (r *evalRun) evaluateShard(cmd *cobra.Command, e *env, f *evalFlags, names []string) error {
	var ex *exchange.Dir
	if f.exchange != "" {
		t0 := time.Now()
		waiting := func(step string, missing []int, waited time.Duration) {
			e.log.Info("waiting for the other parts", slog.String("dir", f.exchange), slog.String("step", step),
				slog.Any("missing", missing), slog.Duration("waited", waited.Round(time.Second)))
		}
		var err error
		if ex, err = exchange.Open(cmd.Context(), f.exchange, f.shard.i, f.shard.n, r.title+"\n"+f.settings(),
			exchange.Options{Timeout: f.exchangeTimeout, Waiting: waiting}); err != nil {
			return err
		}
		e.log.Info("joined the exchange", slog.String("dir", f.exchange), slog.Int("shard", f.shard.i), slog.Int("shards", f.shard.n), tookSince(t0))
	}
	err := func() error {
		in, err := r.inputs(cmd, e, f, names, ex)
		if err != nil {
			return err
		}
		methods, err := train.Methods(in, names)
		if err != nil {
			return err
		}
		if err := r.evaluatePart(cmd, e, f, methods); err != nil {
			return err
		}
		if ex != nil {
			return ex.Close(cmd.Context())
		}
		return nil
	}()
	if err != nil && ex != nil {
		if ferr := ex.Fail(err); ferr != nil {
			err = fmt.Errorf("%w (and the other parts could not be told: %v)", err, ferr)
		}
	}
	return err
}

// evaluatePart ranks the groups of f.shard (a hash of the group id, as picks
// --shard) and writes their metrics to f.part for eval merge. Every shard
// builds the same inputs from the whole history (profiles, statistics,
// iALS: seeded, so the same in each); only the ranking is divided.
func (r *evalRun) evaluatePart(cmd *cobra.Command, e *env, f *evalFlags, methods []train.Method) error {
	t0 := time.Now()
	sh := f.shard
	in := func(g int32) bool { return sh.has(r.gs.IDs[g]) }
	total := 0
	for g, t := range r.data.Test {
		if len(t) > 0 && in(int32(g)) {
			total++
		}
	}
	for _, g := range r.data.OracleGroups {
		if len(r.data.Test[g]) == 0 && in(g) {
			total++
		}
	}
	prog := progress(e, fmt.Sprintf("ranking groups of shard %d/%d", sh.i, sh.n), total)
	part, err := train.EvaluatePart(cmd.Context(), r.data, methods, f.workers, func(done, _ int) { prog(done) }, in, sh.i, sh.n,
		r.title+"\n"+f.settings())
	if err != nil {
		return err
	}
	if err := train.WriteEvalPart(f.part, part); err != nil {
		return err
	}
	e.log.Info("evaluated a shard", slog.Int("shard", sh.i), slog.Int("shards", sh.n), slog.Int("groups", len(part.Groups)),
		slog.String("part", f.part), tookSince(t0))
	fmt.Fprintf(e.stdout, "shard %d/%d: %d of the %d groups ranked, written to %s; eval merge PART... reports the whole\n",
		sh.i, sh.n, len(part.Groups), len(part.Work), f.part)
	return nil
}
