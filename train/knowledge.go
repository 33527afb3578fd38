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
//
// The sums over groups are taken in blocks (features.GroupBlocks), over
// every part's groups in a sharded job.
func (h *History) Knowledge(p *features.Profiles, truth, appetite func(data.GroupID) []float64) GroupKnowledge {
	G := h.Groups.Len()
	h.shard.AddCounts(&G) //nolint:errcheck // in the parts' Err
	k := GroupKnowledge{Groups: G, TasteCorr: math.NaN(), ShareCorr: math.NaN(), TasteCorrPushed: math.NaN(), AppetiteCorr: math.NaN()}
	if G == 0 {
		return k
	}
	k.PushesPerGroup = float64(h.pushCount) / float64(G)
	k.ConvertedPerGroup = float64(h.converted) / float64(G)
	k.OrdersPerGroup = float64(h.placed) / float64(G)
	if truth == nil || p == nil {
		return k
	}
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
	// The sums of the four correlations, side by side (taste, share,
	// pushed, appetite).
	sums := make([]float64, 4*corrSums)
	h.Groups.Blocks().SumBlocks(sums, 0, func(_ int, groups []int32, acc []float64) {
		taste, share, pushed, app := acc[:corrSums], acc[corrSums:2*corrSums], acc[2*corrSums:3*corrSums], acc[3*corrSums:]
		for _, g32 := range groups {
			g := int(g32)
			if eff := centred(truth, g); eff != nil {
				w := float64(p.Weight[g])
				for c, y := range eff {
					t := float64(p.L1Taste[g*K+c])
					addCorr(taste, t, y)
					if t != 0 {
						addCorr(pushed, t, y)
					}
					addCorr(share, math.Log((float64(p.L1[g*K+c])*w+1)/(w+float64(K))), y)
				}
			}
			if appetite != nil {
				for c, y := range centred(appetite, g) {
					addCorr(app, float64(p.L1Taste[g*K+c]), y)
				}
			}
		}
	})
	k.TasteCorr, k.ShareCorr, k.TasteCorrPushed = corrOf(sums[:corrSums]), corrOf(sums[corrSums:2*corrSums]), corrOf(sums[2*corrSums:3*corrSums])
	if appetite != nil {
		k.AppetiteCorr = corrOf(sums[3*corrSums:])
	}
	return k
}

// corrSums is how many sums a Pearson correlation accumulates: n, x, y,
// x², y², xy.
const corrSums = 6

func addCorr(c []float64, x, y float64) {
	c[0]++
	c[1] += x
	c[2] += y
	c[3] += x * x
	c[4] += y * y
	c[5] += x * y
}

// corrOf is the correlation of the sums c (NaN for fewer than 2 pairs or
// no spread).
func corrOf(c []float64) float64 {
	n, sx, sy, sxx, syy, sxy := c[0], c[1], c[2], c[3], c[4], c[5]
	if n < 2 {
		return math.NaN()
	}
	cov := sxy - sx*sy/n
	vx, vy := sxx-sx*sx/n, syy-sy*sy/n
	if vx <= 0 || vy <= 0 {
		return math.NaN()
	}
	return cov / math.Sqrt(vx*vy)
}
