package train

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"grouprank/features"
)

// LogisticConfig sets the L2-regularised logistic regression.
type LogisticConfig struct {
	// Poisson fits a log-linear count model (mean exp(b + w.x)) instead of a
	// logistic one, by the same Newton steps.
	Poisson    bool
	L2         float64 // penalty on the standardised weights (not the bias)
	Iterations int     // Newton (IRLS) steps at most
	Tolerance  float64 // stop when the largest step is below this
}

// DefaultLogisticConfig: L2 1, up to 25 Newton steps, tolerance 1e-6.
func DefaultLogisticConfig() LogisticConfig {
	return LogisticConfig{L2: 1, Iterations: 25, Tolerance: 1e-6}
}

// Logistic is a fitted model on raw features: logit = Bias + W . x.
type Logistic struct {
	W          []float64
	Bias       float64
	Iterations int
	Mean, Std  []float64 // the standardisation it was fitted with
}

// FitLogistic fits y ~ sigmoid(b + w.x) on the rows of X, row n weighted by
// weight(n) (0 leaves it out), by Newton's method on standardised features
// with a Cholesky solve (gonum) at each step. The result depends only on the
// data: no randomness. Its sums run over the rows in order, on one core;
// FitLogisticBlocks sums them in blocks, on every core.
func FitLogistic(ctx context.Context, X Rows, y []float64, weight func(n int) float64, cfg LogisticConfig) (*Logistic, error) {
	return FitLogisticBlocks(ctx, X, y, weight, oneBlock(len(y)), 1, cfg)
}

// oneBlock is n rows in their order as one block.
func oneBlock(n int) *features.GroupBlocks {
	return features.NewGroupBlocks(n, func(int) int { return 0 })
}

// newtonSums adds into acc what the rows give one Newton pass at beta
// (standardised by mean and std): the gradient (D = len(beta) values), the
// Hessian's upper triangle (D x D, row-major) and the loss, each value's
// terms added one row after another, in the rows' order. The Hessian takes
// four rows' terms at a time, each element's added in their order (the same
// bits as one row at a time, in a quarter of the loads and stores).
func newtonSums[L Label](X Rows, rows []int32, y []L, weight func(n int) float64, beta, mean, std []float64, poisson bool, acc []float64) {
	const batch = 4
	D := len(beta)
	d := D - 1
	buf := make([]float64, d)
	zs := make([]float64, batch*D) // the batch's standardised rows (with the bias's 1)
	var wgt [batch]float64         // their Hessian weights
	g, hess := acc[:D:D], acc[D:D+D*D:D+D*D]
	mean, std = mean[:d:d], std[:d:d]
	var loss float64 // the block's, from 0 (acc[D+D*D] is 0 on entry)
	n := 0
	// add adds the batch's n rows' terms to the Hessian.
	add := func(n int) {
		for a := range D {
			h := hess[a*D+a : a*D+D]
			if n == batch {
				z0, z1, z2, z3 := zs[a:D], zs[D+a:2*D], zs[2*D+a:3*D], zs[3*D+a:4*D]
				f0, f1, f2, f3 := wgt[0]*z0[0], wgt[1]*z1[0], wgt[2]*z2[0], wgt[3]*z3[0]
				if f0 != 0 && f1 != 0 && f2 != 0 && f3 != 0 {
					z0, z1, z2, z3 = z0[:len(h)], z1[:len(h)], z2[:len(h)], z3[:len(h)]
					for b := range h {
						x := h[b] + float64(f0*z0[b])
						x += float64(f1 * z1[b])
						x += float64(f2 * z2[b])
						h[b] = x + float64(f3*z3[b])
					}
					continue
				}
			}
			for k := range n { // a row whose term is 0 adds nothing, as alone
				zk := zs[k*D+a : (k+1)*D]
				f := wgt[k] * zk[0]
				if f == 0 {
					continue
				}
				zk = zk[:len(h)]
				for b := range h {
					h[b] += float64(f * zk[b])
				}
			}
		}
	}
	for _, r32 := range rows {
		r := int(r32)
		wr := weight(r)
		if wr <= 0 {
			continue
		}
		row := X.Row(r, buf)[:d]
		z := zs[n*D : (n+1)*D]
		s := beta[d]
		for j, v := range row {
			zj := (v - mean[j]) / std[j]
			z[j] = zj
			s += beta[j] * zj
		}
		z[d] = 1
		var p float64
		if poisson {
			p = math.Exp(math.Min(s, 30))
			wgt[n] = wr * math.Max(p, 1e-10)
			loss += wr * (p - float64(y[r])*s)
		} else {
			p = 1 / (1 + math.Exp(-s))
			wgt[n] = wr * math.Max(p*(1-p), 1e-10)
			loss += wr * (softplus(s) - float64(y[r])*s)
		}
		rs := wr * (float64(y[r]) - p)
		for a, za := range z {
			g[a] += rs * za
		}
		if n++; n == batch {
			add(n)
			n = 0
		}
	}
	add(n)
	acc[D+D*D] = loss
}

// Label is a fit's label type: float32 holds 0/1 labels and counts exactly
// in half the room (the conversion examples' columns), and each is read as
// its float64 value.
type Label interface{ float32 | float64 }

