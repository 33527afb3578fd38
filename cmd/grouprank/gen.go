package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"grouprank/data/synth"
)

func genCmd(e *env) *cobra.Command {
	p := synth.DefaultParams()
	var out, start string
	var workers int
	c := &cobra.Command{
		Use:   "gen",
		Short: "Generate a synthetic world (catalogue, groups, members, exposures, pushes, orders)",
		Long: `gen writes a synthetic world calibrated to the field into --out: Parquet files for
every table and world.json with the parameters. The ground truth that produced
the orders is never written: evaluators rebuild it from world.json.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := time.Parse(time.DateOnly, start)
			if err != nil {
				return fmt.Errorf("--start %q: want a date like 2026-09-01", start)
			}
			p.Start = t
			_, err = generate(cmd, e, p, out, workers)
			return err
		},
	}
	f := c.Flags()
	f.Uint64Var(&p.Seed, "seed", p.Seed, "random seed: the same seed and parameters give the same files")
	f.IntVar(&p.Groups, "groups", p.Groups, "groups in all, including those created during the window")
	f.IntVar(&p.Products, "products", p.Products, "products in all, including launches during the window")
	f.IntVar(&p.Days, "days", p.Days, "days in the window")
	f.StringVar(&start, "start", p.Start.Format(time.DateOnly), "first day of the window (UTC)")
	f.Float64Var(&p.TasteConcentration, "taste-concentration", p.TasteConcentration, "how peaked tastes are (alters the world)")
	f.Float64Var(&p.PriceSensitivity, "price-sensitivity", p.PriceSensitivity, "scale of members' price sensitivity (alters the world)")
	f.IntVar(&p.WorldVersion, "world-version", p.WorldVersion, "the world's mechanics: 2, or 1 for the first world (weak price response, one commission range for all categories; docs/data.md)")
	f.Float64Var(&p.RandomShare, "random-share", p.RandomShare, "share of lists shown in uniformly random order")
	f.StringVar(&out, "out", "world", "output directory")
	f.IntVar(&workers, "workers", 0, "worker goroutines (0: one per core); the output does not depend on it")
	return c
}

func generate(cmd *cobra.Command, e *env, p synth.Params, out string, workers int) (*synth.Manifest, error) {
	t0 := time.Now()
	prog := progress(e, "generating days", p.Days)
	m, err := synth.Generate(cmd.Context(), p, out, workers, func(done, _ int) { prog(done) })
	if err != nil {
		return nil, err
	}
	e.log.Info("world written", slog.String("dir", out), slog.Int64("orders", m.Summary.Orders),
		slog.Int64("pushes", m.Summary.Pushes), tookSince(t0),
		slog.Int64("peak_rss_mb", peakRSSMiB()))
	b, _ := json.MarshalIndent(m, "", "  ")
	fmt.Fprintln(e.stdout, string(b))
	return m, nil
}
