package recommend

import (
	"math"
	"math/rand/v2"
	"testing"
)

// kernelValues are random values with exact zeros, negative zeros and the
// odd NaN, so that the skip of zero Gram rows is exercised too.
func kernelValues(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		switch r.IntN(20) {
		case 0:
			v[i] = 0
		case 1:
			v[i] = float32(math.Copysign(0, -1))
		default:
			v[i] = float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(7)-3)))
		}
	}
	return v
}

func sameBits32(a, b []float32) bool {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return len(a) == len(b)
}

// TestAddWeightedMatchesGo: the machine's addWeighted leaves the bits the
// plain loop leaves, with and without row indices, for lengths the
// assembly takes (multiples of 8) and those it leaves to Go.
func TestAddWeightedMatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, k := range []int{8, 16, 64, 72, 5, 13} {
		for _, n := range []int{1, 2, 7, 300} {
			rows := n + 40
			v := kernelValues(r, rows*k)
			w := kernelValues(r, n)
			idx := make([]int32, n)
			for i := range idx {
				idx[i] = int32(r.IntN(rows))
			}
			for _, ix := range [][]int32{nil, idx} {
				start := kernelValues(r, k)
				got, want := append([]float32(nil), start...), append([]float32(nil), start...)
				addWeighted(got, v, ix, w)
				addWeightedGo(want, v, ix, w)
				if !sameBits32(got, want) {
					t.Fatalf("k %d, n %d, indexed %v: %v, want %v", k, n, ix != nil, got, want)
				}
			}
		}
	}
	// an index past the vectors is refused, as the plain loop refuses it
	defer func() {
		if recover() == nil {
			t.Fatal("an index past the vectors was accepted")
		}
	}()
	addWeighted(make([]float32, 8), make([]float32, 16), []int32{2}, []float32{1})
}

// TestGramRowMatchesGo: the machine's gramRow adds the bits the plain loop
// adds, for every range of rows, zeros and NaN included.
func TestGramRowMatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, k := range []int{1, 3, 4, 7, 64, 65} {
		for _, rg := range [][2]int{{0, k}, {0, k / 2}, {k / 2, k}, {k - 1, k}} {
			got, want := make([]float64, k*k), make([]float64, k*k)
			for range 50 {
				v := kernelValues(r, k)
				if r.IntN(10) == 0 {
					v[r.IntN(k)] = float32(math.NaN())
				}
				gramRow(got, v, rg[0], rg[1])
				gramRowGo(want, v, rg[0], rg[1])
			}
			for i := range got {
				if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
					t.Fatalf("k %d, rows %v: entry %d is %v, want %v", k, rg, i, got[i], want[i])
				}
			}
		}
	}
}

// TestGatherRowsMatchesGo: the machine's gatherRows copies the rows the
// plain loop copies, and refuses an index past the vectors.
func TestGatherRowsMatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, k := range []int{8, 64, 5} {
		for _, n := range []int{1, 7, 9, 500} {
			rows := 100
			v := kernelValues(r, rows*k)
			idx := make([]int32, n)
			for i := range idx {
				idx[i] = int32(r.IntN(rows))
			}
			got, want := make([]float32, n*k+3), make([]float32, n*k+3)
			gatherRows(got, v, k, idx)
			gatherRowsGo(want, v, k, idx)
			if !sameBits32(got, want) {
				t.Fatalf("k %d, n %d: rows differ", k, n)
			}
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("an index past the vectors was accepted")
		}
	}()
	gatherRows(make([]float32, 8), make([]float32, 16), 8, []int32{2})
}
