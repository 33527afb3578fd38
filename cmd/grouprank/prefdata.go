package main

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"

	"grouprank/features"
	"grouprank/recommend"

	"grouprank/data"
	"grouprank/train"
	"grouprank/train/pref"
)

// prefWorld is a world's orders as the preference models' matrices, with
// the maps between the world's ids and the matrices' indexes.
type prefWorld struct {
	w       *world
	data    *pref.Data
	groups  []data.GroupID // index -> id
	items   []data.SKU
	groupAt map[data.GroupID]int32
	itemAt  map[data.SKU]int32
	members []data.MemberID // member index -> id
	// buyerAt indexes members: those who placed an order and those who
	// belong to a group with an order that names no buyer (credited it),
	// the only ones the matrices hold; a split of the history reuses it and
	// the memberships.
	buyerAt map[data.MemberID]int32
	// unnamed marks the groups with a placed order that names no buyer:
	// their members are credited it (matrices).
	unnamed []bool
	// upTo, when not 0, is the instant the history of a split ends at: p
	// holds w's orders and pushes before it only.
	upTo data.Timestamp
	// orders and pushes are w's placed orders and its pushes as the
	// matrices read them, in w's order (the groups' orders, then the
	// members' own), a split sharing them: a third of the rows' size, so
	// that a training can let the rows go before the matrices are built.
	orders []prefOrder
	pushes []prefPush
	// unknownPushes are the pushes (by index in pushes) for a SKU the
	// items do not hold, an error once one is read (normally none).
	unknownPushes map[int]data.Push
}

// prefOrder is a placed order: when, its group's index (-1: a member's own
// order), its buyer's (-1: unknown), its item's and its weight.
type prefOrder struct {
	time         data.Timestamp
	group, buyer int32
	item         int32
	units        float32
}

// prefPush is a push: when, its group's index (-1: a group not indexed),
// its item's (-1: unknown), and the time of the earliest order (placed or
// refunded) that carried it (notCarried: none).
type prefPush struct {
	time, carried data.Timestamp
	group, item   int32
}

const notCarried = data.Timestamp(math.MaxInt64)

// end is the instant p's history ends at: upTo, or after every order.
func (p *prefWorld) end() data.Timestamp {
	if p.upTo != 0 {
		return p.upTo
	}
	return math.MaxInt64
}

// newPrefWorld builds the matrices from every placed order (cancelled and
// refunded ones left out), each weighing its units (countAs makes every
// order one unit), and from the pushes no order carried; items and groups
// are indexed in the order the world lists them.
func newPrefWorld(w *world) (*prefWorld, error) { return newPrefWorldIn(w, nil, nil, nil) }

// newPrefWorldFreeing is newPrefWorld letting w's order and push rows go
// once read (w keeps its ids, times and directory): eval and tune read only
// the preference data after, which hold the rows in a third of their size.
func newPrefWorldFreeing(w *world) (*prefWorld, error) {
	return newPrefWorldIn(w, nil, nil, func() { w.orders, w.own, w.pushes = nil, nil, nil })
}

