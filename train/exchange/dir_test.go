package exchange

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// parts runs fn for parts 0..n-1 of an exchange in root at once and
// returns their errors.
func parts(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(i)
		}()
	}
	wg.Wait()
	return errs
}

// payload is part src's data of a step for dst: sizes from empty to past
// the readers' and writers' buffers.
func payload(step string, src, dst int) []byte {
	size := map[string]int{"a": 0, "b": 17, "c": 3<<20 + 5}[step]
	b := make([]byte, size)
	for k := range b {
		b[k] = byte(k*31 + src*7 + dst*3)
	}
	return b
}

// TestExchange: three parts swap all-gathered and all-to-all data over
// several steps, each receiving exactly what every other part put, and
// after Close the directory holds only the last, empty step.
func TestExchange(t *testing.T) {
	root := filepath.Join(t.TempDir(), "x")
	errs := parts(3, func(i int) error {
		d, err := Open(context.Background(), root, i, 3, "settings v1", Options{Timeout: time.Minute})
		if err != nil {
			return err
		}
		for _, step := range []string{"a", "b", "c"} {
			err := d.AllGather(context.Background(), "gather-"+step, func(w io.Writer) error {
				_, err := w.Write(payload(step, i, -1))
				return err
			}, func(src int, r io.Reader) error {
				b, err := io.ReadAll(r)
				if err != nil {
					return err
				}
				if src == i || !bytes.Equal(b, payload(step, src, -1)) {
					return fmt.Errorf("step %s: part %d got %d bytes from %d", step, i, len(b), src)
				}
				return nil
			})
			if err != nil {
				return err
			}
			seen := map[int]bool{}
			err = d.AllToAll(context.Background(), "all-"+step, func(dst int, w io.Writer) error {
				if dst == i {
					return fmt.Errorf("asked for its own section")
				}
				_, err := w.Write(payload(step, i, dst))
				return err
			}, func(src int, r io.Reader) error {
				b, err := io.ReadAll(r)
				if err != nil {
					return err
				}
				seen[src] = true
				if !bytes.Equal(b, payload(step, src, i)) {
					return fmt.Errorf("step %s: part %d got %d bytes from %d", step, i, len(b), src)
				}
				return nil
			})
			if err != nil {
				return err
			}
			if len(seen) != 2 || seen[i] {
				return fmt.Errorf("part %d read from %v", i, seen)
			}
		}
		return d.Close(context.Background())
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(root)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if strings.Join(left, " ") != "close" {
		t.Errorf("left in the directory: %v", left)
	}
}

// TestExchangeRefusals: parts that disagree on n or on their fingerprint,
// a second process as the same part, a part that fails or never comes, a
// cancelled wait and a directory another run used all end with an error
// that says which.
func TestExchangeRefusals(t *testing.T) {
	ctx := context.Background()
	check := func(name string, err error, want string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
	root := filepath.Join(t.TempDir(), "fp")
	errs := parts(2, func(i int) error {
		_, err := Open(ctx, root, i, 2, fmt.Sprintf("seed %d", i), Options{Timeout: time.Minute})
		return err
	})
	check("fingerprint", errs[0], `part 1 runs with other settings or data: its fingerprint is "seed 1", this part's "seed 0"`)
	check("fingerprint", errs[1], "part 0 runs with other settings")

	root = filepath.Join(t.TempDir(), "n")
	errs = parts(2, func(i int) error {
		_, err := Open(ctx, root, i, 2+i, "same", Options{Timeout: 200 * time.Millisecond})
		return err
	})
	check("n", errs[0], "part 1 was started as one of 3 parts, this one as one of 2")

	root = filepath.Join(t.TempDir(), "twice")
	errs = parts(2, func(int) error {
		_, err := Open(ctx, root, 0, 2, "same", Options{Timeout: 200 * time.Millisecond})
		return err
	})
	if errs[0] == nil || errs[1] == nil {
		t.Fatalf("two processes as part 0: %v", errs)
	}
	check("twice", errors.Join(errs...), "already holds part 0's file")

	root = filepath.Join(t.TempDir(), "fail")
	errs = parts(2, func(i int) error {
		d, err := Open(ctx, root, i, 2, "same", Options{Timeout: time.Minute})
		if err != nil {
			return err
		}
		if i == 1 {
			return d.Fail(errors.New("out of memory"))
		}
		return d.AllGather(ctx, "step", func(io.Writer) error { return nil }, func(int, io.Reader) error { return nil })
	})
	if errs[1] != nil {
		t.Fatal(errs[1])
	}
	check("failed part", errs[0], "part 1 of 2 failed: out of memory")

	root = filepath.Join(t.TempDir(), "alone")
	defer func(was time.Duration) { firstWaitReport = was }(firstWaitReport)
	firstWaitReport = 20 * time.Millisecond
	var told []string
	_, err := Open(ctx, root, 0, 3, "same", Options{Timeout: 100 * time.Millisecond, Waiting: func(step string, missing []int, waited time.Duration) {
		told = append(told, fmt.Sprintf("%s %v %v", step, missing, waited >= 20*time.Millisecond))
	}})
	check("timeout", err, "part(s) 1, 2 of 3 did not arrive within 100ms")
	if len(told) != 1 || told[0] != "open [1 2] true" {
		t.Errorf("told of the wait: %q, want once, after 20ms, of parts 1 and 2", told)
	}

	cctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	_, err = Open(cctx, filepath.Join(t.TempDir(), "cancel"), 0, 2, "same", Options{Timeout: time.Minute})
	check("cancelled", err, "deadline exceeded")

	_, err = Open(ctx, root, 3, 3, "same", Options{Timeout: time.Minute})
	check("bad part", err, "want 0 <= i < n")

	root = filepath.Join(t.TempDir(), "used")
	os.MkdirAll(filepath.Join(root, "close"), 0o755)
	_, err = Open(ctx, root, 0, 2, "same", Options{Timeout: time.Minute})
	check("used", err, "holds close, left by another run")
}

// TestPartFileChecks: a section read short, or changed on disk, is an
// error, not data.
func TestPartFileChecks(t *testing.T) {
	dir := t.TempDir()
	err := writeOnce(dir, "0", func(w io.Writer) error {
		return writeSections(w, 3, 1, func(dst int, w io.Writer) error {
			_, err := fmt.Fprintf(w, "for %d", dst)
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := writeOnce(dir, "0", func(io.Writer) error { return nil }); !errors.Is(err, os.ErrExist) {
		t.Errorf("second write of a name: %v", err)
	}
	path := filepath.Join(dir, "0")
	read := func(sec int, all bool) (string, error) {
		var got string
		err := readSection(path, 3, sec, func(r io.Reader) error {
			n := 3
			if all {
				n = 100
			}
			b, err := io.ReadAll(io.LimitReader(r, int64(n)))
			got = string(b)
			return err
		})
		return got, err
	}
	for sec, want := range []string{"for 0", "", "for 2"} {
		if got, err := read(sec, true); err != nil || got != want {
			t.Errorf("section %d: %q, %v", sec, got, err)
		}
	}
	if _, err := read(2, false); err == nil || !strings.Contains(err.Error(), "2 bytes of section 2 were not read") {
		t.Errorf("short read: %v", err)
	}
	b, _ := os.ReadFile(path)
	b[7] ^= 1 // in section 2
	os.WriteFile(path, b, 0o644)
	if _, err := read(2, true); err == nil || !strings.Contains(err.Error(), "CRC-32C") {
		t.Errorf("damaged section: %v", err)
	}
	if _, err := read(0, true); err != nil {
		t.Errorf("undamaged section: %v", err)
	}
	os.WriteFile(path, b[:len(b)-1], 0o644)
	if _, err := read(0, true); err == nil || !strings.Contains(err.Error(), "not a part file") {
		t.Errorf("truncated: %v", err)
	}
}

// BenchmarkStep: one all-gather step of 8 bytes a part among 3 parts run at
// once (a model search by parts takes thousands of such steps).
func BenchmarkStep(b *testing.B) {
	ctx := context.Background()
	root := filepath.Join(b.TempDir(), "x")
	const n = 3
	exs := make([]*Dir, n)
	for _, err := range parts(n, func(i int) error {
		var err error
		exs[i], err = Open(ctx, root, i, n, "bench", Options{Timeout: time.Minute})
		return err
	}) {
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for _, err := range parts(n, func(i int) error {
		for s := range b.N {
			err := exs[i].AllGather(ctx, fmt.Sprint("s", s), func(w io.Writer) error {
				_, err := w.Write([]byte("12345678"))
				return err
			}, func(_ int, r io.Reader) error {
				_, err := io.ReadAll(r)
				return err
			})
			if err != nil {
				return err
			}
		}
		return nil
	}) {
		if err != nil {
			b.Fatal(err)
		}
	}
}
