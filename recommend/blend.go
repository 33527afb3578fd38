package recommend

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"grouprank/data"
	"grouprank/features"
)

// Objective weighs what a pick is worth. An item's score is
//
//	log q + Price*log(price) + Commission*log(max(commission_cents, Eps)) + Rating*logit(clip(rating, 0.01, 0.99))
//
//	  - Caution*thin
//
// where q is the push's calibrated expected orders (Conversion.ExpectedOrdersAt), so the empty objective ranks by expected orders, Price = 1 by
// expected GMV (q x price), Commission = 1 by expected commission
// (q x commission), and Rating adds a quality term. Prices are in yuan;
// rating is the item's good-review rate. The caution term discounts items
// whose own record is thin (Inputs.Thin: prior / (pushes + prior), 1 for an
// item never pushed, near 0 for one pushed thousands of times): the top of
// a ranking over thousands of items is where the model is most optimistic,
// and most so about items it has seen least (the winner's curse), so a
// little pessimism there buys both commission and orders (docs/model.md).
// Caution nil means DefaultCaution.
type Objective struct {
	Name       string   `json:"name"`
	Price      float64  `json:"price"`
	Commission float64  `json:"commission"`
	Rating     float64  `json:"rating"`
	Caution    *float64 `json:"caution,omitempty"`
}

// DefaultCaution is the caution of every named objective and of blends that
// do not set one.
const DefaultCaution = 1.0

// MaxCaution bounds Objective.Caution.
const MaxCaution = 10.0

// CautionWeight is the objective's caution: DefaultCaution unless set.
func (o *Objective) CautionWeight() float64 {
	if o.Caution == nil {
		return DefaultCaution
	}
	return *o.Caution
}

// WithCaution returns the objective with caution c.
func (o Objective) WithCaution(c float64) Objective {
	o.Caution = &c
	return o
}

// EpsCommissionCents is the floor of the commission inside the log, so items
// that pay none are pushed down, not out.
const EpsCommissionCents = 1.0

// Objectives are the named objectives ops can pick per request or per arm.
func Objectives() []Objective {
	return []Objective{
		{Name: "orders"},
		{Name: "gmv", Price: 1},
		{Name: "commission", Commission: 1},
		{Name: "commission-quality", Commission: 1, Rating: 0.5},
	}
}

// ObjectiveByName finds a named objective; the error lists every name a
// request may give, Practice included (which ranks without an Objective).
func ObjectiveByName(name string) (Objective, error) {
	var names []string
	for _, o := range Objectives() {
		if o.Name == name {
			return o, nil
		}
		names = append(names, o.Name)
	}
	names = append(names, Practice)
	return Objective{}, fmt.Errorf("%w: unknown objective %q (known: %s)", data.ErrInvalid, name, strings.Join(names, ", "))
}

// ExpectedOrders is the expected number of orders of a push whose chance of
// at least one order is p, when its orders are Poisson: -ln(1 - p). It is p
// for small p and grows without bound as p nears 1, so an item that sells
// several units a push is not capped at the value of one.
func ExpectedOrders(p float64) float64 { return -math.Log1p(-math.Min(p, 1-1e-9)) }

// Parts are an item's score and its terms.
type Parts struct {
	P          float64 `json:"p"`                   // calibrated P(order | push)
	Orders     float64 `json:"expected_orders"`     // ExpectedOrders(p)
	LogP       float64 `json:"log_expected_orders"` // log of the expected orders
	Price      float64 `json:"price"`               // Objective.Price * log(price)
	Commission float64 `json:"commission"`          // Objective.Commission * log(max(commission_cents, eps))
	Rating     float64 `json:"rating_term"`         // Objective.Rating * logit(rating)
	Caution    float64 `json:"caution_term"`        // -Objective.Caution * thin (ScoreIn; 0 from Score)
	Score      float64 `json:"score"`               // their sum
}

// Score blends p and the expected orders q with item i's price, commission and rating.
func (o *Objective) Score(cat *features.Catalog, i int32, p, q float64) Parts {
	pt := Parts{P: p, Orders: q}
	pt.LogP = math.Log(math.Max(pt.Orders, 1e-9))
	if o.Price != 0 {
		pt.Price = o.Price * math.Log(math.Max(float64(cat.PriceCents[i]), 1)/100)
	}
	if o.Commission != 0 {
		cc := math.Max(0, float64(cat.PriceCents[i])) * float64(cat.Commission[i])
		pt.Commission = o.Commission * math.Log(math.Max(cc, EpsCommissionCents))
	}
	if o.Rating != 0 {
		r := 0.0
		if cat.Reviews[i] > 0 {
			r = float64(cat.GoodReviews[i]) / float64(cat.Reviews[i])
		}
		r = math.Min(math.Max(r, 0.01), 0.99)
		pt.Rating = o.Rating * math.Log(r/(1-r))
	}
	pt.Score = pt.LogP + pt.Price + pt.Commission + pt.Rating
	return pt
}

