package jetstream

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"grouprank/data"
)

// The published models in the cluster: each snapshot directory (as
// data/store.Publish writes it) is one object of the object store
// grouprank-snapshots, a tar of its files, whose SHA-256 the object store
// checks on every read; the current version is the key "current" of the
// bucket grouprank-models, moved only once the snapshot is uploaded.
const (
	snapshotBucket = "grouprank-snapshots"
	modelsBucket   = "grouprank-models"
	currentKey     = "current"
)

// Models is the published models in a JetStream cluster.
type Models struct {
	objects jetstream.ObjectStore
	kv      jetstream.KeyValue
}

// Models opens (creating) the snapshots' object store and the models
// bucket, with the replicas the Live was opened with.
func (l *Live) Models(ctx context.Context) (*Models, error) {
	m := &Models{}
	err := retry(ctx, func() error {
		var err error
		if m.objects, err = l.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: snapshotBucket, Replicas: l.replicas, Storage: jetstream.FileStorage}); err != nil {
			return fmt.Errorf("jetstream: object store %s: %w", snapshotBucket, err)
		}
		if m.kv, err = l.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: modelsBucket, Replicas: l.replicas, Storage: jetstream.FileStorage, History: 16}); err != nil {
			return fmt.Errorf("jetstream: bucket %s: %w", modelsBucket, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Upload stores the snapshot directory dir as version (immutable: a
// version already uploaded is refused).
func (m *Models) Upload(ctx context.Context, version, dir string) error {
	if err := data.ValidVersion(version); err != nil {
		return err
	}
	if _, err := m.objects.GetInfo(ctx, version); err == nil {
		return fmt.Errorf("jetstream: snapshot %s is already uploaded: %w", version, data.ErrConflict)
	} else if !errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("jetstream: snapshot %s: %w", version, err)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeTar(pw, dir)) }()
	if _, err := m.objects.Put(ctx, jetstream.ObjectMeta{Name: version}, pr); err != nil {
		pr.CloseWithError(err)
		return fmt.Errorf("jetstream: upload snapshot %s: %w", version, err)
	}
	return nil
}

// writeTar writes the regular files of dir (flat, as a badger directory is)
// in name order.
func writeTar(w io.Writer, dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	sort.Slice(ents, func(a, b int) bool { return ents[a].Name() < ents[b].Name() })
	tw := tar.NewWriter(w)
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		info, err := f.Stat()
		if err == nil {
			err = tw.WriteHeader(&tar.Header{Name: e.Name(), Mode: 0o644, Size: info.Size(), ModTime: time.Unix(0, 0)})
		}
		if err == nil {
			_, err = io.Copy(tw, f)
		}
		f.Close()
		if err != nil {
			return err
		}
	}
	return tw.Close()
}

// The key "current" holds the current version and the versions promoted
// before it, in one value, so that promote and rollback each move both in
// one compare-and-set: two operators acting at once get one success and
// one retry on the newer value, never a history that disagrees with the
// version served.
type currentValue struct {
	Version string   `json:"version"`
	History []string `json:"history"` // promotions in order, the current one last
}

// historyKept bounds the promotions remembered (rollback reaches this far back).
const historyKept = 64

// readCurrent is the current value and its revision (revision 0: none yet).
func (m *Models) readCurrent(ctx context.Context) (currentValue, uint64, error) {
	e, err := m.kv.Get(ctx, currentKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return currentValue{}, 0, nil
	}
	if err != nil {
		return currentValue{}, 0, fmt.Errorf("jetstream: current model: %w", err)
	}
	cv, err := parseCurrent(e.Value())
	return cv, e.Revision(), err
}

func parseCurrent(b []byte) (currentValue, error) {
	var cv currentValue
	if err := json.Unmarshal(b, &cv); err != nil || data.ValidVersion(cv.Version) != nil {
		return currentValue{}, fmt.Errorf("jetstream: the key %s of %s holds %q, not a current model: %w", currentKey, modelsBucket, b, data.ErrInvalid)
	}
	return cv, nil
}

// updateCurrent applies change to the current value with compare-and-set,
// rereading and retrying when another writer moved it first.
func (m *Models) updateCurrent(ctx context.Context, change func(*currentValue) error) (string, error) {
	for try := range 20 {
		if try > 0 { // another writer got in between: wait a little, longer each time, jittered
			time.Sleep(time.Duration(rand.IntN(5*try)+1) * time.Millisecond)
		}
		cv, rev, err := m.readCurrent(ctx)
		if err != nil {
			return "", err
		}
		if err := change(&cv); err != nil {
			return "", err
		}
		if _, err := m.objects.GetInfo(ctx, cv.Version); err != nil {
			return "", fmt.Errorf("jetstream: make %s current: %w: not uploaded", cv.Version, data.ErrNotFound)
		}
		if n := len(cv.History); n > historyKept {
			cv.History = cv.History[n-historyKept:]
		}
		b, _ := json.Marshal(cv)
		if rev == 0 {
			_, err = m.kv.Create(ctx, currentKey, b)
		} else {
			_, err = m.kv.Update(ctx, currentKey, b, rev)
		}
		switch {
		case err == nil:
			return cv.Version, nil
		case errors.Is(err, jetstream.ErrKeyExists):
			continue // moved since read
		default:
			return "", fmt.Errorf("jetstream: make %s current: %w", cv.Version, err)
		}
	}
	return "", fmt.Errorf("jetstream: the current model: 20 concurrent updates in a row: %w", data.ErrConflict)
}

