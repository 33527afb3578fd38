package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"grouprank/recommend"
	"grouprank/train/exchange"
)

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
		root := filepath.Join(t.TempDir(), "x")
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = func() error {
					ex, err := exchange.Open(context.Background(), root, i, n, "test", exchange.Options{Timeout: time.Minute})
					if err != nil {
						return err
					}
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
					return ex.Close(context.Background())
				}()
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
	}
}
