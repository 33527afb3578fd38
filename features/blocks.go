package features

import (
	"runtime"

	"golang.org/x/sync/errgroup"

	"grouprank/data"
)

// GroupBlocks lists the dense group indices of each of the data.Blocks
// blocks, in increasing order (the groups' id order): block b's are
// G[At[b]:At[b+1]].
type GroupBlocks struct {
	At []int32
	G  []int32
}

// Of is block b's groups.
func (gb *GroupBlocks) Of(b int) []int32 { return gb.G[gb.At[b]:gb.At[b+1]] }

// Blocks sorts the groups into their blocks (data.BlockOf of their ids).
func (g *Groups) Blocks() *GroupBlocks {
	return NewGroupBlocks(len(g.IDs), func(x int) int { return data.BlockOf(g.IDs[x]) })
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
// result has the same bits whatever their number, and whatever the parts
// of a sharded job that compute some blocks' sums each, as long as the
// blocks' sums are then added in block order.
func (gb *GroupBlocks) SumBlocks(dst []float64, workers int, part func(b int, rows []int32, acc []float64)) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	width := len(dst)
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
