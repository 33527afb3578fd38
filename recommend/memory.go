package recommend

import (
	"slices"
	"sort"
	"sync"
	"sync/atomic"

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
	// buys are the orders of known buyers (in a group or their own), by
	// buyer, and joins the membership changes, by group: a preference
	// model's members' rows fold them in. Both are kept OrderDays.
	buys   map[data.MemberID][]MemberOrder
	joins  map[data.GroupID][]MembershipChange
	joined map[data.MemberID]data.Timestamp // members who joined a group: when they last did
	// groupsJoined are the groups each member joined, by the changes joins keeps.
	groupsJoined map[data.MemberID][]data.GroupID
	keep         data.Timestamp
	latest       data.Timestamp // the newest push or order heard of
	// buyers says whose orders buys keeps (nil: everyone's); members who
	// joined a group within OrderDays are kept whatever it says.
	buyers atomic.Pointer[func(data.MemberID) bool]
	// unnamedAt is, per group whose kept orders hold one that names no
	// buyer (a model that credits them to the group's members reads them in
	// its members' rows), the newest such order's time heard (a bound: it
	// stays when the order is dropped, until a sweep).
	unnamedAt map[data.GroupID]data.Timestamp
}

// MemberOrder is an order of a known buyer: placed in Group, or their own
// (data.NoGroup).
type MemberOrder struct {
	Group data.GroupID
	Order
}

// MembershipChange is a member joining (Join) or leaving a group.
type MembershipChange struct {
	Member data.MemberID
	Join   bool
	Time   data.Timestamp
}

// Order is an order the service heard of, for fold-in. Unnamed marks an
// order placed in a group that names no buyer.
type Order struct {
	SKU      data.SKU
	Quantity int32
	Time     data.Timestamp
	Unnamed  bool
}

type timedSKU struct {
	sku data.SKU
	t   data.Timestamp
}

// NewPushMemory keeps a week of pushes per group.
func NewPushMemory() *PushMemory {
	return &PushMemory{groups: map[data.GroupID][]timedSKU{}, orders: map[data.GroupID][]Order{},
		buys: map[data.MemberID][]MemberOrder{}, joins: map[data.GroupID][]MembershipChange{}, joined: map[data.MemberID]data.Timestamp{},
		groupsJoined: map[data.MemberID][]data.GroupID{}, unnamedAt: map[data.GroupID]data.Timestamp{},
		keep: 7 * data.Day}
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
	if o.Unnamed {
		m.unnamedAt[g] = max(m.unnamedAt[g], o.Time)
	}
	m.orders[g] = l[k:]
}

// indexUnnamed rebuilds unnamedAt from the orders kept (after a sweep, a
// decode or a clone).
func (m *PushMemory) indexUnnamed() {
	m.unnamedAt = map[data.GroupID]data.Timestamp{}
	for g, l := range m.orders {
		for _, o := range l {
			if o.Unnamed {
				m.unnamedAt[g] = max(m.unnamedAt[g], o.Time)
			}
		}
	}
}

// KeepBuyers sets whose orders the memory keeps by buyer (nil: everyone's).
// The service keeps those of the members its model knows, whose orders
// change their groups' members' rows; others would cost memory and change
// nothing (members who joined a group are kept too).
func (m *PushMemory) KeepBuyers(keep func(data.MemberID) bool) {
	if keep == nil {
		m.buyers.Store(nil)
		return
	}
	m.buyers.Store(&keep)
}

// AddMemberOrder records an order of a known buyer (kept OrderDays, the
// buyer's newest MaxGroupOrders), unless KeepBuyers leaves the buyer out.
func (m *PushMemory) AddMemberOrder(b data.MemberID, o MemberOrder) {
	keep := m.buyers.Load()
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, joined := m.joined[b]; keep != nil && !joined && !(*keep)(b) {
		return
	}
	m.latest = max(m.latest, o.Time)
	m.buys[b] = keepRecent(append(m.buys[b], o), o.Time, func(x MemberOrder) data.Timestamp { return x.Time })
}

// AddMembership records a member joining or leaving group g (kept
// OrderDays, the group's newest MaxGroupOrders changes), in time order.
func (m *PushMemory) AddMembership(g data.GroupID, c MembershipChange) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.latest = max(m.latest, c.Time)
	l := m.joins[g]
	at := sort.Search(len(l), func(i int) bool { return l[i].Time > c.Time })
	l = slices.Insert(l, at, c)
	m.joins[g] = keepRecent(l, l[len(l)-1].Time, func(x MembershipChange) data.Timestamp { return x.Time })
	if c.Join {
		m.joined[c.Member] = max(m.joined[c.Member], c.Time)
		if !slices.Contains(m.groupsJoined[c.Member], g) {
			m.groupsJoined[c.Member] = append(m.groupsJoined[c.Member], g)
		}
	}
}

// indexJoined rebuilds groupsJoined from the changes joins keeps (after a
// sweep, a decode or a clone), each member's groups in id order.
func (m *PushMemory) indexJoined() {
	m.groupsJoined = map[data.MemberID][]data.GroupID{}
	gs := make([]data.GroupID, 0, len(m.joins))
	for g := range m.joins {
		gs = append(gs, g)
	}
	slices.Sort(gs)
	for _, g := range gs {
		for _, c := range m.joins[g] {
			if c.Join && !slices.Contains(m.groupsJoined[c.Member], g) {
				m.groupsJoined[c.Member] = append(m.groupsJoined[c.Member], g)
			}
		}
	}
}

