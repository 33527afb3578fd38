package features

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"grouprank/data"
)

// BenchmarkPooledTaste fits the pooled tastes of 20,000 groups over K
// categories (5: the price bins; 12 and 30: L1 categories) from Poisson
// counts, five rounds as the profiles do.
func BenchmarkPooledTaste(b *testing.B) {
	for _, K := range []int{5, 12, 30} {
		b.Run(fmt.Sprintf("K=%d", K), func(b *testing.B) {
			const G = 20000
			r := rand.New(rand.NewPCG(1, 2))
			got, exp := make([]float64, G*K), make([]float64, G*K)
			cell := make([]int32, G)
			for g := range G {
				cell[g] = int32(g % 6)
				for k := range K {
					exp[g*K+k] = 2 * r.Float64()
					got[g*K+k] = float64(poissonDraw(r, exp[g*K+k]*math.Exp(0.5*r.NormFloat64())))
				}
			}
			blocks := NewGroupBlocks(G, func(x int) int { return data.BlockOf(data.GroupID(x + 1)) })
			for b.Loop() {
				pooledTaste(got, exp, cell, blocks, G, K, 5)
			}
		})
	}
}
