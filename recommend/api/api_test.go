package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"grouprank/data"
	"grouprank/features"
	"grouprank/recommend"
	"grouprank/recommend/api"
)

func testModel(t testing.TB) *recommend.Model {
	t.Helper()
	cats := []string{"food", "home", "appliances"}
	var ps []data.Product
	for i := range 40 {
		ps = append(ps, data.Product{SKU: data.SKU(100 + i), Title: fmt.Sprint("item ", i), CategoryL1: cats[i%3], Brand: fmt.Sprint(i % 5),
			PriceCents: int64(1000 + 500*i), GoodReviews: int32(80 + i%20), Reviews: 100, Commission: 0.1, InStock: i != 7})
	}
	cat := features.NewCatalog(ps, data.UnknownTime)
	gs := features.NewGroups([]data.Group{{ID: 1, Promoter: 1, Channel: data.ChannelMother, CityTier: 2}})
	o := &features.Events{}
	for e := range 60 {
		o.Group, o.Item, o.Time, o.Qty = append(o.Group, 0), append(o.Item, int32(e%40)), append(o.Time, data.Day), append(o.Qty, 1)
	}
	prof := features.BuildProfiles(cat, gs, o, &features.Events{}, nil, 2*data.Day, features.DefaultConfig())
	st := features.BuildItemStats(cat, gs, o, &features.Events{}, 2*data.Day, features.DefaultStatsConfig())
	in := &recommend.Inputs{Cat: cat, Stats: st, Profile: recommend.NewProfileModel(cat, st), RatingMean: 0.9, RatingPrior: 20, PushConvPrior: 20, ConvMean: 0.2}
	conv := &recommend.Conversion{Features: recommend.FeatureNames(), Weights: make([]float64, recommend.NumFeatures), Bias: -1,
		Calibration: recommend.Calibration{Method: "platt", A: 1}}
	conv.Weights[recommend.FeatCellPop], conv.Weights[recommend.FeatL1] = 0.5, 0.8
	return recommend.NewModel("test-1", recommend.NewRanker(recommend.NewScorer(in, conv)), recommend.GroupMap{1: recommend.GroupOf(prof, 0, nil)})
}

func serve(t testing.TB, m *recommend.Model) http.Handler {
	return api.New(api.Deps{Model: func() *recommend.Model { return m }})
}

func do(t testing.TB, h http.Handler, method, path string) (int, map[string]any) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
	var body map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("%s %s: not JSON (%v): %s", method, path, err, w.Body.String())
	}
	return w.Code, body
}

func TestPicks(t *testing.T) {
	h := serve(t, testModel(t))
	for _, c := range []struct {
		name, path string
		status     int
		items      int
		cold       bool
	}{
		{"known group", "/v1/groups/1/picks?k=5", 200, 5, false},
		{"default k", "/v1/groups/1/picks", 200, 20, false},
		{"category", "/v1/groups/1/picks?category=appliances&k=50", 200, 13, false},
		{"price band", "/v1/groups/1/picks?price_min=2000&price_max=4000&k=50", 200, 5, false},
		{"exclude", "/v1/groups/1/picks?k=50&exclude=100,101", 200, 37, false},
		{"unknown group", "/v1/groups/42/picks?k=3&channel=installer&tier=3", 200, 3, true},
		{"objective", "/v1/groups/1/picks?objective=gmv&k=4", 200, 4, false},
		{"explain", "/v1/groups/1/picks?explain=true&k=4", 200, 4, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, body := do(t, h, "GET", c.path)
			items, _ := body["items"].([]any)
			if code != c.status || len(items) != c.items || body["cold_start"] != c.cold || body["model_version"] != "test-1" {
				t.Fatalf("%d, %d items, cold %v: %v", code, len(items), body["cold_start"], body)
			}
			for _, it := range items {
				m := it.(map[string]any)
				if m["sku"].(float64) == 107 {
					t.Error("an out-of-stock item was picked")
				}
				if _, has := m["reason"]; has != (c.name == "explain") {
					t.Errorf("reason present %v with explain %v", has, c.name == "explain")
				}
			}
		})
	}
}

