package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"grouprank/data/jetstream/jstest"
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
	baseA, doneA := startServe(t, ctx, nil, args...)
	baseB, doneB := startServe(t, ctx, nil, args...)
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
	if code, _ := getObject(t, baseB+"/v1/groups/"+fmt.Sprint(a.Groups[0].ID)+"/picks?k=5"); code != 200 {
		t.Errorf("picks from replica B: %d", code)
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
