package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"
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
	if err := stopDemo(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
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

// demo is the quick start, run once for the tests that read it (TestDemo,
// TestDashboard) with the admin token demoToken; TestMain interrupts it
// after the tests and fails the run unless it then exits cleanly (after
// writing its last checkpoint).
var demo struct {
	once   sync.Once
	dir    string
	out    *lineWatcher
	cancel context.CancelFunc
	done   chan error
	err    error
}

const demoToken = "dashboard-test-token"

// sharedDemo starts the demo at the first call and returns its output so
// far and the service's base URL once it serves.
func sharedDemo(t *testing.T) (out *lineWatcher, base string) {
	t.Helper()
	demo.once.Do(func() {
		dir, err := os.MkdirTemp("", "grouprank-demo-")
		if err != nil {
			demo.err = err
			return
		}
		demo.dir = dir
		ctx, cancel := context.WithCancel(context.Background())
		demo.cancel, demo.done = cancel, make(chan error, 1)
		demo.out = &lineWatcher{re: regexp.MustCompile(`curl '(http://[^']+)/v1/groups/7/picks`), seen: make(chan string, 1)}
		go func() {
			demo.done <- run(ctx, []string{"demo", "--dir", filepath.Join(dir, "demo"), "--addr", "127.0.0.1:0", "--admin-token", demoToken},
				func(string) string { return "" }, demo.out, io.Discard)
		}()
		select {
		case base = <-demo.out.seen:
		case err := <-demo.done:
			demo.done <- err
			demo.err = fmt.Errorf("demo stopped: %v\n%s", err, demo.out.String())
		case <-time.After(3 * time.Minute):
			demo.err = fmt.Errorf("the demo did not start serving:\n%s", demo.out.String())
		}
	})
	if demo.err != nil {
		t.Fatal(demo.err)
	}
	m := demo.out.re.FindStringSubmatch(demo.out.String())
	return demo.out, m[1]
}

// stopDemo interrupts the demo, if one runs, and waits for it to exit.
func stopDemo() error {
	if demo.cancel == nil {
		return nil
	}
	defer os.RemoveAll(demo.dir)
	demo.cancel()
	select {
	case err := <-demo.done:
		if err != nil {
			return fmt.Errorf("demo after interrupt: %v", err)
		}
		return nil
	case <-time.After(time.Minute):
		return fmt.Errorf("the demo did not stop within a minute of the interrupt")
	}
}
