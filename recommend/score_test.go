package recommend_test

import (
	"math"
	"slices"
	"testing"

	"grouprank/data"
	"grouprank/recommend"
)

// rankTop is the evaluation's ranking: the best k kept items by float32
// score, ties to the smaller index.
func rankTop(s []float64, keep []bool, k int) []int {
	var idx []int
	for i := range s {
		if keep[i] {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		x, y := float32(s[a]), float32(s[b])
		switch {
		case x > y:
			return -1
		case x < y:
			return 1
		}
		return a - b
	})
	return idx[:min(k, len(idx))]
}

// TestTopScoresRanksAsScores: the best k of TopScores are those of Scores,
// with the same scores, for every group (warm with and without a vector,
// cold), k, mask and calibration, including those where it must score every
// item (an orders model, a decreasing or flat calibration, a price or
// caution term).
func TestTopScoresRanksAsScores(t *testing.T) {
	cals := map[string]func(*recommend.Conversion){
		"platt": func(c *recommend.Conversion) {
			c.OrderWeights = nil
			c.Calibration = recommend.Calibration{Method: "platt", A: 0.7, B: -1}
		},
		"platt, caution": func(c *recommend.Conversion) {
			c.OrderWeights = nil
			c.Calibration = recommend.Calibration{Method: "platt", A: 0.7, B: -1}
		},
		"platt decreasing": func(c *recommend.Conversion) {
			c.OrderWeights = nil
			c.Calibration = recommend.Calibration{Method: "platt", A: -0.7, B: -1}
		},
		"isotonic flat": func(c *recommend.Conversion) { // flat beyond its knots: ties at the top
			c.OrderWeights = nil
			c.Calibration = recommend.Calibration{Method: "isotonic", X: []float64{-1, 0, 0.5}, Y: []float64{0.01, 0.2, 0.2}}
		},
		"isotonic link": func(c *recommend.Conversion) {
			c.OrderWeights = nil
			c.Calibration = recommend.Calibration{Method: "isotonic", X: []float64{-2, 0, 1}, Y: []float64{0.01, 0.1, 0.3}, Link: "logit", LowSlope: 1, HighSlope: 0.5}
		},
		"orders model": nil,
	}
	for name, edit := range cals {
		t.Run(name, func(t *testing.T) {
			sc, gs, _ := fixtureWith(t, edit)
			if name != "platt, caution" { // a preference model, as learnt from orders: no caution term
				prior := make([]float32, sc.Inputs().Cat.Len())
				for i := range prior {
					prior[i] = float32(i%9) / 4
				}
				sc.Inputs().Pref = &recommend.Preference{Prior: prior}
			}
			m := recommend.NewModel("v", recommend.NewRanker(sc), recommend.GroupMap{1: gs[0], 2: gs[1]})
			n := sc.Inputs().Cat.Len()
			full, top := make([]float64, n), make([]float64, n)
			p, q := make([]float32, n), make([]float32, n)
			for _, id := range []data.GroupID{1, 2, 3} {
				for _, obj := range []string{"orders", "gmv"} {
					for _, k := range []int{1, 5, 20, n - 3, n + 5} {
						keep := make([]bool, n)
						for i := range keep {
							keep[i] = (i*7+int(id)+k)%5 != 0
						}
						if err := m.Scores(id, obj, full, p, q); err != nil {
							t.Fatal(err)
						}
						if err := m.TopScores(id, obj, k, keep, top, p, q); err != nil {
							t.Fatal(err)
						}
						if skipped := slices.ContainsFunc(top, func(v float64) bool { return math.IsInf(v, -1) }); name == "platt" && obj == "orders" && k < n/2 && !skipped {
							t.Fatalf("group %d k %d: every item scored: the logit path was not taken", id, k)
						}
						a, b := rankTop(full, keep, k), rankTop(top, keep, k)
						if !slices.Equal(a, b) {
							t.Fatalf("group %d %s k %d: top %v, Scores' %v", id, obj, k, b, a)
						}
						for _, i := range a {
							if top[i] != full[i] || math.IsInf(top[i], -1) {
								t.Fatalf("group %d %s k %d: item %d scored %v, Scores %v", id, obj, k, i, top[i], full[i])
							}
						}
					}
				}
			}
			// Batches (of 2, so one call makes two passes) give each group
			// exactly its TopScores.
			ids := []data.GroupID{1, 2, 3}
			for _, k := range []int{1, 20} {
				keeps, dsts := make([][]bool, len(ids)), make([][]float64, len(ids))
				for b := range ids {
					keeps[b], dsts[b] = make([]bool, n), make([]float64, n)
					for i := range keeps[b] {
						keeps[b][i] = i%(b+2) != 0
					}
				}
				if err := m.TopScoresBatch(ids, "orders", k, keeps, dsts, recommend.NewTopScratch(n, 2)); err != nil {
					t.Fatal(err)
				}
				for b, id := range ids {
					if err := m.TopScores(id, "orders", k, keeps[b], top, p, q); err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(top, dsts[b]) {
						t.Fatalf("group %d k %d: the batch's scores differ from TopScores'", id, k)
					}
				}
			}
		})
	}
}
