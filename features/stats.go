package features

import (
	"math"
	"slices"

	"grouprank/data"
)

// ItemStats are per-item statistics at one instant; index i is item i of the Catalog.
type ItemStats struct {
	At          data.Timestamp
	Pop         []float32 // decayed orders (units)
	PopChannel  []float32 // (len(data.Channels)+1) x I: decayed orders by the group's channel (row = channel code)
	PopTier     []float32 // (MaxTier+1) x I: decayed orders by the group's city tier (row 0: unknown)
	PopCell     []float32 // (channel x tier) x I: decayed orders by the group's channel and tier, row CellOf(ch, tier)
	Trend       []float32 // (orders in the recent window + 1) / (orders in the as-long window before + 1)
	Rating      []float32 // good-review rate shrunk toward the catalogue's mean (Bayesian average)
	Conv        []float32 // conversion per push, Beta-shrunk toward its L1 x price band mean (that toward the catalogue mean)
	ConvChannel []float32 // (len(data.Channels)+1) x I: the same per channel, shrunk toward Conv
	Pushes      []float32 // pushes seen (undecayed)
	// Found counts (decayed like Pop) the pushes of each item that promoters
	// found themselves, outside any list shown to them (Events.Found):
	// what promoters who know their groups choose, whatever the list ranks
	// first. FoundChannel is the same per channel of the pushing group
	// (row = channel code). FoundExposure is the share of the decayed window
	// the item was listed for (1: all of it; 0: not yet listed, or appended
	// by Extend); FoundMean and FoundChannelMean are the counts per fully
	// exposed item (overall, per channel). All nil or zero when pushes carry
	// no such mark (statistics from before 2026-11-24).
	Found            []float32
	FoundChannel     []float32
	FoundExposure    []float32
	FoundMean        float32
	FoundChannelMean []float32
	FoundPrior       float32 // pseudo-pushes of FoundRel's Gamma prior (StatsConfig.FoundPrior)
}

// FoundRel is how much more often than an average item promoters pushed
// item i of their own accord, overall (ch < 0) or among groups of channel ch:
// log((found + prior) / (mean x exposure + prior)), a Gamma-Poisson posterior
// of the item's rate relative to the mean. An item listed for none of the
// window (exposure 0) gets 0, as do all items when the statistics carry no
// found pushes.
func (s *ItemStats) FoundRel(i int, ch int) float64 {
	if len(s.Found) <= i || len(s.FoundExposure) <= i {
		return 0
	}
	a := float64(s.FoundPrior)
	if a <= 0 {
		a = 1
	}
	e := float64(s.FoundExposure[i])
	if ch < 0 {
		return math.Log((float64(s.Found[i]) + a) / (float64(s.FoundMean)*e + a))
	}
	I := len(s.Found)
	if ch >= len(s.FoundChannelMean) || (ch+1)*I > len(s.FoundChannel) {
		return 0
	}
	return math.Log((float64(s.FoundChannel[ch*I+i]) + a) / (float64(s.FoundChannelMean[ch])*e + a))
}

// StatsConfig sets the statistics' smoothing.
type StatsConfig struct {
	HalfLifeDays float64 // decay of popularity (0: none)
	TrendDays    float64 // length of the recent window (default 7)
	RatingPrior  float64 // pseudo-reviews at the catalogue mean (default 20)
	ConvPrior    float64 // pseudo-pushes of the Beta prior (default 20)
	FoundPrior   float64 // pseudo-pushes of ItemStats.FoundRel (default 1)
}

// DefaultStatsConfig: 14-day half-life, 7-day trend window, 20 pseudo-reviews, 20 pseudo-pushes.
func DefaultStatsConfig() StatsConfig {
	return StatsConfig{HalfLifeDays: 14, TrendDays: 7, RatingPrior: 20, ConvPrior: 20}
}

// NumChannelRows is the number of rows of the per-channel tables (channel codes 0..6).
const NumChannelRows = 7

// NumTierRows is the number of rows of the per-tier tables (tiers 0..6).
const NumTierRows = int(data.MaxTier) + 1

// CellOf is the row of a (channel, tier) cell in PopCell.
func CellOf(ch data.Channel, tier data.CityTier) int { return int(ch)*NumTierRows + int(tier) }

