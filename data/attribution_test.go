package data

import "testing"

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
