package pref

import (
	"context"
	"fmt"
)

// A benchmark in the group-recommendation layout lists each group's
// choices and its members, not who chose: its group orders name no buyer.
// Such an order is credited to each of the group's members (Placed.Credited,
// in the members' rows and the group's placed list): it is then evidence of
// their taste for the other groups they belong to and for a new group of
// theirs, and, placed in the group, never part of the group's own
// consensus. Whether the models read the credited orders is chosen on
// validation (SelectModel searches the data with them and without).

// HasCredit reports whether any member is credited an order.
func (d *Data) HasCredit() bool {
	for _, ps := range d.Placed {
		for _, p := range ps {
			if p.Credited {
				return true
			}
		}
	}
	return false
}

// Credited is the weight of the orders credited to members (each order
// counted once per member).
func (d *Data) Credited() float64 {
	var w float64
	for _, ps := range d.Placed {
		for _, p := range ps {
			if p.Credited {
				w += float64(p.Weight)
			}
		}
	}
	return w
}

// WithoutCredit is d without the credited orders: the members' rows and
// the groups' placed lists hold the orders members placed themselves only.
// The indexes stay (a member with credited orders only keeps an empty
// row); d itself when nothing is credited.
func (d *Data) WithoutCredit() *Data {
	if !d.HasCredit() {
		return d
	}
	t := *d
	t.Members, t.Placed = withoutPlaced(d, func(_ int, p Placed) bool { return p.Credited })
	return &t
}

// withoutCredit is v with each split's history without the credited orders
// (Data.WithoutCredit): the same targets, the same group rows (a member
// split's probes included), the members' rows without what they were
// credited.
func (v Validation) withoutCredit() Validation {
	out := make(Validation, len(v))
	for k, s := range v {
		out[k] = &Split{Train: s.Train.WithoutCredit(), Targets: s.Targets}
	}
	return out
}

func (v Validation) hasCredit() bool {
	for _, s := range v {
		if s.Train.HasCredit() {
			return true
		}
	}
	return false
}

// CreditChoice is how the validation chose between the data with the
// members' credited orders and without them: the chosen model's NDCG@10 on
// each, on the validation split and on the cold split (ColdHoldOut; 0
// groups: none), and their mean over the two splits' groups, which decides
// (ties: without, the data as placed). The cold split weighs in because
// the credited orders matter most to a group with no orders of its own.
type CreditChoice struct {
	With        float64 `json:"ndcg10_with_credited_orders"`
	Without     float64 `json:"ndcg10_without_credited_orders"`
	ColdGroups  int     `json:"cold_groups,omitempty"`
	ColdWith    float64 `json:"cold_ndcg10_with_credited_orders,omitempty"`
	ColdWithout float64 `json:"cold_ndcg10_without_credited_orders,omitempty"`
	MeanWith    float64 `json:"mean_ndcg10_with_credited_orders"`
	MeanWithout float64 `json:"mean_ndcg10_without_credited_orders"`
	Credited    bool    `json:"credited"`
}

// Data is d as the selection chose to read it: without the credited orders
// unless the validation chose them.
func (s *Selection) Data(d *Data) *Data {
	if s.Credit != nil && !s.Credit.Credited {
		return d.WithoutCredit()
	}
	return d
}

// Validation is v as the selection chose to read it (Data).
func (s *Selection) Validation(v Validation) Validation {
	if s.Credit != nil && !s.Credit.Credited {
		return v.withoutCredit()
	}
	return v
}

// selectCredit runs the search on the validation with the credited orders
// and without them, checks each chosen setting on the cold split (cut from
// the data with them; without them, the same groups held out) and keeps
// the better by their mean NDCG@10 over the validation's groups (a split's
// mean) and the cold split's (Selection.Credit says which and by how much).
func selectCredit(ctx context.Context, val Validation, cold *Split, splitName string, methods []string, budget int, seed uint64, workers int,
	progress Progress) (*Selection, error) {
	with, err := selectModel(ctx, val, cold, splitName, methods, budget, seed, workers, progress.credited("with credited orders"))
	if err != nil {
		return nil, err
	}
	var coldWithout *Split
	if cold != nil {
		coldWithout = &Split{Train: cold.Train.WithoutCredit(), Targets: cold.Targets}
	}
	without, err := selectModel(ctx, val.withoutCredit(), coldWithout, splitName, methods, budget, seed, workers, progress.credited("without credited orders"))
	if err != nil {
		return nil, err
	}
	c := &CreditChoice{With: with.NDCG10, Without: without.NDCG10, MeanWith: with.NDCG10, MeanWithout: without.NDCG10}
	if cold != nil {
		warm, n := float64(val.Groups())/float64(len(val)), float64(cold.Groups())
		c.ColdGroups, c.ColdWith, c.ColdWithout = cold.Groups(), with.Cold.Best(), without.Cold.Best()
		c.MeanWith = (warm*c.With + n*c.ColdWith) / (warm + n)
		c.MeanWithout = (warm*c.Without + n*c.ColdWithout) / (warm + n)
	}
	c.Credited = c.MeanWith > c.MeanWithout+1e-12
	sel := without
	if c.Credited {
		sel = with
	}
	sel.Credit = c
	sel.Millis = with.Millis + without.Millis
	return sel, nil
}

// CreditText says what the selection chose about the credited orders, or
// "" when nothing was credited.
func (s *Selection) CreditText() string {
	c := s.Credit
	if c == nil {
		return ""
	}
	what := "read without them"
	if c.Credited {
		what = "read with them"
	}
	cold := ""
	if c.ColdGroups > 0 {
		cold = fmt.Sprintf(" (on the validation's groups; on %d groups held out whole, %.4f with them, %.4f without; over both, %.4f against %.4f)",
			c.ColdGroups, c.ColdWith, c.ColdWithout, c.MeanWith, c.MeanWithout)
	}
	return fmt.Sprintf("group orders that name no buyer credited to each of the group's members: validation NDCG@10 %.4f with them, %.4f without%s; %s", c.With, c.Without, cold, what)
}
