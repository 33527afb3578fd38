package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"grouprank/data"
	"grouprank/recommend"
	"grouprank/recommend/service"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ with what the code gives now")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./cmd/grouprank -run %s -update writes it)", err, t.Name())
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for k := range max(len(gl), len(wl)) {
			var g, w string
			if k < len(gl) {
				g = gl[k]
			}
			if k < len(wl) {
				w = wl[k]
			}
			if g != w {
				t.Fatalf("%s differs from the golden file at line %d:\n got  %q\n want %q\n(-update rewrites it when the change is meant)", name, k+1, g, w)
			}
		}
	}
}

// TestPicksGolden: the picks of a fixed set of requests (20 groups, every
// named objective, with and without a category and a price cap) on the
// shared seed-3 world's model v1, item by item in rank order. A change to
// ranking that is meant rewrites the file with -update; any other change
// to what a promoter is shown fails here.
func TestPicksGolden(t *testing.T) {
	_, _, root := published(t, false)
	m, snap, err := service.OpenModel(root, "v1")
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	at := m.Manifest.Windows.Serve
	var sb strings.Builder
	s := m.Ranker.NewScratch()
	cat := m.Ranker.Scorer.Inputs().Cat
	for g := data.GroupID(1); g <= 20; g++ {
		for _, obj := range recommend.Objectives() {
			for _, filter := range []struct {
				name     string
				category string
				priceMax int64
			}{{"-", "", 0}, {cat.L1Names[int(g)%len(cat.L1Names)], cat.L1Names[int(g)%len(cat.L1Names)], 0}, {"under 50 yuan", "", 5000}} {
				p, err := m.Picks(recommend.PicksRequest{Group: g, K: 10, Objective: obj.Name, Now: at, Category: filter.category, PriceMax: filter.priceMax}, nil, s)
				if err != nil {
					t.Fatalf("group %d %s %s: %v", g, obj.Name, filter.name, err)
				}
				skus := make([]string, len(p.Items))
				for k, it := range p.Items {
					skus[k] = fmt.Sprint(it.SKU)
				}
				fmt.Fprintf(&sb, "%d\t%s\t%s\t%s\n", g, obj.Name, filter.name, strings.Join(skus, " "))
			}
		}
	}
	golden(t, "picks.golden", sb.String())
}

// TestReportsGolden: the tables of eval and eval business on the shared
// seed-3 world and its v1 model, byte for byte against testdata/, and the
// same bytes on one worker as on every core.
func TestReportsGolden(t *testing.T) {
	world, arts := sharedFixtures(t)
	for _, c := range []struct {
		name string
		args []string
	}{
		{"eval.golden", []string{"eval", "--world", world, "--test-days", "4", "--seed", "1"}},
		{"eval-business.golden", []string{"eval", "business", "--world", world, "--model", filepath.Join(arts, "v1"), "--seed", "1", "--groups", "300", "--ceilings"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var tables [2]string
			for k, workers := range []string{"0", "1"} {
				md := filepath.Join(t.TempDir(), "table.md")
				if _, stderr, err := runArgs(t, nil, append(c.args, "--markdown", md, "--workers", workers)...); err != nil {
					t.Fatalf("%v\n%s", err, stderr)
				}
				b, err := os.ReadFile(md)
				if err != nil {
					t.Fatal(err)
				}
				tables[k] = string(b)
			}
			if tables[0] != tables[1] {
				t.Errorf("one worker gives another table than every core:\n%s\n---\n%s", tables[1], tables[0])
			}
			golden(t, c.name, tables[0])
		})
	}
}
