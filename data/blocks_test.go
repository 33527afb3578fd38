package data

import "testing"

func TestBlocks(t *testing.T) {
	counts := make([]int, Blocks)
	for id := GroupID(1); id <= 200*Blocks; id++ {
		b := BlockOf(id)
		counts[b]++
		// Every n dividing Blocks splits by the hash itself, as the shards
		// of picks and eval always have.
		for _, n := range []int{1, 2, 4, 64, Blocks} {
			if got, want := PartOf(id, n), int(splitmix64(uint64(id))%uint64(n)); got != want {
				t.Fatalf("PartOf(%d, %d) = %d, want %d", id, n, got, want)
			}
		}
		if PartOf(id, 3) != b%3 {
			t.Fatalf("PartOf(%d, 3) = %d: not block %d mod 3", id, PartOf(id, 3), b)
		}
	}
	lo, hi := counts[0], counts[0]
	for _, c := range counts {
		lo, hi = min(lo, c), max(hi, c)
	}
	// 200 ids a block on average: a fair hash leaves no block far from it.
	if lo < 130 || hi > 270 {
		t.Fatalf("blocks of consecutive ids hold %d to %d, want about 200 each", lo, hi)
	}
}
