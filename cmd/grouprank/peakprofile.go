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
	p := &peakProfile{path: path}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-done:
				p.check()
				return
			case <-t.C:
				p.check()
			}
		}
	}()
	return func() error {
		close(done)
		wg.Wait()
		return p.err
	}
}

// peakProfile is the state of startPeakProfile's sampling: the live heap of
// the profile last written and the first error. check is one sample; only
// one goroutine calls it at a time.
type peakProfile struct {
	path string
	last uint64
	err  error
}

func (p *peakProfile) check() {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	live := sample[0].Value.Uint64()
	if live == 0 || live < p.last+p.last/16 {
		return
	}
	if err := writeProfileAtomic(p.path); err != nil {
		if p.err == nil {
			p.err = err
		}
		return
	}
	p.last = live
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
