package api_test

import (
	"compress/gzip"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"grouprank/data"
	"grouprank/recommend"
	"grouprank/recommend/api"
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// TestStatusRates: the overview's rates are the differences of the
// service's own counters over the window, and the p99 comes from the
// latency histogram.
func TestStatusRates(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	m := testModel(t)
	h := api.New(api.Deps{Model: func() *recommend.Model { return m }, Now: clk.now})
	clk.add(10 * time.Second)
	for range 50 {
		do(t, h, "GET", "/v1/groups/1/picks?k=3")
	}
	code, st := do(t, h, "GET", "/v1/status")
	r := st["rates"].(map[string]any)
	if code != 200 || st["model_version"] != "test-1" || st["products"].(float64) != 40 {
		t.Fatalf("status %d %v", code, st)
	}
	// 50 picks over the 10 s since the handler was built
	if got := r["picks_per_second"].(float64); got != 5 || r["window_seconds"].(float64) != 10 {
		t.Errorf("picks/s %v over %v s, want 5 over 10", got, r["window_seconds"])
	}
	if p99, ok := r["picks_p99_ms"].(float64); !ok || p99 <= 0 || p99 > 500 {
		t.Errorf("p99 %v", r["picks_p99_ms"])
	}
	// the next look compares with the first: 20 picks in 4 s
	clk.add(4 * time.Second)
	for range 20 {
		do(t, h, "GET", "/v1/groups/1/picks?k=3")
	}
	_, st = do(t, h, "GET", "/v1/status")
	r = st["rates"].(map[string]any)
	if got := r["picks_per_second"].(float64); got != 5 || r["window_seconds"].(float64) != 4 {
		t.Errorf("second look: picks/s %v over %v s, want 5 over 4", got, r["window_seconds"])
	}
	// a minute later with no traffic: no picks in the window, no p99
	clk.add(2 * time.Minute)
	_, st = do(t, h, "GET", "/v1/status")
	r = st["rates"].(map[string]any)
	if r["picks_per_second"].(float64) != 0 || r["picks_p99_ms"] != nil {
		t.Errorf("idle window: %v", r)
	}
	// without a snapshot the status says so
	h = api.New(api.Deps{Model: func() *recommend.Model { return nil }})
	if code, st := do(t, h, "GET", "/v1/status"); code != 200 || st["model_version"] != "" || !strings.Contains(st["message"].(string), "no snapshot") {
		t.Errorf("no snapshot: %d %v", code, st)
	}
}

func TestGroupProfile(t *testing.T) {
	h := serve(t, testModel(t))
	code, p := do(t, h, "GET", "/v1/groups/1")
	if code != 200 || p["known"] != true || p["channel"] != "mother" || len(p["categories"].([]any)) != 3 || len(p["price_bands"].([]any)) == 0 {
		t.Errorf("group 1: %d %v", code, p)
	}
	if code, p := do(t, h, "GET", "/v1/groups/99"); code != 200 || p["known"] != false {
		t.Errorf("unknown group: %d %v", code, p)
	}
	for _, bad := range []string{"/v1/groups/0", "/v1/groups/x", "/v1/groups/-3"} {
		if code, body := do(t, h, "GET", bad); code != 400 || body["error"] == "" {
			t.Errorf("%s: %d %v", bad, code, body)
		}
	}
	h = api.New(api.Deps{Model: func() *recommend.Model { return nil }})
	if code, _ := do(t, h, "GET", "/v1/groups/1"); code != 503 {
		t.Errorf("no snapshot: %d, want 503", code)
	}
}

// exposureCount counts logged exposures.
type exposureCount struct {
	mu sync.Mutex
	n  int
}

func (e *exposureCount) Log(x []data.Exposure) { e.mu.Lock(); e.n += len(x); e.mu.Unlock() }

// TestPreviewLogsNothing: a preview answers the same picks without an exposure.
func TestPreviewLogsNothing(t *testing.T) {
	m := testModel(t)
	exps := &exposureCount{}
	h := api.New(api.Deps{Model: func() *recommend.Model { return m }, Exposures: exps})
	_, a := do(t, h, "GET", "/v1/groups/1/picks?k=5&preview=true")
	if exps.n != 0 || a["preview"] != true {
		t.Fatalf("preview logged %d exposures (%v)", exps.n, a["preview"])
	}
	_, b := do(t, h, "GET", "/v1/groups/1/picks?k=5")
	if exps.n != 5 {
		t.Errorf("a served list logged %d exposures, want 5", exps.n)
	}
	ai, bi := a["items"].([]any), b["items"].([]any)
	for k := range ai {
		if ai[k].(map[string]any)["sku"] != bi[k].(map[string]any)["sku"] {
			t.Errorf("pick %d: preview %v, served %v", k, ai[k], bi[k])
		}
	}
}

func TestDashboardFiles(t *testing.T) {
	h := serve(t, testModel(t))
	get := func(path string, hdr ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		for k := 0; k+1 < len(hdr); k += 2 {
			r.Header.Set(hdr[k], hdr[k+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := get("/ui"); w.Code != 301 || w.Header().Get("Location") != "/ui/" {
		t.Errorf("/ui: %d %s", w.Code, w.Header().Get("Location"))
	}
	w := get("/ui/")
	if w.Code != 200 || !strings.Contains(w.Body.String(), "vendor/echarts.min.js") || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("/ui/: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
		w.Header().Get("X-Frame-Options") != "DENY" {
		t.Errorf("/ui/ holds the admin token but may be framed or run foreign scripts: CSP %q, X-Frame-Options %q", csp, w.Header().Get("X-Frame-Options"))
	}
	etag := w.Header().Get("ETag")
	if w := get("/ui/", "If-None-Match", etag); w.Code != 304 || w.Body.Len() != 0 {
		t.Errorf("revalidation: %d with %d bytes", w.Code, w.Body.Len())
	}
	w = get("/ui/vendor/echarts.min.js", "Accept-Encoding", "gzip")
	if w.Code != 200 || w.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("echarts: %d %q", w.Code, w.Header().Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(w.Body)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := io.ReadAll(zr)
	if plain := get("/ui/vendor/echarts.min.js"); plain.Body.Len() != len(js) || plain.Header().Get("Content-Encoding") != "" {
		t.Errorf("gzip body unpacks to %d bytes, plain %d", len(js), plain.Body.Len())
	}
	for _, f := range []string{"/ui/app.js", "/ui/style.css", "/ui/vendor/echarts-LICENSE.txt"} {
		if w := get(f); w.Code != 200 || w.Body.Len() == 0 {
			t.Errorf("%s: %d", f, w.Code)
		}
	}
	if code, body := do(t, h, "GET", "/ui/nosuch.js"); code != 404 || !strings.Contains(body["error"].(string), "nosuch.js") {
		t.Errorf("missing file: %d %v", code, body)
	}
	if code, _ := do(t, h, "GET", "/ui/../openapi.yaml"); code != 404 && code != 301 {
		t.Errorf("path escape: %d", code)
	}
}
