package recommend

import (
	"errors"
	"fmt"

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
	} else {
		m.Ranker.Scorer.PredictAt(&g, nil, nil, items, p, q)
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
