package features

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// pooledTaste estimates each group's log taste per category from decayed
// counts got (G x K) against what a group of average taste would have shown,
// exp (G x K), under a Poisson log-normal model fitted to all groups at once:
//
//	got_gk ~ Poisson(exp_gk · e^t_gk),  t_g ~ Normal(mu_cell(g), Sigma)
//
// Each group's taste is its posterior mode (Newton's method on the concave
// log posterior); the cells' means and the covariance Sigma are then re-fitted
// from the modes and their Laplace covariances (an EM), rounds times. Sigma
// says which categories go together across groups, so what a group showed in
// one category informs its taste for the others, and a group with little
// evidence gets its cell's mean (cell: channel x tier) instead of 0. The sums
// over groups are taken in blocks (GroupBlocks.SumBlocks): deterministic,
// whatever the number of cores.
//
// cell holds each group's cell, below NumCells. With blocks.Parts the groups
// are one part's, and the result is what the whole fit gives them.
func pooledTaste(got, exp []float64, cell []int32, blocks *GroupBlocks, G, K, rounds int) []float32 {
	out := make([]float32, G*K)
	if K == 0 || (G == 0 && blocks.Parts == nil) {
		return out
	}
	const cells = NumCells
	mu := make([]float64, cells*K)
	sigma := make([]float64, K*K)
	for k := range K {
		sigma[k*K+k] = 0.5
	}
	t := make([]float64, G*K)
	// Each round's sums over the groups, side by side: the Laplace
	// covariances and outer products (K x K), the modes per cell (cells x
	// K) and over all groups (K), and the groups per cell (cells). A group
	// whose Hessian could not be inverted adds no covariance.
	cov, sum, all, n := 0, K*K, K*K+cells*K, K*K+cells*K+K
	sums := make([]float64, n+cells)
	for round := range rounds {
		prec, ok := invertSym(make([]float64, K*K), sigma, K)
		if !ok {
			break
		}
		clear(sums)
		blocks.SumBlocks(sums, 0, func(_ int, groups []int32, acc []float64) {
			h, v := make([]float64, K*K), make([]float64, K*K)
			grad := make([]float64, 2*K) // the gradient, then the factor's reciprocal diagonal
			for _, g32 := range groups {
				g := int(g32)
				c := int(cell[g])
				m := mu[c*K : (c+1)*K]
				tg := t[g*K : (g+1)*K]
				if round == 0 {
					copy(tg, m)
				}
				// A step that leaves every component's bits as they were
				// leaves the next step nothing new to compute from, so
				// the steps after it would change nothing either.
				for range 8 {
					if !newtonStep(tg, m, got[g*K:(g+1)*K], exp[g*K:(g+1)*K], prec, h, grad, K) {
						break
					}
				}
				acc[n+c]++
				for k := range K {
					acc[sum+c*K+k] += tg[k]
					acc[all+k] += tg[k]
				}
				// Laplace covariance: the inverse of the Hessian at the mode.
				hessian(tg, exp[g*K:(g+1)*K], prec, h, K)
				if _, ok := invertSym(v, h, K); !ok {
					continue
				}
				for a := range K {
					da := tg[a] - m[a]
					for b := range K {
						acc[cov+a*K+b] += v[a*K+b] + da*(tg[b]-m[b])
					}
				}
			}
		})
		// Re-fit: the cell means (shrunk toward the overall mean with 20
		// pseudo-groups) and the covariance, over every part's groups.
		var groups float64
		for c := range cells {
			groups += sums[n+c]
		}
		if groups == 0 {
			break
		}
		for c := range cells {
			for k := range K {
				mu[c*K+k] = (sums[sum+c*K+k] + 20*sums[all+k]/groups) / (sums[n+c] + 20)
			}
		}
		for i := range K * K {
			sigma[i] = sums[cov+i] / groups
		}
		for k := range K {
			sigma[k*K+k] += 1e-3
		}
	}
	for i, x := range t {
		out[i] = float32(x)
	}
	return out
}

// hessian writes the negative Hessian of the log posterior at tg into h:
// diag(exp · e^t) + prec.
func hessian(tg, exp, prec, h []float64, K int) {
	copy(h, prec)
	for k := range K {
		h[k*K+k] += exp[k] * math.Exp(tg[k])
	}
}

// newtonStep moves tg one (damped) Newton step toward the posterior mode and
// reports whether any of its components changed. What it computes depends
// only on tg and its other inputs (h and grad are scratch), so a step that
// changes nothing is followed by steps that change nothing.
// grad is scratch of 2K: the gradient, then potrf's reciprocals.
func newtonStep(tg, m, got, exp, prec, h, grad []float64, K int) bool {
	grad, inv := grad[:K], grad[K:2*K]
	copy(h, prec)
	for a := range K {
		d := exp[a] * math.Exp(tg[a])
		grad[a] = got[a] - d
		for b := range K {
			grad[a] -= prec[a*K+b] * (tg[b] - m[b])
		}
		h[a*K+a] += d // hessian's diagonal, the same product
	}
	if !potrf(h, K, inv) {
		return false
	}
	potrs1(h, grad, K, inv)
	moved := false
	for k := range K {
		was := tg[k]
		tg[k] += math.Max(-2, math.Min(2, grad[k]))
		moved = moved || math.Float64bits(tg[k]) != math.Float64bits(was)
	}
	return moved
}

// potrf factors the symmetric positive definite K x K matrix a (row-major,
// its upper triangle read) in place into U with a = Uᵀ U, U in the upper
// triangle, and reports whether a was positive definite: the same
// operations in the same order as gonum's Potrf (Dpotf2 below its block
// size of 64, gonum's own code above it), so the same bits, without the
// BLAS calls on a few elements each. Its Ddot over a column is gonum's
// DotInc, two lanes (the even and the odd rows, an odd last row added to
// the odd lane) added at the end; its Dgemv is GemvT, each element the
// products added one row after another; its Dscal multiplies by the
// reciprocal, which it also writes into inv (when not nil, of K) for
// potrs1.
func potrf(a []float64, K int, inv []float64) bool {
	if K > 64 {
		_, ok := lapack64.Potrf(blas64.Symmetric{N: K, Stride: K, Data: a, Uplo: blas.Upper})
		if ok && inv != nil {
			for j := range K {
				inv[j] = 1 / a[j*K+j]
			}
		}
		return ok
	}
	for j := range K {
		ajj := a[j*K+j]
		if j != 0 {
			var even, odd float64
			r := 0
			for ; r+1 < j; r += 2 {
				even = even + float64(a[r*K+j]*a[r*K+j])
				odd = odd + float64(a[(r+1)*K+j]*a[(r+1)*K+j])
			}
			if r < j {
				odd = odd + float64(a[r*K+j]*a[r*K+j])
			}
			ajj -= odd + even
		}
		if ajj <= 0 || math.IsNaN(ajj) {
			a[j*K+j] = ajj
			return false
		}
		ajj = math.Sqrt(ajj)
		a[j*K+j] = ajj
		if j < K-1 {
			row := a[j*K+j+1 : (j+1)*K]
			for r := range j {
				x := -a[r*K+j]
				for c := range row {
					row[c] = row[c] + float64(x*a[r*K+j+1+c])
				}
			}
			r := 1 / ajj
			for c := range row {
				row[c] = r * row[c]
			}
		}
		if inv != nil {
			inv[j] = 1 / ajj
		}
	}
	return true
}

// potrs1 solves Uᵀ U x = b for x in place, U the K x K upper Cholesky
// factor in u (row-major, as potrf leaves it) and inv the reciprocals of
// its diagonal (1/u[k][k], as potrf writes them): the same operations in the
// same order as gonum's Dpotrs with one right-hand side (two Dtrsm, whose
// scalings and axpys on one element are one multiplication, or one
// multiplication and one addition, each rounded), so the same bits, without
// the calls for one element each. The conversions keep a compiler from
// fusing a multiplication and an addition.
func potrs1(u, b []float64, K int, inv []float64) {
	// Uᵀ y = b
	for k := range K {
		b[k] = inv[k] * b[k]
		for i := k + 1; i < K; i++ {
			if va := u[k*K+i]; va != 0 {
				b[i] = float64(-va*b[k]) + b[i]
			}
		}
	}
	// U x = y
	for i := K - 1; i >= 0; i-- {
		for k := i + 1; k < K; k++ {
			if va := u[i*K+k]; va != 0 {
				b[i] = float64(-va*b[k]) + b[i]
			}
		}
		b[i] = inv[i] * b[i]
	}
}

// invertSym writes the inverse of the symmetric positive definite K x K
// matrix a (row-major, full) into c (K x K) and returns it, leaving a alone.
func invertSym(c, a []float64, K int) ([]float64, bool) {
	copy(c, a)
	if !potrf(c, K, nil) {
		return nil, false
	}
	f := blas64.Triangular{Uplo: blas.Upper, Diag: blas.NonUnit, N: K, Stride: K, Data: c}
	if _, ok := lapack64.Potri(f); !ok {
		return nil, false
	}
	for i := range K { // mirror the upper triangle
		for j := range i {
			c[i*K+j] = c[j*K+i]
		}
	}
	return c, true
}
