package train

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"grouprank/data"
	"grouprank/features"
	"grouprank/train/exchange"
)

// TestFitByParts: the logistic and Poisson fits of 1, 2 and 3 parts at once,
// each summing the rows of its own groups' blocks and joined through an
// exchange directory (NewParts), have the bits of the fit on every row; the
// counts and minima the parts join are those over all of them.
func TestFitByParts(t *testing.T) {
	w := []float64{0.8, -0.5, 0.2, 0}
	X, y := simulated(6000, w, -1, 3)
	group := func(r int) data.GroupID { return data.GroupID(1 + r/7) }
	all := func(int) float64 { return 1 }
	whole := features.NewGroupBlocks(len(y), func(r int) int { return data.BlockOf(group(r)) })
	cfgs := []LogisticConfig{{L2: 0.1, Iterations: 30, Tolerance: 1e-8}, {L2: 0.1, Iterations: 30, Tolerance: 1e-8, Poisson: true}}
	var want []*Logistic
	for _, cfg := range cfgs {
		m, err := FitLogisticBlocks(context.Background(), Dense{X: X, D: len(w)}, y, all, whole, 1, cfg)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, m)
	}
	for _, n := range []int{1, 2, 3} {
		err := byParts(t, n, func(i int, ex *exchange.Dir) error {
			ctx := context.Background()
			// The part's rows: those of its groups, in their order.
			var rows []int
			for r := range y {
				if data.PartOf(group(r), n) == i {
					rows = append(rows, r)
				}
			}
			px, py := make([]float64, 0, len(rows)*len(w)), make([]float64, 0, len(rows))
			for _, r := range rows {
				px, py = append(px, X[r*len(w):(r+1)*len(w)]...), append(py, y[r])
			}
			parts := NewParts(ctx, ex, "fit")
			blocks := features.NewGroupBlocks(len(rows), func(k int) int { return data.BlockOf(group(rows[k])) })
			blocks.Parts = parts
			for c, cfg := range cfgs {
				m, err := FitLogisticBlocks(ctx, Dense{X: px, D: len(w)}, py, all, blocks, 1+i%2, cfg)
				if err != nil {
					return err
				}
				if !slices.Equal(m.W, want[c].W) || m.Bias != want[c].Bias || m.Iterations != want[c].Iterations {
					return fmt.Errorf("part %d, Poisson %v: %v %v, the whole's %v %v", i, cfg.Poisson, m.W, m.Bias, want[c].W, want[c].Bias)
				}
			}
			sums, mins := []int64{int64(i), 1, -3}, []int64{int64(10 - i), 5}
			if err := parts.AddInts(sums); err != nil {
				return err
			}
			if err := parts.MinInts(mins); err != nil {
				return err
			}
			if want := []int64{int64(n * (n - 1) / 2), int64(n), int64(-3 * n)}; !slices.Equal(sums, want) {
				return fmt.Errorf("sums %v, want %v", sums, want)
			}
			if want := []int64{int64(10 - n + 1), 5}; !slices.Equal(mins, want) {
				return fmt.Errorf("minima %v, want %v", mins, want)
			}
			return nil
		})
		if err != nil {
			t.Errorf("%d parts: %v", n, err)
		}
	}
}
