package pref

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"grouprank/train"
)

// itemItem builds the items x items scoring matrix S of an item-item method
// (row-major, float32): a group's score is its scoring row times S.
func itemItem(ctx context.Context, d *Data, cfg Config) ([]float32, error) {
	x := stacked(d, cfg.MemberRows, cfg.PushWeight, 0)
	n := d.Items
	switch cfg.Method {
	case MethodItemKNN:
		return Cosine(gram(x, nil), n), ctx.Err()
	case MethodEASE:
		if cfg.Lambda <= 0 {
			return nil, fmt.Errorf("pref: ease needs lambda > 0")
		}
		g := gram(x, nil)
		var diag float64
		for i := range n {
			diag += g[i*n+i]
		}
		diag /= float64(n)
		return EASE(g, n, cfg.Lambda*math.Max(diag, 1e-9))
	case MethodGraph:
		return GraphFilter(x, cfg.Order2), ctx.Err()
	}
	return nil, fmt.Errorf("pref: %q is not an item-item method", cfg.Method)
}

// gram is XᵀWX (float64, row-major), W the diagonal of row weights rowW (nil: 1).
func gram(x *train.Interactions, rowW []float64) []float64 {
	n := x.Cols
	g := make([]float64, n*n)
	for r := range x.Rows {
		cols, ws := x.Row(r)
		f := 1.0
		if rowW != nil {
			f = rowW[r]
		}
		for a, i := range cols {
			wa := f * float64(ws[a])
			gi := g[int(i)*n : (int(i)+1)*n]
			for b, j := range cols {
				gi[j] += wa * float64(ws[b])
			}
		}
	}
	return g
}

// Cosine turns a Gram matrix into cosine similarities with a zero diagonal.
func Cosine(g []float64, n int) []float32 {
	s := make([]float32, n*n)
	for i := range n {
		for j := range n {
			if i != j && g[i*n+i] > 0 && g[j*n+j] > 0 {
				s[i*n+j] = float32(g[i*n+j] / math.Sqrt(g[i*n+i]*g[j*n+j]))
			}
		}
	}
	return s
}

// EASE solves Steck's "Embarrassingly Shallow Autoencoders" (WWW 2019) in
// closed form from the Gram matrix g (n x n, row-major) and the absolute L2
// penalty lambda: P = (G + lambda I)^-1, B_ji = -P_ji / P_ii, B_ii = 0. The
// result is row-major with S[j*n+i] = B_ji, the weight of past item j in
// item i's score.
func EASE(g []float64, n int, lambda float64) ([]float32, error) {
	a := mat.NewSymDense(n, nil)
	for i := range n {
		for j := i; j < n; j++ {
			v := g[i*n+j]
			if i == j {
				v += lambda
			}
			a.SetSym(i, j, v)
		}
	}
	var ch mat.Cholesky
	if !ch.Factorize(a) {
		return nil, fmt.Errorf("pref: ease: the penalised Gram matrix is not positive definite (lambda %g)", lambda)
	}
	var p mat.SymDense
	if err := ch.InverseTo(&p); err != nil {
		return nil, fmt.Errorf("pref: ease: %w", err)
	}
	s := make([]float32, n*n)
	for j := range n {
		for i := range n {
			if i != j {
				s[j*n+i] = float32(-p.At(j, i) / p.At(i, i))
			}
		}
	}
	return s, nil
}

// GraphFilter is a training-free low-pass filter on the item-item graph, in
// the spirit of GF-CF (Shen et al., CIKM 2021) and Group-GF (WWW 2025): with
// R̃ = D_r^-1/2 X D_c^-1/2 (row and column degrees of the stacked rows X) and
// P = R̃ᵀR̃, S = P + order2 P² (row-major).
func GraphFilter(x *train.Interactions, order2 float64) []float32 {
	n := x.Cols
	rowW := make([]float64, x.Rows)
	col := make([]float64, n)
	for r := range x.Rows {
		_, ws := x.Row(r)
		var d float64
		for _, w := range ws {
			d += float64(w)
		}
		if d > 0 {
			rowW[r] = 1 / d
		}
	}
	for k, c := range x.Col {
		col[c] += float64(x.W[k])
	}
	g := gram(x, rowW)
	for i := range n {
		for j := range n {
			if col[i] > 0 && col[j] > 0 {
				g[i*n+j] /= math.Sqrt(col[i] * col[j])
			}
		}
	}
	s := make([]float32, n*n)
	if order2 == 0 {
		for k, v := range g {
			s[k] = float32(v)
		}
		return s
	}
	p := mat.NewDense(n, n, g)
	var p2 mat.Dense
	p2.Mul(p, p)
	for i := range n {
		for j := range n {
			s[i*n+j] = float32(g[i*n+j] + order2*p2.At(i, j))
		}
	}
	return s
}
