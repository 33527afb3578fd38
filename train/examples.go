package train

import (
	"math"
	"slices"

	"grouprank/data"
	"grouprank/features"
	"grouprank/recommend"
)

// Examples are labelled pushes: the features the scorer saw, whether an
// order came of it, and where the push sits.
type Examples struct {
	X      *Compact  // n x recommend.NumFeatures (losslessly narrowed: at a million groups the float64 rows alone run to 3 GB)
	Y      []float32 // 1 when at least one order was attributed to the push
	Orders []float32 // attributed orders (whole numbers: exact)
	Part   []Part    // train, calibration or test
	Random []bool    // the push came from a randomised list
	Band   []uint8   // the item's price band when pushed
	True   []float64 // the true probability when known (synthetic worlds), else NaN
	Group  []int32   // dense group index
	Item   []int32   // dense item index
	Time   []data.Timestamp
	// Blocks are the examples by their groups' blocks (data.BlockOf), in
	// which the fits sum over them; nil: in their order.
	Blocks *features.GroupBlocks
	// Key is, in one part of a sharded job, each example's place among
	// every part's (its push's row); nil in the whole, which reads its
	// examples in place (InOrder).
	Key   []int64
	shard *Shard
	byKey []int32 // the examples in key order (InOrder)
}

// inBlockOrder sorts rows (ascending) by their blocks, each block's in
// their order, and returns them with the position each of the given rows
// moved to, and the sorted rows' blocks (each block's rows one run).
func inBlockOrder(rows []int32, blockOf func(int32) int) (sorted, moved []int32, blocks *features.GroupBlocks) {
	at := make([]int32, data.Blocks+1)
	of := make([]uint16, len(rows))
	for k, e := range rows {
		b := blockOf(e)
		of[k] = uint16(b)
		at[b+1]++
	}
	for b := range data.Blocks {
		at[b+1] += at[b]
	}
	blocks = &features.GroupBlocks{At: slices.Clone(at), G: make([]int32, len(rows))}
	sorted, moved = make([]int32, len(rows)), make([]int32, len(rows))
	for k, e := range rows {
		p := at[of[k]]
		at[of[k]]++
		sorted[p], moved[k] = e, p
		blocks.G[p] = p
	}
	return sorted, moved, blocks
}

// InOrder is the examples' indexes in their pushes' order (the order of
// their keys): what reads them one after another, for the report or a
// seeded draw, goes in this order, whatever order they are held in.
func (e *Examples) InOrder() []int32 {
	if e.byKey == nil { // held in their order
		e.byKey = make([]int32, e.Len())
		for n := range e.byKey {
			e.byKey[n] = int32(n)
		}
	}
	return e.byKey
}

// key is example n's place among every part's examples.
func (e *Examples) key(n int) int64 {
	if e.Key != nil {
		return e.Key[n]
	}
	return int64(n)
}

// Len is the number of examples.
func (e *Examples) Len() int { return len(e.Y) }

// Row is example n's features, decoded into buf (of recommend.NumFeatures).
func (e *Examples) Row(n int, buf []float64) []float64 {
	return e.X.Row(n, buf)
}

// RandomLists finds the randomised lists among exposures: lists most of
// whose items were shown with propensity below one half, i.e. by the logging
// policy's exploration rather than its deterministic ranking. Feed it
// exposures one at a time (they need not be in memory together).
type RandomLists struct {
	counts map[uint64][2]int32 // request key (data.RequestKey) -> items, items below one half
	random map[uint64]string   // the requests whose counts so far make them random
	// The run of exposures of the last request, counted apart: a list's
	// exposures come one after another, so the maps are touched once a list.
	last string
	run  [2]int32
}

// Add counts one exposure.
func (r *RandomLists) Add(e *data.Exposure) {
	if r.counts == nil {
		r.counts, r.random = map[uint64][2]int32{}, map[uint64]string{}
	}
	if e.RequestID != r.last || r.run[0] == 0 {
		r.flush()
		r.last = e.RequestID
	}
	r.run[0]++
	if e.Propensity < 0.5 {
		r.run[1]++
	}
}

// flush adds the current run to its request's counts.
func (r *RandomLists) flush() {
	if r.run[0] == 0 {
		return
	}
	k := data.RequestKey(r.last)
	c := r.counts[k]
	c[0], c[1] = c[0]+r.run[0], c[1]+r.run[1]
	r.counts[k] = c
	if 2*c[1] > c[0] {
		r.random[k] = r.last
	} else {
		delete(r.random, k)
	}
	r.run = [2]int32{}
}

