package recommend

import (
	"math"
	"slices"

	"grouprank/data"
	"grouprank/features"
)

// The conversion model's features, in order. Every one is computed by
// Features for one (group, item) pair and, identically, by Scorer.Logits for
// all items at once.
const (
	FeatALS           = iota // group vector . item vector (0 without a group vector)
	FeatHasVector            // 1 when the group has a vector
	FeatCellPop              // log(items x the item's share of its channel x tier cell's orders), shrunk
	FeatL1                   // log(group's shrunk share of the item's L1 / the cell's)
	FeatBand                 // log(group's shrunk share of the item's price band / the cell's)
	FeatBrand                // group's share of orders of the item's brand (top brands), shrunk
	FeatL2                   // group's share of orders of the item's L2 category (top L2s), shrunk
	FeatConvChannel          // logit of the item's shrunk conversion per push in the group's channel
	FeatConv                 // logit of the item's shrunk conversion per push overall
	FeatRating               // logit of the item's shrunk good-review rate
	FeatLogCommission        // log(1 + commission per unit in yuan)
	FeatRate                 // commission rate
	FeatPOP                  // 1 for third-party (POP) items
	FeatLogPrice             // log(1 + price in yuan)
	FeatTrend                // log of the item's trend ratio
	FeatWeight               // log(1 + group's decayed orders)
	FeatPerDay               // log(1 + group's decayed orders per day)
	FeatPushConv             // group's shrunk conversion per push
	FeatRecency              // log(1 + days since the group's last order), 30 days when none
	FeatItem1                // pushes of this item to the group in the last day
	FeatItem3                // ... last 3 days
	FeatItem7                // ... last 7 days
	FeatCat1                 // pushes of the item's L1 category to the group in the last day
	FeatCat3                 // ... last 3 days
	FeatCat7                 // ... last 7 days
	FeatPosition             // log of the push's position in the group's day
	FeatRelPrice             // log(price / the median price of the item's L1)
	FeatRelPriceTier         // FeatRelPrice x (city tier - 3.5), 0 for an unknown tier: lower tiers mind price more
	FeatRatingThin           // FeatRating x the weight of the conversion prior (prior / (pushes + prior))
	FeatRelPriceThin         // FeatRelPrice x the same weight
	FeatL1Taste              // the group's exposure-adjusted taste for the item's L1 (features.Profiles.L1Taste)
	FeatFound                // log of how much more often than average promoters push the item of their own accord
	FeatFoundChannel         // the same among groups of the group's channel (features.ItemStats.FoundRel)
	FeatL2Taste              // how much more the group takes to the item's L2 than its L1 taste says (features.Profiles.L2Taste)
	FeatActive               // log(1 + the group's orders in the ActiveDays before the scoring instant, at most MaxRecentOrders)
	FeatPriceTaste           // the group's taste for the item's relative price level (features.Profiles.PriceTaste)
	FeatItemItem             // the group's row times the preference model's item-item matrix (Preference)
	FeatItemPrior            // the preference model's prior of the item (Preference)
	NumFeatures
)

// FeatureNames name the features for reports and artefacts.
func FeatureNames() []string {
	return []string{"ials", "has_vector", "cell_pop", "l1_affinity", "band_fit", "brand_affinity", "l2_affinity",
		"conv_channel", "conv", "rating", "log_commission", "commission_rate", "pop", "log_price", "trend",
		"group_weight", "group_per_day", "group_push_conv", "recency", "item_1d", "item_3d", "item_7d",
		"cat_1d", "cat_3d", "cat_7d", "position", "rel_price", "rel_price_tier", "rating_thin", "rel_price_thin", "l1_taste",
		"found", "found_channel", "l2_taste", "active", "price_taste", "item_item", "item_prior"}
}

// Group is a group as the scorer sees it: its profile row, its vector (nil
// when it has none) and its channel and tier. An unknown group has only
// Channel and Tier.
type Group struct {
	Channel    data.Channel
	Tier       data.CityTier
	Vector     []float32
	L1         []float32 // share per L1 (nil: none)
	L1Recent   []float32 // plain order counts per L1 in the profile's recent window (what reasons quote)
	L1Taste    []float32 // exposure-adjusted log taste per L1 (nil: none)
	L2Taste    []float32 // exposure-adjusted log taste per L2 beyond its L1's (nil: none)
	PriceTaste []float32 // exposure-adjusted log taste per relative price level (features.RelBin; nil: none)
	// Active is how many orders the group placed in the ActiveDays before the
	// instant it is scored at (at most MaxRecentOrders): unlike the profile,
	// which stands still between snapshots, it is counted afresh by whoever
	// scores (SetActive from the recent orders; train from the order log).
	Active   float32
	Band     []float32 // share per price band (nil: none)
	L2       []features.Weighted
	Brands   []features.Weighted
	Observed []features.Weighted // the group's iALS row: item index and confidence weight (for fold-in); with a Preference, its own row (orders, and pushes no order carried at the model's push weight)
	// Members is the mean of its members' own rows (their orders outside the
	// group), by item index; only preference models read it.
	Members   []features.Weighted
	Weight    float32
	PerDay    float32
	DaysSince float32 // -1: no order
	PushConv  float32
	Pushes    float32
	// Orders are the group's latest orders before the snapshot, newest
	// first (at most MaxRecentOrders; what the dashboard shows, not scored).
	Orders []Order
}

