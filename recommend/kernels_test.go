package recommend

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/viterin/vek/vek32"
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

// nanRows gives rows [from, to) of rows (k wide) many NaNs of three
// payloads and infinities of both signs, so that additions meet two NaNs
// (whose result is the first source's) and invalid products.
func nanRows(r *rand.Rand, rows []float32, k, from, to int) {
	payloads := []uint32{0x7fc00000, 0xffc12345, 0x7fc0abcd}
	for i := from * k; i < to*k && i < len(rows); i++ {
		switch r.IntN(6) {
		case 0, 1:
			rows[i] = math.Float32frombits(payloads[r.IntN(len(payloads))])
		case 2:
			rows[i] = float32(math.Inf(1 - 2*r.IntN(2)))
		}
	}
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

// sameAsVek fails unless ours and vek's write the same bits into a
// destination of n elements that held other values.
func sameAsVek(t *testing.T, what string, n int, ours, vek func(dst []float32)) {
	t.Helper()
	got, want := make([]float32, n), make([]float32, n)
	for i := range got {
		got[i], want[i] = float32(i)+0.5, float32(i)+0.5
	}
	ours(got)
	vek(want)
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: element %d: %g, vek %g", what, i, got[i], want[i])
		}
	}
}

// TestDotRowsMatchesVek: dotRows leaves the bits vek's matrix-vector
// product leaves, for the lengths held in registers and the others, with
// zeros, negative zeros, NaN, infinities and rows whose products are all
// negative zeros, over a destination that held other values.
func TestDotRowsMatchesVek(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, k := range []int{32, 64, 16, 96, 5} {
		for _, n := range []int{0, 1, 3, 1024, 1500} {
			rows, v := kernelValues(r, n*k), kernelValues(r, k)
			if n > 2 {
				for a := range k { // -0 x v[a]: every product a zero
					rows[2*k+a] = float32(math.Copysign(0, -1))
				}
			}
			nanRows(r, rows, k, 3, 60)
			pos := make([]float32, k) // with row 2, every product -0
			for a := range pos {
				pos[a] = float32(math.Abs(float64(v[a])))
			}
			for _, v := range [][]float32{v, pos} {
				sameAsVek(t, fmt.Sprintf("k %d, n %d", k, n), n+2,
					func(dst []float32) { dotRows(dst, rows, v) },
					func(dst []float32) { vek32.MatMul_Into(dst[:0], rows, v, k) })
			}
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a destination shorter than the rows was accepted")
		}
	}()
	dotRows(make([]float32, 1), make([]float32, 2*64), make([]float32, 64))
}

// TestWeightedSumMatchesVek: weightedSum leaves the bits vek's 1 x n by
// n x K product leaves, for the lengths summed in registers and the others,
// with zeros, negative zeros, NaN and infinities, over a destination that
// held other values.
func TestWeightedSumMatchesVek(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, k := range []int{32, 64, 16, 96, 5} {
		for _, n := range []int{1, 2, 3, 700} {
			rows, w := kernelValues(r, n*k), kernelValues(r, n)
			if n > 3 {
				nanRows(r, rows, k, 1, n/2)
				nanRows(r, w, 1, 0, n/4) // NaN and infinite weights too
			}
			sameAsVek(t, fmt.Sprintf("k %d, n %d", k, n), k,
				func(dst []float32) { weightedSum(dst, w, rows) },
				func(dst []float32) { vek32.MatMul_Into(dst[:0], w, rows, n) })
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("rows that do not match the weights were accepted")
		}
	}()
	weightedSum(make([]float32, 64), make([]float32, 2), make([]float32, 64))
}

// TestSkipBelowMatchesGo: skipBelow finds the loop's index for every
// length around the blocks of 8 and 32, the first element not below the
// bar anywhere in them, NaN (never below) and the bar's own value included.
func TestSkipBelowMatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{0, 1, 7, 8, 9, 31, 32, 33, 64, 100, 1024} {
		for trial := range 50 {
			d := make([]float32, n)
			for i := range d {
				d[i] = float32(r.NormFloat64()) - 3
			}
			bar := float32(0.5)
			if n > 0 && trial > 0 {
				switch at := r.IntN(n); trial % 3 {
				case 0:
					d[at] = float32(math.NaN())
				case 1:
					d[at] = bar
				default:
					d[at] = bar + 1
				}
			}
			if got, want := skipBelow(d, bar), skipBelowGo(d, bar); got != want {
				t.Fatalf("n %d, trial %d: %d, the loop %d", n, trial, got, want)
			}
		}
	}
}