// FitLogisticBlocks is FitLogistic with every sum over the rows taken in
// blocks (features.GroupBlocks.SumBlocks: each block's rows in order, the
// blocks' sums added in block order) on up to workers goroutines (0: one per
// core): the rows of the groups of each data.Blocks block, the same fit
// whatever the number of cores, or of the parts of a sharded job summing
// their own blocks.
func FitLogisticBlocks[L Label](ctx context.Context, X Rows, y []L, weight func(n int) float64, blocks *features.GroupBlocks,
	workers int, cfg LogisticConfig) (*Logistic, error) {
	d := X.Width()
	// The weights' sum, the rows kept, then the columns' weighted sums
	// and sums of squares.
	first := make([]float64, 2+2*d)
	blocks.SumBlocks(first, workers, func(_ int, rows []int32, acc []float64) {
		buf := make([]float64, d)
		mean, sq := acc[2:2+d], acc[2+d:]
		for _, r32 := range rows {
			r := int(r32)
			wr := weight(r)
			if wr <= 0 {
				continue
			}
			acc[0] += wr
			acc[1]++
			for j, v := range X.Row(r, buf) {
				mean[j] += wr * v
				sq[j] += wr * v * v
			}
		}
	})
	m, rows := first[0], first[1]
	mean, std := first[2:2+d], first[2+d:]
	if rows < 2 {
		return nil, fmt.Errorf("logistic regression: %v examples, need at least 2", rows)
	}
	for j := range d {
		mean[j] /= m
		std[j] = math.Sqrt(math.Max(std[j]/m-mean[j]*mean[j], 0))
		if std[j] < 1e-9 {
			std[j] = 1 // a constant column: its weight stays at 0 through the penalty
		}
	}
	name := "logistic regression"
	if cfg.Poisson {
		name = "Poisson regression"
	}
	D := d + 1 // last coefficient: bias
	beta := make([]float64, D)
	if cfg.Poisson { // start at the mean count, where Newton's method is safe
		sy := make([]float64, 1)
		blocks.SumBlocks(sy, workers, func(_ int, rows []int32, acc []float64) {
			for _, r := range rows {
				acc[0] += weight(int(r)) * float64(y[r])
			}
		})
		beta[d] = math.Log(math.Max(sy[0]/m, 1e-6))
	}
	H := mat.NewSymDense(D, nil)
	// Each pass's sums: the gradient (D), the Hessian's upper triangle
	// (D x D, row-major) and the loss.
	sums := make([]float64, D+D*D+1)
	g, hess := sums[:D], sums[D:D+D*D]
	// Each pass computes the penalised loss beside the gradient and Hessian.
	// A full Newton step that made the loss clearly worse (it can overshoot
	// into rows whose mean explodes, as the Poisson fit does on small
	// worlds) is taken back and halved before anything is solved again, so
	// the line search costs no extra pass while every step is accepted.
	prev := make([]float64, D)
	last := make([]float64, D) // the step that led from prev to beta
	prevLoss := math.Inf(1)
	rejected := false // the last pass took a step back: beta is untried
	it := 0
	for it = 1; it <= cfg.Iterations; it++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		clear(sums)
		blocks.SumBlocks(sums, workers, func(_ int, rows []int32, acc []float64) {
			newtonSums(X, rows, y, weight, beta, mean, std, cfg.Poisson, acc)
		})
		loss := sums[D+D*D]
		for a := range d {
			loss += cfg.L2 / 2 * beta[a] * beta[a]
		}
		if math.IsNaN(loss) || loss > prevLoss+1e-9*math.Abs(prevLoss) {
			// Worse than where the step began: go half as far.
			for a := range D {
				last[a] /= 2
				beta[a] = prev[a] + last[a]
			}
			rejected = true
			continue
		}
		rejected = false
		prevLoss = loss
		copy(prev, beta)
		for a := range D {
			if a < d {
				g[a] -= cfg.L2 * beta[a]
				hess[a*D+a] += cfg.L2
			}
			for b := a; b < D; b++ {
				H.SetSym(a, b, hess[a*D+b])
			}
		}
		var ch mat.Cholesky
		if ok := ch.Factorize(H); !ok {
			return nil, fmt.Errorf("%s: Hessian not positive definite at step %d", name, it)
		}
		var step mat.VecDense
		if err := ch.SolveVecTo(&step, mat.NewVecDense(D, g)); err != nil {
			return nil, fmt.Errorf("%s: step %d: %w", name, it, err)
		}
		var largest float64
		for a := range D {
			last[a] = step.AtVec(a)
			beta[a] += last[a]
			largest = math.Max(largest, math.Abs(last[a]))
		}
		if largest < cfg.Tolerance {
			break
		}
	}
	if rejected { // out of steps after one went back: the last point whose loss is known
		copy(beta, prev)
	}
	out := &Logistic{W: make([]float64, d), Bias: beta[d], Iterations: min(it, cfg.Iterations), Mean: mean, Std: std}
	for j := range d {
		out.W[j] = beta[j] / std[j]
		out.Bias -= beta[j] * mean[j] / std[j]
	}
	return out, nil
}

// softplus is log(1 + e^s) without overflow.
func softplus(s float64) float64 {
	if s > 0 {
		return s + math.Log1p(math.Exp(-s))
	}
	return math.Log1p(math.Exp(s))
}

// Logit is b + w.x on raw features.
func (l *Logistic) Logit(x []float64) float64 {
	s := l.Bias
	for j, w := range l.W {
		s += w * x[j]
	}
	return s
}
