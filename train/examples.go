package train

import (
	"math"

	"grouprank/data"
	"grouprank/features"
	"grouprank/recommend"
)

// Examples are labelled pushes: the features the scorer saw, whether an
// order came of it, and where the push sits.
type Examples struct {
	X      *Compact  // n x recommend.NumFeatures (losslessly narrowed: at a million groups the float64 rows alone run to 3 GB)
	Y      []float64 // 1 when at least one order was attributed to the push
	Orders []float64 // attributed orders
	Part   []Part    // train, calibration or test
	Random []bool    // the push came from a randomised list
	Band   []uint8   // the item's price band when pushed
	True   []float64 // the true probability when known (synthetic worlds), else NaN
	Group  []int32   // dense group index
	Item   []int32   // dense item index
	Time   []data.Timestamp
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
// that a push of item i to group g at t yields an order.
func (h *History) Examples(base *Base, cfg BaseConfig, w data.Windows, trueProb func(g, i int32, t data.Timestamp) float64) *Examples {
	n := 0 // sized up front: at a million groups the columns run to gigabytes, and growing them by appending doubles the peak
	for _, t := range h.pushes.Time {
		if PartOf(w, t) != PartNone {
			n++
		}
	}
	ex := &Examples{X: NewCompact(recommend.NumFeatures), Y: make([]float64, 0, n), Orders: make([]float64, 0, n),
		Part: make([]Part, 0, n), Random: make([]bool, 0, n), Band: make([]uint8, 0, n),
		True: make([]float64, 0, n), Group: make([]int32, 0, n), Item: make([]int32, 0, n), Time: make([]data.Timestamp, 0, n)}
	days := map[data.Timestamp]*recommend.Inputs{}
	x := make([]float64, recommend.NumFeatures)
	for e, t := range h.pushes.Time {
		part := PartOf(w, t)
		if part == PartNone {
			continue
		}
		day := t - t%data.Day
		in, ok := days[day]
		if !ok {
			in = base.Inputs(h.Timeline.At(day), cfg)
			days[day] = in
		}
		g, i := h.pushes.Group[e], h.pushes.Item[e]
		grp := base.Group(g)
		grp.Active = h.active(g, t)
		f := h.PushLog().At(g, i, in.Cat.L1[i], t)
		in.Features(&grp, i, f, x)
		ex.X.Add(x)
		y := 0.0
		if h.pushes.Converted[e] {
			y = 1
		}
		ex.Y = append(ex.Y, y)
		ex.Orders = append(ex.Orders, float64(h.pushes.Orders[e]))
		ex.Part = append(ex.Part, part)
		ex.Random = append(ex.Random, h.random != nil && h.random[e])
		ex.Band = append(ex.Band, in.Cat.Band[i])
		tp := math.NaN()
		if trueProb != nil {
			tp = trueProb(g, i, t)
		}
		ex.True = append(ex.True, tp)
		ex.Group = append(ex.Group, g)
		ex.Item = append(ex.Item, i)
		ex.Time = append(ex.Time, t)
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
	for n, p := range ex.Part {
		if p == PartTest && ex.Random[n] {
			rows = append(rows, n)
		}
	}
	return rows
}
