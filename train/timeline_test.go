package train_test

import (
	"testing"

	"grouprank/data"
	"grouprank/train"
)

// TestTimelineListed: the catalogue at any instant says when each item was
// listed (what the found statistics' exposure needs), and an item not listed
// yet is not eligible.
func TestTimelineListed(t *testing.T) {
	const t0 = data.Timestamp(1788220800000)
	p := func(sku data.SKU, price int64) data.Product {
		return data.Product{SKU: sku, CategoryL1: "food", CategoryL2: "x", Brand: "b", PriceCents: price, InStock: true}
	}
	tl := train.NewTimeline([]data.CatalogChange{
		{At: t0, Kind: data.ChangeNew, Product: p(1, 100)},
		{At: t0 + 3*data.Day, Kind: data.ChangePrice, Product: p(1, 90)},
		{At: t0 + 5*data.Day, Kind: data.ChangeNew, Product: p(2, 500)},
	})
	cat := tl.At(t0 + 4*data.Day)
	if len(cat.Listed) != 2 || cat.Listed[0] != t0 || cat.Listed[1] != t0+5*data.Day {
		t.Fatalf("listed %v", cat.Listed)
	}
	if !cat.Eligible[0] || cat.Eligible[1] || cat.PriceCents[0] != 90 {
		t.Errorf("eligible %v, price %v", cat.Eligible, cat.PriceCents)
	}
}
