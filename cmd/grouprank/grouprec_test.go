package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"grouprank/data"
	"grouprank/recommend/service"
	"grouprank/train"
)

// groupRecFixture writes a small benchmark in the group-recommendation
// layout with string ids and a planted signal: group g is of type g mod 6
// (items i(4k) to i(4k+3)) and orders three of its type's four items, and
// one item of another type (offset 5 from its type's first). Its test item
// is the fourth of its type, except for every third group: an unpredictable
// item of another type (an odd offset, 7 to 19). Its negatives are the ten
// items at even offsets 4 to 22. One member bought one of the type's items
// alone, the other the test item in half the groups, a random item in the rest.
func groupRecFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var members, train, own, test, neg strings.Builder
	for g := range 120 {
		k := g % 6
		item := func(j int) string { return fmt.Sprintf("i%d", (4*k+j)%24) }
		fmt.Fprintf(&members, "grp%d m%d,m%d\n", g, 2*g, 2*g+1)
		hold := (g / 6) % 4
		for j := range 4 {
			if j != hold {
				fmt.Fprintf(&train, "grp%d %s\n", g, item(j))
			}
		}
		fmt.Fprintf(&train, "grp%d %s\n", g, item(5))
		testItem := item(hold)
		if g%3 == 0 {
			testItem = item(7 + 2*(g%7))
		} else {
			fmt.Fprintf(&train, "grp%d %s\n", g, item(7+2*(g%7))) // every item is in the history
		}
		hint := testItem
		if g%2 == 1 {
			hint = fmt.Sprintf("i%d", (g*5)%24)
		}
		fmt.Fprintf(&own, "m%d %s\nm%d %s\n", 2*g, item((hold+1)%4), 2*g+1, hint)
		fmt.Fprintf(&test, "grp%d %s\n", g, testItem)
		fmt.Fprintf(&neg, "(grp%d,%s)", g, testItem)
		for n := range 10 {
			fmt.Fprintf(&neg, " %s", item(4+2*n))
		}
		neg.WriteString("\n")
	}
	for name, b := range map[string]*strings.Builder{"groupMember.txt": &members, "groupRatingTrain.txt": &train,
		"userRatingTrain.txt": &own, "groupRatingTest.txt": &test, "groupRatingNegative.txt": &neg} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestEvalGroupRec(t *testing.T) {
	world := filepath.Join(t.TempDir(), "w")
	if _, stderr, err := runArgs(t, nil, "import", "grouprec", "--in", groupRecFixture(t), "--out", world); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	js := filepath.Join(t.TempDir(), "r.json")
	out, stderr, err := runArgs(t, nil, "eval", "grouprec", "--world", world, "--budget", "6", "--folds", "1", "--bootstrap", "100", "--json", js)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, m := range []string{"popular", "members", "ease", "graph-filter", "ials", "item-knn", "blend"} {
		if !regexp.MustCompile(`(?m)^\| (\*\*)?` + m + `\b`).MatchString(out) {
			t.Errorf("report lacks a row for %s:\n%s", m, out)
		}
	}
	for _, m := range []string{"protocol 1", "protocol 2"} {
		if !strings.Contains(out, m) {
			t.Errorf("report lacks %q:\n%s", m, out)
		}
	}
	var rep struct {
		Chosen  string
		Methods []struct {
			Method string
			Test   struct{ P1NDCG10, P2NDCG10 float64 } `json:"test"`
		}
	}
	b, _ := os.ReadFile(js)
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	by := map[string]float64{}
	for _, m := range rep.Methods {
		by[m.Method] = m.Test.P2NDCG10
	}
	if rep.Chosen == "popular" || by[rep.Chosen] < 0.5 || by[rep.Chosen] <= by["popular"] {
		t.Errorf("chose %s (full-ranking NDCG@10 %.3f, popular %.3f): the planted types are learnable\n%s", rep.Chosen, by[rep.Chosen], by["popular"], out)
	}
	// By 3 parts at once, each scoring its groups' validation targets and
	// test lines (both protocols), then merged: the same report.
	evalByParts(t, js, "eval", "grouprec", "--world", world, "--budget", "6", "--folds", "1", "--bootstrap", "100")
	for _, bad := range [][]string{
		{"--shard", "0/2"},
		{"--part", "p"},
		{"--shard", "0/2", "--part", "p", "--exchange", "x", "--json", "j"},
		{"--shard", "0/2", "--part", "p", "--exchange", "x", "--root", "r"},
	} {
		if _, _, err := runArgs(t, nil, append([]string{"eval", "grouprec", "--world", world}, bad...)...); err == nil || !strings.Contains(err.Error(), "--") {
			t.Errorf("eval grouprec %q: %v, want a refusal naming the flag", bad, err)
		}
	}
}

