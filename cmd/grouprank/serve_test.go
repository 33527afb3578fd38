package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"grouprank/data"
	"grouprank/data/parquetio"
	"grouprank/recommend/client"
	"grouprank/train"
)

// lineWatcher is a writer that reports the first line matching re.
type lineWatcher struct {
	mu   sync.Mutex
	buf  strings.Builder
	re   *regexp.Regexp
	seen chan string
}

// String is everything written so far.
func (w *lineWatcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if m := w.re.FindStringSubmatch(w.buf.String()); m != nil && w.seen != nil {
		w.seen <- m[1]
		w.seen = nil
	}
	return len(p), nil
}

// TestServe runs the real program: train, publish, then serve on port 0;
// picks for a known group, a cold-start group, and every bad request.
func TestServe(t *testing.T) {
	dir, arts, root := published(t, true)
	if _, stderr, err := runArgs(t, nil, "publish", filepath.Join(arts, "v2"), "--root", root, "--no-promote"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	base, done := startServe(t, ctx, map[string]string{"GROUPRANK_SERVE_ADMIN_TOKEN": "s3cret"}, // the token comes from the environment
		"--root", root, "--addr", "127.0.0.1:0", "--live", filepath.Join(dir, "live"))
	get := func(path string) (int, map[string]any) { t.Helper(); return getObject(t, base+path) }
	if code, body := get("/readyz"); code != 200 || body["model_version"] != "v1" {
		t.Errorf("readyz: %d %v", code, body)
	}
	// The Go client sees what the API answers, and the service's refusals as *client.Error.
	cl := client.New(base, nil)
	cp, err := cl.Picks(ctx, 5, client.PicksOptions{K: 4, Objective: "gmv", Explain: true})
	if err != nil || len(cp.Items) != 4 || cp.ModelVersion != "v1" || cp.Items[0].Reason == "" || cp.Items[0].P <= 0 {
		t.Errorf("client picks: %v %+v", err, cp)
	}
	var ce *client.Error
	if _, err := cl.Picks(ctx, 5, client.PicksOptions{K: 500}); !errors.As(err, &ce) || ce.Status != 400 || ce.RequestID == "" {
		t.Errorf("client picks with k=500: %v", err)
	}
	code, body := get("/v1/groups/5/picks?k=7&objective=commission")
	items, _ := body["items"].([]any)
	if code != 200 || len(items) != 7 || body["model_version"] != "v1" || body["request_id"] == "" || body["cold_start"] != false {
		t.Fatalf("picks: %d %v", code, body)
	}
	firstRequest := body["request_id"].(string)
	first := items[0].(map[string]any)
	for _, f := range []string{"sku", "title", "price_cents", "commission_cents", "rating", "p", "expected_orders", "score"} {
		if _, ok := first[f]; !ok {
			t.Errorf("pick lacks %q: %v", f, first)
		}
	}
	sku := int64(first["sku"].(float64))
	_, again := get("/v1/groups/5/picks?k=7&objective=commission&exclude=" + strconv.FormatInt(sku, 10))
	for _, it := range again["items"].([]any) {
		if int64(it.(map[string]any)["sku"].(float64)) == sku {
			t.Errorf("excluded sku %d came back", sku)
		}
	}
	if code, body := get("/v1/groups/99999999/picks?channel=installer&tier=2"); code != 200 || body["cold_start"] != true || len(body["items"].([]any)) != 20 {
		t.Errorf("unknown group: %d %v", code, body)
	}
	for _, bad := range []string{"/v1/groups/0/picks", "/v1/groups/x/picks", "/v1/groups/5/picks?k=0", "/v1/groups/5/picks?k=201",
		"/v1/groups/5/picks?k=abc", "/v1/groups/5/picks?objective=nope", "/v1/groups/5/picks?category=nope",
		"/v1/groups/5/picks?price_min=500&price_max=100", "/v1/groups/5/picks?price_min=-1", "/v1/groups/5/picks?exclude=a,b",
		"/v1/groups/5/picks?channel=wizard", "/v1/groups/5/picks?tier=9"} {
		if code, body := get(bad); code != 400 || body["error"] == "" {
			t.Errorf("%s: %d %v, want a JSON 400", bad, code, body)
		}
	}
	if code, _ := get("/v1/nope"); code != 404 {
		t.Errorf("unknown route: %d", code)
	}
	postBody := func(path, body string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatalf("%s: not JSON: %v", path, err)
		}
		return resp.StatusCode, out
	}
	now := time.Now().UTC()
	ev := func(id, kind string, extra string, at time.Time) string {
		return `{"id":"` + id + `","kind":"` + kind + `","group":5,"sku":` + strconv.FormatInt(sku, 10) + `,"time":"` + at.Format(time.RFC3339) + `"` + extra + `}`
	}
	batch := `{"events":[` + ev("p1", "push", `,"push":77`, now.Add(-time.Hour)) + `,` + ev("x1", "exposure", `,"request_id":"r1","rank":1`, now.Add(-2*time.Hour)) +
		`,` + ev("o1", "order", `,"order":9,"quantity":2,"amount_cents":1800,"push":77`, now.Add(-time.Minute)) + `]}`
	if code, body := postBody("/v1/events", batch); code != 200 || body["accepted"] != 3.0 || body["duplicates"] != 0.0 {
		t.Fatalf("events: %d %v", code, body)
	}
	if code, body := postBody("/v1/events", batch); code != 200 || body["accepted"] != 0.0 || body["duplicates"] != 3.0 {
		t.Errorf("the same batch again: %d %v", code, body)
	}
	_, after := get("/v1/groups/5/picks?k=7&objective=commission")
	for _, it := range after["items"].([]any) {
		if int64(it.(map[string]any)["sku"].(float64)) == sku {
			t.Errorf("sku %d was pushed to the group an hour ago and is picked again", sku)
		}
	}
	for _, c := range []struct {
		name, body string
		code       int
	}{
		{"malformed", `{"events":[`, 400},
		{"unknown field", `{"events":[` + ev("u1", "push", `,"push":1,"colour":"red"`, now) + `]}`, 400},
		{"empty", `{"events":[]}`, 400},
		{"unknown kind", `{"events":[` + ev("k1", "teleport", ``, now) + `]}`, 400},
		{"unknown sku", `{"events":[{"id":"s1","kind":"push","group":5,"sku":999999999,"push":1,"time":"` + now.Format(time.RFC3339) + `"}]}`, 400},
		{"a text id where ids are integers", `{"events":[{"id":"s2","kind":"push","group":"grp-5","sku":` + strconv.Itoa(int(sku)) + `,"push":1,"time":"` + now.Format(time.RFC3339) + `"}]}`, 400},
		{"a fraction for an id", `{"events":[{"id":"s3","kind":"push","group":5.5,"sku":` + strconv.Itoa(int(sku)) + `,"push":1,"time":"` + now.Format(time.RFC3339) + `"}]}`, 400},
		{"future", `{"events":[` + ev("f1", "push", `,"push":2`, now.Add(time.Hour)) + `]}`, 400},
		{"too late", `{"events":[` + ev("l1", "push", `,"push":3`, now.Add(-8*24*time.Hour)) + `]}`, 400},
		{"one bad in a batch", `{"events":[` + ev("g1", "push", `,"push":4`, now) + `,` + ev("g2", "order", `,"order":0`, now) + `]}`, 400},
		{"too large", `{"events":[` + strings.Repeat(ev("big", "push", `,"push":5`, now)+",", 20000) + ev("big", "push", `,"push":5`, now) + `]}`, 413},
	} {
		if code, body := postBody("/v1/events", c.body); code != c.code || body["error"] == "" {
			t.Errorf("%s: %d %v, want a JSON %d", c.name, code, body, c.code)
		}
	}
	if _, body := postBody("/v1/events", `{"events":[`+ev("g1", "push", `,"push":4`, now)+`]}`); body["accepted"] != 1.0 {
		t.Errorf("a rejected batch must store nothing: g1 again gave %v", body)
	}
	ce2 := client.EventOf(data.Event{ID: "c1", Kind: data.EventClick, Group: 5, SKU: data.SKU(sku), Push: 77, Time: data.TimestampOf(now)})
	if a, d, err := cl.SendEvents(ctx, []client.Event{ce2, ce2}); err != nil || a != 1 || d != 1 {
		t.Errorf("client events: %d accepted, %d duplicates, %v", a, d, err)
	}
	post := func(path, token string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("POST", base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	if code, _ := post("/v1/admin/models/v2/promote", ""); code != 401 {
		t.Errorf("promote without a token: %d, want 401", code)
	}
	if code, _ := post("/v1/admin/models/v2/promote", "wrong"); code != 401 {
		t.Errorf("promote with a wrong token: %d, want 401", code)
	}
	if code, body := post("/v1/admin/models/v2/promote", "s3cret"); code != 200 || body["model_version"] != "v2" {
		t.Errorf("promote: %d %v", code, body)
	}
	if _, body := get("/v1/groups/5/picks"); body["model_version"] != "v2" {
		t.Errorf("after promote, picks come from %v", body["model_version"])
	}
	if code, _ := post("/v1/admin/models/nope/promote", "s3cret"); code != 404 {
		t.Errorf("promote of an unpublished version: %d, want 404", code)
	}
	if code, body := post("/v1/admin/models/rollback", "s3cret"); code != 200 || body["model_version"] != "v1" {
		t.Errorf("rollback: %d %v", code, body)
	}
	if code, body := post("/v1/admin/models/reload", "s3cret"); code != 200 || body["model_version"] != "v1" {
		t.Errorf("reload: %d %v", code, body)
	}
	// Catalogue updates apply without a new model, survive a reload, and are admin-only.
	postAuth := func(path, token, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	newItem := `{"products":[{"sku":77777777,"title":"new kettle","category_l1":"appliances","category_l2":"kitchen","brand":"acme",
		"price_cents":15900,"good_reviews":95,"reviews":100,"commission_rate":0.2,"seller":"pop","in_stock":true}]}`
	if code, _ := postAuth("/v1/admin/catalog", "wrong", newItem); code != 401 {
		t.Errorf("catalogue update with a wrong token: %d", code)
	}
	if code, body := postAuth("/v1/admin/catalog", "s3cret", newItem); code != 200 || body["added"] != 1.0 {
		t.Fatalf("catalogue update: %d %v", code, body)
	}
	if code, body := postAuth("/v1/admin/catalog", "s3cret", `{"products":[{"sku":5,"price_cents":-7,"seller":"pop"}]}`); code != 400 || body["problems"] == nil {
		t.Errorf("a bad product: %d %v", code, body)
	}
	// An update merges: the price alone changes the price and keeps the rest.
	if code, body := postAuth("/v1/admin/catalog", "s3cret", `{"products":[{"sku":77777777,"price_cents":9900}]}`); code != 200 || body["updated"] != 1.0 {
		t.Errorf("a price update: %d %v", code, body)
	}
	if _, body := get("/v1/groups/5/picks?k=200&category=appliances&preview=true"); !hasItem(body, 77777777, "new kettle", 9900) {
		t.Errorf("after a price-only update the kettle is not listed with its title and the new price: %v", body)
	}
	if code, body := postAuth("/v1/admin/catalog", "s3cret", `{"products":[{"sku":77777778,"title":"half a product"}]}`); code != 400 ||
		!strings.Contains(fmt.Sprint(body["problems"]), "category_l1, price_cents") {
		t.Errorf("a new SKU without its required fields: %d %v", code, body)
	}
	// grouprank catalog import sends a products table through the same route.
	prodFile := filepath.Join(dir, "updates.parquet")
	if err := parquetio.WriteFile(prodFile, parquetio.Products, []data.Product{{SKU: 88888888, Title: "new fridge", CategoryL1: "appliances",
		PriceCents: 299900, GoodReviews: 9, Reviews: 10, Commission: 0.05, Seller: data.SellerSelf, InStock: true}}, parquetio.Options{}); err != nil {
		t.Fatal(err)
	}
	if res, stderr, err := runArgs(t, map[string]string{"GROUPRANK_CATALOG_IMPORT_TOKEN": "s3cret"}, "catalog", "import", "--in", prodFile, "--server", base); err != nil || !strings.Contains(res, "1 added") {
		t.Errorf("catalog import: %v %q\n%s", err, res, stderr)
	}
	if _, _, err := runArgs(t, nil, "catalog", "import", "--in", prodFile, "--server", base, "--token", "wrong"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("catalog import with a wrong token: %v", err)
	}
	for _, path := range []string{"", "/v1/admin/models/reload"} {
		if path != "" {
			post(path, "s3cret")
		}
		_, body := get("/v1/groups/5/picks?k=200&category=appliances")
		found := false
		for _, it := range body["items"].([]any) {
			if it.(map[string]any)["sku"].(float64) == 77777777 {
				found = true
			}
		}
		if !found {
			t.Errorf("the new item is not among the appliances picks (after %q)", path)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve after cancel: %v", err)
	}
	// Every served list was logged as exposures: the first request's 7 items, ranks 1 to 7.
	exps := filepath.Join(dir, "exposures.parquet")
	if _, stderr, err := runArgs(t, nil, "events", "export", "--live", filepath.Join(dir, "live"), "--since", now.Add(-time.Hour).Format(time.RFC3339),
		"--out", filepath.Join(dir, "ev.parquet"), "--exposures-out", exps); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	rows, err := parquetio.ReadFile(exps, parquetio.Exposures)
	if err != nil {
		t.Fatal(err)
	}
	var ranks []int32
	for _, r := range rows {
		if r.RequestID == firstRequest {
			ranks = append(ranks, r.Rank)
			if r.ModelVersion != "v1" || r.Group != 5 || r.Propensity != 1 {
				t.Errorf("exposure %+v", r)
			}
		}
	}
	if fmt.Sprint(ranks) != "[1 2 3 4 5 6 7]" {
		t.Errorf("exposures of the first request: ranks %v", ranks)
	}
}

// TestEventsSurviveSIGKILL: serve runs in a child process; every event
// batch it acknowledged is in the live store after the child is killed.
func TestEventsSurviveSIGKILL(t *testing.T) {
	if dir := os.Getenv("GROUPRANK_TEST_SERVE_CHILD"); dir != "" {
		err := run(context.Background(), []string{"serve", "--root", filepath.Join(dir, "snapshots"), "--addr", "127.0.0.1:0",
			"--live", filepath.Join(dir, "live")}, func(string) string { return "" }, os.Stdout, io.Discard)
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	dir, _, _ := published(t, false)
	a, err := train.ReadArtefact(filepath.Join(dir, "artefacts", "v1"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestEventsSurviveSIGKILL$")
	cmd.Env = append(os.Environ(), "GROUPRANK_TEST_SERVE_CHILD="+dir)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	m := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(line)
	if err != nil || m == nil {
		t.Fatalf("child did not start: %q %v", line, err)
	}
	now := time.Now().UTC()
	var acked []string
	for b := range 20 {
		var evs []string
		for k := range 50 {
			id := fmt.Sprintf("b%d-e%d", b, k)
			evs = append(evs, fmt.Sprintf(`{"id":%q,"kind":"push","group":%d,"sku":%d,"push":%d,"time":%q}`, id, a.Groups[k].ID,
				a.Catalog[(b*50+k)%len(a.Catalog)].SKU, b*100+k+1, now.Add(-time.Duration(k)*time.Second).Format(time.RFC3339)))
		}
		resp, err := http.Post(m[1]+"/v1/events", "application/json", strings.NewReader(`{"events":[`+strings.Join(evs, ",")+`]}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("batch %d: %d", b, resp.StatusCode)
		}
		for k := range 50 {
			acked = append(acked, fmt.Sprintf("b%d-e%d", b, k))
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	// Every acknowledged event is exported after the crash, and only once.
	exportedOnce(t, []string{"--live", filepath.Join(dir, "live")}, now.Add(-time.Hour), acked)
	if _, _, err := runArgs(t, nil, "events", "export", "--live", filepath.Join(dir, "live"), "--since", "yesterday"); err == nil {
		t.Error("a bad --since was accepted")
	}
}

// TestBatchPicks: picks --all ranks every group of the snapshot with the
// service's ranker; the file does not depend on the number of workers, and a
// group's rows equal what the API answers for it.
func TestBatchPicks(t *testing.T) {
	dir, _, root := published(t, false)
	var files []string
	for _, w := range []string{"1", "2"} {
		out := filepath.Join(dir, "picks-"+w+".parquet")
		if _, stderr, err := runArgs(t, nil, "picks", "--all", "--root", root, "--out", out, "--k", "5", "--objective", "commission", "--workers", w); err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		files = append(files, out)
	}
	rows, err := parquetio.ReadFile(files[0], parquetio.Picks)
	if err != nil {
		t.Fatal(err)
	}
	art, _ := train.ReadArtefact(filepath.Join(dir, "artefacts", "v1"))
	if len(rows) != 5*len(art.Groups) {
		t.Fatalf("%d rows for %d groups x 5", len(rows), len(art.Groups))
	}
	rb, _ := parquetio.ReadFile(files[1], parquetio.Picks)
	for k := range rows {
		rows[k].Time, rb[k].Time = 0, 0
		if rows[k] != rb[k] {
			t.Fatalf("row %d differs between 1 and 2 workers: %+v %+v", k, rows[k], rb[k])
		}
	}
	if _, _, err := runArgs(t, nil, "picks", "--root", root); err == nil {
		t.Error("picks without --all: want an error")
	}
	// The API answers the same for a group.
	ctx, cancel := context.WithCancel(context.Background())
	base, done := startServe(t, ctx, nil, "--root", root, "--addr", "127.0.0.1:0", "--live", filepath.Join(dir, "live"), "--api-keys", "app1:key-one-123")
	defer func() { cancel(); <-done }() // the service's last checkpoint is written before the directory goes
	g := rows[10].Group
	cl := client.New(base, nil)
	var ce *client.Error
	if _, err := cl.Picks(ctx, g, client.PicksOptions{K: 5}); !errors.As(err, &ce) || ce.Status != 401 {
		t.Errorf("picks without the app's key: %v", err)
	}
	p, err := cl.WithAPIKey("key-one-123").Picks(ctx, g, client.PicksOptions{K: 5, Objective: "commission"})
	if err != nil {
		t.Fatal(err)
	}
	var want []int64
	for _, r := range rows {
		if r.Group == g {
			want = append(want, int64(r.SKU))
		}
	}
	var got []int64
	for _, it := range p.Items {
		got = append(got, int64(it.SKU))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("group %d: API %v, batch %v", g, got, want)
	}
}

// hasItem reports whether a picks response lists sku with this title and price.
func hasItem(body map[string]any, sku float64, title string, price float64) bool {
	items, _ := body["items"].([]any)
	for _, it := range items {
		m := it.(map[string]any)
		if m["sku"] == sku && m["title"] == title && m["price_cents"] == price {
			return true
		}
	}
	return false
}

// startServe runs `grouprank serve args...` (add --addr 127.0.0.1:0) until
// ctx ends and returns its base URL and the channel its exit arrives on.
func startServe(t *testing.T, ctx context.Context, env map[string]string, args ...string) (string, <-chan error) {
	t.Helper()
	out := &lineWatcher{re: regexp.MustCompile(`listening on (http://\S+)`), seen: make(chan string, 1)}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve"}, args...), func(k string) string { return env[k] }, out, io.Discard)
	}()
	select {
	case base := <-out.seen:
		return base, done
	case err := <-done:
		t.Fatalf("serve stopped: %v\n%s", err, out.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	return "", done
}

// getObject GETs url and decodes its JSON object body, whatever the status.
func getObject(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("%s: not JSON: %v", url, err)
	}
	return resp.StatusCode, body
}

// exportedOnce runs events export on the live data liveArgs name and checks
// the file holds every one of want exactly once, nothing else, in time order.
func exportedOnce(t *testing.T, liveArgs []string, since time.Time, want []string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "events.parquet")
	args := append(append([]string{"events", "export"}, liveArgs...), "--since", since.Format(time.RFC3339), "--out", out)
	if res, stderr, err := runArgs(t, nil, args...); err != nil {
		t.Fatalf("events export: %v\n%s", err, stderr)
	} else if !strings.HasPrefix(res, fmt.Sprint(len(want), " events")) {
		t.Errorf("export: %s", res)
	}
	evs, err := parquetio.ReadFile(out, parquetio.Events)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]int{}
	for k, e := range evs {
		have[e.ID]++
		if k > 0 && e.Time < evs[k-1].Time {
			t.Fatal("export is not in time order")
		}
	}
	for _, id := range want {
		if have[id] != 1 {
			t.Fatalf("acknowledged event %s exported %d times (%d events there)", id, have[id], len(evs))
		}
	}
	if len(evs) != len(want) {
		t.Errorf("%d events exported, want %d", len(evs), len(want))
	}
}

// TestServeDrains: with --drain, a stopping service answers /readyz 503
// (draining) while it still answers picks, then stops cleanly.
func TestServeDrains(t *testing.T) {
	dir, _, root := published(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	base, done := startServe(t, ctx, nil, "--root", root, "--live", filepath.Join(dir, "live"), "--addr", "127.0.0.1:0", "--drain", "2s")
	if code, _ := getObject(t, base+"/readyz"); code != 200 {
		t.Fatalf("readyz before the stop: %d", code)
	}
	cancel()
	deadline := time.Now().Add(2 * time.Second)
	for {
		code, body := getObject(t, base+"/readyz")
		if code == 503 {
			if why, _ := body["error"].(string); !strings.Contains(why, "draining") || body["model_version"] != "v1" {
				t.Errorf("readyz while draining: %v", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("readyz still 200 after the stop")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, body := getObject(t, base+"/v1/groups/5/picks?k=3&preview=true"); code != 200 {
		t.Errorf("picks while draining: %d %v", code, body)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
