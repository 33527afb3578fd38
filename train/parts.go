package train

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"grouprank/data"
	"grouprank/features"
)

// NewParts joins the sums of the parts of a sharded job through ex
// (features.Parts): each call is one AllGather step, named prefix and its
// number. Every part must make the same calls in the same order.
func NewParts(ctx context.Context, ex Exchange, prefix string) features.Parts {
	return &exchangeParts{ctx: ctx, ex: ex, prefix: prefix}
}

type exchangeParts struct {
	ctx    context.Context
	ex     Exchange
	prefix string
	calls  int
	err    error
}

func (p *exchangeParts) Err() error { return p.err }

// gather runs the next step: put writes this part's input, get reads
// another part's.
func (p *exchangeParts) gather(kind string, put func(w io.Writer) error, get func(src int, r io.Reader) error) error {
	if p.err != nil {
		return p.err
	}
	p.calls++
	step := fmt.Sprintf("%s-%d-%s", p.prefix, p.calls, kind)
	if err := p.ex.AllGather(p.ctx, step, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		if err := put(bw); err != nil {
			return err
		}
		return bw.Flush()
	}, func(src int, r io.Reader) error {
		return get(src, bufio.NewReader(r))
	}); err != nil {
		p.err = fmt.Errorf("%s: %w", step, err)
	}
	return p.err
}

func (p *exchangeParts) SumBlocks(width int, sums [][]float64) ([][]float64, error) {
	out := make([][]float64, data.Blocks)
	copy(out, sums)
	err := p.gather(fmt.Sprintf("blocks-%d", width), func(w io.Writer) error {
		var buf []byte
		for b, s := range sums {
			if s == nil {
				continue
			}
			if len(s) != width {
				return fmt.Errorf("block %d: %d sums, want %d", b, len(s), width)
			}
			buf = binary.LittleEndian.AppendUint32(buf[:0], uint32(b))
			for _, x := range s {
				buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(x))
			}
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
		return nil
	}, func(src int, r io.Reader) error {
		buf := make([]byte, 4+8*width)
		for {
			if _, err := io.ReadFull(r, buf[:4]); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			b := int(binary.LittleEndian.Uint32(buf))
			if b >= data.Blocks || out[b] != nil {
				return fmt.Errorf("part %d sent block %d, which is not its own", src, b)
			}
			if _, err := io.ReadFull(r, buf[4:]); err != nil {
				return fmt.Errorf("part %d, block %d: %w", src, b, err)
			}
			s := make([]float64, width)
			for j := range s {
				s[j] = math.Float64frombits(binary.LittleEndian.Uint64(buf[4+8*j:]))
			}
			out[b] = s
		}
	})
	return out, err
}

func (p *exchangeParts) ints(kind string, xs []int64, join func(a, b int64) int64) error {
	mine := append([]int64(nil), xs...)
	return p.gather(fmt.Sprintf("%s-%d", kind, len(xs)), func(w io.Writer) error {
		var buf [8]byte
		for _, x := range mine {
			binary.LittleEndian.PutUint64(buf[:], uint64(x))
			if _, err := w.Write(buf[:]); err != nil {
				return err
			}
		}
		return nil
	}, func(src int, r io.Reader) error {
		var buf [8]byte
		for j := range xs {
			if _, err := io.ReadFull(r, buf[:]); err != nil {
				return fmt.Errorf("part %d, value %d of %d: %w", src, j, len(xs), err)
			}
			xs[j] = join(xs[j], int64(binary.LittleEndian.Uint64(buf[:])))
		}
		return nil
	})
}

func (p *exchangeParts) AddInts(xs []int64) error {
	return p.ints("add", xs, func(a, b int64) int64 { return a + b })
}

func (p *exchangeParts) MinInts(xs []int64) error {
	return p.ints("min", xs, func(a, b int64) int64 { return min(a, b) })
}
