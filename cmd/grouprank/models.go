package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"grouprank/data/store"
	"grouprank/recommend/service"
	"grouprank/train"
)

func modelsCmd(e *env) *cobra.Command {
	var root, artefacts string
	c := &cobra.Command{
		Use:   "models",
		Short: "List, show, promote and roll back published model versions",
	}
	c.PersistentFlags().StringVar(&root, "root", "snapshots", "snapshot root directory")
	c.PersistentFlags().StringVar(&artefacts, "artefacts", "models", "artefact directory (train --out), for versions not yet published")
	list := &cobra.Command{
		Use:   "list",
		Short: "List artefacts and published versions; * marks the current one",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pub, err := store.Published(root)
			if err != nil {
				return err
			}
			cur, _ := store.Current(root)
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
				} else if s, err := store.OpenSnapshot(root, v); err == nil {
					auc, ll = fmt.Sprintf("%.4f", s.Manifest.Metrics["test_auc"]), fmt.Sprintf("%.4f", s.Manifest.Metrics["test_log_loss"])
					s.Close()
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
			} else {
				var err error
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
