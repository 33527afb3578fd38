package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
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
