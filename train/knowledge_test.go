package train

import (
	"math"
	"testing"

	"grouprank/data"
	"grouprank/features"
)

// TestKnowledge: per-group counts, and the taste's agreement with a truth
// that drove the conversions (and with its opposite).
func TestKnowledge(t *testing.T) {
	changes := []data.CatalogChange{
		{At: data.UnknownTime, Kind: data.ChangeNew, Product: data.Product{SKU: 1, Title: "a", CategoryL1: "food", PriceCents: 100, InStock: true}},
		{At: data.UnknownTime, Kind: data.ChangeNew, Product: data.Product{SKU: 2, Title: "b", CategoryL1: "home", PriceCents: 100, InStock: true}},
	}
	var groups []data.Group
	var pushes []data.Push
	var orders []data.Order
	effect := map[data.GroupID][]float64{}
	for g := range 40 {
		id := data.GroupID(g + 1)
		groups = append(groups, data.Group{ID: id, Promoter: data.PromoterID(g + 1), Channel: data.ChannelMother, CityTier: 1})
		likesFood := g%2 == 0
		if likesFood {
			effect[id] = []float64{1, -1}
		} else {
			effect[id] = []float64{-1, 1}
		}
		for k := range 20 {
			sku := data.SKU(1 + k%2)
			pid := data.PushID(len(pushes) + 1)
			tm := data.Timestamp(k/2+1) * data.Hour
			pushes = append(pushes, data.Push{ID: pid, Group: id, SKU: sku, Time: tm})
			liked := (sku == 1) == likesFood
			if (liked && k/2 < 8) || (!liked && k/2 < 2) {
				orders = append(orders, data.Order{ID: data.OrderID(len(orders) + 1), Group: id, SKU: sku, Push: pid, Quantity: 1,
					AmountCents: 100, Time: tm + data.Hour/60, Status: data.StatusPlaced})
			}
		}
	}
	h := NewHistory(changes, groups, orders, pushes, 2*data.Day, 3*data.Day)
	at := 2 * data.Day
	cat := h.Timeline.At(at)
	cfg := features.DefaultConfig()
	prof := features.BuildProfiles(cat, h.Groups, h.orders.Before(at), h.pushes.Before(at), nil, at, cfg)
	truth := func(sign float64) func(data.GroupID) []float64 {
		return func(g data.GroupID) []float64 {
			e := effect[g]
			out := make([]float64, len(cat.L1Names))
			for c, n := range cat.L1Names {
				switch n {
				case "food":
					out[c] = sign * e[0]
				case "home":
					out[c] = sign * e[1]
				}
			}
			return out
		}
	}
	k := h.Knowledge(prof, truth(1), truth(1))
	if k.Groups != 40 || k.PushesPerGroup != 20 || k.ConvertedPerGroup != 10 || k.OrdersPerGroup != 10 {
		t.Errorf("counts: %+v", k)
	}
	if k.TasteCorr < 0.9 || k.TasteCorrPushed < 0.9 || k.ShareCorr < 0.9 || math.Abs(k.AppetiteCorr-k.TasteCorr) > 1e-9 {
		t.Errorf("agreement with the truth that drove the orders: %+v", k)
	}
	if k := h.Knowledge(prof, truth(-1), nil); k.TasteCorr > -0.9 || !math.IsNaN(k.AppetiteCorr) {
		t.Errorf("agreement with the opposite truth: %+v", k)
	}
	if k := h.Knowledge(prof, nil, nil); !math.IsNaN(k.TasteCorr) || k.PushesPerGroup != 20 {
		t.Errorf("without the truth: %+v", k)
	}
}
