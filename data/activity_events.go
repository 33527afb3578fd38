package data

import (
	"cmp"
	"math"
	"slices"
)

// ActivityReport counts what ActivityOf made of a stream of events.
type ActivityReport struct {
	Pushes, Orders  int // rows written
	Cancelled       int // orders a cancel event marked cancelled
	UnknownCancels  int // cancel events naming no order among the events
	DuplicatePushes int // push events repeating a push id (the first kept)
	DuplicateOrders int // order events repeating an order id (the first kept)
	UnknownRate     int // orders whose commission rate was unknown (commission 0)
	Ignored         int // exposure and click events: not activity (the exposures table comes from the served lists)
}

// ActivityOf turns the events apps reported to the service into the pushes
// and orders tables training reads (the world's format), so the service's
// own logs can be retrained on. Push events become pushes (id, group, SKU,
// time, the list they were picked from); order events become placed orders
// (the buyer unknown) and a cancel event marks its order cancelled. rate
// gives a SKU's commission rate at an instant (UnknownRate or a negative
// value when not known: the order's commission is then 0 and counted);
// commission is the amount times the rate, rounded. Events are taken in
// the order given; a repeated push or order id keeps its first event.
func ActivityOf(events []Event, rate func(SKU, Timestamp) float64) ([]Push, []Order, ActivityReport) {
	var rep ActivityReport
	var pushes []Push
	var orders []Order
	seenPush := map[PushID]bool{}
	orderAt := map[OrderID]int{}
	var cancels []OrderID
	for k := range events {
		e := &events[k]
		switch e.Kind {
		case EventPush:
			if seenPush[e.Push] {
				rep.DuplicatePushes++
				continue
			}
			seenPush[e.Push] = true
			pushes = append(pushes, Push{ID: e.Push, Group: e.Group, SKU: e.SKU, Time: e.Time, RequestID: e.RequestID})
		case EventOrder:
			if _, ok := orderAt[e.Order]; ok {
				rep.DuplicateOrders++
				continue
			}
			o := Order{ID: e.Order, Group: e.Group, Buyer: e.Buyer, SKU: e.SKU, Quantity: e.Quantity, AmountCents: e.AmountCents, Time: e.Time,
				Status: StatusPlaced, Push: e.Push}
			if r := rate(e.SKU, e.Time); r >= 0 && r <= 1 && e.AmountCents >= 0 {
				o.CommissionCents = int64(math.Round(float64(e.AmountCents) * r))
			} else {
				rep.UnknownRate++
			}
			orderAt[e.Order] = len(orders)
			orders = append(orders, o)
		case EventCancel:
			cancels = append(cancels, e.Order)
		default:
			rep.Ignored++
		}
	}
	for _, id := range cancels { // a cancel may be reported before its order
		n, ok := orderAt[id]
		if !ok {
			rep.UnknownCancels++
			continue
		}
		if orders[n].Status != StatusCancelled {
			orders[n].Status = StatusCancelled
			rep.Cancelled++
		}
	}
	rep.Pushes, rep.Orders = len(pushes), len(orders)
	return pushes, orders, rep
}

// ApplyMembership is the members table ms after the joins and leaves among
// events, applied in time order: a join opens a membership (Joined, unless
// the member is in the group already), a leave closes the open one (Left;
// a leave of someone not in the group changes nothing). Closed rows stay,
// as history. Rows come out sorted by group, member, then joining time.
// Other events are ignored.
func ApplyMembership(ms []Membership, events []Event) []Membership {
	type key struct {
		g GroupID
		m MemberID
	}
	out := slices.Clone(ms)
	open := map[key]int{}
	for k, x := range out {
		if x.Left == UnknownTime {
			open[key{x.Group, x.Member}] = k
		}
	}
	var changes []Event
	for _, e := range events {
		if e.Kind.Membership() {
			changes = append(changes, e)
		}
	}
	slices.SortStableFunc(changes, func(a, b Event) int { return cmp.Compare(a.Time, b.Time) })
	for _, e := range changes {
		k := key{e.Group, e.Buyer}
		at, isOpen := open[k]
		switch {
		case e.Kind == EventJoin && !isOpen:
			open[k] = len(out)
			out = append(out, Membership{Group: e.Group, Member: e.Buyer, Joined: e.Time, Left: UnknownTime})
		case e.Kind == EventLeave && isOpen:
			out[at].Left = e.Time
			delete(open, k)
		}
	}
	slices.SortStableFunc(out, func(a, b Membership) int {
		if c := cmp.Compare(a.Group, b.Group); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Member, b.Member); c != 0 {
			return c
		}
		return cmp.Compare(a.Joined, b.Joined)
	})
	return out
}
