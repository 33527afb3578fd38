package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"grouprank/data"
	"grouprank/data/jetstream"
	"grouprank/data/store"
	"grouprank/recommend/service"
	"grouprank/train"
)

func modelsCmd(e *env) *cobra.Command {
	var root, artefacts string
	var replicas int
	cluster := func(cmd *cobra.Command) (*clusterRegistry, error) { // nil for a directory
		if !jetstream.IsURL(root) {
			return nil, nil
		}
		return openClusterRegistry(cmd.Context(), root, replicas)
	}
	c := &cobra.Command{
		Use:   "models",
		Short: "List, show, promote and roll back published model versions",
	}
	c.PersistentFlags().StringVar(&root, "root", "snapshots", "snapshot root directory, or nats://... URLs: the JetStream cluster's published models (publish --root nats://...)")
	c.PersistentFlags().IntVar(&replicas, "nats-replicas", 3, "with --root nats://...: copies of the snapshots and the current-model bucket (the cluster's size; 1 for one server)")
	c.PersistentFlags().StringVar(&artefacts, "artefacts", "models", "artefact directory (train --out), for versions not yet published")
	list := &cobra.Command{
		Use:   "list",
		Short: "List artefacts and published versions; * marks the current one",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pub, err := store.Published(root)
			cur, _ := store.Current(root)
			manifest := func(v string) (*data.ModelVersion, error) {
				s, err := store.OpenSnapshot(root, v)
				if err != nil {
					return nil, err
				}
				defer s.Close()
				return &s.Manifest, nil
			}
			cl, cerr := cluster(cmd)
			if cerr != nil {
				return cerr
			}
			if cl != nil {
				defer cl.Close()
				pub, err = cl.models.Published(cmd.Context())
				cur, _ = cl.models.Current(cmd.Context())
				manifest = func(string) (*data.ModelVersion, error) { // a snapshot is not fetched whole to list it: models show V
					return nil, data.ErrNotFound
				}
			}
			if err != nil {
				return err
			}
			seen := map[string]bool{}
			var names []string
			for _, v := range pub {
				seen[v] = true
				names = append(names, v)
			}
			if ents, err := os.ReadDir(artefacts); err == nil {
				for _, en := range ents {
					if en.IsDir() && !seen[en.Name()] && en.Name()[0] != '.' {
						names = append(names, en.Name())
					}
				}
			}
			slices.Sort(names)
			tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "\tVERSION\tSTATE\tTEST AUC\tTEST LOG LOSS")
			for _, v := range names {
				mark, state := "", "artefact only"
				if seen[v] {
					state = "published"
				}
				if v == cur {
					mark, state = "*", "current"
				}
				auc, ll := "-", "-"
				if m, err := train.ReadManifest(filepath.Join(artefacts, v)); err == nil {
					auc, ll = fmt.Sprintf("%.4f", m.Metrics["test_auc"]), fmt.Sprintf("%.4f", m.Metrics["test_log_loss"])
				} else if seen[v] {
					if m, err := manifest(v); err == nil {
						auc, ll = fmt.Sprintf("%.4f", m.Metrics["test_auc"]), fmt.Sprintf("%.4f", m.Metrics["test_log_loss"])
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", mark, v, state, auc, ll)
			}
			return tw.Flush()
		},
	}
	show := &cobra.Command{
		Use:   "show [VERSION]",
		Short: "Print a version's manifest (default: the current one)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v := ""
			if len(args) == 1 {
				v = args[0]
			}
			cl, err := cluster(cmd)
			if err != nil {
				return err
			}
			if cl != nil {
				defer cl.Close()
				if v == "" {
					if v, err = cl.models.Current(cmd.Context()); err != nil {
						return err
					}
				}
				m, err := cl.manifest(cmd.Context(), artefacts, v)
				if err != nil {
					return err
				}
				b, _ := json.MarshalIndent(m, "", "  ")
				fmt.Fprintln(e.stdout, string(b))
				return nil
			}
			if v == "" {
				if v, err = store.Current(root); err != nil {
					return err
				}
			}
			var m any
			if s, err := store.OpenSnapshot(root, v); err == nil {
				m = s.Manifest
				s.Close()
			} else if a, aerr := train.ReadManifest(filepath.Join(artefacts, v)); aerr == nil {
				m = a
			} else {
				return err
			}
			b, _ := json.MarshalIndent(m, "", "  ")
			fmt.Fprintln(e.stdout, string(b))
			return nil
		},
	}
	promote := &cobra.Command{
		Use:   "promote VERSION",
		Short: "Make a published version current",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := cluster(cmd)
			if err != nil {
				return err
			}
			if cl != nil {
				defer cl.Close()
				if err := cl.promote(cmd.Context(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "%s: current\n", args[0])
				return nil
			}
			if err := verifySnapshot(root, args[0]); err != nil {
				return err
			}
			if err := store.Promote(root, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s: current\n", args[0])
			return nil
		},
	}
	rollback := &cobra.Command{
		Use:   "rollback",
		Short: "Make the previously promoted version current again",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := cluster(cmd)
			if err != nil {
				return err
			}
			if cl != nil {
				defer cl.Close()
				v, err := cl.rollback(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "%s: current\n", v)
				return nil
			}
			prev, err := store.Previous(root)
			if err != nil {
				return err
			}
			if err := verifySnapshot(root, prev); err != nil {
				return err
			}
			v, err := store.Rollback(root)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s: current\n", v)
			return nil
		},
	}
	c.AddCommand(list, show, promote, rollback)
	return c
}

// verifySnapshot opens version as the service would, checking every byte
// against its manifest, and closes it: a version becomes current only once
// it has passed.
func verifySnapshot(root, version string) error {
	_, snap, err := service.OpenModel(root, version)
	if err != nil {
		return err
	}
	return snap.Close()
}
