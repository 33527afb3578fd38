package data

import "time"

// ProductUpdate is a catalogue update as the service's API carries it in
// JSON (POST /v1/admin/catalog): one product's whole new state, with the
// seller as a name and the active window as RFC 3339 times (absent: open).
// The service decodes it and the Go client encodes it, from this one type.
type ProductUpdate struct {
	SKU         int64      `json:"sku"`
	Title       string     `json:"title"`
	CategoryL1  string     `json:"category_l1"`
	CategoryL2  string     `json:"category_l2"`
	Brand       string     `json:"brand"`
	PriceCents  int64      `json:"price_cents"`
	GoodReviews int32      `json:"good_reviews"`
	Reviews     int32      `json:"reviews"`
	Commission  float64    `json:"commission_rate"`
	Seller      string     `json:"seller"`
	InStock     bool       `json:"in_stock"`
	ActiveFrom  *time.Time `json:"active_from,omitempty"`
	ActiveUntil *time.Time `json:"active_until,omitempty"`
}

// UpdateOf is p as a catalogue update.
func UpdateOf(p Product) ProductUpdate {
	at := func(t Timestamp) *time.Time {
		if t == UnknownTime {
			return nil
		}
		x := t.Time()
		return &x
	}
	return ProductUpdate{int64(p.SKU), p.Title, p.CategoryL1, p.CategoryL2, p.Brand, p.PriceCents, p.GoodReviews, p.Reviews,
		p.Commission, p.Seller.String(), p.InStock, at(p.ActiveFrom), at(p.ActiveUntil)}
}

// Product is the update as a validated product.
func (u *ProductUpdate) Product() (Product, error) {
	seller, err := ParseSellerType(u.Seller)
	if err != nil {
		return Product{}, err
	}
	out := Product{SKU: SKU(u.SKU), Title: u.Title, CategoryL1: u.CategoryL1, CategoryL2: u.CategoryL2, Brand: u.Brand,
		PriceCents: u.PriceCents, GoodReviews: u.GoodReviews, Reviews: u.Reviews, Commission: u.Commission, Seller: seller, InStock: u.InStock}
	if u.ActiveFrom != nil {
		out.ActiveFrom = TimestampOf(*u.ActiveFrom)
	}
	if u.ActiveUntil != nil {
		out.ActiveUntil = TimestampOf(*u.ActiveUntil)
	}
	return out, out.Validate()
}
