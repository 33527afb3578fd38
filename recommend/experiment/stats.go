package experiment

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Estimate is an arm's value of a metric with its standard error.
type Estimate struct {
	Value float64 `json:"value"` // null when it cannot be computed (Note says why)
	SE    float64 `json:"se"`
	Note  string  `json:"note,omitempty"`
}

// Lift compares a treatment with the control.
type Lift struct {
	Abs   float64 `json:"abs"`
	AbsLo float64 `json:"abs_lo"`
	AbsHi float64 `json:"abs_hi"`
	Rel   float64 `json:"rel"`
	RelLo float64 `json:"rel_lo"`
	RelHi float64 `json:"rel_hi"`
	P     float64 `json:"p"`
	Note  string  `json:"note,omitempty"` // why a value is null
	absSE float64
}

// armCell accumulates one (stratum, arm): per unit the metric's numerator
// y and denominator n, and the pre-period's x (numerator) and m
// (denominator).
type armCell struct {
	y, n, x, m []float64
}

// estimateArms estimates the metric for every arm from units first exposed
// before day upTo, stratified by allocation period (strata missing an arm
// are left out), with CUPED on the pre-period when cuped is set. It returns
// the per-arm estimates.
func estimateArms(ds *Dataset, m Metric, upTo int, cuped bool) []Estimate {
	return estimateFrom(ds, ds.cumulative(), m, upTo, cuped)
}

// cumulative is every unit's running totals: cum[u][d] sums days [0, d).
func (ds *Dataset) cumulative() [][]Totals {
	if ds.cum != nil {
		return ds.cum
	}
	cum := make([][]Totals, len(ds.Units))
	flat := make([]Totals, len(ds.Units)*(ds.Days+1))
	for k := range ds.Units {
		u := &ds.Units[k]
		c := flat[k*(ds.Days+1) : (k+1)*(ds.Days+1)]
		for d := 0; d < ds.Days; d++ {
			c[d+1] = c[d]
			if d >= u.First && d < len(u.Daily) {
				c[d+1].Add(u.Daily[d])
			}
		}
		cum[k] = c
	}
	ds.cum = cum
	return cum
}

func estimateFrom(ds *Dataset, cum [][]Totals, m Metric, upTo int, cuped bool) []Estimate {
	arms := len(ds.Arms)
	cells := make([][]armCell, ds.Periods)
	for s := range cells {
		cells[s] = make([]armCell, arms)
	}
	for k := range ds.Units {
		u := &ds.Units[k]
		if u.First >= upTo {
			continue
		}
		post := cum[k][min(upTo, ds.Days)]
		c := &cells[u.Period][u.Arm]
		y, n := post[m.Num], 1.0
		x, mm := u.Pre[m.Num], 1.0
		if !m.PerUnit() {
			n, mm = post[m.Den], u.Pre[m.Den]
		}
		c.y, c.n, c.x, c.m = append(c.y, y), append(c.n, n), append(c.x, x), append(c.m, mm)
	}
	total := 0
	var used []int
	for s := range cells {
		ok, ns := true, 0
		for a := range cells[s] {
			if len(cells[s][a].y) < 2 || sum(cells[s][a].n) == 0 {
				ok = false
			}
			ns += len(cells[s][a].y)
		}
		if ok {
			used = append(used, s)
			total += ns
		}
	}
	out := make([]Estimate, arms)
	if total == 0 {
		for a := range out {
			out[a] = Estimate{Value: math.NaN(), SE: math.NaN()}
		}
		return out
	}
	for _, s := range used {
		ns := 0
		for a := range cells[s] {
			ns += len(cells[s][a].y)
		}
		w := float64(ns) / float64(total)
		est := stratum(cells[s], cuped)
		for a := range out {
			out[a].Value += w * est[a].Value
			out[a].SE += w * w * est[a].SE * est[a].SE // variance for now
		}
	}
	for a := range out {
		out[a].SE = math.Sqrt(out[a].SE)
	}
	return out
}

// stratum estimates each arm's ratio sum(y)/sum(n) in one stratum by the
// delta method: the linearised values L = (y - R n) / mean(n) have mean 0
// and Var(R) ~ Var(L) / units. CUPED (Deng et al. 2013) regresses L on the
// pre-period's linearised values X (ratio pooled over the stratum's arms)
// and shifts the arm by theta times its mean X's distance from the
// stratum's. Theta is fitted per arm (Lin 2013's regression adjustment with
// interactions): a treatment that changes how the past predicts the present
// cannot make the control's estimate worse, as one pooled theta can.
func stratum(c []armCell, cuped bool) []Estimate {
	out := make([]Estimate, len(c))
	var sx, sm float64
	units := 0
	for a := range c {
		sx += sum(c[a].x)
		sm += sum(c[a].m)
		units += len(c[a].x)
	}
	rx, mbar := 0.0, sm/float64(units)
	if sm > 0 {
		rx = sx / sm
	}
	cuped = cuped && mbar > 0
	xs := make([][]float64, len(c))
	xall := 0.0
	if cuped {
		for a := range c {
			xs[a] = make([]float64, len(c[a].x))
			for i := range c[a].x {
				xs[a][i] = (c[a].x[i] - rx*c[a].m[i]) / mbar
				xall += xs[a][i]
			}
		}
		xall /= float64(units)
	}
	for a := range c {
		ny, nn := sum(c[a].y), sum(c[a].n)
		r := ny / nn
		nbar := nn / float64(len(c[a].n))
		l := make([]float64, len(c[a].y))
		for i := range c[a].y {
			l[i] = (c[a].y[i] - r*c[a].n[i]) / nbar
		}
		out[a].Value = r
		if cuped {
			xm := mean(xs[a])
			var cov, vx float64
			for i := range l {
				cov += l[i] * (xs[a][i] - xm)
				vx += (xs[a][i] - xm) * (xs[a][i] - xm)
			}
			if vx > 0 {
				theta := cov / vx
				out[a].Value -= theta * (xm - xall)
				for i := range l {
					l[i] -= theta * (xs[a][i] - xm)
				}
			}
		}
		out[a].SE = math.Sqrt(variance(l) / float64(len(l)))
	}
	return out
}

