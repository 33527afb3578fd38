package features

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"

	"grouprank/data"
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
	blocks := NewGroupBlocks(G, func(x int) int { return data.BlockOf(data.GroupID(x + 1)) })
	est := pooledTaste(got, exp, cell, blocks, G, K, 5)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	if again := pooledTaste(got, exp, cell, blocks, G, K, 5); !slices.Equal(est, again) {
		t.Fatal("not deterministic: one core gives other bits")
	}
	runtime.GOMAXPROCS(5)
	if again := pooledTaste(got, exp, cell, blocks, G, K, 5); !slices.Equal(est, again) {
		t.Fatal("not deterministic: five goroutines give other bits")
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

// TestNewtonStepStill checks what lets pooledTaste stop a group's Newton
// steps early with the same result: once a step leaves tg's bits as they
// were, it says so, and every step after it leaves them as they are too
// (with h and grad, its scratch, holding whatever the last step left). A
// group without evidence (at its prior's mode from the start) stops at its
// first step.
func TestNewtonStepStill(t *testing.T) {
	const G, K = 2000, 6
	r := rand.New(rand.NewPCG(3, 4))
	prec := make([]float64, K*K)
	for k := range K {
		prec[k*K+k] = 2
		if k > 0 {
			prec[k*K+k-1], prec[(k-1)*K+k] = 0.5, 0.5
		}
	}
	h, grad := make([]float64, K*K), make([]float64, 2*K)
	stills := 0
	for g := range G {
		m, got, exp := make([]float64, K), make([]float64, K), make([]float64, K)
		for k := range K {
			m[k] = r.NormFloat64() * 0.5
			exp[k] = 3 * r.Float64()
			if g%7 == 0 {
				exp[k] = 0 // no evidence: the prior's mode
			}
			got[k] = float64(poissonDraw(r, exp[k]*math.Exp(r.NormFloat64())))
		}
		tg := slices.Clone(m)
		still := -1
		for step := range 12 {
			before := slices.Clone(tg)
			moved := newtonStep(tg, m, got, exp, prec, h, grad, K)
			same := true
			for k := range K {
				same = same && math.Float64bits(tg[k]) == math.Float64bits(before[k])
			}
			if moved == same {
				t.Fatalf("group %d, step %d: reported moved %v, tg's bits the same: %v", g, step, moved, same)
			}
			if still >= 0 && !same {
				t.Fatalf("group %d: still after step %d, moved again at step %d", g, still, step)
			}
			if same && still < 0 {
				still = step
			}
		}
		if g%7 == 0 && still != 0 {
			t.Errorf("group %d, without evidence: still from step %d, want 0", g, still)
		}
		if still > 0 {
			stills++
		}
	}
	if stills == 0 {
		t.Error("no group with evidence reached a step that changes nothing: the property above went untested")
	}
}

// TestPotrs1MatchesGonum: potrs1 gives gonum's Potrs bit for bit on random
// positive definite systems of the sizes the tastes use and others, zeros
// in the factor included.
func TestPotrs1MatchesGonum(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for trial := range 3000 {
		K := 1 + trial%40
		a := randomSymmetric(r, K)
		f, ok := lapack64.Potrf(blas64.Symmetric{N: K, Stride: K, Data: a, Uplo: blas.Upper})
		if !ok {
			continue
		}
		b := make([]float64, K)
		for i := range b {
			b[i] = r.NormFloat64() * math.Pow(10, float64(r.IntN(9))-4)
		}
		want := slices.Clone(b)
		lapack64.Potrs(f, blas64.General{Rows: K, Cols: 1, Stride: 1, Data: want})
		inv := make([]float64, K)
		for k := range K {
			inv[k] = 1 / f.Data[k*K+k]
		}
		potrs1(f.Data, b, K, inv)
		for i := range K {
			if math.Float64bits(b[i]) != math.Float64bits(want[i]) {
				t.Fatalf("K %d, trial %d, x[%d]: %v, gonum %v", K, trial, i, b[i], want[i])
			}
		}
	}
}

// TestPotrfMatchesGonum: potrf factors as gonum's Potrf does, bit for bit,
// and fails where it fails (leaving the same entries), on random symmetric
// matrices from 1 x 1 to past gonum's block size, some not positive
// definite.
func TestPotrfMatchesGonum(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	fails := 0
	for trial := range 3000 {
		K := 1 + trial%40
		if trial%100 == 99 {
			K = 65 + trial%7
		}
		a := randomSymmetric(r, K)
		if trial%10 == 3 {
			a[(K/2)*K+K/2] = -r.Float64() // not positive definite
		}
		want := slices.Clone(a)
		_, wok := lapack64.Potrf(blas64.Symmetric{N: K, Stride: K, Data: want, Uplo: blas.Upper})
		inv := make([]float64, K)
		ok := potrf(a, K, inv)
		if ok != wok {
			t.Fatalf("K %d, trial %d: ok %v, gonum %v", K, trial, ok, wok)
		}
		for k := range K {
			if ok && math.Float64bits(inv[k]) != math.Float64bits(1/want[k*K+k]) {
				t.Fatalf("K %d, trial %d: reciprocal %d %v, want %v", K, trial, k, inv[k], 1/want[k*K+k])
			}
		}
		if !ok {
			fails++
		}
		for i := range a {
			if math.Float64bits(a[i]) != math.Float64bits(want[i]) {
				t.Fatalf("K %d, trial %d, entry %d: %v, gonum %v", K, trial, i, a[i], want[i])
			}
		}
	}
	if fails == 0 {
		t.Error("no matrix failed: the failure path went untested")
	}
}

// randomSymmetric is a K x K symmetric matrix with a dominant diagonal
// (positive definite) of widely varying scale, a quarter of its other
// entries zero.
func randomSymmetric(r *rand.Rand, K int) []float64 {
	a := make([]float64, K*K)
	for i := range K {
		for j := i; j < K; j++ {
			v := r.NormFloat64()
			if r.IntN(4) == 0 {
				v = 0
			}
			a[i*K+j], a[j*K+i] = v*0.3, v*0.3
		}
		a[i*K+i] = float64(K) * (1 + r.Float64()*math.Pow(10, float64(r.IntN(6))-2))
	}
	return a
}
