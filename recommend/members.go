package recommend

import (
	"cmp"
	"slices"

	"grouprank/data"
	"grouprank/features"
)

// Members are a preference model's members with orders: each one's row
// (every order they placed, wherever, by item index) and the groups they
// belonged to at training with the orders they placed in each. A group's
// members' row (Group.Members) is the mean, over its members with orders
// outside it, of their rows without the orders placed in it. The snapshot
// holds every group's row as trained; a group whose members joined, left or
// ordered since the snapshot is computed anew from these and the service's
// memory (Model.liveMembers). Members without orders cost nothing: their
// memberships are not kept, so their first orders reach their groups at the
// next training, or once a join names them.
type Members struct {
	Rows map[data.MemberID][]features.Weighted
	In   map[data.MemberID][]MemberOf
	// Credited is the part of each member's row credited from their
	// groups' orders that named no buyer (nil: none): it speaks for their
	// taste, but they did not buy it, so a reason never counts it.
	Credited map[data.MemberID][]features.Weighted
	byGroup  map[data.GroupID][]data.MemberID
}

// MemberOf is one group a member belonged to at training and the orders
// they placed in it (by item index, sorted).
type MemberOf struct {
	Group  data.GroupID
	Placed []features.Weighted
}

// NewMembers indexes rows and memberships (in may be nil: no memberships known).
func NewMembers(rows map[data.MemberID][]features.Weighted, in map[data.MemberID][]MemberOf) *Members {
	ms := &Members{Rows: rows, In: in, byGroup: map[data.GroupID][]data.MemberID{}}
	ids := make([]data.MemberID, 0, len(in))
	for m := range in {
		ids = append(ids, m)
	}
	slices.Sort(ids)
	for _, m := range ids {
		for _, g := range in[m] {
			ms.byGroup[g.Group] = append(ms.byGroup[g.Group], m)
		}
	}
	return ms
}

// Knows reports whether member m had orders at training (a row or a
// membership kept): their orders after the snapshot change their groups'
// members' rows.
func (ms *Members) Knows(m data.MemberID) bool {
	if ms == nil {
		return false
	}
	if _, ok := ms.Rows[m]; ok {
		return true
	}
	_, ok := ms.In[m]
	return ok
}

// GroupMembers are the members of group g the snapshot knows (those with
// orders), and extra (the members a request names), each once, sorted.
func (m *Model) GroupMembers(g data.GroupID, extra []data.MemberID) []data.MemberID {
	if m.Members == nil {
		return nil
	}
	ids := append(slices.Clone(m.Members.byGroup[g]), extra...)
	slices.Sort(ids)
	return slices.Compact(ids)
}

// bought counts the members among ids whose own orders at training
// (wherever placed; not those credited to them) hold item i.
func (ms *Members) bought(ids []data.MemberID, i int32) int {
	if ms == nil {
		return 0
	}
	n := 0
	for _, id := range ids {
		if weightOf(ms.Rows[id], i)-weightOf(ms.Credited[id], i) > 1e-6 {
			n++
		}
	}
	return n
}

// weightOf is item i's weight in a row sorted by item (0: absent).
func weightOf(row []features.Weighted, i int32) float32 {
	if k, ok := slices.BinarySearchFunc(row, i, func(w features.Weighted, i int32) int { return cmp.Compare(w.ID, i) }); ok {
		return row[k].Weight
	}
	return 0
}

// placed is what member m placed in group g at training.
func (ms *Members) placed(m data.MemberID, g data.GroupID) []features.Weighted {
	for _, x := range ms.In[m] {
		if x.Group == g {
			return x.Placed
		}
	}
	return nil
}

