package recommend

import (
	"fmt"
	"testing"

	"grouprank/data"
	"grouprank/features"
)

// BenchmarkLiveMembers: a group's members' row while the service hears
// orders and joins elsewhere (buyers it knows, and group orders naming no
// buyer under a model that credits them): 1,000 groups of 200 members,
// each member also in the next two groups, heard orders in groups 500 to
// 599 and by their members; group 0's row is the snapshot's (unchanged),
// group 500's is not (changed).
func BenchmarkLiveMembers(b *testing.B) {
	const groups, size, since = 1000, 200, data.Timestamp(1_000_000)
	rows := map[data.MemberID][]features.Weighted{}
	in := map[data.MemberID][]MemberOf{}
	for g := range groups {
		for k := range size {
			id := data.MemberID(g*size + k + 1)
			rows[id] = weightedPairs(float32(k%6), 1)
			for h := range 3 {
				in[id] = append(in[id], MemberOf{Group: data.GroupID((g+h)%groups + 1)})
			}
		}
	}
	m := &Model{Ranker: &Ranker{Scorer: &Scorer{in: &Inputs{Cat: sixItems()}}}, fold: &foldIn{since: since, pref: &Preference{Credit: true}}}
	m.Members = NewMembers(rows, in)
	mem := NewPushMemory()
	for g := 500; g < 600; g++ {
		for k := range 5 {
			at := since + data.Timestamp(k+1)
			mem.Hear(&data.Event{ID: fmt.Sprint("u", g, k), Kind: data.EventOrder, Group: data.GroupID(g + 1), Buyer: data.UnknownMember, SKU: 1, Time: at, Order: 1, Quantity: 1})
			mem.Hear(&data.Event{ID: fmt.Sprint("b", g, k), Kind: data.EventOrder, Group: data.GroupID(g + 1), Buyer: data.MemberID(g*size + k + 1), SKU: 2, Time: at, Order: 1, Quantity: 1})
		}
	}
	for _, c := range []struct {
		name    string
		g       data.GroupID
		changed bool
	}{{"unchanged", 1, false}, {"changed", 501, true}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := m.liveMembers(c.g, nil, mem); ok != c.changed {
					b.Fatalf("group %d changed %v, want %v", c.g, ok, c.changed)
				}
			}
		})
	}
}
