package recommend_test

import (
	"math"
	"testing"

	"grouprank/data"
	"grouprank/features"
	"grouprank/recommend"
)

func TestProfileModel(t *testing.T) {
	ps := []data.Product{
		{SKU: 1, CategoryL1: "food", PriceCents: 1000, Seller: data.SellerPOP, InStock: true},
		{SKU: 2, CategoryL1: "food", PriceCents: 2000, Seller: data.SellerPOP, InStock: true},
		{SKU: 3, CategoryL1: "appliances", PriceCents: 90000, Seller: data.SellerSelf, InStock: true},
	}
	gs := []data.Group{
		{ID: 1, Promoter: 1, Channel: data.ChannelMother, CityTier: 3},
		{ID: 2, Promoter: 2, Channel: data.ChannelInstaller, CityTier: 3},
		{ID: 3, Promoter: 3, Channel: data.ChannelMother, CityTier: 3},
	}
	cat, groups := features.NewCatalog(ps, data.UnknownTime), features.NewGroups(gs)
	// Mothers' groups buy food, the installer's group appliances; group 3 (a mother's) bought an appliance twice.
	o := &features.Events{Group: []int32{0, 0, 0, 1, 1, 2, 2}, Item: []int32{0, 0, 1, 2, 2, 2, 2}, Time: make([]data.Timestamp, 7), Qty: []float32{100, 100, 100, 100, 100, 15, 15}}
	prof := features.BuildProfiles(cat, groups, o, &features.Events{}, nil, data.UnknownTime, features.DefaultConfig())
	st := features.BuildItemStats(cat, groups, o, &features.Events{}, data.UnknownTime, features.DefaultStatsConfig())
	m := recommend.NewProfileModel(cat, st)
	s := make([]float32, 3)
	m.ScoreProfile(data.ChannelInstaller, 3, nil, nil, 0, nil, s) // an unknown installer's group
	if !(s[2] > s[0] && s[2] > s[1]) {
		t.Fatalf("cold installer group: %v, want the appliance first", s)
	}
	m.ScoreProfile(data.ChannelMother, 3, nil, nil, 0, nil, s)
	if !(s[0] > s[2]) {
		t.Fatalf("cold mother group: %v, want food first", s)
	}
	cold := s[2] / s[0]
	m.Score(prof, 2, s) // the mother's group that buys appliances
	if s[2]/s[0] <= cold {
		t.Fatalf("history should move the appliance up: %v (cold ratio %v)", s, cold)
	}
}

func TestRegAndFoldInOfNothing(t *testing.T) {
	items := &recommend.Factors{K: 2, V: []float32{1, 0, 0, 1, 1, 1}}
	p := &recommend.RowProblem{Other: items, Gram: recommend.Gram(items), Alpha0: 0.5, Lambda: 0.1, Nu: 1, Cols: 3}
	if r := p.Reg(4); math.Abs(float64(r)-0.1*(4+1.5)) > 1e-6 {
		t.Fatalf("reg %v", r)
	}
	if g := recommend.Gram(items); g[0] != 2 || g[1] != 1 || g[3] != 2 {
		t.Fatalf("gram %v", g)
	}
	x := p.FoldIn(nil, nil)
	if x[0] != 0 || x[1] != 0 {
		t.Fatalf("no observations should give the zero vector, got %v", x)
	}
	x = p.FoldIn([]int32{0}, []float32{5})
	if x[0] <= 0 || math.Abs(float64(x[1])) >= float64(x[0]) {
		t.Fatalf("one observation of item 0: %v", x)
	}
}

// TestGatheredAndScatteredAgree: a row past the gather limit takes the
// scattered path to the same answer, and one held whole but summed in blocks
// to the same bits.
func TestGatheredAndScatteredAgree(t *testing.T) {
	k, n := 8, 3000
	items := &recommend.Factors{K: k, V: make([]float32, n*k)}
	for i := range items.V {
		items.V[i] = float32((i*7919)%13)/13 - 0.5
	}
	p := &recommend.RowProblem{Other: items, Gram: recommend.Gram(items), Alpha0: 0.1, Lambda: 0.01, Nu: 1, Cols: n}
	obs, w := make([]int32, n), make([]float32, n)
	for i := range obs {
		obs[i], w[i] = int32(i), 1+float32(i%3)
	}
	gathered := p.FoldIn(obs, w)
	p.GatherLimit, p.HoldLimit = 10, 10
	scattered := p.FoldIn(obs, w)
	for a := range gathered {
		if gathered[a] == 0 || math.Abs(float64(gathered[a]-scattered[a])) > 1e-4*(1+math.Abs(float64(gathered[a]))) {
			t.Fatalf("component %d: gathered %v, scattered %v", a, gathered[a], scattered[a])
		}
	}
	// Held whole (gathered once) but summed in blocks of 10: the scattered
	// path's bits, whatever the hold limit.
	for _, hold := range []int{0, 11, 2999, 3000} {
		p.HoldLimit = hold
		held := p.FoldIn(obs, w)
		for a := range held {
			if held[a] != scattered[a] {
				t.Fatalf("hold limit %d, component %d: held %v, scattered %v", hold, a, held[a], scattered[a])
			}
		}
	}
}

// TestGramBitsMatchPlainSum: every entry of Gram is the float64 sum of the
// products in the vectors' order, rounded once to float32 (the blocked,
// tiled and parallel kernel changes the work, never the bits), for K that
// are and are not multiples of the tile, few and many vectors.
func TestGramBitsMatchPlainSum(t *testing.T) {
	for _, k := range []int{1, 2, 5, 7, 64, 65} {
		for _, n := range []int{0, 3, 300, 5000} {
			f := &recommend.Factors{K: k, V: make([]float32, n*k)}
			for i := range f.V {
				f.V[i] = float32(math.Sin(float64(i)*0.37)) * float32(1+i%5)
				if i%11 == 0 {
					f.V[i] = 0
				}
			}
			g := recommend.Gram(f)
			for a := range k {
				for b := range k {
					var s float64
					for r := range n {
						s += float64(f.V[r*k+a]) * float64(f.V[r*k+b])
					}
					if g[a*k+b] != float32(s) {
						t.Fatalf("K=%d, %d vectors: entry (%d, %d) = %v, the plain sum %v", k, n, a, b, g[a*k+b], float32(s))
					}
				}
			}
		}
	}
}
