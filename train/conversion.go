package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"golang.org/x/sync/errgroup"

	"grouprank/data"
	"grouprank/features"
	"grouprank/recommend"
)

// ConversionConfig sets the conversion model's fit.
type ConversionConfig struct {
	Logistic    LogisticConfig
	Calibration string // "auto", "platt" or "isotonic"
	// ShuffleLabels permutes the training labels (seeded): a leakage check,
	// after which test AUC must fall to about 0.5.
	ShuffleLabels bool
	Seed          uint64
	// RandomWeight multiplies the weight of training pushes out of randomised
	// lists: the only pushes whose items the logging policy did not choose,
	// so the only unbiased view of items it never shows (1: no reweighting).
	RandomWeight float64
}

// DefaultConversionConfig: DefaultLogisticConfig, calibration chosen by cross-validation.
func DefaultConversionConfig() ConversionConfig {
	return ConversionConfig{Logistic: DefaultLogisticConfig(), Calibration: "auto", Seed: 1, RandomWeight: 1}
}

// Metrics are a conversion model's quality on one set of pushes.
type Metrics struct {
	Set      string  `json:"set"`
	N        int     `json:"n"`
	Rate     float64 `json:"rate"`      // share with an order
	AUC      float64 `json:"auc"`       // of the calibrated p
	LogLoss  float64 `json:"log_loss"`  // of the calibrated p
	Mean     float64 `json:"mean_p"`    // mean calibrated p
	TrueAUC  float64 `json:"true_auc"`  // of the true probabilities (synthetic worlds): the ceiling
	TrueLoss float64 `json:"true_loss"` // log loss of the true probabilities
	MaxError float64 `json:"max_decile_error"`
	Orders   float64 `json:"orders"`                   // attributed orders per push
	PredOrd  float64 `json:"pred_orders"`              // predicted expected orders per push
	Within   bool    `json:"deciles_within_tolerance"` // every decile within max(0.005, 10% of observed)
}

// BandReliability is the reliability table of one price band.
type BandReliability struct {
	Band string `json:"band"`
	Bins []Bin  `json:"bins"`
}

// ConversionReport is what fitting found.
type ConversionReport struct {
	Calibration string             `json:"calibration"`
	Iterations  int                `json:"iterations"`
	Weights     map[string]float64 `json:"weights"` // on standardised features: comparable sizes
	Sets        []Metrics          `json:"sets"`    // train, calibration, test, test-randomised
	Deciles     []Bin              `json:"deciles"` // test
	Random      []Bin              `json:"random_deciles"`
	Bands       []BandReliability  `json:"bands"` // test, per price band (quintiles)
	// Baselines are simpler scores' AUC on the same test pushes.
	Baselines []Baseline `json:"baselines"`
}

// Baseline is one simple score's AUC of separating converted test pushes
// from the rest, against which the model's own AUC is read.
type Baseline struct {
	Name      string  `json:"name"`
	AUC       float64 `json:"auc"`        // test pushes
	RandomAUC float64 `json:"random_auc"` // test pushes from randomised lists
}

