package recommend

import (
	"math/rand/v2"
	"testing"

	"github.com/viterin/vek/vek32"

	"grouprank/data"
	"grouprank/features"
)

// TestFoldInNewOrders: orders reported after the snapshot move the group's
// vector toward what it ordered; orders before the snapshot, or no orders,
// leave the group as it was.
func TestFoldInNewOrders(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	n, k := 50, 8
	var ps []data.Product
	for i := range n {
		ps = append(ps, data.Product{SKU: data.SKU(i + 1), CategoryL1: "food", PriceCents: 1000, InStock: true})
	}
	cat := features.NewCatalog(ps, data.UnknownTime)
	items := &Factors{K: k, V: make([]float32, n*k)}
	for i := range items.V {
		items.V[i] = float32(r.NormFloat64())
	}
	st := &features.ItemStats{Pop: make([]float32, n), Trend: make([]float32, n), Rating: make([]float32, n), Conv: make([]float32, n), Pushes: make([]float32, n)}
	in := &Inputs{Cat: cat, Stats: st, Items: items, Profile: NewProfileModel(cat, st)}
	m := NewModel("v", NewRanker(NewScorer(in, &Conversion{Features: FeatureNames(), Weights: make([]float64, NumFeatures)})), nil)
	m.EnableFoldIn(0.05, 0.002, 1, 1, 100*data.Day)
	g := &Group{Observed: []features.Weighted{{ID: 3, Weight: 2}, {ID: 9, Weight: 1.5}}}
	g.Vector = m.fold.problem.FoldIn([]int32{3, 9}, []float32{2, 1.5})
	mem := NewPushMemory()
	if got := m.foldedGroup(g, 7, mem); got != g {
		t.Error("no orders: the group should be unchanged")
	}
	mem.AddOrder(7, Order{SKU: 21, Quantity: 3, Time: 99 * data.Day}) // before the snapshot: already in it
	if got := m.foldedGroup(g, 7, mem); got != g {
		t.Error("an order before the snapshot was folded in again")
	}
	mem.AddOrder(7, Order{SKU: 21, Quantity: 3, Time: 101 * data.Day})
	got := m.foldedGroup(g, 7, mem)
	before, after := vek32.Dot(items.Row(20), g.Vector), vek32.Dot(items.Row(20), got.Vector)
	if !(after > before+0.1) {
		t.Errorf("the ordered item's score went from %.3f to %.3f", before, after)
	}
	if len(g.Observed) != 2 || got.Observed[0].ID != 3 {
		t.Error("fold-in changed the stored record")
	}
	cold := m.foldedGroup(&Group{}, 8, mem)
	if cold.Vector != nil {
		t.Error("a group without orders got a vector")
	}
	mem.AddOrder(8, Order{SKU: 5, Quantity: 1, Time: 102 * data.Day})
	if v := m.foldedGroup(&Group{}, 8, mem).Vector; v == nil || vek32.Dot(items.Row(4), v) <= 0 {
		t.Error("an unknown group with an order should get a vector that likes the item")
	}
}