// Requests returns the randomised lists' request ids.
func (r *RandomLists) Requests() map[string]bool {
	r.flush()
	out := make(map[string]bool, len(r.random))
	for _, id := range r.random {
		out[id] = true
	}
	return out
}

// Examples computes the labelled pushes of the windows with the scorer's
// features on base (built at w.T1); a push is out of a randomised list as
// MarkRandom marked it. trueProb, when not nil, gives the true probability
// that a push of item i to group g at t yields an order; it is called from
// several goroutines at once. The pushes are computed block by block
// (Compact's blocks), the blocks on every core, each written to its own
// rows: the result does not depend on the number of cores.
func (h *History) Examples(base *Base, cfg BaseConfig, w data.Windows, trueProb func(g, i int32, t data.Timestamp) float64) *Examples {
	// The pushes of the windows, and the scorer's inputs on the catalogue of
	// each of their days, built here so that the blocks only read them.
	var rows []int32
	days := map[data.Timestamp]*recommend.Inputs{}
	for e, t := range h.pushes.Time {
		if PartOf(w, t) == PartNone {
			continue
		}
		rows = append(rows, int32(e))
		if day := t - t%data.Day; days[day] == nil {
			days[day] = base.Inputs(h.Timeline.At(day), cfg)
		}
	}
	n := len(rows)
	// The examples in their groups' block order, each block's in the
	// pushes' order: the fits sum block by block, and read each block's
	// rows one after another. byKey lists them in the pushes' order.
	rows, byKey, byBlock := inBlockOrder(rows, func(e int32) int { return data.BlockOf(h.Groups.IDs[h.pushes.Group[e]]) })
	// sized up front: at a million groups the columns run to gigabytes, and
	// growing them by appending doubles the peak
	ex := &Examples{X: NewCompact(recommend.NumFeatures), Y: make([]float32, n), Orders: make([]float32, n),
		Part: make([]Part, n), Random: make([]bool, n), Band: make([]uint8, n),
		True: make([]float64, n), Group: make([]int32, n), Item: make([]int32, n), Time: make([]data.Timestamp, n)}
	log := h.PushLog()
	blocks := (n + compactRows - 1) / compactRows
	encoded := make([]compactBlock, blocks)
	// the rows of a last block short of compactRows, held as they are
	var last []float64
	// a block of rows (rowBlock) is a Compact block
	eachRowBlock(n, func(b, lo, hi int) {
		x := make([]float64, (hi-lo)*recommend.NumFeatures)
		for r := lo; r < hi; r++ {
			e := rows[r]
			t := h.pushes.Time[e]
			g, i := h.pushes.Group[e], h.pushes.Item[e]
			in := days[t-t%data.Day]
			grp := base.Group(g)
			grp.Active = h.active(g, t)
			in.Features(&grp, i, log.At(g, i, in.Cat.L1[i], t), x[(r-lo)*recommend.NumFeatures:(r-lo+1)*recommend.NumFeatures])
			if h.pushes.Converted[e] {
				ex.Y[r] = 1
			}
			ex.Orders[r] = h.pushes.Orders[e]
			ex.Part[r] = PartOf(w, t)
			ex.Random[r] = h.random != nil && h.random[e]
			ex.Band[r] = in.Cat.Band[i]
			ex.True[r] = math.NaN()
			if trueProb != nil {
				ex.True[r] = trueProb(g, i, t)
			}
			ex.Group[r], ex.Item[r], ex.Time[r] = g, i, t
		}
		if hi-lo < compactRows {
			last = x
			return
		}
		encoded[b] = encodeBlock(x, recommend.NumFeatures)
	})
	if last != nil {
		encoded = encoded[:blocks-1]
	}
	ex.X.setBlocks(encoded, last, n)
	ex.Blocks = byBlock
	ex.Blocks.Parts, ex.shard, ex.byKey = h.Groups.Parts, h.shard, byKey
	if h.pushRow != nil || h.shard != nil {
		ex.Key = make([]int64, n)
		for r, e := range rows {
			ex.Key[r] = int64(e)
			if h.pushRow != nil {
				ex.Key[r] = h.pushRow[e]
			}
		}
	}
	return ex
}

// Fatigue is push n's fatigue context as the scorer saw it (for evaluators).
func (h *History) Fatigue(g, i int32, t data.Timestamp) features.Fatigue {
	return h.PushLog().At(g, i, h.Index.L1[i], t)
}

// RandomTest lists the test window's pushes out of randomised lists, in
// order: the pushes the off-policy estimates weigh.
func (ex *Examples) RandomTest() []int {
	var rows []int
	for _, n := range ex.InOrder() {
		if ex.Part[n] == PartTest && ex.Random[n] {
			rows = append(rows, int(n))
		}
	}
	return rows
}
