package parquetio

import "grouprank/data"

// Table describes one kind of file: its name, its default file name and how
// its rows map to a type of package data.
type Table[T any] struct {
	Name   string // e.g. "orders"
	File   string // default file name in a world directory, e.g. "orders.parquet"
	create func(string, Options) (*Writer[T], error)
	open   func(string) (*Reader[T], error)
}

func newTable[T, R any](name string, to func(*R, *T), from func(*T, *R) error, validate func(*T) error) *Table[T] {
	tb := &Table[T]{Name: name, File: name + ".parquet"}
	tb.create = func(path string, o Options) (*Writer[T], error) { return newWriter(path, tb, to, o) }
	tb.open = func(path string) (*Reader[T], error) { return newReader(path, from, validate) }
	return tb
}

// The tables of a world directory.
var (
	Products  = newTable("products", productTo, productFrom, (*data.Product).Validate)
	Catalog   = newTable("catalog", changeTo, changeFrom, (*data.CatalogChange).Validate)
	Groups    = newTable("groups", groupTo, groupFrom, (*data.Group).Validate)
	Members   = newTable("members", memberTo, memberFrom, (*data.Membership).Validate)
	Exposures = newTable("exposures", exposureTo, exposureFrom, (*data.Exposure).Validate)
	Pushes    = newTable("pushes", pushTo, pushFrom, (*data.Push).Validate)
	Orders    = newTable("orders", orderTo, orderFrom, (*data.Order).Validate)
	// Events are the service's live events as exported for retraining (grouprank events export).
	Events = newTable("events", eventTo, eventFrom, (*data.Event).Check)
	// Picks are batch picks (grouprank picks --all).
	Picks = newTable("picks", pickTo, pickFrom, (*data.PickRow).Validate)
	// IDs map the internal ids of an imported world to the user's own.
	IDs = newTable("ids", idTo, idFrom, (*data.ExternalID).Validate)
)

type idRow struct {
	Kind string `parquet:"kind,dict"`
	ID   int64  `parquet:"id"`
	Name string `parquet:"name"`
}

func idTo(r *idRow, e *data.ExternalID) { *r = idRow{e.Kind, e.ID, e.Name} }

func idFrom(e *data.ExternalID, r *idRow) error {
	*e = data.ExternalID{Kind: r.Kind, ID: r.ID, Name: r.Name}
	return nil
}

type pickRow struct {
	Group          int64   `parquet:"group"`
	Rank           int32   `parquet:"rank"`
	SKU            int64   `parquet:"sku"`
	P              float64 `parquet:"p"`
	ExpectedOrders float64 `parquet:"expected_orders"`
	Score          float64 `parquet:"score"`
	Objective      string  `parquet:"objective,dict"`
	ModelVersion   string  `parquet:"model_version,dict"`
	Time           int64   `parquet:"time,timestamp(millisecond)"`
}

func pickTo(r *pickRow, p *data.PickRow) {
	*r = pickRow{int64(p.Group), p.Rank, int64(p.SKU), p.P, p.ExpectedOrders, p.Score, p.Objective, p.ModelVersion, int64(p.Time)}
}

func pickFrom(p *data.PickRow, r *pickRow) error {
	*p = data.PickRow{Group: data.GroupID(r.Group), Rank: r.Rank, SKU: data.SKU(r.SKU), P: r.P, ExpectedOrders: r.ExpectedOrders,
		Score: r.Score, Objective: r.Objective, ModelVersion: r.ModelVersion, Time: data.Timestamp(r.Time)}
	return nil
}

type eventRow struct {
	ID          string `parquet:"id"`
	Kind        string `parquet:"kind,dict"`
	Group       int64  `parquet:"group"`
	SKU         int64  `parquet:"sku"`
	Time        int64  `parquet:"time,timestamp(millisecond)"`
	RequestID   string `parquet:"request_id"`
	Rank        int32  `parquet:"rank"`
	Push        int64  `parquet:"push"`
	Order       int64  `parquet:"order"`
	Quantity    int32  `parquet:"quantity"`
	AmountCents int64  `parquet:"amount_cents"`
	Buyer       int64  `parquet:"buyer"`
}

func eventTo(r *eventRow, e *data.Event) {
	*r = eventRow{e.ID, e.Kind.String(), int64(e.Group), int64(e.SKU), int64(e.Time), e.RequestID, e.Rank, int64(e.Push),
		int64(e.Order), e.Quantity, e.AmountCents, int64(e.Buyer)}
}

