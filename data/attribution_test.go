package data

import (
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

func TestAttribute(t *testing.T) {
	h := Hour
	pushes := []Push{
		{ID: 1, Group: 1, SKU: 10, Time: 100 * h},
		{ID: 2, Group: 1, SKU: 10, Time: 110 * h}, // the later push of the same item wins the window
		{ID: 3, Group: 2, SKU: 10, Time: 100 * h},
		{ID: 4, Group: 1, SKU: 11, Time: 100 * h},
	}
	orders := []Order{
		{ID: 1, Group: 1, SKU: 10, Quantity: 1, AmountCents: 500, CommissionCents: 50, Time: 111 * h},                          // window -> push 2
		{ID: 2, Group: 1, SKU: 10, Quantity: 1, AmountCents: 500, CommissionCents: 50, Time: 112 * h, Push: 1},                 // link wins -> push 1
		{ID: 3, Group: 1, SKU: 10, Quantity: 1, AmountCents: 500, CommissionCents: 50, Time: 110*h + 73*h},                     // past 72 h: organic
		{ID: 4, Group: 2, SKU: 10, Quantity: 1, AmountCents: 500, CommissionCents: 50, Time: 101 * h, Status: StatusCancelled}, // push 3, cancelled
		{ID: 5, Group: 1, SKU: 11, Quantity: 1, AmountCents: 900, CommissionCents: 90, Time: 99 * h},                           // before the push: organic
		{ID: 6, Group: 1, SKU: 11, Quantity: 1, AmountCents: 900, CommissionCents: 90, Time: 101 * h, Push: 99},                // dead link -> window -> push 4
		{ID: 7, Group: 1, SKU: 11, Quantity: 1, AmountCents: 900, CommissionCents: 90, Time: 102 * h, Status: StatusRefunded},  // push 4, refunded
		{ID: 8, Group: 2, SKU: 10, Quantity: 1, AmountCents: 500, CommissionCents: 50, Time: 105 * h, Push: 4},                 // link to another group's push: ignored -> window push 3
	}
	out, credit, rep := Attribute(pushes, orders, 0)
	wantCredit := []int32{1, 0, -1, 2, -1, 3, 3, 2}
	for n, c := range credit {
		if c != wantCredit[n] {
			t.Errorf("order %d credited to push index %d, want %d", orders[n].ID, c, wantCredit[n])
		}
	}
	if out[0].Orders != 1 || out[1].Orders != 1 || out[2].Orders != 2 || out[3].Orders != 2 {
		t.Errorf("outcomes %+v", out)
	}
	if out[2].Cancelled != 1 || out[2].Placed != 1 || out[3].Refunded != 1 || out[3].GMVCents != 900 || out[3].CommissionCents != 90 {
		t.Errorf("statuses or money: %+v %+v", out[2], out[3])
	}
	want := AttributionReport{Orders: 8, ByLink: 1, ByWindow: 5, Unmatched: 2, DeadLinks: 1, Cancelled: 1, Refunded: 1}
	if rep != want {
		t.Errorf("report %+v, want %+v", rep, want)
	}
	// A narrower window leaves the 11-hour-late order organic.
	_, credit, _ = Attribute(pushes, orders, 10*h)
	if credit[0] != 1 || credit[3] != 2 {
		t.Errorf("1-hour-late orders should still match in a 10 h window: %v", credit)
	}
}

// TestAttributeMatchesMaps: the indexes give every credit, outcome and count
// the maps of lists they replaced gave (attributeByMaps, kept here as the
// reference), on random logs with ids ascending, shuffled or repeated,
// unknown times and ties; AttributeCounts gives the same credits and counts.
// Two logs are large enough for several blocks of orders matched apart and
// several ranges of groups sorted apart.
func TestAttributeMatchesMaps(t *testing.T) {
	for seed := range uint64(60) {
		r := rand.New(rand.NewPCG(seed, 7))
		np, no, ng := 1+r.IntN(300), r.IntN(400), 8
		if seed < 2 {
			np, no, ng = 30000, 200000, 9000
		}
		pushes := make([]Push, np)
		for i := range pushes {
			pushes[i] = Push{ID: PushID(i + 1), Group: GroupID(1 + r.IntN(ng)), SKU: SKU(1 + r.IntN(5)), Time: Timestamp(r.IntN(50)) * Hour}
			if r.IntN(10) == 0 {
				pushes[i].Time = UnknownTime
			}
		}
		if seed%4 == 3 { // long lists of pushes tied on item and time
			for i := range pushes {
				pushes[i].Group, pushes[i].SKU, pushes[i].Time = GroupID(1+r.IntN(2)), 1, Timestamp(r.IntN(3))*Hour
			}
		}
		switch seed % 3 {
		case 1: // shuffled ids
			r.Shuffle(np, func(a, b int) { pushes[a].ID, pushes[b].ID = pushes[b].ID, pushes[a].ID })
		case 2: // repeated ids
			for i := range pushes {
				pushes[i].ID = PushID(1 + r.IntN(np/2+1))
				if seed%4 == 3 {
					pushes[i].ID = PushID(1 + r.IntN(3))
				}
			}
		}
		orders := make([]Order, no)
		for n := range orders {
			orders[n] = Order{ID: OrderID(n + 1), Group: GroupID(1 + r.IntN(ng+1)), SKU: SKU(1 + r.IntN(6)), Quantity: 1,
				AmountCents: int64(r.IntN(1000)), CommissionCents: int64(r.IntN(100)), Time: Timestamp(r.IntN(60)) * Hour, Status: OrderStatus(r.IntN(3))}
			if r.IntN(10) == 0 {
				orders[n].Time = UnknownTime
			}
			if r.IntN(3) == 0 {
				orders[n].Push = PushID(1 + r.IntN(np+5))
			}
		}
		window := Timestamp(1+r.IntN(20)) * Hour
		out, credit, rep := Attribute(pushes, orders, window)
		wout, wcredit, wrep := attributeByMaps(pushes, orders, window)
		if !slices.Equal(out, wout) || !slices.Equal(credit, wcredit) || rep != wrep {
			t.Fatalf("seed %d: credits %v\nwant %v\nreport %+v\nwant %+v", seed, credit, wcredit, rep, wrep)
		}
		counts, ccredit, crep := AttributeCounts(pushes, orders, window)
		for i, c := range counts {
			if c != wout[i].Orders {
				t.Fatalf("seed %d: AttributeCounts gives push %d %d orders, want %d", seed, i, c, wout[i].Orders)
			}
		}
		if !slices.Equal(ccredit, wcredit) || crep != wrep {
			t.Fatalf("seed %d: AttributeCounts credits or report differ", seed)
		}
	}
}

// attributeByMaps is Attribute as it was written with maps of lists.
func attributeByMaps(pushes []Push, orders []Order, window Timestamp) ([]Outcome, []int32, AttributionReport) {
	byID := make(map[PushID]int32, len(pushes))
	type key struct {
		g GroupID
		s SKU
	}
	byPair := make(map[key][]int32)
	for i := range pushes {
		p := &pushes[i]
		byID[p.ID] = int32(i)
		if p.Time != UnknownTime {
			k := key{p.Group, p.SKU}
			byPair[k] = append(byPair[k], int32(i))
		}
	}
	for _, idx := range byPair {
		sort.SliceStable(idx, func(a, b int) bool {
			pa, pb := &pushes[idx[a]], &pushes[idx[b]]
			if pa.Time != pb.Time {
				return pa.Time < pb.Time
			}
			return pa.ID < pb.ID
		})
	}
	out := make([]Outcome, len(pushes))
	credit := make([]int32, len(orders))
	var rep AttributionReport
	for n := range orders {
		o := &orders[n]
		rep.Orders++
		credit[n] = -1
		if o.Push != NoPush {
			if i, ok := byID[o.Push]; ok {
				p := &pushes[i]
				if p.Group == o.Group && p.SKU == o.SKU && (p.Time == UnknownTime || o.Time == UnknownTime || p.Time <= o.Time) {
					credit[n] = i
					rep.ByLink++
					if p.Time != UnknownTime && o.Time != UnknownTime && o.Time-p.Time > window {
						rep.LateWindow++
					}
				}
			} else {
				rep.DeadLinks++
			}
		}
		if credit[n] < 0 && o.Time != UnknownTime {
			idx := byPair[key{o.Group, o.SKU}]
			k := sort.Search(len(idx), func(a int) bool { return pushes[idx[a]].Time > o.Time }) - 1
			if k >= 0 && o.Time-pushes[idx[k]].Time <= window {
				credit[n] = idx[k]
				rep.ByWindow++
			}
		}
		i := credit[n]
		if i < 0 {
			rep.Unmatched++
			continue
		}
		oc := &out[i]
		oc.Orders++
		switch o.Status {
		case StatusCancelled:
			oc.Cancelled++
			rep.Cancelled++
		case StatusRefunded:
			oc.Refunded++
			rep.Refunded++
		default:
			oc.Placed++
			if o.AmountCents > 0 {
				oc.GMVCents += o.AmountCents
			}
			oc.CommissionCents += o.CommissionCents
		}
	}
	return out, credit, rep
}

// BenchmarkAttribute: the indexes beside the maps of lists they replaced,
// on a log of 2M pushes (ids ascending, as a log's) and 1.5M orders, 60%
// of them carrying a link (b.ReportAllocs: the memory is the point).
func BenchmarkAttribute(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	pushes := make([]Push, 2_000_000)
	for i := range pushes {
		pushes[i] = Push{ID: PushID(i + 1), Group: GroupID(1 + r.IntN(50_000)), SKU: SKU(1 + r.IntN(5_000)), Time: Timestamp(i) * Hour / 600}
	}
	orders := make([]Order, 1_500_000)
	for n := range orders {
		p := &pushes[r.IntN(len(pushes))]
		orders[n] = Order{ID: OrderID(n + 1), Group: p.Group, SKU: p.SKU, Quantity: 1, Time: p.Time + Timestamp(r.IntN(48))*Hour}
		if r.IntN(10) < 6 {
			orders[n].Push = p.ID
		}
	}
	for _, c := range []struct {
		name string
		fn   func([]Push, []Order, Timestamp) ([]Outcome, []int32, AttributionReport)
	}{{"indexes", Attribute}, {"maps", attributeByMaps}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.fn(pushes, orders, DefaultAttributionWindow)
			}
		})
	}
}
