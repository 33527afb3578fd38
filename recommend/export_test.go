package recommend

import "grouprank/features"

// BruteCandidates is Candidates without any pruning: every source scores
// every item. Tests check the pruned walk against it.
func (r *Ranker) BruteCandidates(g *Group, floors Floors, boosts ...[]float32) map[int32]bool {
	in := r.Scorer.in
	cat := in.Cat
	out := map[int32]bool{}
	top := func(score func(i int) float32) {
		h := topHeap{n: r.Depth}
		for i := range cat.Len() {
			if v := score(i); h.wants(int32(i), v) && floors.Pass(cat, int32(i)) {
				h.offer(int32(i), v)
			}
		}
		for _, e := range h.h {
			out[e.i] = true
		}
	}
	if g.Vector != nil && in.Items != nil {
		top(func(i int) float32 {
			var d float32
			for k, x := range in.Items.Row(i) {
				d += x * g.Vector[k]
			}
			return d
		})
	}
	f := in.Profile.factors(nil, g.Channel, g.Tier, g.L1, g.Band, g.Weight, g.Brands)
	for _, b := range append([][]float32{nil}, boosts...) {
		top(func(i int) float32 {
			v := f.score(cat, i)
			if b != nil {
				v *= b[i]
			}
			return v
		})
	}
	I := cat.Len()
	if len(in.Stats.FoundChannel) >= (int(g.Channel)+1)*I {
		// the found source: each list is the top among eligible items, then the request's floors
		for _, b := range append([][]float32{nil}, boosts...) {
			h := topHeap{n: r.Depth}
			eligible := Floors{Eligible: true}
			for i := range I {
				v := in.Stats.FoundChannel[int(g.Channel)*I+i]
				if b != nil {
					v *= b[i]
				}
				if h.wants(int32(i), v) && eligible.Pass(cat, int32(i)) {
					h.offer(int32(i), v)
				}
			}
			for _, e := range h.h {
				if floors.Pass(cat, e.i) {
					out[e.i] = true
				}
			}
		}
	}
	for _, src := range [][]int32{r.bestsellers(features.CellOf(g.Channel, g.Tier)), r.trending()} {
		for _, i := range src {
			if floors.Pass(cat, i) {
				out[i] = true
			}
		}
	}
	return out
}

// PredictAtApart is PredictAt computing the two predictors one after the
// other (linear for each), as it did before they shared one pass.
func (s *Scorer) PredictAtApart(g *Group, r *features.Recent, dot []float32, items []int32, p, q []float32) {
	s.linear(0, g, r, dot, items, p)
	for _, i := range items {
		p[i] = float32(s.conv.Calibration.Apply(float64(p[i])))
	}
	s.linear(1, g, r, dot, items, q)
	for _, i := range items {
		q[i] = float32(s.conv.ExpectedOrdersAt(float64(q[i])))
	}
}
