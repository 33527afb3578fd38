package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"

	"grouprank/data"
	"grouprank/features"
)

func TestTopK(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	s := make([]float32, 500)
	allowed := make([]bool, 500)
	for i := range s {
		s[i] = float32(r.IntN(50)) // many ties
		allowed[i] = r.IntN(4) > 0
	}
	got := topK(scores32(s), allowed, 20, nil)
	var idx []int32
	for i, ok := range allowed {
		if ok {
			idx = append(idx, int32(i))
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return s[idx[a]] > s[idx[b]] })
	if !slices.Equal(got, idx[:20]) {
		t.Fatalf("topK %v\nwant %v", got, idx[:20])
	}
}

func TestAUC(t *testing.T) {
	all := []bool{true, true, true, true}
	s := []float64{0.1, 0.9, 0.2, 0.8}
	f := func(i int) float64 { return s[i] }
	if a := aucOf(f, all, []int32{1, 3}); a != 1 {
		t.Errorf("perfect %v", a)
	}
	if a := aucOf(f, all, []int32{0, 2}); a != 0 {
		t.Errorf("reversed %v", a)
	}
	if a := aucOf(func(int) float64 { return 1 }, all, []int32{0}); a != 0.5 {
		t.Errorf("ties %v", a)
	}
}

func toyData(n int) *EvalData {
	ps := make([]data.Product, n)
	for i := range ps {
		ps[i] = data.Product{SKU: data.SKU(i + 1), InStock: true}
	}
	gs := []data.Group{{ID: 1, Promoter: 1}, {ID: 2, Promoter: 1}, {ID: 3, Promoter: 1}}
	return &EvalData{Cat: features.NewCatalog(ps, data.UnknownTime), Groups: features.NewGroups(gs),
		Test:    [][]int32{{3, 7}, nil, {5}},
		History: NewInteractions(3, n, []int32{0, 2}, []int32{3, 9}, []float32{1, 1})}
}

