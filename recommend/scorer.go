package recommend

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"

	"github.com/viterin/vek/vek32"

	"grouprank/features"
)

// Conversion is a fitted model of P(order | push): a logistic regression on
// the raw features, then a monotone calibration of its logit.
type Conversion struct {
	Features    []string    `json:"features"` // FeatureNames() when it was fitted
	Weights     []float64   `json:"weights"`  // one per feature, on raw feature values
	Bias        float64     `json:"bias"`
	Calibration Calibration `json:"calibration"`
	// OrderWeights and OrderBias are a log-linear (Poisson) model of the
	// push's attributed orders on the same features; Orders calibrates its
	// log-mean to the expected orders (isotonic on the calibration window).
	// Without them the expected orders are ExpectedOrders(p).
	OrderWeights []float64   `json:"order_weights,omitempty"`
	OrderBias    float64     `json:"order_bias,omitempty"`
	Orders       Calibration `json:"orders_calibration"`
}

// Check reports whether the model fits this build's features. A model fitted
// by an earlier build, whose features are a prefix of this build's (features
// are only ever appended), is first extended with weight 0 for the later
// ones, so it scores exactly as it did.
func (c *Conversion) Check() error {
	c.extend()
	if !slices.Equal(c.Features, FeatureNames()) || len(c.Weights) != NumFeatures {
		return fmt.Errorf("conversion model: features %v do not match this build's %v", c.Features, FeatureNames())
	}
	for i, w := range c.Weights {
		if math.IsNaN(w) || math.IsInf(w, 0) {
			return fmt.Errorf("conversion model: weight %s is %g", c.Features[i], w)
		}
	}
	if err := c.Calibration.Check(); err != nil {
		return err
	}
	if c.OrderWeights == nil {
		return nil
	}
	if len(c.OrderWeights) != NumFeatures {
		return fmt.Errorf("conversion model: %d order weights for %d features", len(c.OrderWeights), NumFeatures)
	}
	return c.Orders.Check()
}

// extend appends zero weights for the features a model fitted by an earlier
// build lacks (see Check); anything else is left for Check to refuse.
func (c *Conversion) extend() {
	names := FeatureNames()
	n := len(c.Features)
	if n == 0 || n >= len(names) || !slices.Equal(c.Features, names[:n]) || len(c.Weights) != n ||
		(c.OrderWeights != nil && len(c.OrderWeights) != n) {
		return
	}
	c.Features = names
	c.Weights = append(c.Weights, make([]float64, len(names)-n)...)
	if c.OrderWeights != nil {
		c.OrderWeights = append(c.OrderWeights, make([]float64, len(names)-n)...)
	}
}

// Orders reports whether the model has its own expected-orders part.
func (c *Conversion) hasOrders() bool { return c.OrderWeights != nil }

// LogMean is the orders model's uncalibrated log-mean of raw features x.
func (c *Conversion) LogMean(x []float64) float64 {
	z := c.OrderBias
	for f, w := range c.OrderWeights {
		z += w * x[f]
	}
	return z
}

// ExpectedOrdersAt is the calibrated expected orders at the orders model's log-mean z.
func (c *Conversion) ExpectedOrdersAt(z float64) float64 { return math.Max(c.Orders.Value(z), 1e-9) }

// ExpectedOrdersOf is the expected orders of a push with raw features x.
func (c *Conversion) ExpectedOrdersOf(x []float64) float64 {
	if !c.hasOrders() {
		return ExpectedOrders(c.Prob(x))
	}
	return c.ExpectedOrdersAt(c.LogMean(x))
}

// Logit is the uncalibrated score of raw features x.
func (c *Conversion) Logit(x []float64) float64 {
	z := c.Bias
	for f, w := range c.Weights {
		z += w * x[f]
	}
	return z
}

// Prob is the calibrated probability of raw features x.
func (c *Conversion) Prob(x []float64) float64 { return c.Calibration.Apply(c.Logit(x)) }

// Calibration maps a logit to a probability.
type Calibration struct {
	// Method is "platt" (p = sigmoid(A z + B)), "isotonic" (piecewise-linear
	// through the knots X -> Y) or "none" (sigmoid(z)).
	Method string    `json:"method"`
	A      float64   `json:"a,omitempty"`
	B      float64   `json:"b,omitempty"`
	X      []float64 `json:"x,omitempty"`
	Y      []float64 `json:"y,omitempty"`
	// Link, LowSlope and HighSlope continue an isotonic map beyond its
	// first and last knots: link(value) goes on along a line of that slope
	// in z, link being "logit" (probabilities) or "log" (expected counts).
	// Without a link the map is flat beyond its knots: the pushes the model
	// rates above the last knot (an active group's best items) or below the
	// first all get the same value, so their order among themselves is lost
	// and an objective ranks them by price or commission alone.
	Link      string  `json:"link,omitempty"`
	LowSlope  float64 `json:"low_slope,omitempty"`
	HighSlope float64 `json:"high_slope,omitempty"`
	// idx, when not nil, finds an isotonic map's knot faster (indexed).
	idx *knotIndex
}

