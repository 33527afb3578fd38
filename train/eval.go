package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"grouprank/features"
)

// Scorer scores every catalogue item for group g into dst (higher is better).
// It must be safe for concurrent use.
type Scorer interface {
	Score(g int32, dst []float32)
}

// ScorerFunc adapts a function to Scorer.
type ScorerFunc func(g int32, dst []float32)

// Score calls f.
func (f ScorerFunc) Score(g int32, dst []float32) { f(g, dst) }

// Method is a named ranking method.
type Method struct {
	Name   string
	Scorer Scorer
}

// Oracle gives the true expected orders of pushing each catalogue item to
// group g (synthetic worlds only). It must be safe for concurrent use.
type Oracle interface {
	Values(g int32, dst []float64)
}

// EvalData is one evaluation: a catalogue and groups at the split instant T,
// what each group bought before T, and what it bought after.
type EvalData struct {
	Cat     *features.Catalog
	Groups  *features.Groups
	History *Interactions // groups x items, orders before T
	Test    [][]int32     // per group: distinct items ordered in the test window (nil: not evaluated)
	// ExcludeBought removes items a group bought before T from its ranking (and from its targets).
	ExcludeBought bool
	Oracle        Oracle  // nil on real data
	OracleGroups  []int32 // groups the oracle ratio averages over
	AUCGroups     int     // evaluated groups sampled for AUC (0: 1000)
	Seed          uint64
}

// Ks are the cut-offs reported.
var Ks = []int{10, 20, 50}

// Result is one method's figures.
type Result struct {
	Method      string               `json:"method"`
	Groups      int                  `json:"groups"` // groups with test orders evaluated
	Recall      map[int]float64      `json:"recall"`
	NDCG        map[int]float64      `json:"ndcg"`
	HR          map[int]float64      `json:"hr"`
	Coverage    map[int]float64      `json:"coverage"`               // distinct items in any top-k over eligible items
	OracleRatio map[int]float64      `json:"oracle_ratio,omitempty"` // true expected orders of the top-k over the best possible top-k
	AUC         float64              `json:"auc"`                    // separating test items from the other eligible items, sampled groups
	PerGroup    map[string][]float64 `json:"-"`                      // per evaluated group, for paired intervals: "hr@10", "ndcg@10", "recall@20"
}

// Report is a whole evaluation.
type Report struct {
	Results      []Result `json:"results"`
	TruthAUC     float64  `json:"truth_auc,omitempty"` // AUC of the true push value on the same groups: a reference, not a ceiling (test orders include re-orders the truth of a push leaves out)
	Eligible     int      `json:"eligible_items"`
	Evaluated    int      `json:"evaluated_groups"`
	OracleGroups int      `json:"oracle_groups,omitempty"`
	EvalGroups   []int32  `json:"-"`
}

