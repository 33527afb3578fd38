package experiment

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"grouprank/data"
)

func commissionTest(key string) *Experiment {
	return &Experiment{Key: key, Layer: "ranking", Traffic: 1, PlannedDays: 14, PreDays: 14,
		Arms: []Arm{{Name: "practice", Weight: 50, Options: map[string]string{"objective": "practice"}},
			{Name: "commission", Weight: 50, Options: map[string]string{"objective": "commission"}}},
		Guardrails: []Guardrail{{Metric: "orders_per_push", Margin: 0.02}}}
}

func TestRefusals(t *testing.T) {
	check := func(opt, v string) error {
		if opt == "objective" && !strings.Contains("practice commission orders gmv", v) {
			return fmt.Errorf("unknown objective")
		}
		return nil
	}
	reg, err := NewRegistry(&MemDocs{}, check)
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Create(commissionTest("base"), 0, false); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Start("base", 1000); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		run  func() error
		want string
		is   error
	}{
		{"weights not summing to 100%", func() error {
			e := commissionTest("w")
			e.Arms[1].Weight = 40
			return reg.Create(e, 0, false)
		}, "arm weights must sum to 100%, got 90%", data.ErrInvalid},
		{"an unknown arm in an override", func() error {
			_, err := reg.Override("base", "g1", "nosuch")
			return err
		}, `unknown arm "nosuch"`, data.ErrInvalid},
		{"an unknown arm in the definition's overrides", func() error {
			e := commissionTest("o")
			e.Overrides = map[string]string{"g1": "nosuch"}
			return reg.Create(e, 0, false)
		}, `names unknown arm "nosuch"`, data.ErrInvalid},
		{"two running experiments in one layer", func() error {
			if err := reg.Create(commissionTest("second"), 0, false); err != nil {
				return err
			}
			_, err := reg.Start("second", 2000)
			return err
		}, `layer "ranking" already runs experiment "base"`, data.ErrConflict},
		{"two layers setting the same option", func() error {
			return reg.AddLayer(Layer{Name: "blend", Options: []string{"commission_weight"}})
		}, `layers "ranking" and "blend" both set option "commission_weight"`, data.ErrConflict},
		{"an option its layer does not own", func() error {
			e := commissionTest("x")
			e.Arms[1].Options["model_version"] = "m2"
			return reg.Create(e, 0, false)
		}, `sets option "model_version", which layer "ranking" does not own (layer model does`, data.ErrInvalid},
		{"a bad option value", func() error {
			e := commissionTest("v")
			e.Arms[1].Options["objective"] = "fame"
			return reg.Create(e, 0, false)
		}, `option objective="fame": unknown objective`, data.ErrInvalid},
		{"changing a running experiment's arms", func() error {
			e := commissionTest("base")
			e.Arms[0].Weight, e.Arms[1].Weight = 40, 60
			return reg.Update(e)
		}, "its arms, unit, layer and salt cannot change", data.ErrConflict},
		{"ramping traffic down", func() error {
			_, err := reg.Ramp("base", 0.5, 3000)
			return err
		}, "traffic can only ramp up", data.ErrConflict},
		{"an unknown metric", func() error {
			e := commissionTest("m")
			e.Primary = "happiness"
			return reg.Create(e, 0, false)
		}, `unknown primary metric "happiness"`, data.ErrInvalid},
		{"one arm", func() error {
			e := commissionTest("one")
			e.Arms = e.Arms[:1]
			e.Arms[0].Weight = 100
			return reg.Create(e, 0, false)
		}, "needs at least two arms", data.ErrInvalid},
		{"an existing key", func() error { return reg.Create(commissionTest("base"), 0, false) }, "already exists", data.ErrConflict},
		{"stopping a draft", func() error {
			_, err := reg.Stop("second", 0)
			return err
		}, "is draft, not running", data.ErrConflict},
		{"an unknown experiment", func() error {
			_, err := reg.Start("nosuch", 0)
			return err
		}, "not found", data.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, tt.is) {
				t.Fatalf("got %v, want an error containing %q wrapping %v", err, tt.want, tt.is)
			}
		})
	}
}

// TestAssignment: deterministic, weights respected, a ramp adds units and
// moves nobody, overrides win and are marked, layers are salted apart.
func TestAssignment(t *testing.T) {
	reg, err := NewRegistry(&MemDocs{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := commissionTest("ramp")
	e.Traffic = 0.2
	e.Arms[0].Weight, e.Arms[1].Weight = 30, 70
	if err := reg.Create(e, 0, false); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Start("ramp", 10); err != nil {
		t.Fatal(err)
	}
	d := commissionTest("div")
	d.Layer, d.Arms[0].Options, d.Arms[1].Options = "diversity", map[string]string{"category_cap": "0"}, map[string]string{"category_cap": "3"}
	if err := reg.Create(d, 0, false); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Start("div", 10); err != nil {
		t.Fatal(err)
	}
	const n = 20000
	armOf := func(a *Assigner, u int) map[string]string {
		out := map[string]string{}
		for _, x := range a.Assign(func(Unit) string { return fmt.Sprint("g", u) }) {
			out[x.Experiment] = x.Arm
		}
		return out
	}
	before := make([]map[string]string, n)
	counts := map[string]int{}
	both := 0
	for u := range n {
		before[u] = armOf(reg.Assigner(), u)
		counts[before[u]["ramp"]]++
		if before[u]["ramp"] == "commission" && before[u]["div"] == "commission" {
			both++
		}
	}
	in := n - counts[""]
	if math.Abs(float64(in)/n-0.2) > 0.01 || math.Abs(float64(counts["commission"])/float64(in)-0.7) > 0.02 {
		t.Fatalf("20%% traffic, 30/70 arms: got %v", counts)
	}
	// independent layers: P(both treatment) = 0.2*0.7 * 0.5
	if math.Abs(float64(both)/n-0.07) > 0.01 {
		t.Errorf("layers not independent: %d of %d units in both treatments, want about 7%%", both, n)
	}
	if _, err := reg.Ramp("ramp", 0.6, 20); err != nil {
		t.Fatal(err)
	}
	added := 0
	for u := range n {
		after := armOf(reg.Assigner(), u)
		if b := before[u]["ramp"]; b != "" && after["ramp"] != b {
			t.Fatalf("unit %d switched from %s to %s on a ramp up", u, b, after["ramp"])
		}
		if before[u]["ramp"] == "" && after["ramp"] != "" {
			added++
		}
		if after["div"] != before[u]["div"] {
			t.Fatalf("ramping one layer moved unit %d in another", u)
		}
	}
	if math.Abs(float64(added)/n-0.4) > 0.015 {
		t.Errorf("ramp 20%% -> 60%% added %d of %d units", added, n)
	}
	if _, err := reg.Override("ramp", "g1", "practice"); err != nil {
		t.Fatal(err)
	}
	for _, x := range reg.Assigner().Assign(func(Unit) string { return "g1" }) {
		if x.Experiment == "ramp" && (x.Arm != "practice" || !x.Override) {
			t.Fatalf("override not applied: %+v", x)
		}
	}
	got, _ := reg.Get("ramp")
	if len(got.Periods) != 2 || got.Periods[0].Traffic != 0.2 || got.Periods[1].Traffic != 0.6 || got.Periods[0].To != 20 {
		t.Fatalf("periods not recorded: %+v", got.Periods)
	}
	// the same salt and unit give the same bucket on any machine
	if b := Bucket("ramp", "g42"); b != Bucket("ramp", "g42") || b < 0 || b >= Buckets {
		t.Fatal("bucket not deterministic")
	}
}
