// Command load drives a grouprank service on loopback with vegeta: a mix of
// Zipf-distributed groups, a share of unknown groups (cold start) and a
// share of explained requests, at a fixed rate for a fixed time. With
// -fixed it also attacks, in the same run and at the same rate, a gin
// handler that returns a fixed response of the same size, so the service's
// throughput can be read as a ratio of the bare HTTP stack's. With -events
// it posts batches of push and order events instead (durable ingest).
package main

import (
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func main() {
	target := flag.String("target", "http://127.0.0.1:8080", "the service (loopback only); several, comma-separated: requests go to each in turn (replicas)")
	rate := flag.Int("rate", 1000, "requests per second")
	dur := flag.Duration("duration", 60*time.Second, "attack length")
	groups := flag.Int("groups", 100000, "group ids 1..groups exist")
	unknown := flag.Float64("unknown", 0.05, "share of requests for unknown groups")
	explain := flag.Float64("explain", 0.10, "share of requests with explain=true")
	zipf := flag.Float64("zipf", 1.1, "Zipf exponent of group popularity")
	k := flag.Int("k", 20, "picks per request")
	fixed := flag.Bool("fixed", false, "also attack a fixed-response gin handler of the same size")
	seed := flag.Uint64("seed", 1, "request mix seed")
	fixedOnly := flag.Bool("fixed-only", false, "attack only the fixed-response handler (to find its own limit)")
	events := flag.Int("events", 0, "instead of picks, POST batches of this many push and order events to /v1/events (ids unique per run)")
	skus := flag.String("skus", "10000001-10020000", "with -events: the range of SKUs the catalogue holds")
	flag.Parse()
	targets := strings.Split(*target, ",")
	for _, t := range targets {
		if !strings.HasPrefix(t, "http://127.0.0.1:") && !strings.HasPrefix(t, "http://localhost:") {
			fmt.Fprintln(os.Stderr, "load: -target must be on loopback (127.0.0.1 or localhost)")
			os.Exit(2)
		}
	}
	next := 0 // the target of the next request (under mu)
	base := func() string { next++; return targets[(next-1)%len(targets)] }
	if *rate <= 0 || *rate > 20000 || *dur <= 0 || *dur > 10*time.Minute || *groups < 1 {
		fmt.Fprintln(os.Stderr, "load: -rate must be within 1..20000, -duration within 0..10m, -groups at least 1")
		os.Exit(2)
	}
	r := rand.New(rand.NewPCG(*seed, 7))
	z := rand.NewZipf(rand.New(rand.NewPCG(*seed, 8)), *zipf, 1, uint64(*groups-1))
	var mu sync.Mutex // vegeta calls the targeter from many goroutines; the generators are not safe for that
	targeter := func(t *vegeta.Target) error {
		mu.Lock()
		defer mu.Unlock()
		g := int64(z.Uint64()) + 1
		q := fmt.Sprintf("k=%d", *k)
		if r.Float64() < *unknown {
			g = int64(*groups) + 1 + r.Int64N(1_000_000)
			q += "&channel=mother&tier=3"
		}
		if r.Float64() < *explain {
			q += "&explain=true"
		}
		t.Method, t.URL = "GET", fmt.Sprintf("%s/v1/groups/%d/picks?%s", base(), g, q)
		return nil
	}
	if *events > 0 {
		var lo, hi int64
		if _, err := fmt.Sscanf(*skus, "%d-%d", &lo, &hi); err != nil || lo <= 0 || hi < lo || *events > 10000 {
			fmt.Fprintln(os.Stderr, "load: -skus must be lo-hi and -events at most 10000")
			os.Exit(2)
		}
		batch := 0
		run := time.Now().UnixNano()
		targeter = func(t *vegeta.Target) error {
			mu.Lock()
			defer mu.Unlock()
			batch++
			now := time.Now().UTC()
			var b strings.Builder
			b.WriteString(`{"events":[`)
			for e := range *events {
				if e > 0 {
					b.WriteByte(',')
				}
				g, sku := int64(z.Uint64())+1, lo+r.Int64N(hi-lo+1)
				ts := now.Add(-time.Duration(r.Int64N(int64(time.Hour)))).Format(time.RFC3339Nano)
				if e%4 == 3 {
					fmt.Fprintf(&b, `{"id":"%d-%d-%d","kind":"order","group":%d,"sku":%d,"time":"%s","order":%d,"quantity":1,"amount_cents":1990}`,
						run, batch, e, g, sku, ts, int64(batch)*100000+int64(e))
				} else {
					fmt.Fprintf(&b, `{"id":"%d-%d-%d","kind":"push","group":%d,"sku":%d,"time":"%s","push":%d}`,
						run, batch, e, g, sku, ts, int64(batch)*100000+int64(e))
				}
			}
			b.WriteString(`]}`)
			t.Method, t.URL, t.Body = "POST", base()+"/v1/events", []byte(b.String())
			t.Header = http.Header{"Content-Type": []string{"application/json"}}
			return nil
		}
	}
	if *fixedOnly {
		*fixed = true
	} else {
		res := attack(targeter, *rate, *dur)
		report("grouprank", res)
		if *events > 0 {
			reportEvents(res, *events)
			return
		}
	}
	if *events > 0 {
		return
	}
	if !*fixed {
		return
	}
	// The same size of body, from a bare gin handler on loopback.
	resp, err := http.Get(fmt.Sprintf("%s/v1/groups/1/picks?k=%d", targets[0], *k))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.GET("/v1/groups/:group/picks", func(c *gin.Context) { c.Data(http.StatusOK, "application/json", body) })
	go http.Serve(ln, e)
	fixedURL := "http://" + ln.Addr().String()
	fres := attack(func(t *vegeta.Target) error {
		t.Method, t.URL = "GET", fixedURL+"/v1/groups/1/picks?k=20"
		return nil
	}, *rate, *dur)
	report(fmt.Sprintf("fixed gin response (%d bytes)", len(body)), fres)
}

type result struct {
	m        vegeta.Metrics
	duration time.Duration
}

func attack(t vegeta.Targeter, rate int, dur time.Duration) result {
	a := vegeta.NewAttacker(vegeta.Timeout(5*time.Second), vegeta.KeepAlive(true), vegeta.Connections(64))
	var m vegeta.Metrics
	start := time.Now()
	for res := range a.Attack(t, vegeta.Rate{Freq: rate, Per: time.Second}, dur, "load") {
		m.Add(res)
	}
	m.Close()
	return result{m, time.Since(start)}
}

func report(name string, r result) {
	m := r.m
	errs := int(float64(m.Requests) * (1 - m.Success))
	fmt.Printf("%s: %d requests at %.0f/s (%.0f/s completed), success %.4f (%d errors), latency p50 %s p90 %s p99 %s max %s, bytes in %d\n",
		name, m.Requests, m.Rate, m.Throughput, m.Success, errs, m.Latencies.P50.Round(time.Microsecond),
		m.Latencies.P90.Round(time.Microsecond), m.Latencies.P99.Round(time.Microsecond), m.Latencies.Max.Round(time.Microsecond), m.BytesIn.Total)
	for code, n := range m.StatusCodes {
		fmt.Printf("  status %s: %d\n", code, n)
	}
}

func reportEvents(res result, batch int) {
	ok := float64(res.m.StatusCodes["200"])
	fmt.Printf("events: %d per request, %.0f acknowledged events/s (requests answered 200 x batch / attack time %s)\n",
		batch, ok*float64(batch)/res.duration.Seconds(), res.duration.Round(time.Millisecond))
}