func TestBadRequests(t *testing.T) {
	h := serve(t, testModel(t))
	for _, c := range []struct{ path, want string }{
		{"/v1/groups/0/picks", "group"}, {"/v1/groups/-3/picks", "group"}, {"/v1/groups/abc/picks", "group"},
		{"/v1/groups/1/picks?k=0", "k="}, {"/v1/groups/1/picks?k=201", "k="}, {"/v1/groups/1/picks?k=1.5", "k="},
		{"/v1/groups/1/picks?objective=fame", "objective"}, {"/v1/groups/1/picks?category=toys", "category"},
		{"/v1/groups/1/picks?price_min=x", "price_min"}, {"/v1/groups/1/picks?price_max=-1", "price_max"},
		{"/v1/groups/1/picks?price_min=900&price_max=100", "price_min"}, {"/v1/groups/1/picks?exclude=1,,2", "exclude"},
		{"/v1/groups/1/picks?channel=wizard", "channel"}, {"/v1/groups/1/picks?tier=7", "tier"},
		{"/v1/groups/1/picks?explain=maybe", "explain"},
	} {
		code, body := do(t, h, "GET", c.path)
		msg, _ := body["error"].(string)
		if code != 400 || msg == "" || body["request_id"] == "" {
			t.Errorf("%s: %d %v, want a JSON 400", c.path, code, body)
		}
		if !contains(msg, c.want) {
			t.Errorf("%s: error %q does not name %q", c.path, msg, c.want)
		}
	}
	if code, _ := do(t, h, "POST", "/v1/groups/1/picks"); code != 405 {
		t.Errorf("POST picks: %d, want 405", code)
	}
	if code, _ := do(t, h, "GET", "/nope"); code != 404 {
		t.Errorf("unknown route: %d", code)
	}
}