// Evaluate ranks the eligible catalogue for every evaluated group with every
// method and computes the metrics. progress, when not nil, gets groups done.
func Evaluate(ctx context.Context, d *EvalData, methods []Method, workers int, progress func(done, total int)) (*Report, error) {
	I := d.Cat.Len()
	// Targets after exclusion: a group whose every target it had bought before is not evaluated.
	targetsOf := make([][]int32, len(d.Test))
	var eval []int32
	for g, t := range d.Test {
		if len(t) > 0 && d.ExcludeBought && d.History != nil && g < d.History.Rows {
			bought, _ := d.History.Row(g)
			t = slices.DeleteFunc(slices.Clone(t), func(i int32) bool { _, found := slices.BinarySearch(bought, i); return found })
		}
		targetsOf[g] = t
		if len(t) > 0 {
			eval = append(eval, int32(g))
		}
	}
	eligible := 0
	for _, e := range d.Cat.Eligible {
		if e {
			eligible++
		}
	}
	if eligible == 0 {
		return nil, fmt.Errorf("train: no eligible item at the split")
	}
	if len(eval) == 0 {
		return nil, fmt.Errorf("train: no group has an order in the test window")
	}
	aucN := d.AUCGroups
	if aucN <= 0 {
		aucN = 1000
	}
	r := rand.New(rand.NewPCG(d.Seed, 0xa0c))
	aucSet := map[int32]bool{}
	for _, k := range r.Perm(len(eval))[:min(aucN, len(eval))] {
		aucSet[eval[k]] = true
	}
	oracleSet := map[int32]bool{}
	if d.Oracle != nil {
		for _, g := range d.OracleGroups {
			oracleSet[g] = true
		}
	}
	// Work list: evaluated groups plus oracle-only groups.
	work := slices.Clone(eval)
	for _, g := range d.OracleGroups {
		if len(targetsOf[g]) == 0 {
			work = append(work, g)
		}
	}
	slices.Sort(work)
	M := len(methods)
	maxK := slices.Max(Ks)
	type acc struct {
		recall, ndcg, hr, orc [3]float64
		auc                   float64
		nAUC                  int
		seen                  [3][]bool
		per                   map[string][]float64
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	accs := make([][]acc, workers) // worker x method
	var truthAUC []float64
	var orcBest [3]float64
	var mu sync.Mutex
	var next, done atomic.Int64
	var wg sync.WaitGroup
	evalIndex := make(map[int32]int, len(eval))
	for n, g := range eval {
		evalIndex[g] = n
	}
	for w := range workers {
		accs[w] = make([]acc, M)
		for m := range accs[w] {
			for k := range Ks {
				accs[w][m].seen[k] = make([]bool, I)
			}
			accs[w][m].per = map[string][]float64{"hr@10": make([]float64, len(eval)), "ndcg@10": make([]float64, len(eval)), "recall@20": make([]float64, len(eval))}
		}
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			scores := make([]float32, I)
			mask := make([]bool, I)
			truth := make([]float64, I)
			top := make([]int32, 0, maxK)
			var localAUC []float64
			var localBest [3]float64
			for {
				n := int(next.Add(1)) - 1
				if n >= len(work) || ctx.Err() != nil {
					break
				}
				g := work[n]
				copy(mask, d.Cat.Eligible)
				if d.ExcludeBought && d.History != nil && int(g) < d.History.Rows {
					cols, _ := d.History.Row(int(g))
					for _, c := range cols {
						mask[c] = false
					}
				}
				targets := targetsOf[g]
				inTest := len(targets) > 0
				doOracle := oracleSet[g]
				if doOracle {
					d.Oracle.Values(g, truth)
					best := topK(truth64(truth), mask, maxK, top[:0])
					for k, K := range Ks {
						for _, i := range best[:min(K, len(best))] {
							localBest[k] += truth[i]
						}
					}
				}
				doAUC := inTest && aucSet[g]
				if doAUC && d.Oracle != nil {
					if !doOracle {
						d.Oracle.Values(g, truth)
					}
					localAUC = append(localAUC, aucOf(func(i int) float64 { return truth[i] }, mask, targets))
				}
				for m, meth := range methods {
					meth.Scorer.Score(g, scores)
					ranked := topK(scores32(scores), mask, maxK, top[:0])
					a := &accs[w][m]
					if doOracle {
						for k, K := range Ks {
							for _, i := range ranked[:min(K, len(ranked))] {
								a.orc[k] += truth[i]
							}
						}
					}
					if !inTest {
						continue
					}
					for k, K := range Ks {
						hits, dcg := 0, 0.0
						for r, i := range ranked[:min(K, len(ranked))] {
							a.seen[k][i] = true
							if slices.Contains(targets, i) {
								hits++
								dcg += 1 / math.Log2(float64(r)+2)
							}
						}
						idcg := 0.0
						for r := range min(K, len(targets)) {
							idcg += 1 / math.Log2(float64(r)+2)
						}
						rec := float64(hits) / float64(len(targets))
						nd := dcg / idcg
						hr := 0.0
						if hits > 0 {
							hr = 1
						}
						a.recall[k] += rec
						a.ndcg[k] += nd
						a.hr[k] += hr
						e := evalIndex[g]
						if K == 10 {
							a.per["hr@10"][e], a.per["ndcg@10"][e] = hr, nd
						}
						if K == 20 {
							a.per["recall@20"][e] = rec
						}
					}
					if doAUC {
						a.auc += aucOf(func(i int) float64 { return float64(scores[i]) }, mask, targets)
						a.nAUC++
					}
				}
				if progress != nil {
					progress(int(done.Add(1)), len(work))
				}
			}
			mu.Lock()
			truthAUC = append(truthAUC, localAUC...)
			for k := range orcBest {
				orcBest[k] += localBest[k]
			}
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rep := &Report{Eligible: eligible, Evaluated: len(eval), OracleGroups: len(d.OracleGroups), EvalGroups: eval}
	if len(truthAUC) > 0 {
		rep.TruthAUC = mean(truthAUC)
	}
	nEval := float64(len(eval))
	for m, meth := range methods {
		res := Result{Method: meth.Name, Groups: len(eval), Recall: map[int]float64{}, NDCG: map[int]float64{}, HR: map[int]float64{},
			Coverage: map[int]float64{}, PerGroup: map[string][]float64{}}
		var auc float64
		var nAUC int
		for k, K := range Ks {
			var rec, nd, hr, orc float64
			seen := make([]bool, I)
			for w := range workers {
				a := &accs[w][m]
				rec, nd, hr, orc = rec+a.recall[k], nd+a.ndcg[k], hr+a.hr[k], orc+a.orc[k]
				for i, s := range a.seen[k] {
					seen[i] = seen[i] || s
				}
			}
			res.Recall[K], res.NDCG[K], res.HR[K] = rec/nEval, nd/nEval, hr/nEval
			cov := 0
			for _, s := range seen {
				if s {
					cov++
				}
			}
			res.Coverage[K] = float64(cov) / float64(eligible)
			if d.Oracle != nil && orcBest[k] > 0 {
				if res.OracleRatio == nil {
					res.OracleRatio = map[int]float64{}
				}
				res.OracleRatio[K] = orc / orcBest[k]
			}
		}
		for w := range workers {
			auc += accs[w][m].auc
			nAUC += accs[w][m].nAUC
			for key, v := range accs[w][m].per {
				if res.PerGroup[key] == nil {
					res.PerGroup[key] = make([]float64, len(v))
				}
				for e, x := range v {
					res.PerGroup[key][e] += x
				}
			}
		}
		if nAUC > 0 {
			res.AUC = auc / float64(nAUC)
		}
		rep.Results = append(rep.Results, res)
	}
	return rep, nil
}

type scores32 []float32

type truth64 []float64

// topK returns the k best allowed items, best first; ties go to the smaller
// index; NaN scores are never ranked. A min-heap keeps the best k: once it is
// full, one comparison rejects an item that cannot enter it, so most of a
// catalogue costs a load and a compare.
func topK[F float32 | float64](s []F, allowed []bool, k int, out []int32) []int32 {
	if k <= 0 {
		return out
	}
	type e struct {
		s F
		i int32
	}
	h := make([]e, 0, k)
	less := func(a, b e) bool { // a worse than b
		if a.s != b.s {
			return a.s < b.s
		}
		return a.i > b.i
	}
	down := func(i int) {
		for {
			l, r, m := 2*i+1, 2*i+2, i
			if l < len(h) && less(h[l], h[m]) {
				m = l
			}
			if r < len(h) && less(h[r], h[m]) {
				m = r
			}
			if m == i {
				return
			}
			h[i], h[m] = h[m], h[i]
			i = m
		}
	}
	full, thr := false, F(0) // once full, the smallest score held
	for i, v := range s[:len(allowed)] {
		if (full && v <= thr) || v != v || !allowed[i] { // v <= thr: a tie loses to the smaller index held
			continue
		}
		x := e{v, int32(i)}
		if len(h) < k {
			h = append(h, x)
			for j := len(h) - 1; j > 0; {
				p := (j - 1) / 2
				if !less(h[j], h[p]) {
					break
				}
				h[j], h[p] = h[p], h[j]
				j = p
			}
			if len(h) == k {
				full, thr = true, h[0].s
			}
			continue
		}
		h[0] = x
		down(0)
		thr = h[0].s
	}
	sort.Slice(h, func(a, b int) bool { return less(h[b], h[a]) })
	for _, x := range h {
		out = append(out, x.i)
	}
	return out
}

// aucOf is the probability that a target outscores an allowed non-target (ties count half).
func aucOf(score func(int) float64, allowed []bool, targets []int32) float64 {
	isT := make(map[int32]bool, len(targets))
	for _, t := range targets {
		isT[t] = true
	}
	type sv struct {
		s float64
		t bool
	}
	var all []sv
	for i, ok := range allowed {
		if ok {
			all = append(all, sv{score(i), isT[int32(i)]})
		}
	}
	sort.Slice(all, func(a, b int) bool { return all[a].s < all[b].s })
	var pos, neg, rankSum float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].s == all[i].s {
			j++
		}
		avg := float64(i+j+1) / 2 // average 1-based rank of the tie block
		for k := i; k < j; k++ {
			if all[k].t {
				pos++
				rankSum += avg
			} else {
				neg++
			}
		}
		i = j
	}
	if pos == 0 || neg == 0 {
		return 0.5
	}
	return (rankSum - pos*(pos+1)/2) / (pos * neg)
}

func mean(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}
