package features

import (
	"cmp"
	"slices"

	"grouprank/data"
)

// MaxShownRank caps the ranks Shown keeps: items shown further down count as
// shown at MaxShownRank.
const MaxShownRank = 64

// Shown is the log of the lists shown to promoters, list by list: the items
// each list showed, at which rank, and which of them the promoter then pushed
// from it (a push carrying the list's request id). It is what the promoters'
// choices are measured against (see listPicks): a promoter who knows the
// group picks what suits it out of what it was shown.
//
// At a million groups it holds hundreds of millions of rows, so a row costs
// its item alone: a list whose ranks run 1, 2, 3, ... (capped at
// MaxShownRank), as the service and the generator log them, keeps no ranks,
// and the picks, a few rows in a list, are kept as the rows' indices.
type Shown struct {
	Group []int32          // per list: the group it was shown for
	Time  []data.Timestamp // per list: when it was shown (its first row's time)
	Start []int32          // per list: index of its first row; Start[len(Group)] = len(Item) once closed
	Item  []int32          // per row (item shown), in list order
	// The lists whose ranks do not run 1, 2, 3, ... (ascending), and where
	// each one's rows' ranks start in ranks (1..MaxShownRank, one per row).
	irregular, irregularAt []int32
	ranks                  []uint8
	picked                 []int32 // the rows whose item was pushed from their list, ascending
}

// Lists is the number of lists.
func (s *Shown) Lists() int { return len(s.Group) }

// listRows are one list's rows, to be read in order.
type listRows struct {
	from, to int
	ranks    []uint8 // its rows' ranks; nil when they run 1, 2, 3, ...
	picked   []int32 // its picked rows, ascending
}

// list returns list l's rows.
func (s *Shown) list(l int) listRows {
	out := listRows{from: int(s.Start[l]), to: len(s.Item)}
	if l+1 < len(s.Start) {
		out.to = int(s.Start[l+1])
	}
	if k, ok := slices.BinarySearch(s.irregular, int32(l)); ok {
		at := int(s.irregularAt[k])
		out.ranks = s.ranks[at : at+out.to-out.from]
	}
	lo, _ := slices.BinarySearch(s.picked, int32(out.from))
	hi := lo
	for hi < len(s.picked) && int(s.picked[hi]) < out.to {
		hi++
	}
	out.picked = s.picked[lo:hi]
	return out
}

// rankIdx is row r's rank as a 0-based index below MaxShownRank.
func (l *listRows) rankIdx(r int) int {
	if l.ranks == nil {
		return min(r-l.from, MaxShownRank-1)
	}
	return int(l.ranks[r-l.from]) - 1
}

// consecutive says whether ranks (capped) run 1, 2, 3, ...
func consecutive(ranks []uint8) bool {
	for k, v := range ranks {
		if int(v) != min(k+1, MaxShownRank) {
			return false
		}
	}
	return true
}

// ShownBuilder turns a stream of exposures into Shown over a catalogue and a
// group index, marking each item shown as picked when a push of that item
// carries the list's request id. Exposures of one list are expected next to
// each other (as the generator and the service write them); a list split
// apart is kept as two lists, which changes nothing the log is used for.
// Exposures of unknown items or groups are skipped.
type ShownBuilder struct {
	cat        *Catalog
	groups     *Groups
	picked     []pickKey // the pushes made from lists, sorted by request, then SKU
	listPicked []pickKey // those of the current list
	out        Shown
	listRanks  []uint8 // the current list's rows' ranks
	lastReq    string
	lastKey    uint64 // data.RequestKey(lastReq)
	lastG      int32
	open       bool
	// The last exposure's group id and its lookup: a list's exposures
	// share their group, so it is looked up once a run.
	seenID data.GroupID
	seenG  int32
	seenOK bool
	seen   bool
}

// pickKey identifies a push of an item from a list by the 64-bit FNV-1a hash
// of the list's request id (a collision, odds of about 10^-5 at 10^7 lists,
// would mark one item of one list picked that was not).
type pickKey struct {
	req uint64
	sku data.SKU
}

// NewShownBuilder indexes the pushes made from lists (those with a request id).
func NewShownBuilder(cat *Catalog, groups *Groups, pushes []data.Push) *ShownBuilder {
	return NewShownBuilderOf(cat, groups, len(pushes), func(n int) (uint64, data.SKU, bool) {
		p := &pushes[n]
		return data.RequestKey(p.RequestID), p.SKU, p.RequestID != ""
	})
}

