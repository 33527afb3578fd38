package train

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"grouprank/features"
)

// TestCompactRoundTrip: rows read back bit for bit, across blocks, in the
// block being filled, whatever mix of float32-exact, repeated and other
// values a column holds in each block (NaN, -0 and infinities included),
// each column takes the smallest form, and the rows take less room than
// float64 rows.
func TestCompactRoundTrip(t *testing.T) {
	const d = 6
	r := rand.New(rand.NewPCG(1, 2))
	n := 2*compactRows + 77
	want := make([]float64, n*d)
	c := NewCompact(d)
	for k := range n {
		row := want[k*d : (k+1)*d]
		row[0] = float64(r.IntN(50))                                     // counts: exact
		row[1] = float64(float32(r.NormFloat64()))                       // computed in float32: exact
		row[2] = math.Log1p(r.Float64())                                 // not exact
		row[3] = float64(float32(r.Float64()))                           // exact except in the second block
		row[4] = []float64{0, math.Copysign(0, -1), math.Inf(1), 1}[k%4] // exact
		row[5] = math.Log(float64(2 + r.IntN(1000)))                     // not exact, 1000 values
		if k/compactRows == 1 && k%1000 == 0 {
			row[3] = math.Pi
		}
		if k == 3 {
			row[0] = math.NaN()
		}
		c.Add(row)
	}
	if c.Len() != n {
		t.Fatalf("Len %d, want %d", c.Len(), n)
	}
	buf := make([]float64, d)
	for k := range n {
		got := c.Row(k, buf)
		for j := range d {
			if math.Float64bits(got[j]) != math.Float64bits(want[k*d+j]) {
				t.Fatalf("row %d column %d: %v, want %v", k, j, got[j], want[k*d+j])
			}
			if a := c.At(k, j); math.Float64bits(a) != math.Float64bits(want[k*d+j]) {
				t.Fatalf("At(%d, %d): %v, want %v", k, j, a, want[k*d+j])
			}
		}
	}
	if len(c.blocks) != 2 {
		t.Fatalf("%d full blocks, want 2", len(c.blocks))
	}
	// Counts (a NaN among them) and four values: uint8 indices; the logs of
	// 1000 values: uint16 indices; float32 values: float32; other logs:
	// float64; column 3 is float32 but for the second block's few Pis.
	for b, want := range [][4][]int{{{1, 3}, {0, 4}, {5}, {2}}, {{1}, {0, 4}, {5}, {2, 3}}} {
		blk := c.blocks[b]
		if !slices.Equal(blk.narrow, want[0]) || !slices.Equal(blk.small, want[1]) || !slices.Equal(blk.coded, want[2]) || !slices.Equal(blk.wide, want[3]) {
			t.Errorf("block %d holds %v as float32, %v as uint8 and %v as uint16 indices, %v as float64; want %v",
				b, blk.narrow, blk.small, blk.coded, blk.wide, want)
		}
	}
	// The same rows as blocks encoded apart (Examples does so on every core)
	// and the rows after them: the same blocks and the same rows.
	apart := NewCompact(d)
	apart.setBlocks([]compactBlock{encodeBlock(want[:compactRows*d], d), encodeBlock(want[compactRows*d:2*compactRows*d], d)},
		slices.Clone(want[2*compactRows*d:]), n)
	for b := range c.blocks {
		x, y := c.blocks[b], apart.blocks[b]
		if !slices.Equal(x.narrow, y.narrow) || !slices.Equal(x.small, y.small) || !slices.Equal(x.coded, y.coded) ||
			!slices.Equal(x.f32, y.f32) || !slices.Equal(x.idx, y.idx) || !slices.Equal(x.idx8, y.idx8) || len(x.f64) != len(y.f64) {
			t.Fatalf("block %d encoded apart differs from the one Add filled", b)
		}
	}
	for k := range n {
		got := apart.Row(k, buf)
		for j := range d {
			if math.Float64bits(got[j]) != math.Float64bits(want[k*d+j]) {
				t.Fatalf("blocks encoded apart, row %d column %d: %v, want %v", k, j, got[j], want[k*d+j])
			}
		}
	}
	full := int64(2 * compactRows * d * 8) // the two full blocks' rows as float64
	// 4+4+8+1+1+2 bytes a row of 48, and the dictionaries.
	if held := c.Bytes() - int64(cap(c.pending))*8; held >= full*22/48+int64(2*8*(1000+60)) {
		t.Errorf("%d bytes for rows that take %d as float64", held, full)
	}
}

// TestFitOnCompact: the logistic fit on Compact rows is the fit on the same
// rows held as float64, to the bit.
func TestFitOnCompact(t *testing.T) {
	w, b := []float64{0.8, -0.5, 0.2, 0}, -1.0
	X, y := simulated(3*compactRows/2, w, b, 3)
	for k := 0; k < len(y); k++ { // a count column and a float32 one beside the float64 ones
		X[k*len(w)+1] = float64(k % 7)
		X[k*len(w)+3] = float64(float32(X[k*len(w)+3]))
	}
	c := NewCompact(len(w))
	for k := range y {
		c.Add(X[k*len(w) : (k+1)*len(w)])
	}
	all := func(int) float64 { return 1 }
	cfg := LogisticConfig{L2: 0.1, Iterations: 30, Tolerance: 1e-8}
	want, err := FitLogistic(context.Background(), Dense{X: X, D: len(w)}, y, all, cfg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := FitLogistic(context.Background(), c, y, all, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for j := range w {
		if got.W[j] != want.W[j] {
			t.Fatalf("weight %d: %v on Compact rows, %v on float64 rows", j, got.W[j], want.W[j])
		}
	}
	if got.Bias != want.Bias {
		t.Fatalf("bias: %v on Compact rows, %v on float64 rows", got.Bias, want.Bias)
	}
}

// TestInBlockOrder: the rows sorted by block, each block's in their order,
// and each given row's new position.
func TestInBlockOrder(t *testing.T) {
	rows := []int32{3, 5, 8, 9, 12, 20, 21, 40}
	blockOf := func(e int32) int { return []int{7, 2, 7, 0, 2, 4095, 0, 2}[slices.Index(rows, e)] }
	sorted, moved, blocks := inBlockOrder(rows, blockOf)
	if want := []int32{9, 21, 5, 12, 40, 3, 8, 20}; !slices.Equal(sorted, want) {
		t.Fatalf("sorted %v, want %v", sorted, want)
	}
	for k, e := range rows {
		if sorted[moved[k]] != e {
			t.Errorf("row %d moved to %d, which holds %d", e, moved[k], sorted[moved[k]])
		}
	}
	// the blocks of the sorted rows, as NewGroupBlocks finds them
	want := features.NewGroupBlocks(len(sorted), func(k int) int { return blockOf(sorted[k]) })
	if !slices.Equal(blocks.At, want.At) || !slices.Equal(blocks.G, want.G) {
		t.Errorf("blocks %v %v, want %v %v", blocks.At[:9], blocks.G, want.At[:9], want.G)
	}
}
