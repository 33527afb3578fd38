package pref

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"

	"golang.org/x/sync/errgroup"

	"grouprank/recommend"
)

// Served is a fitted model in the linear form the service computes (package
// recommend, Preference): score = ALSWeight x (the group's vector . item
// vector) + ItemItemWeight x (the group's row . ItemItem column) +
// PriorWeight x Prior. A group's vector is folded from Confidence x (own
// row + VectorConsensus x members' mean row); its item-item row is own +
// Consensus x members. A group with no own row reads its members at
// ColdVectorConsensus and ColdConsensus instead. Score of the model and of
// its Served form agree.
type Served struct {
	Items           *recommend.Factors // nil: no vectors
	ALSWeight       float64
	VectorConsensus float64
	Confidence      float64
	Alpha0, Reg     float64 // the iALS row problem's settings
	ItemItem        *recommend.ItemItem
	ItemItemWeight  float64
	Consensus       float64
	// ColdConsensus and ColdVectorConsensus are Consensus and
	// VectorConsensus for a group with no own row (Config.ColdMembers).
	ColdConsensus, ColdVectorConsensus float64
	Prior                              []float32
	PriorWeight                        float64
	// PushWeight is the weight of a push that led to no order in the
	// group's own row (Data.OwnRow), for the vector and the item-item row.
	PushWeight float64
	vector     func(g int32) []float32
}

// Vector is group g's vector (nil without item vectors or a row).
func (s *Served) Vector(g int32) []float32 {
	if s.vector == nil {
		return nil
	}
	return s.vector(g)
}

// NotServableError says a model cannot be put in the service's form.
type NotServableError struct{ Method, Reason string }

func (e *NotServableError) Error() string {
	return fmt.Sprintf("pref: %s cannot be served: %s", e.Method, e.Reason)
}

// Serve returns m's serving form.
func Serve(m Model) (*Served, error) {
	switch x := m.(type) {
	case *popular:
		return &Served{Prior: x.pop, PriorWeight: 1}, nil
	case *dense:
		return &Served{ItemItem: x.s, ItemItemWeight: 1, Consensus: float64(x.in.consensus), ColdConsensus: float64(x.in.cold), Prior: x.in.pop, PriorWeight: 1,
			PushWeight: x.in.pushWeight}, nil
	case *ials:
		return &Served{Items: x.items, ALSWeight: 1, VectorConsensus: float64(x.in.consensus), ColdVectorConsensus: float64(x.in.cold), Confidence: float64(x.conf),
			Alpha0: float64(x.p.Alpha0), Reg: float64(x.p.Lambda), Prior: x.in.pop, PriorWeight: 1, PushWeight: x.in.pushWeight, vector: x.vector}, nil
	case *Blend:
		a, err := Serve(x.Parts[0])
		if err != nil {
			return nil, err
		}
		b, err := Serve(x.Parts[1])
		if err != nil {
			return nil, err
		}
		return compose(a, b, float64(x.Scale[0]), float64(x.Weight*x.Scale[1]))
	}
	return nil, &NotServableError{fmt.Sprintf("%T", m), "unknown model"}
}

