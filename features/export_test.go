package features

import (
	"math"

	"grouprank/data"
)

// FlatL1Taste is log((C + a) / (E + a)) per group and L1 category (0 where
// nothing was expected) over the evidence exposureTaste pools: the
// evidence's formulas, which tests check by hand, without the pooling
// (TestPooledTaste covers that).
func FlatL1Taste(cat *Catalog, groups *Groups, orders, pushes *Events, shown *Shown, at data.Timestamp, cfg Config) []float32 {
	G, K, F := groups.Len(), len(cat.L1Names), len(cat.L2Names)
	out := make([]float32, G*K)
	a := cfg.TastePrior
	if a <= 0 {
		a = 3
	}
	ev := newTasteEvidence(cat, cat.L2, F, groups, orders, pushes, shown, at, cfg, a)
	if ev.kinds == 0 {
		return out
	}
	parent := make([]int32, F)
	for i := range cat.Len() {
		parent[cat.L2[i]] = cat.L1[i]
	}
	got1, exp1 := make([]float64, G*K), make([]float64, G*K)
	ev.each(func(g int, got, exp []float64) {
		for f := range F {
			got1[g*K+int(parent[f])] += got[f]
			exp1[g*K+int(parent[f])] += exp[f]
		}
	})
	for k, e := range exp1 {
		if e > 0 {
			out[k] = float32(math.Log((got1[k] + a) / (e + a)))
		}
	}
	return out
}

// Ranks are every row's rank (1..MaxShownRank), list by list.
func (s *Shown) Ranks() []int {
	var out []int
	for l := range s.Lists() {
		rows := s.list(l)
		for r := rows.from; r < rows.to; r++ {
			out = append(out, rows.rankIdx(r)+1)
		}
	}
	return out
}

// Picked says for every row whether its item was pushed from its list.
func (s *Shown) Picked() []bool {
	out := make([]bool, len(s.Item))
	for _, r := range s.picked {
		out[r] = true
	}
	return out
}

// Irregular is the number of lists whose ranks are kept row by row.
func (s *Shown) Irregular() int { return len(s.irregular) }

// SetPartsStepBytes sets how many bytes of block sums one step of the parts
// joins, and returns what puts it back.
func SetPartsStepBytes(n int) func() {
	old := partsStepBytes
	partsStepBytes = n
	return func() { partsStepBytes = old }
}
