package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"grouprank/data"
	"grouprank/train"
	"grouprank/train/pref"
)

func tuneCmd(e *env) *cobra.Command {
	f := &evalFlags{}
	var grid, objective, method string
	var valDays int
	c := &cobra.Command{
		Use:   "tune --world DIR",
		Short: "Search iALS and history hyper-parameters on a validation window cut from the history",
		Long: `tune never reads the test window: it drops the last --test-days days, takes the
--val-days before them as the validation window, trains on what came before, and
scores every combination of --grid on --objective (a logged-order metric; the
synthetic truth is never consulted, as on real data). The best line can be passed
to grouprank eval.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			axes, err := parseGrid(grid)
			if err != nil {
				return err
			}
			metric, k, err := parseObjective(objective)
			if err != nil {
				return err
			}
			if !slices.Contains([]string{"ials", "blend"}, method) {
				return fmt.Errorf("--method %q: want ials or blend", method)
			}
			f.holdOutDays, f.noOracle, f.methods = f.testDays, true, method
			f.testDays = valDays
			w, ordersOnly, err := loadEvalWorld(cmd, e, f)
			if err != nil {
				return err
			}
			if ordersOnly {
				return tuneOrders(cmd.Context(), e, f, w)
			}
			run, err := prepareEval(cmd, e, f, w, nil)
			if err != nil {
				return err
			}
			type trial struct {
				setting string
				score   float64
			}
			var trials []trial
			for _, combo := range combinations(axes) {
				for name, v := range combo {
					if err := setParam(f, name, v); err != nil {
						return err
					}
				}
				rep, err := run.evaluate(cmd, e, f)
				if err != nil {
					return err
				}
				r := rep.Results[0]
				score := map[string]map[int]float64{"ndcg": r.NDCG, "recall": r.Recall, "hr": r.HR}[metric][k]
				trials = append(trials, trial{describe(combo), score})
			}
			sort.SliceStable(trials, func(a, b int) bool { return trials[a].score > trials[b].score })
			tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintf(e.stdout, "%s\nvalidation window: the %d days before the held-out %d test days; method %s\n\n", run.title, valDays, f.holdOutDays, method)
			fmt.Fprintf(tw, "%s\tsetting\n", objective)
			for _, t := range trials {
				fmt.Fprintf(tw, "%.4f\t%s\n", t.score, t.setting)
			}
			tw.Flush()
			fmt.Fprintf(e.stdout, "\nbest: %s\n", trials[0].setting)
			return nil
		},
	}
	f.register(c)
	c.AddCommand(tuneBeiBeiCmd(e))
	c.Flags().StringVar(&grid, "grid", "factors=32,64;alpha0=0.01,0.05,0.2;lambda=0.001,0.002,0.005;half-life=14",
		"values to try: name=v1,v2;... over factors, alpha0, lambda, nu, half-life, confidence, epochs")
	c.Flags().StringVar(&objective, "objective", "ndcg@10", "metric to maximise: ndcg@k, recall@k or hr@k with k in 10, 20, 50")
	c.Flags().StringVar(&method, "method", "ials", "method scored: ials or blend")
	c.Flags().IntVar(&valDays, "val-days", 7, "days of the validation window")
	c.Flags().Lookup("eval-groups").DefValue = "5000"
	c.Flags().Set("eval-groups", "5000")
	return c
}

var tunable = []string{"factors", "alpha0", "lambda", "nu", "half-life", "confidence", "epochs"}

type axis struct {
	name   string
	values []float64
}

func parseGrid(s string) ([]axis, error) {
	var out []axis
	for _, part := range strings.Split(s, ";") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		name, vals, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		if !ok || !slices.Contains(tunable, name) {
			return nil, fmt.Errorf("--grid %q: want name=v1,v2 with name one of %s", part, strings.Join(tunable, ", "))
		}
		a := axis{name: name}
		for _, v := range strings.Split(vals, ",") {
			x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || x < 0 || (name == "factors" || name == "epochs") && (x < 1 || x != float64(int(x))) {
				return nil, fmt.Errorf("--grid %s: %q is not a valid value", name, v)
			}
			a.values = append(a.values, x)
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--grid is empty")
	}
	return out, nil
}

func combinations(axes []axis) []map[string]float64 {
	out := []map[string]float64{{}}
	for _, a := range axes {
		var next []map[string]float64
		for _, c := range out {
			for _, v := range a.values {
				m := map[string]float64{a.name: v}
				for k, x := range c {
					m[k] = x
				}
				next = append(next, m)
			}
		}
		out = next
	}
	return out
}

func setParam(f *evalFlags, name string, v float64) error {
	switch name {
	case "factors":
		f.als.Factors = int(v)
	case "alpha0":
		f.als.Alpha0 = float32(v)
	case "lambda":
		f.als.Lambda = float32(v)
	case "nu":
		f.als.Nu = float32(v)
	case "half-life":
		f.halfLife = v
	case "confidence":
		f.confidence = v
	case "epochs":
		f.als.Epochs = int(v)
	default:
		return fmt.Errorf("unknown parameter %s", name)
	}
	return nil
}

func describe(combo map[string]float64) string {
	var parts []string
	for _, n := range tunable {
		if v, ok := combo[n]; ok {
			parts = append(parts, fmt.Sprintf("--%s %g", n, v))
		}
	}
	return strings.Join(parts, " ")
}

func parseObjective(s string) (string, int, error) {
	m, ks, ok := strings.Cut(s, "@")
	k, err := strconv.Atoi(ks)
	if !ok || err != nil || !slices.Contains(train.Ks, k) || !slices.Contains([]string{"ndcg", "recall", "hr"}, m) {
		return "", 0, fmt.Errorf("--objective %q: want ndcg@k, recall@k or hr@k with k in 10, 20, 50", s)
	}
	return m, k, nil
}

// tuneOrders is tune on a world without pushes or without times, where
// train fits a preference model: the search train runs, every method's
// settings and the chosen one, printed. Its validation split is train's:
// on dated orders the --val-days before the held-out --test-days (eval's
// test window, reaching back as eval's does: prefWorld.testStart; a
// per-group hold-out when the orders before span less than twice them), on
// undated ones a per-group hold-out of the groups' orders (never a group's
// only item).
func tuneOrders(ctx context.Context, e *env, f *evalFlags, w *world) error {
	p, err := newPrefWorldFreeing(w)
	if err != nil {
		return err
	}
	pf := prefFlags{split: "auto", valDays: f.testDays, share: 0.2}
	last := w.last
	if last != data.UnknownTime {
		t, window, err := p.testStart(f.holdOutDays, pf.share)
		if err != nil {
			return err
		}
		e.log.Info("the test window eval tests on is left out", slog.String("window", window))
		if p, _, err = p.splitAt(t); err != nil {
			return err
		}
		last = t - 1
	}
	_, val, name, _, err := p.validation(pf, f.seed, w.first, last, last+1)
	if err != nil {
		return err
	}
	if val.Groups() == 0 {
		return fmt.Errorf("%s: the validation split (%s) holds no group: no group has two distinct items to hold one out", f.world, name)
	}
	sel, err := pref.SelectModel(ctx, val, name, pref.Methods, 40, f.seed, f.workers, searchProgress(e, 40))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: validation: %s; %d targets\n\n", f.world, name, sel.Groups)
	fmt.Fprintln(e.stdout, "ndcg@10  trials  setting")
	for _, s := range sel.Searches {
		if s.Best == nil {
			fmt.Fprintf(e.stdout, "-        -       %s skipped: %s\n", s.Method, s.Skipped)
			continue
		}
		fmt.Fprintf(e.stdout, "%.4f   %-6d  %s\n", s.NDCG10, len(s.Trials), s.Best.Describe())
	}
	if t := sel.CreditText(); t != "" {
		fmt.Fprintf(e.stdout, "\nmembers' orders: %s (the table is the chosen data's)\n", t)
	}
	fmt.Fprintf(e.stdout, "\nbest: %s (grouprank train chooses the same way on its own)\n", sel.Chosen.Describe())
	return nil
}
