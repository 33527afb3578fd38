// Package pref owns the preference models learnt from orders alone: what a
// group will order next, from its own orders and its members' own orders
// (placed in the group, in another group, or alone). It fits popularity,
// members' consensus, item-kNN, EASE, a graph filter and iALS over the
// stacked group and member rows, cuts a validation split from the history,
// and picks a method and its settings by full-ranking NDCG@10 on it.
package pref

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"

	"grouprank/recommend"
	"grouprank/train"
)

// Data is what the models learn from, over 0-based indexes of groups,
// members and items.
type Data struct {
	Items  int
	Groups *train.Interactions // groups x items: the groups' orders
	// Members is members x items: every order of a known buyer, wherever
	// it was placed (alone, in one of their groups or in another); 0 rows
	// when no order names its buyer.
	Members *train.Interactions
	// Of is groups x members: who belongs to which group. A member without
	// orders may be left out: an empty row weighs nothing in a group's
	// consensus (the mean of its members' rows with orders).
	Of *train.Interactions
	// Placed lists, per group, the orders placed in it by a known buyer:
	// a group's consensus leaves them out (they are the group's own row).
	Placed [][]Placed
	// Pushed is groups x items: pushes of an item into the group that led
	// to no order (a promoter's choice the group did not take up); nil or
	// empty when the history has no pushes. A model reads them at
	// Config.PushWeight.
	Pushed *train.Interactions
	// Probes is how many of the last rows of Groups are not groups but
	// members' own histories a member split probes (MemberHoldOut): they
	// are scored like groups and not counted in the items' popularity.
	Probes int
	// Parts, when not nil, divides the work of the fits and validations on
	// these data among the parts of a sharded train (a split's data carry
	// its history's).
	Parts *Parts
}

// Placed is one order placed in a group by a known member, or credited to
// one: an order that names no buyer counts for each of the group's members.
type Placed struct {
	Member, Item int32
	Weight       float32
	// Credited: the order names no buyer; the member is credited it as one
	// of the group's members.
	Credited bool
}

// Check reports whether the matrices agree on their sizes.
func (d *Data) Check() error {
	switch {
	case d.Items <= 0:
		return fmt.Errorf("pref: no items")
	case d.Groups == nil || d.Groups.Cols != d.Items:
		return fmt.Errorf("pref: the groups' matrix must have %d item columns", d.Items)
	case d.Members != nil && d.Members.Cols != d.Items:
		return fmt.Errorf("pref: the members' matrix must have %d item columns", d.Items)
	case d.Of != nil && d.Of.Rows != d.Groups.Rows:
		return fmt.Errorf("pref: the membership matrix has %d rows for %d groups", d.Of.Rows, d.Groups.Rows)
	case d.Pushed != nil && (d.Pushed.Rows != d.Groups.Rows || d.Pushed.Cols != d.Items):
		return fmt.Errorf("pref: the pushes' matrix must be %d groups x %d items", d.Groups.Rows, d.Items)
	case d.Of != nil && d.Members != nil && d.Of.Cols != d.Members.Rows:
		return fmt.Errorf("pref: the membership matrix has %d columns for %d members", d.Of.Cols, d.Members.Rows)
	}
	return nil
}

// hasMembers reports whether any member has an own order.
func (d *Data) hasMembers() bool { return d.Members != nil && d.Members.NNZ() > 0 && d.Of != nil }

// hasPushes reports whether any push led to no order.
func (d *Data) hasPushes() bool { return d.Pushed != nil && d.Pushed.NNZ() > 0 }

// OwnRow is group g's own row as a model with push weight pw reads it: its
// orders plus pw times its pushes that led to no order, sorted by item.
func (d *Data) OwnRow(g int32, pw float64) ([]int32, []float32) {
	var cols []int32
	var ws []float32
	if int(g) < d.Groups.Rows {
		c, w := d.Groups.Row(int(g))
		cols, ws = append(cols, c...), append(ws, w...)
	}
	if pw > 0 && d.hasPushes() && int(g) < d.Pushed.Rows {
		c, w := d.Pushed.Row(int(g))
		for k := range c {
			cols, ws = append(cols, c[k]), append(ws, float32(pw)*w[k])
		}
	}
	return mergeRow(cols, ws)
}

// Seen is the sorted items of group g's history (ordered or pushed): a
// ranking leaves them out.
func (d *Data) Seen(g int32) []int32 {
	c, _ := d.OwnRow(g, 1)
	return c
}

// Popularity counts each item's weight over the groups' rows.
func (d *Data) Popularity() []float32 {
	pop := make([]float32, d.Items)
	end := d.Groups.Ptr[d.Groups.Rows-d.Probes]
	for k, c := range d.Groups.Col[:end] {
		pop[c] += d.Groups.W[k]
	}
	return pop
}

