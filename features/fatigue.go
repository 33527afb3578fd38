package features

import (
	"sort"

	"grouprank/data"
)

// fatigueDays are the look-back windows of the fatigue counts, in days.
var fatigueDays = [3]float64{1, 3, 7}

// Fatigue is how much a group has lately been pushed one item and its category.
type Fatigue struct {
	Item     [3]float32 // pushes of the item in the last 1, 3 and 7 days
	Category [3]float32 // pushes of the item's L1 category in the last 1, 3 and 7 days
	Position float32    // 1 + pushes the group received earlier on the same (UTC) day
}

// PushLog holds every group's pushes in time order so fatigue can be counted
// at any instant. Build it once; it is safe for concurrent reads.
type PushLog struct {
	start []int32 // group g's pushes are [start[g], start[g+1])
	time  []data.Timestamp
	item  []int32
	l1    []int32 // per item: its L1 category (the catalogue's)
}

// NewPushLog indexes pushes (dense events over cat) by group; pushes of
// unknown time are left out.
func NewPushLog(groups int, pushes *Events, cat *Catalog) *PushLog {
	l := &PushLog{start: make([]int32, groups+1), l1: cat.L1}
	for e, g := range pushes.Group {
		if pushes.Time[e] != data.UnknownTime {
			l.start[g+1]++
		}
	}
	for g := range groups {
		l.start[g+1] += l.start[g]
	}
	n := l.start[groups]
	l.time, l.item = make([]data.Timestamp, n), make([]int32, n)
	next := append([]int32(nil), l.start[:groups]...)
	for e, g := range pushes.Group {
		if pushes.Time[e] == data.UnknownTime {
			continue
		}
		k := next[g]
		next[g]++
		l.time[k], l.item[k] = pushes.Time[e], pushes.Item[e]
	}
	for g := range groups {
		a, b := l.start[g], l.start[g+1]
		idx := make([]int, b-a)
		for i := range idx {
			idx[i] = i
		}
		ts, it := append([]data.Timestamp(nil), l.time[a:b]...), append([]int32(nil), l.item[a:b]...)
		sort.SliceStable(idx, func(x, y int) bool { return ts[idx[x]] < ts[idx[y]] })
		for k, i := range idx {
			l.time[int(a)+k], l.item[int(a)+k] = ts[i], it[i]
		}
	}
	return l
}

// Each calls fn for group g's pushes strictly before t and no more than
// maxAge before it, newest first, until fn returns false.
func (l *PushLog) Each(g int32, t, maxAge data.Timestamp, fn func(at data.Timestamp, item, l1 int32) bool) {
	a, b := int(l.start[g]), int(l.start[g+1])
	k := a + sort.Search(b-a, func(i int) bool { return l.time[a+i] >= t }) - 1
	for ; k >= a && t-l.time[k] <= maxAge; k-- {
		if !fn(l.time[k], l.item[k], l.l1[l.item[k]]) {
			return
		}
	}
}

// At counts group g's fatigue for item (of category l1) at instant t from the
// pushes strictly before t.
func (l *PushLog) At(g, item, l1 int32, t data.Timestamp) Fatigue {
	var f Fatigue
	dayStart := t - t%data.Day
	f.Position = 1
	maxAge := data.Timestamp(fatigueDays[2] * float64(data.Day))
	l.Each(g, t, maxAge, func(at data.Timestamp, it, c int32) bool {
		age := float64(t-at) / float64(data.Day)
		for w, d := range fatigueDays {
			if age <= d {
				if it == item {
					f.Item[w]++
				}
				if c == l1 {
					f.Category[w]++
				}
			}
		}
		if at >= dayStart {
			f.Position++
		}
		return true
	})
	return f
}

// Recent is a group's fatigue for every item at one instant, sparse: the
// counts of the items and categories it was pushed lately.
type Recent struct {
	Items    map[int32][3]float32 // item -> pushes in the last 1, 3, 7 days
	Category map[int32][3]float32 // L1 -> pushes in the last 1, 3, 7 days
	Position float32              // the next push's position in the day
}

// RecentAt gathers group g's Recent at instant t.
func (l *PushLog) RecentAt(g int32, t data.Timestamp) Recent {
	r := Recent{Position: 1}
	maxAge := data.Timestamp(fatigueDays[2] * float64(data.Day))
	l.Each(g, t, maxAge, func(at data.Timestamp, it, c int32) bool {
		r.Add(it, c, at, t)
		return true
	})
	return r
}

// Add counts one push of item (of category l1) at instant at into the
// fatigue seen from now; pushes at or after now, or over a week old, do not count.
func (r *Recent) Add(item, l1 int32, at, now data.Timestamp) {
	age := float64(now-at) / float64(data.Day)
	if at >= now || age > fatigueDays[2] {
		return
	}
	if r.Items == nil {
		r.Items, r.Category = map[int32][3]float32{}, map[int32][3]float32{}
	}
	ic, cc := r.Items[item], r.Category[l1]
	for w, d := range fatigueDays {
		if age <= d {
			ic[w]++
			cc[w]++
		}
	}
	r.Items[item], r.Category[l1] = ic, cc
	if at >= now-now%data.Day {
		r.Position++
	}
}

// For is the Fatigue of one item (of category l1) under r.
func (r *Recent) For(item, l1 int32) Fatigue {
	return Fatigue{Item: r.Items[item], Category: r.Category[l1], Position: max(r.Position, 1)}
}
