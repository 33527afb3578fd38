package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var screenshots = flag.String("screenshots", "", "write a PNG of each dashboard page into this directory (e.g. ../../docs/img)")

// browser finds Debian's chromium (or another Chrome); without one the
// browser tests skip, unless GROUPRANK_BROWSER_TESTS=required (.ci/run sets
// it after installing chromium), when they fail.
func browser(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("GROUPRANK_BROWSER_TESTS") == "required" {
		t.Fatal("no chromium on PATH and GROUPRANK_BROWSER_TESTS=required (.ci/run installs Debian's chromium)")
	}
	t.Skip("no chromium on PATH: apt-get install -y chromium (or run .ci/run) for the dashboard's browser tests")
	return ""
}

// newBrowser starts a headless chromium with a fresh profile and the flags
// that keep it off the (closed) network.
func newBrowser(t *testing.T, ctx context.Context) context.Context {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser(t)), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	actx, cancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancel)
	bctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return bctx
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// goTo moves the dashboard to a hash route and waits for sel.
func goTo(t *testing.T, bctx context.Context, hash, sel string) {
	t.Helper()
	if err := chromedp.Do(bctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById("page").replaceChildren(); location.hash = %q; null`, hash)), chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		t.Fatalf("%s: %v", hash, err)
	}
}

// text is the visible text of the first element matching sel.
func text(t *testing.T, bctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("%s: %v", sel, err)
	}
	return s
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, bctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(bctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// seriesOf reads a rendered chart's series names (the chart is an SVG).
func seriesOf(t *testing.T, bctx context.Context, chart string) []string {
	t.Helper()
	sel := fmt.Sprintf(`[data-chart=%q][data-ready="1"] svg`, chart)
	if err := chromedp.Do(bctx, chromedp.WaitReady(chromedp.CSS(sel))); err != nil {
		t.Fatalf("chart %s: %v", chart, err)
	}
	return eval[[]string](t, bctx, fmt.Sprintf(`grouprank.charts[%q].getOption().series.map(s => s.name)`, chart))
}

func shoot(t *testing.T, bctx context.Context, name string) {
	t.Helper()
	if *screenshots == "" {
		return
	}
	if err := chromedp.Do(bctx, chromedp.Sleep(300*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*screenshots, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDashboard drives the dashboard in chromium against the demo's
// service: every page loads and its charts render with the expected series,
// the group page shows the API's picks, and a promote without the admin
// token is refused (with it, promote and rollback work).
func TestDashboard(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bctx := newBrowser(t, ctx)
	const token = demoToken
	_, base := sharedDemo(t)
	ui := base + "/ui/"
	if err := chromedp.Do(bctx, chromedp.Navigate(ui), chromedp.WaitVisible(chromedp.CSS(`[data-card=model]`))); err != nil {
		t.Fatal(err)
	}

	t.Run("overview", func(t *testing.T) {
		traffic(t, base)
		if *screenshots != "" { // a few refreshes on the traffic chart
			if err := chromedp.Do(bctx, chromedp.Sleep(11*time.Second)); err != nil {
				t.Fatal(err)
			}
		} else {
			goTo(t, bctx, "#/overview?again", `[data-card=model]`)
		}
		if rps := text(t, bctx, `[data-card=rps] .value`); rps == "0.00" {
			t.Errorf("picks per second %s after %d picks", rps, trafficPicks)
		}
		var status struct {
			Products, Groups int
		}
		getJSON(t, base+"/v1/status", &status)
		model, products, groups := text(t, bctx, `[data-card=model] .value`), text(t, bctx, `[data-card=products] .value`), text(t, bctx, `[data-card=groups] .value`)
		if model != "demo-1" || products != commas(status.Products) || groups != commas(status.Groups) || status.Groups == 0 {
			t.Errorf("overview cards: model %q products %q groups %q; the API: %+v", model, products, groups, status)
		}
		if got := seriesOf(t, bctx, "traffic"); !slices.Equal(got, []string{"picks/s", "events/s", "picks p99 (ms)"}) {
			t.Errorf("traffic chart series %v", got)
		}
		shoot(t, bctx, "overview")
	})

	t.Run("experiments", func(t *testing.T) {
		goTo(t, bctx, "#/experiments", `tr[data-key="commission-vs-practice"]`)
		shoot(t, bctx, "experiments")
		var rep struct {
			Decision string `json:"decision"`
			Arms     []struct {
				Name            string
				GMVCents        int64 `json:"gmv_cents"`
				CommissionCents int64 `json:"commission_cents"`
			}
			Metrics  []struct{ Words []string }
			SRMWords string `json:"srm_words"`
		}
		getJSON(t, base+"/v1/experiments/commission-vs-practice/report", &rep)
		goTo(t, bctx, "#/experiments/commission-vs-practice", `[data-decision]`)
		decision, srm, words := text(t, bctx, `[data-decision]`), text(t, bctx, `[data-srm]`), text(t, bctx, `[data-words=metrics]`)
		if !strings.Contains(decision, rep.Decision) || rep.Decision == "" {
			t.Errorf("the page's decision %q is not the stored rule's %q", decision, rep.Decision)
		}
		if srm != rep.SRMWords || !strings.Contains(words, rep.Metrics[0].Words[0]) {
			t.Errorf("SRM %q (want %q); words %q lack %q", srm, rep.SRMWords, words, rep.Metrics[0].Words[0])
		}
		if got := seriesOf(t, bctx, "lift"); !slices.Equal(got, []string{"95% CI", "lift"}) {
			t.Errorf("lift chart series %v", got)
		}
		if points := eval[int](t, bctx, `grouprank.charts.lift.getOption().series[1].data.length`); points != len(rep.Metrics) {
			t.Errorf("lift chart: %d points for %d metrics", points, len(rep.Metrics))
		}
		// money on the page is the API's fen as yuan
		for i, a := range rep.Arms {
			for _, m := range []struct {
				name  string
				cents int64
			}{{"gmv", a.GMVCents}, {"commission", a.CommissionCents}} {
				want := fmt.Sprintf("¥%s.%02d", commas(int(m.cents/100)), m.cents%100)
				if got := text(t, bctx, fmt.Sprintf(`[data-table=arms] tbody tr:nth-child(%d) [data-money=%s]`, i+1, m.name)); got != want || m.cents == 0 {
					t.Errorf("arm %s %s: the page shows %q, the API says %d fen (%s)", a.Name, m.name, got, m.cents, want)
				}
			}
		}
		arms := []string{rep.Arms[0].Name, rep.Arms[1].Name}
		if got := seriesOf(t, bctx, "daily"); !slices.Equal(got, arms) {
			t.Errorf("daily chart series %v, want the arms %v", got, arms)
		}
		shoot(t, bctx, "experiment-report")
	})

	t.Run("groups", func(t *testing.T) {
		g := richestGroup(t, base)
		// an order reported now shows as the group's latest, from the live side
		order := fmt.Sprintf(`{"events":[{"id":"ui-order-1","kind":"order","group":%d,"sku":10000068,"order":77,"quantity":2,"amount_cents":680,"time":%q}]}`,
			g, time.Now().UTC().Format(time.RFC3339))
		if resp, err := http.Post(base+"/v1/events", "application/json", strings.NewReader(order)); err != nil || resp.StatusCode != 200 {
			t.Fatalf("order event: %v %v", err, resp)
		}
		var api struct {
			Items []struct {
				SKU   int64   `json:"sku"`
				Score float64 `json:"score"`
			}
		}
		getJSON(t, fmt.Sprintf("%s/v1/groups/%d/picks?k=10&explain=true&preview=true&objective=commission", base, g), &api)
		goTo(t, bctx, fmt.Sprintf("#/groups/%d?objective=commission", g), `[data-table=picks]`)
		rows := eval[[]map[string]string](t, bctx, `[...document.querySelectorAll("[data-table=picks] tbody tr")].map(r => ({sku: r.dataset.sku, score: r.dataset.score}))`)
		if len(rows) != len(api.Items) || len(rows) == 0 {
			t.Fatalf("the page shows %d picks, the API %d", len(rows), len(api.Items))
		}
		for k, r := range rows {
			if r["sku"] != fmt.Sprint(api.Items[k].SKU) || r["score"] != fmt.Sprint(api.Items[k].Score) {
				t.Errorf("pick %d: page %v, API sku %d score %v", k+1, r, api.Items[k].SKU, api.Items[k].Score)
			}
		}
		if first := text(t, bctx, `[data-table=orders] tbody tr`); !strings.Contains(first, "10000068") || !strings.Contains(first, "live") {
			t.Errorf("the latest order row %q is not the order just reported", first)
		}
		var profile struct {
			Categories []struct{ Name string }
		}
		getJSON(t, fmt.Sprintf("%s/v1/groups/%d", base, g), &profile)
		if got := seriesOf(t, bctx, "categories"); !slices.Equal(got, []string{"share of units"}) {
			t.Errorf("category chart series %v", got)
		}
		if bars := eval[int](t, bctx, `grouprank.charts.categories.getOption().series[0].data.length`); bars != len(profile.Categories) {
			t.Errorf("category chart: %d bars for %d categories", bars, len(profile.Categories))
		}
		shoot(t, bctx, "group")
	})

	t.Run("models", func(t *testing.T) {
		goTo(t, bctx, "#/models", `tr[data-version="demo-2"] button[data-action=promote]`)
		if got := seriesOf(t, bctx, "auc"); len(got) < 2 || got[0] != "conversion model" || !slices.Contains(got, "practice (rating x commission)") {
			t.Errorf("AUC chart series %v: want the model and the baselines", got)
		}
		if got := seriesOf(t, bctx, "reliability"); !slices.Contains(got, "observed") || !slices.Contains(got, "true probability") {
			t.Errorf("reliability chart series %v", got)
		}
		shoot(t, bctx, "models")
		serving := func() string {
			var ms struct{ Serving string }
			getJSON(t, base+"/v1/models", &ms)
			return ms.Serving
		}
		if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`tr[data-version="demo-2"] button[data-action=promote]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-result]`))); err != nil {
			t.Fatal(err)
		}
		msg := text(t, bctx, `[data-result]`)
		if !strings.Contains(msg, "refused") || !strings.Contains(msg, "401") || serving() != "demo-1" {
			t.Fatalf("promote without the token: %q, serving %s", msg, serving())
		}
		if err := chromedp.Do(bctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`sessionStorage.setItem("grouprank.admin", %q); null`, token)),
			chromedp.Click(chromedp.CSS(`tr[data-version="demo-2"] button[data-action=promote]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-result=ok]`))); err != nil {
			t.Fatal(err)
		}
		if s := serving(); s != "demo-2" {
			t.Fatalf("promote with the token: serving %s", s)
		}
		if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`tr[data-version="demo-2"] button[data-action=rollback]`)),
			chromedp.WaitVisible(chromedp.CSS(`tr[data-version="demo-1"] .badge.serving`))); err != nil {
			t.Fatal(err)
		}
		if s := serving(); s != "demo-1" {
			t.Errorf("rollback: serving %s", s)
		}
	})
}

// TestDashboardEmpty: with no snapshot and no experiments every page says so.
func TestDashboardEmpty(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bctx := newBrowser(t, ctx)
	dir := t.TempDir()
	out := &lineWatcher{re: regexp.MustCompile(`dashboard (http://\S+/ui/)`), seen: make(chan string, 1)}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--root", filepath.Join(dir, "snapshots"), "--live", filepath.Join(dir, "live"), "--addr", "127.0.0.1:0"},
			func(string) string { return "" }, out, io.Discard)
	}()
	var ui string
	select {
	case ui = <-out.seen:
	case err := <-done:
		t.Fatalf("serve stopped: %v\n%s", err, out.String())
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(ui)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ hash, want string }{
		{"#/overview", "no snapshot is loaded"},
		{"#/experiments", "No experiments yet"},
		{"#/models", "No model is published yet"},
		{"#/groups/7", "no snapshot loaded"},
	} {
		goTo(t, bctx, c.hash, `.notice`)
		if got := text(t, bctx, `main`); !strings.Contains(got, c.want) {
			t.Errorf("%s says %q, want %q", c.hash, got, c.want)
		}
	}
}

