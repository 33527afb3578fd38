package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"grouprank/data"
	"grouprank/data/synth"
	"grouprank/recommend/experiment"
)

func demoCmd(e *env) *cobra.Command {
	var dir, addr, token string
	var seed uint64
	var serveIt, withExperiment bool
	c := &cobra.Command{
		Use:   "demo",
		Short: "Generate a small world, train and publish a model, and show what to try",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p := synth.DefaultParams()
			p.Seed = seed
			p.Days = 24 // room for the model's windows (7 + 5 + 5 days) and a week of history before them
			if err := os.RemoveAll(dir); err != nil {
				return err
			}
			prog := progress(e, "generating days", p.Days)
			m, err := synth.Generate(cmd.Context(), p, dir, 0, func(done, _ int) { prog(done) })
			if err != nil {
				return err
			}
			s, err := synth.Measure(cmd.Context(), dir)
			if err != nil {
				return err
			}
			out := e.stdout
			fmt.Fprintf(out, "A synthetic world of %d groups, %d products and %d days (seed %d) is in %s\n\n",
				p.Groups, p.Products, p.Days, p.Seed, dir)
			tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
			for _, name := range []string{"catalog.parquet", "products.parquet", "groups.parquet", "members.parquet", "exposures.parquet", "pushes.parquet", "orders.parquet"} {
				fmt.Fprintf(tw, "  %s\t%d rows\n", name, m.Rows[name])
			}
			tw.Flush()
			fmt.Fprintf(out, "\nHow it compares with the field (docs/FIELD.md):\n")
			tw = tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "  orders per group per day\t%.2f\t(field: about 1)\n", s.OrdersPerGroupDay)
			fmt.Fprintf(tw, "  orders from the top 10%% of groups\t%.0f%%\t(field: very uneven)\n", 100*s.Top10Share)
			fmt.Fprintf(tw, "  POP share of orders\t%.0f%%\t(field: POP dominates)\n", 100*s.POPOrderShare)
			fmt.Fprintf(tw, "  POP share of GMV\t%.0f%%\t(field: about half)\n", 100*s.POPGMVShare)
			fmt.Fprintf(tw, "  pushes per group per day\t%.2f\t\n", s.PushesPerGroupDay)
			fmt.Fprintf(tw, "  pushes with an order\t%.0f%%\t\n", 100*s.ConversionPerPush)
			fmt.Fprintf(tw, "  mean order\t%.0f yuan\t\n", s.MeanOrderYuan)
			fmt.Fprintf(tw, "  groups that went dead\t%d\t\n", m.Summary.GroupsDied)
			tw.Flush()
			models, snaps := filepath.Join(dir, "models"), filepath.Join(dir, "snapshots")
			tf := newTrainFlags()
			tf.world, tf.out, tf.version, tf.quiet, tf.seed = dir, models, "demo-1", true, seed
			tr, art, err := runTrain(cmd, e, tf)
			if err != nil {
				return err
			}
			v, err := publishArtefact(cmd.Context(), art, snaps, true, nil)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "\nA conversion model P(order | push), trained and published as %s (current in %s):\n", v, snaps)
			tw = tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
			for _, s := range tr.report.Sets {
				fmt.Fprintf(tw, "  %s pushes\t%d\tAUC %.3f\tlog loss %.3f\tmean p %.3f, observed %.3f\n", s.Set, s.N, s.AUC, s.LogLoss, s.Mean, s.Rate)
			}
			tw.Flush()
			// A second version on another seed, published but not current:
			// something to promote (and roll back) from the dashboard.
			tf.version, tf.seed = "demo-2", seed+1
			if _, art2, err := runTrain(cmd, e, tf); err != nil {
				return err
			} else if _, err := publishArtefact(cmd.Context(), art2, snaps, false, nil); err != nil {
				return err
			}
			fmt.Fprintf(out, "A second version, demo-2 (the same data, seed %d), is published but not current.\n", seed+1)
			live := filepath.Join(dir, "live")
			if withExperiment {
				if err := demoExperiment(cmd.Context(), e, dir, snaps, live); err != nil {
					return err
				}
				fmt.Fprintf(out, "A/B test %s played for %d simulated days into %s (exposures and orders drawn from the truth).\n",
					demoExperimentKey, demoExperimentDays, live)
			}
			if token == "" {
				var b [12]byte
				rand.Read(b[:])
				token = hex.EncodeToString(b[:])
			}
			try := func(base string) {
				fmt.Fprintf(out, "\nTry:\n")
				if base == "" {
					fmt.Fprintf(out, "  go run ./cmd/grouprank serve --root %s --live %s --admin-token %s   # then, in another shell:\n", snaps, live, token)
					base = "http://127.0.0.1:8080"
				} else {
					fmt.Fprintf(out, "  (the service is running at %s; Ctrl-C stops it)\n", base)
				}
				fmt.Fprintf(out, "  the dashboard: %s/ui/   (admin token for promote and rollback: %s)\n", base, token)
				fmt.Fprintf(out, "  curl '%s/v1/groups/7/picks?k=5&objective=commission&explain=true'\n", base)
				fmt.Fprintf(out, "  curl '%s/v1/groups/999999/picks?k=5&channel=installer&tier=3'   # an unknown group: cold start\n", base)
				fmt.Fprintf(out, "  curl %s/metrics\n", base)
				fmt.Fprintf(out, "  curl %s/openapi.yaml\n", base)
				printMoreTries(out, dir, art, models, snaps)
			}
			if !serveIt {
				try("")
				return nil
			}
			return serve(cmd.Context(), e, serveOptions{root: snaps, addr: addr, live: live, token: token,
				sensitive: map[string]bool{"underwear": true, "health": true}, repush: 3 * data.Day, ready: try})
		},
	}
	c.Flags().StringVar(&dir, "dir", filepath.Join(os.TempDir(), "grouprank-demo"), "directory for the demo world (replaced)")
	c.Flags().Uint64Var(&seed, "seed", 1, "random seed")
	c.Flags().BoolVar(&serveIt, "serve", true, "serve the published model until interrupted")
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "listen address of the demo service")
	c.Flags().StringVar(&token, "admin-token", "", "admin token of the demo service (empty: a random one, printed)")
	c.Flags().BoolVar(&withExperiment, "experiment", true, "play a simulated A/B test into the demo's live store (the dashboard's experiment pages)")
	return c
}

