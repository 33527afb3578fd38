package train

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"grouprank/data"
)

// Files and group records are checked against the manifest's sums: one
// changed byte is refused, naming what it is in.
func TestVerifyFilesAndGroups(t *testing.T) {
	recs := map[data.GroupID][]byte{3: []byte("record of group three"), 9: []byte("record of group nine")}
	var bin []byte
	for _, id := range []data.GroupID{3, 9} {
		bin = binary.LittleEndian.AppendUint64(bin, uint64(id))
		bin = binary.LittleEndian.AppendUint32(bin, uint32(len(recs[id])))
		bin = append(bin, recs[id]...)
	}
	items := []byte("item vectors, float32")
	m := &data.ModelVersion{Files: []data.FileSum{sum(ItemsFile, items), sum(GroupsFile, bin)}}
	each := func(fn func(data.GroupID, []byte) error) error {
		for _, id := range []data.GroupID{3, 9} {
			if err := fn(id, recs[id]); err != nil {
				return err
			}
		}
		return nil
	}
	name := func(n string) string { return n }
	if err := VerifyFiles(m, map[string][]byte{ItemsFile: items}, name); err != nil {
		t.Errorf("intact files: %v", err)
	}
	if err := VerifyGroups(m, each, "the group records"); err != nil {
		t.Errorf("intact groups: %v", err)
	}
	bad := append([]byte(nil), items...)
	bad[4] ^= 1
	if err := VerifyFiles(m, map[string][]byte{ItemsFile: bad}, name); err == nil || !strings.Contains(err.Error(), ItemsFile) {
		t.Errorf("a flipped bit in %s: %v", ItemsFile, err)
	}
	if err := VerifyFiles(m, map[string][]byte{ItemsFile: items[:5]}, name); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("a truncated %s: %v", ItemsFile, err)
	}
	recs[9] = []byte("record of group nina")
	if err := VerifyGroups(m, each, "the group records"); err == nil || !strings.Contains(err.Error(), "the group records") {
		t.Errorf("a changed group record: %v", err)
	}
}

// StreamGroups hands over a groups.bin's records as EachGroup does, and
// refuses the file once read when it is not the one the manifest lists: a
// changed byte, a record cut short, bytes past the last record, no file.
func TestStreamGroups(t *testing.T) {
	var bin []byte
	ids := []data.GroupID{2, 5, 11}
	for k, id := range ids {
		rec := []byte(strings.Repeat("r", 3+k*5000)) // the second and third records outgrow the first's buffer
		bin = binary.LittleEndian.AppendUint64(bin, uint64(id))
		bin = binary.LittleEndian.AppendUint32(bin, uint32(len(rec)))
		bin = append(bin, rec...)
	}
	m := &data.ModelVersion{Files: []data.FileSum{sum(GroupsFile, bin)}}
	write := func(b []byte) string {
		dir := t.TempDir()
		if b != nil {
			if err := os.WriteFile(filepath.Join(dir, GroupsFile), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	type rec struct {
		id  data.GroupID
		rec string
	}
	var want, got []rec
	if err := EachGroup(bin, func(id data.GroupID, r []byte) error { want = append(want, rec{id, string(r)}); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := StreamGroups(write(bin), m, func(id data.GroupID, r []byte) error { got = append(got, rec{id, string(r)}); return nil }); err != nil {
		t.Fatalf("intact file: %v", err)
	}
	if !slices.Equal(got, want) || len(got) != len(ids) {
		t.Errorf("got %d records, want %d as EachGroup reads them", len(got), len(want))
	}
	flipped := slices.Clone(bin)
	flipped[len(flipped)-7] ^= 1
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"a changed byte", flipped, "checksum"},
		{"a record cut short", bin[:len(bin)-3], "truncated"},
		{"a header cut short", bin[:len(bin)-10003-12+4], "truncated"},
		{"bytes past the last record", append(slices.Clone(bin), 1, 2, 3), "truncated"},
		{"no file", nil, GroupsFile},
	} {
		err := StreamGroups(write(c.b), m, func(data.GroupID, []byte) error { return nil })
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), GroupsFile) || !errors.Is(err, data.ErrInvalid) {
			t.Errorf("%s: got %v, want an invalid-data error naming %s and saying %q", c.name, err, GroupsFile, c.want)
		}
	}
}
