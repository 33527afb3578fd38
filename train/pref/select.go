package pref

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"

	"grouprank/recommend"
	"grouprank/train"
)

// Split is a validation split: the history a model is fitted on and, per
// group, the items it ordered that the fit does not see.
type Split struct {
	Train   *Data
	Targets [][]int32 // per group (nil: not evaluated)
}

// HoldOut cuts a seeded per-group leave-some-out split from d: each group
// whose history has at least two distinct items, one of them ordered (or a
// seeded sample of them: ValidationGroups), keeps all but a share of
// its ordered items (at least one held out, never its whole history),
// chosen by a generator seeded with seed and the group, so the split of a
// group does not depend on the others. A held-out item leaves every row of
// the group (its orders and its pushes). Members' own rows stay in the
// history but for the held-out orders placed in the group: they are
// context, the targets are groups'.
func HoldOut(d *Data, share float64, seed uint64) *Split {
	var r, c []int32
	var w []float32
	targets := make([][]int32, d.Groups.Rows)
	sampled := sampleGroups(d, share, seed)
	for g := range d.Groups.Rows {
		cols, ws := d.Groups.Row(g)
		held := map[int32]bool{}
		if most := holdable(d, g); most > 0 && sampled(g) {
			rng := rand.New(rand.NewPCG(seed, uint64(g)+0x9e3779b97f4a7c15))
			k := heldOutCount(d, g, share)
			for _, p := range rng.Perm(len(cols))[:k] {
				held[cols[p]] = true
				targets[g] = append(targets[g], cols[p])
			}
			slices.Sort(targets[g])
		}
		for k, j := range cols {
			if !held[j] {
				r, c, w = append(r, int32(g)), append(c, j), append(w, ws[k])
			}
		}
	}
	t := *d
	t.Groups = train.NewInteractions(d.Groups.Rows, d.Items, r, c, w)
	t.Members, t.Placed = withoutHeld(d, targets)
	t.Of = knownMembers(d, t.Placed, targets)
	if d.hasPushes() {
		var r, c []int32
		var w []float32
		for g := range d.Pushed.Rows {
			cols, ws := d.Pushed.Row(g)
			for k, j := range cols {
				if _, held := slices.BinarySearch(targets[g], j); !held {
					r, c, w = append(r, int32(g)), append(c, j), append(w, ws[k])
				}
			}
		}
		t.Pushed = train.NewInteractions(d.Pushed.Rows, d.Items, r, c, w)
	}
	return &Split{Train: &t, Targets: targets}
}

// holdable is how many of group g's ordered items a split may hold out so
// that its history keeps at least one item: its ordered items minus one, or
// all of them when it was also pushed items it did not order.
func holdable(d *Data, g int) int {
	cols, _ := d.Groups.Row(g)
	if len(cols) == 0 {
		return 0
	}
	if len(d.Seen(int32(g))) > len(cols) {
		return len(cols)
	}
	return len(cols) - 1
}

// knownMembers is the membership a split may use. Where a group's orders
// name their buyers, a member may be known only through an order the split
// holds out (a group-buying log lists the people who joined each buy, so the
// held-out buy's buyer is a member because of it, and their own row then
// points at the held-out item): a member who placed one of the group's
// held-out orders and none of its remaining ones is dropped from it. Members
// who placed none of the group's orders (a buy's initiator, members listed
// as such) stay, as they stay in the history a later test reads; groups
// whose orders name no buyer keep every member (credited them or not).
func knownMembers(d *Data, placed [][]Placed, targets [][]int32) *train.Interactions {
	if d.Of == nil {
		return nil
	}
	var r, c []int32
	var w []float32
	changed := false
	for g := range d.Of.Rows {
		ms, ws := d.Of.Row(g)
		var drop []int32 // buyers of held-out orders only
		if g < len(targets) && len(targets[g]) > 0 && g < len(d.Placed) {
			for _, p := range d.Placed[g] {
				if p.Credited { // a member credited the group's orders is a member by the members table
					continue
				}
				if _, held := slices.BinarySearch(targets[g], p.Item); held &&
					!slices.ContainsFunc(placed[g], func(q Placed) bool { return q.Member == p.Member }) {
					drop = append(drop, p.Member)
				}
			}
		}
		for k, m := range ms {
			if slices.Contains(drop, m) {
				changed = true
				continue
			}
			r, c, w = append(r, int32(g)), append(c, m), append(w, ws[k])
		}
	}
	if !changed {
		return d.Of
	}
	return train.NewInteractions(d.Of.Rows, d.Of.Cols, r, c, w)
}

// withoutHeld removes the held-out orders (a group's target items placed in
// it by a known buyer) from the members' rows and the placed lists, so no
// row the models learn from holds them.
func withoutHeld(d *Data, targets [][]int32) (*train.Interactions, [][]Placed) {
	return withoutPlaced(d, func(g int, p Placed) bool {
		if g >= len(targets) {
			return false
		}
		_, held := slices.BinarySearch(targets[g], p.Item)
		return held
	})
}