// compose is wa x a + wb x b.
func compose(a, b *Served, wa, wb float64) (*Served, error) {
	if a.Items != nil && b.Items != nil {
		return nil, &NotServableError{MethodBlend, "both parts have item vectors"}
	}
	if reads(a) && reads(b) && a.PushWeight != b.PushWeight {
		return nil, &NotServableError{MethodBlend, "the parts weigh pushes differently"}
	}
	out := &Served{}
	for _, p := range []struct {
		s *Served
		w float64
	}{{a, wa}, {b, wb}} {
		if reads(p.s) {
			out.PushWeight = p.s.PushWeight
		}
		if p.s.Items != nil {
			out.Items, out.ALSWeight, out.VectorConsensus, out.ColdVectorConsensus, out.Confidence = p.s.Items, p.w*p.s.ALSWeight, p.s.VectorConsensus, p.s.ColdVectorConsensus, p.s.Confidence
			out.Alpha0, out.Reg, out.vector = p.s.Alpha0, p.s.Reg, p.s.vector
		}
		if p.s.ItemItem != nil {
			if out.ItemItem != nil {
				if out.Consensus != p.s.Consensus || out.ColdConsensus != p.s.ColdConsensus {
					return nil, &NotServableError{MethodBlend, "both parts are item-item methods with different consensus weights"}
				}
				sum, err := addItemItem(out.ItemItem, p.s.ItemItem, float32(p.w*p.s.ItemItemWeight/out.ItemItemWeight))
				if err != nil {
					return nil, err
				}
				out.ItemItem = sum
			} else {
				out.ItemItem, out.ItemItemWeight, out.Consensus, out.ColdConsensus = p.s.ItemItem, p.w*p.s.ItemItemWeight, p.s.Consensus, p.s.ColdConsensus
			}
		}
		if p.s.Prior != nil {
			if out.Prior == nil {
				out.Prior = make([]float32, len(p.s.Prior))
				out.PriorWeight = 1
			}
			for i, v := range p.s.Prior {
				out.Prior[i] += float32(p.w*p.s.PriorWeight) * v
			}
		}
	}
	return out, nil
}

// reads reports whether a served model reads the group's own row.
func reads(s *Served) bool { return s.Items != nil || s.ItemItem != nil }

// servable reports whether blending a and b gives a servable model. The
// members' counts are a reference, never a blend's first part, but may be
// its second.
func servable(a, b Config) bool {
	switch {
	case a.Method == MethodMembers:
		return false
	case a.Method != MethodPopular && b.Method != MethodPopular && a.PushWeight != b.PushWeight:
		return false
	case a.Method == MethodIALS && b.Method == MethodIALS:
		return false
	case isDense(a.Method) && isDense(b.Method):
		return consensusOf(a) == consensusOf(b)
	}
	return true
}

// servableBeside reports whether blending the (possibly blended) model a
// with b gives a servable model: b beside each of a's methods (Leaves).
func servableBeside(a, b Config) bool {
	for _, l := range a.Leaves() {
		if l.Method == MethodMembers {
			if !servable(b, l) {
				return false
			}
		} else if !servable(l, b) {
			return false
		}
	}
	return true
}

// Leaves are the methods a blend adds (c itself when not a blend), in order.
func (c Config) Leaves() []Config {
	if c.Method != MethodBlend {
		return []Config{c}
	}
	var out []Config
	for _, p := range c.Parts {
		out = append(out, p.Leaves()...)
	}
	return out
}

// isDense reports whether m scores through an item-item matrix (the
// members' model through the identity).
func isDense(m string) bool {
	return m == MethodItemKNN || m == MethodEASE || m == MethodGraph || m == MethodMembers
}

// consensusOf is the weight of the members' mean row in c's scoring row;
// the members' model is that row, at weight 1 unless set.
func consensusOf(c Config) float64 {
	if c.Method == MethodMembers && c.Consensus == 0 {
		return 1
	}
	return c.Consensus
}

// vector is group g's vector: its trained one when its row is its own
// orders alone (consensus 0), else its row folded into the item factors
// (a group with no own row: its members' row, when the model reads it).
func (m *ials) vector(g int32) []float32 {
	if m.in.consensus == 0 {
		if cols, _ := m.in.d.OwnRow(g, m.in.pushWeight); len(cols) > 0 {
			return m.groups.Row(int(g))
		}
		if m.in.cold == 0 {
			return nil
		}
	}
	cols, ws := m.in.row(g, nil, nil)
	if len(cols) == 0 {
		return nil
	}
	for k := range ws {
		ws[k] *= m.conf
	}
	return m.p.FoldIn(cols, ws)
}

