package train

import (
	"testing"

	"grouprank/data"
	"grouprank/recommend"
)

// TestRecentOrders: each group keeps its latest placed orders before the
// instant, newest first; cancelled orders and later ones are left out.
func TestRecentOrders(t *testing.T) {
	var changes []data.CatalogChange
	for s := range 3 {
		changes = append(changes, data.CatalogChange{At: data.UnknownTime, Kind: data.ChangeNew,
			Product: data.Product{SKU: data.SKU(10 + s), Title: "p", CategoryL1: "food", PriceCents: 100, InStock: true}})
	}
	groups := []data.Group{{ID: 1, Promoter: 1, Channel: data.ChannelMother, CityTier: 1}, {ID: 2, Promoter: 2, Channel: data.ChannelCourier, CityTier: 2}}
	var orders []data.Order
	// group 1: 15 orders at days 1..15 in shuffled order; group 2: one cancelled
	for k, d := range []int{7, 3, 12, 1, 15, 9, 4, 11, 2, 14, 6, 10, 5, 13, 8} {
		orders = append(orders, data.Order{ID: data.OrderID(k + 1), Group: 1, SKU: data.SKU(10 + d%3), Quantity: int32(d), AmountCents: 100,
			Time: data.Timestamp(d) * data.Day, Status: data.StatusPlaced})
	}
	orders = append(orders, data.Order{ID: 99, Group: 2, SKU: 10, Quantity: 1, AmountCents: 100, Time: data.Day, Status: data.StatusCancelled})
	h := NewHistory(changes, groups, orders, nil, 20*data.Day, 3*data.Day)
	got := h.RecentOrders(14*data.Day, 4) // before day 14: days 13, 12, 11, 10
	if len(got) != 2 || len(got[1]) != 0 {
		t.Fatalf("groups %d, group 2 %v", len(got), got[1])
	}
	want := []int{13, 12, 11, 10}
	if len(got[0]) != len(want) {
		t.Fatalf("group 1: %v", got[0])
	}
	for k, d := range want {
		o := got[0][k]
		if o.Time != data.Timestamp(d)*data.Day || o.Quantity != int32(d) || o.SKU != data.SKU(10+d%3) {
			t.Errorf("order %d: %+v, want day %d", k, o, d)
		}
	}
	// Group 1's placed orders in the ActiveDays before day 14, group 2's
	// (cancelled) none.
	for _, c := range []struct {
		g    int32
		want int
	}{{0, min(recommend.ActiveDays, 13)}, {1, 0}} {
		if got := h.active(c.g, 14*data.Day); int(got) != min(c.want, recommend.MaxRecentOrders) {
			t.Errorf("group %d: %v orders active, want %d", c.g+1, got, c.want)
		}
	}
	// Without pushes the push columns stay nil: the statistics read a nil
	// mark column as marks the data do not have.
	if h.pushes.Found != nil || h.pushes.Converted != nil || h.pushes.Group != nil {
		t.Error("a history without pushes has push columns")
	}
}
