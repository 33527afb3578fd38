package synth_test

import (
	"context"
	"path/filepath"
	"testing"

	"grouprank/data/parquetio"
	"grouprank/data/synth"
)

// readAll reads every table of a world directory, validating every row.
func readAll(t *testing.T, dir string) {
	t.Helper()
	readTable(t, dir, parquetio.Products)
	readTable(t, dir, parquetio.Catalog)
	readTable(t, dir, parquetio.Groups)
	readTable(t, dir, parquetio.Members)
	readTable(t, dir, parquetio.Exposures)
	readTable(t, dir, parquetio.Pushes)
	readTable(t, dir, parquetio.Orders)
}

func readTable[T any](t *testing.T, dir string, tb *parquetio.Table[T]) {
	t.Helper()
	if _, err := parquetio.ReadFile(filepath.Join(dir, tb.File), tb); err != nil {
		t.Fatal(err)
	}
}

// TestFieldCalibration checks the default world against docs/FIELD.md.
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
