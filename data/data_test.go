package data_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"grouprank/data"
)

const t0 = data.Timestamp(1788220800000) // 2026-09-01

type validator interface{ Validate() error }

func TestValidateNamesTheField(t *testing.T) {
	goodProduct := func() *data.Product {
		return &data.Product{SKU: 1, PriceCents: 100, GoodReviews: 1, Reviews: 2, Commission: 0.1, Seller: data.SellerPOP}
	}
	goodOrder := func() *data.Order {
		return &data.Order{ID: 1, Group: 1, SKU: 1, Quantity: 1, AmountCents: 100, CommissionCents: 10, Time: t0}
	}
	for _, tc := range []struct {
		name  string
		v     validator
		field string // "" when valid
	}{
		{"product ok", goodProduct(), ""},
		{"product unknowns ok", &data.Product{SKU: 1, PriceCents: data.UnknownPrice, Commission: data.UnknownRate}, ""},
		{"product sku", func() validator { p := goodProduct(); p.SKU = 0; return p }(), "sku"},
		{"product price", func() validator { p := goodProduct(); p.PriceCents = -5; return p }(), "price_cents"},
		{"product reviews", func() validator { p := goodProduct(); p.Reviews = -1; return p }(), "reviews"},
		{"product good reviews", func() validator { p := goodProduct(); p.GoodReviews = 3; return p }(), "good_reviews"},
		{"product commission", func() validator { p := goodProduct(); p.Commission = 1.5; return p }(), "commission_rate"},
		{"product seller", func() validator { p := goodProduct(); p.Seller = 9; return p }(), "seller"},
		{"product l2 without l1", func() validator { p := goodProduct(); p.CategoryL2 = "snacks"; return p }(), "category_l1"},
		{"product seconds", func() validator { p := goodProduct(); p.ActiveFrom = 1788220800; return p }(), "active_from"},
		{"product window", func() validator { p := goodProduct(); p.ActiveFrom, p.ActiveUntil = t0, t0; return p }(), "active_until"},
		{"change kind", &data.CatalogChange{Kind: 77, Product: *goodProduct()}, "kind"},
		{"group ok", &data.Group{ID: 1, Promoter: 1}, ""},
		{"group id", &data.Group{Promoter: 1}, "group"},
		{"group promoter", &data.Group{ID: 1}, "promoter"},
		{"group channel", &data.Group{ID: 1, Promoter: 1, Channel: 42}, "channel"},
		{"group tier", &data.Group{ID: 1, Promoter: 1, CityTier: 7}, "city_tier"},
		{"member left before joined", &data.Membership{Group: 1, Member: 1, Joined: t0 + data.Day, Left: t0}, "left"},
		{"member id", &data.Membership{Group: 1}, "member"},
		{"exposure ok", &data.Exposure{RequestID: "r", Group: 1, SKU: 1, Rank: 1, Propensity: 1}, ""},
		{"exposure request", &data.Exposure{Group: 1, SKU: 1, Rank: 1, Propensity: 1}, "request_id"},
		{"exposure rank", &data.Exposure{RequestID: "r", Group: 1, SKU: 1, Propensity: 1}, "rank"},
		{"exposure propensity", &data.Exposure{RequestID: "r", Group: 1, SKU: 1, Rank: 1}, "propensity"},
		{"exposure arm", &data.Exposure{RequestID: "r", Group: 1, SKU: 1, Rank: 1, Propensity: 1, Arm: "b"}, "arm"},
		{"push ok", &data.Push{ID: 1, Group: 1, SKU: 1}, ""},
		{"push sku", &data.Push{ID: 1, Group: 1}, "sku"},
		{"order ok", goodOrder(), ""},
		{"order unknowns ok", &data.Order{ID: 1, Group: 1, SKU: 1, Quantity: 1, AmountCents: data.UnknownPrice}, ""},
		{"order quantity", func() validator { o := goodOrder(); o.Quantity = 0; return o }(), "quantity"},
		{"order amount", func() validator { o := goodOrder(); o.AmountCents = -2; return o }(), "amount_cents"},
		{"order commission above amount", func() validator { o := goodOrder(); o.CommissionCents = 101; return o }(), "commission_cents"},
		{"order status", func() validator { o := goodOrder(); o.Status = 5; return o }(), "status"},
		{"order buyer", func() validator { o := goodOrder(); o.Buyer = -1; return o }(), "buyer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.v.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var fe *data.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field || fe.Reason == "" || !errors.Is(err, data.ErrInvalid) {
				t.Fatalf("got %v, want a FieldError on %s", err, tc.field)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("%q does not name %s", err, tc.field)
			}
		})
	}
}

