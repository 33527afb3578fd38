package train

import (
	"sort"

	"grouprank/data"
	"grouprank/features"
)

// Timeline rebuilds the catalogue at any instant over one fixed set of SKUs
// (every SKU the changes ever list), so item indices agree across instants:
// a SKU not yet listed carries its first state and is not eligible, a retired
// one its last state, out of stock.
type Timeline struct {
	skus    []data.SKU
	changes [][]data.CatalogChange // per SKU, by time
}

// NewTimeline indexes catalogue changes by SKU.
func NewTimeline(changes []data.CatalogChange) *Timeline {
	by := map[data.SKU][]data.CatalogChange{}
	for _, c := range changes {
		by[c.Product.SKU] = append(by[c.Product.SKU], c)
	}
	t := &Timeline{}
	for s := range by {
		t.skus = append(t.skus, s)
	}
	sort.Slice(t.skus, func(a, b int) bool { return t.skus[a] < t.skus[b] })
	for _, s := range t.skus {
		cs := by[s]
		sort.SliceStable(cs, func(a, b int) bool { return cs[a].At < cs[b].At })
		t.changes = append(t.changes, cs)
	}
	return t
}

// At is the catalogue at instant at; Eligible says what could be pushed then.
func (t *Timeline) At(at data.Timestamp) *features.Catalog {
	ps := make([]data.Product, len(t.skus))
	listed := make([]bool, len(t.skus))
	for k, cs := range t.changes {
		j := sort.Search(len(cs), func(i int) bool { return at != data.UnknownTime && cs[i].At > at }) - 1
		switch {
		case j < 0:
			ps[k] = cs[0].Product
			ps[k].InStock = false
		case cs[j].Kind == data.ChangeRetire:
			ps[k] = cs[j].Product
			ps[k].InStock = false
			listed[k] = true
		default:
			ps[k] = cs[j].Product
			listed[k] = true
		}
	}
	cat := features.NewCatalog(ps, at)
	cat.Listed = make([]data.Timestamp, len(t.skus))
	for k := range listed {
		cat.Eligible[k] = cat.Eligible[k] && listed[k]
		cat.Listed[k] = t.changes[k][0].At
	}
	return cat
}
