package main

import (
	"sync"

	"grouprank/data/store"
	"grouprank/recommend"
	"grouprank/recommend/service"
)

// otherVersions loads published model versions on demand, once each, for
// experiment arms that name one (batch picks, the simulator); close closes
// their snapshots.
type otherVersions struct {
	root   string
	mu     sync.Mutex
	models map[string]*recommend.Model
	snaps  []*store.Snapshot
}

func newOtherVersions(root string) *otherVersions {
	return &otherVersions{root: root, models: map[string]*recommend.Model{}}
}

func (o *otherVersions) get(v string) (*recommend.Model, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if m, ok := o.models[v]; ok {
		return m, nil
	}
	m, snap, err := service.OpenModel(o.root, v)
	if err != nil {
		return nil, err
	}
	m.Warm()
	o.models[v], o.snaps = m, append(o.snaps, snap)
	return m, nil
}

func (o *otherVersions) close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, s := range o.snaps {
		s.Close()
	}
	o.snaps, o.models = nil, map[string]*recommend.Model{}
}
