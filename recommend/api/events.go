package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"grouprank/data"
)

// EventSink stores events durably; fresh[k] reports whether events[k] was new.
type EventSink interface {
	Append(ctx context.Context, events []data.Event) (fresh []bool, err error)
}

// OrderIndex tells which orders the service has stored: a cancel must name
// one (or an order of its own batch).
type OrderIndex interface {
	KnownOrders(ctx context.Context, ids []data.OrderID) ([]bool, error)
}

// Limits of POST /v1/events.
const (
	maxEventBody  = 1 << 20
	maxEventBatch = 1000
)

// eventJSON is one event on the wire.
// Its ids are integers, or, for a model whose world has its own ids, the
// user's (wireID).
type eventJSON struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	Group       wireID    `json:"group"`
	Buyer       wireID    `json:"buyer"`
	Member      wireID    `json:"member"`
	SKU         wireID    `json:"sku"`
	Time        time.Time `json:"time"`
	RequestID   string    `json:"request_id"`
	Rank        int32     `json:"rank"`
	Push        wireID    `json:"push"`
	Order       wireID    `json:"order"`
	Quantity    int32     `json:"quantity"`
	AmountCents int64     `json:"amount_cents"`
}

// event is j with its ids resolved by r.
func (j *eventJSON) event(r idResolver) (data.Event, error) {
	kind, err := data.ParseEventKind(j.Kind)
	e := data.Event{ID: j.ID, Kind: kind, Time: data.TimestampOf(j.Time), RequestID: j.RequestID, Rank: j.Rank, Quantity: j.Quantity, AmountCents: j.AmountCents}
	if err != nil {
		return e, err
	}
	var push, order int64
	if e.Group, err = r.group(j.Group); err != nil {
		return e, err
	}
	if e.SKU, err = r.sku(j.SKU); err != nil {
		return e, err
	}
	if push, err = r.serial("push", j.Push); err != nil {
		return e, err
	}
	if order, err = r.serial("order", j.Order); err != nil {
		return e, err
	}
	e.Push, e.Order = data.PushID(push), data.OrderID(order)
	// A join or leave names its member in member (stored where an order's buyer is).
	switch {
	case kind.Membership() && j.Buyer.text != "":
		return e, fmt.Errorf("%w: event: buyer: %s events name their member in member, not buyer", data.ErrInvalid, kind)
	case kind.Membership():
		e.Buyer, err = r.member("member", j.Member)
	case j.Member.text != "":
		return e, fmt.Errorf("%w: event: member: only join and leave events name a member (an order's is buyer)", data.ErrInvalid)
	default:
		e.Buyer, err = r.member("buyer", j.Buyer)
	}
	return e, err
}

type problem struct {
	Index int    `json:"index"`
	Error string `json:"error"`
}

