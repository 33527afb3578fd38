package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"grouprank/data"
	"grouprank/recommend"
	"grouprank/recommend/api"
	"grouprank/recommend/experiment"
)

type nopAdmin struct{}

func (nopAdmin) Promote(context.Context, string) (string, error) { return "", nil }
func (nopAdmin) Rollback(context.Context) (string, error)        { return "", nil }
func (nopAdmin) Reload(context.Context) (string, error)          { return "", nil }

// exposureSink keeps what the handler logs.
type exposureSink struct {
	mu   sync.Mutex
	exps []data.Exposure
}

func (s *exposureSink) Log(e []data.Exposure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exps = append(s.exps, e...)
}

func send(t *testing.T, h http.Handler, method, path, body string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer secret-token")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Code, w.Body.String()
}

const twoArms = `{"key":"%s","layer":"ranking","traffic":1,"planned_days":14,
 "arms":[{"name":"practice","weight":50,"options":{"objective":"practice"}},
         {"name":"commission","weight":%s,"options":{"objective":"commission"}}]}`

const diversity = `{"key":"div","layer":"diversity","traffic":1,"planned_days":14,
 "arms":[{"name":"nocap","weight":50,"options":{"category_cap":"0"}},{"name":"cap2","weight":50,"options":{"category_cap":"2"}}]}`

func TestExperimentRoutes(t *testing.T) {
	m := testModel(t)
	reg, err := experiment.NewRegistry(&experiment.MemDocs{}, func(o, v string) error {
		return recommend.ApplyOptions(&recommend.PicksRequest{}, map[string]string{o: v})
	})
	if err != nil {
		t.Fatal(err)
	}
	sink := &exposureSink{}
	h := api.New(api.Deps{Model: func() *recommend.Model { return m }, Admin: nopAdmin{}, AdminToken: "secret-token",
		Experiments: reg, Exposures: sink})
	body := func(key, w string) string {
		s := strings.Replace(twoArms, "%s", key, 1)
		return strings.Replace(s, "%s", w, 1)
	}
	tests := []struct {
		name, method, path, body string
		want                     int
		contains                 string
	}{
		{"create", "POST", "/v1/admin/experiments", body("cvp", "50"), http.StatusCreated, `"status":"draft"`},
		{"weights not summing to 100%", "POST", "/v1/admin/experiments", body("bad", "40"), http.StatusBadRequest, "sum to 100%"},
		{"malformed JSON", "POST", "/v1/admin/experiments", `{"key":`, http.StatusBadRequest, "malformed JSON"},
		{"unknown field", "POST", "/v1/admin/experiments", `{"key":"x","colour":"red"}`, http.StatusBadRequest, "unknown field"},
		{"bad option value", "POST", "/v1/admin/experiments", strings.Replace(diversity, `"category_cap":"2"`, `"category_cap":"many"`, 1),
			http.StatusBadRequest, "category_cap"},
		{"an option of another layer", "POST", "/v1/admin/experiments", strings.Replace(body("v", "50"), `"objective":"commission"`, `"category_cap":"2"`, 1),
			http.StatusBadRequest, `does not own`},
		{"a second layer", "POST", "/v1/admin/experiments", diversity, http.StatusCreated, ""},
		{"start the second layer", "POST", "/v1/admin/experiments/div/start", "", http.StatusOK, `"status":"running"`},
		{"start", "POST", "/v1/admin/experiments/cvp/start", "", http.StatusOK, `"status":"running"`},
		{"second in the layer", "POST", "/v1/admin/experiments", body("cvp2", "50"), http.StatusCreated, ""},
		{"two running in one layer", "POST", "/v1/admin/experiments/cvp2/start", "", http.StatusConflict, `already runs experiment \"cvp\"`},
		{"changing a running experiment's arms", "PUT", "/v1/admin/experiments/cvp", strings.Replace(body("cvp", "50"), `"weight":50`, `"weight":60`, 1),
			http.StatusConflict, "cannot change"},
		{"an unknown arm", "POST", "/v1/admin/experiments/cvp/override", `{"unit":"g1","arm":"nosuch"}`, http.StatusBadRequest, "unknown arm"},
		{"an overlapping layer", "POST", "/v1/admin/layers", `{"name":"blend","options":["objective"]}`, http.StatusConflict, "both set option"},
		{"unknown experiment", "POST", "/v1/admin/experiments/nosuch/start", "", http.StatusNotFound, "not found"},
		{"unknown action", "POST", "/v1/admin/experiments/cvp/explode", "", http.StatusNotFound, "unknown action"},
		{"list", "GET", "/v1/experiments", "", http.StatusOK, `"key":"cvp"`},
		{"no report route configured", "GET", "/v1/experiments/cvp/report", "", http.StatusServiceUnavailable, "not configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, got := send(t, h, tt.method, tt.path, tt.body)
			if code != tt.want || !strings.Contains(got, tt.contains) {
				t.Fatalf("%s %s: %d %s, want %d containing %q", tt.method, tt.path, code, got, tt.want, tt.contains)
			}
			if code >= 400 && !json.Valid([]byte(got)) {
				t.Fatalf("error body is not JSON: %s", got)
			}
		})
	}
	// picks now carry the arm, follow its options, and log exposures with it
	code, got := send(t, h, "GET", "/v1/groups/1/picks?k=6", "")
	if code != http.StatusOK {
		t.Fatalf("picks: %d %s", code, got)
	}
	var resp struct {
		Experiment, Arm, Objective string
		Experiments                []struct{ Experiment, Arm string }
		Items                      []struct{ Category string }
	}
	if err := json.Unmarshal([]byte(got), &resp); err != nil {
		t.Fatal(err)
	}
	arms := map[string]string{}
	asg := reg.Assigner().Assign(func(u experiment.Unit) string { return experiment.UnitID(u, 1, 0) })
	for _, a := range asg {
		arms[a.Experiment] = a.Arm
	}
	wantArm := arms["cvp"]
	if len(resp.Experiments) != 2 || resp.Experiment != asg[0].Experiment || resp.Arm != asg[0].Arm {
		t.Fatalf("picks answered %+v, want cvp/%s and div/%s", resp, wantArm, arms["div"])
	}
	if resp.Objective != wantArm {
		t.Fatalf("arm %s should rank by %s, got %s", wantArm, wantArm, resp.Objective)
	}
	if arms["div"] == "cap2" {
		per := map[string]int{}
		for _, it := range resp.Items {
			if per[it.Category]++; per[it.Category] > 2 {
				t.Fatalf("category cap 2 broken: %v", per)
			}
		}
	}
	n := len(resp.Items)
	if len(sink.exps) != 2*n || sink.exps[0].Experiment != "div" || sink.exps[0].Arm != arms["div"] || sink.exps[0].Unit != "g1" ||
		sink.exps[n].Experiment != "cvp" || sink.exps[n].Arm != wantArm {
		t.Fatalf("exposures not logged once per experiment with the arm: %+v", sink.exps)
	}
	// a QA override forces the other arm
	other := map[string]string{"practice": "commission", "commission": "practice"}[wantArm]
	if code, got := send(t, h, "POST", "/v1/admin/experiments/cvp/override", `{"unit":"g1","arm":"`+other+`"}`); code != http.StatusOK {
		t.Fatalf("override: %d %s", code, got)
	}
	_, got = send(t, h, "GET", "/v1/groups/1/picks?k=3", "")
	if !strings.Contains(got, `"arm":"`+other+`"`) {
		t.Fatalf("override not applied: %s", got)
	}
	// without the token, admin routes are refused
	req := httptest.NewRequest("POST", "/v1/admin/experiments/cvp/stop", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("stop without a token: %d", w.Code)
	}
}

