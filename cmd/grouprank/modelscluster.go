package main

import (
	"context"
	"os"
	"path/filepath"

	"grouprank/data"
	"grouprank/data/jetstream"
	"grouprank/data/store"
	"grouprank/train"
)

// clusterRegistry is `models` on a JetStream cluster (--root nats://...):
// the versions uploaded to its object store and its current model, moved
// only to a version fetched and verified first, as on a directory.
type clusterRegistry struct {
	conn   *jetstream.Live
	models *jetstream.Models
}

func openClusterRegistry(ctx context.Context, url string, replicas int) (*clusterRegistry, error) {
	conn, err := jetstream.Open(ctx, url, jetstream.Options{Replicas: replicas})
	if err != nil {
		return nil, err
	}
	models, err := conn.Models(ctx)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &clusterRegistry{conn: conn, models: models}, nil
}

func (r *clusterRegistry) Close() error { return r.conn.Close() }

// fetched fetches version into a scratch snapshot root and calls fn with it
// (the root is removed afterwards).
func (r *clusterRegistry) fetched(ctx context.Context, version string, fn func(root string) error) error {
	tmp, err := os.MkdirTemp("", "grouprank-models-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := r.models.Fetch(ctx, version, filepath.Join(tmp, "snapshots", version)); err != nil {
		return err
	}
	return fn(tmp)
}

// verify fetches version and opens it as a replica would, every byte
// checked against its manifest.
func (r *clusterRegistry) verify(ctx context.Context, version string) error {
	return r.fetched(ctx, version, func(root string) error { return verifySnapshot(root, version) })
}

// manifest is version's manifest, from the artefact directory when it holds
// the version, else from the snapshot fetched.
func (r *clusterRegistry) manifest(ctx context.Context, artefacts, version string) (*data.ModelVersion, error) {
	if m, err := train.ReadManifest(filepath.Join(artefacts, version)); err == nil {
		return m, nil
	}
	var m *data.ModelVersion
	err := r.fetched(ctx, version, func(root string) error {
		s, err := store.OpenSnapshot(root, version)
		if err != nil {
			return err
		}
		defer s.Close()
		mm := s.Manifest
		m = &mm
		return nil
	})
	return m, err
}

func (r *clusterRegistry) promote(ctx context.Context, version string) error {
	if err := r.verify(ctx, version); err != nil {
		return err
	}
	return r.models.SetCurrent(ctx, version)
}

func (r *clusterRegistry) rollback(ctx context.Context) (string, error) {
	prev, err := r.models.Previous(ctx)
	if err != nil {
		return "", err
	}
	if err := r.verify(ctx, prev); err != nil {
		return "", err
	}
	return r.models.Rollback(ctx)
}
