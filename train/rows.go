package train

import (
	"math"
	"slices"
)

// Rows are the rows of a matrix of float64 values, all of Width columns.
// Row returns row n, decoded into buf (of at least Width) when it is not held
// as it is; the caller must not keep the result past the next call with buf.
type Rows interface {
	Width() int
	Row(n int, buf []float64) []float64
}

// Dense is a row-major matrix held as it is.
type Dense struct {
	X []float64
	D int // columns
}

func (m Dense) Width() int { return m.D }

func (m Dense) Row(n int, _ []float64) []float64 { return m.X[n*m.D : (n+1)*m.D] }

// compactRows is how many rows a Compact block holds: at most 1<<16, so
// that a column's dictionary index fits a uint16.
const compactRows = 1 << 16

// Compact holds rows losslessly in less memory than []float64: it takes
// them one at a time and, block by block, stores each column in the
// smallest of four forms that keep every value's bits: as float32 when
// every value of the column in the block converts to float32 and back to the
// same bits (counts, flags, values computed in float32), as a uint8 or uint16
// index into the block's distinct values when they are few (flags, small
// counts, what depends on the item, repeated down the block), else as
// float64. Every
// row reads back bit for bit as it was added, so a fit on it is the fit on
// the float64 rows.
type Compact struct {
	d       int
	n       int
	blocks  []compactBlock
	pending []float64 // the rows of the block being filled, row-major
}

type compactBlock struct {
	narrow, coded, small, wide []int     // the columns held as float32, as uint16 and as uint8 indices, as float64
	f32                        []float32 // rows x len(narrow), row-major
	idx                        []uint16  // rows x len(coded), row-major
	idx8                       []uint8   // rows x len(small), row-major
	dict, dict8                [][]float64
	f64                        []float64 // rows x len(wide), row-major
}

// NewCompact returns an empty Compact of d columns.
func NewCompact(d int) *Compact {
	return &Compact{d: d}
}

func (c *Compact) Width() int { return c.d }

// Len is the number of rows added.
func (c *Compact) Len() int { return c.n }

// Add appends the row x (length Width).
func (c *Compact) Add(x []float64) {
	if len(x) != c.d {
		panic("train: Compact.Add: row of the wrong width")
	}
	if c.pending == nil {
		c.pending = make([]float64, 0, compactRows*c.d)
	}
	c.pending = append(c.pending, x...)
	c.n++
	if len(c.pending) == compactRows*c.d {
		c.flush()
	}
}

// flush stores the pending rows as a block.
func (c *Compact) flush() {
	if len(c.pending) == 0 {
		return
	}
	c.blocks = append(c.blocks, encodeBlock(c.pending, c.d))
	c.pending = c.pending[:0]
}

// setBlocks makes c the rows of full blocks encoded apart (encodeBlock, on
// compactRows rows each) followed by the rows of pending, n in all; c must
// be empty. Its rows read back as if added one by one.
func (c *Compact) setBlocks(blocks []compactBlock, pending []float64, n int) {
	if c.n != 0 || len(blocks)*compactRows+len(pending)/max(c.d, 1) != n {
		panic("train: Compact.setBlocks: rows do not add up")
	}
	c.blocks, c.pending, c.n = blocks, pending, n
}