// FitConversion fits the logistic regression on the train part, the
// calibration on the calibration part, and measures everything on each part.
// In one part of a sharded job (History.SetShard) the fits and the
// calibration join the other parts' examples, and the report is part 0's
// (the others' holds the weights only).
func FitConversion(ctx context.Context, ex *Examples, cfg ConversionConfig) (*recommend.Conversion, *ConversionReport, error) {
	y, shuffled := ex.Y, ex.Orders
	if cfg.ShuffleLabels && ex.shard != nil {
		return nil, nil, errors.New("the labels of a sharded training run cannot be shuffled (train the whole for the leakage check)")
	}
	if cfg.ShuffleLabels { // both models' labels, moved together
		y, shuffled = append([]float32(nil), ex.Y...), append([]float32(nil), ex.Orders...)
		var train []int32
		for _, n := range ex.InOrder() {
			if ex.Part[n] == PartTrain {
				train = append(train, n)
			}
		}
		r := rand.New(rand.NewPCG(cfg.Seed, 0x5bfe))
		r.Shuffle(len(train), func(a, b int) {
			i, j := train[a], train[b]
			y[i], y[j] = y[j], y[i]
			shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
		})
	}
	weight := func(n int) float64 {
		switch {
		case ex.Part[n] != PartTrain:
			return 0
		case ex.Random[n]:
			return max(cfg.RandomWeight, 0)
		}
		return 1
	}
	// The two fits (P(order | push), then the expected orders: a Poisson
	// regression on the same features and training pushes, its log-mean
	// calibrated on the calibration window) read the same examples and
	// nothing of each other: they run side by side, each as it would alone
	// (in a sharded job one after the other).
	pcfg := cfg.Logistic
	pcfg.Poisson = true
	blocks := ex.Blocks
	if blocks == nil { // in their order, as one block
		blocks = oneBlock(ex.Len())
	}
	fit := func(ctx context.Context, y []float32, cfg LogisticConfig) (*Logistic, error) {
		return FitLogisticBlocks(ctx, ex.X, y, weight, blocks, 0, cfg)
	}
	var lr, pr *Logistic
	eg, ectx := errgroup.WithContext(ctx)
	if ex.shard != nil {
		eg.SetLimit(1) // one after the other: each step of each joins the parts in turn
	}
	eg.Go(func() (err error) {
		lr, err = fit(ectx, y, cfg.Logistic)
		return err
	})
	eg.Go(func() (err error) {
		pr, err = fit(ectx, shuffled, pcfg)
		return err
	})
	if err := eg.Wait(); err != nil {
		return nil, nil, err
	}
	row := make([]float64, recommend.NumFeatures)
	// The calibration window's pushes, in their order over every part:
	// each model's logit, the label the fit saw and the attributed orders.
	var ck []int64
	var cv []float64
	for _, n := range ex.InOrder() {
		if ex.Part[n] == PartCalib {
			x := ex.Row(int(n), row)
			ck, cv = append(ck, ex.key(int(n))), append(cv, lr.Logit(x), float64(y[n]), pr.Logit(x), float64(ex.Orders[n]))
		}
	}
	cg, err := gatherRows(ctx, ex.shard, "calibration", true, ck, cv, 4)
	if err != nil {
		return nil, nil, err
	}
	cz, cy, lz, co := make([]float64, cg.Len()), make([]float64, cg.Len()), make([]float64, cg.Len()), make([]float64, cg.Len())
	for k := range cz {
		cz[k], cy[k], lz[k], co[k] = cg.Val(k, 0), cg.Val(k, 1), cg.Val(k, 2), cg.Val(k, 3)
	}
	cg, ck, cv = nil, nil, nil
	cal, choice, err := FitCalibration(cfg.Calibration, cz, cy)
	if err != nil {
		return nil, nil, err
	}
	conv := &recommend.Conversion{Features: recommend.FeatureNames(), Weights: lr.W, Bias: lr.Bias, Calibration: cal,
		OrderWeights: pr.W, OrderBias: pr.Bias, Orders: FitIsotonic(lz, co, max(50, len(lz)/400), "log")}
	rep := &ConversionReport{Calibration: choice, Iterations: lr.Iterations, Weights: map[string]float64{}}
	for j, name := range conv.Features {
		rep.Weights[name] = lr.W[j] * lr.Std[j]
	}
	// Every push's calibrated p, label, true p, orders, predicted orders,
	// part, randomised list and price band, in their order over every part,
	// at the part that reports (the first; the whole reads them in place).
	N := ex.Len()
	pOf := make([]float64, N)
	for n := range pOf {
		pOf[n] = cal.Apply(lr.Logit(ex.Row(n, row)))
	}
	p, yOf, trueOf := func(n int) float64 { return pOf[n] }, func(n int) float64 { return float64(ex.Y[n]) }, func(n int) float64 { return ex.True[n] }
	ordersOf, predOf := func(n int) float64 { return float64(ex.Orders[n]) }, func(n int) float64 { return conv.ExpectedOrdersOf(ex.Row(n, row)) }
	part, random, band := func(n int) Part { return ex.Part[n] }, func(n int) bool { return ex.Random[n] }, func(n int) int { return int(ex.Band[n]) }
	if ex.shard == nil { // in place, in the pushes' order
		ord := ex.InOrder()
		at := func(f func(int) float64) func(int) float64 { return func(k int) float64 { return f(int(ord[k])) } }
		p, yOf, trueOf, ordersOf, predOf = at(p), at(yOf), at(trueOf), at(ordersOf), at(predOf)
		part = func(k int) Part { return ex.Part[ord[k]] }
		random = func(k int) bool { return ex.Random[ord[k]] }
		band = func(k int) int { return int(ex.Band[ord[k]]) }
	} else {
		// p, true p, predicted orders, and the rest packed into one value.
		const width = 4
		keys, vals := make([]int64, N), make([]float64, 0, width*N)
		for k, n32 := range ex.InOrder() {
			n := int(n32)
			keys[k] = ex.key(n)
			rest, err := packReportRow(ex.Y[n], ex.Orders[n], ex.Part[n], ex.Random[n], ex.Band[n])
			if err != nil {
				return nil, nil, err
			}
			vals = append(vals, pOf[n], ex.True[n], predOf(n), rest)
		}
		pOf = nil
		g, err := gatherRows(ctx, ex.shard, "report", false, keys, vals, width)
		if err != nil {
			return nil, nil, err
		}
		if g == nil { // another part reports
			return conv, rep, nil
		}
		keys, vals = nil, nil
		N = g.Len()
		col := func(j int) func(n int) float64 { return func(n int) float64 { return g.Val(n, j) } }
		p, trueOf, predOf = col(0), col(1), col(2)
		yOf = func(n int) float64 { y, _, _, _, _ := unpackReportRow(g.Val(n, 3)); return y }
		ordersOf = func(n int) float64 { _, o, _, _, _ := unpackReportRow(g.Val(n, 3)); return o }
		part = func(n int) Part { _, _, pt, _, _ := unpackReportRow(g.Val(n, 3)); return pt }
		random = func(n int) bool { _, _, _, r, _ := unpackReportRow(g.Val(n, 3)); return r }
		band = func(n int) int { _, _, _, _, b := unpackReportRow(g.Val(n, 3)); return b }
	}
	var lastKeep func(int) bool
	orders := func(m *Metrics) {
		var o, q, c float64
		for n := range N {
			if lastKeep(n) {
				o += ordersOf(n)
				q += predOf(n)
				c++
			}
		}
		if c > 0 {
			m.Orders, m.PredOrd = o/c, q/c
		}
	}
	sel := func(keep func(n int) bool) (ps, ys, ts []float64) {
		defer func() { lastKeep = keep }()
		hasTruth := N > 0 && !math.IsNaN(trueOf(0))
		for n := range N {
			if keep(n) {
				ps, ys = append(ps, p(n)), append(ys, yOf(n))
				if hasTruth {
					ts = append(ts, trueOf(n))
				}
			}
		}
		return ps, ys, ts
	}
	sets := []struct {
		name string
		keep func(n int) bool
	}{
		{"train", func(n int) bool { return part(n) == PartTrain }},
		{"calibration", func(n int) bool { return part(n) == PartCalib }},
		{"test", func(n int) bool { return part(n) == PartTest }},
		{"test, randomised lists", func(n int) bool { return part(n) == PartTest && random(n) }},
	}
	for k, s := range sets {
		ps, ys, ts := sel(s.keep)
		m := measure(s.name, ps, ys, ts)
		orders(&m)
		rep.Sets = append(rep.Sets, m)
		switch k {
		case 2:
			rep.Deciles = Reliability(ps, ys, ts, 10)
		case 3:
			rep.Random = Reliability(ps, ys, ts, 10)
		}
	}
	for b := range features.NumBands + 1 {
		ps, ys, ts := sel(func(n int) bool { return part(n) == PartTest && band(n) == b })
		if len(ps) == 0 {
			continue
		}
		name := "unknown"
		if b < features.NumBands {
			name = features.BandNames[b]
		}
		rep.Bands = append(rep.Bands, BandReliability{Band: name, Bins: Reliability(ps, ys, ts, 5)})
	}
	return conv, rep, nil
}

