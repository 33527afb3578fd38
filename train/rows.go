package train

import "math"

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

// compactRows is how many rows a Compact block holds.
const compactRows = 1 << 14

// Compact holds rows losslessly in less memory than []float64: it takes
// them one at a time and, block by block, stores each column as float32
// when every value of the column in the block converts to float32 and back
// to the same bits (counts, flags, and values computed in float32, which
// are most of the conversion model's features), else as float64. Every row
// reads back bit for bit as it was added, so a fit on it is the fit on the
// float64 rows.
type Compact struct {
	d       int
	n       int
	blocks  []compactBlock
	pending []float64 // the rows of the block being filled, row-major
}

type compactBlock struct {
	narrow, wide []int     // the columns held as float32, as float64
	f32          []float32 // rows x len(narrow), row-major
	f64          []float64 // rows x len(wide), row-major
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
	rows := len(c.pending) / max(c.d, 1)
	if rows == 0 {
		return
	}
	var b compactBlock
	for j := range c.d {
		exact := true
		for r := range rows {
			v := c.pending[r*c.d+j]
			if math.Float64bits(float64(float32(v))) != math.Float64bits(v) {
				exact = false
				break
			}
		}
		if exact {
			b.narrow = append(b.narrow, j)
		} else {
			b.wide = append(b.wide, j)
		}
	}
	b.f32 = make([]float32, rows*len(b.narrow))
	b.f64 = make([]float64, rows*len(b.wide))
	for r := range rows {
		row := c.pending[r*c.d : (r+1)*c.d]
		for k, j := range b.narrow {
			b.f32[r*len(b.narrow)+k] = float32(row[j])
		}
		for k, j := range b.wide {
			b.f64[r*len(b.wide)+k] = row[j]
		}
	}
	c.blocks = append(c.blocks, b)
	c.pending = c.pending[:0]
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
		s += int64(len(b.f32))*4 + int64(len(b.f64))*8
	}
	return s
}
