package recommend

// The inner loops of an iALS epoch that are not matrix products: gathering
// a row's observed vectors, adding them weighted (the row's right-hand
// side) and the Gram matrix's rank-one updates. On amd64 with AVX2 they run
// in assembly (kernels_amd64.s) with the same operations in the same order
// as the loops below, element by element, so the bits are the same on every
// machine: a product is rounded before it is added (no fused
// multiply-add), and each element's sum runs over the vectors in order.
//
// The matrix products (dotRows, weightedSum) give vek32's bits instead: in
// assembly on amd64 where vek runs its own in AVX2, vek32 itself elsewhere.
// skipBelowGo is the dot source's jump over the items under its bar.

// addWeightedGo adds w[n] times vector n of v (row idx[n] of v when idx is
// not nil) to r, for every n of w in order.
func addWeightedGo(r, v []float32, idx []int32, w []float32) {
	k := len(r)
	for n, c := range w {
		j := n
		if idx != nil {
			j = int(idx[n])
		}
		x := v[j*k:][:k]
		for a := range r {
			r[a] += c * x[a]
		}
	}
}

// gramRowGo adds, for a in [lo, hi) with v[a] != 0, the products
// v[a] v[b] (b >= a) in float64 to tmp[a*K+b], K = len(v).
func gramRowGo(tmp []float64, v []float32, lo, hi int) {
	k := len(v)
	for a := lo; a < hi; a++ {
		va := float64(v[a])
		if va == 0 {
			continue
		}
		row, vb := tmp[a*k+a:(a+1)*k], v[a:k]
		row = row[:len(vb)]
		for b, x := range vb {
			row[b] += va * float64(x)
		}
	}
}

// gatherRowsGo copies row idx[n] of v (vectors of length k) to
// dst[n*k:(n+1)*k] for every n.
func gatherRowsGo(dst, v []float32, k int, idx []int32) {
	for n, j := range idx {
		copy(dst[n*k:(n+1)*k], v[int(j)*k:(int(j)+1)*k])
	}
}

// SkipBelow returns the index of the first element of d that is not below
// t (NaN is not below anything), or len(d), 8 elements at a time where the
// machine has AVX2: a scan for the scores that can enter a top k jumps over
// the others with it.
func SkipBelow(d []float32, t float32) int { return skipBelow(d, t) }

// skipBelowGo is skipBelow's loop: the first i with !(d[i] < t), or len(d).
func skipBelowGo(d []float32, t float32) int {
	for i, x := range d {
		if !(x < t) {
			return i
		}
	}
	return len(d)
}
