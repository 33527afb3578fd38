package data

import (
	"fmt"
	"math"
	"time"
)

// EventKind is what an event records.
type EventKind uint8

// The kinds of live events.
const (
	EventExposure EventKind = iota + 1 // an item shown in a list (RequestID, Rank)
	EventPush                          // an item posted into a group (Push)
	EventClick                         // a member opened a pushed link (Push)
	EventOrder                         // an order (Order, Push when link-tracked, Quantity, AmountCents)
	EventCancel                        // an order cancelled (Order)
	EventJoin                          // a member joined a group (Buyer names the member)
	EventLeave                         // a member left a group (Buyer names the member)
)

var eventNames = [...]string{"", "exposure", "push", "click", "order", "cancel", "join", "leave"}

// Membership reports whether the event is a join or a leave.
func (k EventKind) Membership() bool { return k == EventJoin || k == EventLeave }

func (k EventKind) String() string {
	if int(k) < len(eventNames) && k > 0 {
		return eventNames[k]
	}
	return fmt.Sprintf("event(%d)", uint8(k))
}

// ParseEventKind reads a kind as String writes it.
func ParseEventKind(s string) (EventKind, error) {
	k, err := parseEnum[EventKind](s, eventNames[:], "event kind")
	if err == nil && k == 0 {
		return 0, fmt.Errorf("%w: event kind is empty", ErrInvalid)
	}
	return k, err
}

// Event is one thing that happened, as apps report it live. ID makes
// reporting idempotent: the same ID twice is one event.
type Event struct {
	ID          string    // client-chosen, unique per event; 1-128 bytes
	Kind        EventKind //
	Group       GroupID   // > 0; NoGroup for a member's own order (and its cancel), placed outside any group
	Buyer       MemberID  // orders and cancels: the member who ordered (UnknownMember when not known); joins and leaves: the member
	SKU         SKU       // > 0; none (0) for joins and leaves
	Time        Timestamp // when it happened; known
	RequestID   string    // the list it came from (exposures; pushes picked from a list)
	Rank        int32     // exposures: 1-based position
	Push        PushID    // pushes: the push's id; clicks and link-tracked orders: the push they came through
	Order       OrderID   // orders and cancels
	Quantity    int32     // orders: units, >= 1
	AmountCents int64     // orders: amount paid, >= 0
}

// MaxLate is how late an event may arrive; events from the future are refused.
const MaxLate = 7 * 24 * time.Hour

// Validate checks the event's fields (Check); now bounds its time (late up
// to MaxLate, never ahead of now by more than a minute of clock skew).
func (e *Event) Validate(now Timestamp) error {
	const r = "event"
	if err := e.Check(); err != nil {
		return err
	}
	switch {
	case e.Time > now+Timestamp(time.Minute/time.Millisecond):
		return invalid(r, "time", "%s is in the future (now %s)", e.Time, now)
	case now-e.Time > Timestamp(MaxLate/time.Millisecond):
		return invalid(r, "time", "%s is more than 7 days late (now %s)", e.Time, now)
	}
	return nil
}

