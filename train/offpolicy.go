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

	"golang.org/x/sync/errgroup"

	"grouprank/data"
	"grouprank/recommend"
)

// OffPolicyRow is one ranking configuration's estimated and true value:
// the conversion rate per push if its top-k were what promoters push.
type OffPolicyRow struct {
	Config    string     `json:"config"`
	Matches   int        `json:"matches"` // randomised pushes whose item is in the configuration's top k
	IPS       float64    `json:"ips"`
	IPSCI     [2]float64 `json:"ips_ci"`
	SNIPS     float64    `json:"snips"`
	SNIPSCI   [2]float64 `json:"snips_ci"`
	DR        float64    `json:"dr"` // doubly robust: the model's estimate corrected by the matched residuals
	DRCI      [2]float64 `json:"dr_ci"`
	Model     float64    `json:"model"` // the conversion model's own estimate (direct method)
	True      float64    `json:"true"`  // from the synthetic truth; NaN on real data
	Estimand  string     `json:"estimand"`
	Bootstrap int        `json:"bootstrap"`
	// Note says why IPS, SNIPS and DR are missing (null): fewer than
	// MinOffPolicyMatches matched pushes.
	Note string `json:"note,omitempty"`
}

// MinOffPolicyMatches is the fewest matched randomised pushes an off-policy
// estimate is reported on: below it, a few pushes weighted by the catalogue
// size make numbers (an IPS of 0.81 from 2 pushes) that mean nothing.
const MinOffPolicyMatches = 30

// OffPolicyConfig is one ranking configuration to estimate.
type OffPolicyConfig struct {
	Name string
	// Objective ranks by the calibrated scorer; nil: today's practice.
	Objective *recommend.Objective
}

