package recommend

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"

	"grouprank/data"
	"grouprank/features"
)

// Practice names today's practice as an objective: the one list for everyone
// by good-review rate and commission rate (data.RankByPractice), so an
// experiment can keep it as its control.
const Practice = "practice"

// MaxDepth bounds the candidates per source a request may ask for.
const MaxDepth = 2000

type blendCache struct {
	terms []float64
	boost []float32
}

// blendTerms are an arm's own blend's item terms and boost, computed once
// per model and blend.
func (m *Model) blendTerms(obj Objective) ([]float64, []float32) {
	key := [4]float64{obj.Price, obj.Commission, obj.Rating, obj.CautionWeight()}
	if c, ok := m.blends.Load(key); ok {
		bc := c.(*blendCache)
		return bc.terms, bc.boost
	}
	bc := &blendCache{terms: ItemTerms(m.Ranker.Scorer.in, obj)}
	if m.rules != nil {
		bc.terms = m.rules.apply(bc.terms)
	}
	if obj.Price != 0 || obj.Commission != 0 || obj.Rating != 0 {
		bc.boost = Boost(bc.terms)
	}
	c, _ := m.blends.LoadOrStore(key, bc)
	bc = c.(*blendCache)
	return bc.terms, bc.boost
}

// rankerAt is the model's ranker with depth candidates per source (0: the
// default one); each depth gets its own ranker and caches, made once.
func (m *Model) rankerAt(depth int) *Ranker {
	if depth == 0 || depth == m.Ranker.Depth {
		return m.Ranker
	}
	if r, ok := m.rankers.Load(depth); ok {
		return r.(*Ranker)
	}
	r := NewRanker(m.Ranker.Scorer)
	r.Depth = depth
	got, _ := m.rankers.LoadOrStore(depth, r)
	return got.(*Ranker)
}

// practicePicks are the first k eligible items of today's practice order
// that pass the floors (and the category cap), with the model's p and
// expected orders beside them (the orders objective's parts).
func (m *Model) practicePicks(g *Group, rec *features.Recent, floors Floors, req PicksRequest, s *RankScratch) []Pick {
	cat := m.Ranker.Scorer.in.Cat
	m.practice.once.Do(func() {
		var idx []int32
		var ps []data.Product
		for i := range cat.Len() {
			if cat.Eligible[i] {
				idx = append(idx, int32(i))
				ps = append(ps, cat.Products[i])
			}
		}
		for _, o := range data.RankByPractice(ps) {
			m.practice.order = append(m.practice.order, idx[o])
		}
	})
	capped := newCap(cat, req.CategoryCap)
	var items []int32
	for _, i := range m.practice.order {
		if len(items) == req.K {
			break
		}
		if floors.Pass(cat, i) && capped.take(i) {
			items = append(items, i)
		}
	}
	m.Ranker.Scorer.PredictAt(g, rec, nil, items, s.probs, s.orders)
	obj, _ := ObjectiveByName("orders")
	out := make([]Pick, len(items))
	for r, i := range items {
		out[r] = Pick{Item: i, Parts: obj.Score(cat, i, float64(s.probs[i]), float64(s.orders[i]))}
	}
	return out
}

// categoryCap counts picks per L1 category against a cap (0: none).
type categoryCap struct {
	cat   *features.Catalog
	limit int
	n     map[int32]int
}

func newCap(cat *features.Catalog, limit int) *categoryCap {
	return &categoryCap{cat: cat, limit: limit, n: map[int32]int{}}
}

// take counts item i in and reports whether it fits under the cap.
func (c *categoryCap) take(i int32) bool {
	if c.limit <= 0 {
		return true
	}
	l1 := c.cat.L1[i]
	if c.n[l1] >= c.limit {
		return false
	}
	c.n[l1]++
	return true
}

// PickCapped is Pick with at most capN picks per L1 category (0: Pick):
// the candidates in score order, each taken unless its category is full.
func (r *Ranker) PickCapped(obj Objective, terms []float64, floors Floors, k, capN int, s *RankScratch) []Pick {
	if capN <= 0 {
		return r.Pick(obj, terms, floors, k, s)
	}
	cat := r.Scorer.in.Cat
	all := TopKOf(r.Scorer.in, s.list, s.probs, s.orders, terms, obj, floors, len(s.list))
	c := newCap(cat, capN)
	out := make([]Pick, 0, k)
	for _, p := range all {
		if len(out) == k {
			break
		}
		if c.take(p.Item) {
			out = append(out, p)
		}
	}
	return slices.Clip(out)
}

// ApplyOptions sets the ranker options an experiment arm carries (name ->
// value, as in experiment.Options) on a request; model_version is the
// caller's to apply (it picks the model) and is only checked for a name
// here. An unknown option or a bad value is an error naming it.
func ApplyOptions(req *PicksRequest, opts map[string]string) error {
	bad := func(name, v, want string) error {
		return fmt.Errorf("%w: ranker option %s=%q: want %s", data.ErrInvalid, name, v, want)
	}
	weight := func(name, v string) (float64, error) {
		w, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(w) || math.Abs(w) > 10 {
			return 0, bad(name, v, "a number within -10..10")
		}
		return w, nil
	}
	names := slices.Sorted(maps.Keys(opts))
	if i := slices.Index(names, "objective"); i > 0 { // the objective first: the weights override its blend
		names = append(append([]string{"objective"}, names[:i]...), names[i+1:]...)
	}
	for _, name := range names {
		v := opts[name]
		switch name {
		case "objective":
			if _, err := ObjectiveByName(v); err != nil && v != Practice {
				return bad(name, v, "practice or a named objective")
			}
			req.Objective = v
		case "price_weight", "commission_weight", "rating_weight", "caution":
			var w float64
			if name == "caution" {
				c, err := strconv.ParseFloat(v, 64)
				if err != nil || !(c >= 0 && c <= MaxCaution) {
					return bad(name, v, fmt.Sprintf("a number within 0..%g", MaxCaution))
				}
				w = c
			} else {
				var err error
				if w, err = weight(name, v); err != nil {
					return err
				}
			}
			if req.Blend == nil {
				name := req.Objective
				if name == "" || name == Practice {
					name = "orders"
				}
				o, err := ObjectiveByName(name)
				if err != nil {
					return err
				}
				req.Blend = &o
			}
			switch name {
			case "price_weight":
				req.Blend.Price = w
			case "commission_weight":
				req.Blend.Commission = w
			case "caution":
				req.Blend.Caution = &w
			default:
				req.Blend.Rating = w
			}
		case "category_cap":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > MaxK {
				return bad(name, v, fmt.Sprintf("an integer within 0..%d", MaxK))
			}
			req.CategoryCap = n
		case "candidate_depth":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > MaxDepth {
				return bad(name, v, fmt.Sprintf("an integer within 1..%d", MaxDepth))
			}
			req.Depth = n
		case "explore":
			x, err := strconv.ParseFloat(v, 64)
			if err != nil || !(x >= 0 && x <= 1) {
				return bad(name, v, "a share within 0..1")
			}
			req.Explore = x
		case "model_version":
			if v == "" {
				return bad(name, v, "a published model version")
			}
		default:
			return fmt.Errorf("%w: unknown ranker option %q", data.ErrInvalid, name)
		}
	}
	return nil
}

// CommissionRate is the sku's commission rate in the model's catalogue (0
// when unknown): what an experiment report turns order amounts into
// commission with.
func (m *Model) CommissionRate(sku data.SKU) float64 {
	cat := m.Ranker.Scorer.in.Cat
	if i, ok := cat.Index[sku]; ok {
		return cat.Products[i].Commission
	}
	return 0
}
