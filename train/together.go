package train

import (
	"cmp"
	"context"
	"runtime"
	"slices"

	"golang.org/x/sync/errgroup"

	"grouprank/recommend"
)

// TogetherNeighbours is how many neighbours NewTogether keeps per item.
const TogetherNeighbours = 16

// NewTogether counts, from the groups' orders m (groups x items; an entry is
// an item the group ordered), how many groups ordered each item and, for
// each item, its k neighbours: the items most groups ordered beside it
// (ties by item index), each with at least least groups in common. Its cost
// is the sum over groups of their distinct items squared; items are split
// between workers, each item's list is computed by one, so the result does
// not depend on their number.
func NewTogether(ctx context.Context, m *Interactions, k, least, workers int) (*recommend.Together, error) {
	t := &recommend.Together{Groups: make([]int32, m.Cols), Ptr: make([]int64, m.Cols+1)}
	byItem := m.Transpose()
	for i := range m.Cols {
		t.Groups[i] = int32(byItem.Ptr[i+1] - byItem.Ptr[i])
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	type pair struct{ j, both int32 }
	lists := make([][]pair, m.Cols)
	const block = 256
	eg, ctx := errgroup.WithContext(ctx)
	eg.SetLimit(workers)
	for lo := 0; lo < m.Cols; lo += block {
		eg.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			count := make([]int32, m.Cols)
			var touched []int32
			for i := lo; i < min(m.Cols, lo+block); i++ {
				if t.Groups[i] < int32(least) {
					continue
				}
				touched = touched[:0]
				groups, _ := byItem.Row(i)
				for _, g := range groups {
					items, _ := m.Row(int(g))
					for _, j := range items {
						if count[j] == 0 {
							touched = append(touched, j)
						}
						count[j]++
					}
				}
				var l []pair
				for _, j := range touched {
					if c := count[j]; j != int32(i) && c >= int32(least) {
						l = append(l, pair{j, c})
					}
					count[j] = 0
				}
				slices.SortFunc(l, func(a, b pair) int { return cmp.Or(cmp.Compare(b.both, a.both), cmp.Compare(a.j, b.j)) })
				lists[i] = l[:min(k, len(l))]
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	for i, l := range lists {
		for _, p := range l {
			t.Col, t.Both = append(t.Col, p.j), append(t.Both, p.both)
		}
		t.Ptr[i+1] = int64(len(t.Col))
	}
	return t, nil
}
