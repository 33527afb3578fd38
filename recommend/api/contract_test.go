package api_test

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"grouprank/data"
	"grouprank/recommend"
	"grouprank/recommend/api"
	"grouprank/recommend/experiment"
	"grouprank/recommend/ui"
)

type sink struct{}

func (sink) Append(_ context.Context, evs []data.Event) ([]bool, error) {
	out := make([]bool, len(evs))
	for k := range out {
		out[k] = true
	}
	return out, nil
}

// fakeModels lists one version.
type fakeModels struct{}

func (fakeModels) Models(context.Context) ([]ui.ModelInfo, error) {
	return []ui.ModelInfo{{ModelVersion: data.ModelVersion{Version: "v1", Created: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		Metrics: map[string]float64{"test_auc": 0.8}}, Current: true, Serving: true, Report: []byte(`{"conversion":{}}`)}}, nil
}

// TestContract validates real requests and responses against the OpenAPI
// document the service serves at /openapi.yaml.
func TestContract(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	m := testModel(t)
	reg, err := experiment.NewRegistry(&experiment.MemDocs{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	report := func(_ context.Context, key string) (*experiment.Report, error) {
		e, err := reg.Get(key)
		if err != nil {
			return nil, err
		}
		return experiment.Analyze(e, &experiment.Dataset{Arms: []string{"practice", "commission"}, Periods: 1}), nil
	}
	h := api.New(api.Deps{Model: func() *recommend.Model { return m }, Events: sink{}, Now: func() time.Time { return now },
		Experiments: reg, Report: report, Admin: nopAdmin{}, AdminToken: "secret-token", Models: fakeModels{}})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/openapi.yaml", nil))
	doc, err := openapi3.NewLoader().LoadFromData(w.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(ctx); err != nil {
		t.Fatalf("the document itself: %v", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	event := `{"events":[{"id":"a","kind":"push","group":1,"sku":101,"push":3,"time":"2026-11-23T11:00:00Z"}]}`
	for _, c := range []struct {
		method, path, body string
		status             int
		validRequest       bool
	}{
		{"GET", "/healthz", "", 200, true},
		{"GET", "/readyz", "", 200, true},
		{"GET", "/v1/groups/1/picks?k=3&explain=true", "", 200, true},
		{"GET", "/v1/groups/42/picks?k=2&channel=courier&tier=4&objective=commission", "", 200, true},
		{"GET", "/v1/groups/1/picks?category=food&price_min=100&price_max=90000&exclude=100,102", "", 200, true},
		{"GET", "/v1/groups/1/picks?k=0", "", 400, false},
		{"GET", "/v1/groups/1/picks?objective=fame", "", 400, false},
		{"POST", "/v1/events", event, 200, true},
		{"POST", "/v1/events", `{"events":[{"id":"b","kind":"push","group":1,"sku":999,"push":3,"time":"2026-11-23T11:00:00Z"}]}`, 400, true},
		{"POST", "/v1/admin/models/reload", "", 401, true},
		{"POST", "/v1/admin/experiments", strings.Replace(strings.Replace(twoArms, "%s", "c1", 1), "%s", "50", 1), 201, true},
		{"POST", "/v1/admin/experiments", strings.Replace(strings.Replace(twoArms, "%s", "c2", 1), "%s", "40", 1), 400, true},
		{"POST", "/v1/admin/experiments/c1/start", "", 200, true},
		{"POST", "/v1/admin/experiments/c1/ramp", `{"traffic":0.5}`, 409, true},
		{"POST", "/v1/admin/layers", `{"name":"blend","options":["objective"]}`, 409, true},
		{"GET", "/v1/groups/1/picks?k=3&promoter=7", "", 200, true},
		{"GET", "/v1/experiments", "", 200, true},
		{"GET", "/v1/experiments/c1", "", 200, true},
		{"GET", "/v1/experiments/nosuch", "", 404, true},
		{"GET", "/v1/experiments/c1/report", "", 200, true},
		{"GET", "/v1/groups/1/picks?k=4&category_cap=1", "", 200, true},
		{"PUT", "/v1/admin/rules", `{"blocked_skus":[101]}`, 503, true},
		{"GET", "/v1/groups/1", "", 200, true},
		{"GET", "/v1/groups/424242", "", 200, true},
		{"GET", "/v1/groups/x", "", 400, true}, // a string in the document (a world with its own ids); this model's ids are integers
		{"GET", "/v1/groups/1/picks?k=3&preview=true", "", 200, true},
		{"GET", "/v1/groups/1/picks?k=3&preview=maybe", "", 400, false},
		{"GET", "/v1/status", "", 200, true},
		{"GET", "/v1/models", "", 200, true},
	} {
		req := httptest.NewRequest(c.method, "http://127.0.0.1:8080"+c.path, strings.NewReader(c.body))
		if c.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Fatalf("%s %s: no route in the document: %v", c.method, c.path, err)
		}
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
		if err := openapi3filter.ValidateRequest(ctx, in); (err == nil) != c.validRequest {
			t.Errorf("%s %s: request validation %v, want valid=%v", c.method, c.path, err, c.validRequest)
		}
		req = httptest.NewRequest(c.method, "http://127.0.0.1:8080"+c.path, strings.NewReader(c.body))
		if c.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if strings.Contains(c.path, "/admin/") && !strings.Contains(c.path, "/models/") {
			req.Header.Set("Authorization", "Bearer secret-token")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != c.status {
			t.Errorf("%s %s: status %d, want %d: %s", c.method, c.path, w.Code, c.status, w.Body.String())
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: w.Code, Header: w.Header(),
			Body: io.NopCloser(bytes.NewReader(w.Body.Bytes()))}
		if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
			t.Errorf("%s %s: the response breaks the contract: %v", c.method, c.path, err)
		}
	}
}