func TestEvaluatePerfectAndWorst(t *testing.T) {
	d := toyData(100)
	perfect := ScorerFunc(func(g int32, dst []float32) {
		for i := range dst {
			dst[i] = 0
		}
		for _, i := range d.Test[g] {
			dst[i] = 1
		}
	})
	worst := ScorerFunc(func(g int32, dst []float32) {
		for i := range dst {
			dst[i] = 1
		}
		for _, i := range d.Test[g] {
			dst[i] = 0
		}
	})
	rep, err := Evaluate(context.Background(), d, []Method{{"perfect", perfect}, {"worst", worst}}, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, w := rep.Results[0], rep.Results[1]
	if rep.Evaluated != 2 || p.Recall[10] != 1 || p.NDCG[10] != 1 || p.HR[10] != 1 || p.AUC != 1 {
		t.Fatalf("perfect %+v", p)
	}
	if w.Recall[50] != 0 || w.HR[50] != 0 || w.AUC != 0 {
		t.Fatalf("worst %+v", w)
	}
	// Excluding bought items removes group 0's target 3 (bought before): recall counts 7 alone.
	d.ExcludeBought = true
	rep, _ = Evaluate(context.Background(), d, []Method{{"perfect", perfect}}, 1, nil)
	if r := rep.Results[0]; r.Recall[10] != 1 || math.IsNaN(r.NDCG[10]) || rep.Evaluated != 2 {
		t.Fatalf("exclude-bought %+v", r)
	}
	// A group whose only target it had bought before is not evaluated at all.
	d.Test[2] = []int32{9}
	rep, _ = Evaluate(context.Background(), d, []Method{{"perfect", perfect}}, 1, nil)
	if rep.Evaluated != 1 {
		t.Fatalf("evaluated %d groups, want 1", rep.Evaluated)
	}
}

func TestEvaluateRefusesEmpty(t *testing.T) {
	d := toyData(10)
	d.Test = make([][]int32, 3)
	if _, err := Evaluate(context.Background(), d, nil, 1, nil); err == nil {
		t.Fatal("no test orders accepted")
	}
	d = toyData(10)
	for i := range d.Cat.Eligible {
		d.Cat.Eligible[i] = false
	}
	if _, err := Evaluate(context.Background(), d, nil, 1, nil); err == nil {
		t.Fatal("no eligible item accepted")
	}
}

func TestPairedBootstrap(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	a, b := make([]float64, 5000), make([]float64, 5000)
	for i := range a {
		b[i] = float64(r.IntN(2))
		a[i] = b[i]
		if r.Float64() < 0.1 {
			a[i] = 1 // a is b plus about 0.05
		}
	}
	iv := PairedBootstrap(a, b, 500, 1)
	if iv.Lo <= 0 || iv.Hi >= 0.1 || iv.Lo > iv.Mean || iv.Mean > iv.Hi {
		t.Fatalf("interval %+v", iv)
	}
	if iv := PairedBootstrap(b, b, 200, 1); iv.Mean != 0 || iv.Lo != 0 || iv.Hi != 0 {
		t.Fatalf("identical %+v", iv)
	}
}

func TestEvaluateTargets(t *testing.T) {
	allowed := []bool{true, true, true, true, true}
	targets := []Target{{0, 3}, {0, 1}, {1, 2}}
	byIndex := ScorerFunc(func(_ int32, dst []float32) {
		for i := range dst {
			dst[i] = float32(i)
		}
	})
	res, err := EvaluateTargets(context.Background(), allowed, targets, func(g int32) []int32 {
		if g == 0 {
			return []int32{4} // group 0 already had item 4
		}
		return nil
	}, []Method{{"by-index", byIndex}}, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	// group 0 ranks 3,2,1,0: item 3 first, item 1 third; group 1 ranks 4,3,2: item 2 third.
	want := []float64{1, 1 / math.Log2(4), 1 / math.Log2(4)}
	for n, w := range want {
		if math.Abs(res[0].NDCG10[n]-w) > 1e-12 || res[0].HR10[n] != 1 {
			t.Fatalf("target %d: %v %v", n, res[0].NDCG10, res[0].HR10)
		}
	}
}

// batchOnly is a BatchScorer whose one-group Score must never be called;
// it records the batches it was given.
type batchOnly struct {
	f       ScorerFunc
	mu      sync.Mutex
	batches [][]int32
}

func (b *batchOnly) Score(int32, []float32) { panic("Score called on a BatchScorer") }
func (b *batchOnly) ScoreBatch(gs []int32, dsts [][]float32) {
	b.mu.Lock()
	b.batches = append(b.batches, slices.Clone(gs))
	b.mu.Unlock()
	for n, g := range gs {
		b.f(g, dsts[n])
	}
}

// TestEvaluateTargetsBatches: a BatchScorer gets every group once, in
// batches of at most ScoreBatch, and scores as its one-by-one self.
func TestEvaluateTargetsBatches(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	const items, groups = 40, 700
	allowed := make([]bool, items)
	for i := range allowed {
		allowed[i] = i%7 != 3
	}
	var targets []Target
	for g := range int32(groups) {
		for range 1 + r.IntN(3) {
			targets = append(targets, Target{g, int32(r.IntN(items))})
		}
	}
	f := ScorerFunc(func(g int32, dst []float32) {
		for i := range dst {
			dst[i] = float32((int(g)*31 + i*17) % 23)
		}
	})
	seen := func(g int32) []int32 { return []int32{g % items} }
	b := &batchOnly{f: f}
	res, err := EvaluateTargets(context.Background(), allowed, targets, seen, []Method{{"one", f}, {"batch", b}}, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res[0].NDCG10, res[1].NDCG10) || !slices.Equal(res[0].HR20, res[1].HR20) {
		t.Fatal("batched scores rank differently")
	}
	var all []int32
	for _, bt := range b.batches {
		if len(bt) == 0 || len(bt) > ScoreBatch {
			t.Fatalf("a batch of %d groups", len(bt))
		}
		all = append(all, bt...)
	}
	slices.Sort(all)
	if len(all) != groups || all[0] != 0 || all[groups-1] != groups-1 || len(slices.Compact(all)) != groups {
		t.Fatalf("%d groups scored in batches, want each of %d once", len(all), groups)
	}
}

// TestTopKRandom checks the heap against a full sort, ties (to the smaller
// index), NaNs and masked items included, for float32 and float64 scores.
func TestTopKRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for n := range 200 {
		s := make([]float32, 1+r.IntN(300))
		allowed := make([]bool, len(s))
		for i := range s {
			s[i] = float32(r.IntN(20)) // many ties
			if r.IntN(50) == 0 {
				s[i] = float32(math.NaN())
			}
			allowed[i] = r.IntN(4) != 0
		}
		k := r.IntN(25)
		var want []int32
		for i, v := range s {
			if allowed[i] && v == v {
				want = append(want, int32(i))
			}
		}
		sort.SliceStable(want, func(a, b int) bool { return s[want[a]] > s[want[b]] })
		want = want[:min(k, len(want))]
		s64 := make([]float64, len(s))
		for i, v := range s {
			s64[i] = float64(v)
		}
		if got := topK(scores32(s), allowed, k, nil); !slices.Equal(got, want) && (len(got) != 0 || len(want) != 0) {
			t.Fatalf("case %d: float32 %v, want %v", n, got, want)
		}
		if got := topK(truth64(s64), allowed, k, nil); !slices.Equal(got, want) && (len(got) != 0 || len(want) != 0) {
			t.Fatalf("case %d: float64 %v, want %v", n, got, want)
		}
	}
}

// TestSharedAndStatic: Shared computes once per group for its uses and
// forgets the group after them; RankFusion ranks a Static scorer as it
// would the same scores given per group.
func TestSharedAndStatic(t *testing.T) {
	calls := 0
	base := ScorerFunc(func(g int32, dst []float32) {
		calls++
		for i := range dst {
			dst[i] = float32(int(g)*7+i*3) - float32(i%5)
		}
	})
	sh := Shared(base, 3)
	a, b := make([]float32, 40), make([]float32, 40)
	for range 3 {
		sh.Score(2, a)
	}
	base.Score(2, b)
	calls--
	if calls != 1 || !slices.Equal(a, b) {
		t.Fatalf("3 uses of group 2: %d computations, scores equal: %v", calls, slices.Equal(a, b))
	}
	sh.Score(2, a) // a fourth use is a new round
	if calls != 2 {
		t.Errorf("the entry of group 2 was kept after its uses (%d computations)", calls)
	}
	pop := make([]float32, 40)
	for i := range pop {
		pop[i] = float32((i * 13) % 17)
	}
	withStatic := RankFusion(10, base, Static(pop))
	plain := RankFusion(10, base, ScorerFunc(func(_ int32, dst []float32) { copy(dst, pop) }))
	withStatic.Score(5, a)
	plain.Score(5, b)
	if !slices.Equal(a, b) {
		t.Errorf("RankFusion with a Static scorer: %v, with the same scores per group: %v", a, b)
	}
}

// pairedBootstrapOne is the one-series bootstrap, written out plainly: the
// reference PairedBootstraps must reproduce for each series.
func pairedBootstrapOne(a, b []float64, B int, seed uint64) Interval {
	n := len(a)
	d := make([]float64, n)
	var s float64
	for i := range d {
		d[i] = a[i] - b[i]
		s += d[i]
	}
	r := rand.New(rand.NewPCG(seed, 0xb007))
	means := make([]float64, B)
	for k := range means {
		var t float64
		for range n {
			t += d[r.IntN(n)]
		}
		means[k] = t / float64(n)
	}
	slices.Sort(means)
	return Interval{Mean: s / float64(n), Lo: means[int(0.025*float64(B))], Hi: means[min(B-1, int(0.975*float64(B)))]}
}

// TestPairedBootstrapsShareResamples: each series of PairedBootstraps gets
// exactly the interval of its own one-series bootstrap with the same seed.
func TestPairedBootstrapsShareResamples(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	b := make([]float64, 777)
	as := make([][]float64, 4)
	for i := range b {
		b[i] = float64(r.IntN(2))
	}
	for m := range as {
		as[m] = make([]float64, len(b))
		for i := range b {
			as[m][i] = r.Float64() * float64(m)
		}
	}
	got := PairedBootstraps(as, b, 300, 11)
	for m, a := range as {
		if want := pairedBootstrapOne(a, b, 300, 11); got[m] != want {
			t.Fatalf("series %d: %+v, alone %+v", m, got[m], want)
		}
	}
}

// TestRandomListsRuns: counting a list's exposures by runs gives the lists
// a plain per-exposure count gives, also when a list's exposures are not
// all together.
func TestRandomListsRuns(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	var rl RandomLists
	counts := map[string][2]int32{}
	for range 5000 {
		id := fmt.Sprint("req-", r.IntN(40))
		for range 1 + r.IntN(6) { // a run of one request, then maybe the same again later
			e := data.Exposure{RequestID: id, Propensity: r.Float64()}
			rl.Add(&e)
			c := counts[id]
			c[0]++
			if e.Propensity < 0.5 {
				c[1]++
			}
			counts[id] = c
		}
	}
	want := map[string]bool{}
	for id, c := range counts {
		if 2*c[1] > c[0] {
			want[id] = true
		}
	}
	got := rl.Requests()
	if len(got) != len(want) || len(want) == 0 || len(want) == len(counts) {
		t.Fatalf("%d random lists, want %d of %d", len(got), len(want), len(counts))
	}
	for id := range want {
		if !got[id] {
			t.Fatalf("%s not found random", id)
		}
	}
}

// TestRankOfMatchesTopK: a target's place by counting is its place in
// topK's ranking (ties to the lower index, NaN and masked items never
// ranked), and -1 beyond the depth.
func TestRankOfMatchesTopK(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for trial := range 300 {
		n := 1 + rng.IntN(60)
		s, mask := make([]float32, n), make([]bool, n)
		for i := range s {
			s[i] = float32(rng.IntN(8)) // many ties
			switch rng.IntN(12) {
			case 0:
				s[i] = float32(math.NaN())
			case 1:
				s[i] = float32(math.Inf(-1))
			}
			mask[i] = rng.IntN(5) > 0
		}
		depth := 1 + rng.IntN(20)
		ranked := topK(scores32(s), mask, depth, nil)
		for i := range n {
			if got, want := rankOf(s, mask, int32(i), depth), slices.Index(ranked, int32(i)); got != want {
				t.Fatalf("trial %d, item %d of %v (mask %v, depth %d): rankOf %d, topK place %d", trial, i, s, mask, depth, got, want)
			}
		}
	}
}
