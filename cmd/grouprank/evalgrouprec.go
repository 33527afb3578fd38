package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"grouprank/data/importer"
	"grouprank/train"
	"grouprank/train/pref"
)

func evalGroupRecCmd(e *env) *cobra.Command {
	var dir, mdOut, jsonOut, methods, count string
	var bootstrap, budget, workers, folds int
	var seed uint64
	var share float64
	c := &cobra.Command{
		Use:   "grouprec --world DIR",
		Short: "Evaluate on a group-recommendation benchmark (both protocols), every method's settings chosen on validation",
		Long: `eval grouprec reads a world written by "grouprank import grouprec": the groups'
and members' training orders, and the test files in DIR/heldout. It cuts a
seeded leave-some-out validation split from the groups' training orders
(--holdout of each group's items, at least one, never a group's only item),
searches every method's settings on it by full-ranking NDCG@10 (--budget
configurations per method), chooses the method with the best validation
NDCG@10, refits every method on all training orders, and reports both
protocols of the benchmark on the test lines:

  1. sampled: the test item ranked against its line's negatives (HR@5/10, NDCG@5/10);
  2. full ranking: every item but the group's training items (HR@10, NDCG@10, Recall@20).

Ties rank the lower internal item index first. The chosen model's paired
bootstrap interval against every other method closes the report. The test
files are read only after the choice is made.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := evalGroupRec(cmd.Context(), e, dir, count, splitMethods(methods), share, folds, budget, bootstrap, seed, workers)
			if err != nil {
				return err
			}
			return writePrefReport(e, rep, mdOut, jsonOut)
		},
	}
	f := c.Flags()
	f.StringVar(&dir, "world", "grouprec", "world written by grouprank import grouprec")
	f.StringVar(&methods, "methods", strings.Join(pref.Methods, ","), "comma-separated methods: "+strings.Join(pref.Methods, ", "))
	f.StringVar(&count, "count", "units", "what an order weighs: units (its quantity) or lines (1 each)")
	f.Float64Var(&share, "holdout", 0.2, "share of a group's distinct items held out for validation (at least 1, never all)")
	f.IntVar(&folds, "folds", 0, "validation splits (repeated hold-out, seeds seed, seed+1, ...; 0: 3, or 1 above 100,000 group order lines); a setting's score is its mean NDCG@10 over them")
	f.IntVar(&budget, "budget", 40, "configurations tried per method on the validation split")
	f.IntVar(&bootstrap, "bootstrap", 1000, "bootstrap resamples for the paired intervals")
	f.Uint64Var(&seed, "seed", 1, "seed for the split, iALS and the bootstrap")
	f.IntVar(&workers, "workers", 0, "goroutines (0: one per core)")
	f.StringVar(&mdOut, "markdown", "", "also write the report as Markdown to this file")
	f.StringVar(&jsonOut, "json", "", "also write the report, with every validation trial, as JSON to this file")
	return c
}

// writePrefReport prints the report and writes it as Markdown and JSON when asked.
func writePrefReport(e *env, rep *groupRecReport, mdOut, jsonOut string) error {
	table := rep.markdown()
	fmt.Fprint(e.stdout, table)
	if mdOut != "" {
		if err := os.WriteFile(mdOut, []byte(table), 0o644); err != nil {
			return err
		}
	}
	if jsonOut != "" {
		b, err := json.MarshalIndent(jsonSafe(rep), "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(jsonOut, append(b, '\n'), 0o644)
	}
	return nil
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

// heldOutLine is one test line: a group, its held-out item and (protocol 1) its negatives.
type heldOutLine struct {
	group     int32
	item      int32
	negatives []int32
}

// readGroupTest reads heldout/groupRatingTest.txt and its negatives, in the
// user's ids, into matrix indexes.
func readGroupTest(p *prefWorld, dir string) ([]heldOutLine, error) {
	var lines []heldOutLine
	at := map[[2]int32]int{}
	read := func(name string, fn func(line int, g, i int32, negs []string) error) error {
		path := filepath.Join(dir, importer.HeldOutDir, name)
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for n, text := range strings.Split(string(b), "\n") {
			text = strings.TrimRight(text, "\r")
			if strings.TrimSpace(text) == "" {
				continue
			}
			owner, item, negs, perr := importer.ParseHeldOut(text)
			if perr != nil {
				return fmt.Errorf("%s:%d: %v", path, n+1, perr)
			}
			g, ok := p.groupIndex(owner)
			if !ok {
				return fmt.Errorf("%s:%d: column group: %q is not a group of the world", path, n+1, owner)
			}
			i, ok := p.itemIndex(item)
			if !ok {
				return fmt.Errorf("%s:%d: column item: %q is not an item of the world", path, n+1, item)
			}
			if err := fn(n+1, g, i, negs); err != nil {
				return fmt.Errorf("%s:%d: %w", path, n+1, err)
			}
		}
		return nil
	}
	if err := read(importer.GroupRecGroupTest, func(_ int, g, i int32, _ []string) error {
		at[[2]int32{g, i}] = len(lines)
		lines = append(lines, heldOutLine{group: g, item: i})
		return nil
	}); err != nil {
		return nil, err
	}
	err := read(importer.GroupRecGroupNegative, func(_ int, g, i int32, negs []string) error {
		k, ok := at[[2]int32{g, i}]
		if !ok {
			return fmt.Errorf("(%s,%s) is not a line of %s", p.groupName(g), p.itemName(i), importer.GroupRecGroupTest)
		}
		for c, n := range negs {
			j, ok := p.itemIndex(n)
			if !ok {
				return fmt.Errorf("column %d: %q is not an item of the world", c+2, n)
			}
			lines[k].negatives = append(lines[k].negatives, j)
		}
		return nil
	})
	if err != nil && !os.IsNotExist(unwrapPath(err)) {
		return nil, err
	}
	return lines, nil
}

// lineScores are one method's per-line figures in both protocols.
type lineScores struct {
	P1HR5, P1HR10, P1NDCG5, P1NDCG10 []float64
	P2HR10, P2NDCG10, P2Recall20     []float64
}

func (s *lineScores) add(p1Rank, p2Rank int, p1 bool) {
	hit := func(r, k int) float64 {
		if r < k {
			return 1
		}
		return 0
	}
	ndcg := func(r, k int) float64 {
		if r < k {
			return 1 / math.Log2(float64(r)+2)
		}
		return 0
	}
	if p1 {
		s.P1HR5, s.P1HR10 = append(s.P1HR5, hit(p1Rank, 5)), append(s.P1HR10, hit(p1Rank, 10))
		s.P1NDCG5, s.P1NDCG10 = append(s.P1NDCG5, ndcg(p1Rank, 5)), append(s.P1NDCG10, ndcg(p1Rank, 10))
	}
	s.P2HR10, s.P2NDCG10, s.P2Recall20 = append(s.P2HR10, hit(p2Rank, 10)), append(s.P2NDCG10, ndcg(p2Rank, 10)), append(s.P2Recall20, hit(p2Rank, 20))
}

// rankOf is the 0-based rank of item among candidates (the item itself left
// out of them) by score, ties ranking the lower index first.
func rankOf(scores []float32, item int32, candidates func(yield func(int32) bool)) int {
	s := scores[item]
	r := 0
	for j := range candidates {
		if j != item && (scores[j] > s || (scores[j] == s && j < item)) {
			r++
		}
	}
	return r
}

// groupRecMethod is one method's outcome in the report.
type groupRecMethod struct {
	Method     string       `json:"method"`
	Config     *pref.Config `json:"config,omitempty"`
	Validation float64      `json:"validation_ndcg10"`
	Skipped    string       `json:"skipped,omitempty"`
	FitMillis  int64        `json:"fit_millis"`
	Mean       lineMeans    `json:"test"`
	lines      lineScores
}

type lineMeans struct {
	P1HR5, P1HR10, P1NDCG5, P1NDCG10 float64
	P2HR10, P2NDCG10, P2Recall20     float64
}

// groupRecReport is eval grouprec's output.
type groupRecReport struct {
	World       string            `json:"world"`
	Test        string            `json:"test,omitempty"` // how the test lines were cut, when not from heldout/ files
	Count       string            `json:"count"`
	Groups      int               `json:"groups"`
	Members     int               `json:"members_with_orders"`
	Items       int               `json:"items"`
	GroupOrders int               `json:"group_order_weight"`
	OwnOrders   int               `json:"member_order_weight"`
	TestLines   int               `json:"test_lines"`
	P1Lines     int               `json:"protocol1_lines"`
	Selection   *pref.Selection   `json:"selection"`
	Methods     []*groupRecMethod `json:"methods"`
	Chosen      string            `json:"chosen"`
	Bootstrap   int               `json:"bootstrap"`
	Seed        uint64            `json:"seed"`
	Diffs       []groupRecDiff    `json:"chosen_minus"`
	SelectTook  string            `json:"selection_took"`
	FitTook     string            `json:"final_fits_took"`
}

type groupRecDiff struct {
	Against string         `json:"against"`
	P1NDCG  train.Interval `json:"protocol1_ndcg10"`
	P2NDCG  train.Interval `json:"protocol2_ndcg10"`
}

// prefEval are the settings of an evaluation of the preference models.
type prefEval struct {
	count         string
	methods       []string
	share         float64
	folds, budget int
	bootstrap     int
	seed          uint64
	workers       int
}

func evalGroupRec(ctx context.Context, e *env, dir, count string, methods []string, share float64, folds, budget, bootstrap int, seed uint64, workers int) (*groupRecReport, error) {
	o := prefEval{count, methods, share, folds, budget, bootstrap, seed, workers}
	p, err := loadPrefWorld(ctx, dir, o)
	if err != nil {
		return nil, err
	}
	return evalPref(ctx, e, p, p.data, func() ([]heldOutLine, error) { return readGroupTest(p, dir) }, o)
}

// evalUndated evaluates the preference models on a world whose orders carry
// no times: the test targets are a seeded per-group hold-out of the groups'
// orders (TestSeed), the validation split is cut from the rest.
func evalUndated(ctx context.Context, e *env, dir string, o prefEval) (*groupRecReport, error) {
	p, err := loadPrefWorld(ctx, dir, o)
	if err != nil {
		return nil, err
	}
	test := pref.HoldOut(p.data, o.share, o.seed+testSeed)
	if test.Groups() == 0 {
		return nil, fmt.Errorf("%s: no group has two distinct items to hold one out: nothing to test on", dir)
	}
	rep, err := evalPref(ctx, e, p, test.Train, func() ([]heldOutLine, error) {
		var lines []heldOutLine
		for g, t := range test.Targets {
			for _, i := range t {
				lines = append(lines, heldOutLine{group: int32(g), item: i})
			}
		}
		return lines, nil
	}, o)
	if err != nil {
		return nil, err
	}
	rep.Test = fmt.Sprintf("the orders carry no times: %.0f%% of each group's distinct items (at least 1, never all; up to %d groups) held out as test targets, seed %d; validation is cut from the rest",
		100*o.share, pref.MaxValidationGroups, o.seed+testSeed)
	return rep, nil
}

// testSeed sets the test hold-out of undated data apart from the
// validation splits (seeds seed, seed+1, ...).
const testSeed = 1000

func loadPrefWorld(ctx context.Context, dir string, o prefEval) (*prefWorld, error) {
	for _, m := range o.methods {
		if !slices.Contains(pref.Methods, m) {
			return nil, fmt.Errorf("--methods: unknown method %q (want %s)", m, strings.Join(pref.Methods, ", "))
		}
	}
	w, err := loadWorld(ctx, dir)
	if err != nil {
		return nil, err
	}
	if err := countAs(w, o.count); err != nil {
		return nil, err
	}
	return newPrefWorld(w)
}

// evalPref searches and chooses on a validation split of d, then fits
// every method on d and scores the test lines (read only then).
func evalPref(ctx context.Context, e *env, p *prefWorld, d *pref.Data, test func() ([]heldOutLine, error), o prefEval) (*groupRecReport, error) {
	dir, count, methods, share, folds, budget, bootstrap, seed, workers := p.w.dir, o.count, o.methods, o.share, o.folds, o.budget, o.bootstrap, o.seed, o.workers
	rep := &groupRecReport{World: dir, Count: count, Groups: d.Groups.Rows, Items: d.Items, Bootstrap: bootstrap, Seed: seed}
	for _, v := range d.Groups.W {
		rep.GroupOrders += int(v)
	}
	for r := range d.Members.Rows {
		c, ws := d.Members.Row(r)
		if len(c) > 0 {
			rep.Members++
		}
		for _, v := range ws {
			rep.OwnOrders += int(v)
		}
	}
	t0 := time.Now()
	val := pref.HoldOuts(d, share, folds, seed)
	e.log.Info("validation split", slog.Int("groups", val.Groups()), slog.Float64("holdout", share), slog.Int("folds", len(val)))
	var err error
	rep.Selection, err = pref.SelectModel(ctx, val, fmt.Sprintf("per-group leave-some-out, %.0f%% of each group's items (at least 1, never all), %d folds seeded %d..%d", 100*share, len(val), seed, seed+uint64(len(val))-1),
		methods, budget, seed, workers, func(m string, s *pref.Search) {
			e.log.Info("searched", slog.String("method", m), slog.Float64("ndcg10", s.NDCG10), slog.Int("trials", len(s.Trials)),
				slog.String("skipped", s.Skipped), slog.Duration("took", time.Duration(s.Millis)*time.Millisecond))
		})
	if err != nil {
		return nil, err
	}
	rep.SelectTook = time.Since(t0).Round(time.Millisecond).String()
	rep.Chosen = rep.Selection.Chosen.Method
	// The test lines are read only now, after the choice.
	lines, err := test()
	if err != nil {
		return nil, err
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("%s: no test line", filepath.Join(dir, importer.HeldOutDir, importer.GroupRecGroupTest))
	}
	rep.TestLines = len(lines)
	for _, l := range lines {
		if l.negatives != nil {
			rep.P1Lines++
		}
	}
	t1 := time.Now()
	dst := make([]float32, d.Items)
	for _, s := range rep.Selection.Searches {
		m := &groupRecMethod{Method: s.Method, Config: s.Best, Validation: s.NDCG10, Skipped: s.Skipped}
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
		for _, l := range lines {
			model.Score(l.group, dst)
			seen := d.Seen(l.group)
			full := rankOf(dst, l.item, func(yield func(int32) bool) {
				for j := range int32(d.Items) {
					if _, ok := slices.BinarySearch(seen, j); !ok && !yield(j) {
						return
					}
				}
			})
			p1 := rankOf(dst, l.item, func(yield func(int32) bool) {
				for _, j := range l.negatives {
					if !yield(j) {
						return
					}
				}
			})
			m.lines.add(p1, full, l.negatives != nil)
		}
		ls := &m.lines
		m.Mean = lineMeans{meanOr0(ls.P1HR5), meanOr0(ls.P1HR10), meanOr0(ls.P1NDCG5), meanOr0(ls.P1NDCG10),
			meanOr0(ls.P2HR10), meanOr0(ls.P2NDCG10), meanOr0(ls.P2Recall20)}
	}
	rep.FitTook = time.Since(t1).Round(time.Millisecond).String()
	var chosen *groupRecMethod
	for _, m := range rep.Methods {
		if m.Method == rep.Chosen {
			chosen = m
		}
	}
	for k, m := range rep.Methods {
		if m == chosen || m.Config == nil {
			continue
		}
		rep.Diffs = append(rep.Diffs, groupRecDiff{Against: m.Method,
			P1NDCG: train.PairedBootstrap(chosen.lines.P1NDCG10, m.lines.P1NDCG10, bootstrap, seed+uint64(2*k)),
			P2NDCG: train.PairedBootstrap(chosen.lines.P2NDCG10, m.lines.P2NDCG10, bootstrap, seed+uint64(2*k+1))})
	}
	return rep, nil
}

func meanOr0(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	return meanOf(x)
}

// markdown renders the report: one table of methods, one of the chosen
// model's differences, and what was read.
func (r *groupRecReport) markdown() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "World %s: %d groups, %d members with own orders, %d items; order weight %s: %d in groups, %d members' own.\n\n",
		r.World, r.Groups, r.Members, r.Items, r.Count, r.GroupOrders, r.OwnOrders)
	if r.Test != "" {
		fmt.Fprintf(&sb, "Test: %s.\n\n", r.Test)
	}
	fmt.Fprintf(&sb, "Validation: %s; %d group targets; up to %d configurations per method; took %s. Chosen: **%s**.\n\n",
		r.Selection.Split, r.Selection.Groups, r.Selection.Budget, r.SelectTook, r.Chosen)
	tw := tabwriter.NewWriter(&sb, 2, 4, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "| method\t validation NDCG@10\t P1 HR@5\t P1 HR@10\t P1 NDCG@5\t P1 NDCG@10\t P2 HR@10\t P2 NDCG@10\t P2 Recall@20\t settings chosen on validation |")
	fmt.Fprintln(tw, "|---\t---\t---\t---\t---\t---\t---\t---\t---\t--- |")
	for _, m := range r.Methods {
		name := m.Method
		if name == r.Chosen {
			name = "**" + name + "** (chosen)"
		}
		if m.Config == nil {
			fmt.Fprintf(tw, "| %s\t skipped: %s\t\t\t\t\t\t\t\t |\n", name, m.Skipped)
			continue
		}
		x := m.Mean
		fmt.Fprintf(tw, "| %s\t %.4f\t %s\t %s\t %s\t %s\t %.4f\t %.4f\t %.4f\t %s |\n", name, m.Validation, f4(x.P1HR5), f4(x.P1HR10), f4(x.P1NDCG5), f4(x.P1NDCG10),
			x.P2HR10, x.P2NDCG10, x.P2Recall20, settings(*m.Config))
	}
	tw.Flush()
	if r.P1Lines > 0 {
		fmt.Fprintf(&sb, "\nP1: protocol 1, each test item ranked against its line's sampled negatives (%d lines have them); P2: protocol 2, full ranking of every item but the group's training items (%d lines).\n\n",
			r.P1Lines, r.TestLines)
	} else {
		fmt.Fprintf(&sb, "\nNo sampled negatives (protocol 1): P2, the full ranking of every item but the group's training items, over %d test lines.\n\n", r.TestLines)
	}
	if len(r.Diffs) > 0 {
		fmt.Fprintf(&sb, "Chosen (%s) minus each method, NDCG@10, mean and 95%% paired bootstrap interval over test lines (%d resamples, seed %d):\n\n", r.Chosen, r.Bootstrap, r.Seed)
		tw = tabwriter.NewWriter(&sb, 2, 4, 1, ' ', tabwriter.Debug)
		fmt.Fprintln(tw, "| against\t protocol 1\t protocol 2 |")
		fmt.Fprintln(tw, "|---\t---\t--- |")
		iv := func(v train.Interval) string {
			if math.IsNaN(v.Mean) {
				return "-"
			}
			return fmt.Sprintf("%+.4f (%+.4f to %+.4f)", v.Mean, v.Lo, v.Hi)
		}
		for _, d := range r.Diffs {
			fmt.Fprintf(tw, "| %s\t %s\t %s |\n", d.Against, iv(d.P1NDCG), iv(d.P2NDCG))
		}
		tw.Flush()
	}
	fmt.Fprintf(&sb, "\nFinal fits and scoring took %s.\n", r.FitTook)
	return sb.String()
}

func f4(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.4f", v)
}

func settings(c pref.Config) string {
	var parts []string
	add := func(name string, v float64) { parts = append(parts, fmt.Sprintf("%s %g", name, v)) }
	switch c.Method {
	case pref.MethodPopular, pref.MethodMembers:
		return "-"
	case pref.MethodBlend:
		return fmt.Sprintf("%s (%s) + %g x %s (%s)", c.Parts[0].Method, settings(c.Parts[0]), c.Weight, c.Parts[1].Method, settings(c.Parts[1]))
	}
	add("consensus", c.Consensus)
	add("member rows", c.MemberRows)
	if c.PushWeight > 0 {
		add("push weight", c.PushWeight)
	}
	switch c.Method {
	case pref.MethodEASE:
		add("lambda", c.Lambda)
	case pref.MethodGraph:
		add("order2", c.Order2)
	case pref.MethodIALS:
		add("factors", float64(c.Factors))
		add("reg", c.Reg)
		add("alpha0", c.Alpha0)
		add("confidence", c.Confidence)
	}
	return strings.Join(parts, ", ")
}
