package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// fixtures are built once per test binary and only read by the tests: the
// seed-3 world long enough for the default windows, and the two artefacts
// trained on it (v1, and v2 from another seed). A test that changes
// something works on its own copy (published copies the artefacts and
// publishes into its own directory).
var fixtures struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtures.dir != "" {
		os.RemoveAll(fixtures.dir)
	}
	os.Exit(code)
}

// sharedFixtures returns the shared world and artefacts directories,
// building them at the first call.
func sharedFixtures(t *testing.T) (world, arts string) {
	t.Helper()
	fixtures.once.Do(func() {
		dir, err := os.MkdirTemp("", "grouprank-fixtures-")
		if err != nil {
			fixtures.err = err
			return
		}
		fixtures.dir = dir
		w, a := filepath.Join(dir, "w"), filepath.Join(dir, "artefacts")
		for _, args := range [][]string{
			{"gen", "--groups", "1500", "--products", "500", "--days", "22", "--seed", "3", "--out", w},
			trainArgs(w, a, "v1"),
			append(trainArgs(w, a, "v2"), "--seed", "2"),
		} {
			var out, errb bytes.Buffer
			if err := run(context.Background(), args, func(string) string { return "" }, &out, &errb); err != nil {
				fixtures.err = fmt.Errorf("fixture %v: %v\n%s", args, err, errb.String())
				return
			}
		}
	})
	if fixtures.err != nil {
		t.Fatal(fixtures.err)
	}
	return filepath.Join(fixtures.dir, "w"), filepath.Join(fixtures.dir, "artefacts")
}
