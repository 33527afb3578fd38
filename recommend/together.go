package recommend

import (
	"fmt"
	"slices"
)

// Together is what a reason may say of two items bought by the same
// groups: for each item, how many groups ordered it, and its neighbours,
// the items most groups ordered beside it, with how many groups ordered
// both (counted over the history a model was trained on).
type Together struct {
	Groups []int32 // per item: the groups that ordered it
	// Item i's neighbours are Col[Ptr[i]:Ptr[i+1]], most groups in common
	// first (ties by item index), and Both the groups that ordered both.
	Ptr  []int64
	Col  []int32
	Both []int32
}

// Check reports whether t's tables agree with each other.
func (t *Together) Check() error {
	n := len(t.Groups)
	if len(t.Ptr) != n+1 || t.Ptr[0] != 0 || t.Ptr[n] != int64(len(t.Col)) || len(t.Both) != len(t.Col) {
		return fmt.Errorf("together: %d items, %d pointers, %d neighbours, %d counts", n, len(t.Ptr), len(t.Col), len(t.Both))
	}
	for i := range n {
		if t.Ptr[i] > t.Ptr[i+1] {
			return fmt.Errorf("together: item %d's neighbours end before they start", i)
		}
	}
	for i := range n {
		for k := t.Ptr[i]; k < t.Ptr[i+1]; k++ {
			j := t.Col[k]
			if j < 0 || int(j) >= n || j == int32(i) {
				return fmt.Errorf("together: item %d has neighbour %d (of %d items)", i, j, n)
			}
			if b := t.Both[k]; b <= 0 || b > t.Groups[i] || b > t.Groups[j] {
				return fmt.Errorf("together: items %d and %d: %d groups ordered both, of %d and %d", i, j, b, t.Groups[i], t.Groups[j])
			}
		}
	}
	return nil
}

// Count is how many groups ordered both i and j, where either lists the
// other among its neighbours; 0 otherwise.
func (t *Together) Count(i, j int32) int32 {
	if t == nil || int(i) >= len(t.Groups) || int(j) >= len(t.Groups) {
		return 0
	}
	for _, p := range [2][2]int32{{i, j}, {j, i}} {
		lo, hi := t.Ptr[p[0]], t.Ptr[p[0]+1]
		if k := slices.Index(t.Col[lo:hi], p[1]); k >= 0 {
			return t.Both[lo+int64(k)]
		}
	}
	return 0
}
