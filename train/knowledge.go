package train

import (
	"math"

	"grouprank/data"
	"grouprank/features"
)

// GroupKnowledge says how much the record tells about each group: the mean
// pushes, converted pushes and placed orders per group over the whole
// history, and, on a synthetic world, how well the profiles' per-category
// signals agree with each group's true category effects.
type GroupKnowledge struct {
	Groups            int     `json:"groups"`
	PushesPerGroup    float64 `json:"pushes_per_group"`
	ConvertedPerGroup float64 `json:"converted_pushes_per_group"`
	OrdersPerGroup    float64 `json:"orders_per_group"` // placed orders, attributed or not
	// TasteCorr and ShareCorr are Pearson correlations over every (group,
	// L1) pair of the group's true category effect (centred within the
	// group) with its exposure-adjusted taste (features.Profiles.L1Taste)
	// and with the log of its smoothed order share, log((share x decayed
	// orders + 1) / (decayed orders + L1 categories)). NaN without the truth.
	TasteCorr float64 `json:"taste_corr"`
	ShareCorr float64 `json:"share_corr"`
	// TasteCorrPushed is TasteCorr over the pairs whose category was pushed
	// to the group.
	TasteCorrPushed float64 `json:"taste_corr_pushed"`
	// AppetiteCorr is the correlation of the taste with the group's true
	// appetite per category (its category effect plus its member mix's
	// appetite for the category; synth.World.CategoryAppetites), centred
	// within the group: what the taste should measure. NaN without the truth.
	AppetiteCorr float64 `json:"taste_appetite_corr"`
}

// Knowledge summarises the history and, when truth is not nil (it returns a
// group's true effect per L1 category, in the profiles' L1 order), the
// profiles' agreement with it; appetite (nil when unknown) returns the
// group's true appetite per L1 category in the same order.
func (h *History) Knowledge(p *features.Profiles, truth, appetite func(data.GroupID) []float64) GroupKnowledge {
	G := h.Groups.Len()
	k := GroupKnowledge{Groups: G, TasteCorr: math.NaN(), ShareCorr: math.NaN(), TasteCorrPushed: math.NaN(), AppetiteCorr: math.NaN()}
	if G == 0 {
		return k
	}
	k.PushesPerGroup = float64(h.pushCount) / float64(G)
	k.ConvertedPerGroup = float64(h.converted) / float64(G)
	k.OrdersPerGroup = float64(h.orders.Len()) / float64(G)
	if truth == nil || p == nil {
		return k
	}
	var taste, share, pushed corr
	K := p.NumL1
	// centred is a truth's values for group g, less their mean (nil when it has none).
	centred := func(of func(data.GroupID) []float64, g int) []float64 {
		v := of(h.Groups.IDs[g])
		if len(v) != K {
			return nil
		}
		var mean float64
		for _, x := range v {
			mean += x / float64(K)
		}
		out := make([]float64, K)
		for c, x := range v {
			out[c] = x - mean
		}
		return out
	}
	for g := range G {
		eff := centred(truth, g)
		if eff == nil {
			continue
		}
		w := float64(p.Weight[g])
		for c, y := range eff {
			t := float64(p.L1Taste[g*K+c])
			taste.add(t, y)
			if t != 0 {
				pushed.add(t, y)
			}
			share.add(math.Log((float64(p.L1[g*K+c])*w+1)/(w+float64(K))), y)
		}
	}
	k.TasteCorr, k.ShareCorr, k.TasteCorrPushed = taste.r(), share.r(), pushed.r()
	if appetite != nil {
		var app corr
		for g := range G {
			for c, y := range centred(appetite, g) {
				app.add(float64(p.L1Taste[g*K+c]), y)
			}
		}
		k.AppetiteCorr = app.r()
	}
	return k
}

// corr accumulates a Pearson correlation.
type corr struct{ n, sx, sy, sxx, syy, sxy float64 }

func (c *corr) add(x, y float64) {
	c.n++
	c.sx += x
	c.sy += y
	c.sxx += x * x
	c.syy += y * y
	c.sxy += x * y
}

func (c *corr) r() float64 {
	if c.n < 2 {
		return math.NaN()
	}
	cov := c.sxy - c.sx*c.sy/c.n
	vx, vy := c.sxx-c.sx*c.sx/c.n, c.syy-c.sy*c.sy/c.n
	if vx <= 0 || vy <= 0 {
		return math.NaN()
	}
	return cov / math.Sqrt(vx*vy)
}
