package recommend

import (
	"math"
	"runtime"

	"github.com/viterin/vek/vek32"
	"golang.org/x/sync/errgroup"
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

// dotBlock is how many rows one matrix-vector call covers: few enough
// (rows x K under vek's 100,000, for the lengths dotRows leaves to vek) that
// vek does not split the call across goroutines, so one request stays on
// one core and many requests share the cores; the block's dots are still in
// L1 when a caller scans them, and its rows in L2 for a batch's vectors.
const dotBlock = 1024

// DotInto writes the dot product of v with every row into dst (len Rows())
// on the calling goroutine. each, when not nil, sees every block's dots as
// soon as they are written: lo is the block's first row.
func (f *Factors) DotInto(dst, v []float32, each func(lo int, dots []float32)) {
	n := f.Rows()
	for lo := 0; lo < n; lo += dotBlock {
		hi := min(n, lo+dotBlock)
		dotRows(dst[lo:hi], f.V[lo*f.K:hi*f.K], v)
		if each != nil {
			each(lo, dst[lo:hi])
		}
	}
}

// DotsInto writes, for every vector vecs[g], its dot product with every row
// into dsts[g] (len Rows()), block by block: each block of rows is read
// from memory once for all the vectors and stays in cache while they use
// it, so a batch job's cost per group is not the memory bandwidth's.
func (f *Factors) DotsInto(dsts, vecs [][]float32) {
	n := f.Rows()
	for lo := 0; lo < n; lo += dotBlock {
		hi := min(n, lo+dotBlock)
		block := f.V[lo*f.K : hi*f.K]
		for g, v := range vecs {
			dotRows(dsts[g][lo:hi], block, v)
		}
	}
}

// Gather copies vector rows[n] to dst[n*K:(n+1)*K] for every n: the rows
// are scattered through memory, so they are fetched a few ahead of the copy
// (on amd64 with AVX2).
func (f *Factors) Gather(dst []float32, rows []int32) { gatherRows(dst, f.V, f.K, rows) }

// Gram returns FᵀF (K x K, row-major).
func Gram(f *Factors) []float32 {
	k := f.K
	g := make([]float32, k*k)
	// The upper triangle's rows are split between the workers by their
	// work (row a has k-a entries); each entry is summed over the vectors
	// in their order, in float64, by one worker: the same bits whatever the
	// number of workers.
	workers := max(1, min(runtime.GOMAXPROCS(0), k))
	if f.Rows() < 4096 {
		workers = 1
	}
	cut := make([]int, 0, workers+1)
	cut = append(cut, 0)
	total, done := k*(k+1)/2, 0
	for a := range k {
		done += k - a
		if len(cut) < workers && done*workers >= len(cut)*total {
			cut = append(cut, a+1)
		}
	}
	cut = append(cut, k)
	tmp := make([]float64, k*k)
	var eg errgroup.Group
	for t := 0; t+1 < len(cut); t++ {
		eg.Go(func() error { gramRows(f, cut[t], cut[t+1], tmp); return nil })
	}
	eg.Wait()
	for a := range k {
		for b := a; b < k; b++ {
			g[a*k+b] = float32(tmp[a*k+b])
			g[b*k+a] = float32(tmp[a*k+b])
		}
	}
	return g
}

// gramRows adds, for a in [lo, hi) and b >= a, the products v[a] v[b] of
// every vector of f, in order, into tmp[a*K+b].
func gramRows(f *Factors, lo, hi int, tmp []float64) {
	for r := range f.Rows() {
		gramRow(tmp, f.Row(r), lo, hi)
	}
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
	// GatherLimit bounds the observations of one block of the products
	// (0: DefaultGatherLimit): a row with more (an item everyone buys) sums
	// its products block by block, which decides the bits.
	GatherLimit int
	// HoldLimit bounds the observations a solve gathers once and keeps for
	// all its products (0: HoldBytes of vectors); a row with more is gathered
	// block by block at every product. It changes the work, never the bits.
	HoldLimit int
}

// Reg is lambda_x for a row with n observed columns.
func (p *RowProblem) Reg(n int) float32 {
	return p.Lambda * float32(math.Pow(float64(n)+float64(p.Alpha0)*float64(p.Cols), float64(p.Nu)))
}

// Scratch holds a solver's work vectors; one per goroutine.
type Scratch struct {
	r, d, ad, tmp, t2 []float32
	obs               []float32 // the row's observed vectors, gathered contiguously
	t                 []float32 // per observation
}

// NewScratch makes work vectors for dimension k.
func NewScratch(k int) *Scratch {
	return &Scratch{r: make([]float32, k), d: make([]float32, k), ad: make([]float32, k), tmp: make([]float32, k), t2: make([]float32, k)}
}

// DefaultGatherLimit is 65,536 observations: a 16 MiB block at K = 64.
const DefaultGatherLimit = 65536

// HoldBytes is the most a solve's gathered observations take by default
// (each goroutine's scratch grows to it only for rows that large): 128 MiB,
// 524,288 observations at K = 64. A row between DefaultGatherLimit and it
// is gathered once for all of a solve's products rather than at each (at a
// million groups such rows hold a quarter of the items' observations).
const HoldBytes = 128 << 20

// mul sets out = A x for the row's matrix A:
// out = Alpha0 G x + reg x + sum over blocks of obsᵀ (w o (obs x)), where obs is
// a block of at most limit observed vectors, contiguous in s.obs. A row of at
// most the hold limit was gathered whole by Solve once (ready); a larger one
// is gathered block by block at every product.
func (p *RowProblem) mul(out, x []float32, obs []int32, w []float32, reg float32, limit int, ready bool, s *Scratch) {
	k := p.Other.K
	dotRows(out[:k], p.Gram, x)
	vek32.MulNumber_Inplace(out, p.Alpha0)
	vek32.MulNumber_Into(s.t2, x, reg)
	vek32.Add_Inplace(out, s.t2)
	for start := 0; start < len(obs); start += limit {
		end := min(len(obs), start+limit)
		n := end - start
		var block []float32
		if ready {
			block = s.obs[start*k : end*k]
		} else {
			p.gather(s, obs[start:end])
			block = s.obs[:n*k]
		}
		t := s.t[:n]
		dotRows(t, block, x)
		vek32.Mul_Inplace(t, w[start:end])
		weightedSum(s.t2[:k], t, block)
		vek32.Add_Inplace(out, s.t2)
	}
}

// gather copies the observed vectors into s.obs, growing it as needed.
func (p *RowProblem) gather(s *Scratch, obs []int32) {
	k := p.Other.K
	if cap(s.obs) < len(obs)*k {
		n := max(len(obs), min(2*len(obs), DefaultGatherLimit))
		s.obs, s.t = make([]float32, n*k), make([]float32, n)
	}
	p.Other.Gather(s.obs, obs)
}

// Solve improves x (warm start: the row's previous vector) by steps of
// conjugate gradients on the row's normal equations. steps = K solves exactly
// up to rounding.
func (p *RowProblem) Solve(x []float32, obs []int32, w []float32, steps int, s *Scratch) {
	reg := p.Reg(len(obs))
	limit := p.GatherLimit
	if limit <= 0 {
		limit = DefaultGatherLimit
	}
	hold := p.HoldLimit
	if hold <= 0 {
		hold = HoldBytes / (4 * max(p.Other.K, 1))
	}
	ready := len(obs) <= max(limit, hold)
	if ready {
		p.gather(s, obs)
	}
	mul := func(out, v []float32) { p.mul(out, v, obs, w, reg, limit, ready, s) }
	// r = b - A x
	mul(s.tmp, x)
	for a := range s.r {
		s.r[a] = -s.tmp[a]
	}
	if ready { // the observed vectors, gathered: read in order
		addWeighted(s.r, s.obs, nil, w[:len(obs)])
	} else {
		addWeighted(s.r, p.Other.V, obs, w)
	}
	copy(s.d, s.r)
	rr := vek32.Dot(s.r, s.r)
	for range steps {
		if rr < 1e-20 {
			return
		}
		mul(s.ad, s.d)
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