// newPrefWorldIn is newPrefWorld with items and groups indexed in the given
// orders (nil: the world's). release, when not nil, is called once the
// orders and pushes are read from w's rows, before the matrices are built
// (to let the rows go).
func newPrefWorldIn(w *world, items []data.SKU, groups []data.GroupID, release func()) (*prefWorld, error) {
	p := &prefWorld{w: w, groupAt: map[data.GroupID]int32{}, itemAt: map[data.SKU]int32{}}
	if items == nil {
		for _, c := range w.changes {
			items = append(items, c.Product.SKU)
		}
	}
	for _, sku := range items {
		if _, ok := p.itemAt[sku]; !ok {
			p.itemAt[sku] = int32(len(p.items))
			p.items = append(p.items, sku)
		}
	}
	if groups == nil {
		for _, g := range w.groups {
			groups = append(groups, g.ID)
		}
	}
	for _, g := range groups {
		p.groupAt[g] = int32(len(p.groups))
		p.groups = append(p.groups, g)
	}
	// The members are those who placed an order, indexed in the order their
	// orders come, then the members of groups with an order that names no
	// buyer (credited it), in the memberships' order. Any other member has
	// nothing a model reads (no row of their own, nothing in a group's
	// consensus, which is the mean of its members' rows with orders), so
	// their memberships are checked and passed over: at 100k groups they
	// are most of the 13M memberships.
	p.buyerAt = map[data.MemberID]int32{}
	if err := p.events(w); err != nil {
		return nil, err
	}
	if release != nil {
		release()
	}
	var or, oc []int32
	var ow []float32
	err := w.eachMember(func(m *data.Membership) error {
		if m.Left != data.UnknownTime { // a member who left is no part of the group's consensus
			return nil
		}
		g, ok := p.groupAt[m.Group]
		if !ok {
			return fmt.Errorf("%s: member %d belongs to group %d, which is not in the groups table", w.dir, m.Member, m.Group)
		}
		k, ok := p.buyerAt[m.Member]
		if !ok && p.unnamed[g] {
			k, ok = int32(len(p.members)), true
			p.buyerAt[m.Member] = k
			p.members = append(p.members, m.Member)
		}
		if ok {
			or, oc, ow = append(or, g), append(oc, k), append(ow, 1)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	of := train.NewInteractions(len(p.groups), len(p.members), or, oc, ow)
	// A membership listed twice counts once.
	for k := range of.W {
		of.W[k] = 1
	}
	if p.data, err = p.matrices(notCarried, of); err != nil { // the whole history
		return nil, err
	}
	return p, p.data.Check()
}

// events reads w's placed orders and its pushes into p.orders and
// p.pushes, indexing the buyers as they come.
func (p *prefWorld) events(w *world) error {
	n := 0
	for _, os := range [][]data.Order{w.orders, w.own} {
		for k := range os {
			if os[k].Status == data.StatusPlaced {
				n++
			}
		}
	}
	p.orders = make([]prefOrder, 0, n)
	p.unnamed = make([]bool, len(p.groups))
	for _, os := range [][]data.Order{w.orders, w.own} {
		for k := range os {
			o := &os[k]
			if o.Status != data.StatusPlaced {
				continue
			}
			i, ok := p.itemAt[o.SKU]
			if !ok {
				return fmt.Errorf("%s: order %d is for sku %d, which is not in the catalogue", w.dir, o.ID, o.SKU)
			}
			x := prefOrder{time: o.Time, group: -1, buyer: -1, item: i, units: float32(o.Quantity)}
			if g, ok := p.groupAt[o.Group]; ok {
				x.group = g
				p.unnamed[g] = p.unnamed[g] || o.Buyer <= 0
			}
			if o.Buyer > 0 {
				m, ok := p.buyerAt[o.Buyer]
				if !ok {
					m = int32(len(p.members))
					p.buyerAt[o.Buyer] = m
					p.members = append(p.members, o.Buyer)
				}
				x.buyer = m
			}
			p.orders = append(p.orders, x)
		}
	}
	// When each push was first carried: the earliest order (not cancelled)
	// naming it, by a binary search among the carrying orders sorted by
	// push (a map of them took several times the space).
	type carry struct {
		push data.PushID
		at   data.Timestamp
	}
	var carries []carry
	for k := range w.orders {
		if o := &w.orders[k]; o.Push != data.NoPush && o.Status != data.StatusCancelled {
			carries = append(carries, carry{o.Push, o.Time})
		}
	}
	slices.SortFunc(carries, func(a, b carry) int { return cmp.Or(cmp.Compare(a.push, b.push), cmp.Compare(a.at, b.at)) })
	carries = slices.CompactFunc(carries, func(a, b carry) bool { return a.push == b.push }) // the earliest of each
	p.pushes = make([]prefPush, len(w.pushes))
	for k := range w.pushes {
		q := &w.pushes[k]
		x := prefPush{time: q.Time, carried: notCarried, group: -1, item: -1}
		if c, ok := slices.BinarySearchFunc(carries, q.ID, func(c carry, id data.PushID) int { return cmp.Compare(c.push, id) }); ok {
			x.carried = carries[c].at
		}
		if i, ok := p.itemAt[q.SKU]; ok {
			x.item = i
		} else {
			if p.unknownPushes == nil {
				p.unknownPushes = map[int]data.Push{}
			}
			p.unknownPushes[k] = *q
		}
		if g, ok := p.groupAt[q.Group]; ok {
			x.group = g
		}
		p.pushes[k] = x
	}
	return nil
}

// matrices are the preference data of p's placed orders and uncarried
// pushes before upTo, with p's indexes and the memberships of.
func (p *prefWorld) matrices(upTo data.Timestamp, of *train.Interactions) (*pref.Data, error) {
	// The rows' slices are sized by a first pass: at 1M groups they hold
	// tens of millions of entries, and growing them by appending left up to
	// half of them unused.
	nGroup, nMember := 0, 0
	for k := range p.orders {
		if o := &p.orders[k]; o.time < upTo {
			if o.group >= 0 {
				nGroup++
			}
			switch {
			case o.buyer >= 0:
				nMember++
			case o.group >= 0 && of != nil:
				nMember += int(of.Ptr[o.group+1] - of.Ptr[o.group])
			}
		}
	}
	gr, gc, gw := make([]int32, 0, nGroup), make([]int32, 0, nGroup), make([]float32, 0, nGroup)
	mr, mc, mw := make([]int32, 0, nMember), make([]int32, 0, nMember), make([]float32, 0, nMember)
	placed := make([][]pref.Placed, len(p.groups))
	// A placed order goes in its group's row (a member's own order has
	// none) and in its buyer's row, when the buyer is known; an order placed
	// in a group that names no buyer is credited to each of the group's
	// members (as when a benchmark lists a group's choices and its members
	// but not who chose): it is evidence of their taste for the other
	// groups they belong to, and of the taste of a new group of theirs,
	// and, placed in the group, never part of the group's own consensus.
	for k := range p.orders {
		o := &p.orders[k]
		if o.time >= upTo {
			continue
		}
		if o.group >= 0 {
			gr, gc, gw = append(gr, o.group), append(gc, o.item), append(gw, o.units)
		}
		switch {
		case o.buyer >= 0:
			mr, mc, mw = append(mr, o.buyer), append(mc, o.item), append(mw, o.units)
			if o.group >= 0 {
				placed[o.group] = append(placed[o.group], pref.Placed{Member: o.buyer, Item: o.item, Weight: o.units})
			}
		case o.group >= 0 && of != nil:
			ms, _ := of.Row(int(o.group))
			for _, m := range ms {
				mr, mc, mw = append(mr, m), append(mc, o.item), append(mw, o.units)
				placed[o.group] = append(placed[o.group], pref.Placed{Member: m, Item: o.item, Weight: o.units, Credited: true})
			}
		}
	}
	pushed, err := p.uncarriedPushes(upTo)
	if err != nil {
		return nil, err
	}
	I, G, M := len(p.items), len(p.groups), len(p.members)
	return &pref.Data{Items: I,
		Groups:  train.NewInteractions(G, I, gr, gc, gw),
		Members: train.NewInteractions(M, I, mr, mc, mw),
		Of:      of, Placed: placed,
		Pushed: pushed}, nil
}

// uncarriedPushes is groups x items: the pushes of p before upTo that no
// order before it carried (no placed or refunded order names them), each
// the promoter's choice the group did not take up, a weak signal a model
// may read (pref.Config.PushWeight).
func (p *prefWorld) uncarriedPushes(upTo data.Timestamp) (*train.Interactions, error) {
	var pr, pc []int32
	var pw []float32
	for k := range p.pushes {
		q := &p.pushes[k]
		if (q.carried != notCarried && q.carried < upTo) || q.time >= upTo {
			continue
		}
		if q.item < 0 {
			u := p.unknownPushes[k]
			return nil, fmt.Errorf("%s: push %d is for sku %d, which is not in the catalogue", p.w.dir, u.ID, u.SKU)
		}
		if q.group >= 0 {
			pr, pc, pw = append(pr, q.group), append(pc, q.item), append(pw, 1)
		}
	}
	return train.NewInteractions(len(p.groups), len(p.items), pr, pc, pw), nil
}

// groupName and itemName are the user's own ids of a matrix index.
func (p *prefWorld) groupName(g int32) string {
	return p.w.ids.Name(data.IDGroup, int64(p.groups[g]))
}

func (p *prefWorld) itemName(i int32) string { return p.w.ids.Name(data.IDSKU, int64(p.items[i])) }

// groupIndex and itemIndex resolve the user's own ids.
func (p *prefWorld) groupIndex(name string) (int32, bool) {
	id, ok := p.w.ids.Resolve(data.IDGroup, name)
	if !ok {
		return 0, false
	}
	g, ok := p.groupAt[data.GroupID(id)]
	return g, ok
}

func (p *prefWorld) itemIndex(name string) (int32, bool) {
	id, ok := p.w.ids.Resolve(data.IDSKU, name)
	if !ok {
		return 0, false
	}
	i, ok := p.itemAt[data.SKU(id)]
	return i, ok
}

// writeMembers writes members.bin of the members with orders, as the
// service keeps them (train.EncodeMembers' layout): each one's row and the
// groups they belong to, with what they placed in each (members without
// orders are left out). It is written member by member from the
// preference data, without the service's maps of every member or the
// file's bytes in memory (at 1M groups the maps were the largest thing
// training held, and the file 1.3 GB).
func (p *prefWorld) writeMembers(w io.Writer) error {
	d := p.data
	var order []int32 // the members with orders, in id order
	for m := range d.Members.Rows {
		if cols, _ := d.Members.Row(m); len(cols) > 0 {
			order = append(order, int32(m))
		}
	}
	slices.SortFunc(order, func(a, b int32) int { return cmp.Compare(p.members[a], p.members[b]) })
	groupsOf := d.Of.Transpose() // members x groups: each member's groups in index order
	if _, err := w.Write(train.NewMembersFile()); err != nil {
		return err
	}
	var in []recommend.MemberOf
	var b []byte
	for _, m := range order {
		gs, _ := groupsOf.Row(int(m))
		in = in[:0]
		var ccols []int32 // the orders credited to m, in any of their groups
		var cws []float32
		for _, g := range gs {
			var cols []int32
			var ws []float32
			for _, x := range d.Placed[g] {
				if x.Member == m {
					cols, ws = append(cols, x.Item), append(ws, x.Weight)
					if x.Credited {
						ccols, cws = append(ccols, x.Item), append(cws, x.Weight)
					}
				}
			}
			in = append(in, recommend.MemberOf{Group: p.groups[g], Placed: sortedRow(d.Items, cols, ws)})
		}
		cols, ws := d.Members.Row(int(m))
		b = train.AppendMember(b[:0], p.members[m], weightedRow(cols, ws), sortedRow(d.Items, ccols, cws), in)
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// sortedRow is the row of items cols weighing ws, sorted by item with
// duplicates summed.
func sortedRow(items int, cols []int32, ws []float32) []features.Weighted {
	pl := train.NewInteractions(1, items, make([]int32, len(cols)), cols, ws)
	c, w := pl.Row(0)
	return weightedRow(c, w)
}

// weightedRow pairs a sparse row's columns and weights.
func weightedRow(cols []int32, ws []float32) []features.Weighted {
	out := make([]features.Weighted, len(cols))
	for k, c := range cols {
		out[k] = features.Weighted{ID: c, Weight: ws[k]}
	}
	return out
}
