package importer

import (
	"grouprank/data"
	"grouprank/data/parquetio"
)

// column maps one target column to a field of T.
type column[T any] struct {
	name     string
	required bool
	set      func(*T, string) error
}

// schema is how one table is imported.
type schema[T any] struct {
	pq       *parquetio.Table[T]
	init     func(*T) // unknown values for columns the file lacks or leaves empty
	cols     []column[T]
	validate func(*T) error
	// key, when not nil, names a row's unique key (column, value): a file
	// that repeats one is refused at the repeat.
	key func(*T) (string, int64)
	// skip, when not nil, says why a valid row is left out with a warning
	// rather than refused ("" keeps it).
	skip func(*T) string
	// multi names a column that may hold several values separated by
	// commas or semicolons ("m1,m2,..."): one row per value.
	multi string
}

func req[T any](name string, set func(*T, string) error) column[T] {
	return column[T]{name, true, set}
}

func opt[T any](name string, set func(*T, string) error) column[T] {
	return column[T]{name, false, set}
}

func intField[T any, I ~int64 | ~int32](f func(*T) *I) func(*T, string) error {
	return func(t *T, s string) error {
		v, err := parseInt(s)
		*f(t) = I(v)
		return err
	}
}

func timeField[T any](f func(*T) *data.Timestamp) func(*T, string) error {
	return func(t *T, s string) error {
		v, err := parseTime(s)
		*f(t) = v
		return err
	}
}

func strField[T any](f func(*T) *string) func(*T, string) error {
	return func(t *T, s string) error { *f(t) = s; return nil }
}

func floatField[T any](f func(*T) *float64) func(*T, string) error {
	return func(t *T, s string) error {
		v, err := parseFloat(s)
		*f(t) = v
		return err
	}
}

func enumField[T any, E any](parse func(string) (E, error), f func(*T) *E) func(*T, string) error {
	return func(t *T, s string) error {
		v, err := parse(s)
		*f(t) = v
		return err
	}
}

var productColumns = []column[data.Product]{
	req("sku", intField(func(p *data.Product) *data.SKU { return &p.SKU })),
	opt("title", strField(func(p *data.Product) *string { return &p.Title })),
	opt("category_l1", strField(func(p *data.Product) *string { return &p.CategoryL1 })),
	opt("category_l2", strField(func(p *data.Product) *string { return &p.CategoryL2 })),
	opt("brand", strField(func(p *data.Product) *string { return &p.Brand })),
	opt("price_cents", intField(func(p *data.Product) *int64 { return &p.PriceCents })),
	opt("good_reviews", intField(func(p *data.Product) *int32 { return &p.GoodReviews })),
	opt("reviews", intField(func(p *data.Product) *int32 { return &p.Reviews })),
	opt("commission_rate", floatField(func(p *data.Product) *float64 { return &p.Commission })),
	opt("seller", enumField(data.ParseSellerType, func(p *data.Product) *data.SellerType { return &p.Seller })),
	opt("active_from", timeField(func(p *data.Product) *data.Timestamp { return &p.ActiveFrom })),
	opt("active_until", timeField(func(p *data.Product) *data.Timestamp { return &p.ActiveUntil })),
	opt("in_stock", func(p *data.Product, s string) (err error) { p.InStock, err = parseBool(s); return }),
}

func productInit(p *data.Product) {
	*p = data.Product{PriceCents: data.UnknownPrice, Commission: data.UnknownRate, InStock: true}
}

