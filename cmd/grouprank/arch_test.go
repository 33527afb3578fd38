package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "grouprank"

// allowedInternal lists, per package, the module packages it may import
// (docs/STYLE.md, "Dependency direction"). Every package may import data.
// A package missing here may import only data.
var allowedInternal = map[string][]string{
	"data":                     {},
	"data/parquetio":           {"data"},
	"data/store":               {"data"},
	"data/jetstream":           {"data"},
	"data/synth":               {"data", "data/parquetio"},
	"data/importer":            {"data", "data/parquetio"},
	"features":                 {"data"},
	"train":                    {"data", "features", "recommend"},
	"train/pref":               {"data", "features", "recommend", "train"}, // a sub-package of train: what train may import, and train
	"recommend":                {"data", "features"},
	"recommend/experiment":     {"data"},
	"recommend/experiment/sim": {"data", "data/store", "data/synth", "recommend", "recommend/experiment", "recommend/serving"},
	"recommend/serving":        {"data", "recommend", "recommend/experiment"},
	"recommend/api":            {"data", "recommend", "recommend/experiment", "recommend/serving", "recommend/ui"},
	"recommend/service":        {"data", "data/store", "recommend", "recommend/experiment", "recommend/ui", "train"},
	"recommend/client":         {"data"},
	"recommend/ui":             {"data"},
	"cmd/grouprank":            {"*"},
	"bench/cluster":            {"data/jetstream/jstest", "data/parquetio"}, // the local cluster script's JetStream server and its check
}

// owners says which package alone may import a driver.
var owners = map[string]string{
	"github.com/gin-gonic/gin":         "recommend/api",
	"github.com/dgraph-io/badger":      "data/store",
	"github.com/parquet-go/parquet-go": "data/parquetio",
	"github.com/nats-io/nats.go":       "data/jetstream",
	"github.com/nats-io/nats-server":   "data/jetstream/jstest",
}

// violations checks an import graph (package -> its imports, full paths).
func violations(graph map[string][]string) []string {
	var out []string
	for pkg, imports := range graph {
		rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
		for _, imp := range imports {
			internal := imp == module || strings.HasPrefix(imp, module+"/")
			stdlib := !strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") && !internal
			if imp == module+"/cmd" || strings.HasPrefix(imp, module+"/cmd/") {
				out = append(out, pkg+" imports "+imp+": nothing may import cmd")
				continue
			}
			for prefix, owner := range owners {
				if (imp == prefix || strings.HasPrefix(imp, prefix+"/")) && rel != owner {
					out = append(out, pkg+" imports "+imp+": only "+owner+" may")
				}
			}
			if rel == "data" && !stdlib {
				out = append(out, pkg+" imports "+imp+": data imports only the standard library")
			}
			if !internal {
				continue
			}
			target := strings.TrimPrefix(imp, module+"/")
			allowed, known := allowedInternal[rel]
			if !known {
				allowed = []string{"data"}
			}
			if target == "data" || slices.Contains(allowed, "*") || slices.Contains(allowed, target) {
				continue
			}
			out = append(out, pkg+" imports "+imp+": not allowed by STYLE.md")
		}
	}
	slices.Sort(out)
	return out
}

func TestArchitecture(t *testing.T) {
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", module+"/...")
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	graph := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		graph[f[0]] = f[1:]
	}
	if len(graph) < 5 {
		t.Fatalf("go list found only %d packages", len(graph))
	}
	for _, v := range violations(graph) {
		t.Error(v)
	}
}

// TestArchitectureCatches shows the checker fails on each kind of forbidden import.
func TestArchitectureCatches(t *testing.T) {
	for _, tc := range []struct {
		pkg, imp string
	}{
		{"grouprank/features", "github.com/gin-gonic/gin"},
		{"grouprank/recommend", "github.com/dgraph-io/badger/v4"},
		{"grouprank/train", "github.com/parquet-go/parquet-go"},
		{"grouprank/data/store", "grouprank/data/parquetio"},
		{"grouprank/recommend", "grouprank/train"},
		{"grouprank/train", "grouprank/cmd/grouprank"},
		{"grouprank/data", "gonum.org/v1/gonum/mat"},
		{"grouprank/data", "grouprank/data/synth"},
		{"grouprank/recommend/experiment", "grouprank/recommend"},
	} {
		if v := violations(map[string][]string{tc.pkg: {"fmt", tc.imp}}); len(v) == 0 {
			t.Errorf("%s importing %s passed", tc.pkg, tc.imp)
		}
	}
	clean := map[string][]string{
		"grouprank/data":           {"fmt", "time"},
		"grouprank/data/parquetio": {"grouprank/data", "github.com/parquet-go/parquet-go"},
		"grouprank/data/synth":     {"grouprank/data", "grouprank/data/parquetio", "gonum.org/v1/gonum/stat"},
		"grouprank/cmd/grouprank":  {"grouprank/data/synth", "github.com/spf13/cobra"},
	}
	if v := violations(clean); len(v) != 0 {
		t.Errorf("clean graph flagged: %v", v)
	}
}
