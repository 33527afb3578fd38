// Package exchange lets the n parts of a sharded job (n processes, each
// started with --shard i/n) swap data at named steps through a directory
// they all reach: a local one, or a volume every pod mounts read-write.
//
// A step is a barrier: every part writes its file of the step, then waits
// for the files of all the others and reads them. A part's file is written
// under a temporary name and linked to its final name only once complete, so
// a reader never sees half of one, and the link fails if the name is taken,
// so a part cannot write a step twice (two processes given the same part of
// one directory are refused instead of mixing their data). Each section of a
// file carries a CRC-32C that the reader checks. A part that fails says so in
// the directory (Fail), and the others stop waiting with its reason; a part
// that vanishes without a word makes them stop after the timeout.
//
// A directory serves one run: the parts first agree on n and on a
// fingerprint of their settings and data (Open), and each removes its file
// of a step once every part has moved past it. After Close the directory
// holds only a few bytes per part and may be deleted.
package exchange

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Dir is one part's end of an exchange directory.
type Dir struct {
	root    string
	i, n    int
	timeout time.Duration
	waiting func(step string, missing []int, waited time.Duration)
	used    map[string]bool
	prev    string // the last step whose file this part wrote, removed after the next one
}

// Options are Open's settings.
type Options struct {
	// Timeout is how long a part waits for the others at a step before it
	// gives up (required: a part that dies without a word would otherwise
	// be waited for forever).
	Timeout time.Duration
	// Waiting, when not nil, is told which parts a wait is still missing
	// after 10 s and then every minute (for the log of a part that waits).
	Waiting func(step string, missing []int, waited time.Duration)
}

// magic opens every part file.
const magic = "grex0001"

