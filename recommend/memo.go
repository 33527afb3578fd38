package recommend

import "sync"

// memo is a read-mostly cache lookup: *m's entry for k, built by build the
// first time under mu's write lock (so concurrent callers build it once) and
// stored. A nil map is made; with limit > 0 a map holding limit entries is
// emptied before the new one is stored, which bounds caches whose keys can
// go stale. build must not take mu.
func memo[K comparable, V any](mu *sync.RWMutex, m *map[K]V, k K, limit int, build func() V) V {
	mu.RLock()
	v, ok := (*m)[k]
	mu.RUnlock()
	if ok {
		return v
	}
	mu.Lock()
	defer mu.Unlock()
	if v, ok := (*m)[k]; ok {
		return v
	}
	v = build()
	if *m == nil || (limit > 0 && len(*m) >= limit) {
		*m = map[K]V{}
	}
	(*m)[k] = v
	return v
}
