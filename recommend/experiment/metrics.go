package experiment

import (
	"slices"

	"grouprank/data"
)

// Totals are a unit's counts over some span: pushes, orders (net of
// cancellations), GMV and commission in yuan.
type Totals [4]float64

// The fields of Totals.
const (
	Pushes = iota
	Orders
	GMV
	Commission
)

// Add adds o to t.
func (t *Totals) Add(o Totals) {
	for i := range t {
		t[i] += o[i]
	}
}

// Metric is what a report measures: a ratio of two totals summed over units
// (Den >= 0: e.g. orders per push, analysed by the delta method) or a total
// per unit (Den < 0).
type Metric struct {
	Name  string
	Label string // for people: "orders per push"
	Num   int
	Den   int // -1: per unit
}

// PerUnit says whether the metric is a mean over units.
func (m Metric) PerUnit() bool { return m.Den < 0 }

var metrics = []Metric{
	{"commission_per_push", "commission per push", Commission, Pushes},
	{"orders_per_push", "orders per push", Orders, Pushes},
	{"gmv_per_push", "GMV per push", GMV, Pushes},
	{"commission_per_unit", "commission per unit", Commission, -1},
	{"orders_per_unit", "orders per unit", Orders, -1},
	{"gmv_per_unit", "GMV per unit", GMV, -1},
	{"pushes_per_unit", "pushes per unit", Pushes, -1},
}

// MetricByName finds a metric.
func MetricByName(name string) (Metric, bool) {
	i := slices.IndexFunc(metrics, func(m Metric) bool { return m.Name == name })
	if i < 0 {
		return Metric{}, false
	}
	return metrics[i], true
}

// MetricNames lists every metric.
func MetricNames() []string {
	out := make([]string, len(metrics))
	for i, m := range metrics {
		out[i] = m.Name
	}
	return out
}

// UnitData is one analysed unit: its arm, the allocation period and day
// (since the experiment's start) of its first exposure, its totals per day
// from that exposure on, and its totals in the pre-period.
type UnitData struct {
	ID     string
	Arm    int
	Period int
	First  int      // day of the first exposure
	Daily  []Totals // indexed by day since the start; zero before First
	Pre    Totals
	firstT data.Timestamp
}

// Post is the unit's totals over days [0, upTo).
func (u *UnitData) Post(upTo int) Totals {
	var t Totals
	for d := u.First; d < upTo && d < len(u.Daily); d++ {
		t.Add(u.Daily[d])
	}
	return t
}

// Dataset is everything an analysis reads.
type Dataset struct {
	Arms      []string
	Days      int // days since the start covered
	Periods   int
	Units     []UnitData
	Excluded  int // units under a QA override
	Conflicts int // units exposed under two arms (kept in their first)
	// EarlyPushes and EarlyOrders are the pushes and orders of exposed units
	// after the start but before their first exposure: not counted, since a
	// unit counts from the list that put it in its arm.
	EarlyPushes, EarlyOrders int
	Start                    data.Timestamp
	cum                      [][]Totals // running totals per unit, built on first use
}
