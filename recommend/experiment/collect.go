package experiment

import (
	"grouprank/data"
)

// Collector builds an experiment's Dataset from the logs: every exposure
// first (they decide who is in, in which arm, from when), then the events.
// A unit is analysed from its first exposure in the experiment and counts
// all its later pushes and orders, whichever list they came from; its
// pre-period totals come from the PreDays before the start.
type Collector struct {
	e          *Experiment
	start, end data.Timestamp
	commission func(data.SKU) float64  // commission rate of an order's sku
	groupUnit  map[data.GroupID]string // the unit each exposed group belongs to
	index      map[string]int
	units      []UnitData
	excluded   map[string]bool
	conflicts  map[string]bool
	orders     map[data.OrderID]orderRef
	early      [2]int // pushes and orders of units between the start and their first exposure, not counted
}

type orderRef struct {
	unit int32
	day  int32 // -1: pre-period
	gmv  float64
	comm float64
}

// NewCollector collects e's data up to end (exclusive); commission gives a
// sku's commission rate. A unit is the one its exposures name (for group
// experiments, the group itself when they name none); a promoter's groups
// count once one of them has been exposed.
func NewCollector(e *Experiment, end data.Timestamp, commission func(data.SKU) float64) *Collector {
	return &Collector{e: e, start: e.Started(), end: end, commission: commission, groupUnit: map[data.GroupID]string{},
		index: map[string]int{}, excluded: map[string]bool{}, conflicts: map[string]bool{}, orders: map[data.OrderID]orderRef{}}
}

// Days is the number of days from the start to end, rounded up.
func (c *Collector) Days() int {
	if c.start == data.UnknownTime || c.end <= c.start {
		return 0
	}
	return int((c.end - c.start + data.Day - 1) / data.Day)
}

// Exposure takes one exposure (others' exposures are ignored).
func (c *Collector) Exposure(x *data.Exposure) {
	if x.Experiment != c.e.Key || x.Time < c.start || x.Time >= c.end {
		return
	}
	unit := x.Unit
	if unit == "" {
		unit = UnitID(c.e.Unit, x.Group, 0)
	}
	if unit == "" {
		return
	}
	c.groupUnit[x.Group] = unit
	if _, ok := c.e.Overrides[unit]; ok {
		c.excluded[unit] = true
		return
	}
	arm := c.e.ArmIndex(x.Arm)
	if arm < 0 {
		return
	}
	k, ok := c.index[unit]
	if !ok {
		c.index[unit] = len(c.units)
		c.units = append(c.units, UnitData{ID: unit, Arm: arm, firstT: x.Time})
		return
	}
	u := &c.units[k]
	switch {
	case x.Time < u.firstT:
		if u.Arm != arm {
			c.conflicts[unit] = true
		}
		u.firstT, u.Arm = x.Time, arm
	case u.Arm != arm:
		c.conflicts[unit] = true
	}
}

// Event takes one event: pushes and orders of known units after their first
// exposure, or in the pre-period; cancellations undo their order.
func (c *Collector) Event(ev *data.Event) {
	if ev.Kind != data.EventPush && ev.Kind != data.EventOrder && ev.Kind != data.EventCancel {
		return
	}
	if ev.Kind == data.EventCancel {
		ref, ok := c.orders[ev.Order]
		if !ok {
			return
		}
		delete(c.orders, ev.Order)
		t := c.totals(int(ref.unit), int(ref.day))
		t[Orders]--
		t[GMV] -= ref.gmv
		t[Commission] -= ref.comm
		return
	}
	k, ok := c.index[c.groupUnit[ev.Group]]
	if !ok || ev.Time >= c.end {
		return
	}
	u := &c.units[k]
	day := -1
	switch {
	case ev.Time >= u.firstT:
		day = int((ev.Time - c.start) / data.Day)
	case c.e.PreDays > 0 && ev.Time < c.start && ev.Time >= c.start-data.Timestamp(c.e.PreDays)*data.Day:
	case ev.Time >= c.start:
		if ev.Kind == data.EventPush {
			c.early[0]++
		} else {
			c.early[1]++
		}
		return
	default:
		return
	}
	t := c.totals(k, day)
	if ev.Kind == data.EventPush {
		t[Pushes]++
		return
	}
	gmv := float64(ev.AmountCents) / 100
	comm := gmv * c.commission(ev.SKU)
	t[Orders]++
	t[GMV] += gmv
	t[Commission] += comm
	if ev.Order != 0 {
		c.orders[ev.Order] = orderRef{unit: int32(k), day: int32(day), gmv: gmv, comm: comm}
	}
}

func (c *Collector) totals(k, day int) *Totals {
	u := &c.units[k]
	if day < 0 {
		return &u.Pre
	}
	if u.Daily == nil {
		u.Daily = make([]Totals, c.Days())
	}
	return &u.Daily[day]
}

// Dataset returns the collected data.
func (c *Collector) Dataset() *Dataset {
	ds := &Dataset{Days: c.Days(), Periods: max(1, len(c.e.Periods)), Excluded: len(c.excluded), Conflicts: len(c.conflicts), Start: c.start,
		EarlyPushes: c.early[0], EarlyOrders: c.early[1]}
	for _, a := range c.e.Arms {
		ds.Arms = append(ds.Arms, a.Name)
	}
	for k := range c.units {
		u := c.units[k]
		u.First = int((u.firstT - c.start) / data.Day)
		u.Period = max(0, c.e.PeriodAt(u.firstT))
		if u.Daily == nil {
			u.Daily = make([]Totals, ds.Days)
		}
		ds.Units = append(ds.Units, u)
	}
	return ds
}
