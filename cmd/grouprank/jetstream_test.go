package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"grouprank/data/jetstream"
	"grouprank/data/jetstream/jstest"
	"grouprank/data/parquetio"
	"grouprank/train"
)

// TestServeOnJetStream: two service replicas share one JetStream live log
// (serve --live nats://...): events acknowledged by either are exported
// once each, an event sent to both is stored once, and a replica restarted
// on the log starts again (from the checkpoint its shutdown wrote).
func TestServeOnJetStream(t *testing.T) {
	cl, err := jstest.Start(t.TempDir(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Shutdown()
	dir, _, root := published(t, false)
	a, err := train.ReadArtefact(filepath.Join(dir, "artefacts", "v1"))
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--root", root, "--addr", "127.0.0.1:0", "--live", cl.URL(), "--nats-replicas", "1"}
	ctx, cancel := context.WithCancel(context.Background())
	token := map[string]string{"GROUPRANK_SERVE_ADMIN_TOKEN": "s3cret"}
	baseA, doneA := startServe(t, ctx, token, args...)
	baseB, doneB := startServe(t, ctx, token, args...)
	now := time.Now().UTC()
	post := func(base string, ids []string) {
		t.Helper()
		var evs []string
		for k, id := range ids {
			evs = append(evs, fmt.Sprintf(`{"id":%q,"kind":"push","group":%d,"sku":%d,"push":%d,"time":%q}`, id, a.Groups[k%len(a.Groups)].ID,
				a.Catalog[k%len(a.Catalog)].SKU, 1000+len(id)*100+k, now.Add(-time.Duration(k)*time.Second).Format(time.RFC3339)))
		}
		resp, err := http.Post(base+"/v1/events", "application/json", strings.NewReader(`{"events":[`+strings.Join(evs, ",")+`]}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("POST %s/v1/events: %d", base, resp.StatusCode)
		}
	}
	var want []string
	for b := range 4 {
		var ids []string
		for k := range 25 {
			ids = append(ids, fmt.Sprintf("r%d-%d", b, k))
		}
		post([]string{baseA, baseB}[b%2], ids)
		want = append(want, ids...)
	}
	post(baseB, want[:25]) // sent to A before
	// A push accepted by A reaches B's memory: B's picks for the group
	// leave the pushed item out (the recent-push filter) once B's follower
	// has read it from the log.
	g := a.Groups[3].ID
	top := func(base string) string {
		t.Helper()
		code, body := getObject(t, base+"/v1/groups/"+fmt.Sprint(g)+"/picks?k=5&preview=true")
		items, _ := body["items"].([]any)
		if code != 200 || len(items) == 0 {
			t.Fatalf("picks from %s: %d %v", base, code, body)
		}
		return fmt.Sprint(int64(items[0].(map[string]any)["sku"].(float64)))
	}
	for _, base := range []string{baseA, baseB} {
		if code, body := getObject(t, base+"/readyz"); code != 200 {
			t.Errorf("%s/readyz: %d %v", base, code, body)
		}
	}
	sku := top(baseB)
	ev := fmt.Sprintf(`{"events":[{"id":"cross","kind":"push","group":%d,"sku":%s,"push":99999,"time":%q}]}`, g, sku, now.Format(time.RFC3339))
	resp, err := http.Post(baseA+"/v1/events", "application/json", strings.NewReader(ev))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("the push to replica A: %d", resp.StatusCode)
	}
	want = append(want, "cross")
	deadline := time.Now().Add(10 * time.Second)
	for _, base := range []string{baseB, baseA} { // A hears its own events from the log too
		for top(base) == sku {
			if time.Now().After(deadline) {
				t.Fatalf("%s still ranks sku %s first 10 s after replica A accepted its push", base, sku)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// An experiment created and started through replica A assigns groups
	// on replica B too (B rereads the experiments every few seconds).
	admin := func(path, body string) {
		t.Helper()
		req, _ := http.NewRequest("POST", baseA+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer s3cret")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 && resp.StatusCode != 201 {
			t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
		}
	}
	def, err := os.ReadFile("../../docs/experiments/commission-vs-practice.json")
	if err != nil {
		t.Fatal(err)
	}
	admin("/v1/admin/experiments", string(def))
	admin("/v1/admin/experiments/commission-vs-practice/start", "")
	deadline = time.Now().Add(10 * time.Second)
	for {
		_, body := getObject(t, baseB+"/v1/groups/"+fmt.Sprint(g)+"/picks?k=5&preview=true")
		if body["experiment"] == "commission-vs-practice" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica B does not assign the experiment started through A 10 s later: %v", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	mresp, err := http.Get(baseB + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	if !strings.Contains(string(metrics), "\ngrouprank_live_follow_lag_events 0\n") {
		t.Errorf("replica B's /metrics lacks a zero follow lag:\n%s", metrics)
	}
	cancel()
	for _, done := range []<-chan error{doneA, doneB} {
		if err := <-done; err != nil {
			t.Fatalf("serve after interrupt: %v", err)
		}
	}
	exportedOnce(t, []string{"--live", cl.URL(), "--nats-replicas", "1"}, now.Add(-time.Hour), want)
	// A replica started again on the log serves (its memory from the
	// checkpoint the shutdown wrote and the events after it).
	ctx2, cancel2 := context.WithCancel(context.Background())
	base, done := startServe(t, ctx2, nil, args...)
	if code, body := getObject(t, base+"/readyz"); code != 200 || body["model_version"] != "v1" {
		t.Errorf("restarted replica: readyz %d %v", code, body)
	}
	cancel2()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestServeFollowsClusterModel: publish --root nats://... uploads the
// snapshot and moves the cluster's current model; a replica serving
// --root nats://... fetches it into its cache and swaps to each new
// current version without a restart.
func TestServeFollowsClusterModel(t *testing.T) {
	cl, err := jstest.Start(t.TempDir(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Shutdown()
	_, arts := sharedFixtures(t)
	publish := func(v string) (string, error) {
		out, stderr, err := runArgs(t, nil, "publish", filepath.Join(arts, v), "--root", cl.URL(), "--nats-replicas", "1")
		if err != nil {
			return stderr, err
		}
		return out, nil
	}
	if out, err := publish("v1"); err != nil || !strings.Contains(out, "v1: current") {
		t.Fatalf("publish v1 to the cluster: %v %s", err, out)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	base, done := startServe(t, ctx, nil, "--root", cl.URL(), "--nats-replicas", "1", "--snapshot-cache", filepath.Join(dir, "cache"),
		"--live", filepath.Join(dir, "live"), "--addr", "127.0.0.1:0")
	if code, body := getObject(t, base+"/readyz"); code != 200 || body["model_version"] != "v1" {
		t.Fatalf("readyz: %d %v", code, body)
	}
	if out, err := publish("v2"); err != nil || !strings.Contains(out, "v2: current") {
		t.Fatalf("publish v2 to the cluster: %v %s", err, out)
	}
	waitReady(t, base, 200, "v2")
	if code, body := getObject(t, base+"/v1/groups/5/picks?k=3"); code != 200 || body["model_version"] != "v2" {
		t.Errorf("picks after the swap: %d %v", code, body)
	}
	if _, err := publish("v2"); err == nil || !strings.Contains(err.Error(), "already uploaded") {
		t.Errorf("publishing v2 again: %v", err)
	}

	// models list / rollback / promote act on the cluster; the replica follows
	models := func(args ...string) (string, error) {
		out, stderr, err := runArgs(t, nil, append(append([]string{"models"}, args...), "--root", cl.URL(), "--nats-replicas", "1")...)
		if err != nil {
			return stderr, err
		}
		return out, nil
	}
	if out, err := models("list"); err != nil || !regexp.MustCompile(`(?m)^\*\s+v2\s+current`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^\s+v1\s+published`).MatchString(out) {
		t.Errorf("models list on the cluster: %v\n%s", err, out)
	}
	if out, err := models("rollback"); err != nil || out != "v1: current\n" {
		t.Fatalf("models rollback: %v %s", err, out)
	}
	waitReady(t, base, 200, "v1")
	if out, err := models("promote", "v2"); err != nil || out != "v2: current\n" {
		t.Fatalf("models promote v2: %v %s", err, out)
	}
	waitReady(t, base, 200, "v2")

	// a current model no replica can open: the running replica keeps v2 and
	// says why; a fresh replica stays unready until a good one is current
	conn, err := jetstream.Open(context.Background(), cl.URL(), jetstream.Options{Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cms, err := conn.Models(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "MANIFEST"), []byte("not a badger directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cms.Upload(context.Background(), "v3", bad); err != nil {
		t.Fatal(err)
	}
	if _, err := models("promote", "v3"); err == nil {
		t.Error("models promote put a snapshot that does not open in service")
	}
	if err := cms.SetCurrent(context.Background(), "v3"); err != nil {
		t.Fatal(err)
	}
	body := waitReady(t, base, 503, "v2")
	if why, _ := body["error"].(string); !strings.Contains(why, "v3") {
		t.Errorf("readyz does not say why v3 is not in service: %v", body)
	}
	if code, body := getObject(t, base+"/v1/groups/5/picks?k=3"); code != 200 || body["model_version"] != "v2" {
		t.Errorf("picks while v3 cannot be put in service: %d %v", code, body)
	}
	fresh, freshDone := startServe(t, ctx, nil, "--root", cl.URL(), "--nats-replicas", "1", "--snapshot-cache", filepath.Join(dir, "cache2"),
		"--live", filepath.Join(dir, "live2"), "--addr", "127.0.0.1:0")
	if code, body := getObject(t, fresh+"/readyz"); code != 503 || !strings.Contains(fmt.Sprint(body), "v3") {
		t.Errorf("a fresh replica while the current model is broken: %d %v", code, body)
	}
	if code, _ := getObject(t, fresh+"/v1/groups/5/picks?k=3"); code != 503 {
		t.Errorf("a fresh replica with no model answered picks %d", code)
	}
	if out, err := models("promote", "v1"); err != nil || out != "v1: current\n" {
		t.Fatalf("models promote v1: %v %s", err, out)
	}
	waitReady(t, base, 200, "v1")
	waitReady(t, fresh, 200, "v1")
	// batch picks from the cluster's current model
	out := filepath.Join(dir, "picks.parquet")
	if _, stderr, err := runArgs(t, nil, "picks", "--all", "--root", cl.URL(), "--nats-replicas", "1", "--snapshot-cache", filepath.Join(dir, "pcache"),
		"--out", out, "--k", "3"); err != nil {
		t.Fatalf("picks --all --root nats://...: %v\n%s", err, stderr)
	}
	if rows, err := parquetio.ReadFile(out, parquetio.Picks); err != nil || len(rows) == 0 || rows[0].ModelVersion != "v1" {
		t.Errorf("picks from the cluster's model: %d rows, %v", len(rows), err)
	}
	cancel()
	for _, d := range []<-chan error{done, freshDone} {
		if err := <-d; err != nil {
			t.Fatal(err)
		}
	}
}

// waitReady waits up to 10 s for base's /readyz to answer code with
// model_version v, and returns its body.
func waitReady(t *testing.T, base string, code int, v string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, body := getObject(t, base+"/readyz")
		if got == code && body["model_version"] == v {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz still %d %v after 10 s, want %d with model %s", got, body, code, v)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
