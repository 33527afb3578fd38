package features

import "math"

// exactSum is a sum kept exactly, whatever the order its terms are added
// in: whole units and a fraction in units of 2^-40, each an integer. A term
// is split into its integer part (exact) and its fraction, which is rounded
// to 2^-40 only when it has bits below that (a float32 term of at least 2^-16
// has none). So the parts of a sharded job that each sum their own events
// add up, in any order, to the same bits as one process summing them all.
type exactSum struct {
	units int64
	frac  int64 // 2^-40 units; moved into units before it can overflow
}

const exactFrac = 40

func (s *exactSum) add(x float64) {
	ip := math.Trunc(x)
	s.units += int64(ip)
	s.frac += int64(math.Round((x - ip) * (1 << exactFrac)))
	if s.frac >= 1<<61 || s.frac <= -(1<<61) {
		s.norm()
	}
}

// merge adds another sum.
func (s *exactSum) merge(o exactSum) {
	s.norm()
	o.norm()
	s.units += o.units
	s.frac += o.frac
	s.norm()
}

// norm moves the fraction's whole units into units, leaving a fraction in
// [0, 1): one form for each value.
func (s *exactSum) norm() {
	u := s.frac >> exactFrac // floor
	s.units += u
	s.frac -= u << exactFrac
}

// value is the sum, rounded to float64 from its one form.
func (s exactSum) value() float64 {
	s.norm()
	return float64(s.units) + float64(s.frac)/(1<<exactFrac)
}
