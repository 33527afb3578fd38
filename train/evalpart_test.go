package train

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"

	"grouprank/data"
	"grouprank/features"
)

// hashOracle is a made-up truth for the oracle sums of TestEvalPartsMerge.
type hashOracle struct{}

func (hashOracle) Values(g int32, dst []float64) {
	for i := range dst {
		dst[i] = float64(mix(uint64(g)*7919+uint64(i))%1000) / 1000
	}
}

func mix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	return x
}

// TestEvalPartsMerge: the parts of an evaluation, however the groups are
// split and written to files, merge into the report Evaluate gives (every
// figure and the per-group values equal); a missing, doubled or foreign
// part is refused.
func TestEvalPartsMerge(t *testing.T) {
	const G, I = 300, 120
	ps := make([]data.Product, I)
	for i := range ps {
		ps[i] = data.Product{SKU: data.SKU(i + 1), InStock: i%11 != 0}
	}
	gs := make([]data.Group, G)
	test := make([][]int32, G)
	var hr, hc []int32
	var hw []float32
	for g := range gs {
		gs[g] = data.Group{ID: data.GroupID(g + 1), Promoter: 1}
		if g%3 != 0 {
			test[g] = []int32{int32(mix(uint64(g)) % I), int32(mix(uint64(g)+1) % I)}
		}
		hr, hc, hw = append(hr, int32(g)), append(hc, int32(mix(uint64(g)+2)%I)), append(hw, 1)
	}
	d := &EvalData{Cat: features.NewCatalog(ps, data.UnknownTime), Groups: features.NewGroups(gs), Test: test,
		History: NewInteractions(G, I, hr, hc, hw), ExcludeBought: true, Oracle: hashOracle{}, AUCGroups: 40, Seed: 3}
	for g := 0; g < G; g += 2 {
		d.OracleGroups = append(d.OracleGroups, int32(g))
	}
	methods := []Method{
		{"a", ScorerFunc(func(g int32, dst []float32) {
			for i := range dst {
				dst[i] = float32(mix(uint64(g)<<20|uint64(i)) % 97)
			}
		})},
		{"b", ScorerFunc(func(_ int32, dst []float32) {
			for i := range dst {
				dst[i] = float32(i % 13)
			}
		})},
	}
	ctx := context.Background()
	want, err := Evaluate(ctx, d, methods, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	same := func(t *testing.T, got *Report) {
		t.Helper()
		a, _ := json.Marshal(want)
		b, _ := json.Marshal(got)
		if string(a) != string(b) {
			t.Fatalf("merged report\n%s\nwant\n%s", b, a)
		}
		for m := range want.Results {
			a, _ := json.Marshal(want.Results[m].PerGroup)
			b, _ := json.Marshal(got.Results[m].PerGroup)
			if string(a) != string(b) {
				t.Fatalf("method %s: per-group values differ", want.Results[m].Method)
			}
		}
	}
	dir := t.TempDir()
	parts := func(n int, ctxt string) []*EvalPart {
		var out []*EvalPart
		for s := range n {
			p, err := EvaluatePart(ctx, d, methods, 1+s%2, nil, func(g int32) bool { return int(mix(uint64(g))%uint64(n)) == s }, s, n, ctxt)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "part")
			if err := WriteEvalPart(path, p); err != nil {
				t.Fatal(err)
			}
			if p, err = ReadEvalPart(path); err != nil {
				t.Fatal(err)
			}
			out = append(out, p)
		}
		return out
	}
	for _, n := range []int{1, 3, 4} {
		ps := parts(n, "x")
		got, err := MergeEval(ps)
		if err != nil {
			t.Fatalf("%d parts: %v", n, err)
		}
		same(t, got)
		// In any order.
		ps[0], ps[n-1] = ps[n-1], ps[0]
		if got, err = MergeEval(ps); err != nil {
			t.Fatal(err)
		}
		same(t, got)
	}
	three := parts(3, "x")
	other := parts(3, "y")
	for name, bad := range map[string][]*EvalPart{
		"missing": three[:2],
		"doubled": {three[0], three[1], three[1]},
		"foreign": {three[0], three[1], other[2]},
		"none":    nil,
	} {
		if _, err := MergeEval(bad); !errors.Is(err, ErrEvalParts) {
			t.Errorf("%s: %v, want ErrEvalParts", name, err)
		}
	}
	if _, err := ReadEvalPart(filepath.Join(dir, "nothing")); err == nil {
		t.Error("a missing file was read")
	}
}
