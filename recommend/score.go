package recommend

import (
	"errors"
	"fmt"
	"math"

	"grouprank/data"
)

// PairScore is one (group, item) pair's score under an objective: the
// ranking score before any list-level rule (filters, category caps, the
// repush window, exploration), with its parts.
type PairScore struct {
	Cold bool // the group is unknown to the snapshot: scored as a new group
	Parts
}

// ScorePairs scores items (catalogue SKUs) for group id under the named
// objective ("" orders), exactly as the ranker scores candidates. An
// unknown SKU is an error naming it.
func (m *Model) ScorePairs(id data.GroupID, objective string, skus []data.SKU) ([]PairScore, error) {
	in := m.Ranker.Scorer.in
	items := make([]int32, len(skus))
	for k, sku := range skus {
		i, ok := in.Cat.Index[sku]
		if !ok {
			return nil, fmt.Errorf("%w: sku %d is not in the catalogue of model %s", data.ErrNotFound, sku, m.Version)
		}
		items[k] = i
	}
	return m.scoreItems(id, objective, items)
}

// ScoreAll is ScorePairs for every item of the catalogue, in catalogue order.
func (m *Model) ScoreAll(id data.GroupID, objective string) ([]PairScore, error) {
	return m.scoreItems(id, objective, nil)
}

// scoreItems scores the listed catalogue indexes (nil: all).
func (m *Model) scoreItems(id data.GroupID, objective string, items []int32) ([]PairScore, error) {
	obj, g, cold, err := m.scoring(id, objective)
	if err != nil {
		return nil, err
	}
	in := m.Ranker.Scorer.in
	n := in.Cat.Len()
	p, q := make([]float32, n), make([]float32, n)
	if items == nil { // every item: the scorer's vectorised path
		m.Ranker.Scorer.Predict(&g, nil, p, q)
		items = make([]int32, n)
		for i := range items {
			items[i] = int32(i)
		}
	} else { // PredictAt takes each item once: a pair listed twice is scored once
		seen := make(map[int32]bool, len(items))
		distinct := make([]int32, 0, len(items))
		for _, i := range items {
			if !seen[i] {
				seen[i] = true
				distinct = append(distinct, i)
			}
		}
		m.Ranker.Scorer.PredictAt(&g, nil, nil, distinct, p, q)
	}
	out := make([]PairScore, len(items))
	for k, i := range items {
		out[k] = PairScore{Cold: cold, Parts: obj.ScoreIn(in, i, float64(p[i]), float64(q[i]))}
	}
	return out, nil
}

// Scores is ScoreAll's scores alone: every catalogue item's, in catalogue
// order, written into dst, with p and q as scratch (all three of the
// catalogue's length), so that scoring every group (an evaluation)
// allocates nothing per group.
func (m *Model) Scores(id data.GroupID, objective string, dst []float64, p, q []float32) error {
	obj, g, _, err := m.scoring(id, objective)
	if err != nil {
		return err
	}
	in := m.Ranker.Scorer.in
	if n := in.Cat.Len(); len(dst) != n || len(p) != n || len(q) != n {
		return fmt.Errorf("recommend: scores of %d items into buffers of %d, %d and %d", n, len(dst), len(p), len(q))
	}
	m.Ranker.Scorer.Predict(&g, nil, p, q)
	for i := range dst {
		dst[i] = obj.ScoreIn(in, int32(i), float64(p[i]), float64(q[i])).Score
	}
	return nil
}

// scoring is what scoring group id under objective ("" orders) needs: the
// objective, checked against what the model lacks, and the group (cold: a
// new group, unknown to the snapshot).
func (m *Model) scoring(id data.GroupID, objective string) (Objective, Group, bool, error) {
	if objective == "" {
		objective = "orders"
	}
	obj, err := ObjectiveByName(objective)
	if err != nil {
		return Objective{}, Group{}, false, err
	}
	if err := m.lacks.check(objective, obj, false, m.Version); err != nil {
		return Objective{}, Group{}, false, err
	}
	g, err := m.groups.Group(id)
	switch {
	case err == nil:
		return obj, g, false, nil
	case errors.Is(err, data.ErrNotFound):
		return obj, Group{}, true, nil
	default:
		return Objective{}, Group{}, false, err
	}
}

// TopScores is Scores for ranking the best k items of those keep allows
// (keep and dst in catalogue order): it writes the exact score, as Scores
// computes it, of each of the best k and -Inf for every other item, so a
// caller that ranks dst (as float32 or float64) by score, then by index,
// gets the same top k as from Scores. When the objective's score is a
// non-decreasing function of the conversion logit alone (no orders model,
// no price, commission, rating or caution term: a model learnt from orders
// ranking by orders), only the logits of all items are computed and the
// calibrated score of k+1 of them; otherwise, or when the (k+1)-th item
// ties the k-th, every item is scored as Scores does.
func (m *Model) TopScores(id data.GroupID, objective string, k int, keep []bool, dst []float64, p, q []float32) error {
	s := &TopScratch{p: p, q: q}
	return m.TopScoresBatch([]data.GroupID{id}, objective, k, [][]bool{keep}, [][]float64{dst}, s)
}

