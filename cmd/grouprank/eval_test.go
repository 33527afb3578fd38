package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"grouprank/data"
	"grouprank/data/parquetio"
)

// smallWorld generates a small world for a test.
func smallWorld(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "w")
	if _, stderr, err := runArgs(t, nil, "gen", "--groups", "1500", "--products", "400", "--days", "8", "--seed", "2", "--out", dir); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	return dir
}

// copyWorld copies a world directory so a test may break one of its files.
func copyWorld(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "copy")
	os.MkdirAll(dst, 0o755)
	entries, _ := os.ReadDir(src)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644)
	}
	return dst
}

func TestEval(t *testing.T) {
	dir := smallWorld(t)
	js, md := filepath.Join(t.TempDir(), "r.json"), filepath.Join(t.TempDir(), "r.md")
	out, stderr, err := runArgs(t, nil, "eval", "--world", dir, "--test-days", "3", "--factors", "8", "--epochs", "4",
		"--oracle-groups", "500", "--json", js, "--markdown", md)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, m := range []string{"popular ", "popular-cell", "practice", "item-knn", "ials", "profile", "blend", "oracle@10", "AUC of the true push value"} {
		if !strings.Contains(out, m) {
			t.Errorf("report lacks %q:\n%s", m, out)
		}
	}
	if strings.Contains(out, "NaN") {
		t.Errorf("NaN in the report:\n%s", out)
	}
	b, _ := os.ReadFile(md)
	if !strings.HasPrefix(string(b), "| method |") {
		t.Errorf("markdown %q", b)
	}
	if b, _ := os.ReadFile(js); !strings.Contains(string(b), `"oracle_ratio"`) {
		t.Errorf("json %s", b)
	}
	// Reproducible: the same command gives the same table.
	again, _, _ := runArgs(t, nil, "eval", "--world", dir, "--test-days", "3", "--factors", "8", "--epochs", "4", "--oracle-groups", "500")
	if again != out {
		t.Errorf("two runs differ:\n%s\n%s", out, again)
	}
	evalShards(t, dir)
}