// MaxRecentOrders is how many of a group's latest orders its record keeps.
const MaxRecentOrders = 10

// GroupOf reads group g of profiles (with its vector, nil when none).
func GroupOf(p *features.Profiles, g int32, vector []float32) Group {
	return Group{Channel: p.Channel[g], Tier: p.Tier[g], Vector: vector, L1: p.L1Of(g), Band: p.BandOf(g),
		L1Recent: p.L1Recent[int(g)*p.NumL1 : int(g+1)*p.NumL1],
		L1Taste:  p.L1Taste[int(g)*p.NumL1 : int(g+1)*p.NumL1],
		L2Taste:  p.L2TasteOf(g), PriceTaste: p.PriceTasteOf(g),
		L2: p.L2[g], Brands: p.Brands[g], Weight: p.Weight[g], PerDay: p.PerDay[g], DaysSince: p.DaysSince[g],
		PushConv: p.PushConv[g], Pushes: p.Pushes[g]}
}

// Inputs are what the scorer reads besides the group: the catalogue as it
// stands now (prices, commission, reviews), the item statistics and vectors
// of the snapshot (indexed like Cat), and the profile model's cells.
type Inputs struct {
	Cat     *features.Catalog
	Stats   *features.ItemStats
	Items   *Factors // nil: no item vectors
	Profile *ProfileModel
	// RatingMean and RatingPrior shrink good-review rates: (good + prior*mean) / (reviews + prior).
	RatingMean, RatingPrior float64
	// PushConvPrior shrinks a group's conversion per push toward ConvMean with that many pseudo-pushes.
	PushConvPrior, ConvMean float64
	// Pref is the preference model of a model learnt from orders alone (nil: none).
	Pref *Preference
}

// groupTerms are the per-group quantities Features and Logits share.
type groupTerms struct {
	l1, band []float32 // log shrunk ratios per L1 and per band
	cell     *cell
	konst    [NumFeatures]float64
}

// terms are group g's terms; their tables come from a (nil: allocated).
func (in *Inputs) terms(a *f32Arena, g *Group) groupTerms {
	c := in.Profile.cell(g.Channel, g.Tier)
	k := in.Profile.ProfilePrior
	t := groupTerms{cell: c, l1: shrunkRatios(a, g.L1, c.l1, g.Weight, k), band: shrunkRatios(a, g.Band, c.band, g.Weight, k)}
	for i := range t.l1 {
		t.l1[i] = float32(math.Log(float64(t.l1[i]) + 1e-6))
	}
	for i := range t.band {
		t.band[i] = float32(math.Log(float64(t.band[i]) + 1e-6))
	}
	if g.Vector != nil {
		t.konst[FeatHasVector] = 1
	}
	t.konst[FeatWeight] = math.Log1p(float64(g.Weight))
	t.konst[FeatPerDay] = math.Log1p(float64(g.PerDay))
	t.konst[FeatPushConv] = (float64(g.PushConv*g.Pushes) + in.PushConvPrior*in.ConvMean) / (float64(g.Pushes) + in.PushConvPrior)
	days := float64(g.DaysSince)
	if days < 0 {
		days = 30
	}
	t.konst[FeatRecency] = math.Log1p(days)
	t.konst[FeatActive] = math.Log1p(float64(g.Active))
	return t
}

// ActiveDays is the window of Group.Active.
const ActiveDays = 7

// SetActive counts into g.Active the orders among g.Orders and more placed
// in the ActiveDays before at (an order in both, same SKU and time, counts
// once), at most MaxRecentOrders. Groups whose pushes stop selling die off,
// so the groups still ordering are the ones worth pushing to, whatever the
// profile last said.
func (g *Group) SetActive(at data.Timestamp, more []Order) {
	from := at - ActiveDays*data.Day
	in := func(o Order) bool { return o.Time >= from && o.Time < at }
	n := 0
	for _, o := range g.Orders {
		if in(o) {
			n++
		}
	}
	for _, o := range more {
		if in(o) && !slices.Contains(g.Orders, o) {
			n++
		}
	}
	g.Active = float32(min(n, MaxRecentOrders))
}

func logit(p float64) float64 {
	p = math.Min(math.Max(p, 1e-4), 1-1e-4)
	return math.Log(p / (1 - p))
}

