package main

import (
	"os"
	"path/filepath"
	"testing"

	"grouprank/data/parquetio"
)

// TestModelArmsServedEverywhere: an experiment whose arm names another
// model version gets that model in batch picks and in the simulator, as in
// the service (recommend/serving serves all three).
func TestModelArmsServedEverywhere(t *testing.T) {
	dir, arts, root := published(t, true)
	if _, stderr, err := runArgs(t, nil, "publish", filepath.Join(arts, "v2"), "--root", root, "--no-promote"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	spec := filepath.Join(dir, "models.json")
	if err := os.WriteFile(spec, []byte(`{"key":"models","layer":"model","traffic":1,"planned_days":7,
 "arms":[{"name":"current","weight":50,"options":{}},{"name":"next","weight":50,"options":{"model_version":"v2"}}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	live := filepath.Join(dir, "live")
	for _, args := range [][]string{{"ab", "create", "--file", spec}, {"ab", "start", "models"}} {
		if _, stderr, err := runArgs(t, nil, append(args, "--live", live, "--root", root)...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr)
		}
	}
	out := filepath.Join(dir, "picks.parquet")
	if _, stderr, err := runArgs(t, nil, "picks", "--all", "--root", root, "--out", out, "--live", live, "--k", "5"); err != nil {
		t.Fatalf("picks --all: %v\n%s", err, stderr)
	}
	rows, err := parquetio.ReadFile(out, parquetio.Picks)
	if err != nil {
		t.Fatal(err)
	}
	byVersion := map[string]int{}
	for _, r := range rows {
		byVersion[r.ModelVersion]++
	}
	if byVersion["v1"] == 0 || byVersion["v2"] == 0 || byVersion["v1"]+byVersion["v2"] != len(rows) {
		t.Errorf("batch picks by model version: %v; want both arms' models", byVersion)
	}
	exps := filepath.Join(dir, "exposures.parquet")
	if _, stderr, err := runArgs(t, nil, "events", "export", "--live", live, "--since", "2000-01-01", "--out", filepath.Join(dir, "events.parquet"),
		"--exposures-out", exps); err != nil {
		t.Fatalf("events export: %v\n%s", err, stderr)
	}
	xs, err := parquetio.ReadFile(exps, parquetio.Exposures)
	if err != nil {
		t.Fatal(err)
	}
	arms := map[string]map[string]bool{}
	for _, x := range xs {
		if arms[x.Arm] == nil {
			arms[x.Arm] = map[string]bool{}
		}
		arms[x.Arm][x.ModelVersion] = true
	}
	if len(arms["next"]) != 1 || !arms["next"]["v2"] || len(arms["current"]) != 1 || !arms["current"]["v1"] {
		t.Errorf("logged exposures: model versions by arm %v; want next: v2, current: v1", arms)
	}
}