// ScoreIn is Score with the caution term, which needs the item's record
// (in.Thin); a preference model (no pushes, no conversion record) has none.
func (o *Objective) ScoreIn(in *Inputs, i int32, p, q float64) Parts {
	pt := o.Score(in.Cat, i, p, q)
	if c, thin := o.CautionWeight(), in.Thin(int(i)); c != 0 && thin != 0 && in.Pref == nil {
		pt.Caution = -c * thin
		pt.Score += pt.Caution
	}
	return pt
}

// Floors are hard filters no objective can buy its way past.
type Floors struct {
	MinRating float64 `json:"min_rating"` // good-review rate at least this (items without reviews pass only when 0)
	// Eligible: only items active and in stock in the catalogue (always on online).
	Eligible bool `json:"eligible"`
	// Request filters: an L1 category index (-1 or unset with HasCategory false: any),
	// a price range in cents (0: open), SKUs to leave out.
	HasCategory        bool           `json:"-"`
	Category           int32          `json:"-"`
	PriceMin, PriceMax int64          `json:"-"`
	Exclude            map[int32]bool `json:"-"`
	Blocked            []bool         `json:"-"` // per item: ops' blocklists (Rules)
}

// Pass reports whether item i clears the floors.
func (f *Floors) Pass(cat *features.Catalog, i int32) bool {
	if f.Eligible && !cat.Eligible[i] {
		return false
	}
	if int(i) < len(f.Blocked) && f.Blocked[i] {
		return false
	}
	if f.MinRating > 0 {
		if cat.Reviews[i] == 0 || float64(cat.GoodReviews[i])/float64(cat.Reviews[i]) < f.MinRating {
			return false
		}
	}
	if f.HasCategory && cat.L1[i] != f.Category {
		return false
	}
	if (f.PriceMin > 0 && cat.PriceCents[i] < f.PriceMin) || (f.PriceMax > 0 && (cat.PriceCents[i] < 0 || cat.PriceCents[i] > f.PriceMax)) {
		return false
	}
	return f.Exclude == nil || !f.Exclude[i]
}

// Pick is one ranked item.
type Pick struct {
	Item  int32 // index into the catalogue
	Parts Parts
}

// ItemTerms are the item-only part of obj's score for every item (Score
// minus log p), to rank many groups without recomputing them.
func ItemTerms(in *Inputs, obj Objective) []float64 {
	out := make([]float64, in.Cat.Len())
	for i := range out {
		pt := obj.ScoreIn(in, int32(i), 1, 1)
		out[i] = pt.Score - pt.LogP
	}
	return out
}

// TopK ranks every item that clears the floors by the objective given their
// calibrated probabilities p and expected orders q (from Scorer.Predict;
// items with q = 0 are not candidates) and the objective's ItemTerms, and
// returns the best k, best first; ties go to the smaller SKU.
func TopK(in *Inputs, p, q []float32, terms []float64, obj Objective, floors Floors, k int) []Pick {
	return TopKOf(in, nil, p, q, terms, obj, floors, k)
}

// TopKOf is TopK over the listed items only (nil: every item).
func TopKOf(in *Inputs, items []int32, p, q []float32, terms []float64, obj Objective, floors Floors, k int) []Pick {
	cat := in.Cat
	type cand struct {
		i int32
		s float64
	}
	h := make([]cand, 0, k+1) // min-heap on score by insertion into a sorted slice (k is small)
	worse := func(a, b cand) bool {
		if a.s != b.s {
			return a.s < b.s
		}
		return cat.SKUs[a.i] > cat.SKUs[b.i]
	}
	n := len(q)
	if items != nil {
		n = len(items)
	}
	for x := range n {
		ii := int32(x)
		if items != nil {
			ii = items[x]
		}
		i := ii
		if q[i] <= 0 || !floors.Pass(cat, ii) {
			continue
		}
		s := math.Log(float64(q[i])) + terms[i]
		c := cand{ii, s}
		if len(h) == k && !worse(h[0], c) {
			continue
		}
		pos := sort.Search(len(h), func(j int) bool { return worse(c, h[j]) })
		if len(h) == k {
			// the worst goes: shift the worse entries down over it (h[1:]
			// would creep through the array and grow it again)
			copy(h, h[1:pos])
			h[pos-1] = c
			continue
		}
		h = append(h, cand{})
		copy(h[pos+1:], h[pos:])
		h[pos] = c
	}
	out := make([]Pick, len(h))
	for r := range h {
		c := h[len(h)-1-r]
		out[r] = Pick{Item: c.i, Parts: obj.ScoreIn(in, c.i, float64(p[c.i]), float64(q[c.i]))}
	}
	return out
}

// PracticeTopK is today's practice on the same catalogue and floors: the one
// list for everyone from data.RankByPractice.
func PracticeTopK(cat *features.Catalog, floors Floors, k int) []int32 {
	var idx []int32
	var ps []data.Product
	for i := range cat.Len() {
		if floors.Pass(cat, int32(i)) {
			idx = append(idx, int32(i))
			ps = append(ps, cat.Products[i])
		}
	}
	order := data.RankByPractice(ps)
	out := make([]int32, 0, k)
	for _, o := range order[:min(k, len(order))] {
		out = append(out, idx[o])
	}
	return out
}
