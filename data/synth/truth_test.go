package synth_test

import (
	"context"
	"math"
	"path/filepath"
	"sort"
	"testing"

	"grouprank/data"
	"grouprank/data/parquetio"
	"grouprank/data/synth"
)

// TestTruthGeneratedTheOrders rebuilds the truth from the parameters alone and
// checks that the orders the generator wrote follow it: the expected orders of
// every push (truth x position x fatigue, reconstructed from the pushes file)
// add up to the link-tracked orders observed, overall and per quintile of the
// expected value.
func TestTruthGeneratedTheOrders(t *testing.T) {
	p := synth.DefaultParams()
	p.Groups, p.Products, p.Days, p.Seed = 4000, 1500, 8, 11
	dir := t.TempDir()
	if _, err := synth.Generate(context.Background(), p, dir, 0, nil); err != nil {
		t.Fatal(err)
	}
	w, err := synth.Rebuild(p)
	if err != nil {
		t.Fatal(err)
	}
	changes, err := parquetio.ReadFile(filepath.Join(dir, parquetio.Catalog.File), parquetio.Catalog)
	if err != nil {
		t.Fatal(err)
	}
	l1 := map[data.SKU]string{}
	for _, c := range changes {
		l1[c.Product.SKU] = c.Product.CategoryL1
	}
	pushes, err := parquetio.ReadFile(filepath.Join(dir, parquetio.Pushes.File), parquetio.Pushes)
	if err != nil {
		t.Fatal(err)
	}
	orders, err := parquetio.ReadFile(filepath.Join(dir, parquetio.Orders.File), parquetio.Orders)
	if err != nil {
		t.Fatal(err)
	}
	tracked := map[data.PushID]float64{}
	for _, o := range orders {
		if o.Push != data.NoPush {
			tracked[o.Push]++
		}
	}
	truths := make([]*synth.Truth, p.Days)
	for d := range truths {
		truths[d] = w.Truth(d)
	}
	type rec struct {
		sku data.SKU
		day int
	}
	recent := map[data.GroupID][]rec{} // the last 16 pushes of each group, as the generator remembers them
	type obs struct{ lambda, orders float64 }
	var all []obs
	for _, ps := range pushes {
		day := int(int64(ps.ID)>>32) - 1
		k := int(int64(ps.ID) & 0xff)
		var ago []int
		cat := 0
		for _, r := range recent[ps.Group] {
			age := day - r.day
			if age > 7 {
				continue
			}
			if r.sku == ps.SKU {
				ago = append(ago, age)
			}
			if l1[r.sku] == l1[ps.SKU] && age <= 3 {
				cat++
			}
		}
		lam := truths[day].ExpectedAt(ps.Group, ps.SKU, k, ago, cat)
		all = append(all, obs{lam, tracked[ps.ID]})
		r := append(recent[ps.Group], rec{ps.SKU, day})
		if len(r) > 16 {
			r = r[1:]
		}
		recent[ps.Group] = r
	}
	const trackedShare = 0.95 // the generator loses 5% of link tracking
	check := func(name string, o []obs) {
		var e, n float64
		for _, x := range o {
			e += x.lambda * trackedShare
			n += x.orders
		}
		z := (n - e) / math.Sqrt(e)
		t.Logf("%s: %d pushes, expected %.0f tracked orders, observed %.0f (z = %.2f)", name, len(o), e, n, z)
		if math.Abs(z) > 4.5 {
			t.Errorf("%s: observed orders %.0f far from the truth's %.0f (z = %.1f)", name, n, e, z)
		}
	}
	check("all pushes", all)
	{
		ls := make([]float64, len(all))
		for i, x := range all {
			ls[i] = x.lambda
		}
		sort.Float64s(ls)
		t.Logf("lambda p50 %.3f p90 %.3f p99 %.2f p999 %.2f max %.1f", ls[len(ls)/2], ls[len(ls)*9/10], ls[len(ls)*99/100], ls[len(ls)*999/1000], ls[len(ls)-1])
	}
	sort.Slice(all, func(i, j int) bool { return all[i].lambda < all[j].lambda })
	for q := range 5 {
		check("quintile "+string(rune('1'+q)), all[q*len(all)/5:(q+1)*len(all)/5])
	}
}

func TestRebuildIsDeterministic(t *testing.T) {
	p := synth.DefaultParams()
	p.Groups, p.Products = 300, 200
	a, _ := synth.Rebuild(p)
	b, _ := synth.Rebuild(p)
	ta, tb := a.Truth(3), b.Truth(3)
	sa, sb := ta.Scores(5, nil), tb.Scores(5, nil)
	for j := range sa {
		if sa[j] != sb[j] {
			t.Fatalf("item %d: %g != %g", j, sa[j], sb[j])
		}
		if sku := ta.Items()[j]; ta.Eligible(sku) && math.Abs(sa[j]-ta.Expected(5, sku)) > 1e-6*sa[j] {
			t.Fatalf("Scores and Expected disagree on %d: %g vs %g", sku, sa[j], ta.Expected(5, sku))
		}
	}
	if ta.Expected(0, ta.Items()[0]) != 0 || ta.Expected(5, 1) != 0 {
		t.Error("unknown ids should give 0")
	}
}

func TestParamsValidate(t *testing.T) {
	for _, mut := range []func(*synth.Params){
		func(p *synth.Params) { p.Groups = 1 },
		func(p *synth.Params) { p.Products = 0 },
		func(p *synth.Params) { p.Days = 0 },
		func(p *synth.Params) { p.TasteConcentration = 0 },
		func(p *synth.Params) { p.RandomShare = 2 },
		func(p *synth.Params) { p.PriceSensitivity = -1 },
		func(p *synth.Params) { p.NewGroupShare = 1 },
	} {
		p := synth.DefaultParams()
		mut(&p)
		if _, err := synth.Rebuild(p); err == nil {
			t.Errorf("accepted %+v", p)
		}
	}
}

func TestCategoryTree(t *testing.T) {
	tree := synth.CategoryTree()
	if len(tree) != 10 || len(tree["food"]) == 0 {
		t.Fatalf("tree %v", tree)
	}
	sens := synth.SensitiveCategories()
	if len(sens) != 2 || tree[sens[0]] == nil {
		t.Fatalf("sensitive %v", sens)
	}
	names := synth.CategoryNames()
	for l1 := range tree {
		if n := names[l1]; n.ZH == "" || n.EN == "" {
			t.Errorf("category %s has no name for people: %+v", l1, n)
		}
	}
}