// encodeBlock stores the rows of pending (row-major, d columns) as a block.
func encodeBlock(pending []float64, d int) compactBlock {
	rows := len(pending) / max(d, 1)
	var b compactBlock
	seen := map[uint64]uint16{}
	for j := range d {
		exact := true
		for r := range rows {
			v := pending[r*d+j]
			if math.Float64bits(float64(float32(v))) != math.Float64bits(v) {
				exact = false
				break
			}
		}
		// Indices win when 2 bytes a row (1 for up to 256 distinct values)
		// and 8 a distinct value cost less than the other form; counting
		// stops once they cannot.
		cost := 8 * rows
		if exact {
			cost = 4 * rows
		}
		limit := (cost - 2*rows) / 8
		clear(seen)
		for r := 0; r < rows && len(seen) < max(limit, 257); r++ {
			seen[math.Float64bits(pending[r*d+j])] = 0
		}
		switch {
		case len(seen) <= 256 && rows+8*len(seen) < cost:
			b.small = append(b.small, j)
		case len(seen) < limit:
			b.coded = append(b.coded, j)
		case exact:
			b.narrow = append(b.narrow, j)
		default:
			b.wide = append(b.wide, j)
		}
	}
	b.f32 = make([]float32, rows*len(b.narrow))
	b.idx = make([]uint16, rows*len(b.coded))
	b.f64 = make([]float64, rows*len(b.wide))
	b.idx8 = make([]uint8, rows*len(b.small))
	b.dict = make([][]float64, len(b.coded))
	b.dict8 = make([][]float64, len(b.small))
	// code gives column j's rows indices into its distinct values, in the
	// order they first appear.
	code := func(j int, set func(r int, x uint16)) []float64 {
		var dict []float64
		clear(seen)
		for r := range rows {
			v := pending[r*d+j]
			bits := math.Float64bits(v)
			x, ok := seen[bits]
			if !ok {
				x = uint16(len(dict))
				seen[bits] = x
				dict = append(dict, v)
			}
			set(r, x)
		}
		return slices.Clip(dict)
	}
	for k, j := range b.coded {
		b.dict[k] = code(j, func(r int, x uint16) { b.idx[r*len(b.coded)+k] = x })
	}
	for k, j := range b.small {
		b.dict8[k] = code(j, func(r int, x uint16) { b.idx8[r*len(b.small)+k] = uint8(x) })
	}
	for r := range rows {
		row := pending[r*d : (r+1)*d]
		for k, j := range b.narrow {
			b.f32[r*len(b.narrow)+k] = float32(row[j])
		}
		for k, j := range b.wide {
			b.f64[r*len(b.wide)+k] = row[j]
		}
	}
	return b
}

// Row decodes row n into buf.
func (c *Compact) Row(n int, buf []float64) []float64 {
	buf = buf[:c.d]
	b, r := n/compactRows, n%compactRows
	if b == len(c.blocks) { // the block being filled
		copy(buf, c.pending[r*c.d:(r+1)*c.d])
		return buf
	}
	blk := &c.blocks[b]
	f32 := blk.f32[r*len(blk.narrow) : (r+1)*len(blk.narrow)]
	for k, j := range blk.narrow {
		buf[j] = float64(f32[k])
	}
	idx := blk.idx[r*len(blk.coded) : (r+1)*len(blk.coded)]
	for k, j := range blk.coded {
		buf[j] = blk.dict[k][idx[k]]
	}
	idx8 := blk.idx8[r*len(blk.small) : (r+1)*len(blk.small)]
	for k, j := range blk.small {
		buf[j] = blk.dict8[k][idx8[k]]
	}
	f64 := blk.f64[r*len(blk.wide) : (r+1)*len(blk.wide)]
	for k, j := range blk.wide {
		buf[j] = f64[k]
	}
	return buf
}

// At is row n's value in column j.
func (c *Compact) At(n, j int) float64 {
	b, r := n/compactRows, n%compactRows
	if b == len(c.blocks) {
		return c.pending[r*c.d+j]
	}
	blk := &c.blocks[b]
	for k, col := range blk.narrow {
		if col == j {
			return float64(blk.f32[r*len(blk.narrow)+k])
		}
	}
	for k, col := range blk.coded {
		if col == j {
			return blk.dict[k][blk.idx[r*len(blk.coded)+k]]
		}
	}
	for k, col := range blk.small {
		if col == j {
			return blk.dict8[k][blk.idx8[r*len(blk.small)+k]]
		}
	}
	for k, col := range blk.wide {
		if col == j {
			return blk.f64[r*len(blk.wide)+k]
		}
	}
	panic("train: Compact.At: no such column")
}

// Bytes is the memory the rows take (their blocks and the pending rows).
func (c *Compact) Bytes() int64 {
	s := int64(cap(c.pending)) * 8
	for _, b := range c.blocks {
		s += int64(len(b.f32))*4 + int64(len(b.idx))*2 + int64(len(b.idx8)) + int64(len(b.f64))*8
		for _, d := range append(b.dict, b.dict8...) {
			s += int64(len(d)) * 8
		}
	}
	return s
}
