package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"grouprank/data"
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
	shardFlag, part                string // eval --shard i/n --part FILE
	shard                          shard
	exchange                       string        // with --shard: the parts fit iALS together through this directory
	exchangeTimeout                time.Duration // how long a part waits for the others at a step
}

// settings are the flags that change an evaluation's figures, in a fixed
// order: the parts eval merge combines must agree on them.
func (f *evalFlags) settings() string {
	return fmt.Sprintf("methods=%s test-days=%d exclude-bought=%t half-life=%g count=%s confidence=%g pop-debias=%g als=%+v seed=%d oracle-groups=%d auc-groups=%d eval-groups=%d hold-out-days=%d no-oracle=%t",
		f.methods, f.testDays, f.excludeBought, f.halfLife, f.count, f.confidence, f.debias, f.als, f.seed, f.oracleGroups, f.aucGroups, f.evalGroups, f.holdOutDays, f.noOracle)
}

func (f *evalFlags) register(c *cobra.Command) {
	fl := c.Flags()
	f.als = train.DefaultALSConfig()
	fl.StringVar(&f.world, "world", "world", "world directory (from gen or import)")
	fl.IntVar(&f.testDays, "test-days", 7, "the last N days are the test window; history is everything before")
	fl.StringVar(&f.methods, "methods", "", "comma-separated methods (default all): "+strings.Join(train.MethodNames, ", ")+
		"; on a world without pushes or times, of the preference models: "+strings.Join(pref.Methods, ", "))
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
			var err error
			if f.shard, err = parseShard(f.shardFlag); err != nil {
				return err
			}
			switch {
			case f.shardFlag != "" && (f.part == "" || f.exchange == ""):
				return fmt.Errorf("--shard %s: the parts run at once, joining their sums through --exchange DIR, and each writes its groups' metrics to --part FILE (eval merge reads the parts): %w", f.shardFlag, data.ErrInvalid)
			case f.shardFlag == "" && (f.exchange != "" || f.part != ""):
				return fmt.Errorf("--exchange and --part belong to a sharded eval: they need --shard i/n: %w", data.ErrInvalid)
			case f.part != "" && (f.jsonOut != "" || f.mdOut != ""):
				return fmt.Errorf("--part writes a shard's metrics; --json and --markdown belong to eval merge: %w", data.ErrInvalid)
			}
			if f.shardFlag != "" {
				return runEvalPart(cmd, e, f)
			}
			w, ordersOnly, err := loadEvalWorld(cmd, e, f)
			if err != nil {
				return err
			}
			if ordersOnly {
				rep, err := evalOrdersOnly(cmd.Context(), e, f, w, nil)
				if err != nil {
					return err
				}
				return writePrefReport(e, rep, f.mdOut, f.jsonOut)
			}
			run, err := prepareEval(cmd, e, f, w, nil)
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
	c.Flags().StringVar(&f.shardFlag, "shard", "", "i/n: evaluate as part i of n (the groups by a hash of their id, as picks --shard), all parts run at once, each reading and ranking its groups; eval merge reports the whole")
	c.Flags().StringVar(&f.part, "part", "", "with --shard: the file the shard's metrics (the preference models: the whole report) are written to")
	c.Flags().StringVar(&f.exchange, "exchange", "", "with --shard: a directory every part reaches (new for each run), through which the parts join their sums (statistics, profiles, iALS, item-knn)")
	c.Flags().DurationVar(&f.exchangeTimeout, "exchange-timeout", time.Hour, "with --shard: how long a part waits for the others at a step before it gives up")
	c.AddCommand(evalBeiBeiCmd(e), evalBusinessCmd(e), evalLaunchesCmd(e), evalGroupRecCmd(e), evalMergeCmd(e))
	return c
}

// evalMergeCmd sums the parts of a sharded eval into its report.
func evalMergeCmd(e *env) *cobra.Command {
	f := &evalFlags{}
	c := &cobra.Command{
		Use:   "merge PART...",
		Short: "Merge the parts of eval --shard i/n --part FILE into the report an unsharded eval writes",
		Long: `merge reads the parts that eval --shard 0/n ... (n-1)/n --part FILE wrote,
checks that they are every part of one evaluation (the same data, split and
settings, each shard once, no group twice) and writes the report the same eval
without --shard writes, byte for byte: the table, and --json / --markdown. The
parts of an evaluation of the preference models (a world without pushes or
times) and of eval beibei each hold the whole report, which they computed
together: merge checks that they agree and writes it.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, paths []string) error {
			parts := make([]*train.EvalPart, len(paths))
			for n, p := range paths {
				part, err := train.ReadEvalPart(p)
				if err != nil {
					return fmt.Errorf("%w: %w", err, data.ErrInvalid)
				}
				parts[n] = part
			}
			if slices.ContainsFunc(parts, func(p *train.EvalPart) bool { return p.Pref != nil || p.BeiBei != "" }) {
				part, err := mergeWholeParts(parts)
				if err != nil {
					return fmt.Errorf("eval merge: %w: %w", err, data.ErrInvalid)
				}
				if part.BeiBei != "" {
					if f.jsonOut != "" {
						return fmt.Errorf("eval merge: --json: eval beibei's parts hold its table, which has no JSON form: %w", data.ErrInvalid)
					}
					return writePrefFiles(e, part.BeiBei, nil, f.mdOut, "")
				}
				return writePrefFiles(e, part.PrefTable, part.Pref, f.mdOut, f.jsonOut)
			}
			rep, err := train.MergeEval(parts)
			if err != nil {
				return fmt.Errorf("eval merge: %w: %w", err, data.ErrInvalid)
			}
			title, _, _ := strings.Cut(parts[0].Context, "\n")
			return writeReport(e, f, title, rep)
		},
	}
	c.Flags().StringVar(&f.jsonOut, "json", "", "also write the report as JSON to this file")
	c.Flags().StringVar(&f.mdOut, "markdown", "", "also write the report as a Markdown table to this file")
	return c
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