// BuildItemStats computes item statistics at instant at from the events before it.
func BuildItemStats(cat *Catalog, groups *Groups, orders, pushes *Events, at data.Timestamp, cfg StatsConfig) *ItemStats {
	if cfg.TrendDays <= 0 {
		cfg.TrendDays = 7
	}
	if cfg.RatingPrior <= 0 {
		cfg.RatingPrior = 20
	}
	if cfg.ConvPrior <= 0 {
		cfg.ConvPrior = 20
	}
	if cfg.FoundPrior <= 0 {
		cfg.FoundPrior = 1
	}
	I := cat.Len()
	s := &ItemStats{At: at, Pop: make([]float32, I), PopChannel: make([]float32, NumChannelRows*I),
		PopTier: make([]float32, NumTierRows*I), PopCell: make([]float32, NumChannelRows*NumTierRows*I), Trend: make([]float32, I), Rating: make([]float32, I),
		Conv: make([]float32, I), ConvChannel: make([]float32, NumChannelRows*I), Pushes: make([]float32, I),
		FoundPrior: float32(cfg.FoundPrior)}
	dc := Config{HalfLifeDays: cfg.HalfLifeDays}
	win := data.Timestamp(cfg.TrendDays * float64(data.Day))
	// Every sum over events is exact (exactSum): the same bits whatever
	// the order of the events, or however they are split between the parts
	// of a sharded job.
	pop, popCh, popTier := make([]exactSum, I), make([]exactSum, NumChannelRows*I), make([]exactSum, NumTierRows*I)
	popCell, recent, older := make([]exactSum, NumChannelRows*NumTierRows*I), make([]exactSum, I), make([]exactSum, I)
	for e := range orders.Group {
		t := orders.Time[e]
		if !before(t, at) {
			continue
		}
		g, i := orders.Group[e], orders.Item[e]
		w := float64(decay(dc, at, t) * orders.Qty[e])
		pop[i].add(w)
		popCh[int(groups.Channel[g])*I+int(i)].add(w)
		popTier[int(groups.Tier[g])*I+int(i)].add(w)
		popCell[CellOf(groups.Channel[g], groups.Tier[g])*I+int(i)].add(w)
		if at != data.UnknownTime && t != data.UnknownTime {
			switch age := at - t; {
			case age <= win:
				recent[i].add(float64(orders.Qty[e]))
			case age <= 2*win:
				older[i].add(float64(orders.Qty[e]))
			}
		}
	}
	addExact(groups.Parts, pop, popCh, popTier, popCell, recent, older)
	for i := range I {
		s.Pop[i] = float32(pop[i].value())
	}
	for k, x := range popCh {
		s.PopChannel[k] = float32(x.value())
	}
	for k, x := range popTier {
		s.PopTier[k] = float32(x.value())
	}
	for k, x := range popCell {
		s.PopCell[k] = float32(x.value())
	}
	for i := range I {
		s.Trend[i] = float32((recent[i].value() + 1) / (older[i].value() + 1))
	}
	// Good-review rate: Bayesian average toward the review-weighted catalogue mean.
	var good, all float64
	for i := range I {
		good += float64(cat.GoodReviews[i])
		all += float64(cat.Reviews[i])
	}
	mean := 0.9
	if all > 0 {
		mean = good / all
	}
	for i := range I {
		s.Rating[i] = float32((float64(cat.GoodReviews[i]) + cfg.RatingPrior*mean) / (float64(cat.Reviews[i]) + cfg.RatingPrior))
	}
	// Conversion per push: Beta prior with the catalogue's mean rate and ConvPrior pseudo-pushes.
	conv := make([]float32, I)
	chPush, chConv := make([]float32, NumChannelRows*I), make([]float32, NumChannelRows*I)
	var found []exactSum // the items', then per channel
	if pushes.Found != nil {
		s.Found, s.FoundChannel = make([]float32, I), make([]float32, NumChannelRows*I)
		s.FoundChannelMean = make([]float32, NumChannelRows)
		found = make([]exactSum, (1+NumChannelRows)*I)
	}
	for e := range pushes.Group {
		t := pushes.Time[e]
		if !before(t, at) {
			continue
		}
		i, ch := pushes.Item[e], int(groups.Channel[pushes.Group[e]])
		if pushes.Found != nil && pushes.Found[e] {
			w := float64(decay(dc, at, t))
			found[i].add(w)
			found[I+ch*I+int(i)].add(w)
		}
		s.Pushes[i]++
		chPush[ch*I+int(i)]++
		if pushes.Converted != nil && pushes.Converted[e] {
			conv[i]++
			chConv[ch*I+int(i)]++
		}
	}
	addCounts(groups.Parts, [][]float32{s.Pushes, chPush, conv, chConv}, nil)
	var tp, tc float64
	for i := range I {
		tp += float64(s.Pushes[i])
		tc += float64(conv[i])
	}
	if s.Found != nil {
		addExact(groups.Parts, found)
		for k := range I {
			s.Found[k] = float32(found[k].value())
		}
		for k := range NumChannelRows * I {
			s.FoundChannel[k] = float32(found[I+k].value())
		}
		// The means are sums over the items (in item order) of the items'
		// sums: whoever sums an item's pushes, the same bits.
		s.FoundExposure = exposure(cat, pushes, at, cfg.HalfLifeDays, groups.Parts)
		var e, all float64
		chs := make([]float64, NumChannelRows)
		for i, x := range s.FoundExposure {
			e += float64(x)
			all += float64(s.Found[i])
			for ch := range chs {
				chs[ch] += float64(s.FoundChannel[ch*I+i])
			}
		}
		if e == 0 {
			e = 1
		}
		s.FoundMean = float32(all / e)
		for ch, x := range chs {
			s.FoundChannelMean[ch] = float32(x / e)
		}
	}
	m := 0.1
	if tp > 0 {
		m = tc / tp
	}
	// Hierarchical prior: each item shrinks toward the conversion of its L1
	// category and price band (itself shrunk toward the catalogue's), so an
	// expensive item nobody pushed yet does not inherit the cheap items' rate.
	nb := NumBands + 1
	cellP, cellC := make([]float64, len(cat.L1Names)*nb), make([]float64, len(cat.L1Names)*nb)
	for i := range I {
		k := int(cat.L1[i])*nb + int(cat.Band[i])
		cellP[k] += float64(s.Pushes[i])
		cellC[k] += float64(conv[i])
	}
	for i := range I {
		k := int(cat.L1[i])*nb + int(cat.Band[i])
		mc := (cellC[k] + 5*cfg.ConvPrior*m) / (cellP[k] + 5*cfg.ConvPrior)
		a, b := float32(cfg.ConvPrior*mc), float32(cfg.ConvPrior*(1-mc))
		s.Conv[i] = (conv[i] + a) / (s.Pushes[i] + a + b)
		for ch := range NumChannelRows {
			k := ch*I + i
			s.ConvChannel[k] = (chConv[k] + float32(cfg.ConvPrior)*s.Conv[i]) / (chPush[k] + float32(cfg.ConvPrior))
		}
	}
	return s
}

