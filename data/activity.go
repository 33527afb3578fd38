package data

import (
	"fmt"
	"math"
)

// PushID identifies a push; NoPush (0) marks an order that came through no tracked link.
type PushID int64

// NoPush is the PushID of an organic order or an untracked one.
const NoPush PushID = 0

// OrderID identifies an order.
type OrderID int64

// Exposure is one item of one list a promoter was shown for a group.
type Exposure struct {
	RequestID    string    // the list request; shared by the list's items; not empty
	Group        GroupID   // the group the list was for; > 0
	SKU          SKU       // the item shown; > 0
	Rank         int32     // 1-based position in the list
	Propensity   float64   // probability that the logging policy shows this item at this rank, in (0, 1]
	ModelVersion string    // the model that ranked the list ("practice" for today's practice)
	Experiment   string    // experiment key, "" when none
	Arm          string    // arm within Experiment, "" when none
	Unit         string    // the experiment's randomisation unit ("g<group>" or "p<promoter>"), "" when none
	Time         Timestamp // when the list was shown
}

// Validate checks every field; the error names the field and the reason.
func (e *Exposure) Validate() error {
	const r = "exposure"
	switch {
	case e.RequestID == "":
		return invalid(r, "request_id", "is empty")
	case e.Group <= 0:
		return invalid(r, "group", "must be > 0, got %d", e.Group)
	case e.SKU <= 0:
		return invalid(r, "sku", "must be > 0, got %d", e.SKU)
	case e.Rank < 1:
		return invalid(r, "rank", "must be >= 1, got %d", e.Rank)
	case math.IsNaN(e.Propensity) || e.Propensity <= 0 || e.Propensity > 1:
		return invalid(r, "propensity", "must be in (0, 1], got %g", e.Propensity)
	case e.Arm != "" && e.Experiment == "":
		return invalid(r, "arm", "is %q while experiment is empty", e.Arm)
	}
	return checkTime(r, "time", e.Time)
}

// Push is one item a promoter posted into a group.
type Push struct {
	ID        PushID    // > 0
	Group     GroupID   // > 0
	SKU       SKU       // > 0
	Time      Timestamp // when it was posted; UnknownTime when not known
	RequestID string    // the shown list it was picked from; "" when the promoter found it elsewhere
}

// Validate checks every field; the error names the field and the reason.
func (p *Push) Validate() error {
	const r = "push"
	switch {
	case p.ID <= 0:
		return invalid(r, "push", "must be > 0, got %d", p.ID)
	case p.Group <= 0:
		return invalid(r, "group", "must be > 0, got %d", p.Group)
	case p.SKU <= 0:
		return invalid(r, "sku", "must be > 0, got %d", p.SKU)
	}
	return checkTime(r, "time", p.Time)
}

// Order is one order placed by a group member.
type Order struct {
	ID              OrderID     // > 0
	Group           GroupID     // the group it is credited to; NoGroup for a member's own order outside any group
	Buyer           MemberID    // the member who ordered; UnknownMember when not known
	SKU             SKU         // > 0
	Quantity        int32       // units, >= 1
	AmountCents     int64       // amount paid in fen; UnknownPrice when not known
	CommissionCents int64       // commission earned in fen; >= 0
	Time            Timestamp   // when it was placed; UnknownTime when not known
	Status          OrderStatus // placed, cancelled or refunded
	Push            PushID      // the push whose link it came through; NoPush for organic or untracked orders
}

// NoGroup is the group of a member's own order, placed outside any group.
const NoGroup GroupID = 0

// Own reports whether the order is a member's own, outside any group.
func (o *Order) Own() bool { return o.Group == NoGroup }

