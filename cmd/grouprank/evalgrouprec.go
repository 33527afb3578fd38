package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"grouprank/data"
	"grouprank/data/importer"
	"grouprank/train"
	"grouprank/train/pref"
)

func evalGroupRecCmd(e *env) *cobra.Command {
	var dir, mdOut, jsonOut, methods, count, root string
	var bootstrap, budget, workers, folds int
	var seed uint64
	var share float64
	var shardFlag, partOut, exDir, split string
	var valDays int
	var exTimeout time.Duration
	c := &cobra.Command{
		Use:   "grouprec --world DIR",
		Short: "Evaluate on a group-recommendation benchmark (both protocols), every method's settings chosen on validation",
		Long: `eval grouprec reads a world written by "grouprank import grouprec": the groups'
and members' training orders, and the test files in DIR/heldout. It cuts a
validation split from the groups' training orders as train does: on a set
whose lines carry times (spanning twice --val-days), each group's new items
of the last --val-days; else a seeded leave-some-out (--holdout of each
group's items, at least one, never a group's only item); --split chooses.
It searches every method's settings on it by full-ranking NDCG@10 (--budget
configurations per method), chooses the method with the best validation
NDCG@10, refits every method on all training orders, and reports both
protocols of the benchmark on the test lines:

  1. sampled: the test item ranked against its line's negatives (HR@5/10, NDCG@5/10);
  2. full ranking: every item but the group's training items (HR@10, NDCG@10, Recall@20).

Ties rank the lower internal item index first. With --root, the model
published there (grouprank train on the same world, then publish) ranks the
same lines by the service's own scores, the ones score --pairs prints (its
row: published). The chosen model's paired bootstrap interval against every
other method closes the report. The test files are read only after the
choice is made.

With --shard i/n, n parts run at once, each reading the whole world and
joining the others through --exchange DIR: each part scores its own groups
(a hash of their id, as every sharded command splits them) in the search's
validation and in both protocols' test lines, and solves its groups' iALS
rows, so the parts divide the CPU; each writes the whole report to --part
FILE, and eval merge checks that the parts agree and writes it as this
command does without --shard.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sh, err := parseShard(shardFlag)
			if err != nil {
				return err
			}
			switch {
			case shardFlag != "" && (partOut == "" || exDir == ""):
				return fmt.Errorf("--shard %s: the parts run at once, joining through --exchange DIR, and each writes the report to --part FILE (eval merge reads the parts): %w", shardFlag, data.ErrInvalid)
			case shardFlag == "" && (exDir != "" || partOut != ""):
				return fmt.Errorf("--exchange and --part belong to a sharded eval: they need --shard i/n: %w", data.ErrInvalid)
			case partOut != "" && (jsonOut != "" || mdOut != ""):
				return fmt.Errorf("--part writes a shard's report; --json and --markdown belong to eval merge: %w", data.ErrInvalid)
			case shardFlag != "" && root != "":
				return fmt.Errorf("--root: a published model is ranked by one process, not by the parts of a sharded eval: %w", data.ErrInvalid)
			}
			if split != "auto" && split != "time" && split != "random" {
				return fmt.Errorf("--split: want auto, time or random, got %q: %w", split, data.ErrInvalid)
			}
			o := prefEval{count: count, methods: splitMethods(methods), split: split, valDays: valDays, share: share, folds: folds, budget: budget, bootstrap: bootstrap, seed: seed, workers: workers}
			if shardFlag == "" {
				rep, err := evalGroupRec(cmd.Context(), e, dir, root, o)
				if err != nil {
					return err
				}
				return writePrefReport(e, rep, mdOut, jsonOut)
			}
			// workers is left out: the parts may use different numbers of
			// cores and compute the same report.
			title := fmt.Sprintf("eval grouprec %s\nmethods=%s count=%s split=%s val-days=%d holdout=%g folds=%d budget=%d bootstrap=%d seed=%d",
				filepath.Base(filepath.Clean(dir)), strings.Join(o.methods, ","), count, split, valDays, share, folds, budget, bootstrap, seed)
			return evalPrefShard(cmd, e, sh, exDir, exTimeout, partOut, title, func(ex train.Exchange) (*pref.Report, error) {
				o.ex = ex
				return evalGroupRec(cmd.Context(), e, dir, "", o)
			})
		},
	}
	f := c.Flags()
	f.StringVar(&dir, "world", "grouprec", "world written by grouprank import grouprec")
	f.StringVar(&methods, "methods", strings.Join(pref.Methods, ","), "comma-separated methods: "+strings.Join(pref.Methods, ", "))
	f.StringVar(&count, "count", "units", "what an order weighs: units (its quantity) or lines (1 each)")
	f.StringVar(&split, "split", "auto", "validation split: time (the last --val-days, as train cuts it), random (per-group leave-some-out) or auto (time when the orders are dated and span twice --val-days)")
	f.IntVar(&valDays, "val-days", 7, "time split: days of validation targets")
	f.Float64Var(&share, "holdout", 0.2, "random split: share of a group's distinct items held out for validation (at least 1, never all)")
	f.IntVar(&folds, "folds", 0, "validation splits (repeated hold-out, seeds seed, seed+1, ...; 0: 3, or 1 above 100,000 group order lines); a setting's score is its mean NDCG@10 over them")
	f.IntVar(&budget, "budget", 40, "configurations tried per method on the validation split")
	f.IntVar(&bootstrap, "bootstrap", 1000, "bootstrap resamples for the paired intervals")
	f.Uint64Var(&seed, "seed", 1, "seed for the split, iALS and the bootstrap")
	f.IntVar(&workers, "workers", 0, "goroutines (0: one per core)")
	f.StringVar(&mdOut, "markdown", "", "also write the report as Markdown to this file")
	f.StringVar(&jsonOut, "json", "", "also write the report, with every validation trial, as JSON to this file")
	f.StringVar(&root, "root", "", "also rank the test lines with the current model published in this snapshot root (grouprank train --world DIR, then publish), by the service's own scores")
	f.StringVar(&shardFlag, "shard", "", "i/n: evaluate as part i of n, all parts at once, each scoring its groups (a hash of their id); eval merge reports the whole")
	f.StringVar(&partOut, "part", "", "with --shard: the file the shard writes the report to")
	f.StringVar(&exDir, "exchange", "", "with --shard: a directory every part reaches (new for each run), through which the parts join their work")
	f.DurationVar(&exTimeout, "exchange-timeout", time.Hour, "with --shard: how long a part waits for the others at a step before it gives up")
	return c
}

func splitMethods(s string) []string {
	var out []string
	for _, m := range strings.Split(s, ",") {
		if m = strings.TrimSpace(m); m != "" {
			out = append(out, m)
		}
	}
	return out
}

// prefEval are the settings of an evaluation of the preference models.
type prefEval struct {
	count         string
	methods       []string
	split         string // eval grouprec: auto, time or random (as train's --split)
	valDays       int
	share         float64
	folds, budget int
	bootstrap     int
	seed          uint64
	workers       int
	published     *publishedRanker // nil: none
	// ex, when not nil, is the exchange of a sharded eval's part: it holds
	// the data whole and divides the search and the test lines' ranking
	// with the other parts (pref.Parts).
	ex train.Exchange
}

// evalGroupRec evaluates on a world imported from the group-recommendation
// layout; root, when not empty, is a snapshot root whose current model was
// trained on it.
func evalGroupRec(ctx context.Context, e *env, dir, root string, o prefEval) (*pref.Report, error) {
	p, err := loadPrefWorld(ctx, e, dir, o)
	if err != nil {
		return nil, err
	}
	if root != "" {
		if o.published, err = openPublishedFor(root, p); err != nil {
			return nil, err
		}
		defer o.published.close()
	}
	// A dated set is validated as train validates it (--split auto: its
	// last days); an undated one, or --split random, by evalPref's
	// per-group leave-some-out.
	var val pref.Validation
	var name string
	pf := prefFlags{split: o.split, valDays: o.valDays, share: o.share, folds: o.folds}
	if k := splitKind(pf, p.w.first, p.w.last); k != "random" {
		if _, val, name, _, err = p.validation(pf, o.seed, p.w.first, p.w.last, p.w.last+1); err != nil {
			return nil, err
		}
	}
	return evalPref(ctx, e, p, p.data, val, name, func() ([]heldOutLine, error) { return readGroupTest(ctx, p, dir) }, o)
}

// evalUndated evaluates the preference models on a world whose orders carry
// no times: the test targets are a seeded per-group hold-out of the groups'
// orders (TestSeed), the validation split is cut from the rest.
func evalUndated(ctx context.Context, e *env, w *world, o prefEval) (*pref.Report, error) {
	p, err := newPrefWorldFreeing(w)
	if err != nil {
		return nil, err
	}
	test := pref.HoldOut(p.data, o.share, o.seed+testSeed)
	if test.Groups() == 0 {
		return nil, fmt.Errorf("%s: no group has two distinct items to hold one out: nothing to test on", w.dir)
	}
	rep, err := evalPref(ctx, e, p, test.Train, nil, "", targetLines(test), o)
	if err != nil {
		return nil, err
	}
	rep.Test = fmt.Sprintf("the orders carry no times: %.0f%% of each group's distinct items (at least 1, never all; %d groups, or more until %d items are held out) held out as test targets, seed %d; validation is cut from the rest",
		100*o.share, pref.ValidationGroups, pref.ValidationTargets, o.seed+testSeed)
	return rep, nil
}

// evalDated evaluates the preference models on a dated world without
// pushes, the model train fits there: the test targets are the items each
// group ordered in the last testDays days that it had not ordered before
// (reaching back, as train's validation does, where those days hold less
// than half the hold-out share of the groups' order lines: a slow tail),
// and the methods are searched and chosen on a validation split of the
// orders before, cut as train cuts it from a whole history (the last
// testDays days when that history spans twice them, else a per-group
// hold-out), then fitted on those orders and scored on the targets.
func evalDated(ctx context.Context, e *env, w *world, testDays int, o prefEval) (*pref.Report, error) {
	if testDays < 1 {
		return nil, fmt.Errorf("--test-days must be at least 1, got %d", testDays)
	}
	p, err := newPrefWorldFreeing(w)
	if err != nil {
		return nil, err
	}
	t, window, err := p.testStart(testDays, o.share)
	if err != nil {
		return nil, err
	}
	q, test, err := p.splitAt(t)
	if err != nil {
		return nil, err
	}
	if test.Groups() == 0 {
		return nil, fmt.Errorf("%s: no group ordered an item it had not ordered before in the test window (%s): nothing to test on", w.dir, window)
	}
	_, val, name, _, err := q.validation(prefFlags{split: "auto", valDays: testDays, share: o.share, folds: o.folds}, o.seed, w.first, t-1, t)
	if err != nil {
		return nil, err
	}
	if val.Groups() == 0 {
		return nil, fmt.Errorf("%s: the validation split (%s) of the orders before %s holds no group: a model cannot be chosen", w.dir, name, t)
	}
	rep, err := evalPref(ctx, e, q, q.data, val, name, targetLines(test), o)
	if err != nil {
		return nil, err
	}
	rep.Test = window + ": the items each group ordered then and had not ordered before; every method is fitted on the orders before"
	return rep, nil
}

// testStart is where the test window of p's dated orders starts, and its
// name: the last days days, reaching back, as train's validation does,
// while they hold less than half share of the groups' order lines (a slow
// tail). eval tests there and tune leaves it out.
func (p *prefWorld) testStart(days int, share float64) (data.Timestamp, string, error) {
	first, end := p.w.first, p.w.last+1
	t := end - data.Timestamp(days)*data.Day
	if t <= first {
		return 0, "", fmt.Errorf("the test window (the last %d days, from %s) leaves no history: the orders start %s", days, t, first)
	}
	back := p.sharePoint(share/2, t, end)
	if back == t {
		return t, fmt.Sprintf("the last %d days (from %s)", days, t), nil
	}
	if back <= first {
		return 0, "", fmt.Errorf("the last %d days (from %s) hold fewer than %.0f%% of the groups' order lines, and a test window that holds them leaves no history: the orders start %s",
			days, t, 50*share, first)
	}
	return back, fmt.Sprintf("from %s, the last %d days, reaching back to hold %.0f%% of the groups' order lines (half the random split's share; the last %d days held fewer)",
		back, (end-back+data.Day-1)/data.Day, 50*share, days), nil
}

// targetLines reads a split's targets as test lines, group by group.
func targetLines(s *pref.Split) func() ([]heldOutLine, error) {
	return func() ([]heldOutLine, error) {
		var lines []heldOutLine
		for g, t := range s.Targets {
			for _, i := range t {
				lines = append(lines, heldOutLine{group: int32(g), item: i})
			}
		}
		return lines, nil
	}
}

// testSeed sets the test hold-out of undated data apart from the
// validation splits (seeds seed, seed+1, ...).
const testSeed = 1000

func loadPrefWorld(ctx context.Context, e *env, dir string, o prefEval) (*prefWorld, error) {
	for _, m := range o.methods {
		if !slices.Contains(pref.Methods, m) {
			return nil, fmt.Errorf("--methods: unknown method %q (want %s)", m, strings.Join(pref.Methods, ", "))
		}
	}
	w, err := loadWorld(ctx, dir, e.log)
	if err != nil {
		return nil, err
	}
	if err := countAs(w, o.count); err != nil {
		return nil, err
	}
	return newPrefWorldFreeing(w)
}

// evalPref searches and chooses on the validation splits val of d (nil:
// a per-group leave-some-out, o.share of each group's items, o.folds folds),
// named valName, then fits every method on d and scores the test lines (read
// only then).
func evalPref(ctx context.Context, e *env, p *prefWorld, d *pref.Data, val pref.Validation, valName string, test func() ([]heldOutLine, error), o prefEval) (*pref.Report, error) {
	dir, count, methods, share, folds, budget, bootstrap, seed, workers := p.w.dir, o.count, o.methods, o.share, o.folds, o.budget, o.bootstrap, o.seed, o.workers
	rep := &pref.Report{World: dir, Count: count, Groups: d.Groups.Rows, Items: d.Items, Bootstrap: bootstrap, Seed: seed}
	for _, v := range d.Groups.W {
		rep.GroupOrders += int(v)
	}
	t0 := time.Now()
	if val == nil {
		val = pref.HoldOuts(d, share, folds, seed)
		valName = fmt.Sprintf("per-group leave-some-out, %.0f%% of each group's items (at least 1, never all), %d folds seeded %d..%d", 100*share, len(val), seed, seed+uint64(len(val))-1)
	}
	var parts *pref.Parts
	if o.ex != nil {
		if o.published != nil {
			return nil, fmt.Errorf("a published model is ranked by one process, not by the parts of a sharded eval: %w", data.ErrInvalid)
		}
		_, n := o.ex.Part()
		parts = &pref.Parts{Ex: o.ex, Group: func(g int) int { return data.PartOf(p.groups[g], n) }}
		d.Parts = parts
		for _, s := range val {
			s.Train.Parts = parts
		}
	}
	e.log.Info("validation split", slog.String("split", valName), slog.Int("groups", val.Groups()), slog.Int("folds", len(val)))
	var err error
	rep.Selection, err = pref.SelectModel(ctx, val, valName, methods, budget, seed, workers, searchProgress(e, budget))
	if err != nil {
		return nil, err
	}
	rep.SelectTook = time.Since(t0).Round(time.Millisecond).String()
	rep.Chosen = rep.Selection.Chosen.Method
	// Every method is fitted on the data the selection chose to read (with
	// the members' credited orders or without), as the service would run
	// it: whether a group with no orders of its own reads its members is
	// checked on the cold split.
	rep.Members, rep.OwnOrders, rep.CreditedOrders = memberCounts(d)
	d = rep.Selection.Data(d)
	if err := rep.Selection.CheckCold(ctx, seed, workers); err != nil {
		return nil, err
	}
	// The test lines are read only now, after the choice.
	lines, err := test()
	if err != nil {
		return nil, err
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("%s: no test line", filepath.Join(dir, importer.HeldOutDir, importer.GroupRecGroupTest))
	}
	rep.TestLines = len(lines)
	cold := map[int32]bool{} // the cold groups counted so far
	for _, l := range lines {
		if len(d.Seen(l.group)) > 0 {
			continue
		}
		rep.ColdLines++
		if cold[l.group] {
			continue
		}
		cold[l.group] = true
		rep.ColdGroups++
		if c, _ := d.MembersRow(l.group); len(c) > 0 {
			rep.ColdWithMembers++
		}
	}
	for k, l := range lines {
		if l.negatives == nil {
			continue
		}
		rep.P1Lines++
		// A negative the group already has (some sets sample negatives
		// without leaving out the training items) is never recommended to
		// it: it is left out, as protocol 2 leaves out the group's history.
		seen := d.Seen(l.group)
		kept := make([]int32, 0, len(l.negatives))
		for _, j := range l.negatives {
			if _, ok := slices.BinarySearch(seen, j); !ok {
				kept = append(kept, j)
			}
		}
		if n := len(l.negatives) - len(kept); n > 0 {
			rep.P1HistoryLines++
			rep.P1HistoryNegatives += n
		}
		lines[k].negatives = kept
	}
	t1 := time.Now()
	dst := make([]float32, d.Items)
	me := 0
	if parts != nil {
		me, _ = parts.Ex.Part()
	}
	for _, s := range rep.Selection.Searches {
		m := &pref.MethodResult{Method: s.Method, Config: s.Best, Validation: s.NDCG10, Skipped: s.Skipped}
		rep.Methods = append(rep.Methods, m)
		if s.Best == nil {
			continue
		}
		tf := time.Now()
		model, err := pref.Fit(ctx, d, *s.Best, seed, workers)
		if err != nil {
			return nil, err
		}
		m.FitMillis = time.Since(tf).Milliseconds()
		// Each part ranks its own groups' lines; the ranks are joined and
		// added in the lines' order.
		p1s, fulls := make([]float64, len(lines)), make([]float64, len(lines))
		owner := func(k int) int { return parts.Group(int(lines[k].group)) }
		for k, l := range lines {
			if parts != nil && owner(k) != me {
				continue
			}
			model.Score(l.group, dst)
			seen := d.Seen(l.group)
			full := pref.RankOf(dst, l.item, func(yield func(int32) bool) {
				for j := range int32(d.Items) {
					if _, ok := slices.BinarySearch(seen, j); !ok && !yield(j) {
						return
					}
				}
			})
			p1 := pref.RankOf(dst, l.item, func(yield func(int32) bool) {
				for _, j := range l.negatives {
					if !yield(j) {
						return
					}
				}
			})
			p1s[k], fulls[k] = float64(p1), float64(full)
		}
		if parts != nil {
			if err := parts.JoinValues(ctx, "test-ranks", len(lines), owner, p1s, fulls); err != nil {
				return nil, err
			}
		}
		for k, l := range lines {
			m.Lines.Add(int(p1s[k]), int(fulls[k]), l.negatives != nil)
		}
		m.Mean = m.Lines.Means()
	}
	if o.published != nil {
		if rep.Published, err = o.published.rank(ctx, p, d.Seen, lines, workers); err != nil {
			return nil, err
		}
	}
	rep.FitTook = time.Since(t1).Round(time.Millisecond).String()
	var chosen *pref.MethodResult
	for _, m := range rep.Methods {
		if m.Method == rep.Chosen {
			chosen = m
		}
	}
	for k, m := range rep.Methods {
		if m == chosen || m.Config == nil {
			continue
		}
		rep.Diffs = append(rep.Diffs, pref.Diff{Against: m.Method,
			P1NDCG: train.PairedBootstrap(chosen.Lines.P1NDCG10, m.Lines.P1NDCG10, bootstrap, seed+uint64(2*k)),
			P2NDCG: train.PairedBootstrap(chosen.Lines.P2NDCG10, m.Lines.P2NDCG10, bootstrap, seed+uint64(2*k+1))})
	}
	if pb := rep.Published; pb != nil {
		k := len(rep.Methods)
		rep.Diffs = append(rep.Diffs, pref.Diff{Against: "published",
			P1NDCG: train.PairedBootstrap(chosen.Lines.P1NDCG10, pb.Lines.P1NDCG10, bootstrap, seed+uint64(2*k)),
			P2NDCG: train.PairedBootstrap(chosen.Lines.P2NDCG10, pb.Lines.P2NDCG10, bootstrap, seed+uint64(2*k+1))})
	}
	return rep, nil
}

// memberCounts are the members with orders (own or credited), the weight of
// the orders they placed themselves and of those credited to them.
func memberCounts(d *pref.Data) (members, own, credited int) {
	var all float64
	for r := range d.Members.Rows {
		c, ws := d.Members.Row(r)
		if len(c) > 0 {
			members++
		}
		for _, v := range ws {
			all += float64(v)
		}
	}
	cr := d.Credited()
	return members, int(math.Round(all - cr)), int(math.Round(cr))
}
