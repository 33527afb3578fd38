package recommend

import (
	"github.com/viterin/vek/vek32"
	"golang.org/x/sys/cpu"
)

var useAVX2 = cpu.X86.HasAVX2

//go:noescape
func addWeightedAVX2(r *float32, k int, v *float32, idx *int32, w *float32, n int)

//go:noescape
func gramRowAVX2(tmp *float64, v *float32, k, lo, hi int)

//go:noescape
func gatherAVX2(dst *float32, v *float32, k int, idx *int32, n int)

// gatherRows is gatherRowsGo, in assembly that fetches the rows ahead when
// the machine has AVX2 and k is a multiple of 8.
func gatherRows(dst, v []float32, k int, idx []int32) {
	if !useAVX2 || k == 0 || k%8 != 0 || len(idx) == 0 {
		gatherRowsGo(dst, v, k, idx)
		return
	}
	rows := len(v) / k
	checkRows(idx, rows)
	if len(dst) < len(idx)*k {
		panic("recommend: gather buffer too short")
	}
	gatherAVX2(&dst[0], &v[0], k, &idx[0], len(idx))
}

// addWeighted is addWeightedGo, in assembly when the machine has AVX2 and
// the vectors' length is a multiple of 8. Every index is checked first.
func addWeighted(r, v []float32, idx []int32, w []float32) {
	k := len(r)
	if !useAVX2 || k == 0 || k%8 != 0 || len(w) == 0 {
		addWeightedGo(r, v, idx, w)
		return
	}
	rows := len(v) / k
	var ip *int32
	if idx != nil {
		idx = idx[:len(w)]
		checkRows(idx, rows)
		ip = &idx[0]
	} else if len(w) > rows {
		panic("recommend: more weights than vectors")
	}
	addWeightedAVX2(&r[0], k, &v[0], ip, &w[0], len(w))
}

// gramRow is gramRowGo, in assembly when the machine has AVX2.
func gramRow(tmp []float64, v []float32, lo, hi int) {
	k := len(v)
	if !useAVX2 || lo >= hi {
		gramRowGo(tmp, v, lo, hi)
		return
	}
	if lo < 0 || hi > k || len(tmp) < k*k {
		panic("recommend: Gram rows out of range")
	}
	gramRowAVX2(&tmp[0], &v[0], k, lo, hi)
}

// checkRows panics unless every index is a row of a matrix of rows rows: the
// assembly reads wherever an index points.
func checkRows(idx []int32, rows int) {
	for _, j := range idx {
		if j < 0 || int(j) >= rows {
			panic("recommend: observed row out of range")
		}
	}
}

// dotsAsm says whether vek runs its matrix-vector product in AVX2 with
// fused multiply-adds, whose order dots32AVX2 and dots64AVX2 repeat.
var dotsAsm = vek32.Info().Acceleration

//go:noescape
func dots64AVX2(dst *float32, rows *float32, v *float32, n int)

//go:noescape
func dots32AVX2(dst *float32, rows *float32, v *float32, n int)

// dotRows writes the dot product of v with each of the len(rows)/len(v)
// rows into dst, the same bits as vek32.MatMul_Into (its kernel's order of
// fused multiply-adds and of the final sum across lanes). For vectors of 32
// or 64 it holds v in registers, so each row is read once and v never
// again: the matrix-vector product of vek reads both at every step.
func dotRows(dst, rows, v []float32) {
	k := len(v)
	if !dotsAsm || (k != 64 && k != 32) {
		vek32.MatMul_Into(dst[:0], rows, v, k)
		return
	}
	n := len(rows) / k
	if n*k != len(rows) || len(dst) < n {
		panic("recommend: dot products: rows and destination do not match the vector")
	}
	if n == 0 {
		return
	}
	if k == 64 {
		dots64AVX2(&dst[0], &rows[0], &v[0], n)
	} else {
		dots32AVX2(&dst[0], &rows[0], &v[0], n)
	}
}

//go:noescape
func wsum64AVX2(dst *float32, t *float32, rows *float32, n int)

//go:noescape
func wsum32AVX2(dst *float32, t *float32, rows *float32, n int)

// weightedSum writes into dst (len K) the sum of t[r] times row r of rows
// (len(t) rows of K), the same bits as vek32.MatMul_Into of t (1 x n) by
// rows (its kernel's fused multiply-adds, row after row). For rows of 32 or
// 64 the sum stays in registers: vek's kernel stores and reloads it at
// every row.
func weightedSum(dst, t, rows []float32) {
	k, n := len(dst), len(t)
	if !dotsAsm || (k != 64 && k != 32) {
		vek32.MatMul_Into(dst[:0], t, rows, n)
		return
	}
	if len(rows) != n*k {
		panic("recommend: weighted sum: rows do not match the weights")
	}
	if n == 0 {
		clear(dst)
		return
	}
	if k == 64 {
		wsum64AVX2(&dst[0], &t[0], &rows[0], n)
	} else {
		wsum32AVX2(&dst[0], &t[0], &rows[0], n)
	}
}

//go:noescape
func skipBelowAVX2(d *float32, n int, t float32) int

// skipBelow returns the index of the first element of d that is not below
// t (NaN is not below anything), or len(d): the dot source's scan jumps
// over the items under its bar with it.
func skipBelow(d []float32, t float32) int {
	i := 0
	if n := len(d) &^ 7; useAVX2 && n > 0 {
		if i = skipBelowAVX2(&d[0], n, t); i < n {
			return i
		}
	}
	return i + skipBelowGo(d[i:], t)
}
