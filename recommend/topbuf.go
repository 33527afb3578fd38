package recommend

// topBuf keeps the n best entries offered (entryLess order: ties to the
// smaller index) by appending to a buffer of up to 2n and, when it is full,
// selecting the n best in place (quickselect). Its bar, once n entries
// came, is an entry no better than the n-th best so far (the worst of the
// first n, then the n-th best at each selection): an entry not better than
// the bar can never be kept, and a caller walking entries in descending
// bounds can stop below it. An offer costs O(1) amortised where a heap's
// costs O(log n). The kept entries are in no particular order.
type topBuf struct {
	n       int
	b       []heapEntry
	sel     bool      // bar is set
	bar     heapEntry // no entry at or below it can be among the n best
	dropped bool      // a selection let entries go
}

// wants reports whether an entry could still be among the n best (none
// when n is 0).
func (t *topBuf) wants(i int32, v float32) bool {
	return t.n > 0 && (!t.sel || entryLess(t.bar, heapEntry{i, v}))
}

// offer adds an entry the caller checked with wants, and reports whether
// the bar rose.
func (t *topBuf) offer(i int32, v float32) bool {
	t.b = append(t.b, heapEntry{i, v})
	switch {
	case len(t.b) == t.n && !t.sel:
		t.bar, t.sel = t.b[0], true
		for _, e := range t.b[1:] {
			if entryLess(e, t.bar) {
				t.bar = e
			}
		}
		return true
	case len(t.b) >= 2*t.n:
		t.shrink()
		return true
	}
	return false
}

// shrink keeps the n best entries and sets the bar to the n-th.
func (t *topBuf) shrink() {
	selectBest(t.b, t.n)
	t.b = t.b[:t.n]
	t.bar, t.sel, t.dropped = t.b[t.n-1], true, true
}

// finish leaves the n best entries, the bar at the n-th when there are n.
func (t *topBuf) finish() {
	if len(t.b) > t.n {
		t.shrink()
	}
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
