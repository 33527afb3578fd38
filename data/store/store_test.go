package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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