// knotIndex cuts [X[0], X[n-1]] into equal buckets and holds, per bucket,
// the first knot at or above its lower end: a lookup starts there and
// steps to the knot a binary search finds, wherever the bucket's rounding
// put it.
type knotIndex struct {
	x0, inv float64 // bucket of z: (z - x0) * inv
	starts  []int32
}

// indexed is c with a knot index when it is an isotonic map with enough
// knots for one to pay (the scorer's copies; Value gives the same result
// either way).
func (c Calibration) indexed() Calibration {
	n := len(c.X)
	if c.Method != "isotonic" || n < 16 || !slices.IsSorted(c.X) {
		return c
	}
	lo, hi := c.X[0], c.X[n-1]
	if !(hi > lo) || math.IsInf(hi-lo, 0) {
		return c
	}
	b := 2 * n
	ix := &knotIndex{x0: lo, inv: float64(b) / (hi - lo), starts: make([]int32, b+1)}
	for j := range ix.starts {
		ix.starts[j] = int32(sort.SearchFloat64s(c.X, lo+float64(j)/ix.inv))
	}
	c.idx = ix
	return c
}

// knot is the first k with X[k] >= z (len(X) when none), as
// sort.SearchFloat64s finds it, through the index (not nil).
func (c *Calibration) knot(z float64) int {
	x, ix := c.X, c.idx
	switch {
	case z != z: // NaN: no knot is at or above it
		return len(x)
	case z <= x[0]:
		return 0
	case z > x[len(x)-1]:
		return len(x)
	}
	b := int((z - ix.x0) * ix.inv)
	b = min(max(b, 0), len(ix.starts)-1)
	k := int(ix.starts[b])
	for k > 0 && x[k-1] >= z {
		k--
	}
	for k < len(x) && x[k] < z {
		k++
	}
	return k
}

// Check validates the calibration's parameters.
func (c *Calibration) Check() error {
	switch c.Method {
	case "none", "platt":
		return nil
	case "isotonic":
		if len(c.X) == 0 || len(c.X) != len(c.Y) {
			return fmt.Errorf("isotonic calibration: %d knots for %d values", len(c.X), len(c.Y))
		}
		for i := 1; i < len(c.X); i++ {
			if c.X[i] < c.X[i-1] || c.Y[i] < c.Y[i-1] {
				return fmt.Errorf("isotonic calibration: knots not monotone at %d", i)
			}
		}
		switch c.Link {
		case "":
			return nil
		case "log", "logit":
		default:
			return fmt.Errorf("isotonic calibration: unknown link %q (want log or logit)", c.Link)
		}
		if !(c.LowSlope >= 0 && c.HighSlope >= 0) || math.IsInf(c.LowSlope, 0) || math.IsInf(c.HighSlope, 0) {
			return fmt.Errorf("isotonic calibration: tail slopes %g and %g (want finite, at least 0)", c.LowSlope, c.HighSlope)
		}
		lo, hi := c.Y[0], c.Y[len(c.Y)-1]
		if lo <= 0 || (c.Link == "logit" && hi >= 1) {
			return fmt.Errorf("isotonic calibration: end values %g and %g outside the %s link's domain", lo, hi, c.Link)
		}
		return nil
	}
	return fmt.Errorf("calibration: unknown method %q", c.Method)
}

// Apply is the calibrated probability of logit z, within [1e-6, 1-1e-6].
func (c *Calibration) Apply(z float64) float64 {
	return math.Min(math.Max(c.Value(z), 1e-6), 1-1e-6)
}

// Value is the calibration's raw output at logit z (a probability, or for
// an orders calibration an expected count).
func (c *Calibration) Value(z float64) float64 {
	var p float64
	switch c.Method {
	case "platt":
		p = sigmoid(c.A*z + c.B)
	case "isotonic":
		x, y := c.X, c.Y
		var k int
		if c.idx == nil {
			k = sort.SearchFloat64s(x, z)
		} else {
			k = c.knot(z)
		}
		switch {
		case k == 0:
			p = c.tail(y[0], c.LowSlope*(z-x[0]))
		case k == len(x):
			p = c.tail(y[len(y)-1], c.HighSlope*(z-x[len(x)-1]))
		default:
			a, b := x[k-1], x[k]
			t := 0.0
			if b > a {
				t = (z - a) / (b - a)
			}
			p = y[k-1] + t*(y[k]-y[k-1])
		}
	default:
		p = sigmoid(z)
	}
	return p
}

