package main

import (
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"grouprank/train/pref"
)

// progress reports done out of total for a long job: a bar when stderr is a
// terminal, otherwise a structured log line at most every few seconds and at
// the end. A negative total means unknown (a spinner; no end line). Safe to
// call from several goroutines.
func progress(e *env, what string, total int) func(done int) {
	if f, ok := e.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		bar := progressbar.NewOptions(total, progressbar.OptionSetWriter(f), progressbar.OptionSetDescription(what),
			progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionClearOnFinish())
		var mu sync.Mutex
		return func(done int) { mu.Lock(); bar.Set(done); mu.Unlock() }
	}
	start, last := time.Now(), time.Time{}
	var mu sync.Mutex
	return func(done int) {
		mu.Lock()
		defer mu.Unlock()
		if (total < 0 || done < total) && time.Since(last) < 5*time.Second {
			return
		}
		last = time.Now()
		e.log.Info(what, slog.Int("done", done), slog.Int("total", total), slog.Duration("elapsed", time.Since(start).Round(time.Millisecond)))
	}
}

// searchProgress reports a model search (train, eval and tune on orders
// alone): each method's trials out of budget as progress, and a log line
// when its search ends.
func searchProgress(e *env, budget int) pref.Progress {
	var mu sync.Mutex
	bars := map[string]func(int){}
	return pref.Progress{
		Trial: func(method string, n int) {
			mu.Lock()
			bar := bars[method]
			if bar == nil {
				bar = progress(e, "searching "+method, budget)
				bars[method] = bar
			}
			mu.Unlock()
			bar(min(n, budget))
		},
		Done: func(method string, s *pref.Search) {
			e.log.Info("searched", slog.String("method", method), slog.Float64("ndcg10", s.NDCG10), slog.Int("trials", len(s.Trials)),
				slog.String("skipped", s.Skipped), slog.Duration("took", time.Duration(s.Millis)*time.Millisecond))
		},
	}
}
