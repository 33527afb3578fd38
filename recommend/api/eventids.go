package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"

	"grouprank/data"
	"grouprank/recommend"
)

// wireID is an id in an event on the wire: a JSON integer, or a string. A
// model whose world has its own ids (recommend.Model.IDs) reads either as
// the user's id (17 and "17" alike); otherwise an id is an integer (a string
// of digits is taken as one).
type wireID struct {
	text string // the id as written ("" when absent or null)
	str  bool   // written as a JSON string
}

func (x *wireID) UnmarshalJSON(b []byte) error {
	switch {
	case bytes.Equal(b, []byte("null")):
		*x = wireID{}
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*x = wireID{text: s, str: true}
		return nil
	}
	if _, err := strconv.ParseInt(string(b), 10, 64); err != nil {
		return fmt.Errorf("id %s: want an integer or a string", b)
	}
	*x = wireID{text: string(b)}
	return nil
}

// idResolver turns the wire's ids into internal ones for the model in
// service.
type idResolver struct{ m *recommend.Model }

// own reports whether the model's world has its own ids.
func (r idResolver) own() bool { return r.m != nil && r.m.IDs != nil }

// number reads an id of a world without its own: an integer (absent: 0).
func (r idResolver) number(field string, x wireID) (int64, error) {
	if x.text == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(x.text, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: event: %s: %q is not an id of this model's world, whose ids are integers (import with --ids to use your own)", data.ErrInvalid, field, x.text)
	}
	return n, nil
}

// name checks a user's id's length.
func name(field string, x wireID) error {
	if len(x.text) > data.MaxNameBytes {
		return fmt.Errorf("%w: event: %s: an id of %d bytes; at most %d", data.ErrInvalid, field, len(x.text), data.MaxNameBytes)
	}
	return nil
}

// newID is the stable internal id of a user's id the model does not know
// (a group, member, push or order first seen live): beyond the internal ids
// the model's import assigned, the same for every replica and restart.
func newID(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(1<<62 | h.Sum64()>>2)
}

// group reads a group (absent: 0, a member's own order).
func (r idResolver) group(x wireID) (data.GroupID, error) {
	if !r.own() {
		n, err := r.number("group", x)
		return data.GroupID(n), err
	}
	if x.text == "" {
		return data.NoGroup, nil
	}
	if err := name("group", x); err != nil {
		return 0, err
	}
	g, err := ownGroup(r.m, x.text)
	return g, err
}

// member reads a buyer or member (absent: 0).
func (r idResolver) member(field string, x wireID) (data.MemberID, error) {
	if !r.own() {
		n, err := r.number(field, x)
		return data.MemberID(n), err
	}
	if x.text == "" {
		return 0, nil
	}
	if err := name(field, x); err != nil {
		return 0, err
	}
	if id, ok := r.m.IDs.Lookup(data.IDMember, x.text); ok {
		return data.MemberID(id), nil
	}
	return data.MemberID(newID(x.text)), nil
}

// sku reads a SKU: one of the model's own ids must name a product it knows.
func (r idResolver) sku(x wireID) (data.SKU, error) {
	if !r.own() {
		n, err := r.number("sku", x)
		return data.SKU(n), err
	}
	if x.text == "" {
		return 0, nil
	}
	id, ok := r.m.IDs.Lookup(data.IDSKU, x.text)
	if !ok {
		return 0, fmt.Errorf("%w: event: sku: %q is not in the catalogue", data.ErrNotFound, x.text)
	}
	return data.SKU(id), nil
}

// serial reads a push or order id (absent: 0): a user's own is given its
// stable internal id, so a cancel finds the order it names.
func (r idResolver) serial(field string, x wireID) (int64, error) {
	if !r.own() {
		return r.number(field, x)
	}
	if x.text == "" {
		return 0, nil
	}
	if err := name(field, x); err != nil {
		return 0, err
	}
	return newID(field + "\x00" + x.text), nil
}