func eventFrom(e *data.Event, r *eventRow) error {
	k, err := data.ParseEventKind(r.Kind)
	if err != nil {
		return err
	}
	*e = data.Event{ID: r.ID, Kind: k, Group: data.GroupID(r.Group), SKU: data.SKU(r.SKU), Time: data.Timestamp(r.Time),
		RequestID: r.RequestID, Rank: r.Rank, Push: data.PushID(r.Push), Order: data.OrderID(r.Order), Quantity: r.Quantity,
		AmountCents: r.AmountCents, Buyer: data.MemberID(r.Buyer)}
	return nil
}

type productRow struct {
	SKU         int64   `parquet:"sku"`
	Title       string  `parquet:"title"`
	CategoryL1  string  `parquet:"category_l1,dict"`
	CategoryL2  string  `parquet:"category_l2,dict"`
	Brand       string  `parquet:"brand,dict"`
	PriceCents  int64   `parquet:"price_cents"`
	GoodReviews int32   `parquet:"good_reviews"`
	Reviews     int32   `parquet:"reviews"`
	Commission  float64 `parquet:"commission_rate"`
	Seller      string  `parquet:"seller,dict"`
	ActiveFrom  int64   `parquet:"active_from,timestamp(millisecond)"`
	ActiveUntil int64   `parquet:"active_until,timestamp(millisecond)"`
	InStock     bool    `parquet:"in_stock"`
}

func productTo(r *productRow, p *data.Product) {
	*r = productRow{int64(p.SKU), p.Title, p.CategoryL1, p.CategoryL2, p.Brand, p.PriceCents,
		p.GoodReviews, p.Reviews, p.Commission, p.Seller.String(), int64(p.ActiveFrom), int64(p.ActiveUntil), p.InStock}
}

func productFrom(p *data.Product, r *productRow) error {
	s, err := data.ParseSellerType(r.Seller)
	if err != nil {
		return &data.FieldError{Record: "product", Field: "seller", Reason: err.Error()}
	}
	*p = data.Product{SKU: data.SKU(r.SKU), Title: r.Title, CategoryL1: r.CategoryL1, CategoryL2: r.CategoryL2,
		Brand: r.Brand, PriceCents: r.PriceCents, GoodReviews: r.GoodReviews, Reviews: r.Reviews,
		Commission: r.Commission, Seller: s, ActiveFrom: data.Timestamp(r.ActiveFrom),
		ActiveUntil: data.Timestamp(r.ActiveUntil), InStock: r.InStock}
	return nil
}

type changeRow struct {
	At   int64  `parquet:"at,timestamp(millisecond)"`
	Kind string `parquet:"kind,dict"`
	productRow
}

func changeTo(r *changeRow, c *data.CatalogChange) {
	r.At, r.Kind = int64(c.At), c.Kind.String()
	productTo(&r.productRow, &c.Product)
}

func changeFrom(c *data.CatalogChange, r *changeRow) error {
	k, err := data.ParseChangeKind(r.Kind)
	if err != nil {
		return &data.FieldError{Record: "catalog change", Field: "kind", Reason: err.Error()}
	}
	c.At, c.Kind = data.Timestamp(r.At), k
	return productFrom(&c.Product, &r.productRow)
}

type groupRow struct {
	Group    int64  `parquet:"group"`
	Promoter int64  `parquet:"promoter"`
	Channel  string `parquet:"channel,dict"`
	CityTier int32  `parquet:"city_tier"`
	Created  int64  `parquet:"created,timestamp(millisecond)"`
}

func groupTo(r *groupRow, g *data.Group) {
	*r = groupRow{int64(g.ID), int64(g.Promoter), g.Channel.String(), int32(g.CityTier), int64(g.Created)}
}

func groupFrom(g *data.Group, r *groupRow) error {
	c, err := data.ParseChannel(r.Channel)
	if err != nil {
		return &data.FieldError{Record: "group", Field: "channel", Reason: err.Error()}
	}
	if r.CityTier < 0 || r.CityTier > int32(data.MaxTier) {
		return &data.FieldError{Record: "group", Field: "city_tier", Reason: "must be 0 (unknown) or 1..6"}
	}
	*g = data.Group{ID: data.GroupID(r.Group), Promoter: data.PromoterID(r.Promoter), Channel: c,
		CityTier: data.CityTier(r.CityTier), Created: data.Timestamp(r.Created)}
	return nil
}

