package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
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

// failingAdmin fails every call with an error that names a server path.
type failingAdmin struct{}

var errDisk = errors.New("open /srv/grouprank/snapshots/v9/000001.sst: input/output error")

func (failingAdmin) Promote(context.Context, string) (string, error) { return "", errDisk }
func (failingAdmin) Rollback(context.Context) (string, error)        { return "", errDisk }
func (failingAdmin) Reload(context.Context) (string, error)          { return "", errDisk }

// TestInternalErrorsStayInTheLog: a 500 tells the client a request id and a
// generic message; the detail reaches the log under that id.
func TestInternalErrorsStayInTheLog(t *testing.T) {
	var logged bytes.Buffer
	m := testModel(t)
	h := api.New(api.Deps{Model: func() *recommend.Model { return m }, Admin: failingAdmin{}, AdminToken: "secret-token",
		Log: slog.New(slog.NewJSONHandler(&logged, nil))})
	for _, path := range []string{"/v1/admin/models/v9/promote", "/v1/admin/models/rollback", "/v1/admin/models/reload"} {
		t.Run(path, func(t *testing.T) {
			code, body := send(t, h, http.MethodPost, path, "")
			if code != http.StatusInternalServerError {
				t.Fatalf("status %d, want 500: %s", code, body)
			}
			var e struct {
				Error     string `json:"error"`
				RequestID string `json:"request_id"`
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatal(err)
			}
			if e.RequestID == "" || contains(body, "/srv/") || contains(body, "input/output") {
				t.Errorf("the client was told %s; want a request id and no detail", body)
			}
			if !contains(logged.String(), e.RequestID) || !contains(logged.String(), "input/output error") {
				t.Errorf("the log lacks the request id %s with the detail:\n%s", e.RequestID, logged.String())
			}
		})
	}
}

// degenerate are datasets an early or broken experiment produces: no unit
// exposed, units without a push or an order, one arm empty, a single unit.
func degenerate() map[string]*experiment.Dataset {
	arms := []string{"practice", "commission"}
	unit := func(id string, arm int, t experiment.Totals) experiment.UnitData {
		return experiment.UnitData{ID: id, Arm: arm, Daily: []experiment.Totals{t, {}}}
	}
	var pushed experiment.Totals
	pushed[experiment.Pushes] = 3
	var sold experiment.Totals
	sold[experiment.Pushes], sold[experiment.Orders], sold[experiment.GMV], sold[experiment.Commission] = 2, 1, 39.9, 4
	many := func(arm int, t experiment.Totals) []experiment.UnitData {
		var out []experiment.UnitData
		for k := range 40 {
			out = append(out, unit(fmt.Sprint("g", arm, k), arm, t))
		}
		return out
	}
	return map[string]*experiment.Dataset{
		"no units":         {Arms: arms, Days: 2, Periods: 1},
		"no pushes":        {Arms: arms, Days: 2, Periods: 1, Units: append(many(0, experiment.Totals{}), many(1, experiment.Totals{})...)},
		"no orders":        {Arms: arms, Days: 2, Periods: 1, Units: append(many(0, pushed), many(1, pushed)...)},
		"one arm empty":    {Arms: arms, Days: 2, Periods: 1, Units: many(1, sold)},
		"one unit":         {Arms: arms, Days: 2, Periods: 1, Units: []experiment.UnitData{unit("g1", 0, sold)}},
		"control sold nil": {Arms: arms, Days: 2, Periods: 1, Units: append(many(0, pushed), many(1, sold)...)},
	}
}