// MembersRow is the mean of group g's members' rows (those with orders
// outside g), each without the orders placed in g, sorted by item.
func (d *Data) MembersRow(g int32) ([]int32, []float32) {
	if !d.hasMembers() || int(g) >= d.Of.Rows {
		return nil, nil
	}
	ms, _ := d.Of.Row(int(g))
	var placed []Placed
	if int(g) < len(d.Placed) {
		placed = d.Placed[g]
	}
	var cols []int32
	var ws []float32
	n := 0
	for _, m := range ms {
		c, w := d.Members.Row(int(m))
		start := len(cols)
		cols, ws = append(cols, c...), append(ws, w...)
		for _, p := range placed { // the member's orders in this group are the group's own
			if p.Member == m {
				cols, ws = append(cols, p.Item), append(ws, -p.Weight)
			}
		}
		mc, mw := mergeRow(cols[start:], ws[start:])
		cols, ws = cols[:start], ws[:start]
		kept := false
		for k, x := range mw {
			if x > 1e-6 {
				cols, ws, kept = append(cols, mc[k]), append(ws, x), true
			}
		}
		if kept {
			n++
		}
	}
	for k := range ws {
		ws[k] /= float32(n)
	}
	return mergeRow(cols, ws)
}

// Calibration is a Platt map from a model's score to the probability that
// the group orders the item in the held-out part, fitted on validation.
type Calibration struct {
	A         float64 `json:"a"`
	B         float64 `json:"b"`
	Pairs     int     `json:"pairs"`     // (group, item) pairs, positives all, negatives sampled
	Positives int     `json:"positives"` // held-out (group, item) pairs
	LogLoss   float64 `json:"log_loss"`  // weighted, over every unseen pair (negatives by their sampling weight)
	Predicted float64 `json:"predicted"` // expected held-out items per group
	Observed  float64 `json:"observed"`  // held-out items per group
}

