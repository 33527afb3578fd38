package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sync/errgroup"

	"grouprank/recommend"
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

// alsSizes are BenchmarkALSEpoch's and BenchmarkALSFloor's histories: groups x items x orders.
var alsSizes = []struct{ groups, items, orders int }{
	{100_000, 20_000, 3_000_000},
	{1_000_000, 100_000, 30_000_000},
}

// BenchmarkALSEpoch times one iALS epoch (both sides), 64 factors, 3 CG steps,
// on all cores. Sizes: groups x items x orders.
func BenchmarkALSEpoch(b *testing.B) {
	for _, s := range alsSizes {
		b.Run(fmt.Sprintf("groups=%dk/items=%dk/orders=%dM", s.groups/1000, s.items/1000, s.orders/1_000_000), func(b *testing.B) {
			m := syntheticHistory(s.groups, s.items, s.orders, 1)
			cfg := DefaultALSConfig()
			cfg.Epochs = 1
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
			b.ReportMetric(float64(m.NNZ()), "nnz")                 // after the loop: ResetTimer drops metrics reported before it
		})
	}
}

// BenchmarkALSFloor is BenchmarkALSEpoch's floor: what an epoch cannot do
// without, reading every observed pair's vector of the other side once per
// side (gathered row by row into a contiguous block by Factors.Gather, as
// the solver does, in blocks of 512 rows on all cores), and nothing else.
func BenchmarkALSFloor(b *testing.B) {
	for _, s := range alsSizes {
		b.Run(fmt.Sprintf("groups=%dk/items=%dk/orders=%dM", s.groups/1000, s.items/1000, s.orders/1_000_000), func(b *testing.B) {
			m := syntheticHistory(s.groups, s.items, s.orders, 1)
			mt := m.Transpose()
			const k = 64
			users := &recommend.Factors{K: k, V: make([]float32, m.Rows*k)}
			items := &recommend.Factors{K: k, V: make([]float32, m.Cols*k)}
			for i := range users.V {
				users.V[i] = float32(i%7) * 0.01
			}
			for i := range items.V {
				items.V[i] = float32(i%5) * 0.01
			}
			scratch := sync.Pool{New: func() any { return new([]float32) }}
			side := func(m *Interactions, other *recommend.Factors) {
				var eg errgroup.Group
				eg.SetLimit(runtime.GOMAXPROCS(0))
				for start := 0; start < m.Rows; start += 512 {
					eg.Go(func() error {
						buf := scratch.Get().(*[]float32)
						defer scratch.Put(buf)
						for row := start; row < min(m.Rows, start+512); row++ {
							cols, _ := m.Row(row)
							if cap(*buf) < len(cols)*k {
								*buf = make([]float32, len(cols)*k)
							}
							other.Gather((*buf)[:len(cols)*k], cols)
						}
						return nil
					})
				}
				eg.Wait()
			}
			runtime.GC()
			b.ResetTimer()
			for b.Loop() {
				side(m, items)
				side(mt, users)
			}
		})
	}
}
