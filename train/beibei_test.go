package train

import (
	"slices"
	"testing"

	"grouprank/data"
)

// TestBeiBeiTargetsInOrder: the targets come in group and item order
// whatever the order of the test launches, so that the bootstrap over them
// does not depend on the order of test.txt's lines.
func TestBeiBeiTargetsInOrder(t *testing.T) {
	hist := []data.Push{{ID: 1, Group: 1, SKU: 1}, {ID: 2, Group: 2, SKU: 2}, {ID: 3, Group: 3, SKU: 1}}
	members := []data.Membership{{Group: 1, Member: 1}, {Group: 2, Member: 2}, {Group: 3, Member: 3}} // the initiators: a history
	test := []data.Push{{ID: 4, Group: 3, SKU: 2}, {ID: 5, Group: 1, SKU: 3}, {ID: 6, Group: 2, SKU: 3}, {ID: 7, Group: 1, SKU: 2}}
	want := []Target{{Group: 0, Item: 1}, {Group: 0, Item: 2}, {Group: 1, Item: 2}, {Group: 2, Item: 1}}
	for _, order := range [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {1, 3, 0, 2}} {
		var ps []data.Push
		for _, k := range order {
			ps = append(ps, test[k])
		}
		b, err := NewBeiBei(3, hist, nil, members, ps)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(b.Test, want) {
			t.Errorf("test launches in order %v: targets %v, want %v", order, b.Test, want)
		}
	}
}
