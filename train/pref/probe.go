package pref

import (
	"math"
	"math/rand/v2"
	"slices"

	"grouprank/train"
)

// A history whose groups have at most one ordered item each (a group-buying
// log where every initiator's group bought once) cannot ask a group split
// the question a model answers: which item next, given the ones before.
// Holding out a group's only order leaves it with none, so the split asks
// instead which item a group with no order buys, and rewards what knows
// nothing of the group (popularity) against what reads its first order. The
// members' own histories do ask it: a member with two or more orders (joins
// of others' buys, own buys) is probed as a group of one, its remaining
// orders its row, the rest held out.

// ProbesMembers reports whether a split of d probes members rather than
// groups: fewer than ValidationGroups groups, and under a tenth of those that
// ordered, have two or more ordered items (the groups mostly bought once),
// while at least ValidationGroups members have two or more own orders. A
// set whose groups order several items each (the group-recommendation
// benchmarks, however few their groups) keeps the group split.
func ProbesMembers(d *Data) bool {
	if d.Members == nil || d.Members.Rows == 0 {
		return false
	}
	groups, ordered, members := 0, 0, 0
	for g := range d.Groups.Rows {
		switch n := d.Groups.Ptr[g+1] - d.Groups.Ptr[g]; {
		case n >= 2:
			groups++
			ordered++
		case n == 1:
			ordered++
		}
	}
	for m := range d.Members.Rows {
		if d.Members.Ptr[m+1]-d.Members.Ptr[m] >= 2 {
			members++
		}
	}
	return groups < ValidationGroups && 10*groups < ordered && members >= ValidationGroups
}

// MemberHoldOut is the split ProbesMembers asks for: every group and member
// stays in the history, and a seeded sample of the members with two or more
// own orders (at least ValidationGroups, and enough for ValidationTargets
// held-out items) is appended as groups of one (Data.Probes): each probe's
// row is its member's orders but a share held out (at least one, never all,
// chosen by a generator seeded with seed and the member), and the held-out
// orders leave the member's own row and the lists of orders placed in
// groups, so nothing the models learn from holds them. The targets are the
// probes'.
func MemberHoldOut(d *Data, share float64, seed uint64) *Split {
	probed := sampleMembers(d, share, seed)
	groups := d.Groups.Rows
	var pr, pc []int32 // the probes' rows
	var pw []float32
	held := map[[2]int32]bool{} // (member, item)
	var targets [][]int32
	for _, m := range probed {
		cols, ws := d.Members.Row(m)
		rng := rand.New(rand.NewPCG(seed, uint64(m)+0x2545f4914f6cdd1d))
		out := rng.Perm(len(cols))[:memberHeldOut(len(cols), share)]
		var t []int32
		for _, p := range out {
			held[[2]int32{int32(m), cols[p]}] = true
			t = append(t, cols[p])
		}
		slices.Sort(t)
		g := int32(groups + len(targets))
		for k, j := range cols {
			if !held[[2]int32{int32(m), j}] {
				pr, pc, pw = append(pr, g), append(pc, j), append(pw, ws[k])
			}
		}
		targets = append(targets, t)
	}
	rows := groups + len(probed)
	t := *d
	t.Probes = len(probed)
	t.Groups = appendRows(d.Groups, rows, pr, pc, pw)
	var mr, mc []int32
	var mw []float32
	for m := range d.Members.Rows {
		cols, ws := d.Members.Row(m)
		for k, j := range cols {
			if !held[[2]int32{int32(m), j}] {
				mr, mc, mw = append(mr, int32(m)), append(mc, j), append(mw, ws[k])
			}
		}
	}
	t.Members = train.NewInteractions(d.Members.Rows, d.Items, mr, mc, mw)
	if d.Of != nil {
		t.Of = appendRows(d.Of, rows, nil, nil, nil)
	}
	if d.Pushed != nil {
		t.Pushed = appendRows(d.Pushed, rows, nil, nil, nil)
	}
	if d.Placed != nil {
		t.Placed = make([][]Placed, rows)
		for g, ps := range d.Placed {
			for _, p := range ps {
				if !held[[2]int32{p.Member, p.Item}] {
					t.Placed[g] = append(t.Placed[g], p)
				}
			}
		}
	}
	all := make([][]int32, rows)
	copy(all[groups:], targets)
	return &Split{Train: &t, Targets: all}
}

// memberHeldOut is how many of a member's n own orders a split holds out:
// share of them, at least one, never all.
func memberHeldOut(n int, share float64) int {
	return min(max(1, int(math.Round(share*float64(n)))), n-1)
}

// sampleMembers is the members a member split probes, in member order: all
// with two or more own orders, or a seeded sample of them of at least
// ValidationGroups members holding at least ValidationTargets held-out items.
func sampleMembers(d *Data, share float64, seed uint64) []int {
	var eligible []int
	for m := range d.Members.Rows {
		if d.Members.Ptr[m+1]-d.Members.Ptr[m] >= 2 {
			eligible = append(eligible, m)
		}
	}
	shuffle(eligible, seed, 0x6a09e667f3bcc909)
	var keep []int
	targets := 0
	for _, m := range eligible {
		if len(keep) >= ValidationGroups && targets >= ValidationTargets {
			break
		}
		keep = append(keep, m)
		targets += memberHeldOut(int(d.Members.Ptr[m+1]-d.Members.Ptr[m]), share)
	}
	slices.Sort(keep)
	return keep
}

// appendRows is x with rows rows: its own, then the triples given (rows
// numbered from x.Rows on).
func appendRows(x *train.Interactions, rows int, r, c []int32, w []float32) *train.Interactions {
	var xr, xc []int32
	var xw []float32
	for i := range x.Rows {
		cols, ws := x.Row(i)
		for k, j := range cols {
			xr, xc, xw = append(xr, int32(i)), append(xc, j), append(xw, ws[k])
		}
	}
	return train.NewInteractions(rows, x.Cols, append(xr, r...), append(xc, c...), append(xw, w...))
}
