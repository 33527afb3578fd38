package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"grouprank/train"
)

func evalLaunchesCmd(e *env) *cobra.Command {
	var dir, mdOut string
	var share float64
	var boot int
	var seed uint64
	c := &cobra.Command{
		Use:   "beibei-launches --data DIR",
		Short: "BeiBei conversion check: AUC of telling successful from failed launches, split by initiator",
		Long: `eval beibei-launches follows the BeiBei README's conversion check: the history's
launches (tune + invalid) are split by initiator (all of an initiator's launches
on one side, seeded); the held-out side's launches are scored by the item's
success rate on the training side (the baseline), by that rate shrunk toward
the mean, and by the logistic conversion model on item-level features fitted on
the training side (cross-fitted, then Platt-calibrated). BeiBei has no prices,
categories or times, and each initiator has exactly one success, so group-level
features would leak the label: the model uses item-level evidence only.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t0 := time.Now()
			b, err := loadBeiBei(dir)
			if err != nil {
				return err
			}
			ls := make([]train.Launch, len(b.Launches))
			for k, l := range b.Launches {
				ls[k] = train.Launch{Group: l.User, Item: l.Item, Success: l.Buyer >= 0}
			}
			rep, err := train.LaunchAUC(cmd.Context(), ls, b.Users, b.Items, share, boot, seed)
			if err != nil {
				return err
			}
			e.log.Info("evaluated", slog.Int("test_launches", rep.TestLaunches), tookSince(t0))
			writeLaunches(e.stdout, rep, share, seed)
			if mdOut != "" {
				f, err := os.Create(mdOut)
				if err != nil {
					return err
				}
				writeLaunches(f, rep, share, seed)
				return f.Close()
			}
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVar(&dir, "data", "beibei", "directory written by grouprank import beibei")
	fl.Float64Var(&share, "test-share", 0.2, "share of initiators held out")
	fl.IntVar(&boot, "bootstrap", 200, "bootstrap resamples of held-out initiators")
	fl.Uint64Var(&seed, "seed", 1, "split and bootstrap seed")
	fl.StringVar(&mdOut, "markdown", "", "also write the table as Markdown to this file")
	return c
}

func writeLaunches(w io.Writer, rep *train.LaunchReport, share float64, seed uint64) {
	fmt.Fprintf(w, "BeiBei launches split by initiator (%.0f%% held out, seed %d): %d training launches; %d held-out launches of %d initiators\n\n",
		100*share, seed, rep.TrainLaunches, rep.TestLaunches, rep.TestGroups)
	fmt.Fprintln(w, "| scorer | AUC | log loss | AUC - baseline (95% CI, initiators resampled) |")
	fmt.Fprintln(w, "|---|---:|---:|---|")
	for _, r := range rep.Rows {
		fmt.Fprintf(w, "| %s | %.4f | %.4f | %+.4f (%+.4f to %+.4f) |\n", r.Method, r.AUC, r.LogLoss, r.Diff, r.DiffCI[0], r.DiffCI[1])
	}
	fmt.Fprintln(w)
}