// Calibrate fits p = sigmoid(A score + B) on the split: every held-out
// (group, item) pair and, per group, up to negatives unseen items sampled
// (seeded), each weighing for the unseen items it stands for.
func Calibrate(ctx context.Context, m Model, s *Split, negatives int, seed uint64) (*Calibration, error) {
	var gs []int32
	for g, t := range s.Targets {
		if len(t) > 0 {
			gs = append(gs, int32(g))
		}
	}
	if len(gs) == 0 {
		return nil, fmt.Errorf("pref: calibration: the validation split holds no group")
	}
	// Each group's pairs are drawn from its own seeded stream, so the
	// groups are scored on every core, each writing its pairs where they
	// go in group order: its held-out items, then min(negatives, its pool)
	// of the others it has not seen (at counts, found first).
	at := make([]int, len(gs)+1)
	for n, g := range gs {
		pos, union := distinctUnion(s.Train.Seen(g), s.Targets[g])
		at[n+1] = at[n] + pos + min(negatives, s.Train.Items-union)
	}
	x, y, w := make([]float64, at[len(gs)]), make([]float64, at[len(gs)]), make([]float64, at[len(gs)])
	parts := s.Train.Parts
	owner := func(n int) int { return parts.rowPart(s.Train, int(gs[n])) }
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(runtime.GOMAXPROCS(0))
	const block = 64
	for lo := 0; lo < len(gs); lo += block {
		eg.Go(func() error {
			dst := make([]float32, s.Train.Items)
			var pool []int32
			var perm []int
			for n := lo; n < min(lo+block, len(gs)); n++ {
				if err := ectx.Err(); err != nil {
					return err
				}
				if !parts.mine(owner, n) {
					continue
				}
				g := gs[n]
				t := s.Targets[g]
				m.Score(g, dst)
				seen := s.Train.Seen(g)
				k := at[n]
				pool = pool[:0]
				si, ti := 0, 0 // seen and t are sorted: walked beside the items
				for i := range int32(s.Train.Items) {
					for si < len(seen) && seen[si] < i {
						si++
					}
					for ti < len(t) && t[ti] < i {
						ti++
					}
					switch {
					case ti < len(t) && t[ti] == i:
						x[k], y[k], w[k] = float64(dst[i]), 1, 1
						k++
					case si == len(seen) || seen[si] != i:
						pool = append(pool, i)
					}
				}
				if len(pool) > 0 {
					// rand.Perm's draws into a reused slice: the same permutation.
					r := rand.New(rand.NewPCG(seed, uint64(g)))
					take := min(negatives, len(pool))
					wt := float64(len(pool)) / float64(take)
					perm = perm[:0]
					for q := range len(pool) {
						perm = append(perm, q)
					}
					r.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
					for _, q := range perm[:take] {
						x[k], y[k], w[k] = float64(dst[pool[q]]), 0, wt
						k++
					}
				}
				if k != at[n+1] {
					return fmt.Errorf("pref: calibration: group %d made %d pairs, counted %d", g, k-at[n], at[n+1]-at[n])
				}
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	if parts != nil {
		if err := parts.joinSegments(ctx, "calibration", len(gs), at, owner, x, y, w); err != nil {
			return nil, err
		}
	}
	groups := len(gs)
	a, b := platt(x, y, w)
	c := &Calibration{A: a, B: b, Pairs: len(x)}
	var sw float64
	for k := range x {
		p := 1 / (1 + math.Exp(-(a*x[k] + b)))
		p = math.Min(math.Max(p, 1e-12), 1-1e-12)
		c.LogLoss -= w[k] * (y[k]*math.Log(p) + (1-y[k])*math.Log(1-p))
		sw += w[k]
		c.Predicted += w[k] * p
		if y[k] == 1 {
			c.Positives++
		}
	}
	c.LogLoss /= sw
	c.Predicted /= float64(groups)
	c.Observed = float64(c.Positives) / float64(groups)
	return c, nil
}

// distinctUnion counts the distinct items of sorted t, and of sorted seen
// and t together.
func distinctUnion(seen, t []int32) (inT, union int) {
	si, ti := 0, 0
	for si < len(seen) || ti < len(t) {
		var v int32
		switch {
		case ti == len(t) || (si < len(seen) && seen[si] < t[ti]):
			v = seen[si]
		default:
			v = t[ti]
			inT++
		}
		union++
		for si < len(seen) && seen[si] == v {
			si++
		}
		for ti < len(t) && t[ti] == v {
			ti++
		}
	}
	return inT, union
}

// platt fits a weighted one-feature logistic regression by Newton's method
// (a tiny ridge keeps it finite when the classes separate).
func platt(x, y, w []float64) (a, b float64) {
	const ridge = 1e-6
	for range 100 {
		var ga, gb, haa, hab, hbb float64
		for k := range x {
			p := 1 / (1 + math.Exp(-(a*x[k] + b)))
			r := w[k] * (p - y[k])
			ga += r * x[k]
			gb += r
			v := w[k] * p * (1 - p)
			haa += v * x[k] * x[k]
			hab += v * x[k]
			hbb += v
		}
		ga += ridge * a
		haa += ridge
		hbb += ridge
		det := haa*hbb - hab*hab
		if det <= 0 {
			break
		}
		da, db := (hbb*ga-hab*gb)/det, (haa*gb-hab*ga)/det
		a, b = a-da, b-db
		if math.Abs(da)+math.Abs(db) < 1e-10 {
			break
		}
	}
	return a, b
}

// addItemItem is a + f x b, row by row.
func addItemItem(a, b *recommend.ItemItem, f float32) (*recommend.ItemItem, error) {
	return recommend.NewItemItem(max(a.N, b.N), func(j int) ([]int32, []float32) {
		ac, aw := a.Row(int32(j))
		bc, bw := b.Row(int32(j))
		cols, ws := make([]int32, 0, len(ac)+len(bc)), make([]float32, 0, len(ac)+len(bc))
		x, y := 0, 0
		for x < len(ac) || y < len(bc) {
			switch {
			case y == len(bc) || (x < len(ac) && ac[x] < bc[y]):
				cols, ws = append(cols, ac[x]), append(ws, aw[x])
				x++
			case x == len(ac) || bc[y] < ac[x]:
				cols, ws = append(cols, bc[y]), append(ws, f*bw[y])
				y++
			default:
				cols, ws = append(cols, ac[x]), append(ws, aw[x]+f*bw[y])
				x, y = x+1, y+1
			}
		}
		return cols, ws
	})
}
