package synth

import (
	"math"

	"grouprank/data"
)

const (
	recentPushes = 16   // pushes remembered per group for fatigue and churn
	boughtRing   = 8    // recent purchases remembered for re-orders
	maxSlots     = 4095 // member slots per group
	memberChurn  = 0.002
)

type pushRec struct {
	j   int32
	day int16
	l1  uint8
}

// gstate is one group's evolving state during the simulation.
type gstate struct {
	dead    bool
	nrec    uint8
	nbought uint8
	recent  [recentPushes]pushRec
	bought  [boughtRing]int32
	pushes  [7]uint8 // pushes per day, ring by day%7
	zero    [7]uint8 // pushes without an order, ring by day%7
	slots   int32    // member slots used
	nactive int32
	active  []uint64 // bitset of active member slots
	joined  []int16  // join day of slots past the initial members
}

func (s *gstate) isActive(slot int) bool { return s.active[slot>>6]&(1<<(slot&63)) != 0 }

func (s *gstate) addSlot() int {
	slot := int(s.slots)
	s.slots++
	for len(s.active)*64 <= slot {
		s.active = append(s.active, 0)
	}
	s.active[slot>>6] |= 1 << (slot & 63)
	s.nactive++
	return slot
}

func (s *gstate) remove(slot int) {
	s.active[slot>>6] &^= 1 << (slot & 63)
	s.nactive--
}

// memberID is the id of a member slot of group g (0-based).
func memberID(g, slot int) data.MemberID { return data.MemberID(int64(g+1)<<12 | int64(slot+1)) }

// memberPersona is the persona (index into the group's mix) and activity of a slot.
func (w *World) memberPersona(g, slot int) (k int, activity float64) {
	gr := &w.groups[g]
	h := mix(w.P.Seed, streamMember, uint64(g), uint64(slot))
	u := float32(unit(h))
	k = int(gr.mixN) - 1
	for i := range int(gr.mixN) {
		u -= gr.mixW[i]
		if u < 0 {
			k = i
			break
		}
	}
	return k, math.Min(4, math.Exp(0.8*normal(splitmix(h))-0.32))
}

// joinedAt is when slot joined group g: initial members of a group that
// existed before the window joined between its creation and the window's
// start; those of a group created during the window joined within an hour of
// its creation; later members joined at noon of the day they came.
func (w *World) joinedAt(g, slot int, st *gstate) data.Timestamp {
	gr := &w.groups[g]
	created := w.createdAt(g)
	if slot >= int(gr.members) {
		return w.start + data.Timestamp(st.joined[slot-int(gr.members)])*data.Day + 12*data.Hour
	}
	h := unit(mix(w.P.Seed, streamMember, uint64(g), uint64(slot), 7))
	span := data.Hour
	if gr.createdDay < 0 {
		span = w.start - created - data.Hour
	}
	return created + data.Timestamp(h*float64(span))
}

func (w *World) createdAt(g int) data.Timestamp {
	h := unit(mix(w.P.Seed, streamGroup, uint64(g), 1))
	return w.start + data.Timestamp(w.groups[g].createdDay)*data.Day + data.Timestamp(h*float64(8*data.Hour))
}

func (w *World) initState(g int, st *gstate) {
	n := int(w.groups[g].members)
	st.active = make([]uint64, (n+63)/64)
	for range n {
		st.addSlot()
	}
}
