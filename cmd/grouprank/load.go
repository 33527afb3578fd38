package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"grouprank/data"
	"grouprank/data/parquetio"
	"grouprank/features"
)

// world is a directory of tables loaded for offline work.
type world struct {
	dir     string
	changes []data.CatalogChange // catalog.parquet, or products.parquet as changes at the beginning
	groups  []data.Group
	orders  []data.Order      // the groups' orders
	own     []data.Order      // members' own orders, outside any group (Group == data.NoGroup)
	members []data.Membership // read by readMembers, when a command needs them
	read    bool              // whether readMembers has read them
	ids     *data.IDMap       // the user's own ids (ids.parquet); nil: ids are grouprank's
	pushes  []data.Push
	first   data.Timestamp // earliest known event time
	last    data.Timestamp // latest known event time
	// In one part of a sharded job (loadWorldPart): groups, orders and
	// pushes are the part's, allGroups every group's id (in id order) and
	// pushRows each push's row in the pushes table.
	allGroups []data.GroupID
	pushRows  []int64
}

// readCatalog reads a world directory's catalogue: its dated changes
// (catalog.parquet), or else its products (products.parquet) as changes at
// the beginning.
func readCatalog(dir string) ([]data.CatalogChange, error) {
	if _, err := os.Stat(filepath.Join(dir, parquetio.Catalog.File)); err == nil {
		return parquetio.ReadFile(filepath.Join(dir, parquetio.Catalog.File), parquetio.Catalog)
	}
	ps, err := parquetio.ReadFile(filepath.Join(dir, parquetio.Products.File), parquetio.Products)
	if err != nil {
		return nil, err
	}
	changes := make([]data.CatalogChange, len(ps))
	for k, p := range ps {
		changes[k] = data.CatalogChange{Kind: data.ChangeNew, Product: p}
	}
	return changes, nil
}

// loadWorld reads a world directory for offline work. Only its orders are
// required: without a catalogue (catalog.parquet or products.parquet) the
// products are the SKUs its orders and pushes name, with nothing known of
// them (no price, rating, commission or category); without groups.parquet
// the groups are those its orders, pushes and memberships name, each its
// own promoter. What was derived is logged on log.
func loadWorld(ctx context.Context, dir string, log *slog.Logger) (*world, error) {
	return loadWorldPart(ctx, dir, log, shard{0, 1})
}

