package experiment

import (
	"strings"
	"testing"

	"grouprank/data"
)

// Pushes and orders of a unit between the start and its first exposure are
// counted and said, not dropped without a word; the intervals are named by
// the experiment's alpha; a definition without traffic takes every unit.
func TestEarlyEventsAndLabels(t *testing.T) {
	e := commissionTest("early")
	e.Traffic, e.Alpha = 0, 0.1
	e.Normalize()
	if e.Traffic != 1 {
		t.Errorf("traffic left out: %g, want 1", e.Traffic)
	}
	start := data.Timestamp(1_790_000_000_000)
	if err := e.Start(start); err != nil {
		t.Fatal(err)
	}
	c := NewCollector(e, start+3*data.Day, func(data.SKU) float64 { return 0.1 })
	for g := range data.GroupID(40) {
		arm := "practice"
		if g%2 == 1 {
			arm = "commission"
		}
		c.Exposure(&data.Exposure{RequestID: "r", Group: g + 1, SKU: 5, Rank: 1, Propensity: 1, Experiment: "early", Arm: arm,
			Unit: UnitID(UnitGroup, g+1, 0), Time: start + data.Day})
	}
	for _, ev := range []data.Event{
		{ID: "a", Kind: data.EventPush, Group: 1, SKU: 5, Time: start + data.Hour, Push: 1},                                    // before its list
		{ID: "b", Kind: data.EventOrder, Group: 1, SKU: 5, Time: start + 2*data.Hour, Order: 1, Quantity: 1, AmountCents: 990}, // likewise
		{ID: "c", Kind: data.EventPush, Group: 1, SKU: 5, Time: start + data.Day + data.Hour, Push: 2},                         // counted
	} {
		c.Event(&ev)
	}
	r := Analyze(e, c.Dataset())
	if r.EarlyPushes != 1 || r.EarlyOrders != 1 {
		t.Errorf("early pushes %d, orders %d; want 1 and 1", r.EarlyPushes, r.EarlyOrders)
	}
	if !strings.Contains(strings.Join(r.Lines, "\n"), "not counted: 1 pushes and 1 orders") || !strings.Contains(r.Table(), "not counted") {
		t.Errorf("the report does not say what it left out:\n%s", r.Table())
	}
	if !strings.Contains(r.Table(), "90% CI") || strings.Contains(r.Table(), "95% CI") {
		t.Errorf("alpha 0.1 should label 90%% intervals:\n%s", r.Table())
	}
}