func tableSchemas() map[string]importable {
	return map[string]importable{
		"products": &schema[data.Product]{pq: parquetio.Products, init: productInit, cols: productColumns, validate: (*data.Product).Validate,
			key: func(p *data.Product) (string, int64) { return "sku", int64(p.SKU) }},
		"catalog": &schema[data.CatalogChange]{pq: parquetio.Catalog,
			init: func(c *data.CatalogChange) { *c = data.CatalogChange{}; productInit(&c.Product) },
			cols: append([]column[data.CatalogChange]{
				opt("at", timeField(func(c *data.CatalogChange) *data.Timestamp { return &c.At })),
				req("kind", enumField(data.ParseChangeKind, func(c *data.CatalogChange) *data.ChangeKind { return &c.Kind })),
			}, embed(productColumns, func(c *data.CatalogChange) *data.Product { return &c.Product })...),
			validate: (*data.CatalogChange).Validate},
		"groups": &schema[data.Group]{pq: parquetio.Groups, init: func(g *data.Group) { *g = data.Group{} },
			cols: []column[data.Group]{
				req("group", intField(func(g *data.Group) *data.GroupID { return &g.ID })),
				req("promoter", intField(func(g *data.Group) *data.PromoterID { return &g.Promoter })),
				opt("channel", enumField(data.ParseChannel, func(g *data.Group) *data.Channel { return &g.Channel })),
				opt("city_tier", func(g *data.Group, s string) error {
					if s == "" {
						return nil
					}
					v, err := parseInt(s)
					g.CityTier = data.CityTier(min(max(v, 0), 255))
					if err == nil && (v < 0 || v > 255) {
						g.CityTier = 255 // out of range: Validate names it
					}
					return err
				}),
				opt("created", timeField(func(g *data.Group) *data.Timestamp { return &g.Created })),
			}, validate: (*data.Group).Validate},
		"members": &schema[data.Membership]{pq: parquetio.Members, init: func(m *data.Membership) { *m = data.Membership{} },
			cols: []column[data.Membership]{
				req("group", intField(func(m *data.Membership) *data.GroupID { return &m.Group })),
				req("member", intField(func(m *data.Membership) *data.MemberID { return &m.Member })),
				opt("joined", timeField(func(m *data.Membership) *data.Timestamp { return &m.Joined })),
				opt("left", timeField(func(m *data.Membership) *data.Timestamp { return &m.Left })),
			}, validate: (*data.Membership).Validate, multi: "member"},
		"exposures": &schema[data.Exposure]{pq: parquetio.Exposures, init: func(x *data.Exposure) { *x = data.Exposure{} },
			cols: []column[data.Exposure]{
				req("request_id", strField(func(x *data.Exposure) *string { return &x.RequestID })),
				req("group", intField(func(x *data.Exposure) *data.GroupID { return &x.Group })),
				req("sku", intField(func(x *data.Exposure) *data.SKU { return &x.SKU })),
				req("rank", intField(func(x *data.Exposure) *int32 { return &x.Rank })),
				req("propensity", floatField(func(x *data.Exposure) *float64 { return &x.Propensity })),
				opt("model_version", strField(func(x *data.Exposure) *string { return &x.ModelVersion })),
				opt("experiment", strField(func(x *data.Exposure) *string { return &x.Experiment })),
				opt("arm", strField(func(x *data.Exposure) *string { return &x.Arm })),
				opt("time", timeField(func(x *data.Exposure) *data.Timestamp { return &x.Time })),
			}, validate: (*data.Exposure).Validate},
		"pushes": &schema[data.Push]{pq: parquetio.Pushes, init: func(p *data.Push) { *p = data.Push{} },
			cols: []column[data.Push]{
				req("push", intField(func(p *data.Push) *data.PushID { return &p.ID })),
				req("group", intField(func(p *data.Push) *data.GroupID { return &p.Group })),
				req("sku", intField(func(p *data.Push) *data.SKU { return &p.SKU })),
				opt("time", timeField(func(p *data.Push) *data.Timestamp { return &p.Time })),
				opt("request_id", strField(func(p *data.Push) *string { return &p.RequestID })),
			}, validate: (*data.Push).Validate},
		"orders": &schema[data.Order]{pq: parquetio.Orders,
			init: func(o *data.Order) { *o = data.Order{Quantity: 1, AmountCents: data.UnknownPrice} },
			cols: []column[data.Order]{
				req("order", intField(func(o *data.Order) *data.OrderID { return &o.ID })),
				opt("group", intField(func(o *data.Order) *data.GroupID { return &o.Group })), // empty: a member's own order
				opt("buyer", intField(func(o *data.Order) *data.MemberID { return &o.Buyer })),
				req("sku", intField(func(o *data.Order) *data.SKU { return &o.SKU })),
				opt("quantity", intField(func(o *data.Order) *int32 { return &o.Quantity })),
				opt("amount_cents", intField(func(o *data.Order) *int64 { return &o.AmountCents })),
				opt("commission_cents", intField(func(o *data.Order) *int64 { return &o.CommissionCents })),
				opt("time", timeField(func(o *data.Order) *data.Timestamp { return &o.Time })),
				opt("status", enumField(data.ParseOrderStatus, func(o *data.Order) *data.OrderStatus { return &o.Status })),
				opt("push", intField(func(o *data.Order) *data.PushID { return &o.Push })),
			}, validate: (*data.Order).Validate,
			skip: func(o *data.Order) string {
				if o.Quantity == 0 {
					return "quantity 0: not an order; left out"
				}
				return ""
			}},
	}
}

// embed lifts columns of an inner record into an outer one.
func embed[O, I any](cols []column[I], inner func(*O) *I) []column[O] {
	out := make([]column[O], len(cols))
	for i, c := range cols {
		set := c.set
		out[i] = column[O]{c.name, c.required, func(o *O, s string) error { return set(inner(o), s) }}
	}
	return out
}
