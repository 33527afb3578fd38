package recommend_test

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"grouprank/data"
	"grouprank/features"
	"grouprank/recommend"
)

// benchModel builds a ranker over n items with 64-dimensional vectors, a
// history of orders and pushes, and a model with every weight set.
func benchModel(b testing.TB, n int) (*recommend.Ranker, func(g int32) recommend.Group) {
	b.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	cats := []string{"food", "home", "baby", "appliances", "beauty", "underwear", "health", "digital"}
	ps := make([]data.Product, n)
	for i := range ps {
		ps[i] = data.Product{SKU: data.SKU(i + 1), CategoryL1: cats[i%len(cats)], CategoryL2: fmt.Sprint(i % 97), Brand: fmt.Sprint(i % 2000),
			PriceCents: int64(300 + r.IntN(300000)), GoodReviews: int32(r.IntN(100)), Reviews: 100, Commission: r.Float64() * 0.3,
			Seller: data.SellerType(i % 2), InStock: r.Float64() < 0.95}
	}
	gs := make([]data.Group, 1000)
	for g := range gs {
		gs[g] = data.Group{ID: data.GroupID(g + 1), Promoter: 1, Channel: data.Channel(1 + g%4), CityTier: data.CityTier(1 + g%6)}
	}
	cat, groups := features.NewCatalog(ps, data.UnknownTime), features.NewGroups(gs)
	o, p := &features.Events{}, &features.Events{}
	for e := range 50000 {
		g, i, t := int32(e%1000), int32(r.IntN(n)), data.Timestamp(r.IntN(20))*data.Day
		o.Group, o.Item, o.Time, o.Qty = append(o.Group, g), append(o.Item, i), append(o.Time, t), append(o.Qty, 1)
		p.Group, p.Item, p.Time, p.Qty = append(p.Group, g), append(p.Item, int32(r.IntN(n))), append(p.Time, t), append(p.Qty, 1)
		p.Converted = append(p.Converted, e%4 == 0)
		p.Found = append(p.Found, e%3 == 1)
	}
	at := 20 * data.Day
	prof := features.BuildProfiles(cat, groups, o, p, nil, at, features.DefaultConfig())
	st := features.BuildItemStats(cat, groups, o, p, at, features.DefaultStatsConfig())
	items := &recommend.Factors{K: 64, V: make([]float32, n*64)}
	for i := range items.V {
		items.V[i] = float32(r.NormFloat64() * 0.1)
	}
	in := &recommend.Inputs{Cat: cat, Stats: st, Items: items, Profile: recommend.NewProfileModel(cat, st),
		RatingMean: 0.8, RatingPrior: 20, PushConvPrior: 20, ConvMean: 0.2}
	conv := &recommend.Conversion{Features: recommend.FeatureNames(), Weights: make([]float64, recommend.NumFeatures),
		OrderWeights: make([]float64, recommend.NumFeatures),
		Calibration:  recommend.Calibration{Method: "isotonic", X: []float64{-4, -1, 0, 2}, Y: []float64{0.01, 0.1, 0.3, 0.8}},
		Orders:       recommend.Calibration{Method: "isotonic", X: []float64{-4, 0, 2}, Y: []float64{0.01, 0.4, 3}}}
	for f := range conv.Weights {
		conv.Weights[f], conv.OrderWeights[f] = r.NormFloat64()*0.3, r.NormFloat64()*0.3
	}
	group := func(g int32) recommend.Group {
		r := rand.New(rand.NewPCG(uint64(g), 3))
		vec := make([]float32, 64)
		for k := range vec {
			vec[k] = float32(r.NormFloat64())
		}
		return recommend.GroupOf(prof, g, vec)
	}
	return recommend.NewRanker(recommend.NewScorer(in, conv)), group
}