// SetCurrent makes an uploaded version the one replicas serve (a promotion).
func (m *Models) SetCurrent(ctx context.Context, version string) error {
	if err := data.ValidVersion(version); err != nil {
		return err
	}
	_, err := m.updateCurrent(ctx, func(cv *currentValue) error {
		cv.Version, cv.History = version, append(cv.History, version)
		return nil
	})
	return err
}

// Rollback makes the version promoted before the current one current
// again, the current one leaving the history, and returns it.
func (m *Models) Rollback(ctx context.Context) (string, error) {
	return m.updateCurrent(ctx, func(cv *currentValue) error {
		h, prev, err := previousOf(*cv)
		if err != nil {
			return err
		}
		cv.Version, cv.History = prev, h
		return nil
	})
}

// Previous is the version Rollback would make current (it changes nothing).
func (m *Models) Previous(ctx context.Context) (string, error) {
	cv, _, err := m.readCurrent(ctx)
	if err != nil {
		return "", err
	}
	_, prev, err := previousOf(cv)
	return prev, err
}

// previousOf is the history a rollback leaves and the version it makes current.
func previousOf(cv currentValue) ([]string, string, error) {
	if cv.Version == "" {
		return nil, "", fmt.Errorf("jetstream: rollback: %w: no model is current", data.ErrNotFound)
	}
	h := cv.History
	for len(h) > 0 && h[len(h)-1] == cv.Version {
		h = h[:len(h)-1]
	}
	if len(h) == 0 {
		return nil, "", fmt.Errorf("jetstream: rollback: %w: no version was promoted before %s", data.ErrNotFound, cv.Version)
	}
	return slices.Clone(h), h[len(h)-1], nil
}

// Current is the current version (data.ErrNotFound: none yet).
func (m *Models) Current(ctx context.Context) (string, error) {
	cv, rev, err := m.readCurrent(ctx)
	if err != nil {
		return "", err
	}
	if rev == 0 {
		return "", fmt.Errorf("jetstream: current model: %w", data.ErrNotFound)
	}
	return cv.Version, nil
}

// Published lists the uploaded versions in name order.
func (m *Models) Published(ctx context.Context) ([]string, error) {
	infos, err := m.objects.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("jetstream: list snapshots: %w", err)
	}
	var vs []string
	for _, in := range infos {
		if !in.Deleted {
			vs = append(vs, in.Name)
		}
	}
	slices.Sort(vs)
	return vs, nil
}

// Fetch writes version's snapshot into dir (which must not exist): into a
// temporary directory beside it first, renamed once every file is written
// and the object's digest checked, so dir is either whole or absent.
func (m *Models) Fetch(ctx context.Context, version, dir string) error {
	if err := data.ValidVersion(version); err != nil {
		return err
	}
	r, err := m.objects.Get(ctx, version)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("jetstream: snapshot %s: %w", version, data.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("jetstream: snapshot %s: %w", version, err)
	}
	defer r.Close()
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+version+".fetch-")
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := readTar(r, tmp); err != nil {
		return fmt.Errorf("jetstream: snapshot %s: %w", version, err) // a digest mismatch surfaces here, as the reader's error
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	return nil
}

// readTar writes a flat tar's files into dir, each synced.
func readTar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Base(h.Name)
		if name != h.Name || name == "." || name == ".." || h.Typeflag != tar.TypeReg {
			return fmt.Errorf("unexpected entry %q in a snapshot: %w", h.Name, data.ErrInvalid)
		}
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, tr)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
}

// Watch calls fn with the current version now (when there is one) and at
// every change, until ctx ends.
func (m *Models) Watch(ctx context.Context, fn func(version string)) error {
	w, err := m.kv.Watch(ctx, currentKey)
	if err != nil {
		return fmt.Errorf("jetstream: watch the current model: %w", err)
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return fmt.Errorf("jetstream: the watch of the current model ended")
			}
			if e == nil || e.Operation() != jetstream.KeyValuePut {
				continue // nil marks the end of the initial values
			}
			cv, err := parseCurrent(e.Value())
			if err != nil {
				return err
			}
			fn(cv.Version)
		}
	}
}