// loadWorldPart is loadWorld for part sh of a sharded job: it holds only
// the groups of the part (data.PartOf) and their orders and pushes, with
// every group's id. It needs the groups table.
func loadWorldPart(ctx context.Context, dir string, log *slog.Logger, sh shard) (*world, error) {
	if sh.n < 1 {
		sh = shard{0, 1}
	}
	w := &world{dir: dir}
	// The two largest tables are read side by side, each by one reader, as
	// either would be alone.
	var pushErr error
	read := make(chan struct{})
	share := 1 / float64(sh.n)
	go func() {
		defer close(read)
		path := filepath.Join(dir, parquetio.Pushes.File)
		if sh.n == 1 {
			w.pushes, pushErr = parquetio.ReadFile(path, parquetio.Pushes)
			return
		}
		w.pushes, w.pushRows, pushErr = parquetio.ReadFileWhere(path, parquetio.Pushes, func(p *data.Push) bool { return sh.has(p.Group) }, share)
	}()
	var err error
	if sh.n == 1 {
		w.orders, err = parquetio.ReadFile(filepath.Join(dir, parquetio.Orders.File), parquetio.Orders)
	} else {
		w.orders, _, err = parquetio.ReadFileWhere(filepath.Join(dir, parquetio.Orders.File), parquetio.Orders,
			func(o *data.Order) bool { return !o.Own() && sh.has(o.Group) }, share)
	}
	<-read
	if err != nil {
		if os.IsNotExist(unwrapPath(err)) {
			return nil, fmt.Errorf("%s: no orders table (%s): a world needs its orders at least (grouprank import --table orders --in FILE --out %s)",
				dir, parquetio.Orders.File, filepath.Join(dir, parquetio.Orders.File))
		}
		return nil, err
	}
	if pushErr != nil && !os.IsNotExist(unwrapPath(pushErr)) {
		return nil, pushErr
	}
	if w.changes, err = readCatalog(dir); err != nil {
		if !os.IsNotExist(unwrapPath(err)) {
			return nil, err
		}
		w.changes = catalogOf(w.orders, w.pushes)
		log.Warn("no catalogue: the products are the SKUs the orders and pushes name, with no price, rating, commission or category",
			slog.String("world", dir), slog.String("missing", parquetio.Products.File), slog.Int("products", len(w.changes)))
	}
	if w.groups, err = parquetio.ReadFile(filepath.Join(dir, parquetio.Groups.File), parquetio.Groups); err != nil {
		if !os.IsNotExist(unwrapPath(err)) {
			return nil, err
		}
		if sh.n > 1 {
			return nil, fmt.Errorf("%s: no groups table (%s): the parts of a sharded job need every group's id from it: %w", dir, parquetio.Groups.File, data.ErrInvalid)
		}
		ms, err := w.readMembers()
		if err != nil {
			return nil, err
		}
		w.groups = groupsOf(w.orders, w.pushes, ms)
		log.Warn("no groups table: the groups are those the orders, pushes and memberships name, each its own promoter",
			slog.String("world", dir), slog.String("missing", parquetio.Groups.File), slog.Int("groups", len(w.groups)))
	}
	if w.ids, err = readIDs(dir); err != nil {
		return nil, err
	}
	// The orders placed in groups stay in place, in their order, and the
	// members' own orders move out: at a million groups the orders take
	// gigabytes, and a second copy of them used to be the command's peak.
	k := 0
	for _, o := range w.orders {
		if o.Own() {
			w.own = append(w.own, o)
		} else {
			w.orders[k] = o
			k++
		}
	}
	w.orders = w.orders[:k]
	if len(w.orders) == 0 && len(w.own) == 0 && sh.n == 1 {
		return nil, fmt.Errorf("%s: no orders: nothing to learn from or evaluate against", filepath.Join(dir, parquetio.Orders.File))
	}
	skus := map[data.SKU]bool{}
	for _, c := range w.changes {
		skus[c.Product.SKU] = true
	}
	groups := map[data.GroupID]bool{}
	for _, g := range w.groups {
		groups[g.ID] = true
	}
	if sh.n > 1 {
		w.allGroups = make([]data.GroupID, 0, len(w.groups))
		own := w.groups[:0:0]
		for _, g := range w.groups {
			w.allGroups = append(w.allGroups, g.ID)
			if sh.has(g.ID) {
				own = append(own, g)
			}
		}
		slices.Sort(w.allGroups)
		w.groups = own
	}
	for _, o := range w.own {
		if !skus[o.SKU] {
			return nil, fmt.Errorf("%s: member %d's own order %d is for sku %d, which is not in the catalogue", parquetio.Orders.File, o.Buyer, o.ID, o.SKU)
		}
		w.span(o.Time)
	}
	for n, o := range w.orders {
		at := fmt.Sprintf("row %d: ", n+1)
		if sh.n > 1 {
			at = "" // a part does not count the other parts' rows
		}
		if !skus[o.SKU] {
			return nil, fmt.Errorf("%s: %sorder %d is for sku %d, which is not in the catalogue", parquetio.Orders.File, at, o.ID, o.SKU)
		}
		if !groups[o.Group] {
			return nil, fmt.Errorf("%s: %sorder %d is for group %d, which is not in %s", parquetio.Orders.File, at, o.ID, o.Group, parquetio.Groups.File)
		}
		w.span(o.Time)
	}
	for n, p := range w.pushes {
		if !skus[p.SKU] || !groups[p.Group] {
			row := int64(n)
			if w.pushRows != nil {
				row = w.pushRows[n]
			}
			return nil, fmt.Errorf("%s: row %d: push %d names sku %d or group %d, unknown to the catalogue or the groups", parquetio.Pushes.File, row+1, p.ID, p.SKU, p.Group)
		}
		w.span(p.Time)
	}
	return w, ctx.Err()
}

// catalogOf is the catalogue of a world without one: every SKU its orders
// and pushes name, in SKU order, with nothing known of it.
func catalogOf(orders []data.Order, pushes []data.Push) []data.CatalogChange {
	skus := map[data.SKU]bool{}
	for _, o := range orders {
		skus[o.SKU] = true
	}
	for _, p := range pushes {
		skus[p.SKU] = true
	}
	out := make([]data.CatalogChange, 0, len(skus))
	for _, s := range slices.Sorted(maps.Keys(skus)) {
		out = append(out, data.CatalogChange{Kind: data.ChangeNew,
			Product: data.Product{SKU: s, PriceCents: data.UnknownPrice, Commission: data.UnknownRate, InStock: true}})
	}
	return out
}

// groupsOf is the groups of a world without a groups table: every group its
// orders, pushes and memberships name, in id order, each its own promoter
// (as the benchmark importers make them).
func groupsOf(orders []data.Order, pushes []data.Push, members []data.Membership) []data.Group {
	ids := map[data.GroupID]bool{}
	for _, o := range orders {
		if !o.Own() {
			ids[o.Group] = true
		}
	}
	for _, p := range pushes {
		ids[p.Group] = true
	}
	for _, m := range members {
		ids[m.Group] = true
	}
	out := make([]data.Group, 0, len(ids))
	for _, g := range slices.Sorted(maps.Keys(ids)) {
		out = append(out, data.Group{ID: g, Promoter: data.PromoterID(g)})
	}
	return out
}

