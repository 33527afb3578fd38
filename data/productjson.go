package data

import (
	"fmt"
	"strings"
	"time"
)

// ProductUpdate is a catalogue update as the service's API carries it in
// JSON (POST /v1/admin/catalog), with the seller as a name and the active
// window as RFC 3339 times. It merges: a field it carries replaces the
// product's, a field it leaves out keeps the product's current value, so
// {"sku": 7, "price_cents": 990} changes only the price. A new SKU must carry
// NewProductFields. The service decodes it and the Go client encodes it,
// from this one type.
type ProductUpdate struct {
	SKU         int64      `json:"sku"`
	Title       *string    `json:"title,omitempty"`
	CategoryL1  *string    `json:"category_l1,omitempty"`
	CategoryL2  *string    `json:"category_l2,omitempty"`
	Brand       *string    `json:"brand,omitempty"`
	PriceCents  *int64     `json:"price_cents,omitempty"`
	GoodReviews *int32     `json:"good_reviews,omitempty"`
	Reviews     *int32     `json:"reviews,omitempty"`
	Commission  *float64   `json:"commission_rate,omitempty"`
	Seller      *string    `json:"seller,omitempty"`
	InStock     *bool      `json:"in_stock,omitempty"`
	ActiveFrom  *time.Time `json:"active_from,omitempty"`
	ActiveUntil *time.Time `json:"active_until,omitempty"`
}

// NewProductFields are the fields an update of a SKU the catalogue does not
// hold yet must carry; the others default to unknown (commission, seller,
// brand, category_l2), no reviews, in stock and always active.
var NewProductFields = []string{"title", "category_l1", "price_cents"}

// UpdateOf is p's whole state as a catalogue update.
func UpdateOf(p Product) ProductUpdate {
	at := func(t Timestamp) *time.Time {
		if t == UnknownTime {
			return nil
		}
		x := t.Time()
		return &x
	}
	seller := p.Seller.String()
	return ProductUpdate{int64(p.SKU), &p.Title, &p.CategoryL1, &p.CategoryL2, &p.Brand, &p.PriceCents, &p.GoodReviews, &p.Reviews,
		&p.Commission, &seller, &p.InStock, at(p.ActiveFrom), at(p.ActiveUntil)}
}

// Merge applies the update to cur, the product's current state (nil for a
// SKU not in the catalogue), and validates the result.
func (u *ProductUpdate) Merge(cur *Product) (Product, error) {
	var out Product
	if cur != nil {
		out = *cur
	} else {
		var missing []string
		for k, set := range []bool{u.Title != nil, u.CategoryL1 != nil, u.PriceCents != nil} {
			if !set {
				missing = append(missing, NewProductFields[k])
			}
		}
		if len(missing) > 0 {
			return Product{}, invalid("product", missing[0], "SKU %d is new: an update must carry %s (missing: %s)",
				u.SKU, strings.Join(NewProductFields, ", "), strings.Join(missing, ", "))
		}
		out = Product{SKU: SKU(u.SKU), Commission: UnknownRate, InStock: true}
	}
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&out.Title, u.Title)
	set(&out.CategoryL1, u.CategoryL1)
	set(&out.CategoryL2, u.CategoryL2)
	set(&out.Brand, u.Brand)
	if u.PriceCents != nil {
		out.PriceCents = *u.PriceCents
	}
	if u.GoodReviews != nil {
		out.GoodReviews = *u.GoodReviews
	}
	if u.Reviews != nil {
		out.Reviews = *u.Reviews
	}
	if u.Commission != nil {
		out.Commission = *u.Commission
	}
	if u.Seller != nil {
		s, err := ParseSellerType(*u.Seller)
		if err != nil {
			return Product{}, err
		}
		out.Seller = s
	}
	if u.InStock != nil {
		out.InStock = *u.InStock
	}
	if u.ActiveFrom != nil {
		out.ActiveFrom = TimestampOf(*u.ActiveFrom)
	}
	if u.ActiveUntil != nil {
		out.ActiveUntil = TimestampOf(*u.ActiveUntil)
	}
	return out, out.Validate()
}

// BatchError refuses a whole batch for the items it names. It wraps
// ErrInvalid.
type BatchError struct {
	Noun  string // what the batch holds, e.g. "products"
	N     int    // the batch's size
	Items []ItemError
}

// ItemError is one refused item of a batch, by its index.
type ItemError struct {
	Index int
	Err   error
}

func (e *BatchError) Error() string {
	first := ""
	if len(e.Items) > 0 {
		first = fmt.Sprintf(" (first: #%d: %v)", e.Items[0].Index, e.Items[0].Err)
	}
	return fmt.Sprintf("%d of %d %s are invalid; none was taken%s", len(e.Items), e.N, e.Noun, first)
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *BatchError) Unwrap() error { return ErrInvalid }
