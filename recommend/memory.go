package recommend

import (
	"slices"
	"sort"
	"sync"

	"grouprank/data"
	"grouprank/features"
)

// PushMemory remembers every group's pushes of the last week as they are
// reported, for fatigue and the recent-push filter. It is safe for
// concurrent use and independent of snapshots (it holds SKUs, not indices).
type PushMemory struct {
	mu     sync.RWMutex
	groups map[data.GroupID][]timedSKU
	orders map[data.GroupID][]Order
	keep   data.Timestamp
	latest data.Timestamp // the newest push or order heard of
}

// Order is an order the service heard of, for fold-in.
type Order struct {
	SKU      data.SKU
	Quantity int32
	Time     data.Timestamp
}

type timedSKU struct {
	sku data.SKU
	t   data.Timestamp
}

// NewPushMemory keeps a week of pushes per group.
func NewPushMemory() *PushMemory {
	return &PushMemory{groups: map[data.GroupID][]timedSKU{}, orders: map[data.GroupID][]Order{}, keep: 7 * data.Day}
}

// AddOrder records an order (kept 30 days) so the group can be folded in with it.
func (m *PushMemory) AddOrder(g data.GroupID, o Order) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.latest = max(m.latest, o.Time)
	l := append(m.orders[g], o)
	k := 0
	for k < len(l) && o.Time-l[k].Time > 30*data.Day {
		k++
	}
	m.orders[g] = l[k:]
}

// OrdersSince are group g's recorded orders at or after t.
func (m *PushMemory) OrdersSince(g data.GroupID, t data.Timestamp) []Order {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []Order
	for _, o := range m.orders[g] {
		if o.Time >= t {
			out = append(out, o)
		}
	}
	return out
}

// Add records a push; pushes older than a week before the group's newest are forgotten.
func (m *PushMemory) Add(g data.GroupID, sku data.SKU, t data.Timestamp) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.latest = max(m.latest, t)
	l := m.groups[g]
	// in time order, after any push at the same instant (events mostly arrive in order: usually an append)
	at := sort.Search(len(l), func(i int) bool { return l[i].t > t })
	l = slices.Insert(l, at, timedSKU{sku, t})
	newest := l[len(l)-1].t
	k := sort.Search(len(l), func(i int) bool { return newest-l[i].t <= m.keep })
	m.groups[g] = l[k:]
}

// Latest is the time of the newest push or order heard of (UnknownTime: none).
func (m *PushMemory) Latest() data.Timestamp {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.latest
}

// Recent is group g's fatigue at instant now over cat, and the items pushed
// to it within the last within (whoever pushed them).
func (m *PushMemory) Recent(g data.GroupID, now, within data.Timestamp, cat *features.Catalog) (features.Recent, []int32) {
	m.mu.RLock()
	l := m.groups[g]
	m.mu.RUnlock()
	r := features.Recent{Position: 1}
	var pushed []int32
	for k := len(l) - 1; k >= 0; k-- {
		p := l[k]
		if now-p.t > 7*data.Day {
			break
		}
		i, ok := cat.Index[p.sku]
		if !ok || p.t >= now {
			continue
		}
		r.Add(i, cat.L1[i], p.t, now)
		if now-p.t <= within {
			pushed = append(pushed, i)
		}
	}
	return r, pushed
}
