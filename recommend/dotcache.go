package recommend

import (
	"hash/maphash"
	"slices"
	"sync/atomic"
	"unsafe"
)

// dotCache remembers, per group vector, the items with the highest dot
// products among eligible ones, so a group asked for again (promoters reopen
// their app; traffic is Zipf-like) skips the scan of every item. It is
// direct-mapped on a hash of the vector's bytes: a slot holds one immutable
// entry, replaced whole, read without locks. A vector that changes (fold-in
// of new orders) hashes elsewhere and compares unequal, so a stale entry is
// never used. It belongs to one Ranker, hence to one catalogue state.
type dotCache struct {
	seed         maphash.Seed
	slots        []atomic.Pointer[dotEntry]
	extra        int // items kept beyond the depth, for request filters to drop
	hits, misses atomic.Int64
}

type dotEntry struct {
	vec   []float32
	items []heapEntry // best first
	full  bool        // the scan had more positive items than were kept
}

func newDotCache(slots, extra int) *dotCache {
	return &dotCache{seed: maphash.MakeSeed(), slots: make([]atomic.Pointer[dotEntry], slots), extra: extra}
}

func (c *dotCache) slot(vec []float32) *atomic.Pointer[dotEntry] {
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(vec))), len(vec)*4)
	return &c.slots[maphash.Bytes(c.seed, b)%uint64(len(c.slots))]
}

// get returns the cached entry of vec, nil when absent.
func (c *dotCache) get(vec []float32) *dotEntry {
	e := c.slot(vec).Load()
	if e == nil || !slices.Equal(e.vec, vec) {
		c.misses.Add(1)
		return nil
	}
	c.hits.Add(1)
	return e
}

func (c *dotCache) put(vec []float32, items []heapEntry, full bool) *dotEntry {
	sorted := slices.Clone(items)
	sortBestFirst(sorted)
	e := &dotEntry{vec: slices.Clone(vec), items: sorted, full: full}
	c.slot(vec).Store(e)
	return e
}

// CacheStats reports the dot-candidate cache's hits and misses (zeros when
// it is off).
func (r *Ranker) CacheStats() (hits, misses int64) {
	if r.dots == nil {
		return 0, 0
	}
	return r.dots.hits.Load(), r.dots.misses.Load()
}

// EnableDotCache keeps the dot-product candidates of up to slots group
// vectors (0 turns it off). Candidates stay exact: an entry holds the
// eligible items' top Depth+64, and a request whose filters leave fewer than
// Depth of them scans every item again.
func (r *Ranker) EnableDotCache(slots int) {
	if slots <= 0 {
		r.dots = nil
		return
	}
	r.dots = newDotCache(slots, 64)
}
