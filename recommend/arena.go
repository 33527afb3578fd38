package recommend

import "sync"

// f32Arena hands out zeroed float32 slices carved from one buffer, so a
// request's per-group tables (category, band, brand and L2 terms) reuse
// the last request's memory instead of allocating. A nil arena allocates.
type f32Arena struct {
	buf []float32
	off int
}

// take is a zeroed slice of n from the arena (its capacity n: an append
// never runs into the next slice).
func (a *f32Arena) take(n int) []float32 {
	if a == nil {
		return make([]float32, n)
	}
	if a.off+n > len(a.buf) {
		// Slices already handed out keep the old buffer alive until the
		// request ends; the next requests use the new one alone.
		a.buf, a.off = make([]float32, max(2*len(a.buf), a.off+n, 4096)), 0
	}
	s := a.buf[a.off : a.off+n : a.off+n]
	a.off += n
	clear(s)
	return s
}

var arenas = sync.Pool{New: func() any { return new(f32Arena) }}

// getArena is an arena from the pool; putArena returns it, and every slice
// taken from it must be out of use by then.
func getArena() *f32Arena { return arenas.Get().(*f32Arena) }

func putArena(a *f32Arena) {
	a.off = 0
	arenas.Put(a)
}
