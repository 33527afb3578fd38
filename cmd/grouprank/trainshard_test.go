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
		ex := filepath.Join(tmp, name, "exchange")
		parts := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			parts[i] = filepath.Join(tmp, name, fmt.Sprintf("part-%d", i))
			wg.Add(1)
			go func() {
				defer wg.Done()
				args := append(trainArgs(world, filepath.Join(tmp, name, "unused"), "v1"), "--shard", fmt.Sprintf("%d/%d", i, n),
					"--exchange", ex, "--part", parts[i], "--workers", fmt.Sprint(1+i%2), "--exchange-timeout", "1m")
				if _, stderr, err := runArgs(t, nil, append(args, extra(i)...)...); err != nil {
					errs[i] = fmt.Errorf("part %d: %v\n%s", i, err, stderr)
				}
			}()
		}
		wg.Wait()
		return parts, errs
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
		got, want := hashDir(t, filepath.Join(out, "v1")), hashDir(t, whole)
		for name, h := range want {
			if name != "manifest.json" && got[name] != h {
				t.Errorf("%d parts: %s differs from the whole train's", n, name)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%d parts: files %v, the whole's %v", n, got, want)
		}
		var a, b map[string]any
		for p, m := range map[string]*map[string]any{filepath.Join(out, "v1", "manifest.json"): &a, filepath.Join(whole, "manifest.json"): &b} {
			raw, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, m); err != nil {
				t.Fatal(err)
			}
			delete(*m, "created")
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Errorf("%d parts: the manifest differs from the whole's beyond its creation time:\n%s\n%s", n, ja, jb)
		}
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
		got = hashDir(t, filepath.Join(renamed, "nightly-7"))
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