// Check checks every field but the time's distance from now (stored and
// exported events are checked with it).
func (e *Event) Check() error {
	const r = "event"
	switch {
	case len(e.ID) == 0 || len(e.ID) > 128:
		return invalid(r, "id", "must be 1-128 bytes, got %d", len(e.ID))
	case len(e.RequestID) > 128:
		return invalid(r, "request_id", "must be at most 128 bytes, got %d", len(e.RequestID))
	case e.Kind < EventExposure || e.Kind > EventLeave:
		return invalid(r, "kind", "unknown kind %d", e.Kind)
	case e.Kind.Membership() && e.Buyer <= 0:
		return invalid(r, "member", "%s events need the member (> 0), got %d", e.Kind, e.Buyer)
	case e.Kind.Membership() && e.Group <= 0:
		return invalid(r, "group", "%s events need the group (> 0), got %d", e.Kind, e.Group)
	case e.Kind.Membership() && e.SKU != 0:
		return invalid(r, "sku", "%s events name no sku, got %d", e.Kind, e.SKU)
	case e.Buyer < 0:
		return invalid(r, "buyer", "must be > 0 or 0 (unknown), got %d", e.Buyer)
	case e.Group == NoGroup && (e.Kind == EventOrder || e.Kind == EventCancel) && e.Buyer == UnknownMember:
		return invalid(r, "buyer", "an order without a group is a member's own order and needs its buyer")
	case e.Group == NoGroup && e.Kind == EventOrder && e.Push != NoPush:
		return invalid(r, "push", "an order without a group came through no push, got %d", e.Push)
	case e.Group < 0 || (e.Group == NoGroup && e.Kind != EventOrder && e.Kind != EventCancel):
		return invalid(r, "group", "must be > 0 (0 only for a member's own order or its cancel, with a buyer), got %d", e.Group)
	case e.SKU <= 0 && !e.Kind.Membership():
		return invalid(r, "sku", "must be > 0, got %d", e.SKU)
	case e.Time == UnknownTime:
		return invalid(r, "time", "is missing")
	}
	switch e.Kind {
	case EventExposure:
		if e.RequestID == "" || e.Rank < 1 {
			return invalid(r, "request_id", "exposures need a request_id and a rank >= 1")
		}
	case EventPush, EventClick:
		if e.Push <= 0 {
			return invalid(r, "push", "%s events need a push id > 0", e.Kind)
		}
	case EventOrder:
		switch {
		case e.Order <= 0:
			return invalid(r, "order", "must be > 0, got %d", e.Order)
		case e.Quantity < 1:
			return invalid(r, "quantity", "must be >= 1, got %d", e.Quantity)
		case e.AmountCents < 0 || e.AmountCents > math.MaxInt64/2:
			return invalid(r, "amount_cents", "must be >= 0, got %d", e.AmountCents)
		case e.Push < 0:
			return invalid(r, "push", "must be >= 0, got %d", e.Push)
		}
	case EventCancel:
		if e.Order <= 0 {
			return invalid(r, "order", "must be > 0, got %d", e.Order)
		}
	}
	return nil
}

// PickRow is one pick of a batch run: the rank-th item for a group.
type PickRow struct {
	Group          GroupID
	Rank           int32 // 1-based
	SKU            SKU
	P              float64 // calibrated P(order | push)
	ExpectedOrders float64
	Score          float64 // the objective's score
	Objective      string
	ModelVersion   string
	Time           Timestamp // when the batch ran
}

// Validate checks a pick's fields.
func (p *PickRow) Validate() error {
	const r = "pick"
	switch {
	case p.Group <= 0:
		return invalid(r, "group", "must be > 0, got %d", p.Group)
	case p.Rank < 1:
		return invalid(r, "rank", "must be >= 1, got %d", p.Rank)
	case p.SKU <= 0:
		return invalid(r, "sku", "must be > 0, got %d", p.SKU)
	case math.IsNaN(p.P) || p.P < 0 || p.P > 1:
		return invalid(r, "p", "must be a probability, got %g", p.P)
	case p.ModelVersion == "":
		return invalid(r, "model_version", "is empty")
	}
	return nil
}

// Plausibility bounds what an order event may claim, against the catalogue:
// an order of 100,000 units, or at a thousand times the item's price, is a
// client's bug, not a sale.
type Plausibility struct {
	MaxQuantity int32   // units in one order at most
	PriceRatio  float64 // amount / (quantity x list price) within [1/PriceRatio, PriceRatio]
}

// DefaultPlausibility allows 100 units an order and an amount within a
// factor 3 of the list price (discounts, bundles, price changes).
var DefaultPlausibility = Plausibility{MaxQuantity: 100, PriceRatio: 3}

// CheckOrder refuses an order event whose quantity or amount is out of
// bounds for an item listed at priceCents (UnknownPrice: the amount is not
// checked). Other kinds pass.
func (p Plausibility) CheckOrder(e *Event, priceCents int64) error {
	const r = "event"
	if e.Kind != EventOrder {
		return nil
	}
	if p.MaxQuantity > 0 && e.Quantity > p.MaxQuantity {
		return invalid(r, "quantity", "%d units in one order is implausible (at most %d)", e.Quantity, p.MaxQuantity)
	}
	if p.PriceRatio >= 1 && priceCents > 0 {
		list := float64(e.Quantity) * float64(priceCents)
		if a := float64(e.AmountCents); a > list*p.PriceRatio || a < list/p.PriceRatio {
			return invalid(r, "amount_cents", "%d for %d x %d (the list price) is implausible (allowed: %.0f to %.0f)",
				e.AmountCents, e.Quantity, priceCents, list/p.PriceRatio, list*p.PriceRatio)
		}
	}
	return nil
}

// Checkpoint is the service's in-memory state as of an arrival number of
// the live log: every event stored with a number up to Arrival is in State,
// none after.
type Checkpoint struct {
	Arrival uint64
	State   []byte
}