// Config is one model: a method and its settings. Settings a method does not
// read are ignored.
type Config struct {
	Method string `json:"method"`
	// Consensus is the weight of the mean of the group's members' own rows
	// added to the group's row when it is scored (0: the group's own orders only).
	Consensus float64 `json:"consensus"`
	// MemberRows is the weight of the members' own rows among the rows the
	// item-item statistics and the factors are learnt from (0: groups only).
	MemberRows float64 `json:"member_rows"`
	// Lambda is EASE's L2 penalty as a multiple of the mean diagonal of the Gram matrix.
	Lambda float64 `json:"lambda,omitempty"`
	// Order2 is the graph filter's weight of the second-order (two-hop) term.
	Order2 float64 `json:"order2,omitempty"`
	// Factors, Alpha0 and Reg set iALS (epochs and solver steps are fixed).
	Factors int     `json:"factors,omitempty"`
	Alpha0  float64 `json:"alpha0,omitempty"`
	Reg     float64 `json:"reg,omitempty"`
	// Confidence: an observed pair weighs Confidence x its count (iALS).
	Confidence float64 `json:"confidence,omitempty"`
	// PushWeight is the weight of a push that led to no order in the
	// group's row, beside an order's 1 (0: orders only).
	PushWeight float64 `json:"push_weight,omitempty"`
	// ColdMembers: a group with no row of its own (no order, no push) is
	// scored from its members' mean row, as if at consensus 1, where the
	// consensus is 0 (a consensus above 0 reads the members of every
	// group); chosen on a split of cold groups (ColdHoldOut). A blend's
	// setting holds for both its parts.
	ColdMembers bool `json:"cold_members,omitempty"`
	// Parts and Weight define a blend: Parts[0]'s scores plus Weight times
	// Parts[1]'s, each standardised over the group's items. Parts[0] may
	// be a blend itself (a blend of three or more methods).
	Parts  []Config `json:"parts,omitempty"`
	Weight float64  `json:"weight,omitempty"`
}

// Methods are the methods in the order they are searched and reported.
var Methods = []string{MethodPopular, MethodMembers, MethodItemKNN, MethodEASE, MethodGraph, MethodIALS, MethodBlend}

// The methods.
const (
	MethodPopular = "popular"      // the groups' orders counted per item
	MethodMembers = "members"      // the members' own orders counted per item, popularity breaking ties
	MethodItemKNN = "item-knn"     // cosine item-item over the stacked rows
	MethodEASE    = "ease"         // closed-form item-item regression (Steck 2019)
	MethodGraph   = "graph-filter" // normalised item-item graph filter, first and second order (after GF-CF and Group-GF)
	MethodIALS    = "ials"         // implicit ALS factors, groups folded in with their members' rows
	MethodBlend   = "blend"        // the best method on validation and the others that raise it, standardised scores added with weights
)

// Model scores every item for a group (higher is better). Safe for concurrent use.
type Model interface {
	Score(g int32, dst []float32)
}

// SkippedError says a method does not apply to this data, and why.
type SkippedError struct{ Method, Reason string }

func (e *SkippedError) Error() string { return fmt.Sprintf("pref: %s skipped: %s", e.Method, e.Reason) }

// Fit fits cfg's method to d. seed seeds iALS; workers bounds its goroutines.
func Fit(ctx context.Context, d *Data, cfg Config, seed uint64, workers int) (Model, error) {
	return fitWith(ctx, d, cfg, seed, workers, nil)
}

// fitWith is Fit taking the item-item matrix from cache (nil: none) when
// it holds the one cfg asks for on d.
func fitWith(ctx context.Context, d *Data, cfg Config, seed uint64, workers int, cache *itemItemCache) (Model, error) {
	if err := d.Check(); err != nil {
		return nil, err
	}
	in := newInputs(d, cfg.Consensus, coldOf(cfg), cfg.PushWeight)
	switch cfg.Method {
	case MethodPopular:
		return &popular{pop: in.pop}, nil
	case MethodMembers:
		if !d.hasMembers() {
			return nil, &SkippedError{cfg.Method, "no member has an own order"}
		}
		// the members' mean row through the identity: each item the group
		// has not ordered scores what its members ordered of it (times the
		// consensus, 1 unless a blend's item-item first part sets its own),
		// popularity breaking ties.
		s, err := identity(d.Items)
		if err != nil {
			return nil, err
		}
		return &dense{in: newInputs(d, consensusOf(cfg), coldOf(cfg), cfg.PushWeight), s: s}, nil
	case MethodItemKNN, MethodEASE, MethodGraph:
		s, err := cache.itemItem(ctx, d, cfg, workers)
		if err != nil {
			return nil, err
		}
		return &dense{in: in, s: s}, nil
	case MethodIALS:
		return fitIALS(ctx, d, in, cfg, seed, workers)
	case MethodBlend:
		if len(cfg.Parts) != 2 {
			return nil, fmt.Errorf("pref: a blend needs 2 parts, got %d", len(cfg.Parts))
		}
		var parts [2]Model
		for k, c := range cfg.Parts {
			c.ColdMembers = cfg.ColdMembers
			m, err := Fit(ctx, d, c, seed, workers)
			if err != nil {
				return nil, err
			}
			parts[k] = m
		}
		return NewBlend(parts[0], parts[1], d.Groups.Rows, d.Items, cfg.Weight), nil
	}
	return nil, fmt.Errorf("pref: unknown method %q (want one of %v)", cfg.Method, Methods)
}

