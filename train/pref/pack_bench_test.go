package pref

import (
	"testing"

	"grouprank/recommend"
)

// BenchmarkPackItemItem: packing 20k item rows of 2,000 neighbours each
// into the served form, sized once (newItemItem) beside appending row by
// row (recommend.NewItemItem).
func BenchmarkPackItemItem(b *testing.B) {
	const n, k = 20000, 2000
	cols, ws := make([][]int32, n), make([][]float32, n)
	for j := range n {
		cols[j], ws[j] = make([]int32, k), make([]float32, k)
		for x := range k {
			cols[j][x], ws[j][x] = int32(x*(n/k)), float32(x)
		}
	}
	b.Run("sized", func(b *testing.B) {
		for b.Loop() {
			if _, err := newItemItem(cols, ws); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("appended", func(b *testing.B) {
		for b.Loop() {
			if _, err := recommend.NewItemItem(n, func(j int) ([]int32, []float32) { return cols[j], ws[j] }); err != nil {
				b.Fatal(err)
			}
		}
	})
}
