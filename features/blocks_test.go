package features

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"grouprank/data"
)

// TestSumBlocks checks that the block sums do not depend on the number of
// goroutines, that they are the blocks' sums added in block order (what the
// parts of a sharded job, each summing its own blocks, add up to), and that
// every group is in the block of its id, in order.
func TestSumBlocks(t *testing.T) {
	const G, W = 20000, 3
	r := rand.New(rand.NewPCG(3, 4))
	ids := make([]data.GroupID, G)
	x := make([]float64, G*W)
	for g := range G {
		ids[g] = data.GroupID(1 + 7*g)
		for j := range W { // magnitudes far apart: the order of the additions shows in the bits
			x[g*W+j] = r.NormFloat64() * math.Pow(10, float64(r.IntN(12)))
		}
	}
	groups := &Groups{IDs: ids}
	gb := groups.Blocks()
	seen := 0
	for b := range data.Blocks {
		of := gb.Of(b)
		seen += len(of)
		if !slices.IsSorted(of) {
			t.Fatalf("block %d not in order: %v", b, of)
		}
		for _, g := range of {
			if data.BlockOf(ids[g]) != b {
				t.Fatalf("group %d (id %d) in block %d, its id's is %d", g, ids[g], b, data.BlockOf(ids[g]))
			}
		}
	}
	if seen != G {
		t.Fatalf("%d groups in the blocks, want %d", seen, G)
	}
	part := func(_ int, rows []int32, acc []float64) {
		for _, g := range rows {
			for j := range W {
				acc[j] += x[int(g)*W+j]
			}
		}
	}
	whole := make([]float64, W)
	gb.SumBlocks(whole, 1, part)
	for _, workers := range []int{2, 7} {
		got := make([]float64, W)
		gb.SumBlocks(got, workers, part)
		if !slices.Equal(got, whole) {
			t.Fatalf("%d goroutines: %v, one: %v", workers, got, whole)
		}
	}
	// Three parts, each summing its blocks (BlockOf mod 3), the block sums
	// then added in block order.
	blockSums := make([][]float64, data.Blocks)
	for p := range 3 {
		for b := p; b < data.Blocks; b += 3 {
			if of := gb.Of(b); len(of) > 0 {
				blockSums[b] = make([]float64, W)
				part(b, of, blockSums[b])
			}
		}
	}
	merged := make([]float64, W)
	for _, s := range blockSums {
		for j, v := range s {
			merged[j] += v
		}
	}
	if !slices.Equal(merged, whole) {
		t.Fatalf("parts' block sums add to %v, the whole's %v", merged, whole)
	}
}