func TestMetrics(t *testing.T) {
	h := serve(t, testModel(t))
	do(t, h, "GET", "/v1/groups/1/picks?k=3")
	do(t, h, "GET", "/v1/groups/1/picks?k=0")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	body := w.Body.String()
	for _, want := range []string{`grouprank_http_requests_total{code="200",route="/v1/groups/:group/picks"} 1`,
		`grouprank_http_requests_total{code="400",route="/v1/groups/:group/picks"} 1`,
		`grouprank_http_request_duration_seconds_count{route="/v1/groups/:group/picks"} 2`, `grouprank_model_info{version="test-1"} 1`} {
		if !contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestAPIKeys(t *testing.T) {
	m := testModel(t)
	h := api.New(api.Deps{Model: func() *recommend.Model { return m }, APIKeys: map[string]string{"mothers-app": "k1", "installers-app": "k2"}})
	for _, c := range []struct {
		key  string
		code int
	}{{"", 401}, {"nope", 401}, {"k1", 200}, {"k2", 200}} {
		req := httptest.NewRequest("GET", "/v1/groups/1/picks?k=2", nil)
		if c.key != "" {
			req.Header.Set("X-API-Key", c.key)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != c.code {
			t.Errorf("key %q: %d, want %d", c.key, w.Code, c.code)
		}
	}
	if code, _ := do(t, h, "GET", "/healthz"); code != 200 {
		t.Error("healthz must not need a key")
	}
}

func TestAdminDisabledWithoutToken(t *testing.T) {
	h := serve(t, testModel(t))
	if code, body := do(t, h, "POST", "/v1/admin/models/reload"); code != 403 || body["error"] == "" {
		t.Errorf("admin without a configured token: %d %v, want 403", code, body)
	}
}

func TestNotReady(t *testing.T) {
	h := api.New(api.Deps{Model: func() *recommend.Model { return nil }})
	if code, body := do(t, h, "GET", "/readyz"); code != 503 || body["error"] == "" {
		t.Errorf("readyz without a snapshot: %d %v", code, body)
	}
	if code, _ := do(t, h, "GET", "/v1/groups/1/picks"); code != 503 {
		t.Errorf("picks without a snapshot: %d", code)
	}
	if code, _ := do(t, h, "GET", "/healthz"); code != 200 {
		t.Errorf("healthz: %d", code)
	}
}

// FuzzPicksQuery: no query string makes the handler panic or answer other
// than 200 or a JSON 4xx.
func FuzzPicksQuery(f *testing.F) {
	for _, s := range []string{"k=5", "k=0", "category=food&price_min=1", "exclude=1,2,3", "channel=mother&tier=2", "k=%00", "objective=commission"} {
		f.Add("1", s)
	}
	h := serve(f, testModel(f))
	f.Fuzz(func(t *testing.T, group, query string) {
		u := "/v1/groups/" + url.PathEscape(group) + "/picks?" + query
		req, err := http.NewRequest("GET", u, nil)
		if err != nil {
			return // not a request a client could send
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 && (w.Code < 400 || w.Code >= 500) {
			t.Fatalf("%s: status %d: %s", u, w.Code, w.Body.String())
		}
		var body map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s: not JSON: %s", u, w.Body.String())
		}
	})
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// droppingLog drops every list it is given, and counts them.
type droppingLog struct{ n atomic.Int64 }

func (d *droppingLog) Log([]data.Exposure) { d.n.Add(1) }
func (d *droppingLog) Dropped() int64      { return d.n.Load() }

// TestDroppedExposuresInMetrics: an exposure log that drops lists on a full
// queue shows how many in /metrics.
func TestDroppedExposuresInMetrics(t *testing.T) {
	m := testModel(t)
	x := &droppingLog{}
	h := api.New(api.Deps{Model: func() *recommend.Model { return m }, Exposures: x})
	do(t, h, "GET", "/v1/groups/1/picks?k=3")
	do(t, h, "GET", "/v1/groups/2/picks?k=3")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if want := "grouprank_exposure_lists_dropped_total 2"; !contains(w.Body.String(), want) {
		t.Errorf("metrics lack %q", want)
	}
}

// fakeFollower is a memory catching up with a shared log.
type fakeFollower struct{ behind uint64 }

func (f *fakeFollower) Ready() error {
	if f.behind > 0 {
		return fmt.Errorf("%w: %d events behind", data.ErrUnavailable, f.behind)
	}
	return nil
}

func (f *fakeFollower) Lag() uint64 { return f.behind }

// With a follower, /readyz waits for it to catch up, /metrics shows its
// lag, and accepted events reach the memory only through it.
func TestFollowerReadiness(t *testing.T) {
	m := testModel(t)
	f := &fakeFollower{behind: 7}
	mem := recommend.NewPushMemory()
	h := api.New(api.Deps{Model: func() *recommend.Model { return m }, Follower: f, Memory: mem, Events: sink{}})
	if code, body := do(t, h, "GET", "/readyz"); code != 503 || !strings.Contains(fmt.Sprint(body["error"]), "7 events behind") {
		t.Errorf("readyz 7 events behind: %d %v", code, body)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(w.Body.String(), "\ngrouprank_live_follow_lag_events 7\n") {
		t.Errorf("metrics lack the lag:\n%s", w.Body.String())
	}
	f.behind = 0
	if code, body := do(t, h, "GET", "/readyz"); code != 200 {
		t.Errorf("readyz caught up: %d %v", code, body)
	}
	now := time.Now().UTC().Format(time.RFC3339)
	body := fmt.Sprintf(`{"events":[{"id":"p1","kind":"push","group":1,"sku":101,"push":1,"time":%q}]}`, now)
	req := httptest.NewRequest("POST", "/v1/events", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 200 {
		t.Fatalf("events: %d %s", w.Code, w.Body.String())
	}
	if mem.Latest() != data.UnknownTime {
		t.Error("the API heard an accepted event itself though a follower hears the log")
	}
}
