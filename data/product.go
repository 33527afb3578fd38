package data

import (
	"math"
	"sort"
)

// SKU identifies a product.
type SKU int64

// UnknownPrice marks a product whose price the source did not give.
const UnknownPrice int64 = -1

// UnknownRate marks a commission rate the source did not give.
const UnknownRate float64 = -1

// Product is one catalogue item as it stands at some moment.
type Product struct {
	SKU         SKU        // the product's id; > 0
	Title       string     // the name promoters see
	CategoryL1  string     // top-level category, e.g. "food"; "" when unknown
	CategoryL2  string     // second-level category within CategoryL1, e.g. "snacks"; "" when unknown
	Brand       string     // brand name; "" when unknown
	PriceCents  int64      // unit price in fen (cents); UnknownPrice when not given
	GoodReviews int32      // number of good reviews; <= Reviews
	Reviews     int32      // number of reviews in all
	Commission  float64    // commission rate as a fraction of the amount paid, 0..1; UnknownRate when not given
	Seller      SellerType // self-operated or third-party (POP)
	ActiveFrom  Timestamp  // first instant it may be sold; UnknownTime: always was
	ActiveUntil Timestamp  // instant it stops being sold; UnknownTime: open-ended
	InStock     bool       // whether it can be ordered now
}

// GoodReviewRate is GoodReviews/Reviews, or 0 when there are no reviews.
func (p *Product) GoodReviewRate() float64 {
	if p.Reviews <= 0 {
		return 0
	}
	return float64(p.GoodReviews) / float64(p.Reviews)
}

// CommissionCents is the commission one unit earns, or 0 when price or rate is unknown.
func (p *Product) CommissionCents() int64 {
	if p.PriceCents <= 0 || p.Commission <= 0 {
		return 0
	}
	return int64(math.Round(float64(p.PriceCents) * p.Commission))
}

// ActiveAt reports whether the product is in its activity window at t (stock aside).
// With t unknown only the window's existence matters: the product counts as active.
func (p *Product) ActiveAt(t Timestamp) bool {
	if t == UnknownTime {
		return true
	}
	if p.ActiveFrom != UnknownTime && t < p.ActiveFrom {
		return false
	}
	return p.ActiveUntil == UnknownTime || t < p.ActiveUntil
}

// Bounds of text fields: a product title, and a name (category, brand, arm,
// experiment description aside).
const (
	MaxTitleBytes = 1024
	MaxNameBytes  = 256
)

// Validate checks every field; the error names the field and the reason.
func (p *Product) Validate() error {
	const r = "product"
	switch {
	case p.SKU <= 0:
		return invalid(r, "sku", "must be > 0, got %d", p.SKU)
	case p.PriceCents < 0 && p.PriceCents != UnknownPrice:
		return invalid(r, "price_cents", "must be >= 0 or %d (unknown), got %d", UnknownPrice, p.PriceCents)
	case p.Reviews < 0:
		return invalid(r, "reviews", "must be >= 0, got %d", p.Reviews)
	case p.GoodReviews < 0 || p.GoodReviews > p.Reviews:
		return invalid(r, "good_reviews", "must be within 0..reviews (%d), got %d", p.Reviews, p.GoodReviews)
	case math.IsNaN(p.Commission) || (p.Commission != UnknownRate && (p.Commission < 0 || p.Commission > 1)):
		return invalid(r, "commission_rate", "must be a fraction in 0..1 or %g (unknown), got %g", UnknownRate, p.Commission)
	case !p.Seller.Valid():
		return invalid(r, "seller", "unknown seller type %d", p.Seller)
	case p.CategoryL2 != "" && p.CategoryL1 == "":
		return invalid(r, "category_l1", "is empty while category_l2 is %q", p.CategoryL2)
	case len(p.Title) > MaxTitleBytes:
		return invalid(r, "title", "is %d bytes; at most %d", len(p.Title), MaxTitleBytes)
	}
	for _, f := range []struct{ name, v string }{{"category_l1", p.CategoryL1}, {"category_l2", p.CategoryL2}, {"brand", p.Brand}} {
		if len(f.v) > MaxNameBytes {
			return invalid(r, f.name, "is %d bytes; at most %d", len(f.v), MaxNameBytes)
		}
	}
	if err := checkTime(r, "active_from", p.ActiveFrom); err != nil {
		return err
	}
	if err := checkTime(r, "active_until", p.ActiveUntil); err != nil {
		return err
	}
	if p.ActiveFrom != UnknownTime && p.ActiveUntil != UnknownTime && p.ActiveUntil <= p.ActiveFrom {
		return invalid(r, "active_until", "%s is not after active_from %s", p.ActiveUntil, p.ActiveFrom)
	}
	return nil
}

// CatalogChange is one dated edit of the catalogue. It carries the product's
// whole state after the change, so the catalogue at any past instant is the
// latest change of each SKU at or before it (see CatalogAt).
type CatalogChange struct {
	At      Timestamp  // when the change took effect; UnknownTime: since the beginning
	Kind    ChangeKind // what changed (informative: Product holds the full new state)
	Product Product    // the product's state from At on
}

// Validate checks the change and the product state it carries.
func (c *CatalogChange) Validate() error {
	if !c.Kind.Valid() {
		return invalid("catalog change", "kind", "unknown change kind %d", c.Kind)
	}
	if err := checkTime("catalog change", "at", c.At); err != nil {
		return err
	}
	return c.Product.Validate()
}

// CatalogAt rebuilds the catalogue as it stood at instant t: for each SKU the
// state of its latest change with At <= t (changes of equal At apply in slice
// order), minus SKUs whose latest change is a retirement. Products are returned
// in SKU order. The slice need not be sorted.
func CatalogAt(changes []CatalogChange, t Timestamp) []Product {
	latest := make(map[SKU]int, len(changes)/2+1)
	for i := range changes {
		c := &changes[i]
		if t != UnknownTime && c.At > t {
			continue
		}
		if j, ok := latest[c.Product.SKU]; ok && changes[j].At > c.At {
			continue
		}
		latest[c.Product.SKU] = i
	}
	out := make([]Product, 0, len(latest))
	for _, i := range latest {
		if changes[i].Kind == ChangeRetire {
			continue
		}
		out = append(out, changes[i].Product)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].SKU < out[b].SKU })
	return out
}