// decodeEvents reads and validates a batch against the catalogue of the model in service.
// price gives a SKU's list price (data.UnknownPrice: not known) and whether
// the catalogue holds it; orders are checked against it with plaus.
func decodeEvents(c *gin.Context, r idResolver, now data.Timestamp, price func(data.SKU) (int64, bool), plaus data.Plausibility) ([]data.Event, []problem, error) {
	var body struct {
		Events []eventJSON `json:"events"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, maxEventBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, nil, errTooLarge
		}
		return nil, nil, fmt.Errorf("%w: malformed JSON: %v", data.ErrInvalid, err)
	}
	if dec.More() {
		return nil, nil, fmt.Errorf("%w: trailing data after the JSON body", data.ErrInvalid)
	}
	if len(body.Events) == 0 || len(body.Events) > maxEventBatch {
		return nil, nil, fmt.Errorf("%w: a batch holds 1 to %d events, got %d", data.ErrInvalid, maxEventBatch, len(body.Events))
	}
	out := make([]data.Event, len(body.Events))
	var probs []problem
	for k := range body.Events {
		e, err := body.Events[k].event(r)
		if err == nil {
			err = e.Validate(now)
		}
		if err == nil && !e.Kind.Membership() {
			if p, ok := price(e.SKU); !ok {
				err = fmt.Errorf("%w: sku %d is not in the catalogue", data.ErrNotFound, e.SKU)
			} else {
				err = plaus.CheckOrder(&e, p)
			}
		}
		if err != nil {
			probs = append(probs, problem{Index: k, Error: err.Error()})
		}
		out[k] = e
	}
	return out, probs, nil
}

var errTooLarge = errors.New("request body too large")

// batchRejected answers a batch that could not be read or holds invalid
// entries (413 for an oversized body, 400 with each entry's problem) and
// reports whether it did; noun names the entries, limit the body limit.
func batchRejected(c *gin.Context, err error, probs []problem, n int, noun, limit string) bool {
	switch {
	case errors.Is(err, errTooLarge):
		writeError(c, http.StatusRequestEntityTooLarge, fmt.Errorf("the body exceeds %s", limit))
	case err != nil:
		writeError(c, 0, err)
	case len(probs) > 0:
		c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"error": fmt.Sprintf("%d of %d %s are invalid; none was taken", len(probs), n, noun),
			"problems": probs, "request_id": c.GetString("request_id")})
	default:
		return false
	}
	return true
}

// events accepts a batch of events: all or none, acknowledged once durable.
func (s *server) events() gin.HandlerFunc {
	return func(c *gin.Context) {
		m := s.deps.Model()
		if m == nil || s.deps.Events == nil {
			writeError(c, 0, fmt.Errorf("%w: no snapshot loaded or no event store", data.ErrUnavailable))
			return
		}
		cat := m.Ranker.Scorer.Inputs().Cat
		price := func(sku data.SKU) (int64, bool) {
			i, ok := cat.Index[sku]
			if !ok {
				return data.UnknownPrice, false
			}
			return cat.PriceCents[i], true
		}
		evs, probs, err := decodeEvents(c, idResolver{m}, data.TimestampOf(s.now()), price, s.plausibility())
		if err == nil && len(probs) == 0 && s.deps.RefuseUnknownGroups {
			for k := range evs {
				if evs[k].Group != data.NoGroup && !m.Knows(evs[k].Group) {
					probs = append(probs, problem{Index: k, Error: fmt.Sprintf("event: group: group %d is not known to the platform (serve --unknown-groups refuse)", evs[k].Group)})
				}
			}
		}
		if err == nil && len(probs) == 0 {
			probs, err = s.unknownCancels(c.Request.Context(), evs)
		}
		if batchRejected(c, err, probs, len(evs), "events", "1 MiB") {
			return
		}
		if c.Request.Context().Err() != nil {
			c.Abort() // the client gave up while the batch was read: store nothing it will not hear of
			return
		}
		if l := s.deps.Ingest; l != nil {
			l.Lock() // shared: many batches at once, none while a checkpoint reads the memory
			defer l.Unlock()
		}
		fresh, err := s.deps.Events.Append(c.Request.Context(), evs)
		if err != nil {
			writeError(c, 0, err)
			return
		}
		n := 0
		for k, f := range fresh {
			if f {
				n++
				if s.deps.Memory != nil && s.deps.Follower == nil { // a follower hears it from the log
					s.deps.Memory.Hear(&evs[k])
				}
			}
		}
		s.metrics.events.Add(float64(n))
		s.render(c, http.StatusOK, gin.H{"accepted": n, "duplicates": len(evs) - n, "request_id": c.GetString("request_id")})
	}
}

func (s *server) plausibility() data.Plausibility {
	if s.deps.Plausibility == (data.Plausibility{}) {
		return data.DefaultPlausibility
	}
	return s.deps.Plausibility
}

// unknownCancels refuses cancels of orders neither the batch nor the store
// holds (without an order index, none is refused).
func (s *server) unknownCancels(ctx context.Context, evs []data.Event) ([]problem, error) {
	if s.deps.Orders == nil {
		return nil, nil
	}
	inBatch := map[data.OrderID]bool{}
	var ids []data.OrderID
	var at []int
	for k := range evs {
		if evs[k].Kind == data.EventOrder {
			inBatch[evs[k].Order] = true
		}
	}
	for k := range evs {
		if e := &evs[k]; e.Kind == data.EventCancel && !inBatch[e.Order] {
			ids, at = append(ids, e.Order), append(at, k)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	known, err := s.deps.Orders.KnownOrders(ctx, ids)
	if err != nil {
		return nil, err
	}
	var probs []problem
	for j, ok := range known {
		if !ok {
			probs = append(probs, problem{Index: at[j], Error: fmt.Sprintf("event: order: cancels order %d, which this service never received", ids[j])})
		}
	}
	return probs, nil
}