// TestOrdersOnlyServes: a world of orders and members only (no pushes, no
// times, no prices) trains, publishes and serves; picks for a group come
// from its planted type, and an objective that needs commission is a 400
// naming the field.
func TestOrdersOnlyServes(t *testing.T) {
	dir := t.TempDir()
	world, arts, root := filepath.Join(dir, "w"), filepath.Join(dir, "models"), filepath.Join(dir, "snapshots")
	if _, stderr, err := runArgs(t, nil, "import", "grouprec", "--in", groupRecFixture(t), "--out", world); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	out, stderr, err := runArgs(t, nil, "train", "--world", world, "--out", arts, "--version", "o1", "--budget", "6", "--folds", "1")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, want := range []string{"Model learnt from orders alone", "conversion model P(order | push): the world has no pushes", "calibration: P(the group orders"} {
		if !strings.Contains(out, want) {
			t.Errorf("train output lacks %q:\n%s", want, out)
		}
	}
	if _, stderr, err := runArgs(t, nil, "publish", filepath.Join(arts, "o1"), "--root", root); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	base, done := startServe(t, ctx, nil, "--root", root, "--addr", "127.0.0.1:0", "--live", filepath.Join(dir, "live"))
	defer func() { cancel(); <-done }() // the service's last checkpoint is written before the directory goes
	get := func(path string) (int, map[string]any) { t.Helper(); return getObject(t, base+path) }
	code, body := get("/v1/groups/grp0/picks?k=3")
	items, _ := body["items"].([]any)
	if code != 200 || len(items) != 3 {
		t.Fatalf("picks: %d %v", code, body)
	}
	first := items[0].(map[string]any)
	if p, _ := first["p"].(float64); p <= 0 || p >= 1 {
		t.Errorf("p = %v, want a probability", first["p"])
	}
	// The user's own ids: grp7 (type 1) has not bought i5, the fourth of its type's items.
	code, body = get("/v1/groups/grp7/picks?k=1")
	items, _ = body["items"].([]any)
	if code != 200 || body["group_id"] != "grp7" || len(items) != 1 || items[0].(map[string]any)["item_id"] != "i5" {
		t.Errorf("picks by the user's own id: %d %v", code, body)
	}
	if code, body := get("/v1/groups/new-group/picks?k=2"); code != 200 || body["cold_start"] != true {
		t.Errorf("a group the model does not know: %d %v", code, body)
	}
	// A new group whose members are known is scored from their own orders:
	// m14 and m16 (of grp7 and grp8) bought i6 (type 1) and i10 (type 2)
	// alone, so the item-item neighbours of those come first.
	near := func(q string) int {
		t.Helper()
		code, body := get("/v1/groups/new-group/picks?k=4" + q)
		items, _ := body["items"].([]any)
		if code != 200 || body["cold_start"] != true || len(items) != 4 {
			t.Fatalf("a new group (%s): %d %v", q, code, body)
		}
		n := 0
		for _, it := range items {
			var i int
			fmt.Sscanf(it.(map[string]any)["item_id"].(string), "i%d", &i)
			if i >= 4 && i < 12 {
				n++
			}
		}
		return n
	}
	if with, without := near("&members=m14,m16,stranger"), near(""); with < 3 || with <= without {
		t.Errorf("a new group with known members: %d of 4 picks of their types (%d without members)", with, without)
	}
	if code, body := get("/v1/groups/new-group/picks?members=" + strings.Repeat("m1,", 1001)); code != 400 || !strings.Contains(fmt.Sprint(body["error"]), "members") {
		t.Errorf("too many members: %d %v", code, body)
	}
	code, body = get("/v1/groups/grp0/picks?k=3&objective=commission")
	if msg, _ := body["error"].(string); code != 400 || !strings.Contains(msg, "objective") || !strings.Contains(msg, "commission") {
		t.Errorf("commission objective without commissions: %d %v", code, body)
	}
}