// liftInterval is the lift of t over control c with two-sided intervals at alpha:
// the relative lift's standard error by the delta method,
// Var(T/C) ~ Var(T)/C^2 + T^2 Var(C)/C^4 (arms independent).
func liftInterval(c, t Estimate, alpha float64) Lift {
	z := normal.Quantile(1 - alpha/2)
	l := Lift{Abs: t.Value - c.Value, Rel: t.Value/c.Value - 1}
	l.absSE = math.Hypot(c.SE, t.SE)
	l.AbsLo, l.AbsHi = l.Abs-z*l.absSE, l.Abs+z*l.absSE
	rse := math.Sqrt(t.SE*t.SE/(c.Value*c.Value) + t.Value*t.Value*c.SE*c.SE/math.Pow(c.Value, 4))
	l.RelLo, l.RelHi = l.Rel-z*rse, l.Rel+z*rse
	l.P = 2 * normal.CDF(-math.Abs(l.Abs)/l.absSE)
	if l.absSE == 0 || math.IsNaN(l.absSE) {
		l.P = math.NaN()
	}
	return l
}

var normal = distuv.Normal{Mu: 0, Sigma: 1}

// Sequential is an always-valid test of one lift over daily looks.
type Sequential struct {
	P    float64 `json:"p"`  // always-valid p-value: the running minimum of 1/Lambda
	Lo   float64 `json:"lo"` // always-valid interval of the absolute lift (running intersection)
	Hi   float64 `json:"hi"`
	Note string  `json:"note,omitempty"` // why a value is null
}

// msprt is the mixture sequential probability ratio test of Johari, Pekelis
// and Walsh ("Always valid inference", 2017) with a normal mixture of
// variance tau2 over the effect: at a look with estimate d and variance v,
// Lambda = sqrt(v/(v+tau2)) exp(tau2 d^2 / (2 v (v+tau2))). Rejecting once
// 1/Lambda <= alpha, whenever one looks, keeps the type I error at alpha; the
// values of theta with Lambda(theta) < 1/alpha form the confidence sequence
// d +- sqrt(2 v (v+tau2)/tau2 (log(1/alpha) + log((v+tau2)/v)/2)).
func (s *Sequential) look(d, v, tau2, alpha float64) {
	if !(v > 0) || math.IsNaN(d) {
		return
	}
	lam := math.Sqrt(v/(v+tau2)) * math.Exp(tau2*d*d/(2*v*(v+tau2)))
	s.P = math.Min(s.P, math.Min(1, 1/lam))
	half := math.Sqrt(2 * v * (v + tau2) / tau2 * (math.Log(1/alpha) + math.Log((v+tau2)/v)/2))
	s.Lo, s.Hi = math.Max(s.Lo, d-half), math.Min(s.Hi, d+half)
}

func newSequential() Sequential { return Sequential{P: 1, Lo: math.Inf(-1), Hi: math.Inf(1)} }

// SRM is the sample-ratio check: per allocation period, the arms' unit
// counts against the period's weights, summed into one chi-square.
type SRM struct {
	ChiSquare float64 `json:"chi_square"`
	DF        int     `json:"df"`
	P         float64 `json:"p"`
	Flagged   bool    `json:"flagged"` // p < 0.001
}

// SRMThreshold is the p-value below which a sample ratio mismatch is flagged.
const SRMThreshold = 0.001

func sampleRatio(counts [][]int, weights [][]float64) SRM {
	var out SRM
	for s := range counts {
		n, wsum := 0, 0.0
		for a := range counts[s] {
			n += counts[s][a]
			wsum += weights[s][a]
		}
		if n == 0 {
			continue
		}
		for a := range counts[s] {
			e := float64(n) * weights[s][a] / wsum
			d := float64(counts[s][a]) - e
			out.ChiSquare += d * d / e
		}
		out.DF += len(counts[s]) - 1
	}
	out.P = 1
	if out.DF > 0 {
		out.P = 1 - distuv.ChiSquared{K: float64(out.DF)}.CDF(out.ChiSquare)
	}
	out.Flagged = out.P < SRMThreshold
	return out
}

func sum(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	return sum(v) / float64(len(v))
}

func variance(v []float64) float64 {
	if len(v) < 2 {
		return math.NaN()
	}
	m := mean(v)
	s := 0.0
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	return s / float64(len(v)-1)
}