// shareOf is the shrunk share of id in a sparse affinity (0 when absent).
func shareOf(ws []features.Weighted, id int32, weight, k float32) float32 {
	for _, w := range ws {
		if w.ID == id {
			return w.Weight * weight / (weight + k)
		}
	}
	return 0
}

// itemTerms writes the features that depend on the item and the group's cell
// (its channel and tier) only. The "thin" features let an item with few
// pushes lean on its rating and relative price more than one whose own
// conversion says what it is worth.
func (in *Inputs) itemTerms(c *cell, ch data.Channel, tier data.CityTier, i int, x []float64) {
	cat, st := in.Cat, in.Stats
	I := cat.Len()
	x[FeatCellPop] = math.Log(float64(c.base[i])*float64(I) + 1e-6)
	x[FeatConvChannel] = logit(float64(st.ConvChannel[int(ch)*I+i]))
	x[FeatConv] = logit(float64(st.Conv[i]))
	x[FeatRating] = logit((float64(cat.GoodReviews[i]) + in.RatingPrior*in.RatingMean) / (float64(cat.Reviews[i]) + in.RatingPrior))
	price := math.Max(0, float64(cat.PriceCents[i])) / 100
	rate := float64(cat.Commission[i])
	x[FeatLogCommission] = math.Log1p(price * rate)
	x[FeatRate] = rate
	if cat.POP[i] {
		x[FeatPOP] = 1
	}
	x[FeatLogPrice] = math.Log1p(price)
	x[FeatTrend] = math.Log(float64(st.Trend[i]))
	rel := float64(cat.RelPrice[i])
	x[FeatRelPrice] = rel
	if tier > 0 {
		x[FeatRelPriceTier] = rel * (float64(tier) - 3.5)
	}
	thin := in.Thin(i)
	x[FeatRatingThin] = x[FeatRating] * thin
	x[FeatRelPriceThin] = rel * thin
	x[FeatFound] = st.FoundRel(i, -1)
	x[FeatFoundChannel] = st.FoundRel(i, int(ch))
}

// Thin is how little item i's own record says: PushConvPrior / (pushes +
// PushConvPrior), 1 for an item never pushed (or appended after the
// statistics), towards 0 the more it was pushed; 0 without a prior.
func (in *Inputs) Thin(i int) float64 {
	if in.PushConvPrior <= 0 {
		return 0
	}
	var n float64
	if i < len(in.Stats.Pushes) {
		n = float64(in.Stats.Pushes[i])
	}
	return in.PushConvPrior / (n + in.PushConvPrior)
}

// Features writes the raw features of pushing item i (an index of in.Cat) to
// group g under fatigue f into x (length NumFeatures).
func (in *Inputs) Features(g *Group, i int32, f features.Fatigue, x []float64) {
	t := in.terms(nil, g)
	in.features(g, &t, i, f, x)
}

func (in *Inputs) features(g *Group, t *groupTerms, i int32, f features.Fatigue, x []float64) {
	copy(x, t.konst[:])
	cat := in.Cat
	in.itemTerms(t.cell, g.Channel, g.Tier, int(i), x)
	if g.Vector != nil && in.Items != nil {
		var d float32
		for k, v := range in.Items.Row(int(i)) {
			d += v * g.Vector[k]
		}
		x[FeatALS] = float64(d)
	}
	x[FeatL1] = float64(t.l1[cat.L1[i]])
	if c := int(cat.L1[i]); c < len(g.L1Taste) {
		x[FeatL1Taste] = float64(g.L1Taste[c])
	}
	x[FeatBand] = float64(t.band[cat.Band[i]])
	k := in.Profile.ProfilePrior
	x[FeatBrand] = float64(shareOf(g.Brands, cat.Brand[i], g.Weight, k))
	x[FeatL2] = float64(shareOf(g.L2, cat.L2[i], g.Weight, k))
	if b := int(features.RelBin(cat.RelPrice[i])); b < len(g.PriceTaste) {
		x[FeatPriceTaste] = float64(g.PriceTaste[b])
	}
	if c := int(cat.L2[i]); c < len(g.L2Taste) {
		x[FeatL2Taste] = float64(g.L2Taste[c])
	}
	x[FeatItem1], x[FeatItem3], x[FeatItem7] = float64(f.Item[0]), float64(f.Item[1]), float64(f.Item[2])
	x[FeatCat1], x[FeatCat3], x[FeatCat7] = float64(f.Category[0]), float64(f.Category[1]), float64(f.Category[2])
	x[FeatPosition] = math.Log(math.Max(1, float64(f.Position)))
	x[FeatItemItem] = float64(in.Pref.itemItem(g, i))
	x[FeatItemPrior] = float64(in.Pref.prior(i))
}
