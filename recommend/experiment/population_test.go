package experiment

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// population is a seeded set of units with their own push rate, conversion
// per push, order value and commission rate, roughly as in docs/FIELD.md
// (about one order per group per day). Outcomes are redrawn from it, so an
// A/A or A/B test can be repeated many times without rerunning a ranker.
type population struct {
	ids                     []string
	rate, conv, price, comm []float64
	pushes                  [][]float64 // per unit and day: the logging policy's pushes (fixed across redraws)
	prePushes               []float64
}

func newPopulation(n, days, preDays int, seed uint64) *population {
	r := rand.New(rand.NewPCG(seed, 99))
	p := &population{ids: make([]string, n), rate: make([]float64, n), conv: make([]float64, n), price: make([]float64, n), comm: make([]float64, n),
		pushes: make([][]float64, n), prePushes: make([]float64, n)}
	for u := range n {
		p.ids[u] = fmt.Sprint("g", u)
		p.rate[u] = gamma(r, 1.5) / 1.5 * 1.2
		p.conv[u] = beta(r, 1, 3)
		p.price[u] = math.Exp(math.Log(60) + 0.8*r.NormFloat64())
		p.comm[u] = beta(r, 1, 9)
		p.pushes[u] = make([]float64, days)
		for d := range days {
			p.pushes[u][d] = float64(poisson(r, p.rate[u]))
		}
		p.prePushes[u] = float64(poisson(r, p.rate[u]*float64(preDays)))
	}
	return p
}

// assign puts every unit into an arm by the real assignment (bucket
// hashing with this salt), all traffic, the given weights.
func (p *population) assign(salt string, weights []float64) []int {
	out := make([]int, len(p.ids))
	for u, id := range p.ids {
		out[u] = ArmOf(Bucket(salt, id), weights)
	}
	return out
}

// dataset draws orders for units assigned to arms (arm < 0: not in the
// test); lift multiplies the treatments' conversion. The pre-period is drawn
// from the same unit parameters without lift.
func (p *population) dataset(arms []int, narms int, lift float64, r *rand.Rand) *Dataset {
	days := len(p.pushes[0])
	ds := &Dataset{Days: days, Periods: 1}
	for a := range narms {
		ds.Arms = append(ds.Arms, fmt.Sprint("arm", a))
	}
	for u, a := range arms {
		if a < 0 {
			continue
		}
		conv := p.conv[u]
		if a > 0 {
			conv *= 1 + lift
		}
		ud := UnitData{ID: p.ids[u], Arm: a, Daily: make([]Totals, days)}
		for d := range days {
			n := p.pushes[u][d]
			o := float64(poisson(r, n*conv))
			ud.Daily[d] = Totals{n, o, o * p.price[u], o * p.price[u] * p.comm[u]}
		}
		o := float64(poisson(r, p.prePushes[u]*p.conv[u]))
		ud.Pre = Totals{p.prePushes[u], o, o * p.price[u], o * p.price[u] * p.comm[u]}
		ds.Units = append(ds.Units, ud)
	}
	return ds
}

// trueRatio is the population's expected value of metric m per unit of its
// denominator, with conversion scaled by 1+lift: what an arm estimates.
func (p *population) trueRatio(m Metric, lift float64) float64 {
	var num, den float64
	for u := range p.rate {
		n := p.rate[u]
		o := n * p.conv[u] * (1 + lift)
		t := Totals{n, o, o * p.price[u], o * p.price[u] * p.comm[u]}
		num += t[m.Num]
		if m.PerUnit() {
			den++
		} else {
			den += t[m.Den]
		}
	}
	return num / den
}

func poisson(r *rand.Rand, mean float64) int {
	if mean <= 0 {
		return 0
	}
	if mean > 30 {
		return max(0, int(math.Round(mean+math.Sqrt(mean)*r.NormFloat64())))
	}
	l, k, prod := math.Exp(-mean), 0, r.Float64()
	for prod > l {
		k++
		prod *= r.Float64()
	}
	return k
}

// gamma draws Gamma(shape, 1) by Marsaglia and Tsang (shape >= 1).
func gamma(r *rand.Rand, shape float64) float64 {
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := r.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		if u := r.Float64(); math.Log(u) < 0.5*x*x+d-d*v+d*math.Log(v) {
			return d * v
		}
	}
}

func beta(r *rand.Rand, a, b float64) float64 {
	x, y := gamma(r, a), gamma(r, b)
	return x / (x + y)
}
