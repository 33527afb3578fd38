package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"grouprank/data"
	"grouprank/data/parquetio"
	"grouprank/data/synth"
	"grouprank/features"
	"grouprank/recommend"
	"grouprank/train"
)

type trainFlags struct {
	world, out, version   string
	win                   train.WindowConfig
	attributionHours      float64
	base                  train.BaseConfig
	conv                  train.ConversionConfig
	seed                  uint64
	workers               int
	noTruth, shuffleLabel bool
	noPicks               bool
	opeK, bootstrap       int
	quiet                 bool // no report on stdout (the demo prints its own summary)
	conversion            string
	pref                  prefFlags
	// train --shard i/n --exchange DIR --part DIR
	shardFlag, exchange, part string
	shard                     shard
	exchangeTimeout           time.Duration
}

func newTrainFlags() *trainFlags {
	return &trainFlags{win: train.DefaultWindowConfig(), base: train.DefaultBaseConfig(), conv: train.DefaultConversionConfig(),
		attributionHours: 72, opeK: 10, bootstrap: 200, seed: 1, conversion: "auto", shard: shard{0, 1},
		pref: prefFlags{split: "auto", valDays: 7, share: 0.2, folds: 0, budget: 40, count: "units", negatives: 100}}
}

func trainCmd(e *env) *cobra.Command {
	f := newTrainFlags()
	c := &cobra.Command{
		Use:   "train",
		Short: "Train the conversion model and write a versioned artefact directory",
		Long: `train builds group profiles, item statistics and iALS factors on the history before
T1, fits P(order | push) by logistic regression on pushes in [T1, T2), calibrates
it on [T2, T3) and tests it on [T3, end); pushes whose attribution window runs
past their window's end are dropped. It then rebuilds profiles, statistics and
factors on the whole history for serving and writes everything, with a
manifest (version, windows, parameters, metrics, checksums), to
--out/<version>/. On a synthetic world it also reports calibration against the
true probabilities (the model never reads them).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if f.shard, err = parseShard(f.shardFlag); err != nil {
				return err
			}
			switch {
			case f.shardFlag != "" && (f.exchange == "" || f.part == ""):
				return fmt.Errorf("--shard %s: the parts train together through --exchange DIR and each writes its part to --part DIR (train merge reads the parts): %w", f.shardFlag, data.ErrInvalid)
			case f.shardFlag == "" && (f.exchange != "" || f.part != ""):
				return fmt.Errorf("--exchange and --part belong to a sharded train: they need --shard i/n: %w", data.ErrInvalid)
			case f.shardFlag != "" && f.shuffleLabel:
				return fmt.Errorf("--shuffle-labels: the labels of a sharded train cannot be shuffled (train the whole for the leakage check): %w", data.ErrInvalid)
			}
			_, _, err = runTrain(cmd, e, f)
			return err
		},
	}
	c.AddCommand(trainMergeCmd(e))
	fl := c.Flags()
	fl.StringVar(&f.world, "world", "world", "world directory (from gen or import)")
	fl.StringVar(&f.out, "out", "models", "directory that receives the artefact directory <version>/")
	fl.StringVar(&f.version, "version", "", "version name (default: UTC time of training and the data's checksum)")
	fl.IntVar(&f.win.TrainDays, "train-days", f.win.TrainDays, "days of pushes the model is fitted on")
	fl.IntVar(&f.win.CalibDays, "calib-days", f.win.CalibDays, "days of pushes it is calibrated on")
	fl.IntVar(&f.win.TestDays, "test-days", f.win.TestDays, "days of pushes it is tested on (the last ones)")
	fl.Float64Var(&f.attributionHours, "attribution-hours", 72, "an order counts for the last push of its item to its group within this many hours")
	fl.IntVar(&f.base.ALS.Factors, "factors", f.base.ALS.Factors, "iALS factors")
	fl.IntVar(&f.base.ALS.Epochs, "epochs", f.base.ALS.Epochs, "iALS epochs")
	fl.Float64Var(&f.base.Profile.HalfLifeDays, "half-life", f.base.Profile.HalfLifeDays, "half-life in days of history weights")
	fl.Float64Var(&f.base.Profile.TastePrior, "taste-prior", f.base.Profile.TastePrior, "pseudo-count of expected conversions shrinking a group's exposure-adjusted taste per category")
	fl.Float64Var(&f.conv.Logistic.L2, "l2", f.conv.Logistic.L2, "L2 penalty of the logistic regression (standardised features)")
	fl.StringVar(&f.conv.Calibration, "calibration", f.conv.Calibration, "platt, isotonic or auto (cross-validated on the calibration window)")
	fl.Float64Var(&f.conv.RandomWeight, "random-weight", f.conv.RandomWeight, "weight of training pushes out of randomised lists (1: none; 0: leave them out)")
	fl.BoolVar(&f.shuffleLabel, "shuffle-labels", false, "leakage check: shuffle the training labels (test AUC must fall to about 0.5)")
	fl.BoolVar(&f.noPicks, "no-picks", false, "leave the promoters' picks from the lists shown (exposures.parquet) out of the groups' category tastes")
	fl.Float64Var(&f.base.Profile.TasteHalfLifeDays, "taste-half-life", f.base.Profile.TasteHalfLifeDays, "half-life in days of the evidence behind the groups' tastes (0: no decay)")
	fl.BoolVar(&f.noTruth, "no-truth", false, "synthetic worlds: do not report against the true probabilities")
	fl.IntVar(&f.opeK, "ope-k", 10, "top k of each ranking configuration in the off-policy estimates (0: skip them)")
	fl.IntVar(&f.bootstrap, "bootstrap", 200, "bootstrap resamples for the off-policy intervals")
	fl.Uint64Var(&f.seed, "seed", 1, "seed (iALS initialisation, label shuffling)")
	fl.IntVar(&f.workers, "workers", 0, "goroutines (0: one per core)")
	fl.StringVar(&f.conversion, "conversion", f.conversion, "the conversion model P(order | push): on (needs dated pushes), off (a model from orders alone) or auto (on when there are dated pushes)")
	fl.StringVar(&f.pref.split, "split", f.pref.split, "orders-only validation split: time (the last --val-days), random (per-group leave-some-out) or auto (time when dated)")
	fl.IntVar(&f.pref.valDays, "val-days", f.pref.valDays, "orders-only, time split: days of validation targets")
	fl.Float64Var(&f.pref.share, "holdout", f.pref.share, "orders-only, random split: share of each group's items held out (at least 1, never all)")
	fl.IntVar(&f.pref.folds, "folds", f.pref.folds, "orders-only, random split: validation splits (repeated hold-out; 0: 3, or 1 above 100,000 group order lines)")
	fl.IntVar(&f.pref.budget, "budget", f.pref.budget, "orders-only: configurations tried per method on validation")
	fl.StringVar(&f.pref.count, "count", f.pref.count, "what an order weighs: units (its quantity) or lines (1 each, so one item sold by the million does not swamp the rest)")
	fl.IntVar(&f.pref.negatives, "calibration-negatives", f.pref.negatives, "orders-only: unseen items sampled per validation group to calibrate on")
	fl.StringVar(&f.shardFlag, "shard", "", "i/n: train as part i of n (the groups by a hash of their id, as picks --shard), all parts run at once, each holding its groups (from orders alone: the preference data whole, the model search's work divided); train merge writes the artefact")
	fl.StringVar(&f.exchange, "exchange", "", "with --shard: a directory every part reaches (new for each run), through which the parts join their sums")
	fl.StringVar(&f.part, "part", "", "with --shard: the directory the part's artefact (its groups) is written to, for train merge")
	fl.DurationVar(&f.exchangeTimeout, "exchange-timeout", time.Hour, "with --shard: how long a part waits for the others at a step before it gives up")
	return c
}

// trained is a fitted model with everything needed to write its artefact.
type trained struct {
	hist    *train.History
	windows data.Windows
	fit     *train.Fitted
	serve   *train.Base
	report  *train.ConversionReport
	ope     []train.OffPolicyRow
	opeK    int
	opeN    int // test pushes out of randomised lists behind the off-policy estimates
	know    train.GroupKnowledge
}

// trainReport is report.json of an artefact.
type trainReport struct {
	Attribution any                     `json:"attribution"`
	Conversion  *train.ConversionReport `json:"conversion"`
	OffPolicy   []train.OffPolicyRow    `json:"off_policy,omitempty"`
	Groups      train.GroupKnowledge    `json:"groups"`
}

func runTrain(cmd *cobra.Command, e *env, f *trainFlags) (_ *trained, _ string, err error) {
	t0 := time.Now()
	ctx := cmd.Context()
	var part *trainPart // a part of a sharded train
	if f.shardFlag != "" {
		if part, err = openTrainPart(ctx, e, f); err != nil {
			return nil, "", err
		}
		defer func() {
			if err != nil {
				err = part.fail(err)
			} else {
				err = part.ex.Close(ctx)
			}
		}()
	}
	w, err := loadWorldPart(ctx, f.world, e.log, f.shard)
	if err != nil {
		return nil, "", err
	}
	nPushes, nDated := len(w.pushes), 0
	for _, p := range w.pushes {
		if p.Time != data.UnknownTime {
			nDated++
		}
	}
	if part != nil {
		if w.allGroups == nil { // one part: all of them
			for _, g := range w.groups {
				w.allGroups = append(w.allGroups, g.ID)
			}
			slices.Sort(w.allGroups)
		}
		part.sh = train.NewShard(ctx, part.ex, w.allGroups)
		e.log.Info("read the part's rows", slog.Int("groups", len(w.groups)), slog.Int("of_groups", len(w.allGroups)),
			slog.Int("orders", len(w.orders)), slog.Int("pushes", len(w.pushes)), tookSince(t0))
		if err := part.span(w); err != nil {
			return nil, "", err
		}
		if err := part.sh.AddCounts(&nPushes, &nDated); err != nil {
			return nil, "", err
		}
	}
	end := w.last + 1
	var sw *synth.World
	if m, err := synth.ReadManifest(f.world); err == nil {
		end = data.TimestampOf(m.Params.Start) + data.Timestamp(m.Params.Days)*data.Day
		if !f.noTruth {
			if sw, err = synth.Rebuild(m.Params); err != nil {
				return nil, "", err
			}
		}
	} else if !os.IsNotExist(unwrapPath(err)) {
		return nil, "", err
	}
	if err := countAs(w, f.pref.count); err != nil {
		return nil, "", err
	}
	why, orders, err := ordersOnly(f, nPushes, nDated)
	if err != nil {
		return nil, "", err
	}
	if orders {
		dir, err := runTrainOrders(ctx, e, f, w, why, part)
		return nil, dir, err
	}
	// The conversion model's path reads no member's own order (nor the
	// memberships, which it never loads), and no order row once the history
	// is built: they are let go so that the fit has their memory.
	w.own = nil
	if w.last == data.UnknownTime {
		return nil, "", fmt.Errorf("%s: orders carry no times, so there are no training windows (--conversion off trains from orders alone)", f.world)
	}
	f.win.Attribution = data.Timestamp(f.attributionHours * float64(data.Hour))
	win, err := f.win.Split(w.first, end)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w (--train-days, --calib-days, --test-days and --attribution-hours set the windows; --conversion off trains from orders alone)", f.world, err)
	}
	f.base.ALS.Seed, f.base.ALS.Workers = f.seed, f.workers
	f.conv.Seed, f.conv.ShuffleLabels = f.seed, f.shuffleLabel
	// The history takes the order and push rows, letting each go once its
	// columns are built.
	h := train.TakeHistoryRows(w.changes, w.groups, &w.orders, &w.pushes, w.pushRows, end, win.Attribution)
	w.changes, w.pushRows = nil, nil
	if part != nil {
		if err := h.SetShard(part.sh); err != nil {
			return nil, "", err
		}
	}
	if err := h.CheckLabels(); err != nil {
		return nil, "", fmt.Errorf("%s: %w (--conversion off trains from orders alone, without the pushes)", f.world, err)
	}
	e.log.Info("attributed", slog.Int("orders", h.Report.Orders), slog.Int("by_link", h.Report.ByLink),
		slog.Int("by_window", h.Report.ByWindow), slog.Int("organic", h.Report.Unmatched),
		slog.Int("cancelled", h.Report.Cancelled), slog.Int("refunded", h.Report.Refunded))
	var sb *features.ShownBuilder
	if !f.noPicks {
		sb = h.NewShownBuilder()
	}
	t1 := time.Now()
	random, err := readExposuresOf(ctx, filepath.Join(f.world, parquetio.Exposures.File), sb, f.shard)
	if err != nil {
		return nil, "", err
	}
	if sb != nil {
		h.Shown = sb.Shown()
		lists := 0
		if h.Shown != nil {
			lists = len(h.Shown.Group)
		}
		if part != nil { // lists in any part: lists in every part, if none
			all := lists
			if err := part.sh.AddCounts(&all); err != nil {
				return nil, "", err
			}
			if all > 0 && h.Shown == nil {
				h.Shown = &features.Shown{Start: []int32{0}}
			}
		}
		e.log.Info("shown lists read", slog.Int("lists", lists), slog.Int("random", len(random)), tookSince(t1))
	}
	keys := make(map[uint64]bool, len(random))
	for id := range random {
		keys[data.RequestKey(id)] = true
	}
	h.MarkRandom(keys)
	random, keys = nil, nil
	// The two bases' profiles are built now, and the shown lists let go:
	// they would otherwise be held through the conversion examples (the
	// highest live heap) for the serving base built last.
	h.Prepare(f.base, win.T1, win.Serve)
	if err := part.joined(); err != nil {
		return nil, "", err
	}
	var truthOf func(g, i int32, t data.Timestamp) float64
	if sw != nil {
		truthOf = truthAt(newTruthDays(sw), h)
	}
	fit, err := train.Fit(ctx, h, win, truthOf, f.base, f.conv,
		func(stage string, done, total int) {
			e.log.Info(stage, slog.Int("done", done), slog.Int("total", total))
		})
	if err != nil {
		return nil, "", err
	}
	tr := &trained{hist: h, windows: win, fit: fit, report: fit.Report, opeK: f.opeK}
	if f.opeK > 0 {
		configs := []train.OffPolicyConfig{{Name: "practice"}}
		for _, o := range recommend.Objectives() {
			configs = append(configs, train.OffPolicyConfig{Name: o.Name, Objective: &o})
		}
		if tr.ope, err = train.OffPolicy(ctx, h, fit, f.base, configs, f.opeK, f.bootstrap, f.seed, truthOf); err != nil {
			return nil, "", err
		}
	}
	// The labelled pushes and the base at T1 are done with: let go, they
	// leave the serving build their memory (at a million groups, gigabytes).
	tr.opeN = len(fit.Examples.RandomTest())
	if part != nil {
		if err := part.sh.AddCounts(&tr.opeN); err != nil {
			return nil, "", err
		}
	}
	fit.Examples, fit.Base = nil, nil
	prog := progress(e, "serving factors", f.base.ALS.Epochs)
	if tr.serve, err = h.BuildBase(ctx, win.Serve, f.base, prog); err != nil {
		return nil, "", err
	}
	var effects, appetites func(data.GroupID) []float64
	if sw != nil {
		names := h.Timeline.At(win.Serve).L1Names
		byName := func(of func(data.GroupID) map[string]float64) func(data.GroupID) []float64 {
			return func(g data.GroupID) []float64 {
				m := of(g)
				out := make([]float64, len(names))
				for c, n := range names {
					out[c] = m[n]
				}
				return out
			}
		}
		effects, appetites = byName(sw.CategoryEffects), byName(sw.CategoryAppetites)
	}
	tr.know = h.Knowledge(tr.serve.Profiles, effects, appetites)
	if err := part.joined(); err != nil {
		return nil, "", err
	}
	if !f.quiet && f.shard.i == 0 {
		printConversionReport(e, tr)
	}
	dir, err := writeArtefact(ctx, e, f, w, tr, part)
	if err != nil {
		return nil, "", err
	}
	if part != nil {
		fmt.Fprintf(e.stdout, "part %d/%d: %d of the %d groups written to %s; train merge PART... writes the artefact\n",
			f.shard.i, f.shard.n, h.Groups.Len(), len(w.allGroups), dir)
	}
	e.log.Info("trained", slog.String("artefact", dir), tookSince(t0),
		slog.Int64("peak_rss_mb", peakRSSMiB()))
	return tr, dir, nil
}

// ordersOnly decides whether train fits a model from orders alone, and why
// no conversion model is fitted.
// pushes counts the world's pushes, dated those with a time.
func ordersOnly(f *trainFlags, pushes, datedPushes int) (string, bool, error) {
	if f.conversion != "on" && f.conversion != "off" && f.conversion != "auto" {
		return "", false, fmt.Errorf("--conversion: want on, off or auto, got %q", f.conversion)
	}
	dated := datedPushes > 0
	switch {
	case f.conversion == "off":
		return "--conversion off", true, nil
	case pushes == 0 && f.conversion == "on":
		return "", false, fmt.Errorf("--conversion on: %s has no pushes to fit P(order | push) on", f.world)
	case pushes == 0:
		return "the world has no pushes", true, nil
	case !dated && f.conversion == "on":
		return "", false, fmt.Errorf("--conversion on: the pushes of %s carry no times, so no time windows can be cut", f.world)
	case !dated:
		return "the pushes carry no times: without them a push's outcome cannot be kept apart from the history that explains it " +
			"(a group's own features would hold its label), so it is not fitted; the pushes no order carried enter the preference model instead", true, nil
	}
	return "", false, nil
}
