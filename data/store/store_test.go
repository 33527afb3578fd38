package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"grouprank/data"
)

func source(version string, groups int) *Source {
	big := bytes.Repeat([]byte("0123456789abcdef"), 3*blobChunk/16+7) // spans four chunks
	return &Source{
		Manifest: data.ModelVersion{Version: version, Created: time.Unix(0, 0).UTC(),
			Windows: data.Windows{From: 0, T1: 1, T2: 2, T3: 3, End: 4}},
		Blobs: map[string][]byte{"big.bin": big, "empty.json": {}, "model.json": []byte(`{"v":"` + version + `"}`)},
		Groups: func(put func(data.GroupID, []byte) error) error {
			for g := 1; g <= groups; g++ {
				if err := put(data.GroupID(g*7), []byte(fmt.Sprintf("group %d of %s", g*7, version))); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

func TestPublishOpenPromoteRollback(t *testing.T) {
	root := t.TempDir()
	ctx := context.Background()
	var seen int64
	if err := Publish(ctx, root, source("a", 5000), true, func(done, total int64) { seen = done }); err != nil {
		t.Fatal(err)
	}
	if seen != 4+1+1+5000+1 {
		t.Errorf("progress ended at %d entries", seen)
	}
	s, err := OpenSnapshot(root, "a")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := s.Blob("big.bin"); err != nil || !bytes.Equal(b, source("a", 0).Blobs["big.bin"]) {
		t.Errorf("big blob: %d bytes, %v", len(b), err)
	}
	if b, err := s.Blob("empty.json"); err != nil || len(b) != 0 {
		t.Errorf("empty blob: %q %v", b, err)
	}
	if _, err := s.Blob("missing"); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("missing blob: %v", err)
	}
	if b, err := s.Group(70); err != nil || string(b) != "group 70 of a" {
		t.Errorf("group 70: %q %v", b, err)
	}
	if _, err := s.Group(71); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("group 71: %v", err)
	}
	n := 0
	s.EachGroup(func(id data.GroupID, rec []byte) error { n++; return nil })
	if n != 5000 || s.Manifest.Version != "a" {
		t.Errorf("%d groups, manifest %+v", n, s.Manifest)
	}
	s.Close()
	if err := Publish(ctx, root, source("a", 1), true, nil); !errors.Is(err, data.ErrConflict) {
		t.Errorf("republishing a version: %v", err)
	}
	if err := Publish(ctx, root, source("../x", 1), true, nil); !errors.Is(err, data.ErrInvalid) {
		t.Errorf("bad version name: %v", err)
	}
	unordered := source("c", 0)
	unordered.Groups = func(put func(data.GroupID, []byte) error) error {
		put(5, nil)
		return put(3, nil)
	}
	if err := Publish(ctx, root, unordered, true, nil); err == nil {
		t.Error("groups out of order: want an error")
	}
	if err := Publish(ctx, root, source("b", 10), false, nil); err != nil {
		t.Fatal(err)
	}
	if v, _ := Current(root); v != "a" {
		t.Errorf("published without promotion, current is %q", v)
	}
	if err := Promote(root, "b"); err != nil {
		t.Fatal(err)
	}
	if v, _ := Current(root); v != "b" {
		t.Errorf("current %q after promote", v)
	}
	if v, err := Rollback(root); err != nil || v != "a" {
		t.Errorf("rollback: %q %v", v, err)
	}
	if _, err := Rollback(root); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("nothing before a: %v", err)
	}
	if pub, _ := Published(root); len(pub) != 2 {
		t.Errorf("published %v (the failed ones must leave nothing)", pub)
	}
	unlock, err := lock(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := Promote(root, "b"); !errors.Is(err, data.ErrConflict) {
		t.Errorf("promote while locked: %v", err)
	}
	unlock()
}

// TestPromoteCrashAtEveryStep: a promote or rollback killed after any of
// its steps leaves a root whose current version and history agree, and
// whose rollback returns to a version that was current.
func TestPromoteCrashAtEveryStep(t *testing.T) {
	root0 := func(t *testing.T) string {
		root := t.TempDir()
		for _, v := range []string{"v1", "v2", "v3"} {
			if err := os.MkdirAll(filepath.Join(root, "snapshots", v), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for _, v := range []string{"v1", "v2"} {
			if err := Promote(root, v); err != nil {
				t.Fatal(err)
			}
		}
		return root
	}
	write := func(t *testing.T, root, name, body string) {
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name         string
		crash        func(t *testing.T, root string) // the files as the killed step left them
		cur, rollsTo string
	}{
		{"promote v3: killed writing HISTORY.tmp", func(t *testing.T, root string) { write(t, root, "HISTORY.tmp", "v1\nv2\nv") }, "v2", "v1"},
		{"promote v3: killed after the HISTORY rename", func(t *testing.T, root string) { write(t, root, "HISTORY", "v1\nv2\nv3\n") }, "v3", "v2"},
		{"promote v3: killed writing CURRENT.tmp", func(t *testing.T, root string) {
			write(t, root, "HISTORY", "v1\nv2\nv3\n")
			write(t, root, "CURRENT.tmp", "v")
		}, "v3", "v2"},
		{"promote v3: done", func(t *testing.T, root string) {
			if err := Promote(root, "v3"); err != nil {
				t.Fatal(err)
			}
		}, "v3", "v2"},
		{"rollback from v2: killed after the HISTORY rename", func(t *testing.T, root string) { write(t, root, "HISTORY", "v1\n") }, "v1", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := root0(t)
			c.crash(t, root)
			cur, err := Current(root)
			h, _ := History(root)
			if err != nil || cur != c.cur || h[len(h)-1] != cur {
				t.Fatalf("current %q (%v), history %v; want %s, the history's last", cur, err, h, c.cur)
			}
			v, err := Rollback(root)
			if c.rollsTo == "" {
				if err == nil {
					t.Fatalf("rollback to %s with nothing before %s", v, cur)
				}
				return
			}
			cur2, _ := Current(root)
			if err != nil || v != c.rollsTo || cur2 != c.rollsTo {
				t.Errorf("rollback: %q %v, then current %q; want %s", v, err, cur2, c.rollsTo)
			}
		})
	}
}

// hashTree is every file of dir (name -> sha256).
func hashTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = fmt.Sprintf("%x", sha256.Sum256(b))
	}
	return out
}

// TestReadOnlyOpenChangesNothing: opening a snapshot whose badger MANIFEST
// is truncated (badger then takes its tables for orphans and deletes them)
// is refused as damaged, and the snapshot's files are byte for byte what
// they were; a good snapshot opened and closed is unchanged too.
func TestReadOnlyOpenChangesNothing(t *testing.T) {
	root := t.TempDir()
	if err := Publish(context.Background(), root, source("a", 3000), true, nil); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "snapshots", "a")
	before := hashTree(t, dir)
	s, err := OpenSnapshot(root, "a")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if after := hashTree(t, dir); !reflect.DeepEqual(before, after) {
		t.Fatalf("opening and closing a good snapshot changed it:\n%v\n%v", before, after)
	}
	if err := os.Truncate(filepath.Join(dir, "MANIFEST"), 10); err != nil {
		t.Fatal(err)
	}
	before = hashTree(t, dir)
	_, err = OpenSnapshot(root, "a")
	if err == nil || !errors.Is(err, data.ErrInvalid) || !strings.Contains(err.Error(), "snapshot a is damaged") {
		t.Errorf("a truncated MANIFEST: %v, want the snapshot refused as damaged", err)
	}
	if after := hashTree(t, dir); !reflect.DeepEqual(before, after) {
		t.Errorf("a failed read-only open changed the snapshot:\n%v\n%v", before, after)
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "snapshots")); len(ents) != 1 {
		t.Errorf("left behind in snapshots/: %v", ents)
	}
}