// readMembers returns the world's memberships (members.parquet; none
// without one), reading them the first time and holding them: a world
// without a groups table derives its groups from them, and eachMember then
// reads the held rows instead of the file. Every other command streams them
// (eachMember) or never reads them (about 4 GiB as rows at 1M groups).
func (w *world) readMembers() ([]data.Membership, error) {
	if !w.read {
		ms, err := parquetio.ReadFile(filepath.Join(w.dir, parquetio.Members.File), parquetio.Members)
		if err != nil && !os.IsNotExist(unwrapPath(err)) {
			return nil, err
		}
		w.members, w.read = ms, true
	}
	return w.members, nil
}

// eachMember calls fn with every membership of the world (none without a
// members table), from the rows readMembers holds if it read them, else
// streamed from the file without holding them.
func (w *world) eachMember(fn func(*data.Membership) error) error {
	if w.read {
		for k := range w.members {
			if err := fn(&w.members[k]); err != nil {
				return err
			}
		}
		return nil
	}
	err := parquetio.Each(filepath.Join(w.dir, parquetio.Members.File), parquetio.Members, func(ms []data.Membership) error {
		for k := range ms {
			if err := fn(&ms[k]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && os.IsNotExist(unwrapPath(err)) {
		return nil
	}
	return err
}

// readIDs reads an imported world's id map; a world without one has none.
func readIDs(dir string) (*data.IDMap, error) {
	rows, err := parquetio.ReadFile(filepath.Join(dir, parquetio.IDs.File), parquetio.IDs)
	if err != nil {
		if os.IsNotExist(unwrapPath(err)) {
			return nil, nil
		}
		return nil, err
	}
	// The orders' and pushes' ids are the import's business: a model (and
	// the snapshot it is published into) holds only the ids it names.
	rows = slices.DeleteFunc(rows, func(r data.ExternalID) bool { return !data.Serving(r.Kind) })
	m, err := data.IDMapFrom(rows)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, parquetio.IDs.File), err)
	}
	return m, nil
}

func unwrapPath(err error) error {
	for e := err; e != nil; {
		if pe, ok := e.(*os.PathError); ok {
			return pe
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			break
		}
		e = u.Unwrap()
	}
	return err
}

func (w *world) span(t data.Timestamp) {
	if t == data.UnknownTime {
		return
	}
	if w.first == data.UnknownTime || t < w.first {
		w.first = t
	}
	if t > w.last {
		w.last = t
	}
}

// catalogAt is every product listed at or before t in its state at t, retired
// ones included (so past orders keep their item) but not eligible.
func catalogAt(changes []data.CatalogChange, t data.Timestamp) *features.Catalog {
	latest := map[data.SKU]data.CatalogChange{}
	for _, c := range changes {
		if t != data.UnknownTime && c.At > t {
			continue
		}
		if old, ok := latest[c.Product.SKU]; ok && old.At > c.At {
			continue
		}
		latest[c.Product.SKU] = c
	}
	ps := make([]data.Product, 0, len(latest))
	for _, c := range latest {
		p := c.Product
		if c.Kind == data.ChangeRetire {
			p.InStock = false
		}
		ps = append(ps, p)
	}
	sort.Slice(ps, func(a, b int) bool { return ps[a].SKU < ps[b].SKU })
	return features.NewCatalog(ps, t)
}

// events turns orders (placed only) and pushes into dense events over cat and groups;
// items unknown to cat (listed after it) are dropped.
func (w *world) events(cat *features.Catalog, gs *features.Groups) (orders, pushes *features.Events) {
	orders, pushes = &features.Events{}, &features.Events{}
	credited := map[data.PushID]float32{} // orders carrying each push's link (not cancelled)
	for _, o := range w.orders {
		if o.Push != data.NoPush && o.Status != data.StatusCancelled {
			credited[o.Push]++
		}
		i, ok := cat.Index[o.SKU]
		if !ok || o.Status != data.StatusPlaced {
			continue
		}
		orders.Group = append(orders.Group, gs.Index[o.Group])
		orders.Item = append(orders.Item, i)
		orders.Time = append(orders.Time, o.Time)
		orders.Qty = append(orders.Qty, float32(o.Quantity))
		orders.Organic = append(orders.Organic, o.Push == data.NoPush)
	}
	for _, p := range w.pushes {
		i, ok := cat.Index[p.SKU]
		if !ok {
			continue
		}
		pushes.Group = append(pushes.Group, gs.Index[p.Group])
		pushes.Item = append(pushes.Item, i)
		pushes.Time = append(pushes.Time, p.Time)
		pushes.Converted = append(pushes.Converted, credited[p.ID] > 0)
		pushes.Orders = append(pushes.Orders, credited[p.ID])
		pushes.Found = append(pushes.Found, p.RequestID == "")
	}
	return orders, pushes
}

// countAs makes every order weigh one line (count "lines") instead of its
// units ("units": as they are).
func countAs(w *world, count string) error {
	switch count {
	case "units":
	case "lines":
		for k := range w.orders {
			w.orders[k].Quantity = 1
		}
		for k := range w.own {
			w.own[k].Quantity = 1
		}
	default:
		return fmt.Errorf("--count: want lines or units, got %q", count)
	}
	return nil
}