// TestDegenerateReports sweeps the JSON endpoints an experiment feeds with
// degenerate data: every answer is a complete JSON body, never an empty
// 200, and a number that cannot be computed is null.
func TestDegenerateReports(t *testing.T) {
	for name, ds := range degenerate() {
		t.Run(name, func(t *testing.T) {
			m := testModel(t)
			reg, err := experiment.NewRegistry(&experiment.MemDocs{}, func(o, v string) error {
				return recommend.ApplyOptions(&recommend.PicksRequest{}, map[string]string{o: v})
			})
			if err != nil {
				t.Fatal(err)
			}
			h := api.New(api.Deps{Model: func() *recommend.Model { return m }, Admin: nopAdmin{}, AdminToken: "secret-token",
				Experiments: reg, Report: func(_ context.Context, key string) (*experiment.Report, error) {
					e, err := reg.Get(key)
					if err != nil {
						return nil, err
					}
					return experiment.Analyze(e, ds), nil
				}})
			for _, step := range []string{"/v1/admin/experiments", "/v1/admin/experiments/cvp/start"} {
				body := ""
				if !strings.HasSuffix(step, "start") {
					body = strings.Replace(strings.Replace(twoArms, "%s", "cvp", 1), "%s", "50", 1)
				}
				if code, got := send(t, h, http.MethodPost, step, body); code >= 300 {
					t.Fatalf("%s: %d %s", step, code, got)
				}
			}
			for _, path := range []string{"/v1/experiments/cvp/report", "/v1/experiments", "/v1/experiments/cvp", "/v1/status",
				"/v1/groups/1", "/v1/groups/1/picks?k=3&preview=true"} {
				code, got := send(t, h, http.MethodGet, path, "")
				var v any
				if err := json.Unmarshal([]byte(got), &v); err != nil || got == "" || code >= 500 {
					t.Errorf("%s: %d, body %q (%v)", path, code, got, err)
				}
			}
			if code, got := send(t, h, http.MethodGet, "/v1/experiments/cvp/report?format=table", ""); code != 200 || got == "" {
				t.Errorf("the report as a table: %d %q", code, got)
			}
			_, got := send(t, h, http.MethodGet, "/v1/experiments/cvp/report", "")
			var rep struct {
				Metrics []map[string]json.RawMessage `json:"metrics"`
			}
			if err := json.Unmarshal([]byte(got), &rep); err != nil || len(rep.Metrics) == 0 && name != "no units" {
				t.Fatalf("report: %v, %d metrics", err, len(rep.Metrics))
			}
			nulls := 0
			for _, m := range rep.Metrics {
				for _, part := range []string{"arms", "cuped", "lifts", "cuped_lifts", "sequential"} {
					var objs []map[string]any
					if raw, ok := m[part]; ok {
						if err := json.Unmarshal(raw, &objs); err != nil {
							t.Fatalf("%s: %v", part, err)
						}
					}
					for _, o := range objs {
						for k, v := range o {
							if v != nil {
								continue
							}
							nulls++
							if note, _ := o["note"].(string); note == "" {
								t.Errorf("%s: %s is null with no note saying why: %v", part, k, o)
							}
						}
					}
				}
			}
			t.Logf("%d null values, each with its note", nulls)
		})
	}
}

// orderIndex knows the orders it holds.
type orderIndex map[data.OrderID]bool

func (o orderIndex) KnownOrders(_ context.Context, ids []data.OrderID) ([]bool, error) {
	out := make([]bool, len(ids))
	for k, id := range ids {
		out[k] = o[id]
	}
	return out, nil
}

