package experiment

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"grouprank/data"
)

// Docs is where experiments and layers are kept: the live store.
type Docs interface {
	Docs(kind string) (map[string][]byte, error)
	UpdateDocs(kind string, fn func(docs map[string][]byte) (map[string][]byte, error)) error
}

// The document kinds.
const (
	kindExperiment = "experiment"
	kindLayer      = "layer"
)

// Registry creates, changes and lists experiments and layers, enforcing
// their rules, and keeps an Assigner for the running ones.
type Registry struct {
	docs  Docs
	check func(option, value string) error
	mu    sync.Mutex // serialises changes (one writer process; this orders its goroutines)
	cur   atomic.Pointer[Assigner]
}

// NewRegistry opens the registry over docs; check validates option values
// (nil: any value). It loads the running experiments' assigner.
func NewRegistry(docs Docs, check func(option, value string) error) (*Registry, error) {
	r := &Registry{docs: docs, check: check}
	if err := r.refresh(); err != nil {
		return nil, err
	}
	return r, nil
}

// Assigner is the running experiments' assigner, replaced atomically on
// every change.
func (r *Registry) Assigner() *Assigner { return r.cur.Load() }

// Refresh reloads the assigner from the stored documents: what another
// process (a replica sharing the live log) changed takes effect here.
func (r *Registry) Refresh() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.refresh()
}

func (r *Registry) refresh() error {
	exps, err := r.List()
	if err != nil {
		return err
	}
	layers, err := r.Layers()
	if err != nil {
		return err
	}
	r.cur.Store(NewAssigner(exps, layers))
	return nil
}

// Layers returns the stored layers, or DefaultLayers when none is stored.
func (r *Registry) Layers() ([]Layer, error) {
	docs, err := r.docs.Docs(kindLayer)
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return DefaultLayers(), nil
	}
	out := make([]Layer, 0, len(docs))
	for key, b := range docs {
		var l Layer
		if err := json.Unmarshal(b, &l); err != nil {
			return nil, fmt.Errorf("experiment: layer %q: %w", key, err)
		}
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b Layer) int { return cmpString(a.Name, b.Name) })
	return out, nil
}

// AddLayer adds a layer; it is refused when it owns an option another layer
// owns.
func (r *Registry) AddLayer(l Layer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if l.Salt == "" {
		l.Salt = "layer:" + l.Name
	}
	current, err := r.Layers()
	if err != nil {
		return err
	}
	all := append(slices.Clone(current), l)
	if err := ValidateLayers(all); err != nil {
		return err
	}
	err = r.docs.UpdateDocs(kindLayer, func(docs map[string][]byte) (map[string][]byte, error) {
		changes := map[string][]byte{}
		if len(docs) == 0 { // materialise the defaults the first time
			for _, d := range current {
				b, _ := json.Marshal(d)
				changes[d.Name] = b
			}
		}
		b, err := json.Marshal(l)
		changes[l.Name] = b
		return changes, err
	})
	if err != nil {
		return err
	}
	return r.refresh()
}

// List returns every experiment, by key.
func (r *Registry) List() ([]*Experiment, error) {
	docs, err := r.docs.Docs(kindExperiment)
	if err != nil {
		return nil, err
	}
	return decodeAll(docs)
}

func decodeAll(docs map[string][]byte) ([]*Experiment, error) {
	out := make([]*Experiment, 0, len(docs))
	for key, b := range docs {
		e := &Experiment{}
		if err := json.Unmarshal(b, e); err != nil {
			return nil, fmt.Errorf("experiment %q: stored document: %w", key, err)
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b *Experiment) int { return cmpString(a.Key, b.Key) })
	return out, nil
}

// Get returns one experiment.
func (r *Registry) Get(key string) (*Experiment, error) {
	exps, err := r.List()
	if err != nil {
		return nil, err
	}
	for _, e := range exps {
		if e.Key == key {
			return e, nil
		}
	}
	return nil, fmt.Errorf("experiment %q: %w", key, data.ErrNotFound)
}

// Create stores a new experiment as a draft (or replaces a draft with
// the same key when replace is set).
func (r *Registry) Create(e *Experiment, now data.Timestamp, replace bool) error {
	e.Normalize()
	e.Status, e.Periods, e.Created = Draft, nil, now
	return r.change(e.Key, nil, func(old *Experiment, all []*Experiment, layers []Layer) (*Experiment, error) {
		if old != nil && (!replace || old.Status != Draft) {
			return nil, fmt.Errorf("experiment %q already exists (%s): %w", e.Key, old.Status, data.ErrConflict)
		}
		return e, e.Validate(layers, r.check)
	}, true)
}

// Start starts an experiment; refused when its layer already runs one.
func (r *Registry) Start(key string, now data.Timestamp, ifMatch ...string) (*Experiment, error) {
	var out *Experiment
	err := r.change(key, ifMatch, func(e *Experiment, all []*Experiment, layers []Layer) (*Experiment, error) {
		if err := e.Validate(layers, r.check); err != nil {
			return nil, err
		}
		if err := CheckRunning(e, all); err != nil {
			return nil, err
		}
		out = e
		return e, e.Start(now)
	}, false)
	return out, err
}