type memberRow struct {
	Group  int64 `parquet:"group"`
	Member int64 `parquet:"member"`
	Joined int64 `parquet:"joined,timestamp(millisecond)"`
	Left   int64 `parquet:"left,timestamp(millisecond)"`
}

func memberTo(r *memberRow, m *data.Membership) {
	*r = memberRow{int64(m.Group), int64(m.Member), int64(m.Joined), int64(m.Left)}
}

func memberFrom(m *data.Membership, r *memberRow) error {
	*m = data.Membership{Group: data.GroupID(r.Group), Member: data.MemberID(r.Member),
		Joined: data.Timestamp(r.Joined), Left: data.Timestamp(r.Left)}
	return nil
}

type exposureRow struct {
	RequestID    string  `parquet:"request_id"`
	Group        int64   `parquet:"group"`
	SKU          int64   `parquet:"sku"`
	Rank         int32   `parquet:"rank"`
	Propensity   float64 `parquet:"propensity"`
	ModelVersion string  `parquet:"model_version,dict"`
	Experiment   string  `parquet:"experiment,dict"`
	Arm          string  `parquet:"arm,dict"`
	Time         int64   `parquet:"time,timestamp(millisecond)"`
	Unit         string  `parquet:"unit,optional,dict"` // added later: older files lack it
}

func exposureTo(r *exposureRow, e *data.Exposure) {
	*r = exposureRow{e.RequestID, int64(e.Group), int64(e.SKU), e.Rank, e.Propensity, e.ModelVersion,
		e.Experiment, e.Arm, int64(e.Time), e.Unit}
}

func exposureFrom(e *data.Exposure, r *exposureRow) error {
	*e = data.Exposure{RequestID: r.RequestID, Group: data.GroupID(r.Group), SKU: data.SKU(r.SKU), Rank: r.Rank,
		Propensity: r.Propensity, ModelVersion: r.ModelVersion, Experiment: r.Experiment, Arm: r.Arm,
		Time: data.Timestamp(r.Time), Unit: r.Unit}
	return nil
}

type pushRow struct {
	Push      int64  `parquet:"push"`
	Group     int64  `parquet:"group"`
	SKU       int64  `parquet:"sku"`
	Time      int64  `parquet:"time,timestamp(millisecond)"`
	RequestID string `parquet:"request_id"`
}

func pushTo(r *pushRow, p *data.Push) {
	*r = pushRow{int64(p.ID), int64(p.Group), int64(p.SKU), int64(p.Time), p.RequestID}
}

func pushFrom(p *data.Push, r *pushRow) error {
	*p = data.Push{ID: data.PushID(r.Push), Group: data.GroupID(r.Group), SKU: data.SKU(r.SKU),
		Time: data.Timestamp(r.Time), RequestID: r.RequestID}
	return nil
}

type orderRow struct {
	Order           int64  `parquet:"order"`
	Group           int64  `parquet:"group"`
	Buyer           int64  `parquet:"buyer"`
	SKU             int64  `parquet:"sku"`
	Quantity        int32  `parquet:"quantity"`
	AmountCents     int64  `parquet:"amount_cents"`
	CommissionCents int64  `parquet:"commission_cents"`
	Time            int64  `parquet:"time,timestamp(millisecond)"`
	Status          string `parquet:"status,dict"`
	Push            int64  `parquet:"push"`
}

func orderTo(r *orderRow, o *data.Order) {
	*r = orderRow{int64(o.ID), int64(o.Group), int64(o.Buyer), int64(o.SKU), o.Quantity, o.AmountCents,
		o.CommissionCents, int64(o.Time), o.Status.String(), int64(o.Push)}
}

func orderFrom(o *data.Order, r *orderRow) error {
	s, err := data.ParseOrderStatus(r.Status)
	if err != nil {
		return &data.FieldError{Record: "order", Field: "status", Reason: err.Error()}
	}
	*o = data.Order{ID: data.OrderID(r.Order), Group: data.GroupID(r.Group), Buyer: data.MemberID(r.Buyer),
		SKU: data.SKU(r.SKU), Quantity: r.Quantity, AmountCents: r.AmountCents, CommissionCents: r.CommissionCents,
		Time: data.Timestamp(r.Time), Status: s, Push: data.PushID(r.Push)}
	return nil
}