// TestImplausibleEvents: orders beyond the plausibility bounds, cancels
// of orders never received and joins or leaves without their member (or
// with an sku) are refused with the field named; the list of valid kinds
// has no empty entry.
func TestImplausibleEvents(t *testing.T) {
	m := testModel(t) // sku 100 costs 10.00 yuan
	now := time.Now().UTC()
	h := api.New(api.Deps{Model: func() *recommend.Model { return m }, Events: sink{}, Orders: orderIndex{41: true},
		Now: func() time.Time { return now }})
	ev := func(fields string) string {
		return fmt.Sprintf(`{"events":[{"id":"e1","group":1,"sku":100,"time":%q,%s}]}`, now.Format(time.RFC3339), fields)
	}
	join := func(fields string) string {
		return fmt.Sprintf(`{"events":[{"id":"j1","time":%q,%s}]}`, now.Format(time.RFC3339), fields)
	}
	for _, c := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"a plausible order", ev(`"kind":"order","order":7,"quantity":2,"amount_cents":1800`), 200, `"accepted":1`},
		{"100,000 units", ev(`"kind":"order","order":7,"quantity":100000,"amount_cents":100000000`), 400, "quantity"},
		{"a 10-yuan item at a billion yuan", ev(`"kind":"order","order":7,"quantity":1,"amount_cents":99999999999`), 400, "amount_cents"},
		{"a cancel of an unknown order", ev(`"kind":"cancel","order":999`), 400, "order 999, which this service never received"},
		{"a cancel of a stored order", ev(`"kind":"cancel","order":41`), 200, `"accepted":1`},
		{"a cancel of an order in the batch", fmt.Sprintf(`{"events":[{"id":"o","kind":"order","group":1,"sku":100,"time":%q,"order":5,"quantity":1,"amount_cents":1000},
			{"id":"c","kind":"cancel","group":1,"sku":100,"time":%q,"order":5}]}`, now.Format(time.RFC3339), now.Format(time.RFC3339)), 200, `"accepted":2`},
		{"an unknown kind", ev(`"kind":"like"`), 400, `want one of exposure, push, click, order, cancel, join, leave"`},
		{"a member joins", join(`"kind":"join","group":1,"member":12`), 200, `"accepted":1`},
		{"a member leaves", join(`"kind":"leave","group":1,"member":12`), 200, `"accepted":1`},
		{"a join without its member", join(`"kind":"join","group":1`), 400, "member"},
		{"a join naming a buyer", join(`"kind":"join","group":1,"buyer":12`), 400, "buyer"},
		{"a join with an sku", join(`"kind":"join","group":1,"member":12,"sku":100`), 400, "sku"},
		{"a join without a group", join(`"kind":"join","member":12`), 400, "group"},
		{"an order naming a member", ev(`"kind":"order","order":7,"quantity":1,"amount_cents":1000,"member":3`), 400, "member"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, body := send(t, h, http.MethodPost, "/v1/events", c.body)
			if code != c.status || !strings.Contains(body, c.want) {
				t.Errorf("%d %s, want %d containing %q", code, body, c.status, c.want)
			}
		})
	}
}

// What confused ops: a misspelt blocked category is refused naming the known
// ones; an unknown objective or category lists every valid value.
func TestOpsErrorsListValidValues(t *testing.T) {
	m := testModel(t)
	rh := &rulesHolder{base: m, cur: m}
	h := api.New(api.Deps{Model: rh.model, Admin: nopAdmin{}, AdminToken: "secret-token", Rules: rh})
	for _, c := range []struct {
		method, path, body string
		want               []string
	}{
		{"PUT", "/v1/admin/rules", `{"blocked_categories":["Foodz"]}`, []string{`blocked category \"Foodz\"`, "food, home, appliances"}},
		{"GET", "/v1/groups/1/picks?objective=fame", "", []string{"orders, gmv, commission, commission-quality, practice"}},
		{"GET", "/v1/groups/1/picks?category=Foodz", "", []string{"food, home, appliances"}},
		{"GET", "/v1/groups/1/picks?explain=true&lang=fr", "", []string{`lang \"fr\"`, "zh (Simplified Chinese, the default) or en"}},
	} {
		code, got := send(t, h, c.method, c.path, c.body)
		for _, w := range c.want {
			if code != http.StatusBadRequest || !strings.Contains(got, w) {
				t.Errorf("%s %s: %d %s, want 400 containing %q", c.method, c.path, code, got, w)
			}
		}
	}
}

// blockingSink holds every batch until released.
type blockingSink struct {
	entered chan struct{}
	release chan struct{}
}

func (b blockingSink) Append(_ context.Context, evs []data.Event) ([]bool, error) {
	b.entered <- struct{}{}
	<-b.release
	return make([]bool, len(evs)), nil
}

// TestOverloadSheds: past the limit of event batches (or picks) in flight,
// a request is answered at once with 503, Retry-After and a JSON error, and
// counted in /metrics; the batches in flight complete.
func TestOverloadSheds(t *testing.T) {
	m := testModel(t)
	now := time.Now().UTC()
	sink := blockingSink{entered: make(chan struct{}), release: make(chan struct{})}
	h := api.New(api.Deps{Model: func() *recommend.Model { return m }, Events: sink, MaxEventsInFlight: 2, MaxPicksInFlight: 1,
		Now: func() time.Time { return now }})
	batch := func(id string) string {
		return fmt.Sprintf(`{"events":[{"id":%q,"kind":"push","group":1,"sku":100,"push":3,"time":%q}]}`, id, now.Format(time.RFC3339))
	}
	codes := make(chan int, 2)
	for k := range 2 {
		go func() { code, _ := send(t, h, http.MethodPost, "/v1/events", batch(fmt.Sprint("e", k))); codes <- code }()
		<-sink.entered
	}
	req := httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(batch("e3")))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "overloaded") {
		t.Errorf("a third batch while two are in flight: %d %q %s", w.Code, w.Header().Get("Retry-After"), w.Body.String())
	}
	close(sink.release)
	for range 2 {
		if code := <-codes; code != http.StatusOK {
			t.Errorf("a batch in flight ended %d", code)
		}
	}
	if _, got := send(t, h, http.MethodGet, "/metrics", ""); !strings.Contains(got, `grouprank_http_shed_total{kind="events"} 1`) {
		t.Errorf("/metrics does not count the shed batch")
	}
}

