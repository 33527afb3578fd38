package train

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
)

// Target is one held-out (group, item) pair to rank.
type Target struct {
	Group int32
	Item  int32
}

// TargetDepth is how deep EvaluateTargets ranks each group: a scorer need
// only score its best TargetDepth items exactly (the others may be -Inf).
const TargetDepth = 20

// TargetScores holds, per method, each target's HR@10, NDCG@10 and HR@20
// (which is Recall@20 with a single target).
type TargetScores struct {
	Method string
	HR10   []float64
	NDCG10 []float64
	HR20   []float64
}

// EvaluateTargets ranks every allowed item for each target's group (allowed
// minus exclude(group)) with every method and records where the target lands.
// Targets of one group share one ranking per method.
func EvaluateTargets(ctx context.Context, allowed []bool, targets []Target, exclude func(g int32) []int32, methods []Method, workers int, progress func(done, total int)) ([]TargetScores, error) {
	byGroup := map[int32][]int{}
	var order []int32
	for n, t := range targets {
		if _, ok := byGroup[t.Group]; !ok {
			order = append(order, t.Group)
		}
		byGroup[t.Group] = append(byGroup[t.Group], n)
	}
	slices.Sort(order)
	out := make([]TargetScores, len(methods))
	for m := range methods {
		out[m] = TargetScores{Method: methods[m].Name, HR10: make([]float64, len(targets)), NDCG10: make([]float64, len(targets)), HR20: make([]float64, len(targets))}
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	// A Static method ranks every group alike but for the group's own
	// exclusions: its ranking is computed once, and each group walks it.
	static := make([][]int32, len(methods))
	for m, meth := range methods {
		if st, ok := meth.Scorer.(Static); ok {
			static[m] = topK(scores32(st), allowed, min(len(st), staticDepth), nil)
		}
	}
	var done atomic.Int64
	eg, ctx := errgroup.WithContext(ctx)
	eg.SetLimit(workers)
	const block = 256 // groups a task ranks, with its own buffers
	for lo := 0; lo < len(order); lo += block {
		eg.Go(func() error {
			scores := make([]float32, len(allowed))
			mask := slices.Clone(allowed) // the group's exclusions are cleared after it
			top := make([]int32, 0, TargetDepth)
			batched := make([][][]float32, len(methods)) // per BatchScorer: the scores of the groups of the current batch
			for m, meth := range methods {
				if _, ok := meth.Scorer.(BatchScorer); ok && static[m] == nil {
					batched[m] = make([][]float32, ScoreBatch)
					for b := range batched[m] {
						batched[m][b] = make([]float32, len(allowed))
					}
				}
			}
			groups := order[lo:min(lo+block, len(order))]
			for n, g := range groups {
				if err := ctx.Err(); err != nil {
					return err
				}
				if n%ScoreBatch == 0 {
					for m, bs := range batched {
						if bs != nil {
							batch := groups[n:min(len(groups), n+ScoreBatch)]
							methods[m].Scorer.(BatchScorer).ScoreBatch(batch, bs[:len(batch)])
						}
					}
				}
				for _, i := range exclude(g) {
					mask[i] = false
				}
				for m, meth := range methods {
					ranked := top[:0]
					for _, i := range static[m] {
						if mask[i] {
							if ranked = append(ranked, i); len(ranked) == TargetDepth {
								break
							}
						}
					}
					var sc []float32 // the group's scores, when the kept ranking does not do
					switch {
					case batched[m] != nil:
						sc = batched[m][n%ScoreBatch]
					case static[m] == nil || (len(ranked) < TargetDepth && len(static[m]) == staticDepth): // not static, or its kept ranking ran out
						meth.Scorer.Score(g, scores)
						sc = scores
					}
					for _, n := range byGroup[g] {
						r := -1
						if sc != nil {
							r = rankOf(sc, mask, targets[n].Item, TargetDepth)
						} else {
							r = slices.Index(ranked, targets[n].Item)
						}
						if r >= 0 {
							out[m].HR20[n] = 1
							if r < 10 {
								out[m].HR10[n] = 1
								out[m].NDCG10[n] = 1 / math.Log2(float64(r)+2)
							}
						}
					}
				}
				for _, i := range exclude(g) {
					mask[i] = allowed[i]
				}
				if progress != nil {
					progress(int(done.Add(1)), len(order))
				}
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// rankOf is item t's 0-based place in the ranking topK makes of s over
// mask (higher scores first, ties to the lower index, NaN never ranked), or
// -1 when it is not among the first depth: it counts the items ranked before
// t and stops at depth, so a target far down costs a short scan.
func rankOf(s []float32, mask []bool, t int32, depth int) int {
	st := s[t]
	if !mask[t] || st != st {
		return -1
	}
	r := 0
	for i, v := range s[:len(mask)] {
		if mask[i] && (v > st || (v == st && int32(i) < t)) {
			if r++; r == depth {
				return -1
			}
		}
	}
	return r
}

// staticDepth is how much of a Static method's ranking EvaluateTargets
// keeps; a group excluding so many of it that fewer than 20 remain is
// ranked in full.
const staticDepth = 2000

// Interval is a mean with a 95% interval.
type Interval struct {
	Mean, Lo, Hi float64
}

// PairedBootstrap is the mean of a - b over paired units with a 95% percentile
// interval from B resamples of the units (seeded).
func PairedBootstrap(a, b []float64, B int, seed uint64) Interval {
	return PairedBootstraps([][]float64{a}, b, B, seed)[0]
}

// PairedBootstraps is PairedBootstrap of every as[m] against b, all on the
// same B resamples (the seed's), each drawn once: out[m] equals
// PairedBootstrap(as[m], b, B, seed).
func PairedBootstraps(as [][]float64, b []float64, B int, seed uint64) []Interval {
	n, M := len(b), len(as)
	d := make([]float64, n*M) // unit-major: one draw reads one unit's differences together
	s := make([]float64, M)
	for m, a := range as {
		for i := range n {
			d[i*M+m] = a[i] - b[i]
			s[m] += d[i*M+m]
		}
	}
	r := rand.New(rand.NewPCG(seed, 0xb007))
	means := make([][]float64, M)
	for m := range means {
		means[m] = make([]float64, B)
	}
	t := make([]float64, M)
	for k := range B {
		clear(t)
		for range n {
			row := d[r.IntN(n)*M:][:M]
			for m, v := range row {
				t[m] += v
			}
		}
		for m := range t {
			means[m][k] = t[m] / float64(n)
		}
	}
	out := make([]Interval, M)
	for m := range out {
		slices.Sort(means[m])
		out[m] = Interval{Mean: s[m] / float64(n), Lo: means[m][int(0.025*float64(B))], Hi: means[m][min(B-1, int(0.975*float64(B)))]}
	}
	return out
}
