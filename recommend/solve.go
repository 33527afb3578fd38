package recommend

import (
	"math"

	"github.com/viterin/vek/vek32"
)

// Factors are K-dimensional vectors stored row after row in one flat slice.
type Factors struct {
	K int
	V []float32
}

// Rows is the number of vectors.
func (f *Factors) Rows() int { return len(f.V) / f.K }

// Row returns vector i (a view).
func (f *Factors) Row(i int) []float32 { return f.V[i*f.K : (i+1)*f.K] }

// Gram returns FᵀF (K x K, row-major).
func Gram(f *Factors) []float32 {
	k := f.K
	g := make([]float32, k*k)
	n := f.Rows()
	const block = 256
	tmp := make([]float64, k*k)
	for start := 0; start < n; start += block {
		end := min(n, start+block)
		for r := start; r < end; r++ {
			v := f.Row(r)
			for a := range k {
				va := float64(v[a])
				if va == 0 {
					continue
				}
				row := tmp[a*k : (a+1)*k]
				for b := a; b < k; b++ {
					row[b] += va * float64(v[b])
				}
			}
		}
	}
	for a := range k {
		for b := a; b < k; b++ {
			g[a*k+b] = float32(tmp[a*k+b])
			g[b*k+a] = float32(tmp[a*k+b])
		}
	}
	return g
}

// RowProblem is one side of implicit ALS with a global negative weight
// (Rendle et al. 2021): for a row with observed columns j and weights w_j it
// minimises sum_j w_j (x.v_j - 1)^2 + Alpha0 sum_all (x.v)^2 + lambda_x |x|^2,
// whose normal equations are
//
//	(Alpha0 G + sum_j w_j v_j v_jᵀ + lambda_x I) x = sum_j w_j v_j,
//
// with G the Gram matrix of the other side and the frequency-scaled
// regularisation lambda_x = Lambda * (n_x + Alpha0 * Cols)^Nu.
type RowProblem struct {
	Other  *Factors  // the frozen side (items when solving groups)
	Gram   []float32 // Gram(Other)
	Alpha0 float32
	Lambda float32
	Nu     float32
	Cols   int // rows of Other (|I| when solving groups)
}

// Reg is lambda_x for a row with n observed columns.
func (p *RowProblem) Reg(n int) float32 {
	return p.Lambda * float32(math.Pow(float64(n)+float64(p.Alpha0)*float64(p.Cols), float64(p.Nu)))
}

// Scratch holds a solver's work vectors; one per goroutine.
type Scratch struct{ r, d, ad, tmp, t2 []float32 }

// NewScratch makes work vectors for dimension k.
func NewScratch(k int) *Scratch {
	return &Scratch{make([]float32, k), make([]float32, k), make([]float32, k), make([]float32, k), make([]float32, k)}
}

// mul sets out = A x for the row's matrix A; t is scratch of length K.
func (p *RowProblem) mul(out, x []float32, obs []int32, w []float32, reg float32, t []float32) {
	k := p.Other.K
	for a := range k {
		out[a] = p.Alpha0*vek32.Dot(p.Gram[a*k:(a+1)*k], x) + reg*x[a]
	}
	for n, j := range obs {
		v := p.Other.Row(int(j))
		vek32.MulNumber_Into(t, v, w[n]*vek32.Dot(v, x))
		vek32.Add_Inplace(out, t)
	}
}

// Solve improves x (warm start: the row's previous vector) by steps of
// conjugate gradients on the row's normal equations. steps = K solves exactly
// up to rounding.
func (p *RowProblem) Solve(x []float32, obs []int32, w []float32, steps int, s *Scratch) {
	reg := p.Reg(len(obs))
	// r = b - A x
	p.mul(s.tmp, x, obs, w, reg, s.t2)
	for a := range s.r {
		s.r[a] = -s.tmp[a]
	}
	for n, j := range obs {
		v := p.Other.Row(int(j))
		for a, va := range v {
			s.r[a] += w[n] * va
		}
	}
	copy(s.d, s.r)
	rr := vek32.Dot(s.r, s.r)
	for range steps {
		if rr < 1e-20 {
			return
		}
		p.mul(s.ad, s.d, obs, w, reg, s.t2)
		dad := vek32.Dot(s.d, s.ad)
		if dad <= 0 {
			return
		}
		alpha := rr / dad
		vek32.MulNumber_Into(s.tmp, s.d, alpha)
		vek32.Add_Inplace(x, s.tmp)
		vek32.MulNumber_Into(s.tmp, s.ad, alpha)
		vek32.Sub_Inplace(s.r, s.tmp)
		rr2 := vek32.Dot(s.r, s.r)
		beta := rr2 / rr
		rr = rr2
		vek32.MulNumber_Inplace(s.d, beta)
		vek32.Add_Inplace(s.d, s.r)
	}
}

// FoldIn gives a row (a new group, or one with new orders) its vector from the
// frozen other side: the same equations training solves, to convergence.
func (p *RowProblem) FoldIn(obs []int32, w []float32) []float32 {
	x := make([]float32, p.Other.K)
	p.Solve(x, obs, w, 2*p.Other.K, NewScratch(p.Other.K))
	return x
}