// Open joins part i of n to the exchange in root (created when missing) and
// waits, up to the timeout, for the other parts to join: they must all give
// the same n and the same fingerprint (what the parts compute from: their
// settings, their data's checksum), or Open fails naming the part that
// differs.
func Open(ctx context.Context, root string, i, n int, fingerprint string, o Options) (*Dir, error) {
	if n < 1 || i < 0 || i >= n {
		return nil, fmt.Errorf("exchange %s: part %d of %d: want 0 <= i < n", root, i, n)
	}
	if o.Timeout <= 0 {
		return nil, fmt.Errorf("exchange %s: a timeout is needed (a part that dies without a word would be waited for forever)", root)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("exchange: %w", err)
	}
	// No part gets past the first step before every part has written its
	// file of it, so a directory with anything else in it was used by
	// another run.
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("exchange: %w", err)
	}
	for _, e := range entries {
		if e.Name() != "open" {
			return nil, fmt.Errorf("exchange %s holds %s, left by another run: give each run a new directory", root, e.Name())
		}
	}
	d := &Dir{root: root, i: i, n: n, timeout: o.Timeout, waiting: o.Waiting, used: map[string]bool{}}
	hello := fmt.Sprintf("%d\n%s", n, fingerprint)
	err = d.AllGather(ctx, "open", func(w io.Writer) error {
		_, err := io.WriteString(w, hello)
		return err
	}, func(src int, r io.Reader) error {
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if string(b) != hello {
			theirs, their, _ := strings.Cut(string(b), "\n")
			if theirs != strconv.Itoa(n) {
				return fmt.Errorf("part %d was started as one of %s parts, this one as one of %d", src, theirs, n)
			}
			return fmt.Errorf("part %d runs with other settings or data: its fingerprint is %q, this part's %q", src, their, fingerprint)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Part is this part's index and the number of parts.
func (d *Dir) Part() (i, n int) { return d.i, d.n }

// AllGather writes this part's data of step (put) and reads every other
// part's, in part order (get, called once for each other part with a reader
// of exactly what that part put).
func (d *Dir) AllGather(ctx context.Context, step string, put func(w io.Writer) error, get func(src int, r io.Reader) error) error {
	return d.exchange(ctx, step, 1, func(_ int, w io.Writer) error { return put(w) }, get)
}

// AllToAll writes this part's data of step for each other part (put, called
// once per destination in part order) and reads what each other part wrote
// for this one (get, in part order).
func (d *Dir) AllToAll(ctx context.Context, step string, put func(dst int, w io.Writer) error, get func(src int, r io.Reader) error) error {
	return d.exchange(ctx, step, d.n, put, get)
}

// Fail tells the other parts that this one stopped, and why: their waits
// end with the reason. Its own error is returned (the reason is not lost
// when the directory cannot be written: the caller reports both).
func (d *Dir) Fail(reason error) error {
	return writeOnce(d.root, failedName(d.i), func(w io.Writer) error {
		_, err := io.WriteString(w, reason.Error())
		return err
	})
}

// Close waits for every part to finish (a last, empty step) and removes
// this part's file of the step before.
func (d *Dir) Close(ctx context.Context) error {
	return d.AllGather(ctx, "close", func(io.Writer) error { return nil }, func(int, io.Reader) error { return nil })
}

// firstWaitReport is how long a wait goes on before Options.Waiting hears of it.
var firstWaitReport = 10 * time.Second

func failedName(i int) string { return fmt.Sprintf("failed-%d", i) }

func (d *Dir) exchange(ctx context.Context, step string, sections int, put func(dst int, w io.Writer) error, get func(src int, r io.Reader) error) error {
	if step == "" || strings.ContainsAny(step, `/\`) || strings.HasPrefix(step, ".") || strings.HasPrefix(step, "failed-") {
		return fmt.Errorf("exchange %s: step name %q", d.root, step)
	}
	if d.used[step] {
		return fmt.Errorf("exchange %s: step %s was already exchanged by this part", d.root, step)
	}
	d.used[step] = true
	dir := filepath.Join(d.root, step)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("exchange: %w", err)
	}
	name := strconv.Itoa(d.i)
	err := writeOnce(dir, name, func(w io.Writer) error { return writeSections(w, sections, d.i, put) })
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("exchange %s: step %s already holds part %d's file: another process runs as part %d of this directory, or it was used by an earlier run (give each run a new one)",
			d.root, step, d.i, d.i)
	}
	if err != nil {
		return fmt.Errorf("exchange %s: step %s: %w", d.root, step, err)
	}
	if err := d.wait(ctx, dir, step); err != nil {
		return err
	}
	for src := range d.n {
		if src == d.i {
			continue
		}
		sec := 0
		if sections > 1 {
			sec = d.i
		}
		if err := readSection(filepath.Join(dir, strconv.Itoa(src)), sections, sec, func(r io.Reader) error { return get(src, r) }); err != nil {
			return fmt.Errorf("exchange %s: step %s, part %d's file: %w", d.root, step, src, err)
		}
	}
	// Every part has written this step, so every part has read the step
	// before: this part's file of it is no longer needed.
	if d.prev != "" {
		os.Remove(filepath.Join(d.root, d.prev, name))
		os.Remove(filepath.Join(d.root, d.prev)) // once empty
	}
	d.prev = step
	return nil
}

// wait returns once every part's file of step is in dir, or an error when a
// part failed, the context ended or the timeout passed. It looks again
// after pauses that grow from 50 µs by half each time up to 50 ms: an iALS
// fit waits twice an epoch, a model search thousands of times, and the end
// of each wait's last pause is time lost by every part.
func (d *Dir) wait(ctx context.Context, dir, step string) error {
	start := time.Now()
	deadline, tell := start.Add(d.timeout), start.Add(firstWaitReport)
	pause := 50 * time.Microsecond
	for {
		var missing []int
		for j := range d.n {
			if _, err := os.Stat(filepath.Join(dir, strconv.Itoa(j))); err != nil {
				missing = append(missing, j)
			}
		}
		if len(missing) == 0 {
			return nil
		}
		for j := range d.n {
			if j == d.i {
				continue
			}
			if b, err := os.ReadFile(filepath.Join(d.root, failedName(j))); err == nil {
				return fmt.Errorf("exchange %s: part %d of %d failed: %s", d.root, j, d.n, b)
			}
		}
		now := time.Now()
		if now.After(deadline) {
			return fmt.Errorf("exchange %s: step %s: part(s) %s of %d did not arrive within %s", d.root, step, joinInts(missing), d.n, d.timeout)
		}
		if d.waiting != nil && now.After(tell) {
			d.waiting(step, missing, now.Sub(start))
			tell = now.Add(time.Minute)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause = min(pause*3/2, 50*time.Millisecond)
	}
}

func joinInts(x []int) string {
	s := make([]string, len(x))
	for k, v := range x {
		s[k] = strconv.Itoa(v)
	}
	return strings.Join(s, ", ")
}

// writeOnce writes dir/name through a temporary file, linked to its name
// only once complete: os.ErrExist when the name is taken.
func writeOnce(dir, name string, fill func(w io.Writer) error) error {
	tmp, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	bw := writers.Get().(*bufio.Writer)
	defer writers.Put(bw)
	bw.Reset(tmp)
	if err := fill(bw); err != nil {
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Link(tmp.Name(), filepath.Join(dir, name))
}

// writers are the part files' buffered writers, reused: a step often
// writes a few bytes, and a new megabyte buffer each time was most of its
// cost.
var writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 1<<20) }}

// castagnoli is the CRC-32C table of the sections' sums.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// writeSections writes the sections one after the other, then a trailer
// with each one's length and CRC-32C, the count and the magic: a reader
// finds the trailer at the file's end, and a writer need not know a
// section's length before writing it. Section s is put(s, ...); the
// writer's own section of an all-to-all is left empty.
func writeSections(w io.Writer, sections, self int, put func(dst int, w io.Writer) error) error {
	lens := make([]uint64, sections)
	sums := make([]uint32, sections)
	for s := range sections {
		if sections > 1 && s == self {
			continue
		}
		cw := &countingWriter{w: w, h: crc32.New(castagnoli)}
		if err := put(s, cw); err != nil {
			return err
		}
		lens[s], sums[s] = cw.n, cw.h.Sum32()
	}
	tr := make([]byte, 0, sections*12+12)
	for s := range sections {
		tr = binary.LittleEndian.AppendUint64(tr, lens[s])
		tr = binary.LittleEndian.AppendUint32(tr, sums[s])
	}
	tr = binary.LittleEndian.AppendUint32(tr, uint32(sections))
	tr = append(tr, magic...)
	_, err := w.Write(tr)
	return err
}

type countingWriter struct {
	w io.Writer
	h hash.Hash32
	n uint64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += uint64(n)
	return n, err
}

// readSection hands section sec of the part file at path to get, and checks
// that get read all of it and that its CRC-32C matches.
func readSection(path string, sections, sec int, get func(r io.Reader) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	tl := int64(sections*12 + 4 + len(magic))
	if size < tl {
		return fmt.Errorf("%d bytes: too short for a part file", size)
	}
	tr := make([]byte, tl)
	if _, err := f.ReadAt(tr, size-tl); err != nil {
		return err
	}
	if string(tr[tl-int64(len(magic)):]) != magic {
		return errors.New("not a part file (no trailer)")
	}
	if got := binary.LittleEndian.Uint32(tr[tl-int64(len(magic))-4:]); int(got) != sections {
		return fmt.Errorf("%d sections, want %d", got, sections)
	}
	var off int64
	for s := range sec {
		off += int64(binary.LittleEndian.Uint64(tr[s*12:]))
	}
	n := int64(binary.LittleEndian.Uint64(tr[sec*12:]))
	want := binary.LittleEndian.Uint32(tr[sec*12+8:])
	if off+n > size-tl {
		return fmt.Errorf("section %d runs past the data (%d+%d of %d bytes)", sec, off, n, size-tl)
	}
	h := crc32.New(castagnoli)
	r := io.TeeReader(io.NewSectionReader(f, off, n), h)
	br := bufio.NewReaderSize(r, int(min(n+1, 1<<20))) // a small section, a small buffer: a step of a few bytes is common
	if err := get(br); err != nil {
		return err
	}
	rest, err := io.Copy(io.Discard, br)
	if err != nil {
		return err
	}
	if rest > 0 {
		return fmt.Errorf("%d bytes of section %d were not read: the parts disagree on what they exchange", rest, sec)
	}
	if got := h.Sum32(); got != want {
		return fmt.Errorf("section %d: CRC-32C %08x, want %08x (damaged in transit or on disk)", sec, got, want)
	}
	return nil
}
