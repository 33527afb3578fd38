package api_test

import (
	"encoding/json"
	"math"
	"net/http"
	"testing"

	"grouprank/data"
	"grouprank/recommend"
	"grouprank/recommend/api"
	"grouprank/recommend/experiment"
)

type pickedList struct {
	Explored bool
	Items    []struct {
		SKU        data.SKU
		Propensity float64
	}
}

// With --explore, served lists are drawn at random from the eligible
// items, and the exposures logged carry the propensities the response
// shows, low enough for training to find the randomised lists; previews and
// a service without an exposure log never explore; an arm's explore option
// overrides the service's.
func TestExploration(t *testing.T) {
	m := testModel(t)
	get := func(h http.Handler, path string) pickedList {
		t.Helper()
		code, body := send(t, h, "GET", path, "")
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, code, body)
		}
		var l pickedList
		if err := json.Unmarshal([]byte(body), &l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	const eligible = 39 // testModel: 40 items, one out of stock
	sink := &exposureSink{}
	h := api.New(api.Deps{Model: func() *recommend.Model { return m }, Exposures: sink, Explore: 1})
	l := get(h, "/v1/groups/1/picks?k=5")
	if !l.Explored || len(l.Items) != 5 || len(sink.exps) != 5 {
		t.Fatalf("explore 1: %+v, %d exposures logged", l, len(sink.exps))
	}
	for k, it := range l.Items {
		e := sink.exps[k]
		if math.Abs(it.Propensity-1.0/eligible) > 1e-12 || e.Propensity != it.Propensity || e.SKU != it.SKU || e.Rank != int32(k+1) {
			t.Errorf("rank %d: served %+v, logged %+v, want propensity 1/%d", k+1, it, e, eligible)
		}
	}
	if p := get(h, "/v1/groups/1/picks?k=5&preview=true"); p.Explored || p.Items[0].Propensity != 1 || len(sink.exps) != 5 {
		t.Errorf("a preview explored (%+v) or was logged (%d exposures)", p, len(sink.exps))
	}
	unlogged := api.New(api.Deps{Model: func() *recommend.Model { return m }, Explore: 1})
	if p := get(unlogged, "/v1/groups/1/picks?k=5"); p.Explored {
		t.Error("a service without an exposure log explored")
	}

	// an arm of the exploration layer turns it off for its units
	reg, err := experiment.NewRegistry(&experiment.MemDocs{}, func(o, v string) error {
		return recommend.ApplyOptions(&recommend.PicksRequest{}, map[string]string{o: v})
	})
	if err != nil {
		t.Fatal(err)
	}
	h = api.New(api.Deps{Model: func() *recommend.Model { return m }, Exposures: sink, Explore: 1, Admin: nopAdmin{}, AdminToken: "secret-token",
		Experiments: reg})
	const off = `{"key":"noexplore","layer":"exploration","traffic":1,"planned_days":14,
 "arms":[{"name":"a","weight":50,"options":{"explore":"0"}},{"name":"b","weight":50,"options":{"explore":"0"}}]}`
	for _, step := range [][2]string{{"/v1/admin/experiments", off}, {"/v1/admin/experiments/noexplore/start", ""}} {
		if code, body := send(t, h, "POST", step[0], step[1]); code >= 300 {
			t.Fatalf("%s: %d %s", step[0], code, body)
		}
	}
	if p := get(h, "/v1/groups/1/picks?k=5"); p.Explored || p.Items[0].Propensity != 1 {
		t.Errorf("the arm's explore=0 did not override the service's 1: %+v", p)
	}
}