// Stop stops a running experiment.
func (r *Registry) Stop(key string, now data.Timestamp, ifMatch ...string) (*Experiment, error) {
	var out *Experiment
	err := r.change(key, ifMatch, func(e *Experiment, _ []*Experiment, _ []Layer) (*Experiment, error) {
		out = e
		return e, e.Stop(now)
	}, false)
	return out, err
}

// Ramp raises an experiment's traffic share.
func (r *Registry) Ramp(key string, traffic float64, now data.Timestamp, ifMatch ...string) (*Experiment, error) {
	var out *Experiment
	err := r.change(key, ifMatch, func(e *Experiment, _ []*Experiment, _ []Layer) (*Experiment, error) {
		out = e
		return e, e.Ramp(traffic, now)
	}, false)
	return out, err
}

// Override forces a unit into an arm for QA (arm "" removes the override;
// the unit stays excluded from analysis when it has been exposed).
func (r *Registry) Override(key, unit, arm string, ifMatch ...string) (*Experiment, error) {
	var out *Experiment
	err := r.change(key, ifMatch, func(e *Experiment, _ []*Experiment, _ []Layer) (*Experiment, error) {
		if unit == "" {
			return nil, fmt.Errorf("experiment %q: override needs a unit id: %w", key, data.ErrInvalid)
		}
		if arm != "" && e.ArmIndex(arm) < 0 {
			return nil, fmt.Errorf("experiment %q: unknown arm %q: %w", key, arm, data.ErrInvalid)
		}
		if e.Overrides == nil {
			e.Overrides = map[string]string{}
		}
		if arm == "" {
			delete(e.Overrides, unit)
		} else {
			e.Overrides[unit] = arm
		}
		out = e
		return e, nil
	}, false)
	return out, err
}

// Update replaces an experiment's definition; refused for a running or
// stopped experiment's arms, unit, layer or salt.
func (r *Registry) Update(e *Experiment, ifMatch ...string) error {
	e.Normalize()
	return r.change(e.Key, ifMatch, func(old *Experiment, _ []*Experiment, layers []Layer) (*Experiment, error) {
		if err := CheckUpdate(old, e); err != nil {
			return nil, err
		}
		e.Status, e.Periods, e.Created = old.Status, old.Periods, old.Created
		if old.Status != Draft {
			e.Traffic = old.Traffic // only Ramp moves a started experiment's traffic
		}
		return e, e.Validate(layers, r.check)
	}, false)
}

// ETag names an experiment's stored state: GET answers it, and a change
// that names it (If-Match) is refused once the experiment has changed.
func ETag(e *Experiment) string {
	b, _ := json.Marshal(e)
	h := sha256.Sum256(b)
	return `"` + hex.EncodeToString(h[:12]) + `"`
}

// change runs fn on the stored experiment key (nil when absent and create
// is set) with every experiment and the layers, inside one store
// transaction, and stores what it returns. ifMatch, when given and not
// empty, must be the experiment's ETag as stored (else data.ErrConflict).
func (r *Registry) change(key string, ifMatch []string, fn func(e *Experiment, all []*Experiment, layers []Layer) (*Experiment, error), create bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	layers, err := r.Layers()
	if err != nil {
		return err
	}
	var ferr error // the rule fn broke, reported as is (not as a store failure)
	err = r.docs.UpdateDocs(kindExperiment, func(docs map[string][]byte) (map[string][]byte, error) {
		all, err := decodeAll(docs)
		if err != nil {
			return nil, err
		}
		var old *Experiment
		for _, e := range all {
			if e.Key == key {
				old = e
			}
		}
		if old == nil && !create {
			ferr = fmt.Errorf("experiment %q: %w", key, data.ErrNotFound)
			return nil, ferr
		}
		for _, m := range ifMatch {
			if m != "" && m != "*" && m != ETag(old) {
				ferr = fmt.Errorf("experiment %q changed since it was read (If-Match %s, now %s): %w", key, m, ETag(old), data.ErrConflict)
				return nil, ferr
			}
		}
		e, err := fn(old, all, layers)
		if err != nil {
			ferr = err
			return nil, err
		}
		b, err := json.Marshal(e)
		return map[string][]byte{key: b}, err
	})
	switch {
	case ferr != nil:
		return ferr
	case err != nil:
		return err
	}
	return r.refresh()
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// MemDocs is an in-memory Docs, for tests and previews that keep nothing.
type MemDocs struct {
	mu    sync.Mutex
	kinds map[string]map[string][]byte
}

// Docs implements Docs.
func (m *MemDocs) Docs(kind string) (map[string][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.kinds[kind]), nil
}

// UpdateDocs implements Docs.
func (m *MemDocs) UpdateDocs(kind string, fn func(map[string][]byte) (map[string][]byte, error)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	changes, err := fn(maps.Clone(m.kinds[kind]))
	if err != nil {
		return err
	}
	if m.kinds == nil {
		m.kinds = map[string]map[string][]byte{}
	}
	if m.kinds[kind] == nil {
		m.kinds[kind] = map[string][]byte{}
	}
	for k, v := range changes {
		if v == nil {
			delete(m.kinds[kind], k)
		} else {
			m.kinds[kind][k] = v
		}
	}
	return nil
}
