package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"grouprank/data"
	"grouprank/data/synth"
	"grouprank/features"
	"grouprank/train"
	"grouprank/train/pref"
)

// evalFlags are the settings shared by eval and tune.
type evalFlags struct {
	world, methods, jsonOut, mdOut string
	count                          string // lines or units
	testDays, oracleGroups         int
	evalGroups                     int
	aucGroups, workers             int
	excludeBought                  bool
	holdOutDays                    int  // tune: days at the end that are never read (the test window)
	noOracle                       bool // tune: never consult the truth
	halfLife, confidence, debias   float64
	seed                           uint64
	als                            train.ALSConfig
}

func (f *evalFlags) register(c *cobra.Command) {
	fl := c.Flags()
	f.als = train.DefaultALSConfig()
	fl.StringVar(&f.world, "world", "world", "world directory (from gen or import)")
	fl.IntVar(&f.testDays, "test-days", 7, "the last N days are the test window; history is everything before")
	fl.StringVar(&f.methods, "methods", "", "comma-separated methods (default all): "+strings.Join(train.MethodNames, ", "))
	fl.BoolVar(&f.excludeBought, "exclude-bought", false, "leave items a group already bought out of its ranking and targets")
	fl.Float64Var(&f.halfLife, "half-life", 14, "half-life in days of history weights (profiles, popularity, iALS confidence)")
	fl.StringVar(&f.count, "count", "units", "what an order weighs in profiles, popularity and iALS: units (its quantity) or lines (1 each, so one item sold by the million does not swamp the rest)")
	fl.Float64Var(&f.confidence, "confidence", 1, "iALS weight of an observed pair: 1 + confidence x decayed units ordered")
	fl.Float64Var(&f.debias, "pop-debias", 0, "iALS: divide an observed pair's confidence by the item's order count to this power")
	fl.IntVar(&f.als.Factors, "factors", f.als.Factors, "iALS factors")
	fl.Float32Var(&f.als.Alpha0, "alpha0", f.als.Alpha0, "iALS weight of unobserved pairs")
	fl.Float32Var(&f.als.Lambda, "lambda", f.als.Lambda, "iALS regularisation (frequency-scaled)")
	fl.Float32Var(&f.als.Nu, "nu", f.als.Nu, "iALS regularisation exponent")
	fl.IntVar(&f.als.Epochs, "epochs", f.als.Epochs, "iALS epochs")
	fl.IntVar(&f.als.CGSteps, "cg-steps", f.als.CGSteps, "conjugate-gradient steps per row and epoch")
	fl.Uint64Var(&f.seed, "seed", 1, "seed for model initialisation and sampling")
	fl.IntVar(&f.oracleGroups, "oracle-groups", 20000, "groups sampled for the oracle ratio (synthetic worlds)")
	fl.IntVar(&f.aucGroups, "auc-groups", 1000, "evaluated groups sampled for AUC")
	fl.IntVar(&f.evalGroups, "eval-groups", 0, "evaluate a seeded sample of this many groups with test orders (0: all)")
	fl.IntVar(&f.workers, "workers", 0, "goroutines (0: one per core)")
	fl.StringVar(&f.jsonOut, "json", "", "also write the report as JSON to this file")
	fl.StringVar(&f.mdOut, "markdown", "", "also write the report as a Markdown table to this file")
}

