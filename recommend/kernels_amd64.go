package recommend

import "golang.org/x/sys/cpu"

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
