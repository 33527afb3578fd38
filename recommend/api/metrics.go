package api

import (
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the service's Prometheus series, on a registry of its own.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	events   prometheus.Counter
	shed     *prometheus.CounterVec
}

func newMetrics(s *server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "grouprank_http_requests_total",
			Help: "HTTP requests by route and status code."}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "grouprank_http_request_duration_seconds",
			Help:    "HTTP request latency by route.",
			Buckets: []float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5}}, []string{"route"}),
	}
	m.shed = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "grouprank_http_shed_total",
		Help: "Requests answered 503 because the limit of work in flight of their kind was reached."}, []string{"kind"})
	m.events = prometheus.NewCounter(prometheus.CounterOpts{Name: "grouprank_events_ingested_total", Help: "Events stored (duplicates excluded)."})
	model := prometheus.NewDesc("grouprank_model_info", "The model version in service (value 1).", []string{"version"}, nil)
	cache := prometheus.NewDesc("grouprank_dot_cache_lookups_total",
		"Lookups of the dot-product candidate cache of the model in service, by result (hit or miss).", []string{"result"}, nil)
	if d, ok := s.deps.Exposures.(DroppedCounter); ok {
		dropped := prometheus.NewDesc("grouprank_exposure_lists_dropped_total",
			"Served lists whose exposures were dropped because the exposure log's queue was full.", nil, nil)
		m.reg.MustRegister(collectorFunc{desc: dropped, collect: func(ch chan<- prometheus.Metric) {
			ch <- prometheus.MustNewConstMetric(dropped, prometheus.CounterValue, float64(d.Dropped()))
		}})
	}
	if f := s.deps.Follower; f != nil {
		lag := prometheus.NewDesc("grouprank_live_follow_lag_events",
			"Events in the shared live log this replica's memory has not heard yet.", nil, nil)
		m.reg.MustRegister(collectorFunc{desc: lag, collect: func(ch chan<- prometheus.Metric) {
			ch <- prometheus.MustNewConstMetric(lag, prometheus.GaugeValue, float64(f.Lag()))
		}})
	}
	m.reg.MustRegister(m.requests, m.latency, m.events, m.shed, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectorFunc{desc: model, collect: func(ch chan<- prometheus.Metric) {
			if cur := s.deps.Model(); cur != nil {
				ch <- prometheus.MustNewConstMetric(model, prometheus.GaugeValue, 1, cur.Version)
			}
		}},
		collectorFunc{desc: cache, collect: func(ch chan<- prometheus.Metric) {
			if cur := s.deps.Model(); cur != nil {
				hits, misses := cur.Ranker.CacheStats()
				ch <- prometheus.MustNewConstMetric(cache, prometheus.CounterValue, float64(hits), "hit")
				ch <- prometheus.MustNewConstMetric(cache, prometheus.CounterValue, float64(misses), "miss")
			}
		}})
	return m
}

// observe records one request.
func (m *metrics) observe(route string, code int, took time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(route).Observe(took.Seconds())
}

func (m *metrics) handler() gin.HandlerFunc {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return func(c *gin.Context) { h.ServeHTTP(c.Writer, c.Request) }
}

// collectorFunc is a collector of one computed series.
type collectorFunc struct {
	desc    *prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

func (c collectorFunc) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c collectorFunc) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }
