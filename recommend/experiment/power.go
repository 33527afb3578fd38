package experiment

import (
	"fmt"
	"math"
)

// Power is what a planned experiment can detect on its primary metric.
type Power struct {
	Metric string    `json:"metric"`
	Units  int       `json:"units"`   // units in the baseline span
	PerArm []float64 `json:"per_arm"` // expected units per arm (traffic x weight)
	Value  float64   `json:"value"`   // the metric's baseline value
	SD     float64   `json:"sd"`      // per-unit standard deviation (linearised for ratios)
	Power  float64   `json:"power"`   // 1 - beta
	MDEAbs float64   `json:"mde_abs"` // smallest true lift (absolute) detected with that power
	MDERel float64   `json:"mde_rel"` // the same relative to Value
	Days   int       `json:"days"`    // length of the baseline span
}

// PowerFor computes the minimum detectable effect of e's primary metric for
// its traffic and arm weights, from baseline totals of every unit over a
// span as long as the planned duration (units with no activity count as
// zeros when they are listed): MDE = (z(1-alpha/2) + z(power)) * sd *
// sqrt(1/n_control + 1/n_treatment), for the smallest treatment arm.
func PowerFor(e *Experiment, units []Totals, days int, power float64) (Power, error) {
	m, ok := MetricByName(e.Primary)
	if !ok {
		return Power{}, fmt.Errorf("experiment %q: unknown primary metric %q", e.Key, e.Primary)
	}
	if !(power > 0 && power < 1) {
		return Power{}, fmt.Errorf("power must be in (0, 1), got %g", power)
	}
	p := Power{Metric: m.Name, Units: len(units), Power: power, Days: days}
	if len(units) < 2 {
		return p, fmt.Errorf("experiment %q: the baseline holds %d units: too few to estimate a variance", e.Key, len(units))
	}
	var ny, nn float64
	for _, u := range units {
		ny += u[m.Num]
		if m.PerUnit() {
			nn++
		} else {
			nn += u[m.Den]
		}
	}
	if nn == 0 {
		return p, fmt.Errorf("experiment %q: the baseline has no %s", e.Key, m.Label)
	}
	p.Value = ny / nn
	nbar := nn / float64(len(units))
	l := make([]float64, len(units))
	for i, u := range units {
		d := 1.0
		if !m.PerUnit() {
			d = u[m.Den]
		}
		l[i] = (u[m.Num] - p.Value*d) / nbar
	}
	p.SD = math.Sqrt(variance(l))
	total := 0.0
	for _, a := range e.Arms {
		total += a.Weight
	}
	for _, a := range e.Arms {
		p.PerArm = append(p.PerArm, float64(len(units))*e.Traffic*a.Weight/total)
	}
	smallest := math.Inf(1)
	for _, n := range p.PerArm[1:] {
		smallest = math.Min(smallest, n)
	}
	z := normal.Quantile(1-e.Alpha/2) + normal.Quantile(power)
	p.MDEAbs = z * p.SD * math.Sqrt(1/p.PerArm[0]+1/smallest)
	p.MDERel = p.MDEAbs / p.Value
	return p, nil
}
