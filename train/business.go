package train

import (
	"context"
	"math"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"grouprank/recommend"
)

// BusinessRow is one configuration's true value per push of its top k.
type BusinessRow struct {
	Config     string  `json:"config"`
	Orders     float64 `json:"orders_per_push"`
	GMV        float64 `json:"gmv_per_push_yuan"`
	Commission float64 `json:"commission_per_push_yuan"`
	// Share of the gap between today's practice and the metric's oracle that
	// the configuration closes, per metric (practice 0, oracle 1).
	OrdersGap, GMVGap, CommissionGap float64
	// The same against the metric's systematic oracle (the truth without
	// its pair-level noise: the best any model of group and item attributes
	// could rank), practice 0, systematic oracle 1.
	OrdersSysGap, GMVSysGap, CommissionSysGap float64
}

// TrueValues gives, for one group, every item's true expected orders of a
// push (0 for items that cannot be pushed), and the systematic part of them
// (without the pair-level noise no model can learn).
type TrueValues interface {
	Values(g int32, orders []float64)
	Systematic(g int32, orders []float64)
}

// BusinessOptions tune BusinessMetrics.
type BusinessOptions struct {
	K       int // picks per group
	Depth   int // items each candidate source contributes (0: the ranker's default)
	Workers int // goroutines (<= 0: one per core)
	// Ceilings adds, for every objective, three rankings that use the truth
	// to show where its shortfall comes from:
	//   - the systematic truth ranked by the objective within the
	//     candidates the service gathers for it (what the candidate sources
	//     leave reachable);
	//   - the model's expected orders with each item's average error over
	//     groups removed (a model that knew every item's true average
	//     appeal), over every eligible item;
	//   - every item's true average appeal plus the group's true taste for
	//     the item's L1 category and nothing finer (the best a model of
	//     item effects and category preferences could do), over every
	//     eligible item.
	Ceilings bool
	// CeilingGroups is how many of the groups (the first of gidx) estimate
	// the items' average appeal and the model's average error (default 500).
	CeilingGroups int
	Progress      func(done int)
}

// BusinessConfig is a named ranking configuration for BusinessMetrics.
type BusinessConfig struct {
	Name      string
	Objective *recommend.Objective // nil: today's practice
}