func TestCatalogAt(t *testing.T) {
	p := data.Product{SKU: 5, PriceCents: 1000, InStock: true}
	cheaper, out, q := p, p, data.Product{SKU: 3, PriceCents: 50}
	cheaper.PriceCents = 800
	out.PriceCents, out.InStock = 800, false
	changes := []data.CatalogChange{ // deliberately unsorted
		{At: t0 + 2*data.Day, Kind: data.ChangeStock, Product: out},
		{At: t0, Kind: data.ChangeNew, Product: p},
		{At: t0 + data.Day, Kind: data.ChangePrice, Product: cheaper},
		{At: t0, Kind: data.ChangeNew, Product: q},
		{At: t0 + 3*data.Day, Kind: data.ChangeRetire, Product: q},
	}
	for _, tc := range []struct {
		at   data.Timestamp
		want []data.Product
	}{
		{t0 - 1, nil},
		{t0, []data.Product{q, p}},
		{t0 + data.Day + 5, []data.Product{q, cheaper}},
		{t0 + 2*data.Day, []data.Product{q, out}},
		{t0 + 3*data.Day, []data.Product{out}},
	} {
		got := data.CatalogAt(changes, tc.at)
		if len(got) != len(tc.want) {
			t.Fatalf("at %s: %v", tc.at, got)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("at %s: %+v, want %+v", tc.at, got[i], tc.want[i])
			}
		}
	}
}

func TestPractice(t *testing.T) {
	ps := []data.Product{
		{SKU: 9, GoodReviews: 90, Reviews: 100, Commission: 0.1},             // 0.09
		{SKU: 4, GoodReviews: 45, Reviews: 50, Commission: 0.1},              // 0.09, smaller sku: first
		{SKU: 7, GoodReviews: 99, Reviews: 100, Commission: 0.3},             // 0.297
		{SKU: 2, GoodReviews: 0, Reviews: 0, Commission: 0.4},                // no reviews: 0
		{SKU: 1, GoodReviews: 10, Reviews: 10, Commission: data.UnknownRate}, // unknown: 0
	}
	order := data.RankByPractice(ps)
	var got []data.SKU
	for _, i := range order {
		got = append(got, ps[i].SKU)
	}
	want := []data.SKU{7, 4, 9, 1, 2}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order %v, want %v", got, want)
		}
	}
	for i := 1; i < len(order); i++ {
		if data.PracticeLess(&ps[order[i]], &ps[order[i-1]]) {
			t.Fatalf("PracticeLess disagrees with RankByPractice at %d", i)
		}
	}
}

func TestEnumsRoundTrip(t *testing.T) {
	for _, c := range append([]data.Channel{data.ChannelUnknown}, data.Channels...) {
		if got, err := data.ParseChannel(c.String()); err != nil || got != c {
			t.Errorf("channel %v: %v %v", c, got, err)
		}
	}
	for _, s := range []data.OrderStatus{data.StatusPlaced, data.StatusCancelled, data.StatusRefunded} {
		if got, err := data.ParseOrderStatus(s.String()); err != nil || got != s {
			t.Errorf("status %v", s)
		}
	}
	if _, err := data.ParseSellerType("marketplace"); !errors.Is(err, data.ErrInvalid) || !strings.Contains(err.Error(), "self, pop") {
		t.Errorf("got %v", err)
	}
	if data.UnknownTime.String() != "unknown" || data.TimestampOf(t0.Time()) != t0 {
		t.Error("timestamp round trip")
	}
}

// A product survives the API's catalogue-update form (JSON), with and
// without an active window; a bad seller or price is refused.
func TestProductUpdateRoundTrip(t *testing.T) {
	for _, p := range []data.Product{
		{SKU: 7, Title: "kettle", CategoryL1: "appliances", CategoryL2: "kitchen", Brand: "b", PriceCents: 12900, GoodReviews: 90,
			Reviews: 100, Commission: 0.05, Seller: data.SellerSelf, InStock: true},
		{SKU: 8, Title: "socks", CategoryL1: "apparel", PriceCents: 990, Commission: 0.2, Seller: data.SellerPOP,
			ActiveFrom: data.TimestampOf(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)), ActiveUntil: data.TimestampOf(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))},
	} {
		b, err := json.Marshal(data.UpdateOf(p))
		if err != nil {
			t.Fatal(err)
		}
		var u data.ProductUpdate
		if err := json.Unmarshal(b, &u); err != nil {
			t.Fatal(err)
		}
		got, err := u.Merge(nil)
		if err != nil || got != p {
			t.Errorf("%s: got %+v, %v, want %+v", b, got, err, p)
		}
	}
	str := func(s string) *string { return &s }
	i64 := func(x int64) *int64 { return &x }
	for _, u := range []data.ProductUpdate{{SKU: 1, Title: str("x"), CategoryL1: str("food"), PriceCents: i64(100), Seller: str("friend")},
		{SKU: 1, Title: str("x"), CategoryL1: str("food"), PriceCents: i64(-5), Seller: str("pop")}} {
		if _, err := u.Merge(nil); err == nil {
			t.Errorf("%+v: want an error", u)
		}
	}
}