// inputs builds a group's scoring row: its own row (orders, and pushes at
// pushWeight) plus Consensus times the mean of its members' own rows (cold
// times it, for a group with no row of its own).
type inputs struct {
	d          *Data
	consensus  float32
	cold       float32
	pushWeight float64
	pop        []float32 // popularity scaled to [0, 1e-4]: breaks ties, ranks cold groups
}

func newInputs(d *Data, consensus, cold, pushWeight float64) *inputs {
	pop := d.Popularity()
	var mx float32
	for _, p := range pop {
		mx = max(mx, p)
	}
	for i := range pop {
		pop[i] = 1e-4 * pop[i] / (mx + 1)
	}
	return &inputs{d: d, consensus: float32(consensus), cold: float32(cold), pushWeight: pushWeight, pop: pop}
}

// coldOf is the weight of the members' mean row in the scoring row of a
// group with none of its own: the consensus when above 0, else 1 when the
// config scores such groups by their members (ColdMembers), else 0.
func coldOf(c Config) float64 {
	if x := consensusOf(c); x > 0 {
		return x
	}
	if c.ColdMembers {
		return 1
	}
	return 0
}

// row appends group g's scoring row (sparse, sorted by item) to cols/ws:
// its own row plus consensus (cold, when it has no own row) times its
// members' mean row.
func (in *inputs) row(g int32, cols []int32, ws []float32) ([]int32, []float32) {
	d := in.d
	c, w := d.OwnRow(g, in.pushWeight)
	cols, ws = append(cols, c...), append(ws, w...)
	consensus := in.consensus
	if len(c) == 0 {
		consensus = in.cold
	}
	if consensus > 0 {
		c, w := d.MembersRow(g)
		for k := range w {
			w[k] *= consensus
		}
		cols, ws = append(cols, c...), append(ws, w...)
	}
	return mergeRow(cols, ws)
}

// mergeRow sorts a sparse row by column and sums duplicates.
func mergeRow(cols []int32, ws []float32) ([]int32, []float32) {
	if len(cols) < 2 {
		return cols, ws
	}
	idx := make([]int, len(cols))
	for k := range idx {
		idx[k] = k
	}
	slices.SortStableFunc(idx, func(a, b int) int { return int(cols[a]) - int(cols[b]) })
	oc, ow := make([]int32, 0, len(cols)), make([]float32, 0, len(cols))
	for _, k := range idx {
		if n := len(oc); n > 0 && oc[n-1] == cols[k] {
			ow[n-1] += ws[k]
			continue
		}
		oc, ow = append(oc, cols[k]), append(ow, ws[k])
	}
	return oc, ow
}

type popular struct{ pop []float32 }

func (p *popular) Score(_ int32, dst []float32) { copy(dst, p.pop) }

// dense scores with an items x items matrix: dst = row(g) S.
type dense struct {
	in *inputs
	s  *recommend.ItemItem
}

func (m *dense) Score(g int32, dst []float32) {
	copy(dst, m.in.pop)
	cols, ws := m.in.row(g, nil, nil)
	for k, j := range cols {
		w := ws[k]
		is, vs := m.s.Row(j)
		for n, i := range is {
			dst[i] += w * vs[n]
		}
	}
}

// stacked is the rows the item-item statistics and factors learn from: the
// groups' rows (with their pushes at pushWeight), then the own rows of the
// members who ordered (weighted by MemberRows), in member order: a member
// without an order has no row (no vector to fit: most members of a large
// world, whose vectors would be most of iALS's memory and time).
func stacked(d *Data, memberRows, pushWeight, confidence float64) *train.Interactions {
	var r, c []int32
	var w []float32
	// add puts m's rows from row off on (skipEmpty: its non-empty rows, one
	// after the other) and returns the rows it took.
	add := func(m *train.Interactions, off int, f float64, skipEmpty bool) int {
		at := off
		for row := range m.Rows {
			cols, ws := m.Row(row)
			if skipEmpty && len(cols) == 0 {
				continue
			}
			for k, j := range cols {
				r, c = append(r, int32(at)), append(c, j)
				v := float64(ws[k])
				if confidence > 0 {
					v *= confidence
				}
				w = append(w, float32(f*v))
			}
			at++
		}
		return at - off
	}
	rows := add(d.Groups, 0, 1, false)
	if pushWeight > 0 && d.hasPushes() {
		add(d.Pushed, 0, pushWeight, false)
	}
	if memberRows > 0 && d.Members != nil {
		rows += add(d.Members, rows, memberRows, true)
	}
	return train.NewInteractions(rows, d.Items, r, c, w)
}

