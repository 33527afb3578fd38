package service

import (
	"context"
	"testing"
	"time"

	"grouprank/recommend/experiment"
)

// A report without data is not kept: the first exposures of a just-started
// experiment show at the next ask. A report with data is kept for the TTL.
func TestReportCacheKeepsNoEmptyReport(t *testing.T) {
	calls := 0
	c := NewReportCache(time.Hour, nil, func(string) (*experiment.Report, error) {
		calls++
		if calls == 1 {
			return &experiment.Report{Verdict: experiment.VerdictNoData}, nil
		}
		return &experiment.Report{Verdict: "keep-running"}, nil
	})
	for k, want := range []string{experiment.VerdictNoData, "keep-running", "keep-running"} {
		r, err := c.Get(context.Background(), "x")
		if err != nil || r.Verdict != want {
			t.Errorf("ask %d: %v %v, want %s", k+1, r, err, want)
		}
	}
	if calls != 2 {
		t.Errorf("%d computations, want 2 (the empty report again, then the kept one)", calls)
	}
}