// withoutPlaced removes the placed orders drop says (each in group g) from
// the members' rows and the placed lists.
func withoutPlaced(d *Data, drop func(g int, p Placed) bool) (*train.Interactions, [][]Placed) {
	if d.Members == nil || len(d.Placed) == 0 {
		return d.Members, d.Placed
	}
	placed := make([][]Placed, len(d.Placed))
	type key struct{ m, i int32 }
	minus := map[key]float32{}
	for g, ps := range d.Placed {
		for _, p := range ps {
			if drop(g, p) {
				minus[key{p.Member, p.Item}] += p.Weight
				continue
			}
			placed[g] = append(placed[g], p)
		}
	}
	if len(minus) == 0 {
		return d.Members, placed
	}
	var r, c []int32
	var w []float32
	for m := range d.Members.Rows {
		cols, ws := d.Members.Row(m)
		for k, i := range cols {
			if x := ws[k] - minus[key{int32(m), i}]; x > 1e-6 {
				r, c, w = append(r, int32(m)), append(c, i), append(w, x)
			}
		}
	}
	return train.NewInteractions(d.Members.Rows, d.Items, r, c, w), placed
}

// A split evaluates every group that can hold items out, or, when there
// are more, a seeded sample of them: the first in a seeded order until it
// has ValidationGroups groups and at least ValidationTargets held-out items
// (the others keep all of theirs for training). With one held-out item per
// group, 5,000 groups measure NDCG@10 with a standard error as large as the
// differences between the settings being compared; the target floor keeps
// that error near a third of it.
const (
	ValidationGroups  = 5000
	ValidationTargets = 40000
)

// sampleGroups says which groups that can hold items out a split holds out
// from (see ValidationGroups). share is the split's held-out share.
func sampleGroups(d *Data, share float64, seed uint64) func(g int) bool {
	var eligible []int
	for g := range d.Groups.Rows {
		if holdable(d, g) > 0 {
			eligible = append(eligible, g)
		}
	}
	if len(eligible) <= ValidationGroups {
		return func(int) bool { return true }
	}
	shuffle(eligible, seed, 0x5bd1e995)
	keep := make(map[int]bool, ValidationGroups)
	targets := 0
	for _, g := range eligible {
		if len(keep) >= ValidationGroups && targets >= ValidationTargets {
			break
		}
		keep[g] = true
		targets += heldOutCount(d, g, share)
	}
	return func(g int) bool { return keep[g] }
}

// shuffle puts ids in a seeded order in which each id's place depends only
// on the seed, the salt and the id (not on the other ids).
func shuffle(ids []int, seed, salt uint64) {
	key := func(x int) uint64 { return rand.New(rand.NewPCG(seed, uint64(x)^salt)).Uint64() }
	slices.SortFunc(ids, func(a, b int) int {
		ka, kb := key(a), key(b)
		switch {
		case ka < kb:
			return -1
		case ka > kb:
			return 1
		}
		return a - b
	})
}

// heldOutCount is how many items a split holds out of group g: share of
// its ordered items, at least one, at most holdable.
func heldOutCount(d *Data, g int, share float64) int {
	cols, _ := d.Groups.Row(g)
	return min(max(1, int(math.Round(share*float64(len(cols))))), holdable(d, g))
}

// Groups is how many groups the split evaluates.
func (s *Split) Groups() int {
	n := 0
	for _, t := range s.Targets {
		if len(t) > 0 {
			n++
		}
	}
	return n
}

// NDCG is the mean full-ranking NDCG@k of the targets, each group ranking
// every item but those of its history (Data.Seen); ties go to the lower item index.
func NDCG(ctx context.Context, m Model, s *Split, k, workers int) (float64, error) {
	v, err := ndcgEach(ctx, s, k, workers, 1, func(g int32, dsts [][]float32) { m.Score(g, dsts[0]) })
	if err != nil {
		return 0, err
	}
	return v[0], nil
}