// liveMembers is group g's members' row with what the memory heard since
// the snapshot's instant: members who joined or left, and the orders of its
// members since; when the model credits a group's orders that name no
// buyer to its members (Preference.Credit), such orders since in the other
// groups each member belonged to, while a member (at training, or joined
// since; a leave heard before the order drops it). ok is false when nothing
// changed (the snapshot's row holds).
// extra are members the request names (a group new to the snapshot); mem
// may be nil (nothing heard).
func (m *Model) liveMembers(g data.GroupID, extra []data.MemberID, mem *PushMemory) (row []features.Weighted, ok bool) {
	ms, f := m.Members, m.fold
	if ms == nil || f == nil || f.pref == nil {
		return nil, false
	}
	credit := f.pref.Credit
	if mem != nil && !mem.membersChanged(g, ms, extra, f.since, credit) {
		mem = nil // nothing heard changes the row
	}
	if mem == nil && len(extra) == 0 { // the common case: the snapshot's row holds
		return nil, false
	}
	set := map[data.MemberID]bool{}
	for _, id := range ms.byGroup[g] {
		set[id] = true
	}
	for _, id := range extra {
		set[id] = true
	}
	var changes []MembershipChange
	if mem != nil {
		changes = mem.MembershipSince(g, f.since)
	}
	for _, c := range changes {
		set[c.Member] = c.Join
	}
	ids := make([]data.MemberID, 0, len(set))
	for id, in := range set {
		if in {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	buys := make([][]MemberOrder, len(ids))
	changed := len(changes) > 0 || len(extra) > 0
	for k, id := range ids {
		if mem != nil {
			buys[k] = mem.BuysSince(id, f.since)
			if credit {
				buys[k] = append(buys[k], ms.creditedSince(id, g, f.since, mem)...)
			}
		}
		changed = changed || len(buys[k]) > 0
	}
	if !changed {
		return nil, false
	}
	cat := m.Ranker.Scorer.in.Cat
	sum := map[int32]float32{}
	n := 0
	for k, id := range ids {
		w := map[int32]float32{}
		for _, x := range ms.Rows[id] {
			w[x.ID] += x.Weight
		}
		for _, x := range ms.placed(id, g) {
			w[x.ID] -= x.Weight
		}
		for _, o := range buys[k] {
			i, known := cat.Index[o.SKU]
			if !known {
				continue
			}
			x := float32(1)
			if f.pref.Units {
				x = float32(o.Quantity)
			}
			if o.Group == g && g != data.NoGroup { // the group's own row holds it
				continue
			}
			w[i] += x
		}
		kept := false
		for i, x := range w {
			if x > 1e-6 {
				sum[i] += x
				kept = true
			}
		}
		if kept {
			n++
		}
	}
	row = make([]features.Weighted, 0, len(sum))
	for i, x := range sum {
		row = append(row, features.Weighted{ID: i, Weight: x / float32(n)})
	}
	slices.SortFunc(row, func(a, b features.Weighted) int { return int(a.ID) - int(b.ID) })
	return row, true
}

// creditedSince are the orders naming no buyer heard since t in the groups
// other than g that member id belonged to (at training, or joined since),
// each while id was a member: a member at training until a leave heard
// before the order, a member who joined from the join on. They are what a
// model that credits such orders adds to id's row since the snapshot.
func (ms *Members) creditedSince(id data.MemberID, g data.GroupID, t data.Timestamp, mem *PushMemory) []MemberOrder {
	var out []MemberOrder
	atTraining := map[data.GroupID]bool{}
	var groups []data.GroupID
	for _, in := range ms.In[id] {
		atTraining[in.Group] = true
		groups = append(groups, in.Group)
	}
	for _, h := range mem.GroupsJoined(id) {
		if !atTraining[h] {
			groups = append(groups, h)
		}
	}
	for _, h := range groups {
		if h == g {
			continue
		}
		var mine []MembershipChange // id's joins and leaves of h since t, in time order
		for _, c := range mem.MembershipSince(h, t) {
			if c.Member == id {
				mine = append(mine, c)
			}
		}
		for _, o := range mem.OrdersSince(h, t) {
			if !o.Unnamed {
				continue
			}
			member := atTraining[h]
			for _, c := range mine {
				if c.Time <= o.Time {
					member = c.Join
				}
			}
			if member {
				out = append(out, MemberOrder{Group: h, Order: o})
			}
		}
	}
	return out
}
