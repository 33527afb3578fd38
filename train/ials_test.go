package train

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/viterin/vek/vek32"
)

func TestInteractionsMergeAndTranspose(t *testing.T) {
	m := NewInteractions(3, 4, []int32{2, 0, 2, 0}, []int32{1, 3, 1, 0}, []float32{1, 2, 3, 4})
	cols, w := m.Row(2)
	if len(cols) != 1 || cols[0] != 1 || w[0] != 4 {
		t.Fatalf("row 2 %v %v", cols, w)
	}
	cols, w = m.Row(0)
	if len(cols) != 2 || cols[0] != 0 || w[1] != 2 {
		t.Fatalf("row 0 %v %v", cols, w)
	}
	tt := m.Transpose()
	if c, w := tt.Row(1); len(c) != 1 || c[0] != 2 || w[0] != 4 {
		t.Fatalf("transpose %v %v", c, w)
	}
}

// TestInteractionsSumInPlace: the matrix merged in place is, bit for bit,
// the one the earlier construction (sorting an index of each row with
// sort.Slice into fresh arrays) built, on rows with many duplicates whose
// weights sum to different bits in a different order, and on empty and
// one-entry rows.
func TestInteractionsSumInPlace(t *testing.T) {
	reference := func(rows, cols int, r, c []int32, w []float32) *Interactions {
		m := &Interactions{Rows: rows, Cols: cols, Ptr: make([]int64, rows+1)}
		for _, x := range r {
			m.Ptr[x+1]++
		}
		for i := range rows {
			m.Ptr[i+1] += m.Ptr[i]
		}
		col, wt := make([]int32, len(r)), make([]float32, len(r))
		next := append([]int64(nil), m.Ptr[:rows]...)
		for n, x := range r {
			col[next[x]], wt[next[x]] = c[n], w[n]
			next[x]++
		}
		var outCol []int32
		var outW []float32
		newPtr := make([]int64, rows+1)
		for i := range rows {
			var idx []int
			for k := m.Ptr[i]; k < m.Ptr[i+1]; k++ {
				idx = append(idx, int(k))
			}
			sort.Slice(idx, func(a, b int) bool { return col[idx[a]] < col[idx[b]] })
			start := len(outCol)
			for _, k := range idx {
				if n := len(outCol); n > start && col[k] == outCol[n-1] {
					outW[n-1] += wt[k]
					continue
				}
				outCol, outW = append(outCol, col[k]), append(outW, wt[k])
			}
			newPtr[i+1] = int64(len(outCol))
		}
		m.Ptr, m.Col, m.W = newPtr, outCol, outW
		return m
	}
	rng := rand.New(rand.NewPCG(5, 6))
	const rows, cols, n = 300, 40, 30000
	r, c, w := make([]int32, n), make([]int32, n), make([]float32, n)
	orderMatters := false
	for k := range n {
		r[k] = int32(rng.IntN(rows - 20)) // the last 20 rows are empty
		c[k] = int32(rng.IntN(cols))
		w[k] = float32(math.Pow(10, float64(rng.IntN(9)-4))) * (1 + rng.Float32())
	}
	r[0], c[0] = rows-1, 3 // one row of one entry
	want := reference(rows, cols, r, c, w)
	got := NewInteractions(rows, cols, r, c, w)
	if !slices.Equal(got.Ptr, want.Ptr) || !slices.Equal(got.Col, want.Col) {
		t.Fatalf("the rows' columns differ: %d and %d entries", len(got.Col), len(want.Col))
	}
	for k := range want.W {
		if math.Float32bits(got.W[k]) != math.Float32bits(want.W[k]) {
			t.Fatalf("entry %d: weight %v, the earlier construction %v", k, got.W[k], want.W[k])
		}
	}
	// The weights are such that the order of a sum shows in its bits.
	for i := range rows {
		var fwd, back float32
		for k := range n {
			if r[k] == int32(i) && c[k] == 0 {
				fwd += w[k]
			}
		}
		for k := n - 1; k >= 0; k-- {
			if r[k] == int32(i) && c[k] == 0 {
				back += w[k]
			}
		}
		orderMatters = orderMatters || fwd != back
	}
	if !orderMatters {
		t.Fatal("no sum depends on its order: the test cannot tell the orders apart")
	}
}

// TestTransposeParts: a transpose built in parts, side by side, is the one
// built in one piece, entry for entry, and every column of the transpose
// lists its rows in order.
func TestTransposeParts(t *testing.T) {
	m := syntheticHistory(3000, 500, 40000, 2)
	want := m.transpose(1)
	for r := range want.Rows {
		rows, _ := want.Row(r)
		for n := 1; n < len(rows); n++ {
			if rows[n] <= rows[n-1] {
				t.Fatalf("column %d: rows out of order: %v", r, rows)
			}
		}
	}
	for _, parts := range []int{2, 3, 4, 7} {
		got := m.transpose(parts)
		if !slices.Equal(got.Ptr, want.Ptr) || !slices.Equal(got.Col, want.Col) || !slices.Equal(got.W, want.W) || got.Rows != want.Rows || got.Cols != want.Cols {
			t.Fatalf("%d parts: a different transpose", parts)
		}
	}
}

// TestFoldInMatchesTraining: a group folded in against the trained items gets
// nearly the vector training gave it.
func TestFoldInMatchesTraining(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var rows, cols []int32
	var ws []float32
	for g := range 400 {
		for range 3 + r.IntN(15) {
			rows = append(rows, int32(g))
			cols = append(cols, int32((g%7)*20+r.IntN(40))) // clustered tastes
			ws = append(ws, 1+float32(r.IntN(3)))
		}
	}
	m := NewInteractions(400, 200, rows, cols, ws)
	cfg := DefaultALSConfig()
	cfg.Factors, cfg.Epochs, cfg.CGSteps = 16, 30, 4
	model, err := TrainALS(context.Background(), m, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := problemFor(model, cfg)
	worst := 1.0
	for g := range 400 {
		c, w := m.Row(g)
		got := p.FoldIn(c, w)
		want := model.Groups.Row(g)
		cos := float64(vek32.CosineSimilarity(got, want))
		worst = math.Min(worst, cos)
		rel := float64(vek32.Distance(got, want) / vek32.Norm(want))
		if cos < 0.995 || rel > 0.1 {
			t.Fatalf("group %d: cosine %.4f, relative distance %.3f", g, cos, rel)
		}
	}
	t.Logf("worst cosine %.5f", worst)
}

// TestSolveBlocks: the blocks cover the rows in order, none holds more than
// 512 rows, and a side whose heavy rows come first is cut where its work is,
// not by rows alone.
func TestSolveBlocks(t *testing.T) {
	nnz := func(r int) int { // 16 heavy rows, then light ones
		if r < 16 {
			return 100_000
		}
		return 3
	}
	for _, n := range []int{0, 1, 17, 511, 512, 513, 5000} {
		ends := solveBlocks(n, 2, 64, nnz)
		lo := 0
		for b, end := range ends {
			if end <= lo || end-lo > 512 {
				t.Fatalf("%d rows: block %d is [%d, %d)", n, b, lo, end)
			}
			lo = end
		}
		if lo != n {
			t.Fatalf("%d rows: the blocks end at %d", n, lo)
		}
		if n >= 16 && ends[0] > 1 {
			// Each heavy row is more than a 32nd of a worker's share: a block of its own.
			t.Fatalf("%d rows: the first block holds %d heavy rows", n, ends[0])
		}
	}
}
