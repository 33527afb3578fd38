package recommend

import (
	"slices"

	"grouprank/features"
)

// Preference is the serving form of a preference model learnt from orders
// alone (package train/pref): its scores enter the conversion model as the
// features item_item (the group's row times an items x items matrix) and
// item_prior (a per-item prior), besides ials (the group's vector, folded
// from its row, times the item vectors). A group's row is its own orders
// (Group.Observed, in lines or units) plus a weight times the mean of its
// members' own rows (Group.Members); a group with no own row (a new group
// named by its members) reads them at the cold weights.
type Preference struct {
	ItemItem  *ItemItem // entry (j, i) is past item j's weight in item i's score (nil: none)
	Consensus float32   // members' weight in the item-item row
	Prior     []float32 // per item (nil: none)
	// VectorConsensus and Confidence fold a group's vector from its row when
	// it orders anew: the vector solves the iALS row problem for
	// Confidence x (own + VectorConsensus x members).
	VectorConsensus float32
	Confidence      float32
	// ColdConsensus and ColdVectorConsensus are Consensus and
	// VectorConsensus for a group with no own row.
	ColdConsensus, ColdVectorConsensus float32
	// Units: an order adds its units to the row (else one line).
	Units bool
	// Credit: an order placed in a group that names no buyer is credited
	// to each of the group's members, in their other groups' members' rows
	// (as training credited such orders when validation chose to).
	Credit bool
}

// consensus and vectorConsensus are the members' weights in g's item-item
// row and in the row its vector is folded from.
func (p *Preference) consensus(g *Group) float32 {
	if len(g.Observed) == 0 {
		return p.ColdConsensus
	}
	return p.Consensus
}

func (p *Preference) vectorConsensus(g *Group) float32 {
	if len(g.Observed) == 0 {
		return p.ColdVectorConsensus
	}
	return p.VectorConsensus
}

// row is the group's own row plus consensus times its members' row, sorted by item.
func row(g *Group, consensus float32) []features.Weighted {
	if consensus == 0 || len(g.Members) == 0 {
		return g.Observed
	}
	out := make([]features.Weighted, 0, len(g.Observed)+len(g.Members))
	out = append(out, g.Observed...)
	for _, m := range g.Members {
		out = append(out, features.Weighted{ID: m.ID, Weight: consensus * m.Weight})
	}
	slices.SortStableFunc(out, func(a, b features.Weighted) int { return int(a.ID) - int(b.ID) })
	merged := out[:0]
	for _, w := range out {
		if n := len(merged); n > 0 && merged[n-1].ID == w.ID {
			merged[n-1].Weight += w.Weight
			continue
		}
		merged = append(merged, w)
	}
	return merged
}

// itemItem is the group's item-item score of item i.
func (p *Preference) itemItem(g *Group, i int32) float32 {
	if p == nil || p.ItemItem == nil || int(i) >= p.ItemItem.N {
		return 0
	}
	var s float32
	for _, w := range row(g, p.consensus(g)) {
		s += w.Weight * p.ItemItem.At(w.ID, i)
	}
	return s
}

// prior is item i's prior.
func (p *Preference) prior(i int32) float32 {
	if p == nil || int(i) >= len(p.Prior) {
		return 0
	}
	return p.Prior[i]
}

// addInto adds cII x the item-item scores and cPrior x the priors of the
// listed items (nil: all) to dst.
func (p *Preference) addInto(g *Group, cII, cPrior float32, items []int32, dst []float32) {
	if p == nil {
		return
	}
	if cPrior != 0 && p.Prior != nil {
		if items == nil {
			for i, v := range p.Prior[:min(len(p.Prior), len(dst))] {
				dst[i] += cPrior * v
			}
		} else {
			for _, i := range items {
				dst[i] += cPrior * p.prior(i)
			}
		}
	}
	if cII == 0 || p.ItemItem == nil {
		return
	}
	r := row(g, p.consensus(g))
	n := p.ItemItem.N
	if items == nil {
		for _, w := range r {
			c := cII * w.Weight
			cols, ws := p.ItemItem.Row(w.ID)
			for k, i := range cols {
				if int(i) < len(dst) {
					dst[i] += c * ws[k]
				}
			}
		}
		return
	}
	for _, i := range items {
		if int(i) >= n {
			continue
		}
		var s float32
		for _, w := range r {
			s += w.Weight * p.ItemItem.At(w.ID, i)
		}
		dst[i] += cII * s
	}
}