// TestScorePairsReproducesEval: the published model's scores of each test
// line's item and negatives (score --pairs, the user's own ids) rank the
// test items exactly as eval grouprec --root's published row does in
// protocol 1 (ties: the item earlier in the catalogue first), and as its
// chosen model does.
func TestScorePairsReproducesEval(t *testing.T) {
	dir := t.TempDir()
	src := groupRecFixture(t)
	world, arts, root := filepath.Join(dir, "w"), filepath.Join(dir, "models"), filepath.Join(dir, "snapshots")
	js := filepath.Join(dir, "eval.json")
	for _, args := range [][]string{
		{"import", "grouprec", "--in", src, "--out", world},
		{"train", "--world", world, "--out", arts, "--version", "o1", "--budget", "6", "--folds", "2"},
		{"publish", filepath.Join(arts, "o1"), "--root", root},
		{"eval", "grouprec", "--world", world, "--root", root, "--budget", "6", "--folds", "2", "--bootstrap", "10", "--json", js},
	} {
		if _, stderr, err := runArgs(t, nil, args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr)
		}
	}
	neg, err := os.ReadFile(filepath.Join(src, "groupRatingNegative.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var pairs strings.Builder
	type line struct{ group, item string }
	var lines []line
	for _, l := range strings.Split(strings.TrimSpace(string(neg)), "\n") {
		f := strings.Fields(l)
		g, i, _ := strings.Cut(strings.Trim(f[0], "()"), ",")
		lines = append(lines, line{g, i})
		for _, it := range append([]string{i}, f[1:]...) {
			fmt.Fprintf(&pairs, "%s %s\n", g, it)
		}
	}
	pf := filepath.Join(dir, "pairs.txt")
	os.WriteFile(pf, []byte(pairs.String()), 0o644)
	out, stderr, err := runArgs(t, nil, "score", "--pairs", pf, "--root", root)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	m, snap, err := service.OpenModel(root, "o1")
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	catIndex := func(name string) int32 { // an item's place in the catalogue
		id, ok := m.IDs.Resolve(data.IDSKU, name)
		if !ok {
			t.Fatalf("item %q is not in the model", name)
		}
		return m.Ranker.Scorer.Inputs().Cat.Index[data.SKU(id)]
	}
	rows := strings.Split(strings.TrimSpace(out), "\n")
	var ndcg float64
	for k := range lines {
		block := rows[k*11 : (k+1)*11] // the test item, then its 10 negatives
		s := func(r string) float64 {
			f := strings.Split(r, "\t")
			v, _ := strconv.ParseFloat(f[2], 64)
			return v
		}
		if f := strings.Split(block[0], "\t"); f[0] != lines[k].group || f[1] != lines[k].item {
			t.Fatalf("line %d: %q is not (%s, %s)", k, block[0], lines[k].group, lines[k].item)
		}
		rank := 0
		i0 := catIndex(lines[k].item)
		for _, r := range block[1:] {
			if s(r) > s(block[0]) || (s(r) == s(block[0]) && catIndex(strings.Split(r, "\t")[1]) < i0) {
				rank++
			}
		}
		if rank < 10 {
			ndcg += 1 / math.Log2(float64(rank)+2)
		}
	}
	ndcg /= float64(len(lines))
	var rep struct {
		Chosen  string
		Methods []struct {
			Method string
			Test   struct{ P1NDCG10 float64 } `json:"test"`
		}
		Published *struct {
			Version string
			Test    struct{ P1NDCG10 float64 } `json:"test"`
		}
	}
	b, _ := os.ReadFile(js)
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if p := rep.Published; p == nil || p.Version != "o1" || math.Abs(p.Test.P1NDCG10-ndcg) > 1e-12 { // the same lines, summed in another order
		t.Errorf("score --pairs gives protocol-1 NDCG@10 %.17g; eval --root's published row: %+v", ndcg, p)
	}
	found := false
	for _, m := range rep.Methods {
		if m.Method == rep.Chosen {
			found = true
			if math.Abs(m.Test.P1NDCG10-ndcg) > 1e-9 || ndcg > 0.99 {
				t.Errorf("score --pairs gives protocol-1 NDCG@10 %.6f, eval's chosen %s %.6f (and the fixture must not be solved)", ndcg, rep.Chosen, m.Test.P1NDCG10)
			}
		}
	}
	if !found {
		t.Errorf("eval's chosen method %q is not among its methods", rep.Chosen)
	}
	// A model trained on other data is refused by name.
	other := filepath.Join(dir, "other")
	src2 := rewriteFiles(t, src, func(text string) string { return strings.Replace(text, "m0 ", "m1 ", 1) })
	if _, stderr, err := runArgs(t, nil, "import", "grouprec", "--in", src2, "--out", other); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if _, stderr, err := runArgs(t, nil, "eval", "grouprec", "--world", other, "--root", root, "--budget", "2", "--folds", "1"); err == nil ||
		!strings.Contains(err.Error()+stderr, "model o1 was not trained on "+other) {
		t.Errorf("eval --root with a model of another world: %v\n%s", err, stderr)
	}
	// Model.Scores (every item, into the caller's buffers) is ScoreAll's scores
	n := m.Ranker.Scorer.Inputs().Cat.Len()
	buf, p, q := make([]float64, n), make([]float32, n), make([]float32, n)
	for _, g := range []data.GroupID{1, 2, 3, 1 << 40} { // the last: unknown, a new group
		all, err := m.ScoreAll(g, "")
		if err == nil {
			err = m.Scores(g, "", buf, p, q)
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := range all {
			if all[i].Score != buf[i] {
				t.Fatalf("group %d item %d: Scores %v, ScoreAll %v", g, i, buf[i], all[i].Score)
			}
		}
	}
	if err := m.Scores(1, "", buf[:1], p, q); err == nil {
		t.Error("Scores into a short buffer")
	}
	// A pair listed twice (as score --pairs lists a group's test item when
	// it is another line's negative) gets the score it gets listed once.
	cat := m.Ranker.Scorer.Inputs().Cat
	skus := make([]data.SKU, 0, 2*n)
	for i := range n {
		skus = append(skus, cat.SKUs[i])
	}
	for i := n - 1; i >= 0; i-- {
		skus = append(skus, cat.SKUs[i])
	}
	for _, g := range []data.GroupID{1, 2, 3} {
		twice, err := m.ScorePairs(g, "", skus)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			once, err := m.ScorePairs(g, "", skus[i:i+1])
			if err != nil {
				t.Fatal(err)
			}
			if a, b, c := once[0].Score, twice[i].Score, twice[2*n-1-i].Score; a != b || a != c {
				t.Fatalf("group %d sku %d: listed once %v, twice %v and %v", g, skus[i], a, b, c)
			}
		}
	}
}

// TestUndatedEvalAndTune: eval and tune on a world whose orders carry no
// times cut per-group hold-outs instead of failing for want of a time split.
func TestUndatedEvalAndTune(t *testing.T) {
	world := filepath.Join(t.TempDir(), "w")
	if _, stderr, err := runArgs(t, nil, "import", "grouprec", "--in", groupRecFixture(t), "--out", world); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	tmp := t.TempDir()
	out, stderr, err := runArgs(t, nil, "eval", "--world", world, "--json", filepath.Join(tmp, "whole.json"))
	if err != nil || !strings.Contains(out, "Test: the orders carry no times") || !strings.Contains(out, "(chosen)") {
		t.Errorf("eval on undated orders: %v\n%s\n%s", err, out, stderr)
	}
	out, stderr, err = runArgs(t, nil, "tune", "--world", world)
	if err != nil || !strings.Contains(out, "validation: random:") || !strings.Contains(out, "best: ") {
		t.Errorf("tune on undated orders: %v\n%s\n%s", err, out, stderr)
	}
	// By 3 parts at once, each searching and ranking its groups' share, then
	// merged: the same report but its times.
	parts, merged := evalByParts(t, filepath.Join(tmp, "whole.json"), "eval", "--world", world)
	if !strings.Contains(merged, "Test: the orders carry no times") {
		t.Errorf("merged report:\n%s", merged)
	}
	if _, _, err := runArgs(t, nil, "eval", "merge", parts[0], parts[0], parts[2]); err == nil || !strings.Contains(err.Error(), "given twice") {
		t.Errorf("merge of a part given twice: %v", err)
	}
}

// evalByParts runs args (an evaluation of the preference models) as 3
// parts at once, with different numbers of workers, merges them, and checks
// the merged JSON report against the whole run's, wholeJSON, but for its
// times. It returns the parts' files and the merged report's table.
func evalByParts(t *testing.T, wholeJSON string, args ...string) ([]string, string) {
	t.Helper()
	tmp := t.TempDir()
	var wg sync.WaitGroup
	parts := make([]string, 3)
	for i := range parts {
		parts[i] = filepath.Join(tmp, fmt.Sprintf("part-%d", i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, stderr, err := runArgs(t, nil, append(slices.Clone(args), "--shard", fmt.Sprintf("%d/3", i), "--part", parts[i],
				"--exchange", filepath.Join(tmp, "exchange"), "--workers", fmt.Sprint(1+i%2))...); err != nil {
				t.Errorf("part %d of %q: %v\n%s", i, args, err, stderr)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	mergedJSON := filepath.Join(tmp, "merged.json")
	merged, stderr, err := runArgs(t, nil, append([]string{"eval", "merge", "--json", mergedJSON}, parts...)...)
	if err != nil {
		t.Fatalf("eval merge: %v\n%s", err, stderr)
	}
	var js [2]string
	for k, name := range []string{wholeJSON, mergedJSON} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if js[k], err = untimedJSON(b); err != nil {
			t.Fatal(err)
		}
	}
	if js[0] != js[1] {
		t.Errorf("the merged report of %q differs from the whole eval's beyond its times:\n%s\n%s", args, js[1], js[0])
	}
	return parts, merged
}

// TestMembersReadWhenUsed: the memberships are read by the commands whose
// models use them, and a damaged members file is an error naming it there.
func TestMembersReadWhenUsed(t *testing.T) {
	dir := t.TempDir()
	world := filepath.Join(dir, "w")
	if _, stderr, err := runArgs(t, nil, "import", "grouprec", "--in", groupRecFixture(t), "--out", world); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if err := os.WriteFile(filepath.Join(world, "members.parquet"), []byte("not parquet"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := runArgs(t, nil, "train", "--world", world, "--out", filepath.Join(dir, "models"), "--version", "m1", "--budget", "2", "--folds", "1")
	if err == nil || !strings.Contains(err.Error(), "members.parquet") {
		t.Fatalf("train with a damaged members file: %v", err)
	}
}

// TestProtocol1LeavesOutHistoryNegatives: a negative the group already has
// among its training orders (some public sets sample negatives without
// leaving those out) is left out of protocol 1, as protocol 2 leaves out
// the group's history: every method's protocol-1 figures are those of the
// same set without such negatives, and the report counts them.
func TestProtocol1LeavesOutHistoryNegatives(t *testing.T) {
	clean := groupRecFixture(t)
	dirty := t.TempDir()
	for _, name := range []string{"groupMember.txt", "groupRatingTrain.txt", "userRatingTrain.txt", "groupRatingTest.txt", "groupRatingNegative.txt"} {
		b, err := os.ReadFile(filepath.Join(clean, name))
		if err != nil {
			t.Fatal(err)
		}
		if name == "groupRatingNegative.txt" {
			// every fourth line also names the group's item of offset 5 from
			// its type's first, one of its training orders
			ls := strings.Split(strings.TrimSpace(string(b)), "\n")
			for g := 0; g < len(ls); g += 4 {
				ls[g] += fmt.Sprintf(" i%d", (4*(g%6)+5)%24)
			}
			b = []byte(strings.Join(ls, "\n") + "\n")
		}
		if err := os.WriteFile(filepath.Join(dirty, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	type report struct {
		P1HistoryLines     int `json:"protocol1_lines_with_history_negatives"`
		P1HistoryNegatives int `json:"protocol1_history_negatives_left_out"`
		Methods            []struct {
			Method string
			Test   struct{ P1HR10, P1NDCG10 float64 } `json:"test"`
		}
	}
	eval := func(src string) (report, string) {
		dir := t.TempDir()
		world, js := filepath.Join(dir, "w"), filepath.Join(dir, "r.json")
		if _, stderr, err := runArgs(t, nil, "import", "grouprec", "--in", src, "--out", world); err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		out, stderr, err := runArgs(t, nil, "eval", "grouprec", "--world", world, "--methods", "popular,members,ials",
			"--budget", "3", "--folds", "1", "--bootstrap", "10", "--json", js)
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		var r report
		b, _ := os.ReadFile(js)
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		return r, out
	}
	want, _ := eval(clean)
	got, out := eval(dirty)
	if got.P1HistoryLines != 30 || got.P1HistoryNegatives != 30 || !strings.Contains(out, "30 of those lines name 30 negatives the group already has") {
		t.Errorf("report counts %d lines, %d negatives; want 30 and 30, said:\n%s", got.P1HistoryLines, got.P1HistoryNegatives, out)
	}
	if want.P1HistoryLines != 0 {
		t.Errorf("the clean fixture counts %d lines with history negatives", want.P1HistoryLines)
	}
	if len(got.Methods) != len(want.Methods) || len(got.Methods) == 0 {
		t.Fatalf("methods %d and %d", len(got.Methods), len(want.Methods))
	}
	for k := range want.Methods {
		if got.Methods[k].Method != want.Methods[k].Method || got.Methods[k].Test != want.Methods[k].Test {
			t.Errorf("%s: protocol 1 %+v with history negatives, %+v without", want.Methods[k].Method, got.Methods[k].Test, want.Methods[k].Test)
		}
	}
}

// TestGroupRecWindowsFiles: the same set saved with a byte-order mark and
// CRLF line endings (a spreadsheet or Notepad on Windows) imports and
// evaluates to the same report, its test files included.
func TestGroupRecWindowsFiles(t *testing.T) {
	plain := groupRecFixture(t)
	windows := rewriteFiles(t, plain, func(text string) string { return "\ufeff" + strings.ReplaceAll(text, "\n", "\r\n") })
	args := []string{"--methods", "popular,members,item-knn", "--budget", "2", "--folds", "1", "--bootstrap", "10"}
	if a, b := evalGroupRecReport(t, plain, args...), evalGroupRecReport(t, windows, args...); a != b {
		t.Errorf("reports differ:\n%s\n---\n%s", a, b)
	}
}

// rewriteFiles copies every file of dir, each rewritten by f, to a new
// directory and returns it.
func rewriteFiles(t *testing.T, dir string, f func(text string) string) string {
	t.Helper()
	out := t.TempDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, e.Name()), []byte(f(string(b))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// evalGroupRecReport imports src with import grouprec and returns eval
// grouprec's report with args, without what differs from run to run (the
// world's path, the times taken).
func evalGroupRecReport(t *testing.T, src string, args ...string) string {
	t.Helper()
	world := filepath.Join(t.TempDir(), "w")
	if _, stderr, err := runArgs(t, nil, "import", "grouprec", "--in", src, "--out", world); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	out, stderr, err := runArgs(t, nil, append([]string{"eval", "grouprec", "--world", world}, args...)...)
	if err != nil {
		t.Fatalf("%s: %v\n%s", src, err, stderr)
	}
	return regexp.MustCompile(`(?m)^World \S+|; took [^.]*\.|^Final fits and scoring took .*$`).ReplaceAllString(out, "")
}

// TestGroupRecRepeatedTestLine: a set may hold a (group, item) test line
// twice, each with its negatives line; each negatives line goes to its own
// test line, so protocol 1 counts both.
func TestGroupRecRepeatedTestLine(t *testing.T) {
	src := groupRecFixture(t)
	for _, name := range []string{"groupRatingTest.txt", "groupRatingNegative.txt"} {
		path := filepath.Join(src, name)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(string(b), "\n")
		if err := os.WriteFile(path, append(b, first+"\n"...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	world, js := filepath.Join(dir, "w"), filepath.Join(dir, "r.json")
	if _, stderr, err := runArgs(t, nil, "import", "grouprec", "--in", src, "--out", world); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if _, stderr, err := runArgs(t, nil, "eval", "grouprec", "--world", world, "--methods", "popular",
		"--budget", "1", "--folds", "1", "--bootstrap", "10", "--json", js); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var rep struct {
		TestLines int `json:"test_lines"`
		P1Lines   int `json:"protocol1_lines"`
	}
	b, _ := os.ReadFile(js)
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.TestLines != 121 || rep.P1Lines != 121 {
		t.Errorf("%d test lines, %d with negatives; want 121 and 121", rep.TestLines, rep.P1Lines)
	}
}

// TestEvalGroupRecLineOrder: a set whose files list the same lines in
// another order gives the same report, bootstrap intervals included.
func TestEvalGroupRecLineOrder(t *testing.T) {
	orig := groupRecFixture(t)
	rev := rewriteFiles(t, orig, func(text string) string {
		lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
		slices.Reverse(lines)
		return strings.Join(lines, "\n") + "\n"
	})
	args := []string{"--budget", "4", "--folds", "1", "--bootstrap", "100"}
	if a, b := evalGroupRecReport(t, orig, args...), evalGroupRecReport(t, rev, args...); a != b {
		t.Errorf("the report depends on the files' line order:\n%s\n\nreversed:\n%s", a, b)
	}
}

// TestEvalGroupRecColdGroups: a set that holds whole groups out (their test
// lines but no training line) says how many test lines are for such cold
// groups and how many of them have a member with own orders.
func TestEvalGroupRecColdGroups(t *testing.T) {
	src := groupRecFixture(t)
	edit := func(name string, drop func(line string) bool) {
		path := filepath.Join(src, name)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var kept []string
		for _, l := range strings.SplitAfter(string(b), "\n") {
			if l != "" && !drop(l) {
				kept = append(kept, l)
			}
		}
		if err := os.WriteFile(path, []byte(strings.Join(kept, "")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// groups grp0 to grp5 lose their training lines; grp0's members
	// (m0, m1) their own orders too
	edit("groupRatingTrain.txt", func(l string) bool {
		g, _ := strconv.Atoi(strings.TrimPrefix(strings.Fields(l)[0], "grp"))
		return g < 6
	})
	edit("userRatingTrain.txt", func(l string) bool { f := strings.Fields(l)[0]; return f == "m0" || f == "m1" })
	dir := t.TempDir()
	world, js := filepath.Join(dir, "w"), filepath.Join(dir, "r.json")
	if _, stderr, err := runArgs(t, nil, "import", "grouprec", "--in", src, "--out", world); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	out, stderr, err := runArgs(t, nil, "eval", "grouprec", "--world", world, "--methods", "popular,members",
		"--budget", "1", "--folds", "1", "--bootstrap", "10", "--json", js)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var rep struct {
		Lines           int `json:"test_lines"`
		ColdLines       int `json:"test_lines_of_cold_groups"`
		ColdGroups      int `json:"cold_groups"`
		ColdWithMembers int `json:"cold_groups_with_member_orders"`
	}
	b, _ := os.ReadFile(js)
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Lines != 120 || rep.ColdLines != 6 || rep.ColdGroups != 6 || rep.ColdWithMembers != 5 {
		t.Errorf("%d test lines, %d of %d cold groups, %d of those with member orders; want 120, 6 of 6, 5", rep.Lines, rep.ColdLines, rep.ColdGroups, rep.ColdWithMembers)
	}
	if want := "6 of the 120 test lines are for 6 groups with no training line"; !strings.Contains(out, want) {
		t.Errorf("report lacks %q:\n%s", want, out)
	}
}

// creditFixture writes a set shaped like the check-in benchmarks that list
// each group's choices and members but no member's own record, and test
// groups with no training line: six types of 8 items each (t<k>i<j>) and
// 10 members each (u<k>m<j>); 60 training groups, group g of type g mod 6
// with three of the type's members (overlapping: each member is in about
// three groups) choosing four of the type's items and three of other
// types' (a sure thing would be calibrated to 1, where the service's
// probabilities tie); 12 test groups of
// three members of a type each, never seen in training, and two of the
// type's items as test lines.
func creditFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var members, train, test strings.Builder
	group := func(name string, k, first int) {
		fmt.Fprintf(&members, "%s u%dm%d,u%dm%d,u%dm%d\n", name, k, first%10, k, (first+3)%10, k, (first+7)%10)
	}
	for g := range 60 {
		k, r := g%6, g/6
		group(fmt.Sprintf("grp%d", g), k, r)
		for j := range 4 {
			fmt.Fprintf(&train, "grp%d t%di%d\n", g, k, (r+j)%8)
		}
		for j := range 3 { // and three items of other types
			fmt.Fprintf(&train, "grp%d t%di%d\n", g, (k+1+(g+j)%5)%6, (5*g+3*j)%8)
		}
	}
	for g := range 12 {
		k := g % 6
		name := fmt.Sprintf("new%d", g)
		group(name, k, g/6*5+1)
		fmt.Fprintf(&test, "%s t%di%d\n%s t%di%d\n", name, k, g%8, name, k, (g+3)%8)
	}
	for name, b := range map[string]*strings.Builder{"groupMember.txt": &members, "groupRatingTrain.txt": &train, "groupRatingTest.txt": &test} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestCreditedMembersRankColdGroups: where the groups' orders name no
// buyer and no member has a record of their own, each group's orders are
// credited to its members; the validation (its cold split) chooses to read
// them, and a group with no training line is then ranked by its members'
// other groups where popularity knows nothing of it: in eval grouprec's
// cold lines, by the published model (the same figures), and in the
// service's picks for a new group named by its members.
func TestCreditedMembersRankColdGroups(t *testing.T) {
	dir := t.TempDir()
	world, js := filepath.Join(dir, "w"), filepath.Join(dir, "r.json")
	if _, stderr, err := runArgs(t, nil, "import", "grouprec", "--in", creditFixture(t), "--out", world); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	arts, root := filepath.Join(dir, "models"), filepath.Join(dir, "snapshots")
	out, stderr, err := runArgs(t, nil, "train", "--world", world, "--out", arts, "--version", "c1", "--budget", "12", "--folds", "1")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if want := "members' orders: group orders that name no buyer credited to each of the group's members"; !strings.Contains(out, want) || !strings.Contains(out, "read with them") {
		t.Errorf("train output lacks %q ... read with them:\n%s", want, out)
	}
	if _, stderr, err := runArgs(t, nil, "publish", filepath.Join(arts, "c1"), "--root", root); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	out, stderr, err = runArgs(t, nil, "eval", "grouprec", "--world", world, "--root", root,
		"--budget", "12", "--folds", "1", "--bootstrap", "10", "--json", js)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var rep struct {
		Credited   int `json:"credited_order_weight"`
		ColdLines  int `json:"test_lines_of_cold_groups"`
		WithOrders int `json:"cold_groups_with_member_orders"`
		Selection  struct {
			Credit *struct {
				With     float64 `json:"mean_ndcg10_with_credited_orders"`
				Without  float64 `json:"mean_ndcg10_without_credited_orders"`
				Credited bool    `json:"credited"`
			} `json:"credit"`
		} `json:"selection"`
		chosenAndPublished
	}
	readJSON(t, js, &rep)
	// 60 groups x 7 orders x 3 members
	if rep.Credited != 1260 || rep.ColdLines != 24 || rep.WithOrders != 12 {
		t.Errorf("credited weight %d, %d cold lines, %d cold groups with member orders; want 1260, 24, 12", rep.Credited, rep.ColdLines, rep.WithOrders)
	}
	if c := rep.Selection.Credit; c == nil || !c.Credited || c.With <= c.Without {
		t.Fatalf("the validation's choice of the credited orders: %+v, want them read (better with)\n%s", c, out)
	}
	ndcg := map[string]float64{}
	for _, m := range rep.Methods {
		ndcg[m.Method] = m.Test.P2NDCG10
	}
	if ndcg[rep.Chosen] < 0.3 || ndcg[rep.Chosen] < ndcg["popular"]+0.2 {
		t.Errorf("cold groups' NDCG@10: chosen %s %.4f, popular %.4f; want the members' other groups to rank them\n%s", rep.Chosen, ndcg[rep.Chosen], ndcg["popular"], out)
	}
	if got := rep.Published.Test.P2NDCG10; math.Abs(got-ndcg[rep.Chosen]) > 1e-9 {
		t.Errorf("the published model's NDCG@10 on the cold lines %.6f, the chosen model's %.6f: the service ranks them otherwise\n%s", got, ndcg[rep.Chosen], out)
	}
	if want := "credited to each of the group's members: validation NDCG@10"; !strings.Contains(out, want) {
		t.Errorf("report lacks %q:\n%s", want, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	base, done := startServe(t, ctx, nil, "--root", root, "--addr", "127.0.0.1:0", "--live", filepath.Join(dir, "live"))
	defer func() { cancel(); <-done }()
	ofType := func(q string) int {
		t.Helper()
		code, body := getObject(t, base+"/v1/groups/brand-new/picks?k=5&explain=true"+q)
		items, _ := body["items"].([]any)
		if code != 200 || len(items) != 5 {
			t.Fatalf("picks for a new group (%s): %d %v", q, code, body)
		}
		n := 0
		for _, it := range items {
			pick := it.(map[string]any)
			if strings.HasPrefix(pick["item_id"].(string), "t2i") {
				n++
			}
			// no member has an order of their own: every line of theirs is credited
			if r, _ := pick["reason"].(string); strings.Contains(r, "成员买过") {
				t.Errorf("picks for a new group (%s): reason %q counts members who bought nothing themselves", q, r)
			}
		}
		return n
	}
	if with, without := ofType("&members=u2m1,u2m4,u2m8"), ofType(""); with < 4 || with < without+3 {
		t.Errorf("a new group of type-2 members: %d of 5 picks of their type (%d without members), want 4 or 5", with, without)
	}
	// Orders in grp2 that name no buyer are credited at once to its
	// members (u2m0, u2m3, u2m7), as training credited such orders: the
	// picks for a new group of u2m0 follow (its members' row now leans on
	// an item of another type; the lines are recommend's
	// TestLiveMembersCredit); one of u2m1, never in grp2, is as it was.
	picks := func(members string) []string {
		t.Helper()
		code, body := getObject(t, base+"/v1/groups/brand-new/picks?k=5&members="+members)
		items, _ := body["items"].([]any)
		if code != 200 || len(items) != 5 {
			t.Fatalf("picks for a new group of %s: %d %v", members, code, body)
		}
		var ids []string
		for _, it := range items {
			ids = append(ids, it.(map[string]any)["item_id"].(string))
		}
		return ids
	}
	before0, before1 := picks("u2m0"), picks("u2m1")
	const item = "t4i5"
	now := time.Now().UTC().Format(time.RFC3339)
	var evs []string
	for k := range 3 {
		evs = append(evs, fmt.Sprintf(`{"id":"unnamed%d","kind":"order","group":"grp2","sku":%q,"order":%d,"quantity":100,"amount_cents":0,"time":%q}`, k, item, k+1, now))
	}
	resp, err := http.Post(base+"/v1/events", "application/json", strings.NewReader(`{"events":[`+strings.Join(evs, ",")+`]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST /v1/events: %d", resp.StatusCode)
	}
	if after := picks("u2m0"); slices.Equal(after, before0) {
		t.Errorf("u2m0's new group after grp2's orders of %s that name no buyer: %v, as before", item, after)
	}
	if after := picks("u2m1"); !slices.Equal(after, before1) {
		t.Errorf("u2m1's new group changed with grp2's orders: %v, before %v", after, before1)
	}
}

// TestGroupRecDatedSet: a set shipped as .dat files with a rating and a
// time on each line (creditFixture's lines, an hour apart, one more line
// rated 0) imports dated, and eval grouprec validates it as train does, on
// the last days (--split auto), where the published model ranks the test
// lines as the chosen one does.
func TestGroupRecDatedSet(t *testing.T) {
	const t0 = 1_600_000_000 // Unix seconds
	dat := datedFixture(t, func(k int) int64 { return t0 + 3600*int64(k) })
	dir := t.TempDir()
	world, js := filepath.Join(dir, "w"), filepath.Join(dir, "r.json")
	out, stderr, err := runArgs(t, nil, "import", "grouprec", "--in", dat, "--out", world)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(out, `"Dated": true`) || !strings.Contains(out, `"NotChosen": 1`) {
		t.Errorf("import report: %s", out)
	}
	arts, root := filepath.Join(dir, "models"), filepath.Join(dir, "snapshots")
	if _, stderr, err := runArgs(t, nil, "train", "--world", world, "--out", arts, "--version", "d1", "--budget", "6"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if _, stderr, err := runArgs(t, nil, "publish", filepath.Join(arts, "d1"), "--root", root); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	out, stderr, err = runArgs(t, nil, "eval", "grouprec", "--world", world, "--root", root, "--budget", "6", "--bootstrap", "10", "--json", js)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var rep struct {
		Selection struct {
			Split string `json:"split"`
		} `json:"selection"`
		chosenAndPublished
	}
	readJSON(t, js, &rep)
	if !strings.HasPrefix(rep.Selection.Split, "time: the last 7 days") {
		t.Errorf("validation split %q, want the last days'", rep.Selection.Split)
	}
	for _, m := range rep.Methods {
		if m.Method == rep.Chosen && math.Abs(m.Test.P2NDCG10-rep.Published.Test.P2NDCG10) > 1e-9 {
			t.Errorf("published P2 NDCG@10 %.6f, chosen (%s) %.6f\n%s", rep.Published.Test.P2NDCG10, rep.Chosen, m.Test.P2NDCG10, out)
		}
	}
	if _, stderr, err := runArgs(t, nil, "eval", "grouprec", "--world", world, "--split", "sideways"); err == nil || !strings.Contains(stderr+err.Error(), "--split") {
		t.Errorf("--split sideways: %v %s", err, stderr)
	}
}

// chosenAndPublished is the part of eval grouprec's JSON report naming the
// chosen method, each method's protocol-2 NDCG@10 and the published model's.
type chosenAndPublished struct {
	Chosen  string `json:"chosen"`
	Methods []struct {
		Method string `json:"method"`
		Test   struct{ P2NDCG10 float64 }
	} `json:"methods"`
	Published struct {
		Test struct{ P2NDCG10 float64 }
	} `json:"published"`
}

// readJSON decodes the JSON file path into v.
func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// datedFixture is creditFixture shipped as .dat files with a rating and a
// time on each line: training line k (in the file's order, group by group)
// at at(k) Unix seconds, the test lines after them all, and one more
// training line rated 0.
func datedFixture(t *testing.T, at func(k int) int64) string {
	t.Helper()
	src, dat := creditFixture(t), t.TempDir()
	last := int64(0)
	for _, f := range []string{"groupMember", "groupRatingTrain", "groupRatingTest"} {
		b, err := os.ReadFile(filepath.Join(src, f+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		for k, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			switch f {
			case "groupMember":
				out.WriteString(l + "\n")
			case "groupRatingTrain":
				last = max(last, at(k))
				fmt.Fprintf(&out, "%s 1 %d\n", l, at(k))
			default:
				fmt.Fprintf(&out, "%s 1 %d\n", l, last+86400)
			}
		}
		if f == "groupRatingTrain" {
			fmt.Fprintf(&out, "grp0 t5i5 0 %d\n", at(0))
		}
		if err := os.WriteFile(filepath.Join(dat, f+".dat"), []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dat
}

// TestTimeSplitSlowTail: where the last --val-days hold few of the
// groups' order lines (here 5 of 420, all of one group), train's time split
// reaches back until it holds half the random split's share of them, and
// says so, so that the choice rests on more than one group.
func TestTimeSplitSlowTail(t *testing.T) {
	const t0 = 1_600_000_000
	dat := datedFixture(t, func(k int) int64 {
		if k >= 415 {
			return t0 + 30*86400 + int64(k)
		}
		return t0 + 60*int64(k)
	})
	dir := t.TempDir()
	world, arts := filepath.Join(dir, "w"), filepath.Join(dir, "models")
	if _, stderr, err := runArgs(t, nil, "import", "grouprec", "--in", dat, "--out", world); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if _, stderr, err := runArgs(t, nil, "train", "--world", world, "--out", arts, "--version", "s1", "--budget", "2"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var rep struct {
		Selection struct {
			Split  string `json:"split"`
			Groups int    `json:"validation_groups"`
		} `json:"selection"`
	}
	readJSON(t, filepath.Join(arts, "s1", train.ReportFile), &rep)
	if !strings.Contains(rep.Selection.Split, "reaching back to hold 10% of the groups' order lines") || rep.Selection.Groups < 5 {
		t.Errorf("validation: %q over %d groups, want a window reaching back over 5 groups or more", rep.Selection.Split, rep.Selection.Groups)
	}
	// eval's test window reaches back alike, and tests on more than one group
	out, stderr, err := runArgs(t, nil, "eval", "--world", world, "--test-days", "7", "--methods", "popular,item-knn", "--json", filepath.Join(dir, "eval.json"))
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var ev struct {
		Test  string `json:"test"`
		Lines int    `json:"test_lines"`
	}
	readJSON(t, filepath.Join(dir, "eval.json"), &ev)
	if !strings.Contains(out, "reaching back to hold 10% of the groups' order lines") || ev.Lines < 20 {
		t.Errorf("eval's test window of %d lines (%q), want one reaching back over 20 lines or more:\n%s", ev.Lines, ev.Test, out)
	}
}
