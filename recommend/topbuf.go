package recommend

// topBuf keeps the n best entries offered (entryLess order: ties to the
// smaller index) by appending to a buffer of up to 2n and, when it is full,
// selecting the n best in place (quickselect) and keeping the worst of
// them as the bar a later entry must pass. An offer costs O(1) amortised
// where a heap's costs O(log n): the vector source offers a thousand or
// more entries per request. The kept entries are in no particular order.
type topBuf struct {
	n   int
	b   []heapEntry
	sel bool      // a selection has run: bar is set
	bar heapEntry // the worst entry kept by the last selection
}

// wants reports whether an entry could still be among the n best.
func (t *topBuf) wants(i int32, v float32) bool {
	return !t.sel || entryLess(t.bar, heapEntry{i, v})
}

// offer adds an entry the caller checked with wants, and reports whether
// a selection ran (entries were let go).
func (t *topBuf) offer(i int32, v float32) bool {
	t.b = append(t.b, heapEntry{i, v})
	if len(t.b) < 2*t.n {
		return false
	}
	t.shrink()
	return true
}

// shrink keeps the n best entries and sets the bar.
func (t *topBuf) shrink() {
	selectBest(t.b, t.n)
	t.b = t.b[:t.n]
	t.bar, t.sel = t.b[t.n-1], true
}

// finish leaves the n best entries and reports whether any was let go
// then.
func (t *topBuf) finish() bool {
	if len(t.b) <= t.n {
		return false
	}
	t.shrink()
	return true
}

// selectBest reorders h so that its n best entries come first, the n-th
// best at n-1 (a quickselect with the median of three as pivot: no
// randomness, the same result for the same input).
func selectBest(h []heapEntry, n int) {
	lo, hi := 0, len(h)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		// median of three to h[hi] as the pivot
		if entryLess(h[lo], h[mid]) {
			h[lo], h[mid] = h[mid], h[lo]
		}
		if entryLess(h[lo], h[hi]) {
			h[lo], h[hi] = h[hi], h[lo]
		}
		if entryLess(h[hi], h[mid]) {
			h[mid], h[hi] = h[hi], h[mid]
		}
		p := h[hi]
		k := lo
		for j := lo; j < hi; j++ {
			if entryLess(p, h[j]) { // better than the pivot: to the front
				h[k], h[j] = h[j], h[k]
				k++
			}
		}
		h[k], h[hi] = h[hi], h[k]
		switch {
		case k == n-1:
			return
		case k < n-1:
			lo = k + 1
		default:
			hi = k - 1
		}
	}
}
