package train

import (
	"bytes"
	"context"
	"math/rand/v2"
	"reflect"
	"testing"

	"grouprank/recommend"
)

// TestTogetherByHand: five groups' orders, counted by hand.
//
//	group 0: items 0 1 2     group 3: items 0 1
//	group 1: items 0 1       group 4: items 2 3
//	group 2: items 0 1 3
//
// Items 0 and 1 were ordered together by groups 0-3 (4), 0 and 2 by group 0
// alone, 1 and 3 by group 2, 2 and 3 by group 4.
func TestTogetherByHand(t *testing.T) {
	rows := [][]int32{{0, 1, 2}, {0, 1}, {0, 1, 3}, {0, 1}, {2, 3}}
	var r, c []int32
	var w []float32
	for g, items := range rows {
		for _, i := range items {
			r, c, w = append(r, int32(g)), append(c, i), append(w, 2) // weights (units) do not count
		}
	}
	m := NewInteractions(len(rows), 5, r, c, w)
	for _, tc := range []struct {
		k, least int
		count31  int32 // groups that ordered items 3 and 1, as Count finds them in the lists kept
		want     recommend.Together
	}{
		{4, 1, 1, recommend.Together{Groups: []int32{4, 4, 2, 2, 0}, Ptr: []int64{0, 3, 6, 9, 12, 12},
			Col:  []int32{1, 2, 3, 0, 2, 3, 0, 1, 3, 0, 1, 2},
			Both: []int32{4, 1, 1, 4, 1, 1, 1, 1, 1, 1, 1, 1}}},
		{1, 1, 0, recommend.Together{Groups: []int32{4, 4, 2, 2, 0}, Ptr: []int64{0, 1, 2, 3, 4, 4},
			Col: []int32{1, 0, 0, 0}, Both: []int32{4, 4, 1, 1}}}, // ties: the lower item
		{4, 2, 0, recommend.Together{Groups: []int32{4, 4, 2, 2, 0}, Ptr: []int64{0, 1, 2, 2, 2, 2},
			Col: []int32{1, 0}, Both: []int32{4, 4}}},
	} {
		got, err := NewTogether(context.Background(), m, tc.k, tc.least, 2)
		if err != nil || !reflect.DeepEqual(*got, tc.want) {
			t.Errorf("k %d, least %d: %+v %v, want %+v", tc.k, tc.least, got, err, tc.want)
			continue
		}
		if err := got.Check(); err != nil {
			t.Error(err)
		}
		if n := got.Count(3, 1); n != tc.count31 {
			t.Errorf("k %d, least %d: items 3 and 1 ordered together by %d groups", tc.k, tc.least, n)
		}
		back, err := DecodeTogether(EncodeTogether(got), 5)
		if err != nil || !reflect.DeepEqual(back, got) {
			t.Errorf("round trip: %+v %v", back, err)
		}
	}
}

// TestTogetherWorkers: the table is the same bytes whatever the number of
// workers, on random orders over more items than one worker's block.
func TestTogetherWorkers(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var r, c []int32
	var w []float32
	for g := range 400 {
		for range 1 + rng.IntN(12) {
			r, c, w = append(r, int32(g)), append(c, int32(rng.IntN(40)*rng.IntN(30))), append(w, 1)
		}
	}
	m := NewInteractions(400, 1200, r, c, w)
	var first []byte
	for _, workers := range []int{1, 2, 7} {
		got, err := NewTogether(context.Background(), m, TogetherNeighbours, recommend.MinQuotedCount, workers)
		if err != nil {
			t.Fatal(err)
		}
		if err := got.Check(); err != nil {
			t.Fatal(err)
		}
		b := EncodeTogether(got)
		if first == nil {
			first = b
			if len(got.Col) == 0 {
				t.Fatal("no pair of items ordered together by enough groups: the test tests nothing")
			}
		} else if !bytes.Equal(b, first) {
			t.Errorf("%d workers: a different table", workers)
		}
	}
}

// TestTogetherDamaged: a together file that disagrees with itself or with
// the catalogue is refused.
func TestTogetherDamaged(t *testing.T) {
	good := EncodeTogether(&recommend.Together{Groups: []int32{3, 2}, Ptr: []int64{0, 1, 2}, Col: []int32{1, 0}, Both: []int32{2, 2}})
	if _, err := DecodeTogether(good, 2); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"other catalogue": nil,
		"truncated":       good[:len(good)-1],
		"no magic":        good[1:],
	} {
		items := 2
		if b == nil {
			b, items = good, 3
		}
		if _, err := DecodeTogether(b, items); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for name, tg := range map[string]recommend.Together{
		"both above the item's groups": {Groups: []int32{1, 2}, Ptr: []int64{0, 1, 2}, Col: []int32{1, 0}, Both: []int32{2, 2}},
		"itself as neighbour":          {Groups: []int32{3, 2}, Ptr: []int64{0, 1, 2}, Col: []int32{0, 0}, Both: []int32{2, 2}},
		"pointers backwards":           {Groups: []int32{3, 2}, Ptr: []int64{0, 2, 1}, Col: []int32{1}, Both: []int32{2}},
	} {
		if _, err := DecodeTogether(EncodeTogether(&tg), 2); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
