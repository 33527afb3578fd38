package synth_test

import (
	"context"
	"path/filepath"
	"testing"

	"grouprank/data/parquetio"
	"grouprank/data/synth"
)

func readAll(t *testing.T, dir string) {
	t.Helper()
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := parquetio.ReadFile(filepath.Join(dir, parquetio.Products.File), parquetio.Products)
	check(err)
	_, err = parquetio.ReadFile(filepath.Join(dir, parquetio.Catalog.File), parquetio.Catalog)
	check(err)
	_, err = parquetio.ReadFile(filepath.Join(dir, parquetio.Groups.File), parquetio.Groups)
	check(err)
	_, err = parquetio.ReadFile(filepath.Join(dir, parquetio.Members.File), parquetio.Members)
	check(err)
	_, err = parquetio.ReadFile(filepath.Join(dir, parquetio.Exposures.File), parquetio.Exposures)
	check(err)
	_, err = parquetio.ReadFile(filepath.Join(dir, parquetio.Pushes.File), parquetio.Pushes)
	check(err)
	_, err = parquetio.ReadFile(filepath.Join(dir, parquetio.Orders.File), parquetio.Orders)
	check(err)
}

// TestFieldCalibration checks the default world against ../shared/FIELD.md.
func TestFieldCalibration(t *testing.T) {
	p := synth.DefaultParams()
	for _, seed := range []uint64{1, 2, 3, 4, 5} {
		p.Seed = seed
		dir := t.TempDir()
		if _, err := synth.Generate(context.Background(), p, dir, 0, nil); err != nil {
			t.Fatal(err)
		}
		readAll(t, dir) // every row of every table passes validation
		s, err := synth.Measure(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("| %d | %.2f | %.1f%% | %.1f%% | %.1f%% | %.2f | %.1f%% | %.2f | %.0f |", seed, s.OrdersPerGroupDay,
			100*s.Top10Share, 100*s.POPOrderShare, 100*s.POPGMVShare, s.PushesPerGroupDay, 100*s.ConversionPerPush,
			s.OrdersPerPush, s.MeanOrderYuan)
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
