package recommend

import (
	"encoding/binary"
	"fmt"
	"math"

	"grouprank/data"
	"grouprank/features"
)

// groupRecordVersion tags the binary layout of EncodeGroup.
// Version 7 appended the members' mean row, version 6 the L2 and price tastes, version 5 the exposure-adjusted L1
// tastes, version 4 the recent orders; version 3 to 5 records (without them)
// still decode.
const groupRecordVersion = 7

// EncodeGroup writes a group as a compact little-endian record: the layout
// snapshots store per group and the online service reads per request.
func EncodeGroup(g *Group) []byte {
	b := make([]byte, 0, 64+4*(len(g.L1)+len(g.Band)+len(g.Vector))+8*(len(g.L2)+len(g.Brands)))
	b = append(b, groupRecordVersion, byte(g.Channel), byte(g.Tier))
	f32 := func(x float32) { b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x)) }
	u16 := func(n int) { b = binary.LittleEndian.AppendUint16(b, uint16(n)) }
	for _, x := range []float32{g.Weight, g.PerDay, g.DaysSince, g.PushConv, g.Pushes} {
		f32(x)
	}
	for _, v := range [][]float32{g.L1, g.Band, g.Vector, g.L1Recent} {
		u16(len(v))
		for _, x := range v {
			f32(x)
		}
	}
	for _, ws := range [][]features.Weighted{g.L2, g.Brands, g.Observed} {
		u16(len(ws))
		for _, w := range ws {
			b = binary.LittleEndian.AppendUint32(b, uint32(w.ID))
			f32(w.Weight)
		}
	}
	u16(len(g.Orders))
	for _, o := range g.Orders {
		b = binary.LittleEndian.AppendUint64(b, uint64(o.SKU))
		b = binary.LittleEndian.AppendUint64(b, uint64(o.Time))
		b = binary.LittleEndian.AppendUint32(b, uint32(o.Quantity))
	}
	for _, v := range [][]float32{g.L1Taste, g.L2Taste, g.PriceTaste} {
		u16(len(v))
		for _, x := range v {
			f32(x)
		}
	}
	u16(len(g.Members))
	for _, w := range g.Members {
		b = binary.LittleEndian.AppendUint32(b, uint32(w.ID))
		f32(w.Weight)
	}
	return b
}

// DecodeGroup reads a record EncodeGroup wrote.
func DecodeGroup(b []byte) (Group, error) {
	var g Group
	bad := func(what string) (Group, error) {
		return Group{}, fmt.Errorf("%w: group record: %s", data.ErrInvalid, what)
	}
	if len(b) < 3+20 || b[0] < 3 || b[0] > groupRecordVersion {
		return bad("too short or unknown layout")
	}
	g.Channel, g.Tier = data.Channel(b[1]), data.CityTier(b[2])
	layout := b[0]
	b = b[3:]
	f32 := func() float32 {
		x := math.Float32frombits(binary.LittleEndian.Uint32(b))
		b = b[4:]
		return x
	}
	// vec reads a length-prefixed float32 vector (nil when empty).
	vec := func() ([]float32, bool) {
		if len(b) < 2 {
			return nil, false
		}
		n := int(binary.LittleEndian.Uint16(b))
		b = b[2:]
		if len(b) < 4*n {
			return nil, false
		}
		var v []float32
		if n > 0 {
			v = make([]float32, n)
			for i := range n {
				v[i] = f32()
			}
		}
		return v, true
	}
	g.Weight, g.PerDay, g.DaysSince, g.PushConv, g.Pushes = f32(), f32(), f32(), f32(), f32()
	for _, dst := range []*[]float32{&g.L1, &g.Band, &g.Vector, &g.L1Recent} {
		var ok bool
		if *dst, ok = vec(); !ok {
			return bad("truncated")
		}
	}
	// weighted reads a length-prefixed sparse list.
	weighted := func() ([]features.Weighted, bool) {
		if len(b) < 2 {
			return nil, false
		}
		n := int(binary.LittleEndian.Uint16(b))
		b = b[2:]
		if len(b) < 8*n {
			return nil, false
		}
		var out []features.Weighted
		for range n {
			id := int32(binary.LittleEndian.Uint32(b))
			b = b[4:]
			out = append(out, features.Weighted{ID: id, Weight: f32()})
		}
		return out, true
	}
	sparse := make([][]features.Weighted, 3)
	for k := range sparse {
		var ok bool
		if sparse[k], ok = weighted(); !ok {
			return bad("truncated")
		}
	}
	g.L2, g.Brands, g.Observed = sparse[0], sparse[1], sparse[2]
	if layout >= 4 {
		if len(b) < 2 {
			return bad("truncated")
		}
		n := int(binary.LittleEndian.Uint16(b))
		b = b[2:]
		if len(b) < 20*n {
			return bad("truncated")
		}
		for range n {
			g.Orders = append(g.Orders, Order{SKU: data.SKU(binary.LittleEndian.Uint64(b)),
				Time: data.Timestamp(binary.LittleEndian.Uint64(b[8:])), Quantity: int32(binary.LittleEndian.Uint32(b[16:]))})
			b = b[20:]
		}
	}
	if layout >= 5 {
		var ok bool
		if g.L1Taste, ok = vec(); !ok {
			return bad("truncated")
		}
	}
	if layout >= 6 {
		var ok bool
		if g.L2Taste, ok = vec(); !ok {
			return bad("truncated")
		}
		if g.PriceTaste, ok = vec(); !ok {
			return bad("truncated")
		}
	}
	if layout >= 7 {
		var ok bool
		if g.Members, ok = weighted(); !ok {
			return bad("truncated")
		}
	}
	if len(b) != 0 {
		return bad("trailing bytes")
	}
	return g, nil
}

// EncodeFactors writes factors as a little-endian header (rows, K) and the
// flat values; nil (no factors) is the header (0, 0).
func EncodeFactors(f *Factors) []byte {
	if f == nil {
		return make([]byte, 8)
	}
	b := make([]byte, 0, 8+4*len(f.V))
	b = binary.LittleEndian.AppendUint32(b, uint32(f.Rows()))
	b = binary.LittleEndian.AppendUint32(b, uint32(f.K))
	for _, x := range f.V {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// DecodeFactors reads what EncodeFactors wrote (nil for no factors).
func DecodeFactors(b []byte) (*Factors, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("%w: factors: %d bytes, want a header of 8", data.ErrInvalid, len(b))
	}
	rows, k := int(binary.LittleEndian.Uint32(b)), int(binary.LittleEndian.Uint32(b[4:]))
	if rows == 0 && k == 0 && len(b) == 8 {
		return nil, nil
	}
	if k <= 0 || len(b) != 8+4*rows*k {
		return nil, fmt.Errorf("%w: factors: %d bytes for %d x %d", data.ErrInvalid, len(b), rows, k)
	}
	f := &Factors{K: k, V: make([]float32, rows*k)}
	for i := range f.V {
		f.V[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[8+4*i:]))
	}
	return f, nil
}
