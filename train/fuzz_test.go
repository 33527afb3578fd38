package train

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
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
	ms.Credited = map[data.MemberID][]features.Weighted{4: {{ID: 1, Weight: 1}}}
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

// TestMembersSecondLayout: a members file of the second layout (rows and
// memberships, no credited parts) still decodes, nothing credited.
func TestMembersSecondLayout(t *testing.T) {
	b := []byte(membersMagicGroups)
	b = append(b, 7, 0, 0, 0, 0, 0, 0, 0) // member 7
	b = append(b, 1, 0, 0, 0)             // one entry
	b = append(b, 2, 0, 0, 0, 0, 0, 0x80, 0x3f)
	b = append(b, 1, 0, 0, 0)             // one group
	b = append(b, 3, 0, 0, 0, 0, 0, 0, 0) // group 3
	b = append(b, 0, 0, 0, 0)             // nothing placed there
	ms, err := DecodeMembers(b, 3)
	if err != nil || len(ms.Rows[7]) != 1 || len(ms.In[7]) != 1 || ms.In[7][0].Group != 3 || ms.Credited != nil {
		t.Fatalf("second layout: %+v %v", ms, err)
	}
}

// FuzzPreference: a snapshot's preference file decodes without panicking
// or accepting a malformed matrix; what decodes re-encodes to a file that
// decodes to the same bytes again.
func FuzzPreference(f *testing.F) {
	m, err := recommend.NewItemItem(3, func(j int) ([]int32, []float32) {
		return [][]int32{{1, 2}, nil, {0}}[j], [][]float32{{0.5, -1}, nil, {2}}[j]
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(EncodePreference(&recommend.Preference{ItemItem: m, Prior: []float32{1, 2, 3}}))
	f.Add(EncodePreference(&recommend.Preference{Prior: []float32{1}}))
	f.Add([]byte(prefMagic))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodePreference(b, 4)
		if err != nil {
			return
		}
		if p.ItemItem != nil {
			if err := p.ItemItem.Check(); err != nil {
				t.Fatalf("%x decodes to a malformed matrix: %v", b, err)
			}
		}
		enc := EncodePreference(p)
		again, err := DecodePreference(enc, 4)
		if err != nil || !bytes.Equal(EncodePreference(again), enc) {
			t.Fatalf("%x decodes to a preference whose file does not decode the same: %v", b, err)
		}
	})
}

// TestPreferenceFirstLayout: a preference file of the first layout (a dense
// N x N matrix, no magic) still decodes, its zeros not stored.
func TestPreferenceFirstLayout(t *testing.T) {
	var b []byte
	for _, v := range []uint32{2, 1} { // N = 2, one prior
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	for _, v := range []float32{0, 0.5, -2, 0, 7} { // (0,1) = 0.5, (1,0) = -2, prior 7
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	p, err := DecodePreference(b, 2)
	if err != nil {
		t.Fatal(err)
	}
	if p.ItemItem.NNZ() != 2 || p.ItemItem.At(0, 1) != 0.5 || p.ItemItem.At(1, 0) != -2 || p.ItemItem.At(0, 0) != 0 || !slices.Equal(p.Prior, []float32{7}) {
		t.Fatalf("first layout: %+v %+v", p.ItemItem, p.Prior)
	}
	if _, err := DecodePreference(b[:len(b)-1], 2); err == nil {
		t.Error("a truncated file was accepted")
	}
}

// FuzzTogether: a snapshot's together file decodes without panicking or
// accepting tables that disagree; what decodes re-encodes to the same bytes.
func FuzzTogether(f *testing.F) {
	f.Add(EncodeTogether(&recommend.Together{Groups: []int32{3, 2, 0, 0}, Ptr: []int64{0, 1, 2, 2, 2}, Col: []int32{1, 0}, Both: []int32{2, 2}}))
	f.Add([]byte(togetherMagic))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		tg, err := DecodeTogether(b, 4)
		if err != nil {
			return
		}
		if err := tg.Check(); err != nil {
			t.Fatalf("%x decodes to a malformed table: %v", b, err)
		}
		for i := range int32(4) {
			for j := range int32(4) {
				tg.Count(i, j)
			}
		}
		if enc := EncodeTogether(tg); !bytes.Equal(enc, b) {
			t.Fatalf("%x decodes to a table that encodes to %x", b, enc)
		}
	})
}
