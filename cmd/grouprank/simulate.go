package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"grouprank/data"
	"grouprank/data/parquetio"
	"grouprank/data/synth"
	"grouprank/recommend"
	"grouprank/recommend/experiment"
	"grouprank/recommend/experiment/sim"
	"grouprank/recommend/serving"
)

type simulateFlags struct {
	world, root, live, key, out string
	days, workers, k            int
	seed                        uint64
	sample                      float64
	explore                     float64 // serve --explore: the share of lists drawn at random (arms may override)
	natsReplicas                int     // --live nats://...: copies of every stream and bucket
}

func simulateCmd(e *env) *cobra.Command {
	f := &simulateFlags{}
	c := &cobra.Command{
		Use:   "simulate",
		Short: "Run an experiment day by day against the synthetic world",
		Long: `simulate previews an A/B test on a synthetic world. It starts the experiment
--experiment (a draft in the live store, see grouprank ab create) when the
world's history ends and plays --days days: every day each group's promoter
asks for picks (the real assignment and the real ranker of the current
snapshot, exposures logged as the service logs them), pushes the top of the
list as often as it pushed in the world's last two weeks, and its members
order as the world's truth says (orders drawn from it, never shown to the
ranker). The world's last pre_days of pushes and orders go into the live
store first, as the pre-period CUPED reads. Then it stops the experiment:
grouprank ab report reads the result. Beside it, on a --truth-sample of the
groups, every arm is also played without drawing (expected orders from the
truth): the true lift the report's intervals should cover.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSimulate(cmd.Context(), e, f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.world, "world", "world", "synthetic world directory (grouprank gen)")
	fl.StringVar(&f.root, "root", "snapshots", "snapshot root: the current model ranks")
	fl.StringVar(&f.live, "live", "live", "live data that receives the experiment's exposures and events: a directory or nats://... URLs")
	fl.IntVar(&f.natsReplicas, "nats-replicas", 3, "with --live nats://...: copies of every stream and bucket (the cluster's size; 1 for one server)")
	fl.StringVar(&f.key, "experiment", "", "the experiment to run (a draft in the live store)")
	fl.IntVar(&f.days, "days", 14, "days to simulate")
	fl.IntVar(&f.k, "k", 10, "items in each list shown")
	fl.IntVar(&f.workers, "workers", 0, "goroutines (0: one per core); the result does not depend on it")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of the draws")
	fl.Float64Var(&f.sample, "truth-sample", 0.1, "share of groups on which every arm is also played for the true lift")
	fl.Float64Var(&f.explore, "explore", 0, "share of lists drawn at random, as serve --explore (an arm's explore option overrides it)")
	fl.StringVar(&f.out, "truth-out", "", "write the true values per arm as JSON to this file")
	return c
}

func runSimulate(ctx context.Context, e *env, f *simulateFlags) error {
	t0 := time.Now()
	if f.key == "" {
		return fmt.Errorf("simulate: --experiment is required")
	}
	if f.workers <= 0 {
		f.workers = runtime.GOMAXPROCS(0)
	}
	man, err := synth.ReadManifest(f.world)
	if err != nil {
		return fmt.Errorf("simulate needs a synthetic world (its truth): %w", err)
	}
	sw, err := synth.Rebuild(man.Params)
	if err != nil {
		return err
	}
	m, snap, err := loadCurrent(f.root)
	if err != nil {
		return err
	}
	defer snap.Close()
	live, reg, err := openExperiments(ctx, f.live, f.root, f.natsReplicas)
	if err != nil {
		return err
	}
	defer live.Close()
	x, err := reg.Get(f.key)
	if err != nil {
		return err
	}
	if x.Status != experiment.Draft {
		return fmt.Errorf("simulate: experiment %q is %s: simulate runs a draft from its start (create a new one)", f.key, x.Status)
	}
	start := data.TimestampOf(man.Params.Start.AddDate(0, 0, man.Params.Days))
	gs, err := parquetio.ReadFile(filepath.Join(f.world, parquetio.Groups.File), parquetio.Groups)
	if err != nil {
		return err
	}
	pushes, err := parquetio.ReadFile(filepath.Join(f.world, parquetio.Pushes.File), parquetio.Pushes)
	if err != nil {
		return err
	}
	orders, err := parquetio.ReadFile(filepath.Join(f.world, parquetio.Orders.File), parquetio.Orders)
	if err != nil {
		return err
	}
	groups := sim.Groups(gs, pushes, start)
	if err := sim.Preperiod(live, pushes, orders, start-data.Timestamp(x.PreDays)*data.Day, start); err != nil {
		return err
	}
	if x, err = reg.Start(f.key, start); err != nil {
		return err
	}
	m.Ranker.EnableDotCache(2 * len(groups))
	m.Warm()
	e.log.Info("simulating", slog.String("experiment", f.key), slog.Int("groups", len(groups)), slog.Int("days", f.days),
		slog.String("model_version", m.Version))
	others := newOtherVersions(f.root)
	defer others.close()
	asg := reg.Assigner()
	lister := &serving.Lister{Model: func() *recommend.Model { return m }, Assigner: func() *experiment.Assigner { return asg },
		Version: others.get, Explore: f.explore}
	s := sim.New(sim.Config{Key: f.key, K: f.k, Workers: f.workers, Seed: f.seed, Sample: f.sample, Explore: f.explore},
		m, x, lister, groups, start, man.Params.Days, sw)
	prog := progress(e, "simulating days", f.days)
	for d := range f.days {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.Day(d, live); err != nil {
			return err
		}
		prog(d + 1)
	}
	if _, err := reg.Stop(f.key, start+data.Timestamp(f.days)*data.Day); err != nil {
		return err
	}
	return printTruth(e, f, s.Truth(), time.Since(t0))
}

// printTruth prints every arm's true values on the truth sample and, with
// --truth-out, writes them as JSON.
func printTruth(e *env, f *simulateFlags, truth []sim.ArmTruth, took time.Duration) error {
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "experiment %s: %d days simulated in %s. True values on the truth sample (every arm played, expected outcomes):\n",
		f.key, f.days, took.Round(time.Second))
	fmt.Fprintln(tw, "ARM\tPUSHES\tORDERS/PUSH\tCOMMISSION/PUSH\tGMV/PUSH\tTRUE LIFT ORDERS/PUSH\tTRUE LIFT COMMISSION/PUSH")
	c := truth[0]
	for _, t := range truth {
		fmt.Fprintf(tw, "%s\t%.0f\t%.4f\t%.3f\t%.2f\t%+.1f%%\t%+.1f%%\n", t.Arm, t.Pushes, t.Orders/t.Pushes, t.Commission/t.Pushes,
			t.GMV/t.Pushes, 100*((t.Orders/t.Pushes)/(c.Orders/c.Pushes)-1), 100*((t.Commission/t.Pushes)/(c.Commission/c.Pushes)-1))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "now: grouprank ab report %s --live %s --root %s\n", f.key, f.live, f.root)
	if f.out != "" {
		b, _ := json.MarshalIndent(map[string]any{"experiment": f.key, "days": f.days, "sample": f.sample, "arms": truth}, "", "  ")
		return os.WriteFile(f.out, append(b, '\n'), 0o644)
	}
	return nil
}
