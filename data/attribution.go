package data

import (
	"sort"
)

// DefaultAttributionWindow is how long after a push an order of the same
// item in the same group is credited to it when no link names the push.
const DefaultAttributionWindow = 72 * Hour

// Outcome is what one push earned under Attribute.
type Outcome struct {
	Orders          int32 // attributed orders of any status
	Placed          int32 // of which still placed
	Cancelled       int32 // of which cancelled
	Refunded        int32 // of which refunded
	GMVCents        int64 // amount of the placed orders (unknown amounts count 0)
	CommissionCents int64 // commission of the placed orders
}

// Converted reports whether at least one order was attributed to the push.
func (o Outcome) Converted() bool { return o.Orders > 0 }

// AttributionReport counts how the orders were credited.
type AttributionReport struct {
	Orders     int // all orders seen
	ByLink     int // credited through the push id the order carries
	ByWindow   int // credited to the last push of the item to the group within the window
	Unmatched  int // organic: no link and no push in the window
	DeadLinks  int // carried a push id unknown among the pushes (then matched by window or not)
	Cancelled  int // attributed orders later cancelled
	Refunded   int // attributed orders later refunded
	LateWindow int // carried a link to a push more than the window before it (still credited: links win)
}

// Attribute credits orders to pushes: an order that carries the id of a known
// push (not later than the order) is that push's; otherwise it counts for the
// last push of the same SKU to the same group at or before the order and no
// more than window before it; otherwise it is organic. Orders or pushes of
// unknown time are matched by link only. It returns one Outcome per push (in
// the order of pushes) and, per order, the index of the push it was credited
// to (-1 for organic). Every caller that turns pushes and orders into
// conversions (training labels, evaluation, experiment reports) uses it.
func Attribute(pushes []Push, orders []Order, window Timestamp) ([]Outcome, []int32, AttributionReport) {
	if window <= 0 {
		window = DefaultAttributionWindow
	}
	byID := make(map[PushID]int32, len(pushes))
	type key struct {
		g GroupID
		s SKU
	}
	byPair := make(map[key][]int32)
	for i := range pushes {
		p := &pushes[i]
		byID[p.ID] = int32(i)
		if p.Time != UnknownTime {
			k := key{p.Group, p.SKU}
			byPair[k] = append(byPair[k], int32(i))
		}
	}
	for _, idx := range byPair {
		sort.SliceStable(idx, func(a, b int) bool {
			pa, pb := &pushes[idx[a]], &pushes[idx[b]]
			if pa.Time != pb.Time {
				return pa.Time < pb.Time
			}
			return pa.ID < pb.ID
		})
	}
	out := make([]Outcome, len(pushes))
	credit := make([]int32, len(orders))
	var rep AttributionReport
	for n := range orders {
		o := &orders[n]
		rep.Orders++
		credit[n] = -1
		if o.Push != NoPush {
			i, ok := byID[o.Push]
			if ok {
				p := &pushes[i]
				if p.Group == o.Group && p.SKU == o.SKU && (p.Time == UnknownTime || o.Time == UnknownTime || p.Time <= o.Time) {
					credit[n] = i
					rep.ByLink++
					if p.Time != UnknownTime && o.Time != UnknownTime && o.Time-p.Time > window {
						rep.LateWindow++
					}
				}
			} else {
				rep.DeadLinks++
			}
		}
		if credit[n] < 0 && o.Time != UnknownTime {
			idx := byPair[key{o.Group, o.SKU}]
			// last push at or before the order
			k := sort.Search(len(idx), func(a int) bool { return pushes[idx[a]].Time > o.Time }) - 1
			if k >= 0 && o.Time-pushes[idx[k]].Time <= window {
				credit[n] = idx[k]
				rep.ByWindow++
			}
		}
		i := credit[n]
		if i < 0 {
			rep.Unmatched++
			continue
		}
		oc := &out[i]
		oc.Orders++
		switch o.Status {
		case StatusCancelled:
			oc.Cancelled++
			rep.Cancelled++
		case StatusRefunded:
			oc.Refunded++
			rep.Refunded++
		default:
			oc.Placed++
			if o.AmountCents > 0 {
				oc.GMVCents += o.AmountCents
			}
			oc.CommissionCents += o.CommissionCents
		}
	}
	return out, credit, rep
}
