package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"grouprank/data"
)

// TestPicksShards: picks --all --shard i/3 ranks disjoint parts of the
// groups, and picks merge puts them together into the very bytes one
// unsharded run writes (Parquet and CSV); a missing or doubled part is
// refused.
func TestPicksShards(t *testing.T) {
	dir, _, root := published(t, false)
	at := "2026-11-20T08:00:00Z"
	picks := func(out string, extra ...string) {
		t.Helper()
		// k 400: several Parquet pages, so the merge must cut them where the whole run does
		args := append([]string{"picks", "--all", "--root", root, "--out", out, "--k", "400", "--at", at}, extra...)
		if _, stderr, err := runArgs(t, nil, args...); err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
	}
	whole := filepath.Join(dir, "whole.parquet")
	picks(whole)
	wholeCSV := filepath.Join(dir, "whole.csv")
	picks(wholeCSV)
	var parts []string
	for i := range 3 {
		p := filepath.Join(dir, "part-"+string(rune('0'+i))+".parquet")
		picks(p, "--shard", string(rune('0'+i))+"/3", "--workers", string(rune('1'+i%2)))
		parts = append(parts, p)
	}
	merge := func(out string, parts ...string) (string, error) {
		_, stderr, err := runArgs(t, nil, append(append([]string{"picks", "merge"}, parts...), "--root", root, "--out", out)...)
		return stderr, err
	}
	for _, out := range []string{filepath.Join(dir, "merged.parquet"), filepath.Join(dir, "merged.csv")} {
		if stderr, err := merge(out, parts[2], parts[0], parts[1]); err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		want := whole
		if strings.HasSuffix(out, ".csv") {
			want = wholeCSV
		}
		a, _ := os.ReadFile(want)
		b, _ := os.ReadFile(out)
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s (%d bytes) differs from the unsharded run's %s (%d bytes)", out, len(b), want, len(a))
		}
	}
	if _, err := merge(filepath.Join(dir, "bad.parquet"), parts[0], parts[1]); err == nil {
		t.Error("a merge without part 2 of 3 was accepted")
	}
	if _, err := merge(filepath.Join(dir, "bad.parquet"), parts[0], parts[1], parts[2], parts[1]); err == nil {
		t.Error("a merge with part 1 twice was accepted")
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.parquet")); !os.IsNotExist(err) {
		t.Errorf("a refused merge left its output: %v", err)
	}
	for _, bad := range []string{"3/3", "1", "-1/2", "a/b"} {
		if _, _, err := runArgs(t, nil, "picks", "--all", "--root", root, "--shard", bad, "--out", filepath.Join(dir, "x.parquet")); err == nil {
			t.Errorf("--shard %s was accepted", bad)
		}
	}
	now := time.Date(2026, 11, 20, 17, 3, 0, 0, time.FixedZone("CST", 8*3600))
	if got, err := parseAt("today", now); err != nil || got != data.TimestampOf(time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("--at today at %s: %v %v", now, got, err)
	}
	counts := make([]int, 4)
	for id := range data.GroupID(4000) {
		counts[shardOf(id+1, 4)]++
	}
	for i, n := range counts {
		if n < 900 || n > 1100 {
			t.Errorf("shard %d of 4 holds %d of 4000 groups", i, n)
		}
	}
}
