package api

import (
	"math"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"

	"grouprank/recommend/ui"
)

// picksRoute is the picks route's label in the metrics.
const picksRoute = "/v1/groups/:group/picks"

// rateWindow is how far back the overview's rates look.
const rateWindow = time.Minute

// sample is the service's counters at one instant, read off its registry.
type sample struct {
	at                              time.Time
	requests, picks, events, errors float64
	bounds                          []float64 // the picks latency histogram's upper bounds (seconds)
	cum                             []float64 // its cumulative counts per bound
}

// rates keeps the samples of the last rateWindow and turns them into rates.
type rates struct {
	mu      sync.Mutex
	samples []sample
}

// read gathers the registry into a sample.
func (m *metrics) read(at time.Time) (sample, error) {
	fams, err := m.reg.Gather()
	if err != nil {
		return sample{}, err
	}
	s := sample{at: at}
	for _, f := range fams {
		switch f.GetName() {
		case "grouprank_http_requests_total":
			for _, mt := range f.GetMetric() {
				v := mt.GetCounter().GetValue()
				s.requests += v
				if label(mt, "route") == picksRoute {
					s.picks += v
				}
				if strings.HasPrefix(label(mt, "code"), "5") {
					s.errors += v
				}
			}
		case "grouprank_events_ingested_total":
			for _, mt := range f.GetMetric() {
				s.events += mt.GetCounter().GetValue()
			}
		case "grouprank_http_request_duration_seconds":
			for _, mt := range f.GetMetric() {
				if label(mt, "route") != picksRoute {
					continue
				}
				for _, b := range mt.GetHistogram().GetBucket() {
					s.bounds = append(s.bounds, b.GetUpperBound())
					s.cum = append(s.cum, float64(b.GetCumulativeCount()))
				}
				s.bounds = append(s.bounds, math.Inf(1))
				s.cum = append(s.cum, float64(mt.GetHistogram().GetSampleCount()))
			}
		}
	}
	return s, nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// observe adds now's sample and returns the rates against the oldest sample
// kept: the oldest of the last rateWindow, or the newest before it when the
// window holds none (against zero at started before any sample).
func (r *rates) observe(now sample, started time.Time) ui.Rates {
	r.mu.Lock()
	defer r.mu.Unlock()
	// keep the window's samples and the newest one before it (the base
	// when nothing was sampled inside the window)
	from := 0
	for k, s := range r.samples {
		if now.at.Sub(s.at) > rateWindow {
			from = k
		}
	}
	r.samples = append(r.samples[from:], now)
	base := sample{at: started}
	if len(r.samples) > 1 {
		base = r.samples[0]
	}
	secs := now.at.Sub(base.at).Seconds()
	out := ui.Rates{WindowSeconds: secs, Errors5xx: now.errors - base.errors}
	if secs <= 0 {
		return out
	}
	out.RequestsPerSecond = (now.requests - base.requests) / secs
	out.PicksPerSecond = (now.picks - base.picks) / secs
	out.EventsPerSecond = (now.events - base.events) / secs
	if len(now.cum) > 0 {
		diff := make([]float64, len(now.cum))
		for k := range diff {
			diff[k] = now.cum[k]
			if len(base.cum) == len(now.cum) {
				diff[k] -= base.cum[k]
			}
		}
		out.PicksP99Ms = quantileMs(0.99, now.bounds, diff)
		out.PicksP50Ms = quantileMs(0.5, now.bounds, diff)
	}
	return out
}

// quantileMs estimates quantile q from cumulative bucket counts as
// Prometheus's histogram_quantile does: linear within the bucket, the
// highest finite bound when it falls in the +Inf bucket; nil without
// observations.
func quantileMs(q float64, bounds, cum []float64) *float64 {
	total := cum[len(cum)-1]
	if total <= 0 {
		return nil
	}
	rank := q * total
	for k, c := range cum {
		if c < rank {
			continue
		}
		lo, below := 0.0, 0.0
		if k > 0 {
			lo, below = bounds[k-1], cum[k-1]
		}
		var v float64
		switch {
		case math.IsInf(bounds[k], 1):
			v = lo
		case c == below:
			v = bounds[k]
		default:
			v = lo + (bounds[k]-lo)*(rank-below)/(c-below)
		}
		v *= 1000
		return &v
	}
	return nil
}
