package features

import (
	"math"

	"golang.org/x/sync/errgroup"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// tasteParts is the fixed number of partitions pooledTaste's sums are split
// into, whatever the number of cores, so results do not depend on the machine.
const tasteParts = 4

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
// evidence gets its cell's mean (cell: channel x tier) instead of 0. Deterministic.
func pooledTaste(got, exp []float64, cell []int32, G, K, rounds int) []float32 {
	out := make([]float32, G*K)
	if G == 0 || K == 0 {
		return out
	}
	cells := 0
	for _, c := range cell {
		cells = max(cells, int(c)+1)
	}
	mu := make([]float64, cells*K)
	sigma := make([]float64, K*K)
	for k := range K {
		sigma[k*K+k] = 0.5
	}
	t := make([]float64, G*K)
	type part struct {
		cov []float64 // sum of the Laplace covariances and outer products
		ok  bool
	}
	parts := make([]part, tasteParts)
	for round := range rounds {
		prec, ok := invertSym(make([]float64, K*K), sigma, K)
		if !ok {
			break
		}
		var eg errgroup.Group // one goroutine per fixed partition: the sums do not depend on the machine
		for p := range tasteParts {
			eg.Go(func() error {
				parts[p] = part{cov: make([]float64, K*K), ok: true}
				h, v := make([]float64, K*K), make([]float64, K*K)
				grad := make([]float64, K)
				for g := p * G / tasteParts; g < (p+1)*G/tasteParts; g++ {
					m := mu[int(cell[g])*K : int(cell[g]+1)*K]
					tg := t[g*K : (g+1)*K]
					if round == 0 {
						copy(tg, m)
					}
					for range 8 {
						newtonStep(tg, m, got[g*K:(g+1)*K], exp[g*K:(g+1)*K], prec, h, grad, K)
					}
					// Laplace covariance: the inverse of the Hessian at the mode.
					hessian(tg, exp[g*K:(g+1)*K], prec, h, K)
					if _, ok := invertSym(v, h, K); !ok {
						parts[p].ok = false
						continue
					}
					for a := range K {
						da := tg[a] - m[a]
						for b := range K {
							parts[p].cov[a*K+b] += v[a*K+b] + da*(tg[b]-m[b])
						}
					}
				}
				return nil
			})
		}
		eg.Wait() //nolint:errcheck // the partitions return no error
		// Re-fit: the cell means (shrunk toward the overall mean with 20
		// pseudo-groups) and the covariance.
		all := make([]float64, K)
		sum := make([]float64, cells*K)
		n := make([]float64, cells)
		for g := range G {
			c := int(cell[g])
			n[c]++
			for k := range K {
				sum[c*K+k] += t[g*K+k]
				all[k] += t[g*K+k] / float64(G)
			}
		}
		for c := range cells {
			for k := range K {
				mu[c*K+k] = (sum[c*K+k] + 20*all[k]) / (n[c] + 20)
			}
		}
		clear(sigma)
		for _, pt := range parts {
			for i, x := range pt.cov {
				sigma[i] += x / float64(G)
			}
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

// newtonStep moves tg one (damped) Newton step toward the posterior mode.
func newtonStep(tg, m, got, exp, prec, h, grad []float64, K int) {
	for a := range K {
		d := exp[a] * math.Exp(tg[a])
		grad[a] = got[a] - d
		for b := range K {
			grad[a] -= prec[a*K+b] * (tg[b] - m[b])
		}
	}
	hessian(tg, exp, prec, h, K)
	f, ok := lapack64.Potrf(blas64.Symmetric{N: K, Stride: K, Data: h, Uplo: blas.Upper})
	if !ok {
		return
	}
	lapack64.Potrs(f, blas64.General{Rows: K, Cols: 1, Stride: 1, Data: grad})
	for k := range K {
		tg[k] += math.Max(-2, math.Min(2, grad[k]))
	}
}

// invertSym writes the inverse of the symmetric positive definite K x K
// matrix a (row-major, full) into c (K x K) and returns it, leaving a alone.
func invertSym(c, a []float64, K int) ([]float64, bool) {
	copy(c, a)
	f, ok := lapack64.Potrf(blas64.Symmetric{N: K, Stride: K, Data: c, Uplo: blas.Upper})
	if !ok {
		return nil, false
	}
	if _, ok = lapack64.Potri(f); !ok {
		return nil, false
	}
	for i := range K { // mirror the upper triangle
		for j := range i {
			c[i*K+j] = c[j*K+i]
		}
	}
	return c, true
}
