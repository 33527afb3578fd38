package train

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"grouprank/data"
	"grouprank/features"
	"grouprank/recommend"
)

// BenchmarkFitLogistic times the logistic and the Poisson fit of the
// conversion model's shape (recommend.NumFeatures columns, losslessly
// narrowed rows) on 1M rows of 100k groups held in their blocks' order, on
// one goroutine: the work of each Newton pass per row.
func BenchmarkFitLogistic(b *testing.B) {
	const n, groups = 1_000_000, 100_000
	d := recommend.NumFeatures
	r := rand.New(rand.NewPCG(1, 2))
	X := NewCompact(d)
	y, orders := make([]float32, n), make([]float32, n) // as the conversion examples hold them
	group := make([]data.GroupID, n)
	row := make([]float64, d)
	for k := range n {
		group[k] = data.GroupID(1 + r.IntN(groups))
	}
	slices.SortStableFunc(group, func(a, b data.GroupID) int { return data.BlockOf(a) - data.BlockOf(b) })
	for k := range n {
		z := -1.5
		for j := range row {
			row[j] = float64(float32(r.NormFloat64() * float64(1+j%4)))
			if j%5 == 0 {
				row[j] = float64(r.IntN(8)) // a coded column
			}
			z += 0.1 * row[j] / float64(1+j%4)
		}
		X.Add(row)
		if r.Float64() < 1/(1+math.Exp(-z)) {
			y[k], orders[k] = 1, float32(1+r.IntN(2))
		}
	}
	X.flush()
	blocks := features.NewGroupBlocks(n, func(k int) int { return data.BlockOf(group[k]) })
	all := func(int) float64 { return 1 }
	for _, poisson := range []bool{false, true} {
		name, labels := "logistic", y
		if poisson {
			name, labels = "poisson", orders
		}
		b.Run(name, func(b *testing.B) {
			cfg := DefaultLogisticConfig()
			cfg.Poisson = poisson
			for b.Loop() {
				if _, err := FitLogisticBlocks(context.Background(), X, labels, all, blocks, 1, cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestNewtonSums: the batched pass has the bits of the rows taken one at a
// time, as written before batching: any number of rows (a last batch short
// of four), rows left out (weight 0), and terms that are 0 (a value at its
// column's mean); with the labels as float32 or float64.
func TestNewtonSums(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const d = 6
	D := d + 1
	for _, poisson := range []bool{false, true} {
		for n := range 14 {
			X := make([]float64, n*d)
			y := make([]float64, n)
			for k := range X {
				X[k] = float64(r.IntN(3)) + r.NormFloat64()*float64(k%2) // every other column whole numbers: some at the mean
			}
			for k := range y {
				y[k] = float64(r.IntN(3))
			}
			w := func(k int) float64 { return float64(k % 3) } // every third row left out
			beta, mean, std := make([]float64, D), make([]float64, d), make([]float64, d)
			for j := range d {
				beta[j], mean[j], std[j] = r.NormFloat64(), 1, 0.5+r.Float64()
			}
			beta[d] = -0.5
			rows := make([]int32, n)
			for k := range rows {
				rows[k] = int32(k)
			}
			got := make([]float64, D+D*D+1)
			newtonSums(Dense{X: X, D: d}, rows, y, w, beta, mean, std, poisson, got)
			want := make([]float64, D+D*D+1)
			z := make([]float64, D)
			for _, k := range rows {
				wr := w(int(k))
				if wr <= 0 {
					continue
				}
				s := beta[d]
				for j := range d {
					z[j] = (X[int(k)*d+j] - mean[j]) / std[j]
					s += beta[j] * z[j]
				}
				z[d] = 1
				var p, wgt float64
				if poisson {
					p = math.Exp(math.Min(s, 30))
					wgt = wr * math.Max(p, 1e-10)
					want[D+D*D] += wr * (p - y[k]*s)
				} else {
					p = 1 / (1 + math.Exp(-s))
					wgt = wr * math.Max(p*(1-p), 1e-10)
					want[D+D*D] += wr * (softplus(s) - y[k]*s)
				}
				res := wr * (y[k] - p)
				for a := range D {
					want[a] += res * z[a]
					za := wgt * z[a]
					if za == 0 {
						continue
					}
					for b := a; b < D; b++ {
						want[D+a*D+b] += za * z[b]
					}
				}
			}
			// labels held as float32 (whole numbers) give the same bits
			y32 := make([]float32, n)
			for k, v := range y {
				y32[k] = float32(v)
			}
			got32 := make([]float64, D+D*D+1)
			newtonSums(Dense{X: X, D: d}, rows, y32, w, beta, mean, std, poisson, got32)
			for k := range want {
				if math.Float64bits(got[k]) != math.Float64bits(want[k]) || math.Float64bits(got32[k]) != math.Float64bits(want[k]) {
					t.Fatalf("Poisson %v, %d rows: value %d is %v (float32 labels: %v), row by row %v", poisson, n, k, got[k], got32[k], want[k])
				}
			}
		}
	}
}
