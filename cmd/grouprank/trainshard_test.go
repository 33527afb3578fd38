package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"grouprank/data"
	"grouprank/train"
)

// TestTrainShards: train --shard i/n, the parts run at once through an
// exchange directory (with different numbers of workers), and train merge
// write the artefact the whole train wrote (the shared fixture's v1), byte
// for byte but the manifest's creation time, for 1, 2 and 5 parts; the
// merge names it anew with --version; parts that do not belong together are
// refused, a part is not published, a part's directory keeps only its
// latest part, and a part started with other settings stops every part.
func TestTrainShards(t *testing.T) {
	world, arts := sharedFixtures(t)
	whole := filepath.Join(arts, "v1")
	tmp := t.TempDir()
	runParts := func(name string, n int, extra func(i int) []string) ([]string, []error) {
		return trainParts(t, filepath.Join(tmp, name), n, func(i int) []string {
			return append(trainArgs(world, filepath.Join(tmp, name, "unused"), "v1"), extra(i)...)
		})
	}
	none := func(int) []string { return nil }
	for _, n := range []int{1, 2, 5} {
		parts, errs := runParts(fmt.Sprint("n", n), n, none)
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		out := filepath.Join(tmp, fmt.Sprint("merged", n))
		if _, stderr, err := runArgs(t, nil, append([]string{"train", "merge", "--out", out}, parts...)...); err != nil {
			t.Fatalf("merge: %v\n%s", err, stderr)
		}
		sameArtefact(t, fmt.Sprintf("%d parts", n), filepath.Join(out, "v1"), whole, false)
		want := hashDir(t, whole)
		if n != 2 {
			continue
		}
		// A part is not a model to serve.
		if _, _, err := runArgs(t, nil, "publish", filepath.Join(parts[0], "v1"), "--root", filepath.Join(tmp, "snapshots")); err == nil ||
			!strings.Contains(err.Error(), "part 0/2 of a sharded training run") {
			t.Errorf("publish of a part: %v, want it refused", err)
		}
		// Renamed by the merge: the same files, the version aside.
		renamed := filepath.Join(tmp, "renamed")
		if _, stderr, err := runArgs(t, nil, append([]string{"train", "merge", "--out", renamed, "--version", "nightly-7"}, parts...)...); err != nil {
			t.Fatalf("merge --version: %v\n%s", err, stderr)
		}
		got := hashDir(t, filepath.Join(renamed, "nightly-7"))
		for name, h := range want {
			if name != "manifest.json" && got[name] != h {
				t.Errorf("merge --version: %s differs from the whole train's", name)
			}
		}
		if m, err := train.ReadManifest(filepath.Join(renamed, "nightly-7")); err != nil || m.Version != "nightly-7" {
			t.Errorf("merge --version: manifest %+v, %v", m, err)
		}
		// Parts that do not make one job.
		for name, c := range map[string]struct {
			parts []string
			want  string
		}{
			"missing":   {parts[:1], "part 1 of 2 is missing"},
			"twice":     {[]string{parts[0], parts[0]}, "given twice"},
			"not parts": {[]string{whole}, "not a part"},
		} {
			_, _, err := runArgs(t, nil, append([]string{"train", "merge", "--out", filepath.Join(tmp, "refused", name)}, c.parts...)...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("merge of %s parts: %v, want an error saying %q", name, err, c.want)
			}
		}
	}
	// The same parts written again, under another version, into the same
	// directories: each keeps only its new part, and the merge reads it.
	again, errs := runParts("n2", 2, func(int) []string {
		return []string{"--version", "v1-again", "--exchange", filepath.Join(tmp, "n2", "exchange-again")}
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range again {
		if ents, _ := os.ReadDir(p); len(ents) != 1 || ents[0].Name() != "v1-again" {
			t.Errorf("%s holds %v after a second run, want only v1-again", p, ents)
		}
	}
	// One part with another seed: no part trains.
	_, errs = runParts("mismatch", 2, func(i int) []string {
		if i == 1 {
			return []string{"--seed", "9"}
		}
		return nil
	})
	for i, err := range errs {
		if err == nil {
			t.Errorf("part %d trained beside a part with other settings", i)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--shard", "0/2"}, "--exchange DIR"},
		{[]string{"--exchange", tmp}, "need --shard"},
		{[]string{"--shard", "0/2", "--exchange", tmp, "--part", tmp, "--shuffle-labels"}, "cannot be shuffled"},
		{[]string{"--shard", fmt.Sprintf("0/%d", data.Blocks+1), "--exchange", tmp, "--part", tmp}, "want i/n"},
	} {
		_, _, err := runArgs(t, nil, append(trainArgs(world, filepath.Join(tmp, "x"), "x"), c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("train %v: %v, want an error saying %q", c.args, err, c.want)
		}
	}
}

// trainParts runs the n parts of a sharded train at once, part i with
// args(i) and --shard i/n, an exchange under dir, its part in dir/part-i
// and 1 or 2 workers; it returns the parts' directories and errors.
func trainParts(t *testing.T, dir string, n int, args func(i int) []string) ([]string, []error) {
	t.Helper()
	parts := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		parts[i] = filepath.Join(dir, fmt.Sprintf("part-%d", i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := args(i) // the command, then its flags: later ones win over these
			a := append([]string{args[0], "--shard", fmt.Sprintf("%d/%d", i, n), "--exchange", filepath.Join(dir, "exchange"), "--part", parts[i],
				"--workers", fmt.Sprint(1 + i%2), "--exchange-timeout", "1m"}, args[1:]...)
			if _, stderr, err := runArgs(t, nil, a...); err != nil {
				errs[i] = fmt.Errorf("part %d: %v\n%s", i, err, stderr)
			}
		}()
	}
	wg.Wait()
	return parts, errs
}

// sameArtefact checks that the artefact in dir is the one in want, byte for
// byte but the manifest's creation time. timed: the report holds the
// search's times, so it is compared without them (and without its size and
// checksum in the manifest).
func sameArtefact(t *testing.T, what, dir, want string, timed bool) {
	t.Helper()
	got, exp := hashDir(t, dir), hashDir(t, want)
	for name, h := range exp {
		if name != "manifest.json" && !(timed && name == train.ReportFile) && got[name] != h {
			t.Errorf("%s: %s differs from the whole train's", what, name)
		}
	}
	if len(got) != len(exp) {
		t.Errorf("%s: files %v, the whole's %v", what, got, exp)
	}
	read := func(path string) any {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	// the manifest without its creation time, and without the report's size
	// and checksum when the report holds times
	manifest := func(v any) string {
		m := v.(map[string]any)
		delete(m, "created")
		for _, f := range m["files"].([]any) {
			if f := f.(map[string]any); timed && f["name"] == train.ReportFile {
				delete(f, "bytes")
				delete(f, "sha256")
			}
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	if a, b := manifest(read(filepath.Join(dir, "manifest.json"))), manifest(read(filepath.Join(want, "manifest.json"))); a != b {
		t.Errorf("%s: the manifest differs from the whole's beyond its creation time:\n%s\n%s", what, a, b)
	}
	if timed {
		var rep [2]string
		for k, d := range []string{dir, want} {
			raw, err := os.ReadFile(filepath.Join(d, train.ReportFile))
			if err != nil {
				t.Fatal(err)
			}
			if rep[k], err = untimedJSON(raw); err != nil {
				t.Fatal(err)
			}
		}
		if rep[0] != rep[1] {
			t.Errorf("%s: the report differs from the whole's beyond its times:\n%s\n%s", what, rep[0], rep[1])
		}
	}
}

// TestTrainOrdersShards: a model learnt from orders alone trains by parts
// (each holding the preference data whole, dividing the search's scoring,
// iALS's rows and the item-item rows) into the artefact the whole train
// writes, byte for byte but the manifest's creation time: on a dated world
// with pushes (--conversion off, a time split) and on an undated one with
// members' own orders (repeated hold-outs).
func TestTrainOrdersShards(t *testing.T) {
	world, _ := sharedFixtures(t)
	tmp := t.TempDir()
	rec := filepath.Join(tmp, "grouprec")
	if _, stderr, err := runArgs(t, nil, "import", "grouprec", "--in", groupRecFixture(t), "--out", rec); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, c := range []struct {
		name  string
		world string
		args  []string
	}{
		{"dated", world, []string{"--conversion", "off", "--budget", "4"}},
		{"undated", rec, []string{"--budget", "6", "--folds", "2"}},
	} {
		dir := filepath.Join(tmp, c.name)
		args := func(out string) []string {
			return append([]string{"train", "--world", c.world, "--out", out, "--version", "o1"}, c.args...)
		}
		if _, stderr, err := runArgs(t, nil, args(filepath.Join(dir, "whole"))...); err != nil {
			t.Fatalf("%s: whole: %v\n%s", c.name, err, stderr)
		}
		parts, errs := trainParts(t, dir, 3, func(int) []string { return args(filepath.Join(dir, "unused")) })
		for _, err := range errs {
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
		}
		merged := filepath.Join(dir, "merged")
		if _, stderr, err := runArgs(t, nil, append([]string{"train", "merge", "--out", merged}, parts...)...); err != nil {
			t.Fatalf("%s: merge: %v\n%s", c.name, err, stderr)
		}
		sameArtefact(t, c.name, filepath.Join(merged, "o1"), filepath.Join(dir, "whole", "o1"), true)
	}
}