// GroupsJoined are the groups member b joined that the memory still knows of.
func (m *PushMemory) GroupsJoined(b data.MemberID) []data.GroupID {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return slices.Clone(m.groupsJoined[b])
}

// keepRecent drops from l (oldest first) what is more than OrderDays older
// than newest, and all but the newest MaxGroupOrders.
func keepRecent[T any](l []T, newest data.Timestamp, at func(T) data.Timestamp) []T {
	k := max(0, len(l)-MaxGroupOrders)
	for k < len(l) && newest-at(l[k]) > OrderDays*data.Day {
		k++
	}
	return l[k:]
}

// membersChanged reports whether the memory heard, at or after t, what
// changes group g's members' row: a join or leave of g; an order of one of
// ids (g's members, ms.byGroup, and those a request names, extra); when
// credit is set, a group order naming no buyer in another group one of them
// belonged to at training (ms) or joined. False: the snapshot's row holds.
// It copies and allocates nothing, so a request for a group nothing
// changed costs a few map lookups per member however much is heard
// elsewhere.
func (m *PushMemory) membersChanged(g data.GroupID, ms *Members, extra []data.MemberID, t data.Timestamp, credit bool) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(m.buys) == 0 && len(m.joins) == 0 && (!credit || len(m.unnamedAt) == 0) {
		return false
	}
	for _, c := range m.joins[g] {
		if c.Time >= t {
			return true
		}
	}
	changed := func(id data.MemberID) bool {
		for _, o := range m.buys[id] {
			if o.Time >= t {
				return true
			}
		}
		if !credit {
			return false
		}
		for _, in := range ms.In[id] {
			if at, ok := m.unnamedAt[in.Group]; ok && in.Group != g && at >= t {
				return true
			}
		}
		for _, h := range m.groupsJoined[id] {
			if at, ok := m.unnamedAt[h]; ok && h != g && at >= t {
				return true
			}
		}
		return false
	}
	for _, id := range ms.byGroup[g] {
		if changed(id) {
			return true
		}
	}
	for _, id := range extra {
		if changed(id) {
			return true
		}
	}
	return false
}

// BuysSince are member b's recorded orders at or after t.
func (m *PushMemory) BuysSince(b data.MemberID, t data.Timestamp) []MemberOrder {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return since(m.buys[b], t, func(x MemberOrder) data.Timestamp { return x.Time })
}

// MembershipSince are group g's recorded joins and leaves at or after t, in time order.
func (m *PushMemory) MembershipSince(g data.GroupID, t data.Timestamp) []MembershipChange {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return since(m.joins[g], t, func(x MembershipChange) data.Timestamp { return x.Time })
}

// since are the entries of l at or after t.
func since[T any](l []T, t data.Timestamp, at func(T) data.Timestamp) []T {
	var out []T
	for _, x := range l {
		if at(x) >= t {
			out = append(out, x)
		}
	}
	return out
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
	orders := sweepOld(m.orders, now, func(x Order) data.Timestamp { return x.Time })
	m.groups, m.orders = groups, orders
	m.indexUnnamed()
	m.buys = sweepOld(m.buys, now, func(x MemberOrder) data.Timestamp { return x.Time })
	m.joins = sweepOld(m.joins, now, func(x MembershipChange) data.Timestamp { return x.Time })
	joined := make(map[data.MemberID]data.Timestamp, len(m.joined))
	for u, t := range m.joined {
		if now-t <= OrderDays*data.Day {
			joined[u] = t
		}
	}
	m.joined = joined
	m.indexJoined()
	return len(groups) + len(orders) + len(m.buys) + len(m.joins)
}

// sweepOld is lists without their entries more than OrderDays before now
// (lists oldest first), in a fresh map.
func sweepOld[K comparable, T any](lists map[K][]T, now data.Timestamp, at func(T) data.Timestamp) map[K][]T {
	out := make(map[K][]T, len(lists))
	for key, l := range lists {
		k := 0
		for k < len(l) && now-at(l[k]) > OrderDays*data.Day {
			k++
		}
		switch {
		case k == len(l):
		case k > 0:
			out[key] = slices.Clone(l[k:])
		default:
			out[key] = l
		}
	}
	return out
}

// OrdersSince are group g's recorded orders at or after t.
func (m *PushMemory) OrdersSince(g data.GroupID, t data.Timestamp) []Order {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return since(m.orders[g], t, func(x Order) data.Timestamp { return x.Time })
}

// Hear records what an event tells the memory: a push; a group's order
// (a member's own order, outside any group, is no group's activity;
// Unnamed when it names no buyer); an order's buyer's purchase, wherever
// placed; a member joining or leaving.
func (m *PushMemory) Hear(e *data.Event) {
	switch {
	case e.Kind == data.EventPush:
		m.Add(e.Group, e.SKU, e.Time)
	case e.Kind.Membership():
		m.AddMembership(e.Group, MembershipChange{Member: e.Buyer, Join: e.Kind == data.EventJoin, Time: e.Time})
	case e.Kind == data.EventOrder:
		o := Order{SKU: e.SKU, Quantity: e.Quantity, Time: e.Time}
		if e.Group != data.NoGroup {
			m.AddOrder(e.Group, Order{SKU: e.SKU, Quantity: e.Quantity, Time: e.Time, Unnamed: e.Buyer == data.UnknownMember})
		}
		if e.Buyer != data.UnknownMember {
			m.AddMemberOrder(e.Buyer, MemberOrder{Group: e.Group, Order: o})
		}
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
