package recommend

import (
	"encoding/binary"
	"fmt"
	"slices"

	"grouprank/data"
)

// memoryFormat tags the layout of PushMemory.Encode.
const memoryFormat = 1

// Encode writes the memory's state (every group's pushes and orders, the
// newest instant heard of) as a compact binary record, groups in id order:
// what a restart loads instead of replaying the events behind it.
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
	ids := make([]data.GroupID, 0, len(m.groups))
	for g := range m.groups {
		ids = append(ids, g)
	}
	slices.Sort(ids)
	b = binary.AppendUvarint(b, uint64(len(ids)))
	for _, g := range ids {
		l := m.groups[g]
		b = binary.AppendVarint(b, int64(g))
		b = binary.AppendUvarint(b, uint64(len(l)))
		prev := data.Timestamp(0)
		for _, p := range l { // times ascend: store the steps
			b = binary.AppendVarint(b, int64(p.sku))
			b = binary.AppendVarint(b, int64(p.t-prev))
			prev = p.t
		}
	}
	ids = ids[:0]
	for g := range m.orders {
		ids = append(ids, g)
	}
	slices.Sort(ids)
	b = binary.AppendUvarint(b, uint64(len(ids)))
	for _, g := range ids {
		l := m.orders[g]
		b = binary.AppendVarint(b, int64(g))
		b = binary.AppendUvarint(b, uint64(len(l)))
		for _, o := range l {
			b = binary.AppendVarint(b, int64(o.SKU))
			b = binary.AppendVarint(b, int64(o.Quantity))
			b = binary.AppendVarint(b, int64(o.Time))
		}
	}
	return b
}

// DecodePushMemory reads what Encode wrote into a new memory.
func DecodePushMemory(b []byte) (*PushMemory, error) {
	bad := func(what string) (*PushMemory, error) {
		return nil, fmt.Errorf("%w: push memory: %s", data.ErrInvalid, what)
	}
	if len(b) == 0 || b[0] != memoryFormat {
		return bad("unknown format")
	}
	b = b[1:]
	var err error
	vint := func() int64 {
		v, n := binary.Varint(b)
		if n <= 0 {
			err = fmt.Errorf("truncated")
			return 0
		}
		b = b[n:]
		return v
	}
	count := func() int {
		v, n := binary.Uvarint(b)
		if n <= 0 || v > uint64(len(b)) { // every entry takes at least a byte
			err = fmt.Errorf("truncated")
			return 0
		}
		b = b[n:]
		return int(v)
	}
	m := NewPushMemory()
	m.latest = data.Timestamp(vint())
	for range count() {
		g := data.GroupID(vint())
		n := count()
		l := make([]timedSKU, 0, n)
		t := data.Timestamp(0)
		for range n {
			sku := data.SKU(vint())
			t += data.Timestamp(vint())
			l = append(l, timedSKU{sku, t})
		}
		if err != nil {
			return bad(err.Error())
		}
		m.groups[g] = l
	}
	for range count() {
		g := data.GroupID(vint())
		n := count()
		l := make([]Order, 0, n)
		for range n {
			l = append(l, Order{SKU: data.SKU(vint()), Quantity: int32(vint()), Time: data.Timestamp(vint())})
		}
		if err != nil {
			return bad(err.Error())
		}
		m.orders[g] = l
	}
	if err != nil {
		return bad(err.Error())
	}
	if len(b) != 0 {
		return bad("trailing bytes")
	}
	return m, nil
}
