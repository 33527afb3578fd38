package recommend_test

import (
	"math"
	"reflect"
	"testing"

	"grouprank/data"
	"grouprank/features"
	"grouprank/recommend"
)

// passing lists the items a request's filters let through, as exploration
// draws from them: eligible, within the price cap, not excluded.
func passing(cat *features.Catalog, priceMax int64, exclude map[data.SKU]bool) map[data.SKU]bool {
	out := map[data.SKU]bool{}
	for i := range cat.Len() {
		p := &cat.Products[i]
		if cat.Eligible[i] && p.PriceCents <= priceMax && !exclude[p.SKU] {
			out[p.SKU] = true
		}
	}
	return out
}

func TestExplore(t *testing.T) {
	sc, groups, _ := fixture(t)
	m := recommend.NewModel("v", recommend.NewRanker(sc), nil)
	cat := sc.Inputs().Cat
	s := m.Ranker.NewScratch()
	base := recommend.PicksRequest{Group: 1, K: 5, Objective: "commission", PriceMax: 150000, Exclude: []data.SKU{2, 3}}
	pool := passing(cat, base.PriceMax, map[data.SKU]bool{2: true, 3: true})
	n := float64(len(pool))
	pick := func(explore float64, seed uint64) *recommend.Picks {
		t.Helper()
		r := base
		r.Explore, r.Seed = explore, seed
		p, err := m.PicksFor(&groups[0], r, nil, s)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	skus := func(p *recommend.Picks) []data.SKU {
		var out []data.SKU
		for _, it := range p.Items {
			out = append(out, it.SKU)
		}
		return out
	}
	ranked := pick(0, 1)
	for _, it := range ranked.Items {
		if it.Propensity != 1 || ranked.Explored {
			t.Fatalf("without exploration: propensity %v, explored %v", it.Propensity, ranked.Explored)
		}
	}

	t.Run("every list random", func(t *testing.T) {
		const runs = 3000
		count, first := map[data.SKU]int{}, map[data.SKU]int{}
		for seed := range uint64(runs) {
			p := pick(1, seed)
			if !p.Explored || len(p.Items) != base.K {
				t.Fatalf("seed %d: explored %v, %d items", seed, p.Explored, len(p.Items))
			}
			seen := map[data.SKU]bool{}
			for r, it := range p.Items {
				if !pool[it.SKU] || seen[it.SKU] {
					t.Fatalf("seed %d: item %d at rank %d fails the filters or repeats", seed, it.SKU, r+1)
				}
				seen[it.SKU] = true
				if math.Abs(it.Propensity-1/n) > 1e-12 || it.P <= 0 || it.Orders <= 0 {
					t.Fatalf("seed %d: propensity %v (want 1/%v), p %v, orders %v", seed, it.Propensity, n, it.P, it.Orders)
				}
				count[it.SKU]++
				if r == 0 {
					first[it.SKU]++
				}
			}
		}
		// uniform over the pool, at every rank: each item in about runs x k / N lists, first in runs / N
		for sku := range pool {
			for _, c := range []struct {
				got  int
				want float64
			}{{count[sku], runs * float64(base.K) / n}, {first[sku], runs / n}} {
				if math.Abs(float64(c.got)-c.want) > 6*math.Sqrt(c.want) {
					t.Errorf("item %d: %d draws, want about %.0f", sku, c.got, c.want)
				}
			}
		}
		if !reflect.DeepEqual(pick(1, 42), pick(1, 42)) || reflect.DeepEqual(skus(pick(1, 42)), skus(pick(1, 43))) {
			t.Error("the draw is not a function of the seed")
		}
	})

	t.Run("a share of lists random", func(t *testing.T) {
		const e, runs = 0.3, 2000
		explored := 0
		for seed := range uint64(runs) {
			p := pick(e, seed)
			if !p.Explored {
				if !reflect.DeepEqual(skus(p), skus(ranked)) {
					t.Fatalf("seed %d: an unexplored list differs from the ranked one", seed)
				}
				for _, it := range p.Items {
					if math.Abs(it.Propensity-(1-e+e/n)) > 1e-12 {
						t.Fatalf("ranked item's propensity %v, want %v", it.Propensity, 1-e+e/n)
					}
				}
				continue
			}
			explored++
			for r, it := range p.Items {
				want := e / n
				if it.SKU == ranked.Items[r].SKU {
					want += 1 - e
				}
				if math.Abs(it.Propensity-want) > 1e-12 {
					t.Fatalf("seed %d rank %d: propensity %v, want %v", seed, r+1, it.Propensity, want)
				}
			}
		}
		if share := float64(explored) / runs; math.Abs(share-e) > 4*math.Sqrt(e*(1-e)/runs) {
			t.Errorf("%.3f of lists explored, want about %v", share, e)
		}
	})

	t.Run("the ranked list's propensities without a scan", func(t *testing.T) {
		// no category or price filter: N is the model's standing count less the exclusions
		// (one of which, item 11, is out of stock and so not counted twice)
		excl := map[data.SKU]bool{2: true, 5: true, 12: true}
		want := float64(len(passing(cat, math.MaxInt64, excl)))
		if cat.Eligible[cat.Index[12]] {
			t.Fatal("fixture: item 12 should be out of stock")
		}
		for seed := range uint64(50) {
			r := recommend.PicksRequest{Group: 1, K: 5, Objective: "orders", Exclude: []data.SKU{2, 5, 12}, Explore: 0.01, Seed: seed}
			p, err := m.PicksFor(&groups[0], r, nil, s)
			if err != nil {
				t.Fatal(err)
			}
			if p.Explored {
				continue
			}
			if got := p.Items[0].Propensity; math.Abs(got-(0.99+0.01/want)) > 1e-15 {
				t.Fatalf("propensity %v, want 0.99 + 0.01/%v", got, want)
			}
		}
	})

	t.Run("practice explores too", func(t *testing.T) {
		r := base
		r.Objective, r.Explore, r.Seed = recommend.Practice, 1, 7
		p, err := m.PicksFor(&groups[1], r, nil, s)
		if err != nil || !p.Explored || len(p.Items) != base.K {
			t.Fatalf("%v, %+v", err, p)
		}
	})

	for _, x := range []float64{-0.1, 1.5, math.NaN()} {
		r := base
		r.Explore = x
		if _, err := m.PicksFor(&groups[0], r, nil, s); err == nil {
			t.Errorf("explore %v: want an error", x)
		}
	}
}

func TestApplyOptions(t *testing.T) {
	tests := []struct {
		name, v string
		ok      bool
		check   func(r *recommend.PicksRequest) bool
	}{
		{"explore", "0.05", true, func(r *recommend.PicksRequest) bool { return r.Explore == 0.05 }},
		{"explore", "1", true, func(r *recommend.PicksRequest) bool { return r.Explore == 1 }},
		{"explore", "-0.1", false, nil},
		{"explore", "NaN", false, nil},
		{"explore", "lots", false, nil},
		{"category_cap", "3", true, func(r *recommend.PicksRequest) bool { return r.CategoryCap == 3 }},
		{"candidate_depth", "0", false, nil},
		{"objective", "commission", true, func(r *recommend.PicksRequest) bool { return r.Objective == "commission" }},
		{"colour", "blue", false, nil},
		{"caution", "0", true, func(r *recommend.PicksRequest) bool {
			return r.Blend != nil && r.Blend.Caution != nil && r.Blend.CautionWeight() == 0
		}},
		{"caution", "2.5", true, func(r *recommend.PicksRequest) bool { return r.Blend != nil && r.Blend.CautionWeight() == 2.5 }},
		{"caution", "-1", false, nil},
		{"caution", "11", false, nil},
		{"commission_weight", "0.8", true, func(r *recommend.PicksRequest) bool {
			return r.Blend != nil && r.Blend.Commission == 0.8 && r.Blend.CautionWeight() == recommend.DefaultCaution
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name+"="+tc.v, func(t *testing.T) {
			var r recommend.PicksRequest
			err := recommend.ApplyOptions(&r, map[string]string{tc.name: tc.v})
			if (err == nil) != tc.ok || (tc.ok && !tc.check(&r)) {
				t.Errorf("err %v, request %+v", err, r)
			}
		})
	}
}
