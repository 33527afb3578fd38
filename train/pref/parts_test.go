package pref

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"grouprank/recommend"
	"grouprank/train"
	"grouprank/train/exchange"
)

// partsWorld: 90 groups, 40 members and 30 items, with memberships, orders
// placed in groups by known members, and pushes no order carried.
func partsWorld() *Data {
	const groups, members, items = 90, 40, 30
	g := randomRows(groups, items, 0.12, 5)
	m := randomRows(members, items, 0.15, 6)
	pushed := randomRows(groups, items, 0.05, 7)
	rng := rand.New(rand.NewPCG(8, 1))
	var or, oc []int32
	var ow []float32
	placed := make([][]Placed, groups)
	for r := range groups {
		for range 1 + rng.IntN(3) {
			mem := int32(rng.IntN(members))
			or, oc, ow = append(or, int32(r)), append(oc, mem), append(ow, 1)
			if cols, ws := g.Row(r); len(cols) > 0 && rng.IntN(2) == 0 {
				placed[r] = append(placed[r], Placed{Member: mem, Item: cols[0], Weight: ws[0]})
			}
		}
	}
	of := train.NewInteractions(groups, members, or, oc, ow)
	for k := range of.W {
		of.W[k] = 1
	}
	return &Data{Items: items, Groups: g, Members: m, Of: of, Placed: placed, Pushed: pushed}
}

// searchAndServe runs what train does on d: the search on a group split,
// and for every method's best, its calibration and NDCG on a member split
// (members probed as groups of one) and its refit's serving form; it
// describes every number of the outcome (times aside).
func searchAndServe(ctx context.Context, d *Data) (string, error) {
	val := Validation{HoldOut(d, 0.3, 1)}
	sel, err := SelectModel(ctx, val, "test", Methods, 6, 1, 2, Progress{})
	if err != nil {
		return "", err
	}
	sel.Millis = 0
	for _, s := range sel.Searches {
		s.Millis = 0
		for k := range s.Trials {
			s.Trials[k].Millis = 0
		}
	}
	var b strings.Builder
	js, err := json.Marshal(sel)
	if err != nil {
		return "", err
	}
	b.Write(js)
	probes := MemberHoldOut(d, 0.3, 2)
	for _, s := range sel.Searches {
		if s.Best == nil || s.Method == MethodMembers {
			continue
		}
		vm, err := Fit(ctx, probes.Train, *s.Best, 1, 2)
		if err != nil {
			return "", err
		}
		ndcg, err := NDCG(ctx, vm, probes, 10, 2)
		if err != nil {
			return "", err
		}
		c, err := Calibrate(ctx, vm, probes, 5, 1)
		if err != nil {
			return "", err
		}
		m, err := Fit(ctx, d, *s.Best, 1, 2)
		if err != nil {
			return "", err
		}
		sv, err := Serve(m)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "\n%s: probes' NDCG %v, calibration %+v\nserved %v %v %v %v %v %v %v %v\n", s.Method, ndcg, *c, sv.ALSWeight,
			sv.VectorConsensus, sv.Confidence, sv.ItemItemWeight, sv.Consensus, sv.PriorWeight, sv.Prior, sv.PushWeight)
		if sv.Items != nil {
			fmt.Fprintf(&b, "items %v\n", sv.Items.V)
		}
		if sv.ItemItem != nil {
			fmt.Fprintf(&b, "item-item %v %v %v\n", sv.ItemItem.Ptr, sv.ItemItem.Col, sv.ItemItem.W)
		}
		for g := range d.Groups.Rows {
			fmt.Fprintf(&b, "%d %v\n", g, sv.Vector(int32(g)))
		}
	}
	return b.String(), nil
}