// nondecreasing reports whether Value never decreases as z grows.
func (c *Calibration) nondecreasing() bool {
	switch c.Method {
	case "platt":
		return c.A >= 0
	case "isotonic":
		if !slices.IsSorted(c.Y) || !slices.IsSorted(c.X) {
			return false
		}
		return c.Link == "" || (c.LowSlope >= 0 && c.HighSlope >= 0)
	}
	return true
}

// tail moves end value v by d on the link scale (not at all without a link).
func (c *Calibration) tail(v, d float64) float64 {
	switch c.Link {
	case "log":
		return v * math.Exp(d)
	case "logit":
		return sigmoid(math.Log(v/(1-v)) + d)
	}
	return v
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// Scorer is the calibrated conversion scorer shared by the online service
// and offline evaluation: Probs scores every item for a group with exactly
// the features and weights Features and Conversion define.
type Scorer struct {
	in   *Inputs
	conv *Conversion
	// cal and orders are conv's calibrations with knot indexes (the same
	// values, found faster: a ranking calibrates every candidate twice).
	cal, orders Calibration
	mu          sync.RWMutex
	part        map[[2]int][]float32 // (cell, model) -> per-item sum of the item and cell terms
}

// NewScorer binds a fitted model to its inputs.
func NewScorer(in *Inputs, conv *Conversion) *Scorer {
	s := &Scorer{in: in, conv: conv, part: map[[2]int][]float32{}}
	if conv != nil {
		s.cal, s.orders = conv.Calibration.indexed(), conv.Orders.indexed()
	}
	return s
}

// expectedOrdersAt is conv.ExpectedOrdersAt through the indexed calibration.
func (s *Scorer) expectedOrdersAt(z float64) float64 {
	return math.Max(s.orders.Value(z), 1e-9)
}

// weights of the conversion (0) and orders (1) linear predictors.
func (s *Scorer) weights(model int) ([]float64, float64) {
	if model == 1 {
		return s.conv.OrderWeights, s.conv.OrderBias
	}
	return s.conv.Weights, s.conv.Bias
}

// Inputs returns what the scorer reads.
func (s *Scorer) Inputs() *Inputs { return s.in }

// Conversion returns the fitted model.
func (s *Scorer) Conversion() *Conversion { return s.conv }

// itemFeatures are the features itemTerms writes.
var itemFeatures = []int{FeatCellPop, FeatConvChannel, FeatConv, FeatRating, FeatLogCommission, FeatRate, FeatPOP, FeatLogPrice, FeatTrend,
	FeatRelPrice, FeatRelPriceTier, FeatRatingThin, FeatRelPriceThin, FeatFound, FeatFoundChannel}

func (s *Scorer) cellPart(g *Group, c *cell, model int) []float32 {
	key := [2]int{features.CellOf(g.Channel, g.Tier), model}
	return memo(&s.mu, &s.part, key, 0, func() []float32 {
		I := s.in.Cat.Len()
		p := make([]float32, I)
		x := make([]float64, NumFeatures)
		w, _ := s.weights(model)
		for i := range I {
			clear(x)
			s.in.itemTerms(c, g.Channel, g.Tier, i, x)
			var z float64
			for _, f := range itemFeatures {
				z += w[f] * x[f]
			}
			p[i] = float32(z)
		}
		return p
	})
}

// Logits writes the uncalibrated score of every catalogue item for group g
// under its recent pushes r into dst (length Cat.Len()).
func (s *Scorer) Logits(g *Group, r *features.Recent, dst []float32) {
	s.linear(0, g, r, nil, nil, dst)
}

// linear evaluates predictor model (0: conversion logit, 1: orders log-mean)
// for the listed items (nil: every item) into dst (indexed by item; entries
// of unlisted items are left meaningless). dot, when not nil, holds the
// group vector's dot product with every item vector, computed once by the caller.
func (s *Scorer) linear(model int, g *Group, r *features.Recent, dot []float32, items []int32, dst []float32) {
	in := s.in
	cat := in.Cat
	a := getArena()
	defer putArena(a)
	t := s.tables(a, model, in.terms(a, g), g, r)
	hasVec := g.Vector != nil && in.Items != nil
	if items == nil {
		switch {
		case hasVec && dot != nil:
			vek32.MulNumber_Into(dst[:0], dot, t.wALS)
		case hasVec:
			in.Items.DotInto(dst, g.Vector, nil)
			vek32.MulNumber_Inplace(dst, t.wALS)
		default:
			clear(dst)
		}
		if allZero(t.l1) && allZero(t.band) && allZero(t.brand) && allZero(t.l2) && allZero(t.price[:]) {
			// No category, band, brand or price term (a model learnt from
			// orders alone): the same sums without adding the zeros.
			for i := range dst {
				dst[i] += t.k0 + t.part[i]
			}
		} else {
			for i := range dst {
				dst[i] += t.k0 + t.part[i] + t.l1[cat.L1[i]] + t.band[cat.Band[i]] + t.brand[cat.Brand[i]] + t.l2[cat.L2[i]] + t.price[features.RelBin(cat.RelPrice[i])]
			}
		}
	} else {
		for _, i := range items {
			var v float32
			if hasVec {
				if dot != nil {
					v = t.wALS * dot[i]
				} else {
					v = t.wALS * vek32.Dot(in.Items.Row(int(i)), g.Vector)
				}
			}
			dst[i] = t.item(cat, i, v)
		}
	}
	s.linearRest(model, g, r, items, dst)
}

// linear2 is linear for both predictors over the listed items at once,
// into p (conversion) and q (orders): each item's attributes are read once
// for both, the same sums in the same order as two calls.
func (s *Scorer) linear2(g *Group, r *features.Recent, dot []float32, items []int32, p, q []float32) {
	in := s.in
	cat := in.Cat
	a := getArena()
	defer putArena(a)
	gt := in.terms(a, g)
	t0, t1 := s.tables(a, 0, gt, g, r), s.tables(a, 1, gt, g, r)
	hasVec := g.Vector != nil && in.Items != nil
	for _, i := range items {
		var d float32
		if hasVec {
			if dot != nil {
				d = dot[i]
			} else {
				d = vek32.Dot(in.Items.Row(int(i)), g.Vector)
			}
		}
		var v0, v1 float32
		if hasVec {
			v0, v1 = t0.wALS*d, t1.wALS*d
		}
		l1, band, brand, l2, rel := cat.L1[i], cat.Band[i], cat.Brand[i], cat.L2[i], features.RelBin(cat.RelPrice[i])
		p[i] = v0 + t0.k0 + t0.part[i] + t0.l1[l1] + t0.band[band] + t0.brand[brand] + t0.l2[l2] + t0.price[rel]
		q[i] = v1 + t1.k0 + t1.part[i] + t1.l1[l1] + t1.band[band] + t1.brand[brand] + t1.l2[l2] + t1.price[rel]
	}
	s.linearRest(0, g, r, items, p)
	s.linearRest(1, g, r, items, q)
}

// linTables are a predictor's per-request terms for one group: the
// constant, the per-category, band, brand, L2 and price-bin terms, the
// cell's per-item part and the dot product's weight.
type linTables struct {
	k0                  float32
	part                []float32
	l1, band, brand, l2 []float32
	price               [features.NumRelBins]float32
	wALS                float32
}

// item is the predictor's sum for item i whose weighted dot product is v.
func (t *linTables) item(cat *features.Catalog, i int32, v float32) float32 {
	return v + t.k0 + t.part[i] + t.l1[cat.L1[i]] + t.band[cat.Band[i]] + t.brand[cat.Brand[i]] + t.l2[cat.L2[i]] + t.price[features.RelBin(cat.RelPrice[i])]
}

// tables are predictor model's terms for group g; they come from a.
func (s *Scorer) tables(a *f32Arena, model int, t groupTerms, g *Group, r *features.Recent) linTables {
	in := s.in
	w, bias := s.weights(model)
	cat := in.Cat
	out := linTables{part: s.cellPart(g, t.cell, model), wALS: float32(w[FeatALS])}
	konst := bias
	for f, x := range t.konst {
		konst += w[f] * x
	}
	pos := float32(1)
	if r != nil {
		pos = max(r.Position, 1)
	}
	konst += w[FeatPosition] * math.Log(float64(pos))
	out.l1 = a.take(len(t.l1))
	for k, v := range t.l1 {
		out.l1[k] = float32(w[FeatL1]) * v
		if k < len(g.L1Taste) {
			out.l1[k] += float32(w[FeatL1Taste]) * g.L1Taste[k]
		}
	}
	if r != nil {
		for c, n := range r.Category {
			if int(c) < len(out.l1) {
				out.l1[c] += float32(w[FeatCat1]*float64(n[0]) + w[FeatCat3]*float64(n[1]) + w[FeatCat7]*float64(n[2]))
			}
		}
	}
	out.band = a.take(len(t.band))
	for k, v := range t.band {
		out.band[k] = float32(w[FeatBand]) * v
	}
	k := in.Profile.ProfilePrior
	out.brand = sparseTerms(a.take(len(cat.BrandNames)), g.Brands, float32(w[FeatBrand]), g.Weight, k)
	out.l2 = sparseTerms(a.take(len(cat.L2Names)), g.L2, float32(w[FeatL2]), g.Weight, k)
	for c, x := range g.L2Taste {
		if c < len(out.l2) {
			out.l2[c] += float32(w[FeatL2Taste]) * x
		}
	}
	for b, x := range g.PriceTaste {
		if b < len(out.price) {
			out.price[b] = float32(w[FeatPriceTaste]) * x
		}
	}
	out.k0 = float32(konst)
	return out
}

// linearRest adds the preference model's and the recent pushes' terms.
func (s *Scorer) linearRest(model int, g *Group, r *features.Recent, items []int32, dst []float32) {
	w, _ := s.weights(model)
	s.in.Pref.addInto(g, float32(w[FeatItemItem]), float32(w[FeatItemPrior]), items, dst)
	if r != nil {
		for it, n := range r.Items {
			if int(it) < len(dst) {
				dst[it] += float32(w[FeatItem1]*float64(n[0]) + w[FeatItem3]*float64(n[1]) + w[FeatItem7]*float64(n[2]))
			}
		}
	}
}

// allZero reports whether every entry of x is 0.
func allZero(x []float32) bool {
	for _, v := range x {
		if v != 0 {
			return false
		}
	}
	return true
}

// logitOrders reports whether obj's score of an item is a non-decreasing
// function of its conversion logit alone: no orders model (the expected
// orders follow from the probability), a non-decreasing calibration, and no
// per-item term (price, commission, rating, or a caution the score applies).
func (s *Scorer) logitOrders(obj *Objective) bool {
	in := s.in
	noCaution := obj.CautionWeight() == 0 || in.Pref != nil || in.PushConvPrior <= 0
	return !s.conv.hasOrders() && s.conv.Calibration.nondecreasing() &&
		obj.Price == 0 && obj.Commission == 0 && obj.Rating == 0 && noCaution
}

// fromLogit is Predict's p and q of an item whose conversion logit is z,
// without an orders model.
func (s *Scorer) fromLogit(z float32) (p, q float32) {
	p = float32(s.cal.Apply(float64(z)))
	return p, float32(ExpectedOrders(float64(p)))
}

// Probs writes the calibrated P(order | push) of every item into dst.
func (s *Scorer) Probs(g *Group, r *features.Recent, dst []float32) {
	s.Logits(g, r, dst)
	c := &s.cal
	for i, z := range dst {
		dst[i] = float32(c.Apply(float64(z)))
	}
}

// Predict writes every item's calibrated P(order | push) into p and its
// expected orders into q.
func (s *Scorer) Predict(g *Group, r *features.Recent, p, q []float32) {
	s.Probs(g, r, p)
	if !s.conv.hasOrders() {
		for i, v := range p {
			q[i] = float32(ExpectedOrders(float64(v)))
		}
		return
	}
	s.linear(1, g, r, nil, nil, q)
	for i, z := range q {
		q[i] = float32(s.expectedOrdersAt(float64(z)))
	}
}

// PredictAt is Predict for the listed items only (the other entries of p and
// q are left meaningless), each listed once: an item listed twice gets its
// additive terms and its calibration twice; dot, when not nil, is the group
// vector's dot product with every item vector.
func (s *Scorer) PredictAt(g *Group, r *features.Recent, dot []float32, items []int32, p, q []float32) {
	if s.conv.hasOrders() {
		s.linear2(g, r, dot, items, p, q)
	} else {
		s.linear(0, g, r, dot, items, p)
	}
	c := &s.cal
	for _, i := range items {
		p[i] = float32(c.Apply(float64(p[i])))
	}
	if !s.conv.hasOrders() {
		for _, i := range items {
			q[i] = float32(ExpectedOrders(float64(p[i])))
		}
		return
	}
	for _, i := range items {
		q[i] = float32(s.expectedOrdersAt(float64(q[i])))
	}
}

// sparseTerms spreads a sparse affinity's weighted, shrunk shares over
// out, a zeroed dense table of every id.
func sparseTerms(out []float32, ws []features.Weighted, coef, weight, k float32) []float32 {
	n := len(out)
	for _, b := range ws {
		if int(b.ID) < n {
			out[b.ID] += coef * b.Weight * weight / (weight + k)
		}
	}
	return out
}
