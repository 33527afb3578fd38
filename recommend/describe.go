package recommend

import (
	"slices"

	"grouprank/data"
	"grouprank/features"
)

// GroupProfile is a group as people read it: what the dashboard's group page
// shows next to the group's picks.
type GroupProfile struct {
	Group        data.GroupID `json:"group"`
	GroupID      string       `json:"group_id,omitempty"` // the user's own id, for a world imported with its own ids
	ModelVersion string       `json:"model_version"`
	// Known is false for a group the snapshot has no record of (its picks are a cold start).
	Known   bool   `json:"known"`
	Channel string `json:"channel,omitempty"`
	Tier    int    `json:"city_tier,omitempty"`
	// Activity as of the snapshot.
	OrdersPerDay   float64  `json:"orders_per_day"`
	DaysSinceOrder *float64 `json:"days_since_order"` // null: never ordered
	Pushes         float64  `json:"pushes"`
	PushConversion float64  `json:"push_conversion"` // shrunk share of its pushes with an order
	OrderWeight    float64  `json:"order_weight"`    // decayed units ordered: how much history its profile rests on
	// Categories are the L1 categories by the group's share of (decayed)
	// units, with its plain order counts in the recent window, largest first.
	Categories []Share `json:"categories"`
	// PriceBands are its shares of units per price band, in band order.
	PriceBands []Share `json:"price_bands"`
	// Orders are its latest orders: those the service heard of since the
	// snapshot ("live"), then the snapshot's ("history"), newest first.
	Orders []OrderLine `json:"orders"`
}

// Share is one category's or price band's part of a group's orders.
type Share struct {
	Name   string  `json:"name"`
	Share  float64 `json:"share"`
	Recent float64 `json:"recent_orders,omitempty"`
}

// OrderLine is one order with the product as the catalogue has it.
type OrderLine struct {
	SKU        data.SKU       `json:"sku"`
	ItemID     string         `json:"item_id,omitempty"` // the user's own id, for a world imported with its own ids
	Title      string         `json:"title,omitempty"`
	Category   string         `json:"category,omitempty"`
	PriceCents int64          `json:"price_cents,omitempty"`
	Quantity   int32          `json:"quantity"`
	Time       data.Timestamp `json:"time"`
	Source     string         `json:"source"` // "live" or "history"
}

// Profile describes group id; mem, when not nil, adds the orders the
// service heard of since the snapshot. An unknown group gives Known false
// and no error.
func (m *Model) Profile(id data.GroupID, mem *PushMemory) (*GroupProfile, error) {
	out := &GroupProfile{Group: id, ModelVersion: m.Version, Categories: []Share{}, PriceBands: []Share{}, Orders: []OrderLine{}}
	g, err := m.groups.Group(id)
	switch {
	case err == nil:
		out.Known = true
	case errorsIsNotFound(err):
	default:
		return nil, err
	}
	cat := m.Ranker.Scorer.in.Cat
	line := func(o Order, src string) OrderLine {
		l := OrderLine{SKU: o.SKU, Quantity: o.Quantity, Time: o.Time, Source: src}
		if m.IDs != nil {
			l.ItemID = m.IDs.Name(data.IDSKU, int64(o.SKU))
		}
		if i, ok := cat.Index[o.SKU]; ok {
			p := &cat.Products[i]
			l.Title, l.Category, l.PriceCents = p.Title, p.CategoryL1, p.PriceCents
		}
		return l
	}
	if mem != nil && m.fold != nil {
		live := mem.OrdersSince(id, m.fold.since)
		for k := len(live) - 1; k >= 0 && len(out.Orders) < MaxRecentOrders; k-- {
			out.Orders = append(out.Orders, line(live[k], "live"))
		}
	}
	if !out.Known {
		return out, nil
	}
	out.Channel, out.Tier = g.Channel.String(), int(g.Tier)
	out.OrdersPerDay, out.Pushes, out.PushConversion, out.OrderWeight = float64(g.PerDay), float64(g.Pushes), float64(g.PushConv), float64(g.Weight)
	if g.DaysSince >= 0 {
		d := float64(g.DaysSince)
		out.DaysSinceOrder = &d
	}
	for c, sh := range g.L1 {
		if c >= len(cat.L1Names) {
			break
		}
		s := Share{Name: cat.L1Names[c], Share: float64(sh)}
		if c < len(g.L1Recent) {
			s.Recent = float64(g.L1Recent[c])
		}
		if s.Share > 0 || s.Recent > 0 {
			out.Categories = append(out.Categories, s)
		}
	}
	slices.SortStableFunc(out.Categories, func(a, b Share) int {
		switch {
		case a.Share > b.Share:
			return -1
		case a.Share < b.Share:
			return 1
		}
		return 0
	})
	for b, sh := range g.Band {
		if b < features.NumBands {
			out.PriceBands = append(out.PriceBands, Share{Name: features.BandNames[b], Share: float64(sh)})
		}
	}
	for _, o := range g.Orders {
		out.Orders = append(out.Orders, line(o, "history"))
	}
	return out, nil
}

// Products is the number of products in the model's catalogue (with updates applied).
func (m *Model) Products() int { return m.Ranker.Scorer.in.Cat.Len() }