// TestSmallHardening: an empty list is [] not null; the bearer scheme is
// case-insensitive; a client's X-Request-ID is a label, never the list's
// key or exploration seed.
func TestSmallHardening(t *testing.T) {
	m := testModel(t)
	sinkX := &exposureSink{}
	h := api.New(api.Deps{Model: func() *recommend.Model { return m }, Admin: nopAdmin{}, AdminToken: "secret-token", Exposures: sinkX})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/v1/groups/1/picks?price_min=99999999", nil))
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"items":[]`) {
		t.Errorf("every item filtered out: %d %s, want items []", w.Code, w.Body.String())
	}
	for _, auth := range []string{"bearer secret-token", "BEARER secret-token", "Bearer secret-token"} {
		req := httptest.NewRequest("POST", "/v1/admin/models/reload", nil)
		req.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			t.Errorf("Authorization %q: %d %s", auth, w.Code, w.Body.String())
		}
	}
	// a web page may post text/plain anywhere: writes take application/json only
	req := httptest.NewRequest("POST", "/v1/events", strings.NewReader(`{"events":[]}`))
	req.Header.Set("Content-Type", "text/plain")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusUnsupportedMediaType || !strings.Contains(w.Body.String(), "application/json") {
		t.Errorf("events as text/plain: %d %s, want 415", w.Code, w.Body.String())
	}
	ids := map[string]bool{}
	for range 2 {
		req := httptest.NewRequest("GET", "/v1/groups/1/picks?k=3", nil)
		req.Header.Set("X-Request-ID", "chosen-by-client")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		var body struct {
			RequestID string `json:"request_id"`
		}
		json.Unmarshal(w.Body.Bytes(), &body)
		if body.RequestID == "chosen-by-client" || w.Header().Get("X-Client-Request-ID") != "chosen-by-client" {
			t.Errorf("request id %q, client label %q", body.RequestID, w.Header().Get("X-Client-Request-ID"))
		}
		ids[body.RequestID] = true
	}
	sinkX.mu.Lock()
	defer sinkX.mu.Unlock()
	for _, x := range sinkX.exps {
		if x.RequestID == "chosen-by-client" {
			t.Fatalf("an exposure is keyed by the client's id: %+v", x)
		}
	}
	if len(ids) != 2 {
		t.Errorf("two requests with the same client id got ids %v; want two of the server's own", ids)
	}
}

// TestRefuseUnknownGroups: with the option on, events of groups the
// snapshot has no record of are refused naming the group.
func TestRefuseUnknownGroups(t *testing.T) {
	m := testModel(t) // knows group 1
	now := time.Now().UTC()
	h := api.New(api.Deps{Model: func() *recommend.Model { return m }, Events: sink{}, RefuseUnknownGroups: true, Now: func() time.Time { return now }})
	ev := func(g int) string {
		return fmt.Sprintf(`{"events":[{"id":"p%d","kind":"push","group":%d,"sku":100,"push":3,"time":%q}]}`, g, g, now.Format(time.RFC3339))
	}
	if code, body := send(t, h, http.MethodPost, "/v1/events", ev(1)); code != 200 {
		t.Errorf("a known group's event: %d %s", code, body)
	}
	if code, body := send(t, h, http.MethodPost, "/v1/events", ev(777)); code != 400 || !strings.Contains(body, "group 777 is not known") {
		t.Errorf("an unknown group's event: %d %s, want 400 naming it", code, body)
	}
}
