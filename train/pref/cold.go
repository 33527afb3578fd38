package pref

import (
	"context"
	"math/rand/v2"
	"slices"

	"grouprank/train"
)

// A group with no order of its own (a new group, or one a benchmark holds
// out whole) can be ranked by its members' orders elsewhere or by
// popularity. A model whose consensus is above 0 reads its members for
// every group; one chosen with consensus 0 (its groups' own rows predict
// better on their own) may still read them for a group with none
// (Config.ColdMembers). The group split cannot say which is better, since
// it never empties a group's history, so a cold split asks it: a seeded
// sample of the groups whose members ordered elsewhere is held out whole.

// ColdHoldOut cuts the cold split from d: a seeded sample of one in
// ColdEvery of the groups that ordered and have a member with orders
// outside the group (at most ValidationGroups; the others keep their
// histories, which their members' rows are), each with every ordered item
// held out: its orders and pushes leave the history, and so do the orders
// placed in it by its members or credited to them, and a buyer known to it
// only through them. The targets are those items. A member split's probes
// are never held out. It holds no group when no group's members ordered
// elsewhere.
func ColdHoldOut(d *Data, seed uint64) *Split {
	rows := d.Groups.Rows
	targets := make([][]int32, rows)
	if !d.hasMembers() {
		return &Split{Train: d, Targets: targets}
	}
	order := make([]int, 0, rows-d.Probes)
	for g := range rows - d.Probes {
		if d.Groups.Ptr[g+1] > d.Groups.Ptr[g] {
			order = append(order, g)
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x3c6ef372fe94f82b))
	rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
	held, eligible := 0, 0
	for _, g := range order {
		if held == ValidationGroups {
			break
		}
		if c, _ := d.MembersRow(int32(g)); len(c) == 0 {
			continue
		}
		if eligible++; (eligible-1)%ColdEvery != 0 {
			continue
		}
		cols, _ := d.Groups.Row(g)
		targets[g] = slices.Clone(cols)
		held++
	}
	if held == 0 {
		return &Split{Train: d, Targets: targets}
	}
	t := *d
	t.Groups = withoutRows(d.Groups, targets)
	if d.Pushed != nil {
		t.Pushed = withoutRows(d.Pushed, targets)
	}
	t.Members, t.Placed = withoutHeld(d, targets)
	t.Of = knownMembers(d, t.Placed, targets)
	return &Split{Train: &t, Targets: targets}
}

// ColdEvery: the cold split holds out one in ColdEvery of the groups it
// may hold out, as the group split holds out a fifth of a group's items.
const ColdEvery = 5

// withoutRows is m without the rows of the groups with targets.
func withoutRows(m *train.Interactions, targets [][]int32) *train.Interactions {
	var r, c []int32
	var w []float32
	for g := range m.Rows {
		if g < len(targets) && len(targets[g]) > 0 {
			continue
		}
		cols, ws := m.Row(g)
		for k, j := range cols {
			r, c, w = append(r, int32(g)), append(c, j), append(w, ws[k])
		}
	}
	return train.NewInteractions(m.Rows, m.Cols, r, c, w)
}

// ColdCheck is a method's NDCG@10 on the cold split (ColdHoldOut) reading
// the members of a group with no own row (With) and ranking it by
// popularity (Without); the two are the same when its consensus already
// reads them.
type ColdCheck struct {
	Groups  int     `json:"groups"`
	With    float64 `json:"ndcg10_with_members"`
	Without float64 `json:"ndcg10_without_members"`
}

// Best is the better of the two.
func (c *ColdCheck) Best() float64 { return max(c.With, c.Without) }

// checkCold scores s's best setting on the cold split both ways and sets
// its ColdMembers when reading the members ranks better there.
func checkCold(ctx context.Context, cold *Split, s *Search, seed uint64, workers int) error {
	if s.Best == nil || s.Cold != nil {
		return nil
	}
	score := func(c Config) (float64, error) {
		m, err := Fit(ctx, cold.Train, c, seed, workers)
		if err != nil {
			return 0, err
		}
		return NDCG(ctx, m, cold, 10, workers)
	}
	on, off := *s.Best, *s.Best
	on.ColdMembers, off.ColdMembers = true, false
	with, err := score(on)
	if err != nil {
		return err
	}
	without := with
	if coldOf(off) == 0 && s.Method != MethodPopular {
		if without, err = score(off); err != nil {
			return err
		}
	}
	s.Cold = &ColdCheck{Groups: cold.Groups(), With: with, Without: without}
	s.Best.ColdMembers = coldOf(off) == 0 && s.Method != MethodPopular && with > without+1e-12
	return nil
}

// CheckCold checks every searched method's best setting on the cold split
// (the chosen one is checked by SelectModel), so that each is fitted as
// the service would run it; nothing without a cold split.
func (sel *Selection) CheckCold(ctx context.Context, seed uint64, workers int) error {
	if sel.cold == nil {
		return nil
	}
	for _, s := range sel.Searches {
		if err := checkCold(ctx, sel.cold, s, seed, workers); err != nil {
			return err
		}
	}
	return nil
}