// TestCandidatesExact checks the pruned candidate walks (the dot product's
// threshold, the profile sources' per-list bounds) against scoring every
// item, for many groups, objectives and filters.
func TestCandidatesExact(t *testing.T) {
	rk, group := benchModel(t, 20000)
	cat := rk.Scorer.Inputs().Cat
	s := rk.NewScratch()
	for _, slots := range []int{0, 64} {
		rk.EnableDotCache(slots)
		checkCandidates(t, rk, group, cat, s)
	}
	if hits, misses := rk.CacheStats(); hits == 0 || misses == 0 {
		t.Fatalf("the dot cache was not exercised: %d hits, %d misses", hits, misses)
	}
	// dot products computed by the caller for a batch of groups
	rk.EnableDotCache(0)
	items := rk.Scorer.Inputs().Items
	vecs, dsts := make([][]float32, 8), make([][]float32, 8)
	for g := range vecs {
		grp := group(int32(g))
		vecs[g], dsts[g] = grp.Vector, make([]float32, items.Rows())
	}
	items.DotsInto(dsts, vecs)
	for g := range vecs {
		grp := group(int32(g))
		// Every eligible item; then without the group's best 1,000 by dot
		// product, so that the seeded bar's maxima are items the floors
		// drop and the scan must go below it.
		byDot := make([]int32, items.Rows())
		for i := range byDot {
			byDot[i] = int32(i)
		}
		slices.SortFunc(byDot, func(a, b int32) int { return cmp.Compare(dsts[g][b], dsts[g][a]) })
		top := map[int32]bool{}
		for _, i := range byDot[:1000] {
			top[i] = true
		}
		for _, floors := range []recommend.Floors{{Eligible: true}, {Eligible: true, Exclude: top}} {
			s.UseDots(dsts[g])
			got := rk.Candidates(&grp, floors, s)
			want := rk.BruteCandidates(&grp, floors)
			if len(got) != len(want) {
				t.Fatalf("batch dots, group %d, %d excluded: %d candidates, brute force %d", g, len(floors.Exclude), len(got), len(want))
			}
			for _, i := range got {
				if !want[i] {
					t.Fatalf("batch dots, group %d, %d excluded: candidate %d not in the brute-force set", g, len(floors.Exclude), i)
				}
			}
		}
	}
}

func checkCandidates(t *testing.T, rk *recommend.Ranker, group func(int32) recommend.Group, cat *features.Catalog, s *recommend.RankScratch) {
	t.Helper()
	for _, name := range []string{"orders", "commission", "gmv"} {
		obj, _ := recommend.ObjectiveByName(name)
		boost := recommend.Boost(recommend.ItemTerms(rk.Scorer.Inputs(), obj))
		for g := range int32(60) {
			grp := group(g)
			if g%5 == 0 {
				grp.Vector = nil
			}
			floors := recommend.Floors{Eligible: true}
			switch g % 4 {
			case 1:
				floors.HasCategory, floors.Category = true, g%8
			case 2:
				floors.PriceMin, floors.PriceMax = 1000, 50000
			case 3:
				floors.Exclude = map[int32]bool{}
				for i := range int32(3000) {
					floors.Exclude[i*int32(g%5+1)] = true
				}
			}
			want := rk.BruteCandidates(&grp, floors, boost)
			for pass := range 2 { // with the cache on: a miss, then a hit
				got := rk.Candidates(&grp, floors, s, boost)
				if len(got) != len(want) {
					t.Fatalf("%s, group %d, pass %d: %d candidates, brute force %d", name, g, pass, len(got), len(want))
				}
				for _, i := range got {
					if !want[i] {
						t.Fatalf("%s, group %d, pass %d: candidate %d not in the brute-force set", name, g, pass, i)
					}
				}
			}
		}
	}
}

// BenchmarkRank is one picks request, k = 20, on one core: candidates, both
// predictors over the whole catalogue, the blend and the top k.
func BenchmarkRank(b *testing.B) {
	for _, n := range []int{20000, 100000} {
		b.Run(fmt.Sprintf("items=%dk", n/1000), func(b *testing.B) {
			rk, group := benchModel(b, n)
			// 64 groups in turn (every channel and tier cell, 64 vectors):
			// a request's work depends on its group, so one group's would
			// move the figure from run to run.
			gs := make([]recommend.Group, 64)
			for k := range gs {
				gs[k] = group(int32(k))
			}
			in := rk.Scorer.Inputs()
			obj, _ := recommend.ObjectiveByName("commission")
			terms := recommend.ItemTerms(in, obj)
			boost := recommend.Boost(terms)
			s := rk.NewScratch()
			floors := recommend.Floors{Eligible: true}
			for k := range gs {
				rk.Rank(&gs[k], nil, obj, terms, boost, floors, 20, s) // warm the per-cell caches
			}
			b.ResetTimer()
			for r := range b.N {
				if len(rk.Rank(&gs[r%len(gs)], nil, obj, terms, boost, floors, 20, s)) != 20 {
					b.Fatal("short ranking")
				}
			}
		})
	}
}

