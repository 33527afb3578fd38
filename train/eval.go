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

	"github.com/viterin/vek/vek32"

	"golang.org/x/sync/errgroup"

	"grouprank/features"
)

// Scorer scores every catalogue item for group g into dst (higher is better).
// It must be safe for concurrent use.
type Scorer interface {
	Score(g int32, dst []float32)
}

// BatchScorer is a Scorer that scores several groups in one call faster
// than one by one (a pass over the item vectors serving them all), with the
// same scores; EvaluateTargets hands it up to ScoreBatch groups at a time.
type BatchScorer interface {
	Scorer
	ScoreBatch(gs []int32, dsts [][]float32)
}

// ScoreBatch is how many groups EvaluateTargets gives a BatchScorer at once.
const ScoreBatch = 16

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
// Groups are ranked in parallel in blocks; every sum is taken in group order
// afterwards, so the report is the same whatever the number of workers.
func Evaluate(ctx context.Context, d *EvalData, methods []Method, workers int, progress func(done, total int)) (*Report, error) {
	p, err := planEval(d)
	if err != nil {
		return nil, err
	}
	w, err := p.rank(ctx, d, methods, p.work, workers, progress)
	if err != nil {
		return nil, err
	}
	return p.report(p.facts(d, methods), w), nil
}

// evalWork is what ranking a list of groups gave: per group (in the list's
// order) its metrics for each method, the oracle's best sums and the true
// value's AUC, and per method and K the items some top K held.
type evalWork struct {
	per      []groupEval // group x method
	best     [][3]float64
	truthAUC []float64 // NaN: not measured
	seen     [][3][]bool
}

