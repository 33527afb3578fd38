package recommend

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"grouprank/data"
)

// Rules are ops' business rules, applied to every request after the blend:
// campaign boosts multiply an item's score (and make it a candidate for
// every group), blocklists keep SKUs, brands or L1 categories out of every
// list, and the rating floor keeps out items rated below it.
type Rules struct {
	Boosts            map[data.SKU]float64 `json:"boosts,omitempty"` // sku -> multiplier of its score, in (0, 100]
	BlockedSKUs       []data.SKU           `json:"blocked_skus,omitempty"`
	BlockedBrands     []string             `json:"blocked_brands,omitempty"`
	BlockedCategories []string             `json:"blocked_categories,omitempty"` // L1 names
	// MinRating is the rating floor: items whose good-review rate is below it
	// (or that have no reviews, when it is above 0) are never shown.
	MinRating float64 `json:"min_rating,omitempty"`
}

// MaxRuleItems bounds the boosts and blocked SKUs of one rule set.
const MaxRuleItems = 10000

// Validate checks the rules' values (unknown SKUs and brands are allowed:
// they may enter the catalogue later; categories are checked against the
// catalogue by Model.CheckRules).
func (r *Rules) Validate() error {
	if len(r.Boosts) > MaxRuleItems || len(r.BlockedSKUs) > MaxRuleItems {
		return fmt.Errorf("%w: rules: at most %d boosts and %d blocked skus", data.ErrInvalid, MaxRuleItems, MaxRuleItems)
	}
	for sku, b := range r.Boosts {
		if sku <= 0 || math.IsNaN(b) || b <= 0 || b > 100 {
			return fmt.Errorf("%w: rules: boost of sku %d must be a multiplier in (0, 100], got %g", data.ErrInvalid, sku, b)
		}
	}
	if math.IsNaN(r.MinRating) || r.MinRating < 0 || r.MinRating > 1 {
		return fmt.Errorf("%w: rules: min_rating must be a good-review rate in [0, 1], got %g", data.ErrInvalid, r.MinRating)
	}
	if len(r.BlockedBrands) > MaxRuleItems || len(r.BlockedCategories) > MaxRuleItems {
		return fmt.Errorf("%w: rules: at most %d blocked brands and categories", data.ErrInvalid, MaxRuleItems)
	}
	for _, n := range append(append([]string(nil), r.BlockedBrands...), r.BlockedCategories...) {
		if len(n) > data.MaxNameBytes {
			return fmt.Errorf("%w: rules: a blocked name is %d bytes; at most %d", data.ErrInvalid, len(n), data.MaxNameBytes)
		}
	}
	for _, sku := range r.BlockedSKUs {
		if sku <= 0 {
			return fmt.Errorf("%w: rules: blocked sku %d must be > 0", data.ErrInvalid, sku)
		}
	}
	return nil
}

// modelRules are rules resolved against a model's catalogue.
type modelRules struct {
	Rules
	blocked  []bool    // per item
	logBoost []float64 // per item, 0 without a boost
	campaign []int32   // boosted items (extra candidates)
}

// WithRules returns the model with rules applied (the same ranker, so its
// caches stay warm); the zero Rules clears them.
func (m *Model) WithRules(r Rules) (*Model, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	out := NewModel(m.Version, m.Ranker, m.groups)
	out.Sensitive, out.RepushWithin, out.fold, out.Manifest, out.CategoryNames, out.IDs, out.Members = m.Sensitive, m.RepushWithin, m.fold, m.Manifest, m.CategoryNames, m.IDs, m.Members
	cat := m.Ranker.Scorer.in.Cat
	mr := &modelRules{Rules: r, blocked: make([]bool, cat.Len()), logBoost: make([]float64, cat.Len())}
	for _, sku := range r.BlockedSKUs {
		if i, ok := cat.Index[sku]; ok {
			mr.blocked[i] = true
		}
	}
	for i := range cat.Len() {
		p := &cat.Products[i]
		if slices.Contains(r.BlockedBrands, p.Brand) || slices.Contains(r.BlockedCategories, p.CategoryL1) {
			mr.blocked[i] = true
		}
	}
	for sku, b := range r.Boosts {
		if i, ok := cat.Index[sku]; ok {
			mr.logBoost[i] = math.Log(b)
			mr.campaign = append(mr.campaign, i)
		}
	}
	slices.Sort(mr.campaign)
	out.rules = mr
	for name, t := range out.terms { // the blend's terms with the boosts folded in
		out.terms[name] = mr.apply(t)
		if out.boosts[name] != nil {
			out.boosts[name] = Boost(out.terms[name])
		}
	}
	return out, nil
}

// Rules are the rules in force (zero when none).
func (m *Model) Rules() Rules {
	if m.rules == nil {
		return Rules{}
	}
	return m.rules.Rules
}

// apply adds the log boosts to an objective's item terms (a copy).
func (r *modelRules) apply(terms []float64) []float64 {
	out := slices.Clone(terms)
	for _, i := range r.campaign {
		out[i] += r.logBoost[i]
	}
	return out
}

// CheckRules refuses rules that name a category the model's catalogue does
// not have (a typo would block nothing); the error lists the known ones.
func (m *Model) CheckRules(r Rules) error {
	names := m.Ranker.Scorer.in.Cat.L1Names
	for _, c := range r.BlockedCategories {
		if !slices.Contains(names, c) {
			return fmt.Errorf("%w: rules: blocked category %q is not in the catalogue (known: %s)", data.ErrInvalid, c, strings.Join(names, ", "))
		}
	}
	return nil
}