func measure(name string, p, y, truth []float64) Metrics {
	m := Metrics{Set: name, N: len(p), AUC: math.NaN(), TrueAUC: math.NaN(), TrueLoss: math.NaN(), LogLoss: math.NaN()}
	if len(p) == 0 {
		return m
	}
	for n := range p {
		m.Rate += y[n]
		m.Mean += p[n]
	}
	m.Rate /= float64(len(p))
	m.Mean /= float64(len(p))
	m.AUC, m.LogLoss = AUC(p, y), LogLoss(p, y)
	if truth != nil {
		m.TrueAUC, m.TrueLoss = AUC(truth, y), LogLoss(truth, y)
	}
	m.Within = true
	for _, b := range Reliability(p, y, nil, 10) {
		m.MaxError = math.Max(m.MaxError, b.Error)
		if b.Error > b.Tolerance {
			m.Within = false
		}
	}
	return m
}

// Fitted is a conversion model with what it was fitted on.
type Fitted struct {
	Base       *Base // profiles, statistics and factors at T1
	Examples   *Examples
	Conversion *recommend.Conversion
	Report     *ConversionReport
}

// Fit builds the base at w.T1, the labelled pushes of the windows, and fits
// and calibrates the conversion model. stage, when not nil, hears progress.
func Fit(ctx context.Context, h *History, w data.Windows, trueProb func(g, i int32, t data.Timestamp) float64,
	base BaseConfig, cfg ConversionConfig, stage func(name string, done, total int)) (*Fitted, error) {
	if stage == nil {
		stage = func(string, int, int) {}
	}
	b, err := h.BuildBase(ctx, w.T1, base, func(e int) { stage("iALS epoch (T1)", e, base.ALS.Epochs) })
	if err != nil {
		return nil, err
	}
	ex := h.Examples(b, base, w, trueProb)
	stage("examples", ex.Len(), ex.Len())
	var counts [4]int
	for _, p := range ex.Part {
		counts[p]++
	}
	if err := h.shard.AddCounts(&counts[0], &counts[1], &counts[2], &counts[3]); err != nil {
		return nil, err
	}
	for p, name := range []string{"", "training", "calibration", "test"} {
		if p > 0 && counts[p] == 0 {
			return nil, fmt.Errorf("the %s window holds no push whose attribution window ends inside it", name)
		}
	}
	conv, rep, err := FitConversion(ctx, ex, cfg)
	if err != nil {
		return nil, err
	}
	if rep.Baselines, err = h.baselines(ctx, ex); err != nil {
		return nil, err
	}
	return &Fitted{Base: b, Examples: ex, Conversion: conv, Report: rep}, nil
}