// ndcgEach is NDCG for n rankings at once: score writes group g's n score
// vectors (each over every item), so work they share is done once a group.
func ndcgEach(ctx context.Context, s *Split, k, workers, n int, score func(g int32, dsts [][]float32)) ([]float64, error) {
	var gs []int32
	for g, t := range s.Targets {
		if len(t) > 0 {
			gs = append(gs, int32(g))
		}
	}
	if len(gs) == 0 {
		return nil, errors.New("pref: the validation split holds no group")
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	per := make([][]float64, n)
	for j := range per {
		per[j] = make([]float64, len(gs))
	}
	parts := s.Train.Parts
	owner := func(x int) int { return parts.rowPart(s.Train, int(gs[x])) }
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(workers)
	const block = 64
	for lo := 0; lo < len(gs); lo += block {
		eg.Go(func() error {
			dsts := make([][]float32, n)
			for j := range dsts {
				dsts[j] = make([]float32, s.Train.Items)
			}
			for x := lo; x < min(lo+block, len(gs)); x++ {
				if ectx.Err() != nil {
					return ectx.Err()
				}
				if !parts.mine(owner, x) {
					continue
				}
				g := gs[x]
				score(g, dsts)
				for j, dst := range dsts {
					per[j][x] = ndcgOf(dst, s.Train.Seen(g), s.Targets[g], k)
				}
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	if parts != nil {
		if err := parts.joinSegments(ctx, "ndcg", len(gs), nil, owner, per...); err != nil {
			return nil, err
		}
	}
	out := make([]float64, n)
	for j := range per {
		var sum float64
		for _, v := range per[j] {
			sum += v
		}
		out[j] = sum / float64(len(gs))
	}
	return out, nil
}

// blendNDCG is NDCG of b at each weight of ws (b's own Weight aside),
// each part scored once a group: the scores Blend.Score gives at that
// weight, computed the same way.
func blendNDCG(ctx context.Context, b *Blend, s *Split, workers int, ws []float64) ([]float64, error) {
	return ndcgEach(ctx, s, 10, workers, len(ws), func(g int32, dsts [][]float32) {
		first := dsts[0]
		b.Parts[0].Score(g, first)
		tmp := scratchScores(len(first))
		defer scoreScratch.Put(tmp)
		b.Parts[1].Score(g, *tmp)
		w0 := b.Scale[0]
		for j := len(ws) - 1; j >= 0; j-- { // dsts[0] last: it holds the first part's scores until then
			w1 := float32(ws[j]) * b.Scale[1]
			dst := dsts[j]
			for i, v := range *tmp {
				dst[i] = w0*first[i] + w1*v
			}
		}
	})
}

// ndcgOf is NDCG@k of targets in the ranking of scores, items in seen left out.
func ndcgOf(scores []float32, seen, targets []int32, k int) float64 {
	top := TopK(scores, seen, k)
	var dcg, idcg float64
	for r, i := range top {
		if _, ok := slices.BinarySearch(targets, i); ok {
			dcg += 1 / math.Log2(float64(r)+2)
		}
	}
	for r := range min(k, len(targets)) {
		idcg += 1 / math.Log2(float64(r)+2)
	}
	return dcg / idcg
}

// TopK is the k best items by score (ties: lower index first), skipping the
// sorted list skip.
func TopK(scores []float32, skip []int32, k int) []int32 {
	type e struct {
		i int32
		v float32
	}
	top := make([]e, 0, k+1)
	worse := func(a, b e) bool { return a.v < b.v || (a.v == b.v && a.i > b.i) }
	if k <= 0 {
		return nil
	}
	// Once k are held, an item must beat the last of them, which came
	// from an earlier index: by a higher score (NaN never does). barV is
	// that score; the scan jumps over the scores below the next float
	// above it (those at most barV), 8 at a time, and looks at the others
	// one by one.
	full, barV, above := false, float32(0), float32(0)
	for i := 0; i < len(scores); i++ {
		if full {
			if i += recommend.SkipBelow(scores[i:], above); i == len(scores) {
				break
			}
		}
		v := scores[i]
		if full && !(barV < v) {
			continue
		}
		if _, ok := slices.BinarySearch(skip, int32(i)); ok {
			continue
		}
		x := e{int32(i), v}
		p := sort.Search(len(top), func(n int) bool { return worse(top[n], x) })
		top = slices.Insert(top, p, x)
		if len(top) > k {
			top = top[:k]
		}
		if len(top) == k {
			full, barV = true, top[k-1].v
			above = math.Nextafter32(barV, float32(math.Inf(1)))
		}
	}
	out := make([]int32, len(top))
	for n, x := range top {
		out[n] = x.i
	}
	return out
}

// knob is one setting searched, over a grid of values.
type knob struct {
	name   string
	values []float64
	set    func(*Config, float64)
	get    func(*Config) float64
	// most bounds the values beyond the grid's largest (0: none); a grid
	// holding 0 is never extended below its smallest.
	most float64
	// coarse knobs are not refined between their grid's values (iALS
	// factors: a size, its cost growing with it).
	coarse bool
}

// maxPasses bounds the coordinate passes over the knobs; refineLevels the
// levels of midpoints between grid values after them.
const (
	maxPasses    = 4
	refineLevels = 2
)

// near is the grid's values next to v: the largest below it and the
// smallest above it.
func (k knob) near(v float64) []float64 {
	var lo, hi float64
	hasLo, hasHi := false, false
	for _, x := range k.values {
		if x < v && (!hasLo || x > lo) {
			lo, hasLo = x, true
		}
		if x > v && (!hasHi || x < hi) {
			hi, hasHi = x, true
		}
	}
	var out []float64
	if hasLo {
		out = append(out, lo)
	}
	if hasHi {
		out = append(out, hi)
	}
	return out
}

// between is, at refinement level L, the values a 2^L-th of the way in
// log scale from v toward the grid's values next to it (up first), at 3
// significant digits: 0.1 between 0.03 and 0.3 gives 0.173 and 0.0548 at
// level 1. A knob at 0, or coarse, has none; toward 0 the step is the one
// up.
func (k knob) between(v float64, level int) []float64 {
	if k.coarse || v <= 0 {
		return nil
	}
	near := k.near(v)
	var ratios []float64
	for _, n := range near {
		if n > v {
			ratios = append(ratios, n/v)
		}
	}
	for _, n := range near {
		if n < v {
			if n > 0 {
				ratios = append(ratios, n/v)
			} else if len(ratios) > 0 {
				ratios = append(ratios, 1/ratios[0])
			}
		}
	}
	var out []float64
	for _, r := range ratios {
		x, _ := strconv.ParseFloat(strconv.FormatFloat(v*math.Pow(r, math.Pow(0.5, float64(level))), 'g', 3, 64), 64)
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

// beyond is the next value past the grid's edge the search stands on at v
// (up: past the largest), continuing the grid's pattern: each value is the
// one two places back times the ratio of the two before it (..., 300, 1000
// go on 3000, 10000; 32, 64, 128 go on 256). ok is false where the grid
// does not extend: it holds 0 (going down), fewer than three values, or
// the value would pass most.
func (k knob) beyond(v float64, up bool) (next float64, ok bool) {
	g := slices.Clone(k.values)
	slices.Sort(g)
	if len(g) < 3 || g[0] < 0 || (!up && g[0] == 0) {
		return 0, false
	}
	if up {
		if v < g[len(g)-1] || g[len(g)-3] <= 0 {
			return 0, false
		}
		for n := len(g); g[n-1] <= v; n++ {
			g = append(g, round12(g[n-2]*g[n-1]/g[n-3]))
		}
		next = g[len(g)-1]
		if k.most > 0 && next > k.most {
			return 0, false
		}
		return next, true
	}
	if v > g[0] {
		return 0, false
	}
	for g[0] >= v {
		g = slices.Insert(g, 0, round12(g[1]*g[0]/g[2]))
	}
	return g[0], true
}

// round12 rounds x to 12 significant digits: the grid's pattern continued
// in floating point without its last bits (10, not 10.000000000000002).
func round12(x float64) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 12, 64), 64)
	return r
}

// knobs lists a method's settings and their grids; the first value of each
// is where the search starts. Consensus and MemberRows are searched only
// when members have own orders, PushWeight only when pushes led to no order.
func knobs(method string, members, pushes bool) []knob {
	var ks []knob
	if members && method != MethodPopular && method != MethodMembers {
		ks = append(ks, knob{"consensus", []float64{0, 0.1, 0.3, 1, 3, 10}, func(c *Config, v float64) { c.Consensus = v }, func(c *Config) float64 { return c.Consensus }, 0, false},
			knob{"member_rows", []float64{0, 0.3, 1, 3}, func(c *Config, v float64) { c.MemberRows = v }, func(c *Config) float64 { return c.MemberRows }, 0, false})
	}
	if pushes && method != MethodPopular && method != MethodMembers {
		ks = append(ks, knob{"push_weight", []float64{0, 0.1, 0.3, 1}, func(c *Config, v float64) { c.PushWeight = v }, func(c *Config) float64 { return c.PushWeight }, 0, false})
	}
	switch method {
	case MethodEASE:
		ks = append(ks, knob{"lambda", []float64{1, 0.1, 0.3, 3, 10, 30, 100, 300, 1000}, func(c *Config, v float64) { c.Lambda = v }, func(c *Config) float64 { return c.Lambda }, 0, false})
	case MethodGraph:
		ks = append(ks, knob{"order2", []float64{0, 0.1, 0.3, 1, 3}, func(c *Config, v float64) { c.Order2 = v }, func(c *Config) float64 { return c.Order2 }, 0, false})
	case MethodIALS:
		ks = append(ks, knob{"factors", []float64{32, 8, 16, 64, 128}, func(c *Config, v float64) { c.Factors = int(v) }, func(c *Config) float64 { return float64(c.Factors) }, MaxSearchFactors, true},
			knob{"reg", []float64{0.01, 0.001, 0.1, 1}, func(c *Config, v float64) { c.Reg = v }, func(c *Config) float64 { return c.Reg }, 0, false},
			knob{"alpha0", []float64{0.05, 0.01, 0.2, 1}, func(c *Config, v float64) { c.Alpha0 = v }, func(c *Config) float64 { return c.Alpha0 }, 0, false},
			knob{"confidence", []float64{4, 1, 16, 64}, func(c *Config, v float64) { c.Confidence = v }, func(c *Config) float64 { return c.Confidence }, 0, false})
	}
	return ks
}

// MaxSearchFactors bounds the iALS factors the search goes to past its grid.
const MaxSearchFactors = 256

// Trial is one configuration tried on the validation split.
type Trial struct {
	Config Config  `json:"config"`
	NDCG10 float64 `json:"ndcg10"`
	Millis int64   `json:"millis"`
	// Skipped says why this configuration does not apply to the data (its
	// NDCG10 is then 0 and it is never chosen).
	Skipped string `json:"skipped,omitempty"`
}

// Search is one method's best configuration on a validation split.
type Search struct {
	Method  string  `json:"method"`
	Best    *Config `json:"best,omitempty"` // nil when skipped
	NDCG10  float64 `json:"ndcg10"`
	Trials  []Trial `json:"trials"`
	Skipped string  `json:"skipped,omitempty"`
	Millis  int64   `json:"millis"`
	// Cold is the best setting on the cold split (nil: not checked).
	Cold *ColdCheck `json:"cold,omitempty"`
}

// Validation is one or more splits of the same history (repeated hold-out):
// a configuration's score is its mean NDCG@10 over them.
type Validation []*Split

// LargeLines is the groups' order lines above which AutoFolds is 1.
const LargeLines = 100_000

// AutoFolds is the number of repeated hold-outs for d: 3, or 1 when the
// groups' order lines exceed LargeLines (each fold refits every setting).
func AutoFolds(d *Data) int {
	if d.Groups.NNZ() > LargeLines {
		return 1
	}
	return 3
}

// HoldOuts cuts folds splits with seeds seed, seed+1, ... (folds 0: AutoFolds):
// of the groups (HoldOut), or of the members where ProbesMembers says so.
func HoldOuts(d *Data, share float64, folds int, seed uint64) Validation {
	if folds <= 0 {
		folds = AutoFolds(d)
	}
	cut := HoldOut
	if ProbesMembers(d) {
		cut = MemberHoldOut
	}
	v := make(Validation, folds)
	for k := range v {
		v[k] = cut(d, share, seed+uint64(k))
	}
	return v
}

// Groups is the number of evaluated groups, summed over the splits.
func (v Validation) Groups() int {
	n := 0
	for _, s := range v {
		n += s.Groups()
	}
	return n
}

// Score fits c on every split and averages its NDCG@10.
func (v Validation) Score(ctx context.Context, c Config, seed uint64, workers int) (float64, error) {
	return v.score(ctx, c, seed, workers, nil)
}

// score is Score with the item-item matrices of cache (nil: none).
func (v Validation) score(ctx context.Context, c Config, seed uint64, workers int, cache *itemItemCache) (float64, error) {
	var sum float64
	for _, s := range v {
		m, err := fitWith(ctx, s.Train, c, seed, workers, cache)
		if err != nil {
			return 0, err
		}
		x, err := NDCG(ctx, m, s, 10, workers)
		if err != nil {
			return 0, err
		}
		sum += x
	}
	return sum / float64(len(v)), nil
}

// SearchMethod tunes one method on the validation splits by coordinate
// ascent: each knob in turn over its grid, the others held, for two passes
// or until budget trials have run. Every configuration is fitted with the
// same seed.
func SearchMethod(ctx context.Context, val Validation, method string, budget int, seed uint64, workers int) (*Search, error) {
	return searchMethod(ctx, val, method, budget, seed, workers, nil)
}

// Progress hears a model search as it goes (either may be nil): Trial after
// each configuration a method's search tried, with how many it has tried,
// and Done when the method's search ended.
type Progress struct {
	Trial func(method string, trials int)
	Done  func(method string, s *Search)
}

func (p Progress) trial(method string) func(int) {
	if p.Trial == nil {
		return nil
	}
	return func(n int) { p.Trial(method, n) }
}

// credited is p naming the methods "method (what)": one of the searches
// on the data with the credited orders and without them.
func (p Progress) credited(what string) Progress {
	out := Progress{}
	if p.Trial != nil {
		out.Trial = func(method string, n int) { p.Trial(method+" ("+what+")", n) }
	}
	if p.Done != nil {
		out.Done = func(method string, s *Search) { p.Done(method+" ("+what+")", s) }
	}
	return out
}

// searchMethod is SearchMethod telling trial (nil: no one) how many
// configurations it has tried after each.
func searchMethod(ctx context.Context, val Validation, method string, budget int, seed uint64, workers int, trial func(int)) (*Search, error) {
	t0 := time.Now()
	out := &Search{Method: method}
	ks := knobs(method, val[0].Train.hasMembers(), val[0].Train.hasPushes())
	cur := Config{Method: method}
	for _, k := range ks {
		k.set(&cur, k.values[0])
	}
	tried := map[string]float64{}
	cache := &itemItemCache{}
	try := func(c Config) (float64, error) {
		key := keyOf(c)
		if v, ok := tried[key]; ok {
			return v, nil
		}
		t := time.Now()
		v, err := val.score(ctx, c, seed, workers, cache)
		if err != nil {
			return 0, err
		}
		tried[key] = v
		out.Trials = append(out.Trials, Trial{Config: c, NDCG10: v, Millis: time.Since(t).Milliseconds()})
		if trial != nil {
			trial(len(out.Trials))
		}
		return v, nil
	}
	best, err := try(cur)
	var sk *SkippedError
	if errors.As(err, &sk) {
		out.Skipped = sk.Reason
		out.Millis = time.Since(t0).Milliseconds()
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	// tryAt scores cur with knob k at v; ok is false when that does not
	// apply to the data (recorded as a skipped trial).
	tryAt := func(k knob, v float64) (c Config, s float64, ok bool, err error) {
		c = cur
		k.set(&c, v)
		s, err = try(c)
		if errors.As(err, &sk) {
			tried[keyOf(c)] = 0
			out.Trials = append(out.Trials, Trial{Config: c, Skipped: sk.Reason})
			return c, 0, false, nil
		}
		if err != nil {
			return c, 0, false, fmt.Errorf("pref: %s %s=%g: %w", method, k.name, v, err)
		}
		return c, s, true, nil
	}
	// share is, per knob and value, the best score it reached over the
	// best of the search when it was tried: a value far under 1 everywhere
	// broke the model (iALS's reg 1 collapses it to popularity).
	share := map[string]float64{}
	// better tries knob k at v and moves there when that scores higher.
	better := func(k knob, v float64) (bool, error) {
		c, sc, ok, err := tryAt(k, v)
		if best > 0 {
			key := k.name + "=" + strconv.FormatFloat(v, 'g', -1, 64)
			share[key] = max(share[key], sc/best)
		}
		if err != nil || !ok || sc <= best+1e-12 {
			return false, err
		}
		best, cur = sc, c
		return true, nil
	}
	// broken reports a value that scored under half the search's best
	// wherever it was tried: later passes do not spend trials on it again.
	broken := func(k knob, v float64) bool {
		x, ok := share[k.name+"="+strconv.FormatFloat(v, 'g', -1, 64)]
		return ok && x < 0.5
	}
	// The first pass sweeps each knob's whole grid; later ones, while a
	// pass improves, only the grid's values next to where the search
	// stands (a knob's far values were tried once and rarely come back),
	// and not those that broke the model where they were tried.
	for pass := 0; pass < maxPasses && len(out.Trials) < budget; pass++ {
		improved := false
		for _, k := range ks {
			values := k.values
			if pass > 0 {
				values = k.near(k.get(&cur))
			}
			for _, v := range values {
				if len(out.Trials) >= budget {
					break
				}
				if pass > 0 && broken(k, v) {
					continue
				}
				moved, err := better(k, v)
				if err != nil {
					return nil, err
				}
				improved = improved || moved
			}
			// Standing on the grid's edge, the search goes on past it, a
			// geometric step at a time, while that improves.
			for _, up := range []bool{true, false} {
				for len(out.Trials) < budget {
					next, ok := k.beyond(k.get(&cur), up)
					if !ok {
						break
					}
					moved, err := better(k, next)
					if err != nil {
						return nil, err
					}
					if !moved {
						break
					}
					improved = true
				}
			}
		}
		if !improved {
			break
		}
	}
	// Then between the grid's values: each knob's geometric midpoints
	// toward its grid neighbours around the best, then a quarter of the
	// way.
	for level := 1; level <= refineLevels && len(out.Trials) < budget; level++ {
		for _, k := range ks {
			v := k.get(&cur)
			for _, next := range k.between(v, level) {
				if len(out.Trials) >= budget {
					break
				}
				moved, err := better(k, next)
				if err != nil {
					return nil, err
				}
				if moved {
					break
				}
			}
		}
	}
	out.Best, out.NDCG10, out.Millis = &cur, best, time.Since(t0).Milliseconds()
	return out, nil
}

func keyOf(c Config) string {
	return c.Method + "/" + strconv.FormatFloat(c.Consensus, 'g', -1, 64) + "/" + strconv.FormatFloat(c.MemberRows, 'g', -1, 64) + "/" +
		strconv.FormatFloat(c.Lambda, 'g', -1, 64) + "/" + strconv.FormatFloat(c.Order2, 'g', -1, 64) + "/" + strconv.Itoa(c.Factors) + "/" +
		strconv.FormatFloat(c.Alpha0, 'g', -1, 64) + "/" + strconv.FormatFloat(c.Reg, 'g', -1, 64) + "/" + strconv.FormatFloat(c.Confidence, 'g', -1, 64) + "/" + strconv.FormatFloat(c.PushWeight, 'g', -1, 64)
}

// Selection is the outcome of SelectModel: every method's search and the chosen one.
type Selection struct {
	Split    string    `json:"split"`
	Groups   int       `json:"validation_groups"`
	Seed     uint64    `json:"seed"`
	Budget   int       `json:"budget_trials_per_method"`
	Searches []*Search `json:"searches"`
	Chosen   Config    `json:"chosen"`
	NDCG10   float64   `json:"chosen_ndcg10"`
	Millis   int64     `json:"millis"`
	// MembersHeld is the share of the groups' held-out items that one of the
	// group's members has among their orders in the split's history.
	MembersHeld float64 `json:"held_out_in_members_share,omitempty"`
	// Credit, when some member is credited a group's order that names no
	// buyer, is the choice between the data with those orders and without
	// (the searches are those of the chosen data); nil otherwise.
	Credit *CreditChoice `json:"credit,omitempty"`
	// Cold is the chosen model on the cold split, which sets its
	// ColdMembers (nil: no group's members ordered elsewhere).
	Cold *ColdCheck `json:"cold,omitempty"`
	cold *Split     // the cold split (nil: none)
}

// MembersHeld is the share of v's held-out group items (over every split)
// that one of the group's members has among their orders outside the
// group in the split's history (own, or credited from another group): a
// member's own record stays history (decision record 0008), so a share
// near 1 says the groups' records copy the members' and validation rewards
// the members' signals for it. 0 without members.
func (v Validation) MembersHeld() float64 {
	var in, all int
	have := map[int32]bool{}
	for _, s := range v {
		d := s.Train
		if d.Of == nil || d.Members == nil {
			continue
		}
		for g, ts := range s.Targets {
			if len(ts) == 0 || g >= d.Of.Rows {
				continue
			}
			clear(have)
			ms, _ := d.Of.Row(g)
			for _, m := range ms {
				if int(m) < d.Members.Rows {
					cols, _ := d.Members.Row(int(m))
					for _, i := range cols {
						have[i] = true
					}
				}
			}
			for _, i := range ts {
				all++
				if have[i] {
					in++
				}
			}
		}
	}
	if all == 0 {
		return 0
	}
	return float64(in) / float64(all)
}

// SelectModel searches every method on split and chooses the best by
// validation NDCG@10 (ties: the earlier, simpler method in Methods) among
// those the service can run (all but the members' count, a reference).
// When the validation's members are credited orders (their groups' orders
// that name no buyer), the search runs on the data with them and without,
// and the better is kept (Selection.Credit; Selection.Data and Validation
// give the data the chosen model reads).
//
// The chosen setting's ColdMembers is then set on the cold split
// (ColdHoldOut of the first split's history, seeded with seed), when some
// group's members ordered elsewhere.
func SelectModel(ctx context.Context, val Validation, splitName string, methods []string, budget int, seed uint64, workers int,
	progress Progress) (*Selection, error) {
	var cold *Split
	if len(val) > 0 {
		if cold = ColdHoldOut(val[0].Train, seed); cold.Groups() == 0 {
			cold = nil
		}
	}
	if val.hasCredit() {
		return selectCredit(ctx, val, cold, splitName, methods, budget, seed, workers, progress)
	}
	return selectModel(ctx, val, cold, splitName, methods, budget, seed, workers, progress)
}

// selectModel is SelectModel on the data as they are, checking the chosen
// setting on cold (nil: none).
func selectModel(ctx context.Context, val Validation, cold *Split, splitName string, methods []string, budget int, seed uint64, workers int,
	progress Progress) (*Selection, error) {
	t0 := time.Now()
	sel := &Selection{Split: splitName, Groups: val.Groups(), Seed: seed, Budget: budget, MembersHeld: val.MembersHeld()}
	found := false
	var chosen *Search
	for _, name := range methods {
		if name == MethodBlend {
			continue
		}
		s, err := searchMethod(ctx, val, name, budget, seed, workers, progress.trial(name))
		if err != nil {
			return nil, err
		}
		sel.Searches = append(sel.Searches, s)
		if progress.Done != nil {
			progress.Done(name, s)
		}
		// The members' count is a reference only: it cannot be served.
		if s.Best != nil && name != MethodMembers && (!found || s.NDCG10 > sel.NDCG10+1e-12) {
			sel.Chosen, sel.NDCG10, found, chosen = *s.Best, s.NDCG10, true, s
		}
	}
	if !found {
		return nil, errors.New("pref: no method could be fitted")
	}
	if slices.Contains(methods, MethodBlend) {
		s, err := searchBlend(ctx, val, sel.Searches, budget, seed, workers, progress.trial(MethodBlend))
		if err != nil {
			return nil, err
		}
		sel.Searches = append(sel.Searches, s)
		if progress.Done != nil {
			progress.Done(MethodBlend, s)
		}
		if s.Best != nil && s.NDCG10 > sel.NDCG10+1e-12 {
			sel.Chosen, sel.NDCG10, chosen = *s.Best, s.NDCG10, s
		}
	}
	if cold != nil {
		if err := checkCold(ctx, cold, chosen, seed, workers); err != nil {
			return nil, err
		}
		sel.Chosen.ColdMembers, sel.Cold, sel.cold = chosen.Best.ColdMembers, chosen.Cold, cold
	}
	sel.Millis = time.Since(t0).Milliseconds()
	return sel, nil
}

// blendWeights is the grid of a blend's second-part weight, and blendSteps
// how many weights past either edge the search may go.
var blendWeights = []float64{0.25, 0.5, 1, 2, 4}

const blendSteps = 4

// searchBlend blends the best searched method (never the members' counts,
// a reference that may only be a later part) with each other one that can
// be served beside it (at the best's push weight if its own differs), best
// on validation first, and searches the weight of the second; each part is
// fitted once per split, and the best pair and weight on validation wins
// (ties: the better partner, the lower weight). Then, forward, it adds to
// the blend the partner whose best weight raises validation most, while
// one does (a blend of the blend and that part, the blend's own scores
// standardised as a part's are), so the validation decides how many parts
// the model has. Partners are tried while the trials stay within budget
// (budget for the pairs, as much again for the additions: a trial here
// refits nothing); one that does not apply to the data at the best's push
// weight is passed over.
func searchBlend(ctx context.Context, val Validation, searches []*Search, budget int, seed uint64, workers int, trial func(int)) (*Search, error) {
	t0 := time.Now()
	out := &Search{Method: MethodBlend}
	var cand []*Search
	for _, s := range searches {
		if s.Best != nil {
			cand = append(cand, s)
		}
	}
	if len(cand) < 2 {
		out.Skipped = "fewer than two methods were fitted"
		return out, nil
	}
	slices.SortStableFunc(cand, func(a, b *Search) int { return cmp.Compare(b.NDCG10, a.NDCG10) })
	// the members' counts are a reference: a partner, never the first part
	if k := slices.IndexFunc(cand, func(s *Search) bool { return s.Method != MethodMembers }); k > 0 {
		first := cand[k]
		cand = slices.Insert(slices.Delete(cand, k, k+1), 0, first)
	}
	var partners []Config
	for _, s := range cand[1:] {
		c := *s.Best
		if c.Method == MethodMembers && isDense(cand[0].Best.Method) {
			// one item-item row serves both parts: the members' counts
			// rank the same at any positive consensus
			c.Consensus = cand[0].Best.Consensus
		}
		if !servable(*cand[0].Best, c) {
			// the service reads pushes at one weight: the partner at the best's
			c.PushWeight = cand[0].Best.PushWeight
		}
		if servable(*cand[0].Best, c) {
			partners = append(partners, c)
		}
	}
	if len(partners) == 0 {
		out.Skipped = "no method can be served beside " + cand[0].Method
		return out, nil
	}
	first := make([]Model, len(val))
	for k, s := range val {
		m, err := Fit(ctx, s.Train, *cand[0].Best, seed, workers)
		if err != nil {
			return nil, err
		}
		first[k] = m
	}
	// weigh searches the weight of part next (fitted per split) added to
	// base (per split; config cur), from the grid and past its edges; it
	// returns the best validation NDCG@10, that weight and the blends at it.
	weigh := func(base []Model, cur Config, next Config, fitted []Model) (float64, float64, []Model, error) {
		models := make([]*Blend, len(val))
		for k, s := range val {
			models[k] = NewBlend(base[k], fitted[k], s.Train.Groups.Rows, s.Train.Items, 1)
		}
		// score is the validation NDCG@10 at each of ws, each part scored
		// once a group for them all; record says how many of them are
		// trials (the others were scored ahead and not needed).
		score := func(ws []float64) (vs []float64, record func(n int), err error) {
			t := time.Now()
			vs = make([]float64, len(ws))
			for k, s := range val {
				x, err := blendNDCG(ctx, models[k], s, workers, ws)
				if err != nil {
					return nil, nil, err
				}
				for j := range vs {
					vs[j] += x[j]
				}
			}
			for j := range vs {
				vs[j] /= float64(len(val))
			}
			ms := time.Since(t).Milliseconds() / int64(len(ws))
			return vs, func(n int) {
				for j := range n {
					c := Config{Method: MethodBlend, Parts: []Config{cur, next}, Weight: ws[j]}
					out.Trials = append(out.Trials, Trial{Config: c, NDCG10: vs[j], Millis: ms})
					if trial != nil {
						trial(len(out.Trials))
					}
				}
			}, nil
		}
		vs, record, err := score(blendWeights)
		if err != nil {
			return 0, 0, nil, err
		}
		record(len(vs))
		pbest, pw := -1.0, 0.0
		for j, v := range vs {
			if v > pbest+1e-12 {
				pbest, pw = v, blendWeights[j]
			}
		}
		// Standing on the weights' edge, go on past it while that improves
		// (no refit: the parts stay, only their weight moves), at most
		// blendSteps weights each way: the steps are scored together, and
		// those after the first that does not improve are not trials.
		wk := knob{name: "weight", values: blendWeights}
		for _, up := range []bool{true, false} {
			var steps []float64
			for w := pw; len(steps) < blendSteps; {
				next, ok := wk.beyond(w, up)
				if !ok {
					break
				}
				steps, w = append(steps, next), next
			}
			if len(steps) == 0 {
				continue
			}
			vs, record, err := score(steps)
			if err != nil {
				return 0, 0, nil, err
			}
			n := 0
			for n < len(vs) {
				n++
				if vs[n-1] <= pbest+1e-12 {
					break
				}
				pbest, pw = vs[n-1], steps[n-1]
			}
			record(n)
		}
		at := make([]Model, len(val))
		for k, b := range models {
			x := *b
			x.Weight = float32(pw)
			at[k] = &x
		}
		return pbest, pw, at, nil
	}
	fitted := make([][]Model, len(partners)) // per partner and split; nil: not tried or skipped
	best, bestPartner := -1.0, -1
	var cur []Model // the best blend so far, per split
	for n, partner := range partners {
		if len(out.Trials)+len(blendWeights) > max(budget, len(blendWeights)) {
			break
		}
		ms := make([]Model, len(val))
		var sk *SkippedError
		for k, s := range val {
			m, err := Fit(ctx, s.Train, partner, seed, workers)
			if errors.As(err, &sk) {
				break
			}
			if err != nil {
				return nil, err
			}
			ms[k] = m
		}
		if sk != nil {
			continue
		}
		fitted[n] = ms
		pbest, pw, at, err := weigh(first, *cand[0].Best, partner, ms)
		if err != nil {
			return nil, err
		}
		if pbest > best+1e-12 {
			best, bestPartner, cur = pbest, n, at
			out.Best = &Config{Method: MethodBlend, Parts: []Config{*cand[0].Best, partner}, Weight: pw}
		}
	}
	if out.Best == nil {
		out.NDCG10, out.Millis = best, time.Since(t0).Milliseconds()
		return out, nil
	}
	// Forward: add the part that raises validation most, while one does.
	in := []int{bestPartner}
	for {
		add, addV, addW := -1, best, 0.0
		var addAt []Model
		for n, partner := range partners {
			if fitted[n] == nil || slices.Contains(in, n) || !servableBeside(*out.Best, partner) {
				continue
			}
			if len(out.Trials)+len(blendWeights) > 2*max(budget, len(blendWeights)) {
				break
			}
			v, w, at, err := weigh(cur, *out.Best, partner, fitted[n])
			if err != nil {
				return nil, err
			}
			if v > addV+1e-12 {
				add, addV, addW, addAt = n, v, w, at
			}
		}
		if add < 0 {
			break
		}
		c := Config{Method: MethodBlend, Parts: []Config{*out.Best, partners[add]}, Weight: addW}
		cur, best, out.Best = addAt, addV, &c
		in = append(in, add)
	}
	out.NDCG10, out.Millis = best, time.Since(t0).Milliseconds()
	return out, nil
}