// OffPolicy estimates each configuration's value from the test window's
// pushes out of randomised lists. The logging policy drew those lists
// uniformly from the eligible items, so a push of item j counts for a
// configuration with weight nEligible/k when j is in the configuration's top
// k for that group and day (IPS); SNIPS normalises by the weights' sum; DR
// adds the model's own estimate and corrects it with the matched residuals.
// Intervals are percentile bootstrap over pushes (seeded). trueProb, when
// not nil, gives the true P(order) of a hypothetical push of item i to group
// g at t in the same context (synthetic worlds).
func OffPolicy(ctx context.Context, h *History, fit *Fitted, cfg BaseConfig, configs []OffPolicyConfig, k, boot int, seed uint64,
	trueProb func(g, i int32, t data.Timestamp) float64) ([]OffPolicyRow, error) {
	ex := fit.Examples
	rows := ex.RandomTest()
	N := len(rows)
	C := len(configs)
	// per push and configuration: IPS term, SNIPS weight, direct-method term, true value
	ips, wts, dm, drt, tv := make([][]float64, C), make([][]float64, C), make([][]float64, C), make([][]float64, C), make([][]float64, C)
	for c := range C {
		ips[c], wts[c], dm[c], drt[c], tv[c] = make([]float64, N), make([]float64, N), make([]float64, N), make([]float64, N), make([]float64, N)
	}
	// Each day's ranker, terms and lists are built first, one day after
	// another; the pushes are then scored in blocks on every core, each
	// writing only its own slots, so the figures do not depend on the number
	// of workers.
	type dayState struct {
		rk       *recommend.Ranker
		terms    [][]float64
		boosts   [][]float32
		practice []int32 // today's practice: one list per day's catalogue
		eligible int
		scratch  sync.Pool // *recommend.RankScratch
	}
	days := map[data.Timestamp]*dayState{}
	floors := recommend.Floors{Eligible: true}
	for _, n := range rows {
		t := ex.Time[n]
		day := t - t%data.Day
		if _, ok := days[day]; ok {
			continue
		}
		rk := recommend.NewRanker(recommend.NewScorer(fit.Base.Inputs(h.Timeline.At(day), cfg), fit.Conversion))
		ds := &dayState{rk: rk}
		ds.scratch.New = func() any { return rk.NewScratch() }
		sc := rk.Scorer
		for _, c := range configs {
			if c.Objective != nil {
				ds.terms = append(ds.terms, recommend.ItemTerms(sc.Inputs(), *c.Objective))
				if o := c.Objective; o.Price != 0 || o.Commission != 0 || o.Rating != 0 {
					ds.boosts = append(ds.boosts, recommend.Boost(ds.terms[len(ds.terms)-1]))
				}
			} else {
				ds.terms = append(ds.terms, nil)
			}
		}
		ds.practice = recommend.PracticeTopK(sc.Inputs().Cat, floors, k)
		for _, e := range sc.Inputs().Cat.Eligible {
			if e {
				ds.eligible++
			}
		}
		days[day] = ds
	}
	score := func(r int, x, xj []float64) {
		n := rows[r]
		t := ex.Time[n]
		ds := days[t-t%data.Day]
		rk := ds.rk
		in := rk.Scorer.Inputs()
		cat := in.Cat
		g, j := ex.Group[n], ex.Item[n]
		grp := fit.Base.Group(g)
		grp.Active = h.active(g, t)
		rec := h.PushLog().RecentAt(g, t)
		scr := ds.scratch.Get().(*recommend.RankScratch)
		defer ds.scratch.Put(scr)
		rk.Prepare(&grp, &rec, floors, scr, ds.boosts...)
		in.Features(&grp, j, rec.For(j, cat.L1[j]), xj)
		pj := fit.Conversion.Prob(xj)
		nE := ds.eligible
		for c, conf := range configs {
			var top []int32
			if conf.Objective == nil {
				top = ds.practice
			} else {
				for _, p := range rk.Pick(*conf.Objective, ds.terms[c], floors, k, scr) {
					top = append(top, p.Item)
				}
			}
			var model, truth float64
			for _, i := range top {
				in.Features(&grp, i, rec.For(i, cat.L1[i]), x)
				model += fit.Conversion.Prob(x)
				if trueProb != nil {
					truth += trueProb(g, i, t)
				}
			}
			kk := float64(len(top))
			dm[c][r], tv[c][r] = model/kk, truth/kk
			if slices.Contains(top, j) {
				w := float64(nE) / kk
				ips[c][r], wts[c][r] = w*float64(ex.Y[n]), w
				drt[c][r] = w * (float64(ex.Y[n]) - pj)
			}
		}
	}
	eg, ectx := errgroup.WithContext(ctx)
	workers := cfg.ALS.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	eg.SetLimit(workers)
	const block = 256
	for lo := 0; lo < N; lo += block {
		eg.Go(func() error {
			if err := ectx.Err(); err != nil {
				return err
			}
			x, xj := make([]float64, recommend.NumFeatures), make([]float64, recommend.NumFeatures)
			for r := lo; r < min(lo+block, N); r++ {
				score(r, x, xj)
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	if ex.shard != nil { // every part's pushes, in their order, at the first
		width := 5 * C
		keys, vals := make([]int64, N), make([]float64, 0, width*N)
		for r, n := range rows {
			keys[r] = ex.key(n)
			for _, col := range [][][]float64{ips, wts, dm, drt, tv} {
				for c := range C {
					vals = append(vals, col[c][r])
				}
			}
		}
		g, err := gatherRows(ctx, ex.shard, "off-policy", false, keys, vals, width)
		if err != nil || g == nil {
			return nil, err
		}
		N = g.Len()
		for k, col := range [][][]float64{ips, wts, dm, drt, tv} {
			for c := range C {
				col[c] = make([]float64, N)
				for r := range N {
					col[c][r] = g.Val(r, k*C+c)
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x0be5))
	idx := make([][]int, boot)
	for b := range idx {
		idx[b] = make([]int, N)
		for i := range idx[b] {
			idx[b][i] = rng.IntN(max(N, 1))
		}
	}
	var out []OffPolicyRow
	for c, conf := range configs {
		est := func(sel []int) (float64, float64, float64) {
			var a, w, wy, d float64
			for _, r := range sel {
				a += ips[c][r]
				w += wts[c][r]
				wy += ips[c][r]
				d += dm[c][r] + drt[c][r]
			}
			n := float64(len(sel))
			sn := math.NaN()
			if w > 0 {
				sn = wy / w
			}
			return a / n, sn, d / n
		}
		all := make([]int, N)
		for i := range all {
			all[i] = i
		}
		row := OffPolicyRow{Config: conf.Name, Bootstrap: boot, True: math.NaN(),
			Estimand: "P(order | push) averaged over the configuration's top k, in the randomised test pushes' groups and contexts"}
		row.IPS, row.SNIPS, row.DR = est(all)
		var bi, bs, bd []float64
		for b := range boot {
			i, s, d := est(idx[b])
			bi, bd = append(bi, i), append(bd, d)
			if !math.IsNaN(s) {
				bs = append(bs, s)
			}
		}
		row.IPSCI, row.SNIPSCI, row.DRCI = interval(bi), interval(bs), interval(bd)
		var m, tr float64
		for r := range N {
			m += dm[c][r]
			tr += tv[c][r]
			if wts[c][r] > 0 {
				row.Matches++
			}
		}
		row.Model = m / float64(N)
		if trueProb != nil {
			row.True = tr / float64(N)
		}
		row.withholdThin()
		out = append(out, row)
	}
	return out, nil
}

func interval(x []float64) [2]float64 {
	if len(x) == 0 {
		return [2]float64{math.NaN(), math.NaN()}
	}
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	return [2]float64{s[int(0.025*float64(len(s)-1))], s[int(0.975*float64(len(s)-1))]}
}

// withholdThin replaces the estimates of a row with fewer than
// MinOffPolicyMatches matched pushes by NaN (null) and a note saying why.
func (row *OffPolicyRow) withholdThin() {
	if row.Matches >= MinOffPolicyMatches {
		return
	}
	nan := math.NaN()
	row.IPS, row.SNIPS, row.DR = nan, nan, nan
	row.IPSCI, row.SNIPSCI, row.DRCI = [2]float64{nan, nan}, [2]float64{nan, nan}, [2]float64{nan, nan}
	row.Note = fmt.Sprintf("too few randomised pushes: %d matched, at least %d needed", row.Matches, MinOffPolicyMatches)
}
