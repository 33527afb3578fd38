package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"grouprank/data"
	"grouprank/recommend"
	"grouprank/recommend/api"
	"grouprank/recommend/experiment"
)

// fuzzCatalog takes catalogue updates as the service does: merged into the
// model's products, whole batch or nothing.
type fuzzCatalog struct{ m *recommend.Model }

func (f fuzzCatalog) UpdateCatalog(_ context.Context, us []data.ProductUpdate) (int, error) {
	_, err := recommend.MergeUpdates(f.m.Ranker.Scorer.Inputs().Cat, us)
	return 0, err
}

// fuzzHandler is a service with every write route configured.
func fuzzHandler(f *testing.F) http.Handler {
	m := testModel(f)
	reg, err := experiment.NewRegistry(&experiment.MemDocs{}, func(o, v string) error {
		return recommend.ApplyOptions(&recommend.PicksRequest{}, map[string]string{o: v})
	})
	if err != nil {
		f.Fatal(err)
	}
	rh := &rulesHolder{base: m, cur: m}
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	return api.New(api.Deps{Model: rh.model, Admin: nopAdmin{}, AdminToken: "secret-token", Events: sink{}, Orders: orderIndex{1: true},
		Catalog: fuzzCatalog{m}, Experiments: reg, Rules: rh, Now: func() time.Time { return now }})
}

// fuzzWrite sends body to a write route: any answer must be a JSON 2xx or
// 4xx, never a 5xx, a panic or an empty body.
func fuzzWrite(f *testing.F, method, path string, seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer secret-token")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 || w.Code < 200 {
			t.Fatalf("%s %s %q: status %d: %s", method, path, body, w.Code, w.Body.String())
		}
		var v any
		if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
			t.Fatalf("%s %s %q: %d, not JSON: %q", method, path, body, w.Code, w.Body.String())
		}
	})
}

func FuzzEventsJSON(f *testing.F) {
	fuzzWrite(f, "POST", "/v1/events",
		`{"events":[{"id":"p","kind":"push","group":1,"sku":100,"push":3,"time":"2026-11-20T11:00:00Z"}]}`,
		`{"events":[{"id":"o","kind":"order","group":1,"sku":100,"order":2,"quantity":1,"amount_cents":1000,"time":"2026-11-20T11:00:00Z"}]}`,
		`{"events":[{"id":"c","kind":"cancel","group":1,"sku":100,"order":1,"time":"2026-11-20T11:00:00Z"}]}`,
		`{"events":[{"id":"x","kind":"exposure","group":1,"sku":100,"request_id":"r","rank":1,"time":"2026-11-20T11:00:00Z"}]}`,
		`{"events":[]}`, `{`, `null`)
}

func FuzzCatalogUpdates(f *testing.F) {
	fuzzWrite(f, "POST", "/v1/admin/catalog",
		`{"products":[{"sku":100,"price_cents":990}]}`,
		`{"products":[{"sku":5000,"title":"t","category_l1":"food","price_cents":100,"seller":"pop","commission_rate":0.1}]}`,
		`{"products":[{"sku":100,"active_from":"2026-01-01T00:00:00Z","active_until":"2025-01-01T00:00:00Z"}]}`, `{"products":null}`)
}

func FuzzRules(f *testing.F) {
	fuzzWrite(f, "PUT", "/v1/admin/rules",
		`{"blocked_skus":[101],"boosts":{"102":3},"blocked_categories":["food"],"min_rating":0.5}`, `{"boosts":{"x":1}}`, `[]`)
}

func FuzzExperimentDefinitions(f *testing.F) {
	fuzzWrite(f, "POST", "/v1/admin/experiments",
		`{"key":"a","layer":"ranking","traffic":1,"planned_days":14,"arms":[{"name":"c","weight":50,"options":{"objective":"practice"}},{"name":"t","weight":50,"options":{"objective":"commission"}}]}`,
		`{"key":"b","layer":"diversity","arms":[{"name":"c","weight":50,"options":{"category_cap":"0"}},{"name":"t","weight":50,"options":{"category_cap":"2"}}],"guardrails":[{"metric":"orders_per_push","margin":0.02}]}`,
		`{"key":"c","layer":"nope","arms":[]}`)
}
