package train

import (
	"encoding/json"
	"fmt"

	"grouprank/data"
	"grouprank/features"
	"grouprank/recommend"
)

// BuildProfiles builds the profiles and item statistics of a base at
// instant at, without factors: what a model learnt from orders alone serves
// beside its preference model.
func (h *History) BuildProfiles(at data.Timestamp, cfg BaseConfig) (*Base, error) {
	b, err := h.takeProfiles(at, cfg)
	if b == nil && err == nil {
		b = h.buildProfiles(at, cfg)
	}
	return b, err
}

// buildProfiles builds the profiles and item statistics at instant at.
func (h *History) buildProfiles(at data.Timestamp, cfg BaseConfig) *Base {
	orders, pushes := h.orders.Before(at), h.pushes.Before(at)
	cat := h.Timeline.At(at)
	b := &Base{At: at,
		Profiles: features.BuildProfiles(cat, h.Groups, orders, pushes, h.Shown, at, cfg.Profile),
		Stats:    features.BuildItemStats(cat, h.Groups, orders, pushes, at, cfg.Stats)}
	b.RatingMean, b.ConvMean = ratingMean(cat), convMean(pushes, h.shard)
	return b
}

func ratingMean(cat *features.Catalog) float64 {
	var good, all float64
	for i := range cat.Len() {
		good += float64(cat.GoodReviews[i])
		all += float64(cat.Reviews[i])
	}
	if all > 0 {
		return good / all
	}
	return 0.9
}

// convMean is the share of pushes that converted, over every part's (an
// error joining the parts shows in sh.Parts.Err).
func convMean(pushes *features.Events, sh *Shard) float64 {
	var n, c int
	for e := range pushes.Group {
		n++
		if pushes.Converted[e] {
			c++
		}
	}
	sh.AddCounts(&n, &c) //nolint:errcheck // in sh.Parts.Err
	if n > 0 {
		return float64(c) / float64(n)
	}
	return 0.1
}

// PrefGroup is one group's part of a preference model: its vector (nil:
// none), its own orders and its members' mean row, by item index.
type PrefGroup struct {
	Vector            []float32
	Observed, Members []features.Weighted
}

// NewPrefArtefact gathers what serving a model learnt from orders alone
// needs: the profiles and statistics of base, the preference model's tables
// (items: its item vectors, nil when it has none) and each group's part,
// and conv, whose weights put the preference model's scores on the
// probability scale.
func NewPrefArtefact(h *History, base *Base, cfg BaseConfig, conv *recommend.Conversion, spec PreferenceSpec, items *recommend.Factors,
	p *recommend.Preference, group func(g int32) PrefGroup, m data.ModelVersion, report any) (*Artefact, error) {
	cat := h.Timeline.At(base.At)
	if items != nil && items.Rows() != cat.Len() {
		return nil, fmt.Errorf("artefact: %d item vectors, catalogue of %d", items.Rows(), cat.Len())
	}
	pm := recommend.NewProfileModel(cat, base.Stats)
	a := &Artefact{Manifest: m, Catalog: cat.Products, Stats: base.Stats, Items: items, Pref: p,
		Spec: ModelSpec{Conversion: *conv, RatingMean: base.RatingMean, RatingPrior: cfg.Stats.RatingPrior,
			PushConvPrior: cfg.Stats.ConvPrior, ConvMean: base.ConvMean, ProfilePrior: pm.ProfilePrior,
			CellPrior: pm.CellPrior, ChannelPrior: pm.ChannelPrior, Preference: &spec}}
	a.Manifest.Size = data.ModelSize{Groups: h.Groups.Len(), Products: len(a.Catalog)}
	recent := h.RecentOrders(base.At, recommend.MaxRecentOrders)
	for g := range h.Groups.Len() {
		pg := group(int32(g))
		r := GroupRecord{ID: h.Groups.IDs[g], Group: recommend.GroupOf(base.Profiles, int32(g), pg.Vector)}
		r.Group.Observed, r.Group.Members, r.Group.Orders = pg.Observed, pg.Members, recent[g]
		a.Groups = append(a.Groups, r)
	}
	var err error
	if a.Report, err = json.Marshal(jsonSafe(report)); err != nil {
		return nil, fmt.Errorf("artefact: report: %w", err)
	}
	return a, nil
}
