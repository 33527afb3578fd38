package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"grouprank/data"
	"grouprank/data/store"
	"grouprank/recommend"
	"grouprank/recommend/api"
	"grouprank/train"
)

func serveCmd(e *env) *cobra.Command {
	var root, addr string
	c := &cobra.Command{
		Use:   "serve",
		Short: "Serve picks from the current snapshot over HTTP",
		Long: `serve opens the current snapshot (--root, see grouprank publish) read-only, keeps
its catalogue, statistics and item vectors in memory, reads group records from
it per request, and answers GET /v1/groups/{group}/picks, /healthz and /readyz
on --addr until interrupted (then it drains requests and stops).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd.Context(), e, root, addr)
		},
	}
	c.Flags().StringVar(&root, "root", "snapshots", "snapshot root directory (grouprank publish --root)")
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "listen address")
	return c
}

// snapshotGroups reads group records from an open snapshot.
type snapshotGroups struct{ s *store.Snapshot }

func (g snapshotGroups) Group(id data.GroupID) (recommend.Group, error) {
	b, err := g.s.Group(id)
	if err != nil {
		return recommend.Group{}, err
	}
	return recommend.DecodeGroup(b)
}

// loadModel opens a snapshot and builds the model that serves it.
func loadModel(root, version string) (*recommend.Model, *store.Snapshot, error) {
	s, err := store.OpenSnapshot(root, version)
	if err != nil {
		return nil, nil, err
	}
	files := map[string][]byte{}
	for _, f := range s.Manifest.Files {
		if f.Name == train.GroupsFile {
			continue
		}
		b, err := s.Blob(f.Name)
		if err != nil {
			s.Close()
			return nil, nil, err
		}
		files[f.Name] = b
	}
	a, err := train.DecodeArtefact(s.Manifest, files, func(name string) string { return s.Dir + ": " + name })
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	in, _ := a.Inputs()
	m := recommend.NewModel(a.Manifest.Version, recommend.NewRanker(recommend.NewScorer(in, &a.Spec.Conversion)), snapshotGroups{s})
	return m, s, nil
}

func serve(ctx context.Context, e *env, root, addr string) error {
	var current atomic.Pointer[recommend.Model]
	v, err := store.Current(root)
	if err != nil {
		return err
	}
	t0 := time.Now()
	m, snap, err := loadModel(root, v)
	if err != nil {
		return err
	}
	defer snap.Close()
	current.Store(m)
	e.log.Info("snapshot loaded", slog.String("model_version", v), slog.String("took", time.Since(t0).Round(time.Millisecond).String()))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: api.New(api.Deps{Model: current.Load, Log: e.log}), ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(e.stdout, "listening on http://%s (model %s)\n", ln.Addr(), v)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	e.log.Info("stopped")
	return nil
}
