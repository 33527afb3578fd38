package train

import (
	"context"
	"math"
	"math/rand/v2"
)

// Launch is one push whose only known outcome is success or failure
// (BeiBei's launches: no times, prices or categories).
type Launch struct {
	Group, Item int32
	Success     bool
}

// LaunchReport compares ways to tell successful from failed launches on a
// held-out set of groups.
type LaunchReport struct {
	TrainLaunches, TestLaunches int
	TestGroups                  int
	Rows                        []LaunchRow
}

// LaunchRow is one scorer's AUC on the held-out launches, with the paired
// bootstrap interval (resampling held-out groups) of its difference to the
// item's own success rate.
type LaunchRow struct {
	Method  string     `json:"method"`
	AUC     float64    `json:"auc"`
	Diff    float64    `json:"diff_vs_item_rate"`
	DiffCI  [2]float64 `json:"diff_ci"`
	LogLoss float64    `json:"log_loss"`
}

// launchFeatures are the item-level features of the launch model, computed
// from the launches of other groups only.
const launchFeatures = 3

type itemCounts struct{ n, s []float64 }

func countItems(ls []Launch, keep func(int) bool, items int) itemCounts {
	c := itemCounts{make([]float64, items), make([]float64, items)}
	for k, l := range ls {
		if !keep(k) {
			continue
		}
		c.n[l.Item]++
		if l.Success {
			c.s[l.Item]++
		}
	}
	return c
}

func (c itemCounts) features(i int32, mean, prior float64, x []float64) {
	n, s := c.n[i], c.s[i]
	x[0] = logit((s + prior*mean) / (n + prior)) // shrunk success rate
	x[1] = math.Log1p(n)                         // launches
	x[2] = math.Log1p(s)                         // successes
}

func logit(p float64) float64 {
	p = math.Min(math.Max(p, 1e-6), 1-1e-6)
	return math.Log(p / (1 - p))
}

// LaunchAUC splits groups (initiators) into a training and a held-out side
// (all of a group's launches on one side, seeded), and scores the held-out
// launches with the item's raw success rate on the training side (the
// baseline), its shrunk rate, and a logistic regression on item-level
// features (shrunk rate, launches, successes) fitted on the training
// side with cross-fitted features (each half's features come from the other
// half, so no launch sees its own outcome) and calibrated with Platt scaling.
func LaunchAUC(ctx context.Context, ls []Launch, groups, items int, testShare float64, boot int, seed uint64) (*LaunchReport, error) {
	r := rand.New(rand.NewPCG(seed, 0x1a0c))
	side := make([]uint8, groups) // 0 train fold A, 1 train fold B, 2 test
	for g := range side {
		switch u := r.Float64(); {
		case u < testShare:
			side[g] = 2
		case u < testShare+(1-testShare)/2:
			side[g] = 0
		default:
			side[g] = 1
		}
	}
	of := func(k int) uint8 { return side[ls[k].Group] }
	all := countItems(ls, func(k int) bool { return of(k) != 2 }, items)
	half := [2]itemCounts{countItems(ls, func(k int) bool { return of(k) == 1 }, items), countItems(ls, func(k int) bool { return of(k) == 0 }, items)}
	var tn, ts float64
	for i := range all.n {
		tn += all.n[i]
		ts += all.s[i]
	}
	mean := ts / math.Max(tn, 1)
	const prior = 20
	X := make([]float64, len(ls)*launchFeatures)
	y := make([]float64, len(ls))
	rep := &LaunchReport{}
	testGroups := map[int32]bool{}
	for k, l := range ls {
		x := X[k*launchFeatures : (k+1)*launchFeatures]
		if s := of(k); s == 2 {
			all.features(l.Item, mean, prior, x)
			rep.TestLaunches++
			testGroups[l.Group] = true
		} else {
			half[s].features(l.Item, mean, prior, x)
			rep.TrainLaunches++
		}
		if l.Success {
			y[k] = 1
		}
	}
	rep.TestGroups = len(testGroups)
	lr, err := FitLogistic(ctx, Dense{X: X, D: launchFeatures}, y, func(k int) float64 {
		if of(k) == 2 {
			return 0
		}
		return 1
	}, DefaultLogisticConfig())
	if err != nil {
		return nil, err
	}
	var zt, yt []float64
	for k := range ls {
		if of(k) != 2 {
			zt, yt = append(zt, lr.Logit(X[k*launchFeatures:(k+1)*launchFeatures])), append(yt, y[k])
		}
	}
	platt := FitPlatt(zt, yt)
	var test []int
	for k := range ls {
		if of(k) == 2 {
			test = append(test, k)
		}
	}
	ty := make([]float64, len(test))
	raw, shrunk, model := make([]float64, len(test)), make([]float64, len(test)), make([]float64, len(test))
	for t, k := range test {
		i := ls[k].Item
		ty[t] = y[k]
		raw[t] = mean // items never launched on the training side get the overall rate
		if all.n[i] > 0 {
			raw[t] = all.s[i] / all.n[i]
		}
		shrunk[t] = (all.s[i] + prior*mean) / (all.n[i] + prior)
		model[t] = platt.Apply(lr.Logit(X[k*launchFeatures : (k+1)*launchFeatures]))
	}
	base := AUC(raw, ty)
	byGroup := map[int32][]int{} // test launches per group: the bootstrap resamples groups, as the split does
	var order []int32
	for t, k := range test {
		g := ls[k].Group
		if _, ok := byGroup[g]; !ok {
			order = append(order, g)
		}
		byGroup[g] = append(byGroup[g], t)
	}
	for _, m := range []struct {
		name string
		p    []float64
	}{{"item success rate (baseline)", raw}, {"item success rate, shrunk", shrunk}, {"conversion model (logistic, calibrated)", model}} {
		row := LaunchRow{Method: m.name, AUC: AUC(m.p, ty), LogLoss: LogLoss(m.p, ty)}
		row.Diff = row.AUC - base
		var diffs []float64
		br := rand.New(rand.NewPCG(seed, 0xb007))
		var pa, pb, yy []float64
		for range boot {
			pa, pb, yy = pa[:0], pb[:0], yy[:0]
			for range order {
				for _, t := range byGroup[order[br.IntN(len(order))]] {
					pa, pb, yy = append(pa, m.p[t]), append(pb, raw[t]), append(yy, ty[t])
				}
			}
			diffs = append(diffs, AUC(pa, yy)-AUC(pb, yy))
		}
		row.DiffCI = interval(diffs)
		rep.Rows = append(rep.Rows, row)
	}
	return rep, nil
}
