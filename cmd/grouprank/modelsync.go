package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"

	"grouprank/data"
	"grouprank/data/jetstream"
	"grouprank/data/store"
	"grouprank/recommend/service"
)

// modelSync keeps a replica's local snapshot cache in step with the models
// published to a JetStream cluster (serve --root nats://...): it fetches
// the current version into the cache, verified, and puts it in service;
// when the version cannot be fetched the replica keeps serving the one it
// has and says why on /readyz.
type modelSync struct {
	*clusterRegistry        // the cluster's connection and models
	cache            string // a snapshot root: CURRENT, HISTORY, snapshots/
	log              *slog.Logger
	failed           atomic.Pointer[error] // the last fetch's failure, nil once one succeeds
}

func openModelSync(ctx context.Context, url, cache string, replicas int, log *slog.Logger) (*modelSync, error) {
	r, err := openClusterRegistry(ctx, url, replicas)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		r.Close()
		return nil, err
	}
	return &modelSync{clusterRegistry: r, cache: cache, log: log}, nil
}

// clusterModels, when --root names a JetStream cluster, opens its models,
// fetches the current one into --snapshot-cache and points o.root there
// (nil, nil for a directory).
func clusterModels(ctx context.Context, e *env, o *serveOptions) (*modelSync, error) {
	if !jetstream.IsURL(o.root) {
		return nil, nil
	}
	s, err := openModelSync(ctx, o.root, o.snapshotCache, o.natsReplicas, e.log)
	if err != nil {
		return nil, err
	}
	if err := s.prime(ctx); err != nil {
		s.Close()
		return nil, err
	}
	o.root = o.snapshotCache
	return s, nil
}

// fetch makes version present in the cache.
func (s *modelSync) fetch(ctx context.Context, version string) error {
	dir := filepath.Join(s.cache, "snapshots", version)
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	return s.models.Fetch(ctx, version, dir)
}

// prime fetches the cluster's current version and makes it the cache's
// current one, before the registry first loads (none published: nothing).
func (s *modelSync) prime(ctx context.Context) error {
	v, err := s.models.Current(ctx)
	if errors.Is(err, data.ErrNotFound) {
		return nil
	}
	if err == nil {
		err = s.fetch(ctx, v)
	}
	if err == nil {
		if err = verifySnapshot(s.cache, v); err != nil {
			os.RemoveAll(filepath.Join(s.cache, "snapshots", v)) // fetched again at the next try
		}
	}
	if err == nil {
		err = store.Promote(s.cache, v)
	}
	if err != nil {
		s.fail(fmt.Errorf("the current model %s cannot be fetched: %w", v, err))
		return nil // serve what the cache has, unready, rather than not at all
	}
	return nil
}

// watch puts every version made current in the cluster in service, until ctx ends.
func (s *modelSync) watch(ctx context.Context, ms *service.Registry) {
	err := s.models.Watch(ctx, func(v string) {
		if m := ms.Current(); m != nil && m.Version == v {
			s.failed.Store(nil)
			return
		}
		if err := s.fetch(ctx, v); err != nil {
			s.fail(fmt.Errorf("the current model %s cannot be fetched: %w", v, err))
			return
		}
		if _, err := ms.Promote(ctx, v); err != nil {
			os.RemoveAll(filepath.Join(s.cache, "snapshots", v)) // fetched again at the next try
			s.fail(fmt.Errorf("the current model %s cannot be put in service: %w", v, err))
			return
		}
		s.failed.Store(nil)
		s.log.Info("model in service", slog.String("model_version", v), slog.String("from", "the cluster's current model"))
	})
	if err != nil && ctx.Err() == nil {
		s.fail(fmt.Errorf("watching the cluster's current model stopped: %w", err))
	}
}

func (s *modelSync) fail(err error) {
	s.failed.Store(&err)
	s.log.Error("model sync", slog.String("error", err.Error()))
}

// Ready is nil unless the cluster's current model could not be put in
// service (the replica then serves the one it has).
func (s *modelSync) Ready() error {
	if p := s.failed.Load(); p != nil {
		return fmt.Errorf("%w: %v", data.ErrUnavailable, *p)
	}
	return nil
}

// publishToCluster publishes an artefact into a scratch snapshot root, then
// uploads the snapshot to the cluster and (promote) makes it current there.
func publishToCluster(ctx context.Context, dir, url string, replicas int, promote bool, progress func(done, total int64)) (string, error) {
	r, err := openClusterRegistry(ctx, url, replicas)
	if err != nil {
		return "", err
	}
	defer r.Close()
	models := r.models
	tmp, err := os.MkdirTemp("", "grouprank-publish-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	v, err := publishArtefact(ctx, dir, tmp, false, progress)
	if err != nil {
		return "", err
	}
	if err := models.Upload(ctx, v, filepath.Join(tmp, "snapshots", v)); err != nil {
		return "", err
	}
	if promote {
		return v, models.SetCurrent(ctx, v)
	}
	return v, nil
}

// clusterAdmin is the admin routes of a replica serving the cluster's
// models: promote and rollback move the cluster's current model (every
// replica follows), then put it in service here at once.
type clusterAdmin struct {
	sync *modelSync
	ms   *service.Registry
}

func (a clusterAdmin) local(ctx context.Context, v string) (string, error) {
	if err := a.sync.fetch(ctx, v); err != nil {
		return "", err
	}
	return a.ms.Promote(ctx, v)
}

func (a clusterAdmin) Promote(ctx context.Context, version string) (string, error) {
	if err := a.sync.promote(ctx, version); err != nil {
		return "", err
	}
	return a.local(ctx, version)
}

func (a clusterAdmin) Rollback(ctx context.Context) (string, error) {
	v, err := a.sync.rollback(ctx)
	if err != nil {
		return "", err
	}
	return a.local(ctx, v)
}

// Reload puts the cluster's current model in service.
func (a clusterAdmin) Reload(ctx context.Context) (string, error) {
	v, err := a.sync.models.Current(ctx)
	if err != nil {
		return "", err
	}
	return a.local(ctx, v)
}
