package data

import (
	"fmt"
	"sort"
	"strconv"
)

// The kinds of id an IDMap keeps apart: each kind is its own space.
const (
	IDGroup    = "group"
	IDMember   = "member"
	IDSKU      = "sku"
	IDPromoter = "promoter"
	// Orders and pushes are mapped at import only (so that the orders file
	// and the pushes file agree on a push's id); no later command names them.
	IDOrder = "order"
	IDPush  = "push"
)

// Serving reports whether kind is one the models and their outputs name
// (groups, members, SKUs, promoters), not one kept for imports only.
func Serving(kind string) bool {
	return kind == IDGroup || kind == IDMember || kind == IDSKU || kind == IDPromoter
}

// ExternalID ties an internal id to the name the user's own files gave it
// (a string, or a number that may be 0 or negative).
type ExternalID struct {
	Kind string // IDGroup, IDMember, IDSKU, IDPromoter, IDOrder or IDPush
	ID   int64  // the internal id, > 0
	Name string // the user's id, as written in their files
}

// Validate checks every field; the error names the field and the reason.
func (e *ExternalID) Validate() error {
	const r = "id"
	switch {
	case !Serving(e.Kind) && e.Kind != IDOrder && e.Kind != IDPush:
		return invalid(r, "kind", "must be %s, %s, %s, %s, %s or %s, got %q", IDGroup, IDMember, IDSKU, IDPromoter, IDOrder, IDPush, e.Kind)
	case e.ID <= 0:
		return invalid(r, "id", "must be > 0, got %d", e.ID)
	case e.Name == "":
		return invalid(r, "name", "must not be empty")
	case len(e.Name) > MaxNameBytes:
		return invalid(r, "name", "longer than %d bytes", MaxNameBytes)
	}
	return nil
}

// IDMap assigns dense internal ids (1, 2, ...) to the user's own ids, one
// space per kind, in the order they are first seen, and maps them back.
type IDMap struct {
	spaces map[string]*idSpace
}

type idSpace struct {
	byName map[string]int64
	names  []string // names[id-1]
}

// NewIDMap returns an empty map.
func NewIDMap() *IDMap { return &IDMap{spaces: map[string]*idSpace{}} }

func (m *IDMap) space(kind string) *idSpace {
	s := m.spaces[kind]
	if s == nil {
		s = &idSpace{byName: map[string]int64{}}
		m.spaces[kind] = s
	}
	return s
}

// Intern returns name's internal id, assigning the next one when it is new.
func (m *IDMap) Intern(kind, name string) int64 {
	s := m.space(kind)
	if id, ok := s.byName[name]; ok {
		return id
	}
	s.names = append(s.names, name)
	id := int64(len(s.names))
	s.byName[name] = id
	return id
}

// Lookup returns name's internal id, if it has one.
func (m *IDMap) Lookup(kind, name string) (int64, bool) {
	s := m.spaces[kind]
	if s == nil {
		return 0, false
	}
	id, ok := s.byName[name]
	return id, ok
}

// Name returns the user's id for an internal one; ids the map does not know
// (worlds written by grouprank itself) are their own decimal names.
func (m *IDMap) Name(kind string, id int64) string {
	if m != nil {
		if s := m.spaces[kind]; s != nil && id >= 1 && id <= int64(len(s.names)) {
			return s.names[id-1]
		}
	}
	return strconv.FormatInt(id, 10)
}

// Resolve is Lookup for a map that may be nil or lack the kind: then
// the name must be the decimal internal id itself.
func (m *IDMap) Resolve(kind, name string) (int64, bool) {
	if m != nil && m.spaces[kind] != nil {
		return m.Lookup(kind, name)
	}
	id, err := strconv.ParseInt(name, 10, 64)
	return id, err == nil && id > 0
}

// Len is the number of ids of a kind.
func (m *IDMap) Len(kind string) int {
	if s := m.spaces[kind]; s != nil {
		return len(s.names)
	}
	return 0
}

// Rows lists the map, kind by kind (sorted) and by internal id.
func (m *IDMap) Rows() []ExternalID {
	kinds := make([]string, 0, len(m.spaces))
	for k := range m.spaces {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var out []ExternalID
	for _, k := range kinds {
		for i, n := range m.spaces[k].names {
			out = append(out, ExternalID{Kind: k, ID: int64(i + 1), Name: n})
		}
	}
	return out
}

// IDMapFrom rebuilds a map from its rows; ids of a kind must be 1..n, each once.
func IDMapFrom(rows []ExternalID) (*IDMap, error) {
	m := NewIDMap()
	for n, r := range rows {
		s := m.space(r.Kind)
		if r.ID != int64(len(s.names))+1 {
			return nil, fmt.Errorf("id map: row %d: %s id %d out of sequence (want %d)", n+1, r.Kind, r.ID, len(s.names)+1)
		}
		if _, dup := s.byName[r.Name]; dup {
			return nil, fmt.Errorf("id map: row %d: %s %q mapped twice", n+1, r.Kind, r.Name)
		}
		s.names = append(s.names, r.Name)
		s.byName[r.Name] = r.ID
	}
	return m, nil
}

// Canonicalize renumbers every kind in the order of its names (integers
// by value, before any other name; other names byte by byte), so that the
// internal ids do not depend on the order in which the names were first
// seen. It returns, per kind, the new id of each old one (renum[kind][old]).
func (m *IDMap) Canonicalize() map[string][]int64 {
	renum := make(map[string][]int64, len(m.spaces))
	for kind, s := range m.spaces {
		type entry struct {
			name  string
			n     int64
			isInt bool
			old   int64
		}
		es := make([]entry, len(s.names))
		for i, name := range s.names {
			n, err := strconv.ParseInt(name, 10, 64)
			es[i] = entry{name: name, n: n, isInt: err == nil, old: int64(i + 1)}
		}
		sort.Slice(es, func(a, b int) bool {
			x, y := es[a], es[b]
			switch {
			case x.isInt && y.isInt && x.n != y.n:
				return x.n < y.n
			case x.isInt != y.isInt:
				return x.isInt
			}
			return x.name < y.name // "07" and "7": both 7, told apart by their text
		})
		r := make([]int64, len(s.names)+1)
		for i, e := range es {
			r[e.old] = int64(i + 1)
			s.names[i] = e.name
			s.byName[e.name] = int64(i + 1)
		}
		renum[kind] = r
	}
	return renum
}
