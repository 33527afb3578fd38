package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"grouprank/recommend/client"
)

// writeOrderLog writes a shop's dated order log as a new user has it: text
// ids for orders, groups, buyers and SKUs, no products or groups file. Each
// group buys mostly from one of three sets of items, over 40 days. It
// returns the SKUs each group ordered.
func writeOrderLog(t *testing.T, path string) map[string]map[string]bool {
	t.Helper()
	bought := map[string]map[string]bool{}
	r := rand.New(rand.NewPCG(7, 11))
	var b strings.Builder
	b.WriteString("order,group,buyer,sku,quantity,time\n")
	n := 0
	for g := range 150 {
		kind := g % 3
		for range 4 + r.IntN(8) {
			n++
			item := kind*20 + r.IntN(12)
			if r.Float64() < 0.2 {
				item = r.IntN(60)
			}
			at := time.Date(2026, 9, 1+r.IntN(40), 8, 0, 0, 0, time.UTC)
			group, sku := fmt.Sprintf("g-%d", g), fmt.Sprintf("SKU-%02d", item)
			fmt.Fprintf(&b, "ord-%05x,%s,buyer-%d,%s,%d,%s\n", n*7919, group, r.IntN(400), sku, 1+r.IntN(2), at.Format(time.RFC3339))
			if bought[group] == nil {
				bought[group] = map[string]bool{}
			}
			bought[group][sku] = true
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return bought
}

// TestOrdersOnlyWorld: a dated order log with text ids (orders included)
// and neither products nor groups is imported into a directory that does not
// exist yet, trained, published and ranked, and eval and tune evaluate the
// preference models train chooses from, on the last days.
func TestOrdersOnlyWorld(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "orders.csv")
	bought := writeOrderLog(t, csv)
	world := filepath.Join(dir, "shop", "world")
	if _, stderr, err := runArgs(t, nil, "import", "--table", "orders", "--in", csv, "--out", filepath.Join(world, "orders.parquet"),
		"--ids", filepath.Join(world, "ids.parquet")); err != nil {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	arts, root := filepath.Join(dir, "models"), filepath.Join(dir, "snapshots")
	out, stderr, err := runArgs(t, nil, "train", "--world", world, "--out", arts, "--version", "v1", "--budget", "6")
	if err != nil {
		t.Fatalf("train: %v\n%s", err, stderr)
	}
	for _, want := range []string{"Model learnt from orders alone", "time: the last 7 days"} {
		if !strings.Contains(out, want) {
			t.Errorf("train output lacks %q:\n%s", want, out)
		}
	}
	for _, want := range []string{"no catalogue: the products are the SKUs", "no groups table"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("train's log lacks %q:\n%s", want, stderr)
		}
	}
	ids, err := os.ReadFile(filepath.Join(arts, "v1", "ids.json"))
	if err != nil || !strings.Contains(string(ids), "SKU-") || strings.Contains(string(ids), "ord-") {
		t.Errorf("the artefact's ids should name groups and SKUs, not orders: %v\n%.300s", err, ids)
	}
	if _, stderr, err := runArgs(t, nil, "publish", filepath.Join(arts, "v1"), "--root", root); err != nil {
		t.Fatalf("publish: %v\n%s", err, stderr)
	}
	picks := filepath.Join(dir, "picks.csv")
	if _, stderr, err := runArgs(t, nil, "picks", "--all", "--root", root, "--k", "3", "--out", picks); err != nil {
		t.Fatalf("picks: %v\n%s", err, stderr)
	}
	b, err := os.ReadFile(picks)
	if lines := strings.Split(string(b), "\n"); err != nil || len(lines) < 2 || !strings.HasPrefix(lines[1], "g-") || !strings.Contains(lines[1], ",SKU-") {
		t.Errorf("picks name the user's ids: %v\n%.300s", err, b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	base, done := startServe(t, ctx, nil, "--root", root, "--addr", "127.0.0.1:0", "--live", filepath.Join(dir, "live"))
	checkTogetherReasons(t, base, bought)
	checkNamedEvents(t, ctx, base)
	cancel()
	<-done

	out, stderr, err = runArgs(t, nil, "eval", "--world", world, "--seed", "3")
	if err != nil {
		t.Fatalf("eval: %v\n%s", err, stderr)
	}
	for _, want := range []string{"Test: the last 7 days", "Validation: time: the last 7 days", "(chosen)", "ease", "ials", "graph-filter"} {
		if !strings.Contains(out, want) {
			t.Errorf("eval output lacks %q:\n%s", want, out)
		}
	}
	out, stderr, err = runArgs(t, nil, "tune", "--world", world, "--test-days", "7", "--val-days", "7")
	if err != nil || !strings.Contains(out, "validation: time: the last 7 days") || !strings.Contains(out, "best: ") {
		t.Errorf("tune: %v\n%s\n%s", err, out, stderr)
	}
	// --methods names preference models there.
	if out, stderr, err := runArgs(t, nil, "eval", "--world", world, "--methods", "popular,ials"); err != nil || !strings.Contains(out, "ials") || strings.Contains(out, "| ease") {
		t.Errorf("eval --methods popular,ials: %v\n%s\n%s", err, out, stderr)
	}
	if _, _, err := runArgs(t, nil, "eval", "--world", world, "--methods", "profile"); err == nil || !strings.Contains(err.Error(), "want some of popular") {
		t.Errorf("eval --methods profile on a world without pushes: %v", err)
	}
	// Too short a history for the test window is an error saying so.
	if _, _, err := runArgs(t, nil, "eval", "--world", world, "--test-days", "60"); err == nil || !strings.Contains(err.Error(), "leaves no history") {
		t.Errorf("a test window longer than the history: %v", err)
	}
}

// checkTogetherReasons checks every reason the service at base gives that links a pick
// to an item the group bought against the order log: the group bought it,
// and the counts of groups are the log's.
func checkTogetherReasons(t *testing.T, base string, bought map[string]map[string]bool) {
	t.Helper()
	groupsOf := func(skus ...string) int {
		n := 0
		for _, b := range bought {
			all := true
			for _, s := range skus {
				all = all && b[s]
			}
			if all {
				n++
			}
		}
		return n
	}
	re := regexp.MustCompile(`^本群买过「(SKU-\d+)」，截至10月10日买过它的(\d+)个群中有(\d+)个也买了这件$`)
	quoted := 0
	for g := range 30 {
		group := fmt.Sprintf("g-%d", g)
		code, body := getObject(t, base+"/v1/groups/"+group+"/picks?k=10&explain=true")
		items, _ := body["items"].([]any)
		if code != 200 || len(items) != 10 {
			t.Fatalf("picks for %s: %d %v", group, code, body)
		}
		for _, it := range items {
			it := it.(map[string]any)
			reason, _ := it["reason"].(string)
			if reason == "" {
				continue
			}
			x := re.FindStringSubmatch(reason)
			if x == nil {
				t.Errorf("%s, %s: %q is no statement a reason may make here", group, it["item_id"], reason)
				continue
			}
			quoted++
			pick := it["item_id"].(string)
			n, _ := strconv.Atoi(x[2])
			both, _ := strconv.Atoi(x[3])
			if !bought[group][x[1]] || n != groupsOf(x[1]) || both != groupsOf(x[1], pick) || both < 5 {
				t.Errorf("%s, %s: %q, but the log says: bought %v, %d groups bought %s, %d both", group, pick, reason,
					bought[group][x[1]], groupsOf(x[1]), x[1], groupsOf(x[1], pick))
			}
		}
	}
	if quoted == 0 {
		t.Error("no pick of 30 groups quoted an item bought with it: the check checks nothing")
	}
}

// checkNamedEvents: the service takes events in the user's own ids through
// the client: an order of a group (then no longer among its picks, and the
// first of its orders in its profile, by its own id), a
// member's own order without a group, an order of a group new to the model
// and a cancel that finds its order by the user's order id; an unknown SKU
// is a 400 naming it.
func checkNamedEvents(t *testing.T, ctx context.Context, base string) {
	t.Helper()
	cl := client.New(base, nil)
	before, err := cl.PicksByName(ctx, "g-4", client.PicksOptions{K: 3})
	if err != nil || len(before.Items) != 3 {
		t.Fatalf("picks for g-4: %v %+v", err, before)
	}
	sku := before.Items[0].ItemID
	now := time.Now().Add(-time.Minute)
	evs := []client.NamedEvent{
		{ID: "n1", Kind: "order", Group: "g-4", Buyer: "buyer-7", SKU: sku, Order: "web-0001", Quantity: 1, Time: now},
		{ID: "n2", Kind: "order", Buyer: "buyer-9", SKU: "SKU-01", Order: "web-0002", Quantity: 1, Time: now},
		{ID: "n3", Kind: "order", Group: "g-new", Buyer: "buyer-new", SKU: "SKU-02", Order: "web-0003", Quantity: 2, Time: now},
		{ID: "n4", Kind: "cancel", Group: "g-new", Buyer: "buyer-new", SKU: "SKU-02", Order: "web-0003", Time: now},
	}
	if a, d, err := cl.SendNamedEvents(ctx, evs); err != nil || a != 4 || d != 0 {
		t.Fatalf("named events: %d accepted, %d duplicates, %v", a, d, err)
	}
	after, err := cl.PicksByName(ctx, "g-4", client.PicksOptions{K: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range after.Items {
		if it.ItemID == sku {
			t.Errorf("g-4 just ordered %s, still among its picks %+v", sku, after.Items)
		}
	}
	// The dashboard's view of the group, by the user's id, with the live order.
	code, prof := getObject(t, base+"/v1/groups/g-4")
	orders, _ := prof["orders"].([]any)
	if code != 200 || prof["known"] != true || prof["group_id"] != "g-4" || len(orders) == 0 ||
		orders[0].(map[string]any)["item_id"] != sku || orders[0].(map[string]any)["source"] != "live" {
		t.Errorf("the group's profile by its own id: %d %v", code, prof)
	}
	var ce *client.Error
	_, _, err = cl.SendNamedEvents(ctx, []client.NamedEvent{{ID: "n5", Kind: "order", Group: "g-4", SKU: "SKU-99", Order: "web-0005", Quantity: 1, Time: now}})
	if !errors.As(err, &ce) || ce.Status != 400 || len(ce.Problems) != 1 || !strings.Contains(ce.Problems[0].Error, `sku: "SKU-99" is not in the catalogue`) {
		t.Errorf("an unknown SKU: %v", err)
	}
	_, _, err = cl.SendNamedEvents(ctx, []client.NamedEvent{{ID: "n6", Kind: "cancel", Group: "g-4", SKU: sku, Order: "web-0404", Time: now}})
	if !errors.As(err, &ce) || ce.Status != 400 {
		t.Errorf("a cancel of an order the service never received: %v", err)
	}
}
