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

// Bounds of what PushMemory keeps: pushes of the last week (fatigue, the
// recent-push filter), orders of the last OrderDays (fold-in and activity),
// at most MaxGroupOrders of them per group.
const (
	OrderDays      = 30
	MaxGroupOrders = 256
)

// AddOrder records an order (kept OrderDays, the group's newest
// MaxGroupOrders) so the group can be folded in with it.
func (m *PushMemory) AddOrder(g data.GroupID, o Order) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.latest = max(m.latest, o.Time)
	l := append(m.orders[g], o)
	k := max(0, len(l)-MaxGroupOrders)
	for k < len(l) && o.Time-l[k].Time > OrderDays*data.Day {
		k++
	}
	m.orders[g] = l[k:]
}

// Sweep forgets what no request can read any more as of now: pushes more
// than a week old and orders older than OrderDays, and the groups left with
// neither. Add and AddOrder prune only the group they touch, so a group that
// falls silent would otherwise be kept for ever; the service sweeps
// periodically, which bounds the memory by the traffic of a week (pushes)
// and OrderDays (orders). It reports how many groups remain.
func (m *PushMemory) Sweep(now data.Timestamp) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	// fresh maps: a Go map never gives back the room of deleted entries
	groups := make(map[data.GroupID][]timedSKU, len(m.groups))
	for g, l := range m.groups {
		k := sort.Search(len(l), func(i int) bool { return now-l[i].t <= m.keep })
		switch {
		case k == len(l):
		case k > 0:
			groups[g] = slices.Clone(l[k:]) // release the old backing array
		default:
			groups[g] = l
		}
	}
	orders := make(map[data.GroupID][]Order, len(m.orders))
	for g, l := range m.orders {
		k := 0
		for k < len(l) && now-l[k].Time > OrderDays*data.Day {
			k++
		}
		switch {
		case k == len(l):
		case k > 0:
			orders[g] = slices.Clone(l[k:])
		default:
			orders[g] = l
		}
	}
	m.groups, m.orders = groups, orders
	return len(groups) + len(orders)
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

// Hear records what an event tells the memory: a push, or a group's order
// (a member's own order, outside any group, is no group's activity).
func (m *PushMemory) Hear(e *data.Event) {
	switch {
	case e.Kind == data.EventPush:
		m.Add(e.Group, e.SKU, e.Time)
	case e.Kind == data.EventOrder && e.Group != data.NoGroup:
		m.AddOrder(e.Group, Order{SKU: e.SKU, Quantity: e.Quantity, Time: e.Time})
	}
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
