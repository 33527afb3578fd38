package pref

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"grouprank/train"
)

// Parts divides the work of fitting and validating the preference models
// among the n parts of a sharded train (Data.Parts; nil: one process does
// all of it). Every part holds the data whole (the groups', members' and
// pushes' rows, small beside the search's compute) and does its share of
// what costs: it scores its own groups (the validation NDCG, the
// calibration pairs), solves its own rows of iALS (train.TrainALSParts:
// groups by Group, probes and members by index), and builds its own items'
// rows of the item-item matrices (item i is part i mod n's); then it joins
// the others' results through Ex. Every part ends with what one process
// computes, bit for bit: each value is computed by one part from the same
// inputs in the same order, and what is summed over groups is summed in
// one process's order once every part has every term. EASE's Gram matrix
// and its inverse (at most MaxEASEItems items) and a blend's scales (500
// groups) are computed whole by every part.
//
// Every part makes the same calls in the same order (the search is
// deterministic given the joined NDCGs); the exchange's steps are numbered
// in that order.
type Parts struct {
	Ex train.Exchange
	// Group is the part of group g (a row of Data.Groups before the
	// probes): the part that scores it.
	Group func(g int) int
	steps int
}

// step names the next exchange step.
func (p *Parts) step(name string) string {
	p.steps++
	return fmt.Sprintf("pref-%s-%d", name, p.steps)
}

// me is this part's index and n the number of parts.
func (p *Parts) me() (me, n int) { return p.Ex.Part() }

// rowPart is the part of row r of d.Groups: a group's by Group, a probe's
// (a member scored as a group of one) by its index.
func (p *Parts) rowPart(d *Data, r int) int {
	if r < d.Groups.Rows-d.Probes {
		return p.Group(r)
	}
	_, n := p.me()
	return r % n
}

// stackedPart is the part that solves row r of the stacked rows of d
// (stacked): its group's or probe's, a member's by index.
func (p *Parts) stackedPart(d *Data, r int) int {
	if r < d.Groups.Rows {
		return p.rowPart(d, r)
	}
	_, n := p.me()
	return (r - d.Groups.Rows) % n
}

// mine reports whether this part computes the k-th of the values owner
// assigns (p nil: one process computes all of them).
func (p *Parts) mine(owner func(k int) int, k int) bool {
	if p == nil {
		return true
	}
	me, _ := p.me()
	return owner(k) == me
}

// joinSegments fills, in each of xs, the segments [at[k], at[k+1]) of the
// other parts (owner(k) is a segment's part) with what their parts
// computed, sending this part's. at nil: segment k is xs[.][k] alone.
func (p *Parts) joinSegments(ctx context.Context, name string, segments int, at []int, owner func(k int) int, xs ...[]float64) error {
	me, _ := p.me()
	span := func(k int) (int, int) {
		if at == nil {
			return k, k + 1
		}
		return at[k], at[k+1]
	}
	return p.Ex.AllGather(ctx, p.step(name), func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		var buf [8]byte
		for k := range segments {
			if owner(k) != me {
				continue
			}
			lo, hi := span(k)
			for _, x := range xs {
				for _, v := range x[lo:hi] {
					binary.LittleEndian.PutUint64(buf[:], math.Float64bits(v))
					if _, err := bw.Write(buf[:]); err != nil {
						return err
					}
				}
			}
		}
		return bw.Flush()
	}, func(src int, r io.Reader) error {
		br := bufio.NewReader(r)
		var buf [8]byte
		for k := range segments {
			if owner(k) != src {
				continue
			}
			lo, hi := span(k)
			for _, x := range xs {
				for j := lo; j < hi; j++ {
					if _, err := io.ReadFull(br, buf[:]); err != nil {
						return fmt.Errorf("%s: part %d's values of segment %d: %w", name, src, k, err)
					}
					x[j] = math.Float64frombits(binary.LittleEndian.Uint64(buf[:]))
				}
			}
		}
		if _, err := br.ReadByte(); err != io.EOF {
			return fmt.Errorf("%s: part %d sent more values than its segments hold", name, src)
		}
		return nil
	})
}

// joinRows fills the sparse rows cols[j], ws[j] of the other parts' items
// (item j is part j mod n's) with what their parts computed, sending this
// part's.
func joinRows[T float32 | float64](ctx context.Context, p *Parts, name string, cols [][]int32, ws [][]T) error {
	me, n := p.me()
	var zero T
	wide := any(zero) == any(float64(0))
	return p.Ex.AllGather(ctx, p.step(name), func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		var buf []byte
		for j := me; j < len(cols); j += n {
			buf = binary.AppendUvarint(buf[:0], uint64(len(cols[j])))
			for k, c := range cols[j] {
				buf = binary.LittleEndian.AppendUint32(buf, uint32(c))
				if wide {
					buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(float64(ws[j][k])))
				} else {
					buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(float32(ws[j][k])))
				}
			}
			if _, err := bw.Write(buf); err != nil {
				return err
			}
		}
		return bw.Flush()
	}, func(src int, r io.Reader) error {
		br := bufio.NewReader(r)
		size := 8
		if wide {
			size = 12
		}
		var b []byte
		for j := src; j < len(cols); j += n {
			cnt, err := binary.ReadUvarint(br)
			if err != nil {
				return fmt.Errorf("%s: part %d's row %d: %w", name, src, j, err)
			}
			if cnt > uint64(len(cols)) {
				return fmt.Errorf("%s: part %d's row %d has %d entries, more than the %d items", name, src, j, cnt, len(cols))
			}
			if need := size * int(cnt); cap(b) < need {
				b = make([]byte, need)
			} else {
				b = b[:need]
			}
			if _, err := io.ReadFull(br, b); err != nil {
				return fmt.Errorf("%s: part %d's row %d: %w", name, src, j, err)
			}
			cols[j], ws[j] = make([]int32, cnt), make([]T, cnt)
			for k := range int(cnt) {
				c := int32(binary.LittleEndian.Uint32(b[size*k:]))
				if c < 0 || int(c) >= len(cols) {
					return fmt.Errorf("%s: part %d's row %d names item %d of %d", name, src, j, c, len(cols))
				}
				cols[j][k] = c
				if wide {
					ws[j][k] = T(math.Float64frombits(binary.LittleEndian.Uint64(b[size*k+4:])))
				} else {
					ws[j][k] = T(math.Float32frombits(binary.LittleEndian.Uint32(b[size*k+4:])))
				}
			}
		}
		if _, err := br.ReadByte(); err != io.EOF {
			return fmt.Errorf("%s: part %d sent more rows than its items", name, src)
		}
		return nil
	})
}

// JoinValues fills, in each of xs, the values k of the other parts
// (owner(k) is the part that computed value k) with theirs, sending this
// part's: per-line figures each part computed for its own groups, which
// every part then adds or resamples in one process's order.
func (p *Parts) JoinValues(ctx context.Context, name string, n int, owner func(k int) int, xs ...[]float64) error {
	return p.joinSegments(ctx, name, n, nil, owner, xs...)
}
