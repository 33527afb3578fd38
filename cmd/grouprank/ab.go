package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"grouprank/data"
	"grouprank/data/store"
	"grouprank/recommend"
	"grouprank/recommend/experiment"
	"grouprank/recommend/service"
)

// openExperiments opens the live store (refused while a service holds it:
// use the admin API then) and its registry.
func openExperiments(ctx context.Context, liveDir, root string, replicas int) (liveStore, *experiment.Registry, error) {
	live, err := openLive(ctx, liveDir, replicas)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (while grouprank serve holds the live store, use its /v1/admin/experiments routes)", err)
	}
	reg, err := experiment.NewRegistry(live, service.OptionCheck(root))
	if err != nil {
		live.Close()
		return nil, nil, err
	}
	return live, reg, nil
}

func abCmd(e *env) *cobra.Command {
	var liveDir, root string
	var replicas int
	c := &cobra.Command{
		Use:   "ab",
		Short: "Create, run and report A/B experiments (in the live store)",
		Long: `ab manages experiments kept in the service's live store (--live) while the
service is stopped; a running service offers the same through its admin API
(/v1/admin/experiments). Reports read the exposures and events the service (or
grouprank simulate) logged, with commission rates from the current snapshot
(--root).`,
	}
	c.PersistentFlags().StringVar(&liveDir, "live", "live", liveHelp)
	c.PersistentFlags().IntVar(&replicas, "nats-replicas", 3, "with --live nats://...: copies of every stream and bucket (the cluster's size; 1 for one server)")
	c.PersistentFlags().StringVar(&root, "root", "snapshots", "snapshot root (model versions; the catalogue's commission rates)")
	with := func(fn func(ctx context.Context, reg *experiment.Registry, live liveStore, args []string) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			live, reg, err := openExperiments(cmd.Context(), liveDir, root, replicas)
			if err != nil {
				return err
			}
			defer live.Close()
			return fn(cmd.Context(), reg, live, args)
		}
	}
	printJSON := func(v any) error {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil { // a number the data cannot give (NaN) is null
			b, err = json.MarshalIndent(jsonSafe(v), "", "  ")
		}
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "%s\n", b)
		return err
	}
	var file string
	var replace bool
	create := &cobra.Command{Use: "create --file experiment.json", Short: "Create a draft experiment from a JSON definition", Args: cobra.NoArgs,
		RunE: with(func(_ context.Context, reg *experiment.Registry, _ liveStore, _ []string) error {
			b, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			var x experiment.Experiment
			if err := json.Unmarshal(b, &x); err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			if err := reg.Create(&x, data.TimestampOf(e.now()), replace); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "created %s (draft)\n", x.Key)
			return nil
		})}
	create.Flags().StringVar(&file, "file", "", "the experiment's JSON definition")
	create.Flags().BoolVar(&replace, "replace", false, "replace a draft with the same key")
	list := &cobra.Command{Use: "list", Short: "List experiments and layers", Args: cobra.NoArgs,
		RunE: with(func(_ context.Context, reg *experiment.Registry, _ liveStore, _ []string) error {
			exps, err := reg.List()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KEY\tSTATUS\tLAYER\tUNIT\tTRAFFIC\tARMS\tPRIMARY")
			for _, x := range exps {
				arms := ""
				for k, a := range x.Arms {
					if k > 0 {
						arms += ", "
					}
					arms += fmt.Sprintf("%s %g%%", a.Name, a.Weight)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%g%%\t%s\t%s\n", x.Key, x.Status, x.Layer, x.Unit, 100*x.Traffic, arms, x.Primary)
			}
			return tw.Flush()
		})}
	show := &cobra.Command{Use: "show KEY", Short: "Show an experiment with its power (minimum detectable effect)", Args: cobra.ExactArgs(1),
		RunE: with(func(ctx context.Context, reg *experiment.Registry, live liveStore, args []string) error {
			x, err := reg.Get(args[0])
			if err != nil {
				return err
			}
			out := map[string]any{"experiment": x}
			if m, snap, err := loadCurrent(root); err == nil {
				defer snap.Close()
				if p, err := service.PowerOf(ctx, live, x, m, e.now()); err == nil {
					out["power"] = p
				} else {
					out["power_error"] = err.Error()
				}
			}
			return printJSON(out)
		})}
	action := func(name, short string, fn func(reg *experiment.Registry, key string, now data.Timestamp) (*experiment.Experiment, error)) *cobra.Command {
		return &cobra.Command{Use: name + " KEY", Short: short, Args: cobra.ExactArgs(1),
			RunE: with(func(_ context.Context, reg *experiment.Registry, _ liveStore, args []string) error {
				x, err := fn(reg, args[0], data.TimestampOf(e.now()))
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "%s: %s\n", x.Key, x.Status)
				return nil
			})}
	}
	start := action("start", "Start an experiment (refused when its layer runs another)", func(reg *experiment.Registry, key string, now data.Timestamp) (*experiment.Experiment, error) {
		return reg.Start(key, now)
	})
	stop := action("stop", "Stop a running experiment", func(reg *experiment.Registry, key string, now data.Timestamp) (*experiment.Experiment, error) {
		return reg.Stop(key, now)
	})
	var traffic float64
	ramp := action("ramp", "Raise a running experiment's traffic share (--traffic)", func(reg *experiment.Registry, key string, now data.Timestamp) (*experiment.Experiment, error) {
		return reg.Ramp(key, traffic, now)
	})
	ramp.Flags().Float64Var(&traffic, "traffic", 0, "the new traffic share, in (0, 1] (required)")
	ramp.MarkFlagRequired("traffic")
	var unit, arm string
	override := action("override", "Force a unit (--unit g<group> or p<promoter>) into an arm for QA (--arm; empty removes)", func(reg *experiment.Registry, key string, _ data.Timestamp) (*experiment.Experiment, error) {
		return reg.Override(key, unit, arm)
	})
	override.Flags().StringVar(&unit, "unit", "", "unit id: g<group> or p<promoter>")
	override.Flags().StringVar(&arm, "arm", "", "arm name (empty: remove the override)")
	var format string
	report := &cobra.Command{Use: "report KEY", Short: "Analyse an experiment: lifts, intervals, CUPED, sequential tests, SRM, guardrails, decision", Args: cobra.ExactArgs(1),
		RunE: with(func(ctx context.Context, reg *experiment.Registry, live liveStore, args []string) error {
			m, snap, err := loadCurrent(root)
			if err != nil {
				return err
			}
			defer snap.Close()
			r, err := service.BuildReport(ctx, live, reg, args[0], m, e.now())
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(r)
			}
			_, err = fmt.Fprint(e.stdout, r.Table())
			return err
		})}
	report.Flags().StringVar(&format, "format", "table", "table or json")
	var layerOpts []string
	layer := &cobra.Command{Use: "layer NAME --options a,b", Short: "Add a layer owning ranker options no other layer owns", Args: cobra.ExactArgs(1),
		RunE: with(func(_ context.Context, reg *experiment.Registry, _ liveStore, args []string) error {
			if err := reg.AddLayer(experiment.Layer{Name: args[0], Options: layerOpts}); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "layer %s added\n", args[0])
			return nil
		})}
	layer.Flags().StringSliceVar(&layerOpts, "options", nil, "ranker options the layer owns")
	c.AddCommand(create, list, show, start, stop, ramp, override, report, layer)
	return c
}

// loadCurrent opens the current snapshot's model.
func loadCurrent(root string) (*recommend.Model, *store.Snapshot, error) {
	v, err := store.Current(root)
	if err != nil {
		return nil, nil, err
	}
	return service.OpenModel(root, v)
}