func evalCmd(e *env) *cobra.Command {
	f := &evalFlags{}
	c := &cobra.Command{
		Use:   "eval --world DIR",
		Short: "Evaluate ranking methods offline on a time split (and, on a synthetic world, against the truth)",
		Long: `eval splits a world's history at T = end - test-days, builds profiles, item
statistics, item-kNN and iALS on what happened before T, ranks the whole
eligible catalogue at T for every group with orders after T, and reports
Recall, NDCG and HR at 10, 20 and 50, coverage and AUC per method.

On a synthetic world it also reports the oracle ratio: the true expected orders
of each method's top-k over those of the best possible top-k, from the truth
rebuilt from world.json (no model reads it), and the AUC of the true push
value as a reference (not a ceiling: the test orders include members' own
re-orders, which the value of a push leaves out).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			run, err := prepareEval(cmd, e, f)
			if errors.Is(err, errUndated) {
				e.log.Info("the orders carry no times: evaluating the preference models on a per-group hold-out", slog.String("world", f.world))
				rep, err := evalUndated(cmd.Context(), e, f.world, prefEval{count: f.count, methods: pref.Methods, share: 0.2, budget: 40,
					bootstrap: 1000, seed: f.seed, workers: f.workers})
				if err != nil {
					return err
				}
				return writePrefReport(e, rep, f.mdOut, f.jsonOut)
			}
			if err != nil {
				return err
			}
			rep, err := run.evaluate(cmd, e, f)
			if err != nil {
				return err
			}
			return writeReport(e, f, run.title, rep)
		},
	}
	f.register(c)
	c.AddCommand(evalBeiBeiCmd(e), evalBusinessCmd(e), evalLaunchesCmd(e), evalGroupRecCmd(e))
	return c
}

// countAs makes every order weigh one line (count "lines") instead of its
// units ("units": as they are).
func countAs(w *world, count string) error {
	switch count {
	case "units":
	case "lines":
		for k := range w.orders {
			w.orders[k].Quantity = 1
		}
		for k := range w.own {
			w.own[k].Quantity = 1
		}
	default:
		return fmt.Errorf("--count: want lines or units, got %q", count)
	}
	return nil
}

// errUndated: the world's orders carry no times, so there is no time split.
var errUndated = errors.New("the orders carry no times")

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

func prepareEval(cmd *cobra.Command, e *env, f *evalFlags) (*evalRun, error) {
	t0 := time.Now()
	w, err := loadWorld(cmd.Context(), f.world)
	if err != nil {
		return nil, err
	}
	if err := countAs(w, f.count); err != nil {
		return nil, err
	}
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
	if w.last == data.UnknownTime {
		return nil, errUndated
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
		r.data.Oracle = newOracle(sw.Truth(r.day), r.cat, r.gs)
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
func (r *evalRun) inputs(cmd *cobra.Command, e *env, f *evalFlags, methods []string) (*train.Inputs, error) {
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
		als, err := train.TrainALS(cmd.Context(), in.History, cfgALS, prog)
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
	in, err := r.inputs(cmd, e, f, names)
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

// oracle adapts the synthetic truth (indexed by its own item order) to the catalogue's.
type oracle struct {
	t    *synth.Truth
	gs   *features.Groups
	idx  []int // catalogue item -> truth item (-1: unknown)
	pool sync.Pool
}

func newOracle(t *synth.Truth, cat *features.Catalog, gs *features.Groups) *oracle {
	pos := map[data.SKU]int{}
	for j, s := range t.Items() {
		pos[s] = j
	}
	o := &oracle{t: t, gs: gs, idx: make([]int, cat.Len())}
	for i, s := range cat.SKUs {
		j, ok := pos[s]
		if !ok {
			j = -1
		}
		o.idx[i] = j
	}
	return o
}

func (o *oracle) Values(g int32, dst []float64) {
	buf, _ := o.pool.Get().(*[]float64)
	if buf == nil {
		buf = new([]float64)
	}
	*buf = o.t.Scores(o.gs.IDs[g], *buf)
	for i, j := range o.idx {
		if j >= 0 {
			dst[i] = (*buf)[j]
		} else {
			dst[i] = 0
		}
	}
	o.pool.Put(buf)
}

func writeReport(e *env, f *evalFlags, title string, rep *train.Report) error {
	fmt.Fprintln(e.stdout, title)
	fmt.Fprintln(e.stdout)
	fmt.Fprint(e.stdout, reportTable(rep, false))
	if f.jsonOut != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(f.jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if f.mdOut != "" {
		if err := os.WriteFile(f.mdOut, []byte(reportTable(rep, true)), 0o644); err != nil {
			return err
		}
	}
	return nil
}
