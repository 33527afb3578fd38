package features_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"grouprank/data"
	"grouprank/features"
)

// BenchmarkBuildProfiles times the whole profile build (profiles and item
// statistics) over a month of orders and pushes. Sizes: groups x items x orders.
func BenchmarkBuildProfiles(b *testing.B) {
	for _, s := range []struct{ groups, items, orders int }{
		{100_000, 20_000, 3_000_000},
		{1_000_000, 100_000, 30_000_000},
	} {
		b.Run(fmt.Sprintf("groups=%dk/items=%dk/orders=%dM", s.groups/1000, s.items/1000, s.orders/1_000_000), func(b *testing.B) {
			// About 11 bytes per group and L2 category at the peak (397 MiB
			// at 100k groups x 370 L2 categories, measured), inputs included.
			const l2 = 10 * 37
			if need, avail := uint64(15*s.groups*l2), memAvailable(); avail > 0 && need > avail {
				b.Skipf("needs about %d GiB, %d GiB available", need>>30, avail>>30)
			}
			r := rand.New(rand.NewPCG(1, 2))
			cats := []string{"food", "fresh", "home", "underwear", "apparel", "beauty", "baby", "appliances", "electronics", "health"}
			ps := make([]data.Product, s.items)
			for i := range ps {
				ps[i] = data.Product{SKU: data.SKU(i + 1), CategoryL1: cats[i%10], CategoryL2: fmt.Sprint(i % 37), Brand: fmt.Sprint(i % 997),
					PriceCents: int64(100 + r.IntN(100000)), GoodReviews: 9, Reviews: 10, Seller: data.SellerType(1 + i%2), InStock: true}
			}
			gs := make([]data.Group, s.groups)
			for g := range gs {
				gs[g] = data.Group{ID: data.GroupID(g + 1), Promoter: 1, Channel: data.Channels[g%6], CityTier: data.CityTier(1 + g%6)}
			}
			const t0 = data.Timestamp(1788220800000)
			at := t0 + 30*data.Day
			z := rand.NewZipf(r, 1.1, 10, uint64(s.items-1))
			ev := func(n int) *features.Events {
				e := &features.Events{Group: make([]int32, n), Item: make([]int32, n), Time: make([]data.Timestamp, n), Qty: make([]float32, n), Converted: make([]bool, n)}
				for k := range n {
					e.Group[k] = int32(min(s.groups-1, int(float64(s.groups)*math.Pow(r.Float64(), 2))))
					e.Item[k] = int32(z.Uint64())
					e.Time[k] = t0 + data.Timestamp(r.Int64N(int64(30*data.Day)))
					e.Qty[k] = 1
					e.Converted[k] = r.IntN(4) == 0
				}
				return e
			}
			orders, pushes := ev(s.orders), ev(s.orders)
			cat, groups := features.NewCatalog(ps, at), features.NewGroups(gs)
			runtime.GC()
			b.ResetTimer()
			for b.Loop() {
				features.BuildProfiles(cat, groups, orders, pushes, nil, at, features.DefaultConfig())
				features.BuildItemStats(cat, groups, orders, pushes, at, features.DefaultStatsConfig())
			}
			var ru syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
			b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB") // the process's peak so far: sizes run smallest first
		})
	}
}

// memAvailable is /proc/meminfo's MemAvailable in bytes (0 when unknown).
func memAvailable() uint64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			var kib uint64
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kib)
			return kib << 10
		}
	}
	return 0
}
