package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"grouprank/data"
	"grouprank/data/parquetio"
)

// TestReadExposuresBadRow: the column reader of train refuses a bad
// exposure with the file, its row and the column, as the row reader does,
// and reads a good file's randomised lists.
func TestReadExposuresBadRow(t *testing.T) {
	dir := t.TempDir()
	rows := []data.Exposure{
		{RequestID: "a", Group: 1, SKU: 1, Rank: 1, Propensity: 0.1},
		{RequestID: "a", Group: 1, SKU: 2, Rank: 2, Propensity: 0.1},
		{RequestID: "b", Group: 2, SKU: 1, Rank: 1, Propensity: 1},
	}
	good := filepath.Join(dir, parquetio.Exposures.File)
	if err := parquetio.WriteFile(good, parquetio.Exposures, rows, parquetio.Options{}); err != nil {
		t.Fatal(err)
	}
	random, err := readExposures(context.Background(), good, nil)
	if err != nil || len(random) != 1 || !random["a"] {
		t.Fatalf("randomised lists %v, %v; want only a", random, err)
	}
	rows[2].Propensity = 0
	bad := filepath.Join(t.TempDir(), parquetio.Exposures.File)
	if err := parquetio.WriteFile(bad, parquetio.Exposures, rows, parquetio.Options{}); err != nil {
		t.Fatal(err)
	}
	_, err = readExposures(context.Background(), bad, nil)
	for _, want := range []string{"exposures.parquet", "row 3", "column propensity"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}
