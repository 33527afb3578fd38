package synth_test

import (
	"context"
	"testing"

	"grouprank/data/synth"
)

// TestFieldCalibration checks the default world against ../shared/FIELD.md.
func TestFieldCalibration(t *testing.T) {
	p := synth.DefaultParams()
	for _, seed := range []uint64{1, 2, 3, 4, 5} {
		p.Seed = seed
		dir := t.TempDir()
		if _, err := synth.Generate(context.Background(), p, dir, 0, nil); err != nil {
			t.Fatal(err)
		}
		s, err := synth.Measure(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("seed %d: %+v", seed, s)
		for _, c := range []struct {
			name   string
			got    float64
			lo, hi float64
		}{
			{"orders per group per day", s.OrdersPerGroupDay, 0.8, 1.2},
			{"share of orders from the top 10% of groups", s.Top10Share, 0.5, 1},
			{"POP share of orders", s.POPOrderShare, 0.7, 1},
			{"POP share of GMV", s.POPGMVShare, 0.4, 0.6},
		} {
			if c.got < c.lo || c.got > c.hi {
				t.Errorf("seed %d: %s = %.3f, want within [%g, %g]", seed, c.name, c.got, c.lo, c.hi)
			}
		}
	}
}
