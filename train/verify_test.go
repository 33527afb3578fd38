package train

import (
	"encoding/binary"
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
