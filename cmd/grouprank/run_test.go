package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"grouprank/data/parquetio"
	"grouprank/data/synth"
)

func runArgs(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errb)
	return out.String(), errb.String(), err
}

func hashDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	h := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		f, _ := os.Open(filepath.Join(dir, e.Name()))
		s := sha256.New()
		io.Copy(s, f)
		f.Close()
		h[e.Name()] = hex.EncodeToString(s.Sum(nil))[:16]
	}
	return h
}

// TestGenIsReproducible: the same seed gives byte-identical files whatever the
// number of workers, another seed gives other files, and the files read back.
func TestGenIsReproducible(t *testing.T) {
	dir := t.TempDir()
	small := []string{"gen", "--groups", "3000", "--products", "800", "--days", "5"}
	for _, c := range []struct{ name, seed, workers string }{{"a", "7", "1"}, {"b", "7", "2"}, {"c", "8", "2"}} {
		if _, stderr, err := runArgs(t, nil, append(small, "--seed", c.seed, "--workers", c.workers, "--out", filepath.Join(dir, c.name))...); err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
	}
	a, b, c := hashDir(t, filepath.Join(dir, "a")), hashDir(t, filepath.Join(dir, "b")), hashDir(t, filepath.Join(dir, "c"))
	if !reflect.DeepEqual(a, b) {
		t.Errorf("same seed, different files:\n%v\n%v", a, b)
	}
	if a["orders.parquet"] == c["orders.parquet"] {
		t.Error("different seeds gave the same orders")
	}
	if len(a) != 9 { // seven tables, world.json, categories.json
		t.Errorf("files %v", a)
	}
	m, err := synth.ReadManifest(filepath.Join(dir, "a"))
	if err != nil {
		t.Fatal(err)
	}
	a0 := filepath.Join(dir, "a")
	rows := map[string]int64{
		"orders.parquet":    roundTrip(t, filepath.Join(a0, "orders.parquet"), parquetio.Orders),
		"pushes.parquet":    roundTrip(t, filepath.Join(a0, "pushes.parquet"), parquetio.Pushes),
		"exposures.parquet": roundTrip(t, filepath.Join(a0, "exposures.parquet"), parquetio.Exposures),
		"members.parquet":   roundTrip(t, filepath.Join(a0, "members.parquet"), parquetio.Members),
		"groups.parquet":    roundTrip(t, filepath.Join(a0, "groups.parquet"), parquetio.Groups),
		"catalog.parquet":   roundTrip(t, filepath.Join(a0, "catalog.parquet"), parquetio.Catalog),
		"products.parquet":  roundTrip(t, filepath.Join(a0, "products.parquet"), parquetio.Products),
	}
	for name, n := range rows {
		if n != m.Rows[name] || n == 0 {
			t.Errorf("%s: read %d rows, manifest says %d", name, n, m.Rows[name])
		}
	}
}

// roundTrip reads a table file (validating every row), writes the rows again
// and reads them back: the rows must be equal. It returns the number of rows.
func roundTrip[T any](t *testing.T, path string, tb *parquetio.Table[T]) int64 {
	t.Helper()
	rows, err := parquetio.ReadFile(path, tb)
	if err != nil {
		t.Fatal(err)
	}
	again := filepath.Join(t.TempDir(), tb.File)
	if err := parquetio.WriteFile(again, tb, rows, parquetio.Options{}); err != nil {
		t.Fatal(err)
	}
	back, err := parquetio.ReadFile(again, tb)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rows, back) {
		t.Errorf("%s: %d rows written again read back different", tb.File, len(rows))
	}
	return int64(len(rows))
}