// TestSearchByParts: the parts of a sharded train, each holding the data
// whole and dividing the groups' scoring, the iALS rows and the item-item
// rows, make every choice and every number of one process's search,
// calibration and serving form.
func TestSearchByParts(t *testing.T) {
	ctx := context.Background()
	want, err := searchAndServe(ctx, partsWorld())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{MethodItemKNN, MethodEASE, MethodGraph, MethodIALS, MethodBlend} {
		if !strings.Contains(want, `"method":"`+name+`"`) {
			t.Fatalf("the search tried no %s: the test would not cover it", name)
		}
	}
	const n = 3
	got := make([]string, n)
	err = byParts(t, n, func(g int) int { return (g * 7) % n }, func(i int, p *Parts) error {
		d := partsWorld()
		d.Parts = p
		var err error
		got[i], err = searchAndServe(ctx, d)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, g := range got {
		if g != want {
			t.Errorf("part %d differs from the whole:\n%s", i, firstDiff(g, want))
		}
	}
}

// firstDiff shows where a and b part.
func firstDiff(a, b string) string {
	k := 0
	for k < len(a) && k < len(b) && a[k] == b[k] {
		k++
	}
	lo := max(0, k-200)
	return fmt.Sprintf("got  ...%s\nwant ...%s", a[lo:min(len(a), k+200)], b[lo:min(len(b), k+200)])
}

// byParts runs part(i, parts) for the n parts of a job at once, each with
// its own handle of one new exchange directory and the groups spread over
// the parts by owner; it returns the first error.
func byParts(t *testing.T, n int, owner func(g int) int, part func(i int, p *Parts) error) error {
	t.Helper()
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "x")
	var eg errgroup.Group
	for i := range n {
		eg.Go(func() error {
			ex, err := exchange.Open(ctx, root, i, n, "test", exchange.Options{Timeout: time.Minute})
			if err != nil {
				return err
			}
			if err := part(i, &Parts{Ex: ex, Group: owner}); err != nil {
				ex.Fail(err)
				return fmt.Errorf("part %d: %w", i, err)
			}
			return ex.Close(ctx)
		})
	}
	return eg.Wait()
}

// TestItemItemByParts: the item-item matrices built by parts, each part
// its items' rows, are one process's, bit for bit; the two-hop term's
// bounds hold for the whole of P, wherever its rows were built.
func TestItemItemByParts(t *testing.T) {
	ctx := context.Background()
	x := randomRows(70, 45, 0.15, 9)
	type build func(p *Parts) (*recommend.ItemItem, error)
	builds := map[string]build{
		"cosine":  func(p *Parts) (*recommend.ItemItem, error) { return cosine(ctx, x, 2, p) },
		"one-hop": func(p *Parts) (*recommend.ItemItem, error) { return graphFilter(ctx, x, 0, 2, p) },
		"two-hop": func(p *Parts) (*recommend.ItemItem, error) { return graphFilter(ctx, x, 1.5, 2, p) },
	}
	for name, b := range builds {
		want, err := b(nil)
		if err != nil {
			t.Fatal(err)
		}
		err = byParts(t, 3, func(g int) int { return g % 3 }, func(i int, p *Parts) error {
			got, err := b(p)
			if err != nil {
				return err
			}
			if !slices.Equal(got.Ptr, want.Ptr) || !slices.Equal(got.Col, want.Col) || !slices.Equal(got.W, want.W) {
				return fmt.Errorf("%s: the matrix differs from the whole's", name)
			}
			return nil
		})
		if err != nil {
			t.Error(err)
		}
	}
	// A bound on P's entries that each part's third of its rows stays
	// under, but not the whole: the two-hop term is skipped in the whole and
	// in every part.
	p, err := graphFilter(ctx, x, 0, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func(e, w int64) { twoHopEntries, twoHopWork = e, w }(twoHopEntries, twoHopWork)
	twoHopEntries = int64(p.NNZ()) * 2 / 3
	var sk *SkippedError
	if _, err := graphFilter(ctx, x, 1.5, 2, nil); !errors.As(err, &sk) {
		t.Fatalf("whole: %v, want the two-hop term skipped", err)
	}
	err = byParts(t, 3, func(g int) int { return g % 3 }, func(i int, p *Parts) error {
		if _, err := graphFilter(ctx, x, 1.5, 2, p); !errors.As(err, &sk) {
			return fmt.Errorf("%v, want the two-hop term skipped", err)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}
