package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
)

// syntheticHistory draws nnz (group, item) orders with Zipf-popular items and
// heavy-tailed group activity, seeded.
func syntheticHistory(groups, items, orders int, seed uint64) *Interactions {
	r := rand.New(rand.NewPCG(seed, 7))
	z := rand.NewZipf(r, 1.1, 10, uint64(items-1))
	rows, cols, w := make([]int32, orders), make([]int32, orders), make([]float32, orders)
	for n := range rows {
		g := int(float64(groups) * math.Pow(r.Float64(), 2)) // a few groups order a lot
		rows[n], cols[n], w[n] = int32(min(g, groups-1)), int32(z.Uint64()), 1
	}
	return NewInteractions(groups, items, rows, cols, w)
}

// BenchmarkALSEpoch times one iALS epoch (both sides), 64 factors, 3 CG steps,
// on all cores. Sizes: groups x items x orders.
func BenchmarkALSEpoch(b *testing.B) {
	for _, s := range []struct{ groups, items, orders int }{
		{100_000, 20_000, 3_000_000},
		{1_000_000, 100_000, 30_000_000},
	} {
		b.Run(fmt.Sprintf("groups=%dk/items=%dk/orders=%dM", s.groups/1000, s.items/1000, s.orders/1_000_000), func(b *testing.B) {
			m := syntheticHistory(s.groups, s.items, s.orders, 1)
			cfg := DefaultALSConfig()
			cfg.Epochs = 1
			b.ReportMetric(float64(m.NNZ()), "nnz")
			runtime.GC()
			b.ResetTimer()
			for b.Loop() {
				if _, err := TrainALS(context.Background(), m, cfg, nil); err != nil {
					b.Fatal(err)
				}
			}
			var ru syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
			b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB") // the process's peak so far: sizes run smallest first
		})
	}
}
