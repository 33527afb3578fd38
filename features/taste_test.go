package features

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestPooledTaste plants tastes drawn around two cells' means with two
// correlated categories, draws Poisson counts against small exposures, and
// checks that the pooled estimate recovers the cells' means, beats the flat
// per-group estimate, lends a group's evidence in one category to its
// correlated one, gives a group without evidence its cell's mean, and is
// deterministic.
func TestPooledTaste(t *testing.T) {
	const G, K = 4000, 5
	r := rand.New(rand.NewPCG(7, 8))
	mu := [2][K]float64{{0.5, 0.5, -0.5, 0, 0}, {-0.5, -0.5, 0.5, 0, 0}}
	cell := make([]int32, G)
	truth := make([]float64, G*K)
	got, exp := make([]float64, G*K), make([]float64, G*K)
	for g := range G {
		c := g % 2
		cell[g] = int32(c)
		z := r.NormFloat64() // categories 0 and 1 share it
		for k := range K {
			x := mu[c][k] + 0.5*r.NormFloat64()
			if k < 2 {
				x = mu[c][k] + 0.6*z + 0.2*r.NormFloat64()
			}
			truth[g*K+k] = x
			if g == G-1 || g == G-2 { // no evidence at all
				continue
			}
			exp[g*K+k] = 0.5 + 2*r.Float64()
			got[g*K+k] = float64(poissonDraw(r, exp[g*K+k]*math.Exp(x)))
		}
	}
	// Group 0 has evidence in category 0 only, and a lot of it.
	for k := range K {
		got[k], exp[k] = 0, 0
	}
	exp[0], got[0] = 20, 20*math.Exp(1.5)
	est := pooledTaste(got, exp, cell, G, K, 5)
	if again := pooledTaste(got, exp, cell, G, K, 5); !slices.Equal(est, again) {
		t.Fatal("not deterministic")
	}
	var pooled, flat float64
	for g := 1; g < G-2; g++ {
		for k := range K {
			y := truth[g*K+k]
			pooled += math.Pow(float64(est[g*K+k])-y, 2)
			flat += math.Pow(math.Log((got[g*K+k]+3)/(exp[g*K+k]+3))-y, 2)
		}
	}
	if pooled > 0.75*flat {
		t.Errorf("pooled squared error %.1f, flat %.1f", pooled, flat)
	}
	// Without evidence: the cell's fitted mean, near the true one (the
	// posterior modes the means are fitted from sit a little inside them when
	// counts are small) and apart from the other cell's by most of the true 1.
	for _, g := range []int{G - 2, G - 1} {
		c := g % 2
		for k := range K {
			if d := float64(est[g*K+k]) - mu[c][k]; math.Abs(d) > 0.2 {
				t.Errorf("group %d without evidence, category %d: %.3f, cell mean %.2f", g, k, est[g*K+k], mu[c][k])
			}
		}
	}
	for k := range 3 {
		d := float64(est[(G-2)*K+k] - est[(G-1)*K+k])
		if d*(mu[0][k]-mu[1][k]) < 0.7 {
			t.Errorf("category %d: the cells' means %.3f apart, truly %.1f", k, d, mu[0][k]-mu[1][k])
		}
	}
	// Category 0 at +1.5 pulls the correlated category 1 well above the cell's 0.5; category 2 stays near its -0.5.
	if est[1] < 0.9 || math.Abs(float64(est[2])+0.5) > 0.2 {
		t.Errorf("group 0: %v", est[:K])
	}
}

func poissonDraw(r *rand.Rand, lambda float64) int {
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}