// BusinessMetrics ranks each group with every configuration through the
// calibrated scorer (the online service's ranking) and today's practice, and
// averages the true expected orders, GMV and commission per push of each
// configuration's top k; the oracles rank by the true values themselves, the
// systematic oracles by the true values without their pair-level noise
// (evaluated, like everything, with the full true values). workers <= 0
// means one per core.
//
// With opt.Ceilings, three more rows per objective bound what better
// models could do (see BusinessOptions).
func BusinessMetrics(ctx context.Context, sc *recommend.Scorer, groups []recommend.Group, configs []BusinessConfig, truth TrueValues,
	gidx []int32, opt BusinessOptions) ([]BusinessRow, error) {
	bs := newBusinessSetup(sc, configs, opt.K)
	C := len(configs) + 6 // + three oracles + three systematic oracles
	if opt.Ceilings {
		n := opt.CeilingGroups
		if n <= 0 {
			n = 500
		}
		bs.ce = itemEffects(sc, groups, truth, gidx[:min(len(gidx), n)])
		C += 3 * len(configs)
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	bs.rk = recommend.NewRanker(sc) // safe for concurrent use, as the service's: its memos are shared
	if opt.Depth > 0 {
		bs.rk.Depth = opt.Depth
	}
	// Each block of groups sums into its own row, and the rows are added in
	// block order: the same sums whatever the number of workers.
	const block = 64
	blocks := make([][][3]float64, (len(gidx)+block-1)/block)
	var done atomic.Int64
	eg, ctx := errgroup.WithContext(ctx)
	eg.SetLimit(workers)
	for b := range blocks {
		eg.Go(func() error {
			w := bs.newWork(C)
			for _, g := range gidx[b*block : min((b+1)*block, len(gidx))] {
				if err := ctx.Err(); err != nil {
					return err
				}
				bs.group(&groups[g], g, truth, w)
			}
			blocks[b] = w.local
			if n := done.Add(int64(min(block, len(gidx)-b*block))); opt.Progress != nil {
				opt.Progress(int(n))
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	sums := make([][3]float64, C)
	for _, local := range blocks {
		for c := range local {
			for m := range 3 {
				sums[c][m] += local[c][m]
			}
		}
	}
	return businessRows(configs, sums, float64(len(gidx)), bs.ce != nil), nil
}

// businessSetup is what every group's top 10s are ranked and valued with.
type businessSetup struct {
	sc          *recommend.Scorer
	rk          *recommend.Ranker
	configs     []BusinessConfig
	k           int
	price, comm []float64 // yuan per unit
	floors      recommend.Floors
	practice    []int32     // today's one list for everyone
	terms       [][]float64 // each configuration's item terms
	sure        [][]float64 // the terms without caution: what the ceilings' true scores are ranked with
	boosts      [][]float32 // each configuration's own extra candidate source, as the service prepares it
	ce          *ceilings   // nil: no ceilings
}

func newBusinessSetup(sc *recommend.Scorer, configs []BusinessConfig, k int) *businessSetup {
	cat := sc.Inputs().Cat
	I := cat.Len()
	bs := &businessSetup{sc: sc, configs: configs, k: k, price: make([]float64, I), comm: make([]float64, I), floors: recommend.Floors{Eligible: true},
		terms: make([][]float64, len(configs)), sure: make([][]float64, len(configs)), boosts: make([][]float32, len(configs))}
	for i := range I {
		bs.price[i] = math.Max(0, float64(cat.PriceCents[i])) / 100
		bs.comm[i] = bs.price[i] * float64(cat.Commission[i])
	}
	bs.practice = recommend.PracticeTopK(cat, bs.floors, k)
	for c, conf := range configs {
		if conf.Objective != nil {
			bs.terms[c] = recommend.ItemTerms(sc.Inputs(), *conf.Objective)
			bs.sure[c] = recommend.ItemTerms(sc.Inputs(), conf.Objective.WithCaution(0))
			if o := conf.Objective; o.Price != 0 || o.Commission != 0 || o.Rating != 0 {
				bs.boosts[c] = recommend.Boost(bs.terms[c])
			}
		}
	}
	return bs
}

// businessWork is one block's buffers and sums (configuration x orders,
// GMV, commission).
type businessWork struct {
	scr     *recommend.RankScratch
	tv, sys []float64
	cw      *ceilingWork
	local   [][3]float64
}

func (bs *businessSetup) newWork(rows int) *businessWork {
	I := bs.sc.Inputs().Cat.Len()
	w := &businessWork{scr: bs.rk.NewScratch(), tv: make([]float64, I), sys: make([]float64, I), local: make([][3]float64, rows)}
	if bs.ce != nil {
		w.cw = newCeilingWork(I, bs.ce.numL1)
	}
	return w
}

// add sums the true orders, GMV and commission per push of a top k into row c.
func (bs *businessSetup) add(w *businessWork, c int, items []int32) {
	var o, g, m float64
	for _, i := range items {
		o += w.tv[i]
		g += w.tv[i] * bs.price[i]
		m += w.tv[i] * bs.comm[i]
	}
	kk := float64(max(len(items), 1))
	w.local[c][0] += o / kk
	w.local[c][1] += g / kk
	w.local[c][2] += m / kk
}

// group ranks one group with every configuration (and the oracles, and the
// ceilings when asked) and adds each top k's true value to w.
func (bs *businessSetup) group(grp *recommend.Group, g int32, truth TrueValues, w *businessWork) {
	configs, floors := bs.configs, bs.floors
	truth.Values(g, w.tv)
	truth.Systematic(g, w.sys)
	if bs.ce != nil {
		w.cw.group(bs.ce, bs.sc, grp, w.sys)
	}
	for c, conf := range configs {
		if conf.Objective == nil {
			bs.add(w, c, bs.practice)
			continue
		}
		// candidates as the service gathers them for this objective alone:
		// pooling every configuration's sources would widen the candidate
		// set and change what each one picks
		if bs.boosts[c] != nil {
			bs.rk.Prepare(grp, nil, floors, w.scr, bs.boosts[c])
		} else {
			bs.rk.Prepare(grp, nil, floors, w.scr)
		}
		var items []int32
		for _, p := range bs.rk.Pick(*conf.Objective, bs.terms[c], floors, bs.k, w.scr) {
			items = append(items, p.Item)
		}
		bs.add(w, c, items)
		if bs.ce != nil {
			base := len(configs) + 6 + 3*c
			in, obj, cw := bs.sc.Inputs(), conf.Objective.WithCaution(0), w.cw
			bs.add(w, base, pickItems(recommend.TopKOf(in, w.scr.Candidates(), cw.sys, cw.sys, bs.sure[c], obj, floors, bs.k)))
			bs.add(w, base+1, pickItems(recommend.TopKOf(in, nil, cw.item, cw.item, bs.sure[c], obj, floors, bs.k)))
			bs.add(w, base+2, pickItems(recommend.TopKOf(in, nil, cw.cat, cw.cat, bs.sure[c], obj, floors, bs.k)))
		}
	}
	for m := range 3 {
		bs.add(w, len(configs)+m, oracleTop(w.tv, bs.price, bs.comm, m, bs.k))
		bs.add(w, len(configs)+3+m, oracleTop(w.sys, bs.price, bs.comm, m, bs.k))
	}
}

// businessRows names the summed rows, means them over n groups and sets
// each row's share of the practice-to-oracle gaps.
func businessRows(configs []BusinessConfig, sums [][3]float64, n float64, ceilings bool) []BusinessRow {
	names := []string{"oracle: orders", "oracle: GMV", "oracle: commission",
		"systematic oracle: orders", "systematic oracle: GMV", "systematic oracle: commission"}
	out := make([]BusinessRow, len(sums))
	var prac *BusinessRow
	for c := range sums {
		name := ""
		switch {
		case c < len(configs):
			name = configs[c].Name
		case c < len(configs)+6:
			name = names[c-len(configs)]
		default:
			x := c - len(configs) - 6
			name = []string{"systematic oracle on its candidates", "ceiling, true item effects", "ceiling, true item and category effects"}[x%3] +
				": " + strings.TrimPrefix(strings.TrimPrefix(configs[x/3].Name, "objective: "), "blend: ")
		}
		out[c] = BusinessRow{Config: name, Orders: sums[c][0] / n, GMV: sums[c][1] / n, Commission: sums[c][2] / n}
		if c < len(configs) && configs[c].Objective == nil {
			prac = &out[c]
		}
	}
	if ceilings { // drop the rows of configurations without an objective (practice)
		keep := out[:len(configs)+6]
		for x := range 3 * len(configs) {
			if configs[x/3].Objective != nil {
				keep = append(keep, out[len(configs)+6+x])
			}
		}
		out = keep
	}
	if prac != nil {
		o := out[len(configs):]
		for c := range out {
			out[c].OrdersGap = gap(out[c].Orders, prac.Orders, o[0].Orders)
			out[c].GMVGap = gap(out[c].GMV, prac.GMV, o[1].GMV)
			out[c].CommissionGap = gap(out[c].Commission, prac.Commission, o[2].Commission)
			out[c].OrdersSysGap = gap(out[c].Orders, prac.Orders, o[3].Orders)
			out[c].GMVSysGap = gap(out[c].GMV, prac.GMV, o[4].GMV)
			out[c].CommissionSysGap = gap(out[c].Commission, prac.Commission, o[5].Commission)
		}
	}
	return out
}

func gap(v, base, best float64) float64 {
	if best == base {
		return math.NaN()
	}
	return (v - base) / (best - base)
}

// oracleTop is the top k by true orders (m=0), GMV (1) or commission (2).
func oracleTop(tv, price, comm []float64, m, k int) []int32 {
	type c struct {
		i int32
		v float64
	}
	var cs []c
	for i, o := range tv {
		if o <= 0 {
			continue
		}
		v := o
		switch m {
		case 1:
			v = o * price[i]
		case 2:
			v = o * comm[i]
		}
		cs = append(cs, c{int32(i), v})
	}
	sort.Slice(cs, func(a, b int) bool {
		if cs[a].v != cs[b].v {
			return cs[a].v > cs[b].v
		}
		return cs[a].i < cs[b].i
	})
	out := make([]int32, 0, k)
	for _, x := range cs[:min(k, len(cs))] {
		out = append(out, x.i)
	}
	return out
}

func pickItems(ps []recommend.Pick) []int32 {
	out := make([]int32, len(ps))
	for r, p := range ps {
		out[r] = p.Item
	}
	return out
}

// ceilings hold the truth-derived item effects the ceiling rows use.
type ceilings struct {
	trueMean  []float64 // per item: mean over groups of log true systematic expected orders (NaN: never positive)
	modelMean []float64 // per item: mean over the same groups of the model's log expected orders
	numL1     int
	l1        []int32
	eligible  []bool
}

// itemEffects estimates every item's true average appeal (mean log of its
// systematic expected orders over the sample's groups) and the model's
// average for it over the same groups.
func itemEffects(sc *recommend.Scorer, groups []recommend.Group, truth TrueValues, sample []int32) *ceilings {
	cat := sc.Inputs().Cat
	I := cat.Len()
	ce := &ceilings{trueMean: make([]float64, I), modelMean: make([]float64, I), numL1: len(cat.L1Names),
		l1: cat.L1, eligible: cat.Eligible}
	n, m := make([]float64, I), make([]float64, I)
	sys := make([]float64, I)
	p, q := make([]float32, I), make([]float32, I)
	for _, g := range sample {
		truth.Systematic(g, sys)
		sc.Predict(&groups[g], nil, p, q)
		for i := range I {
			if sys[i] > 0 {
				ce.trueMean[i] += math.Log(sys[i])
				n[i]++
			}
			if q[i] > 0 {
				ce.modelMean[i] += math.Log(float64(q[i]))
				m[i]++
			}
		}
	}
	for i := range I {
		ce.trueMean[i] /= n[i] // NaN when never positive
		ce.modelMean[i] /= m[i]
	}
	return ce
}

// ceilingWork is one worker's per-group buffers for the ceiling rows.
type ceilingWork struct {
	p, q, sys, item, cat []float32
	eff, cnt             []float64
}

func newCeilingWork(I, L int) *ceilingWork {
	return &ceilingWork{p: make([]float32, I), q: make([]float32, I), sys: make([]float32, I), item: make([]float32, I),
		cat: make([]float32, I), eff: make([]float64, L), cnt: make([]float64, L)}
}

// group fills the three ceiling scores of one group: its systematic truth,
// the model's expected orders with each item's average error removed, and
// exp(item's true average appeal + group's true L1 effect), where the L1
// effect is the group's mean deviation from the items' averages over the
// eligible items of that category.
func (w *ceilingWork) group(ce *ceilings, sc *recommend.Scorer, g *recommend.Group, sys []float64) {
	sc.Predict(g, nil, w.p, w.q)
	clear(w.eff)
	clear(w.cnt)
	for i, s := range sys {
		w.sys[i] = float32(s)
		w.item[i] = 0
		if w.q[i] > 0 && !math.IsNaN(ce.trueMean[i]) && !math.IsNaN(ce.modelMean[i]) {
			w.item[i] = float32(float64(w.q[i]) * math.Exp(ce.trueMean[i]-ce.modelMean[i]))
		}
		if s > 0 && ce.eligible[i] && !math.IsNaN(ce.trueMean[i]) {
			w.eff[ce.l1[i]] += math.Log(s) - ce.trueMean[i]
			w.cnt[ce.l1[i]]++
		}
	}
	for l := range w.eff {
		if w.cnt[l] > 0 {
			w.eff[l] /= w.cnt[l]
		}
	}
	for i := range sys {
		w.cat[i] = 0
		if !math.IsNaN(ce.trueMean[i]) {
			w.cat[i] = float32(math.Exp(ce.trueMean[i] + w.eff[ce.l1[i]]))
		}
	}
}
