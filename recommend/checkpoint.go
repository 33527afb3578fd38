package recommend

import (
	"encoding/binary"
	"fmt"
	"slices"

	"grouprank/data"
)

// memoryFormat tags the layout of PushMemory.Encode: 2 adds the buyers'
// orders and the membership changes to 1's pushes and orders, 3 whether a
// group's order names no buyer (Order.Unnamed; 1 and 2 still decode, their
// orders read as naming one).
const memoryFormat = 3

// Encode writes the memory's state (every group's pushes, orders and
// membership changes, every buyer's orders, the newest instant heard of)
// as a compact binary record, keys in id order: what a restart loads
// instead of replaying the events behind it.
func (m *PushMemory) Encode() []byte {
	m.mu.RLock()
	defer m.mu.RUnlock()
	n := 0
	for _, l := range m.groups {
		n += 8 + 8*len(l)
	}
	for _, l := range m.orders {
		n += 8 + 12*len(l)
	}
	b := make([]byte, 0, 16+n) // about what varints take: one allocation
	b = append(b, memoryFormat)
	b = binary.AppendVarint(b, int64(m.latest))
	b = appendSection(b, m.groups, func(b []byte, p timedSKU, prev *data.Timestamp) []byte {
		b = binary.AppendVarint(b, int64(p.sku)) // times ascend: store the steps
		b = binary.AppendVarint(b, int64(p.t-*prev))
		*prev = p.t
		return b
	})
	b = appendSection(b, m.orders, func(b []byte, o Order, _ *data.Timestamp) []byte {
		u := int64(0)
		if o.Unnamed {
			u = 1
		}
		return appendVarints(b, int64(o.SKU), int64(o.Quantity), int64(o.Time), u)
	})
	b = appendSection(b, m.buys, func(b []byte, o MemberOrder, _ *data.Timestamp) []byte {
		return appendVarints(b, int64(o.Group), int64(o.SKU), int64(o.Quantity), int64(o.Time))
	})
	return appendSection(b, m.joins, func(b []byte, c MembershipChange, _ *data.Timestamp) []byte {
		j := int64(0)
		if c.Join {
			j = 1
		}
		return appendVarints(b, int64(c.Member), j, int64(c.Time))
	})
}

// appendSection writes a map of lists: its size, then per key in
// increasing order the key, the list's length and each entry as put writes
// it (prev starts at 0 for each list, for entries stored as steps).
func appendSection[K ~int64, T any](b []byte, lists map[K][]T, put func(b []byte, x T, prev *data.Timestamp) []byte) []byte {
	keys := make([]K, 0, len(lists))
	for k := range lists {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		l := lists[k]
		b = binary.AppendVarint(b, int64(k))
		b = binary.AppendUvarint(b, uint64(len(l)))
		prev := data.Timestamp(0)
		for _, x := range l {
			b = put(b, x, &prev)
		}
	}
	return b
}

func appendVarints(b []byte, vs ...int64) []byte {
	for _, v := range vs {
		b = binary.AppendVarint(b, v)
	}
	return b
}

// DecodePushMemory reads what Encode wrote into a new memory.
func DecodePushMemory(b []byte) (*PushMemory, error) {
	if len(b) == 0 || b[0] < 1 || b[0] > memoryFormat {
		return nil, fmt.Errorf("%w: push memory: unknown format", data.ErrInvalid)
	}
	r := &varints{b: b[1:]}
	m := NewPushMemory()
	m.latest = data.Timestamp(r.vint())
	readSection(r, m.groups, func(r *varints, prev *data.Timestamp) timedSKU {
		sku := data.SKU(r.vint())
		*prev += data.Timestamp(r.vint())
		return timedSKU{sku, *prev}
	})
	readSection(r, m.orders, func(r *varints, _ *data.Timestamp) Order {
		o := Order{SKU: data.SKU(r.vint()), Quantity: int32(r.vint()), Time: data.Timestamp(r.vint())}
		if b[0] >= 3 {
			o.Unnamed = r.vint() == 1
		}
		return o
	})
	if b[0] >= 2 {
		readSection(r, m.buys, func(r *varints, _ *data.Timestamp) MemberOrder {
			return MemberOrder{Group: data.GroupID(r.vint()), Order: Order{SKU: data.SKU(r.vint()), Quantity: int32(r.vint()), Time: data.Timestamp(r.vint())}}
		})
		readSection(r, m.joins, func(r *varints, _ *data.Timestamp) MembershipChange {
			return MembershipChange{Member: data.MemberID(r.vint()), Join: r.vint() == 1, Time: data.Timestamp(r.vint())}
		})
	}
	m.indexUnnamed()
	m.indexJoined()
	for _, l := range m.joins {
		for _, c := range l {
			if c.Join {
				m.joined[c.Member] = max(m.joined[c.Member], c.Time)
			}
		}
	}
	switch {
	case r.err != nil:
		return nil, fmt.Errorf("%w: push memory: %v", data.ErrInvalid, r.err)
	case len(r.b) != 0:
		return nil, fmt.Errorf("%w: push memory: trailing bytes", data.ErrInvalid)
	}
	return m, nil
}

// varints reads what appendSection wrote; the first failure sticks in err.
type varints struct {
	b   []byte
	err error
}

func (r *varints) vint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("truncated")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a length; every entry takes at least a byte, so a length
// beyond what is left is a truncated record.
func (r *varints) count() int {
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > uint64(len(r.b)) {
		r.err = fmt.Errorf("truncated")
		return 0
	}
	r.b = r.b[n:]
	return int(v)
}

// readSection reads a section appendSection wrote into lists.
func readSection[K ~int64, T any](r *varints, lists map[K][]T, get func(r *varints, prev *data.Timestamp) T) {
	for range r.count() {
		k := K(r.vint())
		n := r.count()
		l := make([]T, 0, n)
		prev := data.Timestamp(0)
		for range n {
			l = append(l, get(r, &prev))
		}
		if r.err != nil {
			return
		}
		lists[k] = l
	}
}

// Clone is a copy of the memory's state to encode (or read) while the
// memory goes on hearing events: a checkpoint holds event batches back only
// while it is taken, not while it is encoded. Each kind of list shares one
// backing array in the copy, so taking it costs a copy of the entries and
// one map insert per key.
func (m *PushMemory) Clone() *PushMemory {
	m.mu.RLock()
	defer m.mu.RUnlock()
	c := &PushMemory{keep: m.keep, latest: m.latest, groups: cloneLists(m.groups), orders: cloneLists(m.orders),
		buys: cloneLists(m.buys), joins: cloneLists(m.joins), joined: make(map[data.MemberID]data.Timestamp, len(m.joined))}
	for u, t := range m.joined {
		c.joined[u] = t
	}
	c.buyers.Store(m.buyers.Load())
	c.indexJoined()
	c.indexUnnamed()
	return c
}

// cloneLists copies lists into one backing array (each list capped at its
// length, so appending to one never reaches the next).
func cloneLists[K comparable, T any](lists map[K][]T) map[K][]T {
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	all := make([]T, 0, n)
	out := make(map[K][]T, len(lists))
	for k, l := range lists {
		at := len(all)
		all = append(all, l...)
		out[k] = all[at:len(all):len(all)]
	}
	return out
}
