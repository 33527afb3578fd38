package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"grouprank/recommend/service"
	"grouprank/train"
)

// flipBitOf finds needle in one of dir's files and flips one bit in its
// middle; it reports the file it damaged.
func flipBitOf(t *testing.T, dir string, needle []byte) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(p)
		if err != nil || e.IsDir() {
			continue
		}
		if at := bytes.Index(b, needle); at >= 0 {
			b[at+len(needle)/2] ^= 0x10
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			return e.Name()
		}
	}
	t.Fatalf("no file of %s holds the bytes to damage", dir)
	return ""
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDamagedSnapshotRefused: one flipped bit in a published snapshot's item
// vectors or in one group's record, and the snapshot is refused at open
// with what is damaged named; a service asked to promote it keeps serving
// the version it had.
func TestDamagedSnapshotRefused(t *testing.T) {
	dir, arts, root := published(t, true)
	if _, stderr, err := runArgs(t, nil, "publish", filepath.Join(arts, "v2"), "--root", root, "--no-promote"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	_, files, err := train.ReadFiles(filepath.Join(arts, "v2"))
	if err != nil {
		t.Fatal(err)
	}
	items := files[train.ItemsFile]
	for _, c := range []struct {
		name   string
		needle []byte
		want   string
	}{
		{"item vectors", items[len(items)/2 : len(items)/2+64], ".sst"},
		{"a group record", firstGroupRecord(t, files[train.GroupsFile]), ".sst"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := t.TempDir()
			copyDir(t, filepath.Join(root, "snapshots", "v2"), filepath.Join(r, "snapshots", "v2"))
			flipBitOf(t, filepath.Join(r, "snapshots", "v2"), c.needle)
			_, _, err := service.OpenModel(r, "v2")
			if err == nil || !strings.Contains(err.Error(), "snapshot v2") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("a damaged snapshot opened: %v; want an error naming %q", err, c.want)
			}
		})
	}
	// a running service refuses to promote it and keeps serving v1
	flipBitOf(t, filepath.Join(root, "snapshots", "v2"), items[len(items)/2:len(items)/2+64])
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, done := startServe(t, ctx, nil, "--root", root, "--addr", "127.0.0.1:0", "--live", filepath.Join(dir, "live"), "--admin-token", "s3cret")
	req, _ := http.NewRequest("POST", base+"/v1/admin/models/v2/promote", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode < 400 || resp.StatusCode >= 500 || !strings.Contains(string(body), "damaged") || !strings.Contains(string(body), ".sst") ||
		strings.Contains(string(body), root) {
		t.Errorf("promoting a damaged snapshot: %d %s; want a 4xx naming the damaged file and no path", resp.StatusCode, body)
	}
	resp, err = http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var ready map[string]any
	json.NewDecoder(resp.Body).Decode(&ready)
	resp.Body.Close()
	if ready["model_version"] != "v1" {
		t.Errorf("after the refused promote the service serves %v, want v1", ready)
	}
	cancel()
	<-done
	// CURRENT and HISTORY never moved, and the CLI refuses it too
	if _, _, err := runArgs(t, nil, "models", "promote", "v2", "--root", root); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("models promote of a damaged snapshot: %v", err)
	}
	cur, _ := os.ReadFile(filepath.Join(root, "CURRENT"))
	hist, _ := os.ReadFile(filepath.Join(root, "HISTORY"))
	if strings.TrimSpace(string(cur)) != "v1" || strings.Contains(string(hist), "v2") {
		t.Errorf("after refused promotes CURRENT is %q and HISTORY %q; want v1 and no v2", cur, hist)
	}
}

// firstGroupRecord is the record bytes of the first group of a groups.bin.
func firstGroupRecord(t *testing.T, groups []byte) []byte {
	t.Helper()
	n := int(groups[8]) | int(groups[9])<<8 | int(groups[10])<<16 | int(groups[11])<<24
	if n < 16 {
		t.Fatalf("the first group record is %d bytes", n)
	}
	return groups[12 : 12+n]
}
