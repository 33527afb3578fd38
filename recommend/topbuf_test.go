package recommend

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestTopBufKeepsTheHeapsEntries: offered the same entries in any order,
// the buffer keeps the same set as the heap (ties in value to the smaller
// index), for few and many entries, many ties, and n from 1 up.
func TestTopBufKeepsTheHeapsEntries(t *testing.T) {
	if z := (topBuf{}); z.wants(1, 1) {
		t.Error("a buffer of 0 entries wants one")
	}
	r := rand.New(rand.NewPCG(7, 7))
	for trial := range 300 {
		n := 1 + r.IntN(40)
		m := r.IntN(20 * n)
		levels := 1 + r.IntN(50) // few levels: many ties
		es := make([]heapEntry, m)
		for j := range es {
			es[j] = heapEntry{int32(j), float32(1 + r.IntN(levels))}
		}
		r.Shuffle(len(es), func(a, b int) { es[a], es[b] = es[b], es[a] })
		h := topHeap{n: n}
		b := topBuf{n: n}
		for _, e := range es {
			h.offer(e.i, e.v)
			if b.wants(e.i, e.v) {
				b.offer(e.i, e.v)
			}
		}
		b.finish()
		want, got := slices.Clone(h.h), slices.Clone(b.b)
		sortBestFirst(want)
		sortBestFirst(got)
		if !slices.Equal(want, got) {
			t.Fatalf("trial %d (n %d, %d entries): buffer kept %v, heap %v", trial, n, m, got, want)
		}
		if len(got) == n && (!b.sel || b.bar != got[n-1]) {
			t.Fatalf("trial %d (n %d, %d entries): bar %v (set %v), the n-th best %v", trial, n, m, b.bar, b.sel, got[n-1])
		}
	}
}