func TestImportBadPriceExitsNonZero(t *testing.T) {
	out := filepath.Join(t.TempDir(), "products.parquet")
	_, stderr, err := runArgs(t, nil, "import", "--table", "products", "--in", "../../data/importer/testdata/products_bad_price.csv",
		"--out", out, "--map", "sku=item_id,price_cents=price")
	if err == nil {
		t.Fatal("import succeeded")
	}
	if !strings.Contains(stderr, "products_bad_price.csv:7: column price") || !strings.Contains(err.Error(), "nothing written") {
		t.Fatalf("err %v\nstderr %s", err, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatal("file written")
	}
}

func TestBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"gen", "--groups", "3"}, nil, "--groups 3: want [10, 16777216]"},
		{[]string{"gen", "--start", "yesterday"}, nil, "--start"},
		{[]string{"gen", "--days", "x"}, nil, "invalid argument"},
		{[]string{"gen"}, map[string]string{"GROUPRANK_GEN_DAYS": "zero"}, "--days from the environment"},
		{[]string{"import", "--table", "products"}, nil, "required"},
		{[]string{"import", "--table", "x", "--in", "a", "--out", "b"}, nil, "unknown table"},
		{[]string{"import", "--map", "sku"}, nil, "target=source"},
		{[]string{"import", "--format", "xls"}, nil, "csv, tsv or ws"},
		{[]string{"--log-format", "xml", "gen"}, nil, "--log-format"},
		{[]string{"--config", "/nonexistent.json", "gen"}, nil, "config /nonexistent.json"},
		{[]string{"nope"}, nil, "unknown command"},
		{[]string{"eval", "business", "--model", "m", "--blend", "0,x,0"}, nil, "--blend \"0,x,0\": want price,commission,rating"},
		{[]string{"eval", "business", "--model", "m", "--blend", "0,99,0"}, nil, "within -10..10"},
		{[]string{"eval", "business", "--model", "m", "--blend", "0,1,0,-1"}, nil, "caution must be within 0..10"},
		{[]string{"eval", "business", "--model", "m", "--blend", "0,1"}, nil, "want price,commission,rating"},
		{[]string{"serve", "--explore", "1.5"}, nil, "--explore 1.5: want [0, 1]"},
		{[]string{"events", "export", "--since", "2026-11-01", "--orders-out", "o.parquet"}, nil, "--orders-out needs --rates-from"},
		{[]string{"simulate", "--experiment", "x", "--explore", "2"}, nil, "--explore 2: want [0, 1]"},
		{[]string{"events", "export", "--since", "2026-11-01", "--orders-out", "o.parquet", "--rates-from", "/nonexistent"}, nil, "--rates-from"},
		{[]string{"serve"}, map[string]string{"GROUPRANK_SERVE_EXPLORE": "-0.1"}, "--explore -0.1: want [0, 1]"},
		{[]string{"serve", "--addr", "0.0.0.0:8080"}, nil, "--api-keys is empty, so picks and events would be open to anyone"},
		{[]string{"serve", "--addr", ":8080"}, nil, "give --api-keys"},
		{[]string{"serve", "--read-timeout", "0s"}, nil, "--read-timeout 0s: want a duration > 0"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, _, err := runArgs(t, tc.env, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

// TestConfigPrecedence: flag beats environment beats config file.
func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.json")
	os.WriteFile(cfg, []byte(`{"gen": {"groups": 20, "products": 60, "days": 2, "seed": 3}}`), 0o644)
	out := filepath.Join(dir, "w")
	_, stderr, err := runArgs(t, map[string]string{"GROUPRANK_GEN_DAYS": "3", "GROUPRANK_GEN_SEED": "4"},
		"--config", cfg, "gen", "--seed", "5", "--out", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	m, err := synth.ReadManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	if p := m.Params; p.Groups != 20 || p.Products != 60 || p.Days != 3 || p.Seed != 5 {
		t.Fatalf("params %+v: want groups/products from the file, days from env, seed from the flag", p)
	}
}

// TestDemo runs the quick start: the demo generates, trains, publishes and
// serves; the curl commands it prints answer (the demo is shared with
// TestDashboard; TestMain checks it exits cleanly when interrupted).
func TestDemo(t *testing.T) {
	out, _ := sharedDemo(t)
	m := regexp.MustCompile(`curl '(http://[^']+explain=true)'`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("the demo printed no picks curl:\n%s", out.String())
	}
	resp, err := http.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Items []struct {
			Reason string `json:"reason"`
		} `json:"items"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(body.Items) != 5 || body.Items[0].Reason == "" {
		t.Errorf("the printed curl %s: %d %+v", m[1], resp.StatusCode, body)
	}
	text := out.String()
	for _, w := range []string{"orders per group per day", "POP share of GMV", "trained and published as demo-1", "test pushes", "Try:", "eval business", "cold start"} {
		if !strings.Contains(text, w) {
			t.Errorf("demo output lacks %q:\n%s", w, text)
		}
	}
}

// TestProfiles: --cpuprofile and --memprofile write gzipped pprof profiles
// of the command; an unwritable --memprofile fails the command.
func TestProfiles(t *testing.T) {
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu.prof"), filepath.Join(dir, "mem.prof")
	if _, stderr, err := runArgs(t, nil, "gen", "--groups", "200", "--products", "100", "--days", "3", "--seed", "1", "--out", filepath.Join(dir, "w"),
		"--cpuprofile", cpu, "--memprofile", mem); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, p := range []string{cpu, mem} {
		b, err := os.ReadFile(p)
		if err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Fatalf("%s: not a gzipped profile (%d bytes, %v)", p, len(b), err)
		}
	}
	if _, _, err := runArgs(t, nil, "gen", "--groups", "200", "--products", "100", "--days", "3", "--seed", "1", "--out", filepath.Join(dir, "w2"),
		"--memprofile", filepath.Join(dir, "no", "such", "dir", "mem.prof")); err == nil {
		t.Fatal("an unwritable --memprofile did not fail the command")
	}
}

// TestPeakProfile: --memprofile-peak rewrites its profile while the live
// heap climbs to a new high, not after it falls, and an unwritable path
// fails the command.
func TestPeakProfile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "peak.prof")
	read := func() []byte {
		b, err := os.ReadFile(path)
		if err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Fatalf("%s: not a gzipped profile (%d bytes, %v)", path, len(b), err)
		}
		return b
	}
	// One sample after each collection, in this goroutine: the sampler's
	// ticker is not relied on to run within a given time.
	p := &peakProfile{path: path}
	settle := func() {
		runtime.GC()
		p.check()
		if p.err != nil {
			t.Fatal(p.err)
		}
	}
	held := make([]byte, 64<<20)
	held[len(held)-1] = 1
	settle()
	atPeak := read()
	runtime.KeepAlive(held)
	held = nil
	settle()
	if !bytes.Equal(read(), atPeak) {
		t.Error("the profile was rewritten after the live heap fell")
	}
	higher := make([]byte, 256<<20)
	higher[len(higher)-1] = 1
	settle()
	if bytes.Equal(read(), atPeak) {
		t.Error("the profile was not rewritten at a new high")
	}
	runtime.KeepAlive(higher)
	// The sampler writes the profile by itself, at the latest when stopped.
	path = filepath.Join(dir, "sampled.prof")
	stop := startPeakProfile(path, time.Hour)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	read()
	if _, _, err := runArgs(t, nil, "gen", "--groups", "200", "--products", "100", "--days", "3", "--seed", "1", "--out", filepath.Join(dir, "w"),
		"--memprofile-peak", filepath.Join(dir, "no", "such", "dir", "peak.prof")); err == nil {
		t.Fatal("an unwritable --memprofile-peak did not fail the command")
	}
}
