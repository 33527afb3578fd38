package train

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"grouprank/data"
	"grouprank/features"
	"grouprank/recommend"
	"grouprank/train/exchange"
)

// byParts runs part(i, ex) for the n parts of a job at once, each through
// its own handle of one new exchange directory, closing it when part
// returns nil and telling the others when it fails; it returns the first
// error.
func byParts(t *testing.T, n int, part func(i int, ex *exchange.Dir) error) error {
	t.Helper()
	root := filepath.Join(t.TempDir(), "x")
	var eg errgroup.Group
	for i := range n {
		eg.Go(func() error {
			ctx := context.Background()
			ex, err := exchange.Open(ctx, root, i, n, "test", exchange.Options{Timeout: time.Minute})
			if err != nil {
				return err
			}
			if err := part(i, ex); err != nil {
				ex.Fail(err)
				return fmt.Errorf("part %d: %w", i, err)
			}
			return ex.Close(ctx)
		})
	}
	return eg.Wait()
}

// onlyRows is m with the rows of the other parts emptied.
func onlyRows(m *Interactions, keep func(r int) bool) *Interactions {
	var rows, cols []int32
	var ws []float32
	for r := range m.Rows {
		if !keep(r) {
			continue
		}
		c, w := m.Row(r)
		for j := range c {
			rows, cols, ws = append(rows, int32(r)), append(cols, c[j]), append(ws, w[j])
		}
	}
	return NewInteractions(m.Rows, m.Cols, rows, cols, ws)
}

func sameBits(a, b *recommend.Factors) bool {
	if a.K != b.K || len(a.V) != len(b.V) {
		return false
	}
	for k := range a.V {
		if math.Float32bits(a.V[k]) != math.Float32bits(b.V[k]) {
			return false
		}
	}
	return true
}

// TestTrainALSPartsMatchesWhole: the parts of a sharded fit, each given
// only its own rows and run at once with different numbers of workers,
// all end with the vectors TrainALS fits on the whole matrix, bit for bit,
// for 1, 2 and 3 parts, two fits sharing one exchange.
func TestTrainALSPartsMatchesWhole(t *testing.T) {
	m := syntheticHistory(700, 160, 9000, 5)
	cfg := DefaultALSConfig()
	cfg.Factors, cfg.Epochs = 32, 3
	want, err := TrainALS(context.Background(), m, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg2 := cfg
	cfg2.Factors, cfg2.Seed = 8, 9
	want2, err := TrainALS(context.Background(), m, cfg2, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 2, 3} {
		owner := func(r int) int { return (r*7 + r/3) % n }
		err := byParts(t, n, func(i int, ex *exchange.Dir) error {
			mine := onlyRows(m, func(r int) bool { return owner(r) == i })
			c := cfg
			c.Workers = 1 + i%2
			epochs := 0
			got, err := TrainALSParts(context.Background(), "a", mine, owner, ex, c, func(e int) { epochs = e })
			if err != nil {
				return err
			}
			if epochs != cfg.Epochs || !sameBits(got.Groups, want.Groups) || !sameBits(got.Items, want.Items) {
				return fmt.Errorf("part %d of %d: other vectors than the whole fit's (%d epochs)", i, n, epochs)
			}
			if got, err = TrainALSParts(context.Background(), "b", mine, owner, ex, cfg2, nil); err != nil {
				return err
			}
			if !sameBits(got.Groups, want2.Groups) || !sameBits(got.Items, want2.Items) {
				return fmt.Errorf("part %d of %d, second fit: other vectors than the whole fit's", i, n)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestItemKNNAndHistoryByParts: the parts of a sharded job, each given only
// its groups' orders, find item-knn's neighbours NewItemKNN finds on the
// whole history, and build the rows HistoryMatrix builds (debiased by every
// part's item counts), bit for bit, for 1, 2 and 3 parts.
func TestItemKNNAndHistoryByParts(t *testing.T) {
	const G, I = 400, 90
	ev := &features.Events{}
	for n := range 5000 {
		x := mix(uint64(n))
		ev.Group = append(ev.Group, int32(x%G))
		ev.Item = append(ev.Item, (int32((x>>20)%I)*int32((x>>40)%2)+int32((x>>30)%7))%I)
		ev.Time = append(ev.Time, data.Timestamp(x>>44))
		ev.Qty = append(ev.Qty, float32(1+(x>>50)%3))
	}
	at := data.Timestamp(1 << 21)
	whole := HistoryMatrix(ev, G, I, at, 3, 2, 0.5)
	want := NewItemKNN(whole, 7)
	ids := make([]data.GroupID, G)
	for g := range ids {
		ids[g] = data.GroupID(3*g + 1)
	}
	for _, n := range []int{1, 2, 3} {
		err := byParts(t, n, func(i int, ex *exchange.Dir) error {
			ctx := context.Background()
			sh := NewShard(ctx, ex, ids)
			local := map[int32]int32{}
			var mine []int32
			for g, id := range ids {
				if data.PartOf(id, n) == i {
					local[int32(g)] = int32(len(mine))
					mine = append(mine, int32(g))
				}
			}
			part := &features.Events{}
			for e, g := range ev.Group {
				if l, ok := local[g]; ok {
					part.Group, part.Item = append(part.Group, l), append(part.Item, ev.Item[e])
					part.Time, part.Qty = append(part.Time, ev.Time[e]), append(part.Qty, ev.Qty[e])
				}
			}
			m, err := HistoryMatrixOf(sh, part, len(mine), I, at, 3, 2, 0.5)
			if err != nil {
				return err
			}
			for l, g := range mine {
				c1, w1 := m.Row(l)
				c2, w2 := whole.Row(int(g))
				if !slices.Equal(c1, c2) || !slices.EqualFunc(w1, w2, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
					return fmt.Errorf("group %d: row %v %v, want %v %v", g, c1, w1, c2, w2)
				}
			}
			knn, err := NewItemKNNParts(ctx, sh, m, 7)
			if err != nil {
				return err
			}
			for it := range I {
				if !slices.Equal(knn.nbr[it], want.nbr[it]) {
					return fmt.Errorf("item %d: neighbours %v, want %v", it, knn.nbr[it], want.nbr[it])
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%d parts: %v", n, err)
		}
	}
	if len(want.nbr[0]) == 0 || len(want.nbr[5]) != 7 {
		t.Fatalf("the case is too thin: neighbours %v, %v", want.nbr[0], want.nbr[5])
	}
}
