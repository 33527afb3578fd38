package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"grouprank/data"
	"grouprank/data/jetstream"
	"grouprank/data/store"
	"grouprank/train"
)

func publishCmd(e *env) *cobra.Command {
	var root string
	var noPromote bool
	var replicas int
	c := &cobra.Command{
		Use:   "publish ARTEFACT_DIR",
		Short: "Turn a trained artefact into a read-only badger snapshot and make it current",
		Long: `publish verifies the artefact against its manifest (sizes and SHA-256 of every
file), writes it into a fresh badger directory with a StreamWriter, syncs it,
renames it to <root>/snapshots/<version> and then atomically replaces
<root>/CURRENT. A publish killed half-way leaves the previous version current.
Old versions stay for rollback (grouprank models rollback).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if m, err := train.ReadManifest(args[0]); err == nil {
				if sh, ok := m.Params[paramShard]; ok {
					return fmt.Errorf("%s is part %v of a sharded training run and holds only that part's groups: publish what train merge writes from every part: %w", args[0], sh, data.ErrInvalid)
				}
			}
			prog := func(done, total int64) {
				e.log.Info("publishing", slog.Int64("entries", done), slog.Int64("of_at_least", total))
			}
			publish := func() (string, error) { return publishArtefact(cmd.Context(), args[0], root, !noPromote, prog) }
			if jetstream.IsURL(root) {
				publish = func() (string, error) {
					return publishToCluster(cmd.Context(), args[0], root, replicas, !noPromote, prog)
				}
			}
			v, err := publish()
			if err != nil {
				return err
			}
			state := "current"
			if noPromote {
				state = "published, not current (grouprank models promote " + v + ")"
			}
			fmt.Fprintf(e.stdout, "%s: %s\n", v, state)
			return nil
		},
	}
	c.Flags().StringVar(&root, "root", "snapshots", "snapshot root directory (holds CURRENT, HISTORY and snapshots/), or nats://... URLs: upload the snapshot to the JetStream cluster's object store and move its current model (replicas serving --root nats://... follow)")
	c.Flags().IntVar(&replicas, "nats-replicas", 3, "with --root nats://...: copies of the snapshot and the current-model bucket (the cluster's size; 1 for one server)")
	c.Flags().BoolVar(&noPromote, "no-promote", false, "publish without making it current")
	return c
}

// publishArtefact verifies and publishes one artefact directory.
func publishArtefact(ctx context.Context, dir, root string, promote bool, progress func(done, total int64)) (string, error) {
	m, files, err := train.ReadFilesButGroups(dir)
	if err != nil {
		return "", err
	}
	// The group records are checked against the manifest in a first pass
	// over the file, so that a damaged artefact is refused as such before
	// anything is written; then they go from the file into the snapshot one
	// at a time, checked again (a file changed in between fails the
	// publish, and the partial snapshot is removed).
	if err := train.StreamGroups(dir, m, func(data.GroupID, []byte) error { return nil }); err != nil {
		return "", err
	}
	src := &store.Source{Manifest: *m, Blobs: files, Groups: func(put func(data.GroupID, []byte) error) error {
		return train.StreamGroups(dir, m, put)
	}}
	if err := store.Publish(ctx, root, src, promote, progress); err != nil {
		return "", err
	}
	return m.Version, nil
}