// trafficPicks is how many picks traffic asks for.
const trafficPicks = 300

// traffic sends picks and events, as promoter apps would, for the overview's rates.
func traffic(t *testing.T, base string) {
	t.Helper()
	for k := range trafficPicks {
		resp, err := http.Get(fmt.Sprintf("%s/v1/groups/%d/picks?k=10", base, 1+k%500))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	var evs []string
	for k := range 200 {
		evs = append(evs, fmt.Sprintf(`{"id":"ui-test-%d","kind":"push","group":%d,"sku":10000068,"push":%d,"time":%q}`, k, 1+k, k+1, time.Now().UTC().Format(time.RFC3339)))
	}
	resp, err := http.Post(base+"/v1/events", "application/json", strings.NewReader(`{"events":[`+strings.Join(evs, ",")+`]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("events: %d %s", resp.StatusCode, b)
	}
}

// richestGroup is the group, among the first 60, whose profile spans the
// most categories (the page has something to chart).
func richestGroup(t *testing.T, base string) int {
	best, most := 1, -1
	for g := 1; g <= 60; g++ {
		var p struct {
			Known      bool
			Categories []struct{ Name string }
		}
		getJSON(t, fmt.Sprintf("%s/v1/groups/%d", base, g), &p)
		if p.Known && len(p.Categories) > most {
			best, most = g, len(p.Categories)
		}
	}
	return best
}

// commas formats n as the dashboard does (en-US grouping).
func commas(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// TestDashboardDegenerateReport: a started experiment whose units were
// shown lists but pushed nothing has metrics that cannot be computed; its
// report page still shows the decision and the arms, and says why numbers
// are missing instead of failing.
func TestDashboardDegenerateReport(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bctx := newBrowser(t, ctx)
	dir, _, root := published(t, false)
	live := filepath.Join(dir, "live")
	spec := filepath.Join(dir, "x.json")
	os.WriteFile(spec, []byte(`{"key":"thin","layer":"ranking","planned_days":14,"arms":[{"name":"practice","weight":50,"options":{"objective":"practice"}},
 {"name":"commission","weight":50,"options":{"objective":"commission"}}]}`), 0o644)
	for _, args := range [][]string{{"ab", "create", "--file", spec}, {"ab", "start", "thin"}} {
		if _, stderr, err := runArgs(t, nil, append(args, "--live", live, "--root", root)...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr)
		}
	}
	base, done := startServe(t, ctx, nil, "--root", root, "--live", live, "--addr", "127.0.0.1:0")
	defer func() { cancel(); <-done }() // the service's last checkpoint is written before the directory goes
	for g := 1; g <= 40; g++ {          // lists shown, nothing pushed
		if resp, err := http.Get(fmt.Sprintf("%s/v1/groups/%d/picks?k=3", base, g)); err == nil {
			resp.Body.Close()
		}
	}
	time.Sleep(1500 * time.Millisecond) // the exposure log's background batch
	if err := chromedp.Do(bctx, chromedp.Navigate(base+"/ui/")); err != nil {
		t.Fatal(err)
	}
	goTo(t, bctx, "#/experiments/thin", `[data-decision]`)
	if arms := text(t, bctx, `[data-table=arms]`); !strings.Contains(arms, "practice") || !strings.Contains(arms, "commission") {
		t.Errorf("the arms table: %q", arms)
	}
	if words := text(t, bctx, `main`); !strings.Contains(words, "n/a") {
		t.Errorf("the page does not say the missing numbers are missing: %q", words)
	}
}