// rulesHolder applies rules to its model, as the service does.
type rulesHolder struct {
	mu    sync.Mutex
	base  *recommend.Model
	cur   *recommend.Model
	rules recommend.Rules
}

func (h *rulesHolder) model() *recommend.Model {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cur
}

func (h *rulesHolder) Rules() recommend.Rules { return h.rules }

func (h *rulesHolder) SetRules(_ context.Context, r recommend.Rules) error {
	m, err := h.base.WithRules(r)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cur, h.rules = m, r
	return nil
}

func TestBusinessRules(t *testing.T) {
	m := testModel(t)
	rh := &rulesHolder{base: m, cur: m}
	h := api.New(api.Deps{Model: rh.model, Admin: nopAdmin{}, AdminToken: "secret-token", Rules: rh})
	type pick struct {
		SKU      float64
		Category string
	}
	picks := func() []pick {
		_, body := do(t, h, "GET", "/v1/groups/1/picks?k=10")
		var out []pick
		for _, it := range body["items"].([]any) {
			x := it.(map[string]any)
			out = append(out, pick{x["sku"].(float64), x["category"].(string)})
		}
		return out
	}
	index := func(ps []pick, sku float64) int {
		return slices.IndexFunc(ps, func(p pick) bool { return p.SKU == sku })
	}
	before := picks()
	top := before[0].SKU
	boosted := -1.0 // the lowest pick outside the category about to be blocked
	for _, p := range before[1:] {
		if p.Category != "appliances" {
			boosted = p.SKU
		}
	}
	rules := fmt.Sprintf(`{"blocked_skus":[%d],"boosts":{"%d":100},"blocked_categories":["appliances"]}`, int64(top), int64(boosted))
	if code, got := send(t, h, "PUT", "/v1/admin/rules", rules); code != http.StatusOK {
		t.Fatalf("PUT rules: %d %s", code, got)
	}
	after := picks()
	for _, p := range after {
		if p.SKU == top || p.Category == "appliances" {
			t.Fatalf("a blocked item was picked: %+v in %+v", p, after)
		}
	}
	if at := index(after, boosted); at != 0 {
		t.Fatalf("sku %v boosted 100x is at %d (was %d): %+v", boosted, at, index(before, boosted), after)
	}
	if code, got := send(t, h, "GET", "/v1/admin/rules", ""); code != http.StatusOK || !strings.Contains(got, `"blocked_categories":["appliances"]`) {
		t.Fatalf("GET rules: %d %s", code, got)
	}
	// a rating floor: the test catalogue's ratings run from 0.80 to 0.99
	if code, got := send(t, h, "PUT", "/v1/admin/rules", `{"min_rating":0.9}`); code != http.StatusOK {
		t.Fatalf("PUT min_rating: %d %s", code, got)
	}
	_, body := do(t, h, "GET", "/v1/groups/1/picks?k=10")
	items, _ := body["items"].([]any)
	if len(items) == 0 {
		t.Fatal("no picks above the rating floor")
	}
	for _, it := range items {
		if r := it.(map[string]any)["rating"].(float64); r < 0.9 {
			t.Fatalf("an item rated %v passed the floor of 0.9", r)
		}
	}
	for _, bad := range []string{`{"min_rating":1.5}`, `{"boosts":{"101":0}}`, `{"boosts":{"101":1000}}`, `{"blocked_skus":[-3]}`, `{"blocked":[1]}`, `[`} {
		if code, got := send(t, h, "PUT", "/v1/admin/rules", bad); code != http.StatusBadRequest {
			t.Fatalf("PUT rules %s: %d %s, want 400", bad, code, got)
		}
	}
}