// rank evaluates the groups of work (a subset of p.work, ascending).
func (p *evalPlan) rank(ctx context.Context, d *EvalData, methods []Method, work []int32, workers int, progress func(done, total int)) (*evalWork, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	M, I := len(methods), d.Cat.Len()
	w := &evalWork{per: make([]groupEval, len(work)*M), best: make([][3]float64, len(work)), truthAUC: make([]float64, len(work))}
	var scratches []*evalScratch
	var mu sync.Mutex
	pool := sync.Pool{New: func() any {
		s := newEvalScratch(I, M)
		mu.Lock()
		scratches = append(scratches, s)
		mu.Unlock()
		return s
	}}
	var done atomic.Int64
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(workers)
	const block = 64
	for lo := 0; lo < len(work); lo += block {
		hi := min(lo+block, len(work))
		eg.Go(func() error {
			s := pool.Get().(*evalScratch)
			defer pool.Put(s)
			for n := lo; n < hi; n++ {
				if err := ectx.Err(); err != nil {
					return err
				}
				w.best[n], w.truthAUC[n] = p.evalGroup(d, methods, work[n], s, w.per[n*M:(n+1)*M])
				if progress != nil {
					progress(int(done.Add(1)), len(work))
				}
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Coverage is or-ed over the workers' scratches, which is order-free.
	w.seen = make([][3][]bool, M)
	for m := range w.seen {
		for k := range Ks {
			w.seen[m][k] = make([]bool, I)
			for _, s := range scratches {
				for i, x := range s.seen[m][k] {
					w.seen[m][k][i] = w.seen[m][k][i] || x
				}
			}
		}
	}
	return w, nil
}

// evalPlan is what Evaluate ranks: the groups with targets (after the
// exclusion of items bought before), those also scored for AUC and the
// oracle's groups.
type evalPlan struct {
	targetsOf [][]int32
	eval      []int32 // groups with targets, ascending
	evalIndex map[int32]int
	work      []int32 // eval plus the oracle-only groups, ascending
	aucSet    map[int32]bool
	oracleSet map[int32]bool
	eligible  int
}

func planEval(d *EvalData) (*evalPlan, error) {
	p, err := planTargets(d)
	if err != nil {
		return nil, err
	}
	if len(p.eval) == 0 {
		return nil, errNoTestOrder
	}
	for _, g := range aucSample(d, p.eval) {
		p.aucSet[g] = true
	}
	if d.Oracle != nil {
		for _, g := range d.OracleGroups {
			p.oracleSet[g] = true
		}
	}
	p.work = slices.Clone(p.eval)
	for _, g := range d.OracleGroups {
		if len(p.targetsOf[g]) == 0 {
			p.work = append(p.work, g)
		}
	}
	slices.Sort(p.work)
	p.work = slices.Compact(p.work)
	p.evalIndex = make(map[int32]int, len(p.eval))
	for n, g := range p.eval {
		p.evalIndex[g] = n
	}
	return p, nil
}

var errNoTestOrder = fmt.Errorf("train: no group has an order in the test window")

// planTargets is the start of a plan: each group's targets (after the
// exclusion of items bought before), the groups with targets and the
// eligible items.
func planTargets(d *EvalData) (*evalPlan, error) {
	p := &evalPlan{targetsOf: make([][]int32, len(d.Test)), aucSet: map[int32]bool{}, oracleSet: map[int32]bool{}}
	// Targets after exclusion: a group whose every target it had bought before is not evaluated.
	for g, t := range d.Test {
		if len(t) > 0 && d.ExcludeBought && d.History != nil && g < d.History.Rows {
			bought, _ := d.History.Row(g)
			t = slices.DeleteFunc(slices.Clone(t), func(i int32) bool { _, found := slices.BinarySearch(bought, i); return found })
		}
		p.targetsOf[g] = t
		if len(t) > 0 {
			p.eval = append(p.eval, int32(g))
		}
	}
	for _, e := range d.Cat.Eligible {
		if e {
			p.eligible++
		}
	}
	if p.eligible == 0 {
		return nil, fmt.Errorf("train: no eligible item at the split")
	}
	return p, nil
}

// aucSample is the seeded sample of the evaluated groups eval (every
// group with targets, ascending) that AUC is measured on.
func aucSample(d *EvalData, eval []int32) []int32 {
	aucN := d.AUCGroups
	if aucN <= 0 {
		aucN = 1000
	}
	r := rand.New(rand.NewPCG(d.Seed, 0xa0c))
	var out []int32
	for _, k := range r.Perm(len(eval))[:min(aucN, len(eval))] {
		out = append(out, eval[k])
	}
	return out
}

// groupEval is one method's metrics for one group, at each of Ks.
type groupEval struct {
	Recall, NDCG, HR, Orc [3]float64
	AUC                   float64 // NaN: not measured
}

// evalScratch is one worker's buffers, and the items each method put in
// a top K (the coverage: or-ed over workers, which is order-free).
type evalScratch struct {
	scores []float32
	mask   []bool
	truth  []float64
	top    []int32
	seen   [][3][]bool // method x K
}

func newEvalScratch(items, methods int) *evalScratch {
	s := &evalScratch{scores: make([]float32, items), mask: make([]bool, items), truth: make([]float64, items),
		top: make([]int32, 0, slices.Max(Ks)), seen: make([][3][]bool, methods)}
	for m := range s.seen {
		for k := range Ks {
			s.seen[m][k] = make([]bool, items)
		}
	}
	return s
}

// evalGroup ranks group g with every method into out (one per method) and
// returns the oracle's sums of true value at each K and the true value's
// AUC (NaN when not measured).
func (p *evalPlan) evalGroup(d *EvalData, methods []Method, g int32, s *evalScratch, out []groupEval) (best [3]float64, truthAUC float64) {
	truthAUC = math.NaN()
	copy(s.mask, d.Cat.Eligible)
	if d.ExcludeBought && d.History != nil && int(g) < d.History.Rows {
		cols, _ := d.History.Row(int(g))
		for _, c := range cols {
			s.mask[c] = false
		}
	}
	maxK := slices.Max(Ks)
	targets := p.targetsOf[g]
	inTest := len(targets) > 0
	doOracle := p.oracleSet[g]
	if doOracle {
		d.Oracle.Values(g, s.truth)
		top := topK(truth64(s.truth), s.mask, maxK, s.top[:0])
		for k, K := range Ks {
			for _, i := range top[:min(K, len(top))] {
				best[k] += s.truth[i]
			}
		}
	}
	doAUC := inTest && p.aucSet[g]
	if doAUC && d.Oracle != nil {
		if !doOracle {
			d.Oracle.Values(g, s.truth)
		}
		truthAUC = aucOf(func(i int) float64 { return s.truth[i] }, s.mask, targets)
	}
	for m, meth := range methods {
		meth.Scorer.Score(g, s.scores)
		ranked := topK(scores32(s.scores), s.mask, maxK, s.top[:0])
		a := &out[m]
		a.AUC = math.NaN()
		if doOracle {
			for k, K := range Ks {
				for _, i := range ranked[:min(K, len(ranked))] {
					a.Orc[k] += s.truth[i]
				}
			}
		}
		if !inTest {
			continue
		}
		for k, K := range Ks {
			hits, dcg := 0, 0.0
			for r, i := range ranked[:min(K, len(ranked))] {
				s.seen[m][k][i] = true
				if slices.Contains(targets, i) {
					hits++
					dcg += 1 / math.Log2(float64(r)+2)
				}
			}
			idcg := 0.0
			for r := range min(K, len(targets)) {
				idcg += 1 / math.Log2(float64(r)+2)
			}
			a.Recall[k], a.NDCG[k] = float64(hits)/float64(len(targets)), dcg/idcg
			if hits > 0 {
				a.HR[k] = 1
			}
		}
		if doAUC {
			a.AUC = aucOf(func(i int) float64 { return float64(s.scores[i]) }, s.mask, targets)
		}
	}
	return best, truthAUC
}

// evalFacts are what a report needs besides the groups' metrics.
type evalFacts struct {
	Methods      []string
	Items        int
	HasOracle    bool
	OracleGroups int
}

func (p *evalPlan) facts(d *EvalData, methods []Method) evalFacts {
	f := evalFacts{Items: d.Cat.Len(), HasOracle: d.Oracle != nil, OracleGroups: len(d.OracleGroups)}
	for _, m := range methods {
		f.Methods = append(f.Methods, m.Name)
	}
	return f
}

// report sums the metrics of every group of p.work (w holds them in that
// order) in group order.
func (p *evalPlan) report(f evalFacts, w *evalWork) *Report {
	M := len(f.Methods)
	rep := &Report{Eligible: p.eligible, Evaluated: len(p.eval), OracleGroups: f.OracleGroups, EvalGroups: p.eval}
	var orcBest [3]float64
	var aucs []float64
	for n := range p.work {
		for k := range orcBest {
			orcBest[k] += w.best[n][k]
		}
		if !math.IsNaN(w.truthAUC[n]) {
			aucs = append(aucs, w.truthAUC[n])
		}
	}
	if len(aucs) > 0 {
		rep.TruthAUC = mean(aucs)
	}
	nEval := float64(len(p.eval))
	for m, name := range f.Methods {
		res := Result{Method: name, Groups: len(p.eval), Recall: map[int]float64{}, NDCG: map[int]float64{}, HR: map[int]float64{},
			Coverage: map[int]float64{}, PerGroup: map[string][]float64{
				"hr@10": make([]float64, len(p.eval)), "ndcg@10": make([]float64, len(p.eval)), "recall@20": make([]float64, len(p.eval))}}
		var rec, nd, hr, orc [3]float64
		var auc float64
		nAUC := 0
		for n, g := range p.work {
			a := &w.per[n*M+m]
			for k := range Ks {
				rec[k], nd[k], hr[k], orc[k] = rec[k]+a.Recall[k], nd[k]+a.NDCG[k], hr[k]+a.HR[k], orc[k]+a.Orc[k]
			}
			if !math.IsNaN(a.AUC) {
				auc += a.AUC
				nAUC++
			}
			if e, ok := p.evalIndex[g]; ok {
				for k, K := range Ks {
					switch K {
					case 10:
						res.PerGroup["hr@10"][e], res.PerGroup["ndcg@10"][e] = a.HR[k], a.NDCG[k]
					case 20:
						res.PerGroup["recall@20"][e] = a.Recall[k]
					}
				}
			}
		}
		for k, K := range Ks {
			res.Recall[K], res.NDCG[K], res.HR[K] = rec[k]/nEval, nd[k]/nEval, hr[k]/nEval
			cov := 0
			for _, x := range w.seen[m][k] {
				if x {
					cov++
				}
			}
			res.Coverage[K] = float64(cov) / float64(p.eligible)
			if f.HasOracle && orcBest[k] > 0 {
				if res.OracleRatio == nil {
					res.OracleRatio = map[int]float64{}
				}
				res.OracleRatio[K] = orc[k] / orcBest[k]
			}
		}
		if nAUC > 0 {
			res.AUC = auc / float64(nAUC)
		}
		rep.Results = append(rep.Results, res)
	}
	return rep
}

type scores32 []float32

type truth64 []float64

// topK returns the k best allowed items, best first; ties go to the smaller
// index; NaN scores are never ranked. Items that pass the bar are appended
// to a buffer of 2k, which a quickselect cuts back to the best k when it
// fills; the bar is then the k-th best (before that, the worst of the first
// k), so most of a catalogue costs a load and a compare, and an item that
// passes costs O(1) amortised where a heap's would cost O(log k).
func topK[F float32 | float64](s []F, allowed []bool, k int, out []int32) []int32 {
	if k <= 0 {
		return out
	}
	buf := make([]rankEntry[F], 0, 2*k)
	set, bar := false, F(0) // once set, no item at or below bar can be among the k best
	s = s[:len(allowed)]
	// scan buffers the allowed items scoring in [from, to).
	scan := func(from, to F) {
		for i, v := range s {
			if (set && v <= bar) || v < from || v >= to || v != v || !allowed[i] { // v == bar: a tie loses to the smaller index held
				continue
			}
			buf = append(buf, rankEntry[F]{v, int32(i)})
			switch {
			case len(buf) == k && !set:
				set, bar = true, buf[0].s
				for _, x := range buf[1:] {
					bar = min(bar, x.s)
				}
			case len(buf) == 2*k:
				selectRanked(buf, k)
				buf = buf[:k]
				bar = buf[k-1].s
			}
		}
	}
	inf := F(math.Inf(1))
	seed, seeded := seedOf(s, k)
	if !seeded {
		scan(-inf, inf)
	} else if scan(seed, inf); len(buf) < k {
		// Fewer than k allowed items reach the seed (the maxima it came
		// from are items the mask drops): every one is in the buffer, and
		// the rest come from below it.
		scan(-inf, seed)
	}
	if len(buf) > k {
		selectRanked(buf, k)
		buf = buf[:k]
	}
	slices.SortFunc(buf, func(a, b rankEntry[F]) int {
		if a.better(b) {
			return -1
		}
		return 1
	})
	for _, x := range buf {
		out = append(out, x.i)
	}
	return out
}

// seedOf is, for float32 scores, the k-th largest of about 2k maxima of
// strided items (item j with j + m, j + 2m, ...: vek's elementwise maximum
// over contiguous slices), ok false when there are too few items or a NaN:
// k maxima reaching it are k distinct items that do, so when the mask
// allows them no item below it is among the k best, and about 1.4k items
// reach it.
func seedOf[F float32 | float64](s []F, k int) (F, bool) {
	f, ok := any(s).([]float32)
	if !ok || len(f) < 8*k {
		return 0, false
	}
	strides := len(f) / (2 * k)
	m := len(f) / strides
	maxes := make([]float32, m)
	copy(maxes, f[:m])
	for t := 1; t < strides; t++ {
		vek32.Maximum_Inplace(maxes, f[t*m:(t+1)*m])
	}
	es := make([]rankEntry[float32], m)
	for j, v := range maxes {
		if v != v {
			return 0, false
		}
		es[j] = rankEntry[float32]{v, int32(j)}
	}
	selectRanked(es, k)
	return F(es[k-1].s), true
}

// rankEntry is an item and its score in topK.
type rankEntry[F float32 | float64] struct {
	s F
	i int32
}

// better orders entries by score, ties to the smaller index.
func (a rankEntry[F]) better(b rankEntry[F]) bool {
	return a.s > b.s || (a.s == b.s && a.i < b.i)
}

// selectRanked reorders h so that its n best entries come first, the n-th
// best at n-1 (a quickselect, the median of three as pivot: no randomness).
func selectRanked[F float32 | float64](h []rankEntry[F], n int) {
	lo, hi := 0, len(h)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if h[mid].better(h[lo]) {
			h[lo], h[mid] = h[mid], h[lo]
		}
		if h[hi].better(h[lo]) {
			h[lo], h[hi] = h[hi], h[lo]
		}
		if h[mid].better(h[hi]) {
			h[mid], h[hi] = h[hi], h[mid]
		}
		p := h[hi] // the median of the three
		k := lo
		for j := lo; j < hi; j++ {
			if h[j].better(p) {
				h[k], h[j] = h[j], h[k]
				k++
			}
		}
		h[k], h[hi] = h[hi], h[k]
		switch {
		case k == n-1:
			return
		case k < n-1:
			lo = k + 1
		default:
			hi = k - 1
		}
	}
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