// BenchmarkExplore is one explored picks request (PicksRequest.Explore = 1),
// k = 20, on one core: the ranked list (for the propensities), then a draw
// from every item passing the floors and both predictors for the drawn items.
func BenchmarkExplore(b *testing.B) {
	for _, n := range []int{20000, 100000} {
		b.Run(fmt.Sprintf("items=%dk", n/1000), func(b *testing.B) {
			rk, group := benchModel(b, n)
			gs := make([]recommend.Group, 64) // BenchmarkRank's groups, in turn
			for k := range gs {
				gs[k] = group(int32(k))
			}
			m := recommend.NewModel("bench", rk, nil)
			s := rk.NewScratch()
			req := recommend.PicksRequest{Group: 8, K: 20, Objective: "commission", Explore: 1}
			for k := range gs {
				if _, err := m.PicksFor(&gs[k], req, nil, s); err != nil { // warm the per-cell caches
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for k := range b.N {
				req.Seed = uint64(k)
				p, err := m.PicksFor(&gs[k%len(gs)], req, nil, s)
				if err != nil || !p.Explored || len(p.Items) != 20 {
					b.Fatalf("%v, %+v", err, p)
				}
			}
		})
	}
}

// BenchmarkRankFloor is BenchmarkRank's floor: the group vector's dot
// product with every item vector (Factors.DotInto, the kernel the ranker
// uses), nothing else.
func BenchmarkRankFloor(b *testing.B) {
	for _, n := range []int{20000, 100000} {
		b.Run(fmt.Sprintf("items=%dk", n/1000), func(b *testing.B) {
			rk, group := benchModel(b, n)
			g := group(7)
			items := rk.Scorer.Inputs().Items
			dst := make([]float32, items.Rows())
			b.ResetTimer()
			for range b.N {
				items.DotInto(dst, g.Vector, nil)
			}
		})
	}
}

// TestDotCacheFullWhenTopComesFirst: items whose dot products fall with
// their index (or are all equal), so the first items scanned are the top
// ones and every later positive item is below the kept list's smallest (or
// ties it at a larger index). The cached list must still say it does not
// hold every positive item: a request whose filters pass few of the cached
// ones scans again.
func TestDotCacheFullWhenTopComesFirst(t *testing.T) {
	for _, slope := range []float32{0.5, 0} {
		rk, group := benchModel(t, 20000)
		items := rk.Scorer.Inputs().Items
		n := items.Rows()
		clear(items.V)
		for i := range n {
			items.V[i*items.K] = 1 - slope*float32(i)/float32(n)
		}
		rk.EnableDotCache(64)
		grp := group(1)
		grp.Vector = make([]float32, items.K)
		grp.Vector[0] = 1
		s := rk.NewScratch()
		rk.Candidates(&grp, recommend.Floors{Eligible: true}, s) // fills the cache
		floors := recommend.Floors{Eligible: true, HasCategory: true, Category: 3}
		want := rk.BruteCandidates(&grp, floors)
		got := rk.Candidates(&grp, floors, s)
		if len(got) != len(want) {
			t.Fatalf("slope %v: %d candidates from the cached list, brute force %d", slope, len(got), len(want))
		}
		for _, i := range got {
			if !want[i] {
				t.Fatalf("slope %v: candidate %d not in the brute-force set", slope, i)
			}
		}
	}
}

// TestRankAllocations: once warm, a ranking allocates only the list it
// returns and its top-k window (the per-group tables come from a pooled
// arena); 40 KB of tables a request kept the collector busy under load.
func TestRankAllocations(t *testing.T) {
	rk, group := benchModel(t, 20000)
	in := rk.Scorer.Inputs()
	obj, _ := recommend.ObjectiveByName("commission")
	terms := recommend.ItemTerms(in, obj)
	boost := recommend.Boost(terms)
	s := rk.NewScratch()
	gs := make([]recommend.Group, 8)
	for k := range gs {
		gs[k] = group(int32(k))
		rk.Rank(&gs[k], nil, obj, terms, boost, recommend.Floors{Eligible: true}, 20, s) // warm
	}
	k := 0
	allocs := testing.AllocsPerRun(100, func() {
		rk.Rank(&gs[k%len(gs)], nil, obj, terms, boost, recommend.Floors{Eligible: true}, 20, s)
		k++
	})
	if allocs > 2 {
		t.Fatalf("%v allocations per ranking, want at most 2", allocs)
	}
}
