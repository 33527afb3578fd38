package features

import (
	"runtime"

	"golang.org/x/sync/errgroup"

	"grouprank/data"
)

// Parts joins what the parts of a sharded job compute, each from its own
// groups (whole blocks: data.PartOf) and their events, into what one
// process computes from all of them, with the same bits. Every part makes the
// same calls in the same order. Once a call fails, every later one returns
// its error at once, and the results are not to be used (Err says so).
type Parts interface {
	// SumBlocks hands the other parts this part's block sums (sums[b], of
	// width values; nil for a block it holds no group of) and returns
	// every block's (nil for one no part holds a group of).
	SumBlocks(width int, sums [][]float64) ([][]float64, error)
	// AddInts sets xs to their sums over the parts, element by element.
	AddInts(xs []int64) error
	// MinInts sets xs to their smallest values over the parts.
	MinInts(xs []int64) error
	// Err is the first call's error, nil while none failed.
	Err() error
}

// GroupBlocks lists the dense group indices of each of the data.Blocks
// blocks, in increasing order (the groups' id order): block b's are
// G[At[b]:At[b+1]]. Parts, when not nil, joins the sums of this part's
// blocks with the other parts'.
type GroupBlocks struct {
	At    []int32
	G     []int32
	Parts Parts
}

// Of is block b's groups.
func (gb *GroupBlocks) Of(b int) []int32 { return gb.G[gb.At[b]:gb.At[b+1]] }

// Blocks sorts the groups into their blocks (data.BlockOf of their ids),
// joined with the other parts' by g.Parts.
func (g *Groups) Blocks() *GroupBlocks {
	gb := NewGroupBlocks(len(g.IDs), func(x int) int { return data.BlockOf(g.IDs[x]) })
	gb.Parts = g.Parts
	return gb
}

// NewGroupBlocks sorts the indices 0..n-1 into the blocks blockOf gives
// them, each block's in increasing order: the groups of one block, or the
// rows (examples, pushes) of the groups of one block.
func NewGroupBlocks(n int, blockOf func(x int) int) *GroupBlocks {
	gb := &GroupBlocks{At: make([]int32, data.Blocks+1), G: make([]int32, n)}
	of := make([]uint16, n)
	for x := range n {
		b := blockOf(x)
		of[x] = uint16(b)
		gb.At[b+1]++
	}
	for b := range data.Blocks {
		gb.At[b+1] += gb.At[b]
	}
	next := make([]int32, data.Blocks)
	copy(next, gb.At)
	for x, b := range of {
		gb.G[next[b]] = int32(x)
		next[b]++
	}
	return gb
}

// sumChunk is how many blocks SumBlocks works on at once: their sums are
// held side by side until they are added in order.
const sumChunk = 64

// SumBlocks adds up, in dst (width values), what part writes for every
// non-empty block: part(b, rows, acc) adds block b's contribution into acc
// (width values, zeroed), and the blocks' sums are added into dst in block
// order. The blocks run on up to workers goroutines (0: one per core); the
// result has the same bits whatever their number, and, with Parts, whatever
// the parts of a sharded job that each sum their own blocks.
func (gb *GroupBlocks) SumBlocks(dst []float64, workers int, part func(b int, rows []int32, acc []float64)) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	width := len(dst)
	if gb.Parts != nil {
		gb.sumParts(dst, workers, part)
		return
	}
	sums := make([]float64, sumChunk*width)
	for lo := 0; lo < data.Blocks; lo += sumChunk {
		hi := min(data.Blocks, lo+sumChunk)
		var eg errgroup.Group
		eg.SetLimit(workers)
		for b := lo; b < hi; b++ {
			if rows := gb.Of(b); len(rows) > 0 {
				eg.Go(func() error {
					acc := sums[(b-lo)*width : (b-lo+1)*width]
					clear(acc)
					part(b, rows, acc)
					return nil
				})
			}
		}
		eg.Wait() //nolint:errcheck // the blocks return no error
		for b := lo; b < hi; b++ {
			if gb.At[b] == gb.At[b+1] {
				continue
			}
			for j, x := range sums[(b-lo)*width : (b-lo+1)*width] {
				dst[j] += x
			}
		}
	}
}

// partsStepBytes bounds the block sums one step of sumParts joins (every
// part's, held at once by each part): a wide sum (the L2 tastes' cell sums,
// tens of thousands of values a block) takes several steps.
var partsStepBytes = 64 << 20

// sumParts is SumBlocks with Parts: this part's blocks' sums, every
// block's from Parts, added in block order, a run of blocks at a time.
func (gb *GroupBlocks) sumParts(dst []float64, workers int, part func(b int, rows []int32, acc []float64)) {
	width := len(dst)
	run := max(1, partsStepBytes/(8*max(width, 1)))
	for lo := 0; lo < data.Blocks; lo += run {
		hi := min(data.Blocks, lo+run)
		own := make([][]float64, data.Blocks)
		if gb.Parts.Err() == nil {
			var eg errgroup.Group
			eg.SetLimit(workers)
			for b := lo; b < hi; b++ {
				if rows := gb.Of(b); len(rows) > 0 {
					own[b] = make([]float64, width)
					eg.Go(func() error {
						part(b, rows, own[b])
						return nil
					})
				}
			}
			eg.Wait() //nolint:errcheck // the blocks return no error
		}
		all, err := gb.Parts.SumBlocks(width, own)
		if err != nil {
			return // the results are not used (Parts.Err)
		}
		for _, s := range all[lo:hi] {
			for j, x := range s {
				dst[j] += x
			}
		}
	}
}

// addCounts sets every value of f32 and f64, whole numbers, to its sum over
// the parts (exact: as integers); nothing without parts.
func addCounts(p Parts, f32 [][]float32, f64 [][]float64) {
	if p == nil {
		return
	}
	var n int
	for _, x := range f32 {
		n += len(x)
	}
	for _, x := range f64 {
		n += len(x)
	}
	buf := make([]int64, 0, n)
	for _, x := range f32 {
		for _, v := range x {
			buf = append(buf, int64(v))
		}
	}
	for _, x := range f64 {
		for _, v := range x {
			buf = append(buf, int64(v))
		}
	}
	if p.AddInts(buf) != nil {
		return // the results are not used (Parts.Err)
	}
	for _, x := range f32 {
		for k := range x {
			x[k], buf = float32(buf[0]), buf[1:]
		}
	}
	for _, x := range f64 {
		for k := range x {
			x[k], buf = float64(buf[0]), buf[1:]
		}
	}
}

// addExact sets every sum of xs to its sum over the parts; nothing without
// parts.
func addExact(p Parts, xs ...[]exactSum) {
	if p == nil {
		return
	}
	var buf []int64
	for _, x := range xs {
		for k := range x {
			x[k].norm()
			buf = append(buf, x[k].units, x[k].frac)
		}
	}
	if p.AddInts(buf) != nil {
		return // the results are not used (Parts.Err)
	}
	for _, x := range xs {
		for k := range x {
			x[k] = exactSum{units: buf[0], frac: buf[1]}
			x[k].norm()
			buf = buf[2:]
		}
	}
}