// ials folds each group's scoring row into the item factors.
type ials struct {
	in     *inputs
	conf   float32
	items  *recommend.Factors
	groups *recommend.Factors // the trained group vectors (rows 0..groups-1 of the stacked rows)
	p      *recommend.RowProblem
}

func fitIALS(ctx context.Context, d *Data, in *inputs, cfg Config, seed uint64, workers int) (Model, error) {
	if cfg.Factors <= 0 {
		return nil, fmt.Errorf("pref: ials needs factors > 0")
	}
	ac := train.ALSConfig{Factors: cfg.Factors, Alpha0: float32(cfg.Alpha0), Lambda: float32(cfg.Reg), Nu: 1, Epochs: 12, CGSteps: 3,
		Workers: workers, Seed: seed}
	x := stacked(d, cfg.MemberRows, cfg.PushWeight, cfg.Confidence)
	var m *train.ALS
	var err error
	if p := d.Parts; p != nil {
		m, err = train.TrainALSParts(ctx, p.step("ials"), x, func(r int) int { return p.stackedPart(d, r) }, p.Ex, ac, nil)
	} else {
		m, err = train.TrainALS(ctx, x, ac, nil)
	}
	if err != nil {
		return nil, err
	}
	p := &recommend.RowProblem{Other: m.Items, Gram: recommend.Gram(m.Items), Alpha0: ac.Alpha0, Lambda: ac.Lambda, Nu: ac.Nu, Cols: d.Items}
	return &ials{in: in, conf: float32(cfg.Confidence), items: m.Items, groups: m.Groups, p: p}, nil
}

func (m *ials) Score(g int32, dst []float32) {
	copy(dst, m.in.pop)
	v := m.vector(g)
	if v == nil {
		return
	}
	tmp := scratchScores(len(dst))
	defer scoreScratch.Put(tmp)
	m.items.DotInto(*tmp, v, nil)
	for i := range dst {
		dst[i] += (*tmp)[i]
	}
}

// Blend adds two models' scores, each divided by its standard deviation
// over groups and items (Scale), the second times Weight: a linear
// combination with one weight per part, as the service computes it.
type Blend struct {
	Parts  [2]Model
	Scale  [2]float32 // 1 / standard deviation of each part's scores
	Weight float32
}

// NewBlend measures the parts' scales on up to 500 groups spread evenly over
// groups (all items) and returns their blend.
func NewBlend(a, b Model, groups, items int, weight float64) *Blend {
	bl := &Blend{Parts: [2]Model{a, b}, Weight: float32(weight)}
	dst := make([]float32, items)
	n := min(groups, 500)
	for p, m := range bl.Parts {
		var s, ss, cnt float64
		for k := range n {
			m.Score(int32(k*groups/n), dst)
			for _, v := range dst {
				s += float64(v)
				ss += float64(v) * float64(v)
			}
			cnt += float64(items)
		}
		sd := math.Sqrt(math.Max(ss/cnt-(s/cnt)*(s/cnt), 0))
		bl.Scale[p] = 1
		if sd > 0 {
			bl.Scale[p] = float32(1 / sd)
		}
	}
	return bl
}

// Score writes the blended scores into dst.
func (b *Blend) Score(g int32, dst []float32) {
	b.Parts[0].Score(g, dst)
	tmp := scratchScores(len(dst))
	defer scoreScratch.Put(tmp)
	b.Parts[1].Score(g, *tmp)
	w0, w1 := b.Scale[0], b.Weight*b.Scale[1]
	for i, v := range *tmp {
		dst[i] = w0*dst[i] + w1*v
	}
}

// scoreScratch holds the catalogue-long work slices of Score between calls:
// a validation search scores every group for every configuration it tries,
// and allocating one each time kept the collector busy.
var scoreScratch = sync.Pool{New: func() any { return new([]float32) }}

// scratchScores is a slice of n from scoreScratch (put it back after use).
func scratchScores(n int) *[]float32 {
	buf := scoreScratch.Get().(*[]float32)
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	*buf = (*buf)[:n]
	return buf
}
