package synth

import (
	"math"
	"math/rand/v2"
)

// Random streams. Every draw of the world comes from a stream named here and
// keyed by what it is about, so results do not depend on scheduling.
const (
	streamCatalog uint64 = iota + 1
	streamPersona
	streamGroup
	streamDay
	streamMember
	streamNoise
	streamCalib
)

func newRand(seed, stream, key uint64) *rand.Rand {
	return rand.New(rand.NewPCG(mix(seed, stream), key))
}

// mix is splitmix64 over the combined inputs.
func mix(vals ...uint64) uint64 {
	var h uint64 = 0x9E3779B97F4A7C15
	for _, v := range vals {
		h ^= v + 0x9E3779B97F4A7C15 + (h << 6) + (h >> 2)
		h = splitmix(h)
	}
	return h
}

func splitmix(z uint64) uint64 {
	z += 0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// unit maps a hash to (0, 1).
func unit(h uint64) float64 { return (float64(h>>11) + 0.5) / (1 << 53) }

// normal maps two hashes to a standard normal draw (Box-Muller).
func normal(h uint64) float64 {
	u1, u2 := unit(h), unit(splitmix(h))
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

func poisson(r *rand.Rand, mean float64) int {
	if mean <= 0 {
		return 0
	}
	if mean > 30 {
		n := int(math.Round(mean + math.Sqrt(mean)*r.NormFloat64()))
		return max(n, 0)
	}
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func lognormal(r *rand.Rand, sigma float64) float64 { return math.Exp(sigma * r.NormFloat64()) }

func pick(r *rand.Rand, w []float64) int {
	var s float64
	for _, x := range w {
		s += x
	}
	u := r.Float64() * s
	for i, x := range w {
		u -= x
		if u < 0 {
			return i
		}
	}
	return len(w) - 1
}

// alias is Vose's alias table for O(1) draws from a fixed distribution.
type alias struct {
	prob  []float32
	alias []int32
}

func newAlias(w []float64) alias {
	n := len(w)
	a := alias{prob: make([]float32, n), alias: make([]int32, n)}
	var s float64
	for _, x := range w {
		s += x
	}
	scaled := make([]float64, n)
	small, large := make([]int32, 0, n), make([]int32, 0, n)
	for i, x := range w {
		scaled[i] = x * float64(n) / s
		if scaled[i] < 1 {
			small = append(small, int32(i))
		} else {
			large = append(large, int32(i))
		}
	}
	for len(small) > 0 && len(large) > 0 {
		l, g := small[len(small)-1], large[len(large)-1]
		small = small[:len(small)-1]
		a.prob[l], a.alias[l] = float32(scaled[l]), g
		scaled[g] += scaled[l] - 1
		if scaled[g] < 1 {
			large = large[:len(large)-1]
			small = append(small, g)
		}
	}
	for _, i := range append(small, large...) {
		a.prob[i], a.alias[i] = 1, i
	}
	return a
}

func (a *alias) draw(r *rand.Rand) int {
	i := r.IntN(len(a.prob))
	if r.Float32() < a.prob[i] {
		return i
	}
	return int(a.alias[i])
}