// baselines scores the test pushes by today's practice order (good-review
// rate x commission rate, data.PracticeScore, on the catalogue of the push's
// day), the item's shrunk conversion rate (its success rate), its popularity
// and its iALS score alone (nil in the parts of a sharded job that do not
// report).
func (h *History) baselines(ctx context.Context, ex *Examples) ([]Baseline, error) {
	col := func(name string) int { return slices.Index(recommend.FeatureNames(), name) }
	days := map[data.Timestamp]*features.Catalog{}
	practice := func(n int) float64 {
		day := ex.Time[n] - ex.Time[n]%data.Day
		cat, ok := days[day]
		if !ok {
			cat = h.Timeline.At(day)
			days[day] = cat
		}
		return data.PracticeScore(&cat.Products[ex.Item[n]])
	}
	column := func(j int) func(n int) float64 { return func(n int) float64 { return ex.X.At(n, j) } }
	names := []string{"practice (rating x commission)", "item success rate", "popularity", "iALS score"}
	scores := []func(n int) float64{practice, column(col("conv")), column(col("pop")), column(col("ials"))}
	// Per test push, in their order over every part: the scores, its label
	// and whether it came out of a randomised list.
	width := len(scores) + 2
	var keys []int64
	var vals []float64
	for _, n32 := range ex.InOrder() {
		n := int(n32)
		if ex.Part[n] != PartTest {
			continue
		}
		keys = append(keys, ex.key(n))
		for _, score := range scores {
			vals = append(vals, score(n))
		}
		r := 0.0
		if ex.Random[n] {
			r = 1
		}
		vals = append(vals, float64(ex.Y[n]), r)
	}
	g, err := gatherRows(ctx, ex.shard, "baselines", false, keys, vals, width)
	if err != nil || g == nil {
		return nil, err
	}
	var out []Baseline
	for b, name := range names {
		var s, y, rs, ry []float64
		for k := range g.Len() {
			v, yk := g.Val(k, b), g.Val(k, len(scores))
			s, y = append(s, v), append(y, yk)
			if g.Val(k, len(scores)+1) == 1 {
				rs, ry = append(rs, v), append(ry, yk)
			}
		}
		out = append(out, Baseline{Name: name, AUC: AUC(s, y), RandomAUC: AUC(rs, ry)})
	}
	return out, nil
}

// packReportRow packs a push's label (0 or 1), attributed orders (a whole
// number), part, randomised list and price band into one float64, exactly,
// so that the report's rows a sharded train gathers take half the room.
func packReportRow(y, orders float32, part Part, random bool, band uint8) (float64, error) {
	if (y != 0 && y != 1) || orders < 0 || orders != float32(math.Trunc(float64(orders))) || orders >= 1<<40 || part > 3 {
		return 0, fmt.Errorf("train: a report row with label %g, orders %g and part %d cannot be packed", y, orders, part)
	}
	v := (uint64(orders)<<8|uint64(band))<<4 | uint64(part)<<2 | uint64(y)
	if random {
		v |= 2
	}
	return float64(v), nil
}

// unpackReportRow is the inverse of packReportRow.
func unpackReportRow(v float64) (y, orders float64, part Part, random bool, band int) {
	u := uint64(v)
	return float64(u & 1), float64(u >> 12), Part(u >> 2 & 3), u&2 != 0, int(u >> 4 & 0xff)
}
