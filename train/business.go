package train

import (
	"context"
	"math"
	"runtime"
	"sort"
	"sync"

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
}

// TrueValues gives, for one group, every item's true expected orders of a
// push (0 for items that cannot be pushed), and the systematic part of them
// (without the pair-level noise no model can learn).
type TrueValues interface {
	Values(g int32, orders []float64)
	Systematic(g int32, orders []float64)
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
func BusinessMetrics(ctx context.Context, sc *recommend.Scorer, groups []recommend.Group, configs []BusinessConfig, truth TrueValues,
	gidx []int32, k, depth, workers int, progress func(done int)) ([]BusinessRow, error) {
	cat := sc.Inputs().Cat
	I := cat.Len()
	price, comm := make([]float64, I), make([]float64, I)
	for i := range I {
		price[i] = math.Max(0, float64(cat.PriceCents[i])) / 100
		comm[i] = price[i] * float64(cat.Commission[i])
	}
	floors := recommend.Floors{Eligible: true}
	practice := recommend.PracticeTopK(cat, floors, k)
	terms := make([][]float64, len(configs))
	boosts := make([][]float32, len(configs)) // each configuration's own extra candidate source, as the service prepares it
	for c, conf := range configs {
		if conf.Objective != nil {
			terms[c] = recommend.ItemTerms(cat, *conf.Objective)
			if o := conf.Objective; o.Price != 0 || o.Commission != 0 || o.Rating != 0 {
				boosts[c] = recommend.Boost(terms[c])
			}
		}
	}
	C := len(configs) + 6 // + three oracles + three systematic oracles
	sums := make([][3]float64, C)
	var mu sync.Mutex
	var done int
	work := make(chan int32)
	var wg sync.WaitGroup
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rk := recommend.NewRanker(sc)
			if depth > 0 {
				rk.Depth = depth
			}
			scr := rk.NewScratch()
			tv, sys := make([]float64, I), make([]float64, I)
			local := make([][3]float64, C)
			n := 0
			add := func(c int, items []int32) {
				var o, g, m float64
				for _, i := range items {
					o += tv[i]
					g += tv[i] * price[i]
					m += tv[i] * comm[i]
				}
				kk := float64(max(len(items), 1))
				local[c][0] += o / kk
				local[c][1] += g / kk
				local[c][2] += m / kk
			}
			for g := range work {
				truth.Values(g, tv)
				for c, conf := range configs {
					if conf.Objective == nil {
						add(c, practice)
						continue
					}
					// candidates as the service gathers them for this objective alone:
					// pooling every configuration's sources would widen the candidate
					// set and change what each one picks
					if boosts[c] != nil {
						rk.Prepare(&groups[g], nil, floors, scr, boosts[c])
					} else {
						rk.Prepare(&groups[g], nil, floors, scr)
					}
					var items []int32
					for _, p := range rk.Pick(*conf.Objective, terms[c], floors, k, scr) {
						items = append(items, p.Item)
					}
					add(c, items)
				}
				truth.Systematic(g, sys)
				for m := range 3 {
					add(len(configs)+m, oracleTop(tv, price, comm, m, k))
					add(len(configs)+3+m, oracleTop(sys, price, comm, m, k))
				}
				n++
				if n%64 == 0 {
					mu.Lock()
					done += 64
					if progress != nil {
						progress(done)
					}
					mu.Unlock()
				}
			}
			mu.Lock()
			for c := range local {
				for m := range 3 {
					sums[c][m] += local[c][m]
				}
			}
			mu.Unlock()
		}()
	}
	var err error
	for _, g := range gidx {
		if err = ctx.Err(); err != nil {
			break
		}
		work <- g
	}
	close(work)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	names := []string{"oracle: orders", "oracle: GMV", "oracle: commission",
		"systematic oracle: orders", "systematic oracle: GMV", "systematic oracle: commission"}
	out := make([]BusinessRow, C)
	n := float64(len(gidx))
	var prac *BusinessRow
	for c := range C {
		name := ""
		if c < len(configs) {
			name = configs[c].Name
		} else {
			name = names[c-len(configs)]
		}
		out[c] = BusinessRow{Config: name, Orders: sums[c][0] / n, GMV: sums[c][1] / n, Commission: sums[c][2] / n}
		if c < len(configs) && configs[c].Objective == nil {
			prac = &out[c]
		}
	}
	if prac != nil {
		o := out[len(configs):]
		for c := range out {
			out[c].OrdersGap = gap(out[c].Orders, prac.Orders, o[0].Orders)
			out[c].GMVGap = gap(out[c].GMV, prac.GMV, o[1].GMV)
			out[c].CommissionGap = gap(out[c].Commission, prac.Commission, o[2].Commission)
		}
	}
	return out, nil
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
