package recommend

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// TestKnotIndexMatchesSearch: the indexed knot lookup finds the knot a
// binary search finds, and Value gives the same bits, for knots with
// repeats and uneven gaps, at the knots themselves, between and beyond
// them, at their float neighbours, and at NaN, infinities and -0.
func TestKnotIndexMatchesSearch(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 8))
	for trial := range 200 {
		n := 16 + r.IntN(300)
		x, y := make([]float64, n), make([]float64, n)
		for k := range x {
			switch {
			case k > 0 && r.IntN(8) == 0:
				x[k] = x[k-1] // a repeated knot
			case r.IntN(3) == 0:
				x[k] = r.NormFloat64() * 1e-3 // crowded near 0
			default:
				x[k] = r.NormFloat64() * 4
			}
			y[k] = r.Float64()
		}
		slices.Sort(x)
		slices.Sort(y)
		plain := Calibration{Method: "isotonic", X: x, Y: y, Link: "logit", LowSlope: 0.3, HighSlope: 0.2}
		idx := plain.indexed()
		if idx.idx == nil {
			t.Fatalf("trial %d: no index for %d knots", trial, n)
		}
		zs := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), x[0] - 1, x[n-1] + 1}
		for _, v := range x {
			zs = append(zs, v, math.Nextafter(v, math.Inf(1)), math.Nextafter(v, math.Inf(-1)))
		}
		for range 2000 {
			zs = append(zs, x[0]+(x[n-1]-x[0])*(r.Float64()*1.2-0.1))
		}
		for _, z := range zs {
			if got, want := idx.knot(z), sort.SearchFloat64s(x, z); got != want {
				t.Fatalf("trial %d, z %v: indexed knot %d, binary search %d", trial, z, got, want)
			}
			a, b := idx.Value(z), plain.Value(z)
			if math.Float64bits(a) != math.Float64bits(b) && !(math.IsNaN(a) && math.IsNaN(b)) {
				t.Fatalf("trial %d, z %v: indexed value %v, plain %v", trial, z, a, b)
			}
		}
	}
}