func TestCategoryCapParameter(t *testing.T) {
	h := serve(t, testModel(t))
	_, body := do(t, h, "GET", "/v1/groups/1/picks?k=6&category_cap=1")
	per := map[any]int{}
	for _, it := range body["items"].([]any) {
		if per[it.(map[string]any)["category"]]++; per[it.(map[string]any)["category"]] > 1 {
			t.Fatalf("category_cap=1 broken: %v", body["items"])
		}
	}
	if len(per) != 3 { // the test catalogue has three categories
		t.Fatalf("want one pick of each of three categories, got %v", per)
	}
	if code, _ := do(t, h, "GET", "/v1/groups/1/picks?category_cap=-1"); code != http.StatusBadRequest {
		t.Fatalf("category_cap=-1: %d, want 400", code)
	}
}

// An experiment's GET carries its ETag; a change naming a stale one
// (If-Match) is a 409 naming the header and changes nothing; naming the
// current one, or none, it goes through and answers the new ETag.
func TestExperimentIfMatch(t *testing.T) {
	m := testModel(t)
	reg, err := experiment.NewRegistry(&experiment.MemDocs{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := api.New(api.Deps{Model: func() *recommend.Model { return m }, Admin: nopAdmin{}, AdminToken: "secret-token", Experiments: reg})
	do := func(method, path, body, ifMatch string) (int, string, string) {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer secret-token")
		req.Header.Set("Content-Type", "application/json")
		if ifMatch != "" {
			req.Header.Set("If-Match", ifMatch)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code, w.Body.String(), w.Header().Get("ETag")
	}
	def := strings.Replace(strings.Replace(twoArms, "%s", "x", 1), "%s", "50", 1)
	if code, got, _ := do("POST", "/v1/admin/experiments", def, ""); code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, got)
	}
	_, _, first := do("GET", "/v1/experiments/x", "", "")
	if first == "" {
		t.Fatal("GET answered no ETag")
	}
	edited := strings.Replace(def, `"planned_days":14`, `"planned_days":21`, 1)
	code, _, second := do("PUT", "/v1/admin/experiments/x", edited, first)
	if code != http.StatusOK || second == "" || second == first {
		t.Fatalf("update with the current ETag: %d, ETag %q (was %q)", code, second, first)
	}
	for _, c := range []struct{ method, path, body string }{
		{"PUT", "/v1/admin/experiments/x", def},
		{"POST", "/v1/admin/experiments/x/start", ""},
	} {
		code, got, _ := do(c.method, c.path, c.body, first)
		if code != http.StatusConflict || !strings.Contains(got, "If-Match") || !json.Valid([]byte(got)) {
			t.Errorf("%s %s with a stale ETag: %d %s, want a 409 naming If-Match", c.method, c.path, code, got)
		}
	}
	if e, _ := reg.Get("x"); e.PlannedDays != 21 || e.Status != experiment.Draft {
		t.Errorf("a refused change went through: %+v", e)
	}
	if code, got, third := do("POST", "/v1/admin/experiments/x/start", "", second); code != http.StatusOK || third == second {
		t.Errorf("start with the current ETag: %d %s (ETag %q)", code, got, third)
	}
}
