package train

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"grouprank/data"
	"grouprank/features"
	"grouprank/train/exchange"
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
		ps, err := evalByParts(t, d, methods, n, ctxt)
		if err != nil {
			t.Fatal(err)
		}
		for k, p := range ps {
			path := filepath.Join(dir, "part")
			if err := WriteEvalPart(path, p); err != nil {
				t.Fatal(err)
			}
			if ps[k], err = ReadEvalPart(path); err != nil {
				t.Fatal(err)
			}
		}
		return ps
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

// evalByParts runs EvaluatePart for each of n parts at once, each given
// only its groups' data (data.PartOf their ids): their targets, history
// rows and oracle groups, the methods and the oracle reading them by their
// index among every group.
func evalByParts(t *testing.T, d *EvalData, methods []Method, n int, ctxt string) ([]*EvalPart, error) {
	t.Helper()
	out := make([]*EvalPart, n)
	err := byParts(t, n, func(i int, ex *exchange.Dir) error {
		sh := NewShard(context.Background(), ex, d.Groups.IDs)
		var mine []int32 // this part's groups' indices among all
		var gs []data.Group
		for g, id := range d.Groups.IDs {
			if data.PartOf(id, n) == i {
				mine = append(mine, int32(g))
				gs = append(gs, data.Group{ID: id, Promoter: 1})
			}
		}
		local := *d
		local.Groups = features.NewGroups(gs)
		local.Test = make([][]int32, len(mine))
		var hr, hc []int32
		var hw []float32
		for l, g := range mine {
			local.Test[l] = d.Test[g]
			cols, ws := d.History.Row(int(g))
			for k := range cols {
				hr, hc, hw = append(hr, int32(l)), append(hc, cols[k]), append(hw, ws[k])
			}
		}
		local.History = NewInteractions(len(mine), d.History.Cols, hr, hc, hw)
		local.OracleGroups = nil
		for _, g := range d.OracleGroups {
			if l, ok := slices.BinarySearch(mine, g); ok {
				local.OracleGroups = append(local.OracleGroups, int32(l))
			}
		}
		if d.Oracle != nil {
			local.Oracle = localOracle{d.Oracle, mine}
		}
		ms := make([]Method, len(methods))
		for m, meth := range methods {
			ms[m] = Method{meth.Name, ScorerFunc(func(g int32, dst []float32) { meth.Scorer.Score(mine[g], dst) })}
		}
		var err error
		out[i], err = EvaluatePart(context.Background(), &local, ms, 1+i%2, nil, sh, ctxt)
		return err
	})
	return out, err
}

type localOracle struct {
	o    Oracle
	mine []int32
}

func (l localOracle) Values(g int32, dst []float64) { l.o.Values(l.mine[g], dst) }
