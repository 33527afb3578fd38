package train

import (
	"bytes"
	"testing"

	"grouprank/data"
	"grouprank/features"
	"grouprank/recommend"
)

// FuzzMembers: a snapshot's members file decodes without panicking; what
// decodes re-encodes to a file that decodes to the same bytes again.
func FuzzMembers(f *testing.F) {
	ms := recommend.NewMembers(map[data.MemberID][]features.Weighted{4: {{ID: 1, Weight: 2}}, 9: {{ID: 0, Weight: 1}}},
		map[data.MemberID][]recommend.MemberOf{4: {{Group: 3, Placed: []features.Weighted{{ID: 1, Weight: 1}}}, {Group: 5}}})
	f.Add(EncodeMembers(ms))
	f.Add([]byte(membersMagic))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := DecodeMembers(b, 4)
		if err != nil {
			return
		}
		enc := EncodeMembers(ms)
		again, err := DecodeMembers(enc, 4)
		if err != nil || !bytes.Equal(EncodeMembers(again), enc) {
			t.Fatalf("%x decodes to members whose file does not decode the same: %v", b, err)
		}
	})
}

// TestMembersFirstLayout: a members file of the first layout (rows alone,
// no magic) still decodes, with no memberships.
func TestMembersFirstLayout(t *testing.T) {
	var b []byte
	b = append(b, 7, 0, 0, 0, 0, 0, 0, 0) // member 7
	b = append(b, 1, 0, 0, 0)             // one entry
	b = append(b, 2, 0, 0, 0, 0, 0, 0x80, 0x3f)
	ms, err := DecodeMembers(b, 3)
	if err != nil || len(ms.Rows[7]) != 1 || ms.Rows[7][0] != (features.Weighted{ID: 2, Weight: 1}) || len(ms.In) != 0 {
		t.Fatalf("first layout: %+v %v", ms, err)
	}
}
