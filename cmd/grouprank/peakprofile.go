package main

import (
	"os"
	"path/filepath"
	"runtime/metrics"
	"runtime/pprof"
	"sync"
	"time"
)

// startPeakProfile samples the live heap (as of the last collection) every
// period and, when it is a sixteenth above the live heap of the profile last
// written, writes the heap profile to path (through a temporary file, so
// the file is always a whole profile). The profile's in-use figures are
// those of the same collection, so the file ends holding what was live at
// the highest sample. stop ends the sampling and returns the first error.
func startPeakProfile(path string, period time.Duration) (stop func() error) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var werr error
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var last uint64
	check := func() {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		live := sample[0].Value.Uint64()
		if live == 0 || live < last+last/16 {
			return
		}
		if err := writeProfileAtomic(path); err != nil {
			if werr == nil {
				werr = err
			}
			return
		}
		last = live
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-done:
				check()
				return
			case <-t.C:
				check()
			}
		}
	}()
	return func() error {
		close(done)
		wg.Wait()
		return werr
	}
}

// writeProfileAtomic writes the heap profile, without a collection of its
// own, to path through a temporary file in its directory.
func writeProfileAtomic(path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