// Extend returns the statistics with n items appended that have no history:
// no popularity, a neutral trend, the conversion prior convMean.
func (s *ItemStats) Extend(n int, convMean float32) *ItemStats {
	I := len(s.Pop)
	J := I + n
	grow := func(x []float32, fill float32) []float32 {
		out := make([]float32, J)
		copy(out, x)
		for i := I; i < J; i++ {
			out[i] = fill
		}
		return out
	}
	rows := func(x []float32, fill float32) []float32 {
		if I == 0 {
			return make([]float32, 0)
		}
		R := len(x) / I
		out := make([]float32, R*J)
		for r := range R {
			copy(out[r*J:r*J+I], x[r*I:(r+1)*I])
			for i := I; i < J; i++ {
				out[r*J+i] = fill
			}
		}
		return out
	}
	out := &ItemStats{At: s.At, Pop: grow(s.Pop, 0), PopChannel: rows(s.PopChannel, 0), PopTier: rows(s.PopTier, 0),
		PopCell: rows(s.PopCell, 0), Trend: grow(s.Trend, 1), Rating: grow(s.Rating, 0), Conv: grow(s.Conv, convMean),
		ConvChannel: rows(s.ConvChannel, convMean), Pushes: grow(s.Pushes, 0),
		FoundMean: s.FoundMean, FoundChannelMean: slices.Clone(s.FoundChannelMean), FoundPrior: s.FoundPrior}
	if s.Found != nil {
		out.Found, out.FoundChannel, out.FoundExposure = grow(s.Found, 0), rows(s.FoundChannel, 0), grow(s.FoundExposure, 0)
	}
	return out
}

// exposure is, per item, the share of the pushes' decayed window [first push,
// at) during which it was listed (cat.Listed; 1 for every item when unknown).
func exposure(cat *Catalog, pushes *Events, at data.Timestamp, halfLifeDays float64, parts Parts) []float32 {
	I := cat.Len()
	out := make([]float32, I)
	first := data.UnknownTime
	for _, t := range pushes.Time {
		if t != data.UnknownTime && before(t, at) && (first == data.UnknownTime || t < first) {
			first = t
		}
	}
	if parts != nil { // the first over every part's pushes
		x := []int64{math.MaxInt64}
		if first != data.UnknownTime {
			x[0] = int64(first)
		}
		if parts.MinInts(x) == nil && x[0] != math.MaxInt64 {
			first = data.Timestamp(x[0])
		}
	}
	if cat.Listed == nil || first == data.UnknownTime || at == data.UnknownTime || at <= first {
		for i := range out {
			out[i] = 1
		}
		return out
	}
	// mass is the decayed length of [from, at).
	mass := func(from data.Timestamp) float64 {
		days := float64(at-from) / float64(data.Day)
		if halfLifeDays <= 0 {
			return days
		}
		return -math.Expm1(-days * math.Ln2 / halfLifeDays)
	}
	all := mass(first)
	for i := range out {
		from := max(cat.Listed[i], first)
		if from >= at {
			continue
		}
		out[i] = float32(mass(from) / all)
	}
	return out
}

// Len is the number of items.
func (s *ItemStats) Len() int { return len(s.Pop) }