// NewShownBuilderOf indexes n pushes given one at a time by push: the key of
// its list's request id (data.RequestKey), its SKU, and whether it was made
// from a list at all (it has a request id).
func NewShownBuilderOf(cat *Catalog, groups *Groups, n int, push func(n int) (key uint64, sku data.SKU, fromList bool)) *ShownBuilder {
	b := &ShownBuilder{cat: cat, groups: groups}
	for k := range n {
		if key, sku, ok := push(k); ok {
			b.picked = append(b.picked, pickKey{key, sku})
		}
	}
	// Sorted, a list's pushes are found once a list (not looked up in a map
	// once an exposure), in half the memory of a map.
	slices.SortFunc(b.picked, func(x, y pickKey) int {
		if c := cmp.Compare(x.req, y.req); c != 0 {
			return c
		}
		return cmp.Compare(x.sku, y.sku)
	})
	return b
}

// pushesOf returns the pushes made from the list whose request id hashes to key.
func (b *ShownBuilder) pushesOf(key uint64) []pickKey {
	lo, _ := slices.BinarySearchFunc(b.picked, key, func(x pickKey, k uint64) int { return cmp.Compare(x.req, k) })
	hi := lo
	for hi < len(b.picked) && b.picked[hi].req == key {
		hi++
	}
	return b.picked[lo:hi]
}

// Grow reserves room for n more exposures, so that a log of known size
// (a file's row count) is not grown by copying (at 1M groups it holds
// hundreds of millions of exposures).
func (b *ShownBuilder) Grow(n int) {
	s := &b.out
	s.Item = slices.Grow(s.Item, n)
}

// Add logs one exposure.
func (b *ShownBuilder) Add(e *data.Exposure) {
	if !b.seen || e.Group != b.seenID {
		b.seenID, b.seen = e.Group, true
		b.seenG, b.seenOK = b.groups.Index[e.Group]
	}
	i, ok := b.cat.Index[e.SKU]
	g, gok := b.seenG, b.seenOK
	if !ok || !gok || e.RequestID == "" {
		return
	}
	s := &b.out
	if !b.open || e.RequestID != b.lastReq || g != b.lastG {
		if b.open {
			s.irregular, s.irregularAt, s.ranks = closeList(s, b.listRanks)
		}
		b.listRanks = b.listRanks[:0]
		s.Group = append(s.Group, g)
		s.Time = append(s.Time, e.Time)
		s.Start = append(s.Start, int32(len(s.Item)))
		b.lastReq, b.lastKey, b.lastG, b.open = e.RequestID, data.RequestKey(e.RequestID), g, true
		b.listPicked = b.pushesOf(b.lastKey)
	}
	rank := min(max(e.Rank, 1), MaxShownRank)
	if slices.ContainsFunc(b.listPicked, func(k pickKey) bool { return k.sku == e.SKU }) {
		s.picked = append(s.picked, int32(len(s.Item)))
	}
	s.Item = append(s.Item, i)
	b.listRanks = append(b.listRanks, uint8(rank))
}

// closeList returns s's irregular lists with its last list, whose rows'
// ranks are ranks, added when they do not run 1, 2, 3, ...
func closeList(s *Shown, ranks []uint8) (irregular, at []int32, all []uint8) {
	if consecutive(ranks) {
		return s.irregular, s.irregularAt, s.ranks
	}
	return append(s.irregular, int32(len(s.Group)-1)), append(s.irregularAt, int32(len(s.ranks))), append(s.ranks, ranks...)
}

// Shown returns the log (nil when no exposure was logged).
func (b *ShownBuilder) Shown() *Shown {
	if len(b.out.Group) == 0 {
		return nil
	}
	s := b.out
	s.Start = append(s.Start[:len(s.Group):len(s.Group)], int32(len(s.Item)))
	if b.open { // the last list closes in the copy; the builder may go on adding to it
		n, m := len(s.irregular), len(s.ranks)
		s.irregular, s.irregularAt, s.ranks = s.irregular[:n:n], s.irregularAt[:n:n], s.ranks[:m:m]
		s.irregular, s.irregularAt, s.ranks = closeList(&s, b.listRanks)
	}
	return &s
}