// The demo's A/B test: expected commission against today's practice, as in
// docs/experiments/commission-vs-practice.json.
const (
	demoExperimentKey  = "commission-vs-practice"
	demoExperimentDays = 7
	demoExperimentJSON = `{
  "key": "commission-vs-practice",
  "description": "The expected-commission ranking against today's practice (rating x commission rate, one list for everyone)",
  "unit": "group", "layer": "ranking", "traffic": 1,
  "arms": [
    {"name": "practice", "weight": 50, "options": {"objective": "practice"}},
    {"name": "commission", "weight": 50, "options": {"objective": "commission"}}
  ],
  "primary_metric": "commission_per_push",
  "guardrails": [{"metric": "orders_per_push", "margin": 0.02}],
  "planned_days": 14, "pre_days": 14
}`
)

// demoExperiment creates the demo's A/B test in the live store and plays it
// with grouprank simulate (its table goes to the log, not to the demo's output).
func demoExperiment(ctx context.Context, e *env, world, snaps, live string) error {
	l, reg, err := openExperiments(ctx, live, snaps, 1)
	if err != nil {
		return err
	}
	var x experiment.Experiment
	if err := json.Unmarshal([]byte(demoExperimentJSON), &x); err != nil {
		l.Close()
		return err
	}
	err = reg.Create(&x, data.TimestampOf(e.now()), true)
	if cerr := l.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	quiet := *e
	quiet.stdout = io.Discard
	return runSimulate(ctx, &quiet, &simulateFlags{world: world, root: snaps, live: live, key: demoExperimentKey,
		days: demoExperimentDays, k: 10, seed: 1, sample: 0.1})
}

func printMoreTries(out io.Writer, dir, art, models, snaps string) {
	fmt.Fprintf(out, "  go run ./cmd/grouprank eval business --world %s --model %s --ceilings   # objectives vs practice, the oracle and the ceilings\n", dir, art)
	fmt.Fprintf(out, "  go run ./cmd/grouprank train --world %s --out %s   # the full report: calibration, off-policy estimates\n", dir, models)
	fmt.Fprintf(out, "  go run ./cmd/grouprank models list --root %s --artefacts %s\n", snaps, models)
	abLive := filepath.Join(dir, "ab-live")
	fmt.Fprintf(out, "  # preview an A/B test (expected commission against today's practice), then read its report:\n")
	fmt.Fprintf(out, "  go run ./cmd/grouprank ab create --file docs/experiments/commission-vs-practice.json --live %s --root %s\n", abLive, snaps)
	fmt.Fprintf(out, "  go run ./cmd/grouprank simulate --world %s --root %s --live %s --experiment commission-vs-practice --days 7\n", dir, snaps, abLive)
	fmt.Fprintf(out, "  go run ./cmd/grouprank ab report commission-vs-practice --live %s --root %s\n", abLive, snaps)
	fmt.Fprintf(out, "  go run ./cmd/grouprank eval --world %s --test-days 4   # every method against the truth\n", dir)
	fmt.Fprintf(out, "  go run ./cmd/grouprank gen --groups 100000 --products 20000 --days 30 --seed 1 --out world\n")
	fmt.Fprintf(out, "  go run ./cmd/grouprank import beibei --in testdata/beibei --out beibei\n")
	fmt.Fprintf(out, "  go run ./cmd/grouprank import --table products --in data/importer/testdata/products_bad_price.csv \\\n")
	fmt.Fprintf(out, "      --out products.parquet --map sku=item_id,price_cents=price --max-errors 1\n")
	fmt.Fprintf(out, "  # your own order log is enough (columns order, group, sku, quantity, time, buyer; any text ids):\n")
	fmt.Fprintf(out, "  go run ./cmd/grouprank import --table orders --in orders.csv --out shop/orders.parquet --ids shop/ids.parquet\n")
	fmt.Fprintf(out, "  go run ./cmd/grouprank train --world shop --out shop-models && go run ./cmd/grouprank eval --world shop\n")
	fmt.Fprintf(out, "  any Parquet tool on %s\n", filepath.Join(dir, "orders.parquet"))
}
