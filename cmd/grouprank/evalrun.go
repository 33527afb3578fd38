package main

import (
	"context"
	"encoding/json"
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
	"grouprank/train/pref"
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

// prepareEval cuts the conversion-model path's time split from w; with sh,
// w holds part sh of a sharded eval's groups (loadWorldPart), and what is
// drawn from or counted over every group (the --eval-groups and oracle
// samples, the title's counts) is gathered from every part.
func prepareEval(cmd *cobra.Command, e *env, f *evalFlags, w *world, sh *train.Shard) (*evalRun, error) {
	t0 := time.Now()
	ctx := cmd.Context()
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
	nGroups, nHist, nTest, nPushes := r.gs.Len(), r.hist.Len(), testEv.Len(), r.pushes.Len()
	// global maps sampled global indices (among every part's groups) back
	// to this part's groups.
	var global []int32
	if sh != nil {
		r.gs.Parts = sh.Parts
		nGroups = len(sh.IDs)
		if err := sh.AddCounts(&nHist, &nTest, &nPushes); err != nil {
			return nil, err
		}
		var err error
		if global, err = sh.Global(r.gs.IDs); err != nil {
			return nil, err
		}
		// A column is nil only when the world lacks it: so it is, in
		// every part, only when no part has a row.
		if nHist > 0 && r.hist.Group == nil {
			r.hist = features.NoOrders()
		}
		if nPushes > 0 && r.pushes.Group == nil {
			r.pushes = features.NoPushes()
		}
	}
	if nTest == 0 {
		return nil, fmt.Errorf("the test window %s to %s holds no placed order: nothing to evaluate against", split, end)
	}
	// sample draws k of the groups of which (ascending) with rng, among
	// every part's, and returns this part's, ascending.
	sample := func(name string, which []int32, k int, rng *rand.Rand) ([]int32, error) {
		all := which
		if sh != nil {
			mine := make([]int32, len(which))
			for n, g := range which {
				mine[n] = global[g]
			}
			var err error
			if all, err = sh.Union(ctx, name, mine); err != nil {
				return nil, err
			}
		}
		all = slices.Clone(all)
		rng.Shuffle(len(all), func(a, b int) { all[a], all[b] = all[b], all[a] })
		all = all[:min(k, len(all))]
		slices.Sort(all)
		if sh == nil {
			return all, nil
		}
		var out []int32
		for _, g := range all {
			if l, ok := slices.BinarySearch(global, g); ok {
				out = append(out, int32(l))
			}
		}
		return out, nil
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
		var with []int32
		for g, t := range test {
			if len(t) > 0 {
				with = append(with, int32(g))
			}
		}
		kept, err := sample("eval-groups", with, f.evalGroups, rand.New(rand.NewPCG(f.seed, 0x5a3e)))
		if err != nil {
			return nil, err
		}
		for _, g := range with {
			if _, ok := slices.BinarySearch(kept, g); !ok {
				test[g] = nil
			}
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
		var err error
		if r.data.OracleGroups, err = sample("oracle-groups", existing, f.oracleGroups, rand.New(rand.NewPCG(f.seed, 0x0c1e))); err != nil {
			return nil, err
		}
	}
	r.title = fmt.Sprintf("%s: split at %s, %d test days; %d groups, %d items (%d eligible); %d history orders, %d test orders",
		filepath.Base(f.world), split.Time().Format("2006-01-02"), f.testDays, nGroups, r.cat.Len(), countTrue(r.cat.Eligible), nHist, nTest)
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

// inputs builds profiles, statistics, the history matrix and (when a
// method needs it) iALS. With sh, the part's groups' are built, joined
// with the other parts' through its exchange: the statistics and pooled
// sums over every group, iALS's vectors (each part solving its groups and
// a share of the items) and item-knn's neighbours, the same as the whole's.
func (r *evalRun) inputs(cmd *cobra.Command, e *env, f *evalFlags, methods []string, sh *train.Shard) (*train.Inputs, error) {
	ctx := cmd.Context()
	cfg := features.DefaultConfig()
	cfg.HalfLifeDays = f.halfLife
	sc := features.DefaultStatsConfig()
	sc.HalfLifeDays = f.halfLife
	in := &train.Inputs{Cat: r.cat, Groups: r.gs,
		Profiles: features.BuildProfiles(r.cat, r.gs, r.hist, r.pushes, nil, r.split, cfg),
		Stats:    features.BuildItemStats(r.cat, r.gs, r.hist, r.pushes, r.split, sc)}
	if r.gs.Parts != nil {
		if err := r.gs.Parts.Err(); err != nil {
			return nil, err
		}
	}
	var err error
	if in.History, err = train.HistoryMatrixOf(sh, r.hist, r.gs.Len(), r.cat.Len(), r.split, f.halfLife, float32(f.confidence), float32(f.debias)); err != nil {
		return nil, err
	}
	r.data.History = in.History
	if sh != nil && (len(methods) == 0 || slices.Contains(methods, "item-knn")) {
		t0 := time.Now()
		if in.ItemKNN, err = train.NewItemKNNParts(ctx, sh, in.History, train.ItemKNNNeighbours); err != nil {
			return nil, err
		}
		e.log.Info("item-knn's neighbours found", tookSince(t0))
	}
	if len(methods) == 0 || slices.Contains(methods, "ials") || slices.Contains(methods, "blend") {
		t0 := time.Now()
		cfgALS := f.als
		cfgALS.Seed, cfgALS.Workers = f.seed, f.workers
		prog := progress(e, "iALS epochs", cfgALS.Epochs)
		var als *train.ALS
		if sh != nil {
			als, err = sh.TrainALS(ctx, "ials", r.gs.IDs, in.History, cfgALS, prog)
		} else {
			als, err = train.TrainALS(ctx, in.History, cfgALS, prog)
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

// methodNames are --methods' names, checked.
func (f *evalFlags) methodNames() ([]string, error) {
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
	return names, nil
}

func (r *evalRun) evaluate(cmd *cobra.Command, e *env, f *evalFlags) (*train.Report, error) {
	names, err := f.methodNames()
	if err != nil {
		return nil, err
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

// runEvalPart is eval --shard i/n: it joins the other parts through
// --exchange, reads its groups' rows, builds its groups' inputs with the
// other parts, ranks its groups and writes their metrics to --part for eval
// merge; when it fails, it tells the other parts.
func runEvalPart(cmd *cobra.Command, e *env, f *evalFlags) error {
	ctx := cmd.Context()
	names, err := f.methodNames()
	if err != nil {
		return err
	}
	t0 := time.Now()
	ex, err := joinExchange(ctx, e, f.exchange, f.shard, "eval "+filepath.Base(filepath.Clean(f.world))+"\n"+f.settings(), f.exchangeTimeout)
	if err != nil {
		return err
	}
	err = func() error {
		w, err := loadWorldPart(ctx, f.world, e.log, f.shard)
		if err != nil {
			return err
		}
		if err := countAs(w, f.count); err != nil {
			return err
		}
		if w.allGroups == nil { // one part: all of them
			for _, g := range w.groups {
				w.allGroups = append(w.allGroups, g.ID)
			}
			slices.Sort(w.allGroups)
		}
		sh := train.NewShard(ctx, ex, w.allGroups)
		if err := joinSpan(sh, w); err != nil {
			return err
		}
		nPushes := len(w.pushes)
		if err := sh.AddCounts(&nPushes); err != nil {
			return err
		}
		if w.last == data.UnknownTime || nPushes == 0 {
			if err := evalPrefPart(cmd, e, f, ex); err != nil {
				return err
			}
			return ex.Close(ctx)
		}
		e.log.Info("read the part's rows", slog.Int("groups", len(w.groups)), slog.Int("of_groups", len(w.allGroups)),
			slog.Int("orders", len(w.orders)), slog.Int("pushes", len(w.pushes)), tookSince(t0))
		r, err := prepareEval(cmd, e, f, w, sh)
		if err != nil {
			return err
		}
		w = nil
		in, err := r.inputs(cmd, e, f, names, sh)
		if err != nil {
			return err
		}
		methods, err := train.Methods(in, names)
		if err != nil {
			return err
		}
		if err := r.evaluatePart(cmd, e, f, methods, sh); err != nil {
			return err
		}
		return ex.Close(ctx)
	}()
	return failPart(ex, err)
}

// joinExchange joins the other parts of a sharded job through the exchange
// directory dir; title names the job and its settings, which every part
// must share.
func joinExchange(ctx context.Context, e *env, dir string, sh shard, title string, timeout time.Duration) (*exchange.Dir, error) {
	t0 := time.Now()
	waiting := func(step string, missing []int, waited time.Duration) {
		e.log.Info("waiting for the other parts", slog.String("dir", dir), slog.String("step", step),
			slog.Any("missing", missing), slog.Duration("waited", waited.Round(time.Second)))
	}
	ex, err := exchange.Open(ctx, dir, sh.i, sh.n, title, exchange.Options{Timeout: timeout, Waiting: waiting})
	if err != nil {
		return nil, err
	}
	e.log.Info("joined the exchange", slog.String("dir", dir), slog.Int("shard", sh.i), slog.Int("shards", sh.n), tookSince(t0))
	return ex, nil
}

// failPart tells the other parts why this one stopped, when err is not nil.
func failPart(ex *exchange.Dir, err error) error {
	if err == nil {
		return nil
	}
	if ferr := ex.Fail(err); ferr != nil {
		return fmt.Errorf("%w (and the other parts could not be told: %v)", err, ferr)
	}
	return err
}

// evaluatePart ranks the part's groups (a hash of the group id, as picks
// --shard) and writes their metrics to f.part for eval merge.
func (r *evalRun) evaluatePart(cmd *cobra.Command, e *env, f *evalFlags, methods []train.Method, sh *train.Shard) error {
	t0 := time.Now()
	total := countNonEmpty(r.data.Test)
	for _, g := range r.data.OracleGroups {
		if len(r.data.Test[g]) == 0 {
			total++
		}
	}
	prog := progress(e, fmt.Sprintf("ranking groups of shard %d/%d", f.shard.i, f.shard.n), total)
	part, err := train.EvaluatePart(cmd.Context(), r.data, methods, f.workers, func(done, _ int) { prog(done) }, sh,
		r.title+"\n"+f.settings())
	if err != nil {
		return err
	}
	if err := train.WriteEvalPart(f.part, part); err != nil {
		return err
	}
	e.log.Info("evaluated a shard", slog.Int("shard", f.shard.i), slog.Int("shards", f.shard.n), slog.Int("groups", len(part.Groups)),
		slog.String("part", f.part), tookSince(t0))
	fmt.Fprintf(e.stdout, "shard %d/%d: %d of the %d groups ranked, written to %s; eval merge PART... reports the whole\n",
		f.shard.i, f.shard.n, len(part.Groups), len(part.Work), f.part)
	return nil
}

// evalOrdersOnly evaluates the preference models on w, a world without
// pushes or times: on a per-group hold-out when the orders are undated,
// else on the last --test-days. ex, when not nil, is the exchange of a
// sharded eval's part (w then whole).
func evalOrdersOnly(ctx context.Context, e *env, f *evalFlags, w *world, ex train.Exchange) (*pref.Report, error) {
	methods := pref.Methods
	if f.methods != "" { // the preference models' names, as eval grouprec takes them
		methods = strings.Split(f.methods, ",")
		for _, m := range methods {
			if !slices.Contains(pref.Methods, m) {
				return nil, fmt.Errorf("--methods: %s has no pushes or no times, so the preference models are evaluated: want some of %s, got %q: %w",
					f.world, strings.Join(pref.Methods, ", "), m, data.ErrInvalid)
			}
		}
	}
	o := prefEval{count: f.count, methods: methods, share: 0.2, budget: 40, bootstrap: 1000, seed: f.seed, workers: f.workers, ex: ex}
	if w.last == data.UnknownTime {
		e.log.Info("the orders carry no times: evaluating the preference models on a per-group hold-out", slog.String("world", f.world))
		return evalUndated(ctx, e, w, o)
	}
	e.log.Info("the world has no pushes: evaluating the preference models train chooses from, on the last days", slog.String("world", f.world), slog.Int("test_days", f.testDays))
	return evalDated(ctx, e, w, f.testDays, o)
}

// evalPrefPart is a part of a sharded eval of the preference models: it
// reads the whole world, searches and ranks the test lines with the other
// parts (each its own groups' share), and writes the whole report, which
// every part holds, to f.part for eval merge.
func evalPrefPart(cmd *cobra.Command, e *env, f *evalFlags, ex train.Exchange) error {
	t0 := time.Now()
	w, _, err := loadEvalWorld(cmd, e, f)
	if err != nil {
		return err
	}
	rep, err := evalOrdersOnly(cmd.Context(), e, f, w, ex)
	if err != nil {
		return err
	}
	return writePrefPart(e, f.shard, f.part, "eval "+filepath.Base(filepath.Clean(f.world))+"\n"+f.settings(), rep, t0)
}

// evalPrefShard runs eval, an evaluation of the preference models, as part
// sh of a sharded eval: it joins the other parts through the exchange
// directory exDir (title names the evaluation and its settings, which the
// parts must share) and writes the report to partOut.
func evalPrefShard(cmd *cobra.Command, e *env, sh shard, exDir string, timeout time.Duration, partOut, title string, eval func(train.Exchange) (*pref.Report, error)) error {
	t0 := time.Now()
	ex, err := joinExchange(cmd.Context(), e, exDir, sh, title, timeout)
	if err != nil {
		return err
	}
	err = func() error {
		rep, err := eval(ex)
		if err != nil {
			return err
		}
		if err := writePrefPart(e, sh, partOut, title, rep, t0); err != nil {
			return err
		}
		return ex.Close(cmd.Context())
	}()
	return failPart(ex, err)
}

// writePrefPart writes rep, the whole report a part of a sharded
// evaluation of the preference models computed with the others, to the
// part file path for eval merge.
func writePrefPart(e *env, sh shard, path, title string, rep *pref.Report, t0 time.Time) error {
	js, err := json.MarshalIndent(jsonSafe(rep), "", "  ")
	if err != nil {
		return err
	}
	part := &train.EvalPart{Format: train.EvalPartFormat, Shard: sh.i, Shards: sh.n, Context: title, Pref: append(js, '\n'), PrefTable: rep.Markdown()}
	if err := train.WriteEvalPart(path, part); err != nil {
		return err
	}
	e.log.Info("evaluated a shard", slog.Int("shard", sh.i), slog.Int("shards", sh.n), slog.String("part", path), tookSince(t0))
	fmt.Fprintf(e.stdout, "shard %d/%d: the preference models evaluated with the other parts, written to %s; eval merge PART... reports the whole\n",
		sh.i, sh.n, path)
	return nil
}

// mergeWholeParts checks that parts are every part of one evaluation whose
// parts each hold the whole report, of the preference models or on
// BeiBei's protocol (each shard once, the same data and settings, the same
// report but its times), and returns the part whose report is written.
func mergeWholeParts(parts []*train.EvalPart) (*train.EvalPart, error) {
	kind := func(pt *train.EvalPart) string {
		switch {
		case pt.Pref != nil:
			return "the preference models"
		case pt.BeiBei != "":
			return "BeiBei's protocol"
		}
		return "the conversion model"
	}
	first := parts[0]
	have := make([]bool, first.Shards)
	var want string
	for n, pt := range parts {
		switch {
		case kind(pt) != kind(first):
			return nil, fmt.Errorf("part %d is a part of an evaluation of %s, part 1 of %s", n+1, kind(pt), kind(first))
		case pt.Shards != first.Shards || pt.Shard < 0 || pt.Shard >= pt.Shards:
			return nil, fmt.Errorf("part %d is part %d of %d, part 1 one of %d", n+1, pt.Shard, pt.Shards, first.Shards)
		case have[pt.Shard]:
			return nil, fmt.Errorf("shard %d/%d is given twice", pt.Shard, pt.Shards)
		case pt.Context != first.Context:
			return nil, fmt.Errorf("part %d (shard %d/%d) evaluated %q, part 1 %q", n+1, pt.Shard, pt.Shards, pt.Context, first.Context)
		}
		have[pt.Shard] = true
		got := pt.BeiBei
		if pt.Pref != nil {
			var err error
			if got, err = untimedJSON(pt.Pref); err != nil {
				return nil, fmt.Errorf("part %d (shard %d/%d): its report: %w", n+1, pt.Shard, pt.Shards, err)
			}
		}
		if n == 0 {
			want = got
		} else if got != want {
			return nil, fmt.Errorf("part %d (shard %d/%d) reports another evaluation than part 1", n+1, pt.Shard, pt.Shards)
		}
	}
	for s, ok := range have {
		if !ok {
			return nil, fmt.Errorf("shard %d/%d is missing", s, first.Shards)
		}
	}
	return first, nil
}

// untimedJSON is a JSON document without its times (keys millis,
// fit_millis and *_took), its keys sorted.
func untimedJSON(b []byte) (string, error) {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return "", err
	}
	var drop func(v any)
	drop = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if k == "millis" || k == "fit_millis" || strings.HasSuffix(k, "_took") {
					delete(x, k)
				} else {
					drop(e)
				}
			}
		case []any:
			for _, e := range x {
				drop(e)
			}
		}
	}
	drop(v)
	out, err := json.Marshal(v)
	return string(out), err
}