// evalShards: eval --shard i/3 --part --exchange, the three parts run at
// once with different numbers of workers, each reading only its groups'
// rows, and eval merge writes what the unsharded eval writes (the table,
// --json and --markdown), byte for byte, with the samples (--eval-groups,
// --auc-groups, the oracle's groups) and the debiasing counts drawn over
// every group; a missing or doubled part, one from other settings, and a
// part without its exchange or with a used one are refused.
func evalShards(t *testing.T, dir string) {
	tmp := t.TempDir()
	args := []string{"eval", "--world", dir, "--test-days", "3", "--factors", "8", "--epochs", "4", "--oracle-groups", "500",
		"--eval-groups", "300", "--auc-groups", "100", "--pop-debias", "0.5"}
	js, md := filepath.Join(tmp, "r.json"), filepath.Join(tmp, "r.md")
	out, stderr, err := runArgs(t, nil, append(args, "--json", js, "--markdown", md)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	parts := func(name string, extra ...string) []string {
		ex := filepath.Join(tmp, name+"-exchange")
		paths := make([]string, 3)
		errs := make([]error, 3)
		var wg sync.WaitGroup
		for i := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				paths[i] = filepath.Join(tmp, fmt.Sprintf("%s-%d", name, i))
				a := append(slices.Clone(args), "--shard", fmt.Sprintf("%d/3", i), "--part", paths[i], "--workers", fmt.Sprint(1+i%2), "--exchange", ex)
				if _, stderr, err := runArgs(t, nil, append(a, extra...)...); err != nil {
					errs[i] = fmt.Errorf("shard %d: %v\n%s", i, err, stderr)
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if entries, _ := os.ReadDir(ex); len(entries) != 1 {
			t.Errorf("the exchange directory holds %d entries after the run, want only its last step", len(entries))
		}
		return paths
	}
	ps := parts("part")
	mjs, mmd := filepath.Join(tmp, "m.json"), filepath.Join(tmp, "m.md")
	got, stderr, err := runArgs(t, nil, append([]string{"eval", "merge", "--json", mjs, "--markdown", mmd}, ps[2], ps[0], ps[1])...)
	if err != nil {
		t.Fatalf("merge: %v\n%s", err, stderr)
	}
	if got != out {
		t.Errorf("merged report\n%s\ndiffers from the unsharded one\n%s", got, out)
	}
	for _, f := range [][2]string{{js, mjs}, {md, mmd}} {
		a, _ := os.ReadFile(f[0])
		b, _ := os.ReadFile(f[1])
		if len(a) == 0 || string(a) != string(b) {
			t.Errorf("merge wrote %s (%d bytes), the unsharded eval %s (%d bytes)", f[1], len(b), f[0], len(a))
		}
	}
	other := parts("other", "--seed", "5")
	used := filepath.Join(tmp, "part-exchange")
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"missing":                {[]string{"eval", "merge", ps[0], ps[1]}, "shard 2/3 is missing"},
		"doubled":                {[]string{"eval", "merge", ps[0], ps[1], ps[1]}, "shard 1/3 is given twice"},
		"other seed":             {[]string{"eval", "merge", ps[0], ps[1], other[2]}, "evaluated"},
		"not a part":             {[]string{"eval", "merge", js}, "not an eval part"},
		"no --part":              {append(args, "--shard", "0/3", "--exchange", used), "--part"},
		"no --exchange":          {append(args, "--shard", "0/3", "--part", filepath.Join(tmp, "x")), "--exchange"},
		"bad shard":              {append(args, "--shard", "3/3", "--part", filepath.Join(tmp, "x"), "--exchange", used), "want i/n"},
		"exchange without shard": {append(args, "--exchange", used), "need --shard"},
		"used exchange":          {append(args, "--shard", "0/3", "--part", filepath.Join(tmp, "x"), "--exchange", used), "left by another run"},
	} {
		if _, stderr, err := runArgs(t, nil, tc.args...); err == nil || !strings.Contains(err.Error()+stderr, tc.want) {
			t.Errorf("%s: err %v, stderr %q; want %q", name, err, stderr, tc.want)
		}
	}
}

func TestEvalBadInput(t *testing.T) {
	dir := smallWorld(t)
	orders, err := parquetio.ReadFile(filepath.Join(dir, parquetio.Orders.File), parquetio.Orders)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		orders func() []data.Order
		args   []string
		want   string
	}{
		{"empty order file", func() []data.Order { return nil }, nil, "no orders"},
		{"unknown sku", func() []data.Order {
			o := append([]data.Order(nil), orders...)
			o[5].SKU = 999
			return o
		}, nil, "row 6: order"},
		{"test window without orders", func() []data.Order {
			var early []data.Order
			for _, o := range orders {
				if o.Time < orders[0].Time+3*data.Day {
					early = append(early, o)
				}
			}
			return early
		}, []string{"--test-days", "2"}, "holds no placed order"},
		{"unknown method", nil, []string{"--methods", "magic"}, "unknown method magic"},
		{"no history", nil, []string{"--test-days", "30"}, "leaves no history"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := copyWorld(t, dir)
			if tc.orders != nil {
				if err := parquetio.WriteFile(filepath.Join(w, parquetio.Orders.File), parquetio.Orders, tc.orders(), parquetio.Options{}); err != nil {
					t.Fatal(err)
				}
			}
			out, _, err := runArgs(t, nil, append([]string{"eval", "--world", w, "--epochs", "1", "--factors", "4"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q; out %s", err, tc.want, out)
			}
		})
	}
}

func TestTune(t *testing.T) {
	dir := smallWorld(t)
	out, stderr, err := runArgs(t, nil, "tune", "--world", dir, "--test-days", "2", "--val-days", "2", "--epochs", "3",
		"--grid", "factors=4,8;lambda=0.002")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(out, "best: --factors") || strings.Count(out, "--lambda 0.002") != 3 {
		t.Fatalf("tune output:\n%s", out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--grid", "colour=1"}, "want name=v1,v2"},
		{[]string{"--grid", "factors=2.5"}, "not a valid value"},
		{[]string{"--objective", "auc"}, "--objective"},
		{[]string{"--method", "popular"}, "--method"},
		{[]string{"--test-days", "4", "--val-days", "4"}, "leaves no history"},
	} {
		_, _, err := runArgs(t, nil, append([]string{"tune", "--world", dir, "--grid", "factors=4"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want %q", tc.args, err, tc.want)
		}
	}
}

// TestBeiBeiCommands runs import, eval and tune on a tiny BeiBei-shaped set.
func TestBeiBeiCommands(t *testing.T) {
	src, out := t.TempDir(), filepath.Join(t.TempDir(), "bb")
	var tune, invalid, test strings.Builder
	for u := range 60 {
		fmt.Fprintf(&tune, "%d\t%d\t%d\n", u, u%7, (u+1)%60)
		fmt.Fprintf(&invalid, "%d\t%d\n", u, 10+u%5)
		fmt.Fprintf(&test, "%d\t%d\t%d\n", u, (u+3)%7, (u+2)%60)
	}
	os.WriteFile(filepath.Join(src, "data_size.txt"), []byte("60\t20\n"), 0o644)
	os.WriteFile(filepath.Join(src, "tune.txt"), []byte(tune.String()), 0o644)
	os.WriteFile(filepath.Join(src, "invalid.txt"), []byte(invalid.String()), 0o644)
	os.WriteFile(filepath.Join(src, "test.txt"), []byte(test.String()), 0o644)
	if _, stderr, err := runArgs(t, nil, "import", "beibei", "--in", src, "--out", out); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	res, stderr, err := runArgs(t, nil, "eval", "beibei", "--data", out, "--factors", "4", "--epochs", "2", "--bootstrap", "50")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, m := range []string{"success-popular", "launch-popular", "item-knn", "ials", "social", "blend", "60 targets"} {
		if !strings.Contains(res, m) {
			t.Errorf("eval beibei lacks %q:\n%s", m, res)
		}
	}
	// As 3 parts at once (1 or 2 workers each), merged: the whole run's table.
	tmp := t.TempDir()
	parts, errs := trainParts(t, tmp, 3, func(int) []string {
		return []string{"eval", "beibei", "--data", out, "--factors", "4", "--epochs", "2", "--bootstrap", "50"}
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	md := filepath.Join(tmp, "merged.md")
	merged, stderr, err := runArgs(t, nil, append([]string{"eval", "merge", "--markdown", md}, parts...)...)
	if err != nil {
		t.Fatalf("eval merge: %v\n%s", err, stderr)
	}
	if b, _ := os.ReadFile(md); merged != res || string(b) != res {
		t.Errorf("the merged table differs from the whole eval's:\n%s\n%s", merged, res)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"eval", "beibei", "--data", out, "--shard", "0/2"}, "--exchange DIR"},
		{[]string{"eval", "beibei", "--data", out, "--part", md}, "need --shard"},
		{[]string{"eval", "beibei", "--data", out, "--shard", "0/2", "--part", md, "--exchange", tmp, "--root", tmp}, "--root"},
		{append([]string{"eval", "merge", "--json", filepath.Join(tmp, "x.json")}, parts...), "no JSON form"},
		{append([]string{"eval", "merge"}, parts[:2]...), "shard 2/3 is missing"},
	} {
		if _, _, err := runArgs(t, nil, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want an error naming %q", c.args, err, c.want)
		}
	}
	// The launches as undated pushes: train chooses a model on a split of the
	// history (each group ordered one item, so the pushes no order carried
	// keep its history), publish serves it, and eval beibei ranks with it.
	arts, root := filepath.Join(t.TempDir(), "models"), filepath.Join(t.TempDir(), "snapshots")
	res, stderr, err = runArgs(t, nil, "train", "--world", out, "--out", arts, "--version", "bb", "--budget", "3", "--folds", "1")
	if err != nil || !strings.Contains(res, "pushes no order carried (60)") || !strings.Contains(res, "the pushes carry no times") {
		t.Fatalf("train on BeiBei: %v\n%s\n%s", err, res, stderr)
	}
	if _, stderr, err := runArgs(t, nil, "publish", filepath.Join(arts, "bb"), "--root", root); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	res, stderr, err = runArgs(t, nil, "eval", "beibei", "--data", out, "--root", root, "--methods", "ials", "--factors", "4", "--epochs", "2", "--bootstrap", "20")
	if err != nil || !strings.Contains(res, "published (") {
		t.Fatalf("eval beibei --root: %v\n%s\n%s", err, res, stderr)
	}
	res, stderr, err = runArgs(t, nil, "tune", "beibei", "--data", out, "--share", "0.5", "--weights", "0.1,1")
	if err != nil || !strings.Contains(res, "best by NDCG@10: --social-weight") || !strings.Contains(res, "--ials-weight") {
		t.Fatalf("tune beibei: %v\n%s\n%s", err, res, stderr)
	}
	if _, _, err := runArgs(t, nil, "tune", "beibei", "--data", out, "--weights", "x"); err == nil || !strings.Contains(err.Error(), "--weights") {
		t.Error("bad weight accepted")
	}
	// Items 0-6 always succeed and 10-14 always fail: every scorer separates them perfectly.
	res, stderr, err = runArgs(t, nil, "eval", "beibei-launches", "--data", out, "--test-share", "0.5", "--bootstrap", "20")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, m := range []string{"item success rate (baseline) | 1.0000", "conversion model (logistic, calibrated) | 1.0000", "held-out launches"} {
		if !strings.Contains(res, m) {
			t.Errorf("eval beibei-launches lacks %q:\n%s", m, res)
		}
	}
}