// An update changes only the fields it carries; a new SKU without its
// required fields is refused naming them.
func TestProductUpdateMerges(t *testing.T) {
	cur := data.Product{SKU: 10000068, Title: "rice 5kg", CategoryL1: "food", CategoryL2: "grains_oils", Brand: "b", PriceCents: 3990,
		GoodReviews: 95, Reviews: 100, Commission: 0.12, Seller: data.SellerPOP, InStock: true}
	var u data.ProductUpdate
	if err := json.Unmarshal([]byte(`{"sku":10000068}`), &u); err != nil {
		t.Fatal(err)
	}
	if got, err := u.Merge(&cur); err != nil || got != cur {
		t.Errorf("an update with the SKU alone: got %+v, %v; want the product unchanged", got, err)
	}
	if err := json.Unmarshal([]byte(`{"sku":10000068,"price_cents":2990,"in_stock":false}`), &u); err != nil {
		t.Fatal(err)
	}
	want := cur
	want.PriceCents, want.InStock = 2990, false
	if got, err := u.Merge(&cur); err != nil || got != want {
		t.Errorf("price and stock: got %+v, %v; want %+v", got, err, want)
	}
	var n data.ProductUpdate
	if err := json.Unmarshal([]byte(`{"sku":5,"title":"new"}`), &n); err != nil {
		t.Fatal(err)
	}
	_, err := n.Merge(nil)
	if !errors.Is(err, data.ErrInvalid) || !strings.Contains(err.Error(), "category_l1, price_cents") {
		t.Errorf("a new SKU without category and price: got %v, want an error naming them", err)
	}
}

// The service's events become the pushes and orders tables: a repeated id
// keeps its first event, a cancel (even one reported before its order)
// marks the order, commission is the amount times the rate at the order's
// time, and what is not activity is counted and left out.
func TestActivityOf(t *testing.T) {
	evs := []data.Event{
		{ID: "x1", Kind: data.EventExposure, Group: 1, SKU: 5, Time: t0, RequestID: "r", Rank: 1},
		{ID: "p1", Kind: data.EventPush, Group: 1, SKU: 5, Time: t0 + 1, RequestID: "r", Push: 10},
		{ID: "p1b", Kind: data.EventPush, Group: 1, SKU: 6, Time: t0 + 2, Push: 10},
		{ID: "c2", Kind: data.EventCancel, Group: 1, SKU: 5, Time: t0 + 3, Order: 21},
		{ID: "o1", Kind: data.EventOrder, Group: 1, SKU: 5, Time: t0 + 4, Push: 10, Order: 20, Quantity: 2, AmountCents: 1999},
		{ID: "o2", Kind: data.EventOrder, Group: 1, SKU: 5, Time: t0 + 5, Order: 21, Quantity: 1, AmountCents: 1000},
		{ID: "o2b", Kind: data.EventOrder, Group: 1, SKU: 5, Time: t0 + 6, Order: 21, Quantity: 9, AmountCents: 9000},
		{ID: "o3", Kind: data.EventOrder, Group: 2, SKU: 7, Time: t0 + 7, Order: 22, Quantity: 1, AmountCents: 500},
		{ID: "c9", Kind: data.EventCancel, Group: 2, SKU: 7, Time: t0 + 8, Order: 99},
		{ID: "k1", Kind: data.EventClick, Group: 1, SKU: 5, Time: t0 + 9, Push: 10},
	}
	rate := func(sku data.SKU, at data.Timestamp) float64 {
		if sku == 7 {
			return data.UnknownRate
		}
		if at < t0+5 {
			return 0.1
		}
		return 0.2
	}
	pushes, orders, rep := data.ActivityOf(evs, rate)
	wantP := []data.Push{{ID: 10, Group: 1, SKU: 5, Time: t0 + 1, RequestID: "r"}}
	wantO := []data.Order{
		{ID: 20, Group: 1, SKU: 5, Quantity: 2, AmountCents: 1999, CommissionCents: 200, Time: t0 + 4, Status: data.StatusPlaced, Push: 10},
		{ID: 21, Group: 1, SKU: 5, Quantity: 1, AmountCents: 1000, CommissionCents: 200, Time: t0 + 5, Status: data.StatusCancelled},
		{ID: 22, Group: 2, SKU: 7, Quantity: 1, AmountCents: 500, Time: t0 + 7, Status: data.StatusPlaced},
	}
	wantRep := data.ActivityReport{Pushes: 1, Orders: 3, Cancelled: 1, UnknownCancels: 1, DuplicatePushes: 1, DuplicateOrders: 1, UnknownRate: 1, Ignored: 2}
	if !reflect.DeepEqual(pushes, wantP) || !reflect.DeepEqual(orders, wantO) || rep != wantRep {
		t.Errorf("pushes %+v\norders %+v\nreport %+v", pushes, orders, rep)
	}
	for k := range orders {
		if err := orders[k].Validate(); err != nil {
			t.Error(err)
		}
	}
}

// TestRequestKey: FNV-1a 64 of the id (the published test vectors).
func TestRequestKey(t *testing.T) {
	for id, want := range map[string]uint64{"": 0xcbf29ce484222325, "a": 0xaf63dc4c8601ec8c, "foobar": 0x85944171f73967e8} {
		if got := data.RequestKey(id); got != want {
			t.Fatalf("RequestKey(%q) = %#x, want %#x", id, got, want)
		}
	}
}
