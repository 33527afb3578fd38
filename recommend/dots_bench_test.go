package recommend_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"grouprank/recommend"
)

// BenchmarkDotsInto: a batch job's dot products, 16 group vectors with
// every item vector at once (Factors.DotsInto), per group.
func BenchmarkDotsInto(b *testing.B) {
	for _, n := range []int{20000, 100000} {
		b.Run(fmt.Sprintf("items=%dk", n/1000), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			const k, groups = 64, 16
			items := &recommend.Factors{K: k, V: make([]float32, n*k)}
			for i := range items.V {
				items.V[i] = float32(r.NormFloat64())
			}
			vecs, dsts := make([][]float32, groups), make([][]float32, groups)
			for g := range vecs {
				vecs[g], dsts[g] = make([]float32, k), make([]float32, n)
				for a := range vecs[g] {
					vecs[g][a] = float32(r.NormFloat64())
				}
			}
			b.ResetTimer()
			for range b.N {
				items.DotsInto(dsts, vecs)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*groups), "ns/group")
		})
	}
}
