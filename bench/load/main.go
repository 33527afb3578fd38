// Command load drives a grouprank service on loopback with vegeta: a mix of
// Zipf-distributed groups, a share of unknown groups (cold start) and a
// share of explained requests, at a fixed rate for a fixed time. With
// -fixed it also attacks, in the same run and at the same rate, a gin
// handler that returns a fixed response of the same size, so the service's
// throughput can be read as a ratio of the bare HTTP stack's. With -events
// it posts batches of push and order events instead (durable ingest).
package main

import (
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
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
	uniform := flag.Bool("uniform", false, "groups uniformly at random instead of Zipf (no group asked for twice more than chance)")
	serveFixed := flag.String("serve-fixed", "", "instead of attacking, serve on this loopback address a gin handler returning the -target's picks response for group 1, until killed (a process of its own, to pin and time like the service)")
	flag.Parse()
	if *serveFixed != "" {
		if err := fixedServer(*serveFixed, *target, *k); err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(1)
		}
		return
	}
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
		if *uniform {
			g = r.Int64N(int64(*groups)) + 1
		}
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
		if *events > 10000 {
			fmt.Fprintln(os.Stderr, "load: -events must be at most 10000")
			os.Exit(2)
		}
		items, err := catalogOf(targets[0], min(*groups, 64))
		if err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(1)
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
				g, it := int64(z.Uint64())+1, items[r.IntN(len(items))]
				ts := now.Add(-time.Duration(r.Int64N(int64(time.Hour)))).Format(time.RFC3339Nano)
				if e%4 == 3 {
					fmt.Fprintf(&b, `{"id":"%d-%d-%d","kind":"order","group":%d,"sku":%d,"time":"%s","order":%d,"quantity":1,"amount_cents":%d}`,
						run, batch, e, g, it.SKU, ts, int64(batch)*100000+int64(e), it.PriceCents)
				} else {
					fmt.Fprintf(&b, `{"id":"%d-%d-%d","kind":"push","group":%d,"sku":%d,"time":"%s","push":%d}`,
						run, batch, e, g, it.SKU, ts, int64(batch)*100000+int64(e))
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
	body, err := picksBody(targets[0], *k)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go http.Serve(ln, fixedHandler(body))
	fixedURL := "http://" + ln.Addr().String()
	fres := attack(func(t *vegeta.Target) error {
		t.Method, t.URL = "GET", fixedURL+"/v1/groups/1/picks?k=20"
		return nil
	}, *rate, *dur)
	report(fmt.Sprintf("fixed gin response (%d bytes)", len(body)), fres)
}

// item is a SKU the service offers, at its list price.
type item struct {
	SKU        int64 `json:"sku"`
	PriceCents int64 `json:"price_cents"`
}

// catalogOf gathers the SKUs and list prices the service picks for groups
// 1..n (k = 200 each), in SKU order: the events sent name only items the
// catalogue holds, at a price it accepts.
func catalogOf(target string, n int) ([]item, error) {
	seen := map[int64]item{}
	for g := 1; g <= n; g++ {
		resp, err := http.Get(fmt.Sprintf("%s/v1/groups/%d/picks?k=200", target, g))
		if err != nil {
			return nil, err
		}
		var picks struct{ Items []item }
		err = json.NewDecoder(resp.Body).Decode(&picks)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: picks for group %d: %w", target, g, err)
		}
		for _, it := range picks.Items {
			seen[it.SKU] = it
		}
	}
	if len(seen) == 0 {
		return nil, fmt.Errorf("%s: no SKU in the picks of groups 1..%d", target, n)
	}
	out := make([]item, 0, len(seen))
	for _, it := range seen {
		out = append(out, it)
	}
	slices.SortFunc(out, func(a, b item) int { return cmp.Compare(a.SKU, b.SKU) })
	return out, nil
}

// picksBody is the service's picks response for group 1.
func picksBody(target string, k int) ([]byte, error) {
	resp, err := http.Get(fmt.Sprintf("%s/v1/groups/1/picks?k=%d", target, k))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s: picks for group 1: status %d", target, resp.StatusCode)
	}
	return body, err
}

// fixedHandler answers every picks request with body, through gin as the
// service does.
func fixedHandler(body []byte) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.GET("/v1/groups/:group/picks", func(c *gin.Context) { c.Data(http.StatusOK, "application/json", body) })
	return e
}

// fixedServer serves fixedHandler with target's body on addr until killed.
func fixedServer(addr, target string, k int) error {
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		return fmt.Errorf("-serve-fixed must be on 127.0.0.1")
	}
	body, err := picksBody(target, k)
	if err != nil {
		return err
	}
	fmt.Printf("fixed gin response (%d bytes) on %s\n", len(body), addr)
	return http.ListenAndServe(addr, fixedHandler(body))
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
