package features

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestExactSum checks that the sum does not depend on the order of its
// terms or on how they are split between partial sums, and that it is the
// sum to within the fraction's unit per term.
func TestExactSum(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	terms := make([]float64, 100000)
	var want float64 // in float64, near enough to check against
	for n := range terms {
		x := float64(float32(math.Exp2(-20*r.Float64()) * float64(1+r.IntN(1000))))
		if n%97 == 0 {
			x = -x
		}
		if n == 500 {
			x = 3e9 // far above any fraction
		}
		terms[n] = x
		want += x
	}
	var whole exactSum
	for _, x := range terms {
		whole.add(x)
	}
	got := whole.value()
	if math.Abs(got-want) > 1e-6*math.Abs(want) {
		t.Fatalf("sum %v, want about %v", got, want)
	}
	for trial := range 5 {
		perm := r.Perm(len(terms))
		parts := make([]exactSum, 1+trial)
		for k, n := range perm {
			parts[k%len(parts)].add(terms[n])
		}
		var merged exactSum
		for _, p := range parts {
			merged.merge(p)
		}
		if v := merged.value(); v != got {
			t.Fatalf("in another order, %d partial sums: %v, want %v", len(parts), v, got)
		}
	}
	// Fractions past what their int64 holds unless moved into the units.
	var many exactSum
	const n = 3 << 21
	for range n {
		many.add(0.96875) // 31/32: exact
	}
	if v := many.value(); v != 0.96875*n {
		t.Fatalf("%d times 31/32: %v, want %v", n, v, 0.96875*n)
	}
}
