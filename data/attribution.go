package data

import (
	"cmp"
	"slices"
	"sort"
	"sync"
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
// conversions (training labels, evaluation, experiment reports) uses it or
// AttributeCounts.
func Attribute(pushes []Push, orders []Order, window Timestamp) ([]Outcome, []int32, AttributionReport) {
	out := make([]Outcome, len(pushes))
	credit, rep := attribute(pushes, orders, window, func(i int32, o *Order) {
		oc := &out[i]
		oc.Orders++
		switch o.Status {
		case StatusCancelled:
			oc.Cancelled++
		case StatusRefunded:
			oc.Refunded++
		default:
			oc.Placed++
			if o.AmountCents > 0 {
				oc.GMVCents += o.AmountCents
			}
			oc.CommissionCents += o.CommissionCents
		}
	})
	return out, credit, rep
}

// AttributeCounts is Attribute with, per push, only the number of orders
// credited to it (Outcome.Orders): at 35M pushes it takes 140 MB where the
// Outcomes take 1.1 GB.
func AttributeCounts(pushes []Push, orders []Order, window Timestamp) ([]int32, []int32, AttributionReport) {
	out := make([]int32, len(pushes))
	credit, rep := attribute(pushes, orders, window, func(i int32, _ *Order) { out[i]++ })
	return out, credit, rep
}

// attribute is Attribute's matching: it calls credited for every order
// credited to a push, in the orders' order.
func attribute(pushes []Push, orders []Order, window Timestamp, credited func(push int32, o *Order)) ([]int32, AttributionReport) {
	if window <= 0 {
		window = DefaultAttributionWindow
	}
	byID := newPushIDIndex(pushes)
	byPair := newPushPairIndex(pushes)
	credit := make([]int32, len(orders))
	// The orders are matched block by block, a goroutine a block (each
	// order's match reads only the pushes), then credited in their order.
	const block = 1 << 16
	reps := make([]AttributionReport, (len(orders)+block-1)/block)
	var wg sync.WaitGroup
	for b := range reps {
		wg.Go(func() {
			rep := &reps[b]
			for n := b * block; n < min(len(orders), (b+1)*block); n++ {
				o := &orders[n]
				rep.Orders++
				credit[n] = -1
				if o.Push != NoPush {
					i, ok := byID.find(o.Push)
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
					if k := byPair.last(o.Group, o.SKU, o.Time); k >= 0 && o.Time-pushes[k].Time <= window {
						credit[n] = k
						rep.ByWindow++
					}
				}
				if credit[n] < 0 {
					rep.Unmatched++
					continue
				}
				switch o.Status {
				case StatusCancelled:
					rep.Cancelled++
				case StatusRefunded:
					rep.Refunded++
				}
			}
		})
	}
	wg.Wait()
	var rep AttributionReport
	for _, r := range reps {
		rep.Orders += r.Orders
		rep.ByLink += r.ByLink
		rep.ByWindow += r.ByWindow
		rep.Unmatched += r.Unmatched
		rep.DeadLinks += r.DeadLinks
		rep.Cancelled += r.Cancelled
		rep.Refunded += r.Refunded
		rep.LateWindow += r.LateWindow
	}
	for n, i := range credit {
		if i >= 0 {
			credited(i, &orders[n])
		}
	}
	return credit, rep
}

// pushIDIndex finds a push by id: the index of the last push with that id,
// as a map filled in order would. When the ids ascend (as a log's do) it
// searches the pushes themselves; otherwise it keeps a map.
type pushIDIndex struct {
	pushes []Push
	m      map[PushID]int32 // nil when the ids ascend
}

func newPushIDIndex(pushes []Push) pushIDIndex {
	x := pushIDIndex{pushes: pushes}
	for i := 1; i < len(pushes); i++ {
		if pushes[i].ID <= pushes[i-1].ID {
			x.m = make(map[PushID]int32, len(pushes))
			for j := range pushes {
				x.m[pushes[j].ID] = int32(j)
			}
			break
		}
	}
	return x
}

func (x pushIDIndex) find(id PushID) (int32, bool) {
	if x.m != nil {
		i, ok := x.m[id]
		return i, ok
	}
	i, ok := sort.Find(len(x.pushes), func(i int) int { return cmp.Compare(id, x.pushes[i].ID) })
	return int32(i), ok
}

// pushPairIndex lists the pushes of known time group by group (a counting
// sort: 4 bytes a push and one offset a group, where a map of lists costs
// tens of bytes a push), each group's by (SKU, time, id, index).
type pushPairIndex struct {
	pushes []Push
	group  map[GroupID]int32 // group -> its place in start
	start  []int32           // group k's pushes are idx[start[k]:start[k+1]]
	idx    []int32
}

func newPushPairIndex(pushes []Push) *pushPairIndex {
	x := &pushPairIndex{pushes: pushes, group: map[GroupID]int32{}}
	var count []int32
	for i := range pushes {
		p := &pushes[i]
		if p.Time == UnknownTime {
			continue
		}
		k, ok := x.group[p.Group]
		if !ok {
			k = int32(len(count))
			x.group[p.Group] = k
			count = append(count, 0)
		}
		count[k]++
	}
	x.start = make([]int32, len(count)+1)
	for k, c := range count {
		x.start[k+1] = x.start[k] + c
	}
	x.idx = make([]int32, x.start[len(count)])
	next := count[:0:0]
	next = append(next, x.start[:len(count)]...)
	for i := range pushes {
		p := &pushes[i]
		if p.Time == UnknownTime {
			continue
		}
		k := x.group[p.Group]
		x.idx[next[k]] = int32(i)
		next[k]++
	}
	// Each group's list is sorted alone (the groups in ranges, a goroutine
	// a range): in index order within a group, so the index breaks the last
	// ties.
	const groupsPerTask = 4096
	var wg sync.WaitGroup
	for lo := 0; lo < len(count); lo += groupsPerTask {
		wg.Go(func() {
			for k := lo; k < min(len(count), lo+groupsPerTask); k++ {
				slices.SortFunc(x.idx[x.start[k]:x.start[k+1]], func(a, b int32) int {
					pa, pb := &pushes[a], &pushes[b]
					return cmp.Or(cmp.Compare(pa.SKU, pb.SKU), cmp.Compare(pa.Time, pb.Time), cmp.Compare(pa.ID, pb.ID), cmp.Compare(a, b))
				})
			}
		})
	}
	wg.Wait()
	return x
}

// last is the index of the last push of sku to group g at or before t in
// (time, id, index) order, or -1.
func (x *pushPairIndex) last(g GroupID, sku SKU, t Timestamp) int32 {
	k, ok := x.group[g]
	if !ok {
		return -1
	}
	list := x.idx[x.start[k]:x.start[k+1]]
	// the first push past (sku, t): of a later SKU, or of sku after t
	n := sort.Search(len(list), func(a int) bool {
		p := &x.pushes[list[a]]
		return p.SKU > sku || (p.SKU == sku && p.Time > t)
	})
	if n == 0 || x.pushes[list[n-1]].SKU != sku {
		return -1
	}
	return list[n-1]
}
