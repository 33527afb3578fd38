package main

import (
	"math"
	"sync"

	"grouprank/data"
	"grouprank/data/synth"
	"grouprank/train"
)

// truthDays caches the synthetic truth per day.
type truthDays struct {
	w    *synth.World
	mu   sync.Mutex
	days map[int]*synth.Truth
}

func newTruthDays(w *synth.World) *truthDays { return &truthDays{w: w, days: map[int]*synth.Truth{}} }

func (t *truthDays) at(ts data.Timestamp) *synth.Truth {
	d := int((ts - data.TimestampOf(t.w.P.Start)) / data.Day)
	t.mu.Lock()
	defer t.mu.Unlock()
	if tr, ok := t.days[d]; ok {
		return tr
	}
	tr := t.w.Truth(d)
	t.days[d] = tr
	return tr
}

// truthAt returns the true probability that a push of item i to group g at t
// yields an order, in the context the generator would draw it in: its
// position in the group's day, earlier pushes of the item in the last 7 days
// and of its category in the last 3 (by day index, as the generator counts
// them, from the 16 pushes it remembers per group).
func truthAt(td *truthDays, h *train.History) func(g, i int32, t data.Timestamp) float64 {
	start := data.TimestampOf(td.w.P.Start)
	dayOf := func(t data.Timestamp) int { return int((t - start) / data.Day) }
	return func(g, i int32, t data.Timestamp) float64 {
		d := dayOf(t)
		l1 := h.Index.L1[i]
		pos, cat := 1, 0
		var ago []int
		seen := 0
		h.PushLog().Each(g, t, 8*data.Day, func(at data.Timestamp, it, c int32) bool {
			seen++
			if seen > 16 {
				return false
			}
			age := d - dayOf(at)
			if age == 0 {
				pos++
			}
			if age <= 7 && it == i {
				ago = append(ago, age)
			}
			if age <= 3 && c == l1 {
				cat++
			}
			return true
		})
		return 1 - math.Exp(-td.at(t).ExpectedAt(h.Groups.IDs[g], h.Index.SKUs[i], pos, ago, cat))
	}
}