// Validate checks every field; the error names the field and the reason.
func (o *Order) Validate() error {
	const r = "order"
	switch {
	case o.ID <= 0:
		return invalid(r, "order", "must be > 0, got %d", o.ID)
	case o.Group < 0:
		return invalid(r, "group", "must be > 0, or 0 (none) with a buyer, got %d", o.Group)
	case o.Group == NoGroup && o.Buyer <= 0:
		return invalid(r, "buyer", "an order without a group is a member's own order and needs its buyer")
	case o.Group == NoGroup && o.Push != NoPush:
		return invalid(r, "push", "an order without a group came through no push, got %d", o.Push)
	case o.Buyer < 0:
		return invalid(r, "buyer", "must be > 0 or 0 (unknown), got %d", o.Buyer)
	case o.SKU <= 0:
		return invalid(r, "sku", "must be > 0, got %d", o.SKU)
	case o.Quantity < 1:
		return invalid(r, "quantity", "must be >= 1, got %d", o.Quantity)
	case o.AmountCents < 0 && o.AmountCents != UnknownPrice:
		return invalid(r, "amount_cents", "must be >= 0 or %d (unknown), got %d", UnknownPrice, o.AmountCents)
	case o.CommissionCents < 0:
		return invalid(r, "commission_cents", "must be >= 0, got %d", o.CommissionCents)
	case o.AmountCents >= 0 && o.CommissionCents > o.AmountCents:
		return invalid(r, "commission_cents", "%d exceeds amount_cents %d", o.CommissionCents, o.AmountCents)
	case !o.Status.Valid():
		return invalid(r, "status", "unknown status %d", o.Status)
	case o.Push < 0:
		return invalid(r, "push", "must be > 0 or 0 (none), got %d", o.Push)
	}
	return checkTime(r, "time", o.Time)
}

// ExposureList is one served list's exposures as the live stores keep them:
// what its items share once, then per item. The same (time, request,
// experiment) is one list.
type ExposureList struct {
	RequestID    string    `json:"r"`
	Group        GroupID   `json:"g"`
	ModelVersion string    `json:"m"`
	Experiment   string    `json:"e,omitempty"`
	Arm          string    `json:"a,omitempty"`
	Unit         string    `json:"u,omitempty"`
	Time         Timestamp `json:"t"`
	SKU          []SKU     `json:"s"`
	Rank         []int32   `json:"k"`
	Propensity   []float64 `json:"p"`
}

// ExposureLists groups exposures into lists: consecutive exposures that
// share everything but the item make one.
func ExposureLists(exps []Exposure) []*ExposureList {
	var out []*ExposureList
	for k := range exps {
		e := &exps[k]
		if n := len(out); n == 0 || !out[n-1].holds(e) {
			out = append(out, &ExposureList{RequestID: e.RequestID, Group: e.Group, ModelVersion: e.ModelVersion, Experiment: e.Experiment,
				Arm: e.Arm, Unit: e.Unit, Time: e.Time})
		}
		x := out[len(out)-1]
		x.SKU, x.Rank, x.Propensity = append(x.SKU, e.SKU), append(x.Rank, e.Rank), append(x.Propensity, e.Propensity)
	}
	return out
}

func (l *ExposureList) holds(e *Exposure) bool {
	return l.RequestID == e.RequestID && l.Group == e.Group && l.ModelVersion == e.ModelVersion &&
		l.Experiment == e.Experiment && l.Arm == e.Arm && l.Unit == e.Unit && l.Time == e.Time
}

// Check reports a list whose per-item fields disagree in length.
func (l *ExposureList) Check() error {
	if len(l.Rank) != len(l.SKU) || len(l.Propensity) != len(l.SKU) {
		return fmt.Errorf("exposure list %q: %d skus, %d ranks, %d propensities: %w", l.RequestID, len(l.SKU), len(l.Rank), len(l.Propensity), ErrInvalid)
	}
	return nil
}

// Each calls fn for every exposure of the list, in the order they were logged.
func (l *ExposureList) Each(fn func(Exposure) error) error {
	for k := range l.SKU {
		e := Exposure{RequestID: l.RequestID, Group: l.Group, SKU: l.SKU[k], Rank: l.Rank[k], Propensity: l.Propensity[k],
			ModelVersion: l.ModelVersion, Experiment: l.Experiment, Arm: l.Arm, Unit: l.Unit, Time: l.Time}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// RequestKey is the 64-bit FNV-1a hash of a request id: the key offline jobs
// index a shown list by, in 8 bytes rather than the id's string (two ids
// share a key with odds of about 10^-5 at 10^7 lists).
func RequestKey(id string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	return h
}