// TopScratch is TopScoresBatch's work space, for batches of up to its size.
type TopScratch struct {
	z    [][]float32 // per group of a batch: its logits
	p, q []float32
}

// NewTopScratch makes work space for batches of up to batch groups over a
// catalogue of n items.
func NewTopScratch(n, batch int) *TopScratch {
	s := &TopScratch{z: make([][]float32, batch), p: make([]float32, n), q: make([]float32, n)}
	for b := range s.z {
		s.z[b] = make([]float32, n)
	}
	return s
}

// TopScoresBatch is TopScores for several groups (keep[b] and dst[b] are
// ids[b]'s): their dot products with the item vectors are computed in one
// pass over the vectors (Factors.DotsInto), the same numbers as one by one.
func (m *Model) TopScoresBatch(ids []data.GroupID, objective string, k int, keep [][]bool, dst [][]float64, s *TopScratch) error {
	sc := m.Ranker.Scorer
	in := sc.in
	n := in.Cat.Len()
	if len(s.p) != n || len(s.q) != n {
		return fmt.Errorf("recommend: scores of %d items into buffers of %d and %d", n, len(s.p), len(s.q))
	}
	for b := range ids {
		if len(dst[b]) != n || len(keep[b]) != n {
			return fmt.Errorf("recommend: scores of %d items into a buffer of %d and a mask of %d", n, len(dst[b]), len(keep[b]))
		}
	}
	if len(s.z) == 0 { // one group: its logits go into p
		s.z = [][]float32{s.p}
	}
	for lo := 0; lo < len(ids); lo += len(s.z) {
		batch := ids[lo:min(len(ids), lo+len(s.z))]
		objs, gs := make([]Objective, len(batch)), make([]Group, len(batch))
		var vecs, dots [][]float32
		for b, id := range batch {
			obj, g, _, err := m.scoring(id, objective)
			if err != nil {
				return err
			}
			objs[b], gs[b] = obj, g
			if k > 0 && sc.logitOrders(&obj) && g.Vector != nil && in.Items != nil {
				vecs, dots = append(vecs, g.Vector), append(dots, s.z[b])
			}
		}
		if len(vecs) > 0 {
			in.Items.DotsInto(dots, vecs)
		}
		for b, id := range batch {
			if err := m.topOne(id, objective, &objs[b], &gs[b], k, keep[lo+b], dst[lo+b], s.z[b], s.p, s.q); err != nil {
				return err
			}
		}
	}
	return nil
}

// topOne is TopScoresBatch for one group g, whose dot products with the
// item vectors are in z when it has a vector; its logits go into q.
func (m *Model) topOne(id data.GroupID, objective string, obj *Objective, g *Group, k int, keep []bool, dst []float64, z, p, q []float32) error {
	s := m.Ranker.Scorer
	in := s.in
	if k <= 0 || !s.logitOrders(obj) {
		return m.Scores(id, objective, dst, p, q)
	}
	var dot []float32
	if g.Vector != nil && in.Items != nil {
		dot = z
	}
	z = q // the logits (z may be p, q never is)
	s.linear(0, g, nil, dot, nil, z)
	best := topLogits(z, keep, k+1)
	score := func(i int32) float64 {
		pi, qi := s.fromLogit(z[i])
		return obj.ScoreIn(in, i, float64(pi), float64(qi)).Score
	}
	if len(best) == k+1 { // the (k+1)-th must score strictly below the k-th, as float32 too
		if float32(score(best[k])) >= float32(score(best[k-1])) {
			return m.Scores(id, objective, dst, p, q)
		}
		best = best[:k]
	}
	for i := range dst {
		dst[i] = math.Inf(-1)
	}
	for _, i := range best {
		dst[i] = score(i)
	}
	return nil
}

// topLogits returns the indexes of the k largest entries of z that keep
// allows, largest first (ties: smaller index first).
func topLogits(z []float32, keep []bool, k int) []int32 {
	t := topBuf{n: k, b: make([]heapEntry, 0, 2*k)}
	bar := float32(math.Inf(-1)) // no entry below it can be among the k best
	for i, v := range z {
		if v < bar || !keep[i] || !t.wants(int32(i), v) {
			continue
		}
		if t.offer(int32(i), v) {
			bar = t.bar.v
		}
	}
	t.finish()
	sortBestFirst(t.b)
	out := make([]int32, len(t.b))
	for n, e := range t.b {
		out[n] = e.i
	}
	return out
}
