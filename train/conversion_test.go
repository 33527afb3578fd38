package train

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"grouprank/data"
	"grouprank/features"
	"grouprank/recommend"
)

// simulated draws n examples of d standard-normal features with labels from
// a known logistic model.
func simulated(n int, w []float64, b float64, seed uint64) (X, y []float64) {
	r := rand.New(rand.NewPCG(seed, 1))
	d := len(w)
	X, y = make([]float64, n*d), make([]float64, n)
	for i := range n {
		z := b
		for j := range d {
			x := r.NormFloat64()*(1+float64(j)) + float64(j) // uneven scales and means
			X[i*d+j] = x
			z += w[j] * x
		}
		if r.Float64() < 1/(1+math.Exp(-z)) {
			y[i] = 1
		}
	}
	return X, y
}

func TestFitLogisticRecoversWeights(t *testing.T) {
	w, b := []float64{0.8, -0.5, 0.2, 0}, -1.0
	X, y := simulated(40000, w, b, 1)
	all := func(int) float64 { return 1 }
	m, err := FitLogistic(context.Background(), Dense{X: X, D: len(w)}, y, all, LogisticConfig{L2: 0.1, Iterations: 30, Tolerance: 1e-8})
	if err != nil {
		t.Fatal(err)
	}
	for j := range w {
		if math.Abs(m.W[j]-w[j]) > 0.05 {
			t.Errorf("w[%d] = %.3f, want %.3f", j, m.W[j], w[j])
		}
	}
	if math.Abs(m.Bias-b) > 0.15 {
		t.Errorf("bias %.3f, want %.3f", m.Bias, b)
	}
	again, _ := FitLogistic(context.Background(), Dense{X: X, D: len(w)}, y, all, LogisticConfig{L2: 0.1, Iterations: 30, Tolerance: 1e-8})
	for j := range w {
		if again.W[j] != m.W[j] {
			t.Fatal("two fits of the same data differ")
		}
	}
	if _, err := FitLogistic(context.Background(), Dense{X: X, D: len(w)}, y, func(int) float64 { return 0 }, DefaultLogisticConfig()); err == nil {
		t.Error("no examples: want an error")
	}
	// In blocks (rows of 500 groups of 80 examples each), on 1, 2 and 5
	// goroutines: one fit, a different one from the rows in order.
	blocks := features.NewGroupBlocks(len(y), func(r int) int { return data.BlockOf(data.GroupID(1 + r/80)) })
	first := map[bool]*Logistic{}
	for _, workers := range []int{1, 2, 5} {
		for _, poisson := range []bool{false, true} {
			cfg := LogisticConfig{L2: 0.1, Iterations: 30, Tolerance: 1e-8, Poisson: poisson}
			b, err := FitLogisticBlocks(context.Background(), Dense{X: X, D: len(w)}, y, all, blocks, workers, cfg)
			if err != nil {
				t.Fatal(err)
			}
			f := first[poisson]
			if f == nil {
				first[poisson] = b
				for j := range w {
					if !poisson && math.Abs(b.W[j]-m.W[j]) > 1e-9 {
						t.Errorf("in blocks w[%d] = %v, in order %v", j, b.W[j], m.W[j])
					}
				}
				continue
			}
			if !slices.Equal(b.W, f.W) || b.Bias != f.Bias {
				t.Fatalf("%d goroutines (Poisson %v): %v %v, one: %v %v", workers, poisson, b.W, b.Bias, f.W, f.Bias)
			}
		}
	}
}

func TestCalibrationAndMetrics(t *testing.T) {
	// Scores whose true probability is sigmoid(2z - 1): a miscalibrated logit.
	r := rand.New(rand.NewPCG(3, 3))
	n := 60000
	z, y, truth := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range n {
		z[i] = r.NormFloat64()
		truth[i] = 1 / (1 + math.Exp(-(2*z[i] - 1)))
		if r.Float64() < truth[i] {
			y[i] = 1
		}
	}
	pl := FitPlatt(z, y)
	if math.Abs(pl.A-2) > 0.1 || math.Abs(pl.B+1) > 0.1 {
		t.Errorf("Platt a=%.3f b=%.3f, want 2 and -1", pl.A, pl.B)
	}
	iso := FitIsotonic(z, y, 200, "logit")
	if err := iso.Check(); err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{"platt", "isotonic", "auto"} {
		c, _, err := FitCalibration(method, z, y)
		if err != nil {
			t.Fatal(err)
		}
		p := make([]float64, n)
		for i := range p {
			p[i] = c.Apply(z[i])
		}
		for k, b := range Reliability(p, y, truth, 10) {
			if b.Error > b.Tolerance || math.Abs(b.Predicted-b.True) > b.Tolerance {
				t.Errorf("%s decile %d: predicted %.4f observed %.4f true %.4f", method, k+1, b.Predicted, b.Observed, b.True)
			}
		}
	}
	if _, _, err := FitCalibration("magic", z, y); err == nil {
		t.Error("unknown method: want an error")
	}
	if a := AUC([]float64{1, 2, 3, 4}, []float64{0, 0, 1, 1}); a != 1 {
		t.Errorf("AUC of a perfect ranking %.3f", a)
	}
	if a := AUC([]float64{1, 1, 1, 1}, []float64{0, 1, 0, 1}); a != 0.5 {
		t.Errorf("AUC of ties %.3f", a)
	}
	if a := AUC([]float64{1, 2}, []float64{1, 1}); !math.IsNaN(a) {
		t.Errorf("AUC without negatives %.3f, want NaN", a)
	}
	if l := LogLoss([]float64{0.5, 0.5}, []float64{0, 1}); math.Abs(l-math.Ln2) > 1e-12 {
		t.Errorf("log loss %.4f", l)
	}
}

// An isotonic map goes on past its end knots along its link with the slope
// of its end knots, so pushes rated beyond them keep their order and roughly
// their value; without a link it stays flat, as artefacts before tails did.
func TestIsotonicTails(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	n := 200000
	z, yp, yc := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range n {
		z[i] = r.NormFloat64()
		if r.Float64() < 1/(1+math.Exp(-(1.5*z[i]-1))) {
			yp[i] = 1
		}
		yc[i] = float64(poisson(r, math.Exp(0.8*z[i]-1)))
	}
	for _, c := range []struct {
		link  string
		y     []float64
		slope float64
		truth func(float64) float64
	}{
		{"logit", yp, 1.5, func(z float64) float64 { return 1 / (1 + math.Exp(-(1.5*z - 1))) }},
		{"log", yc, 0.8, func(z float64) float64 { return math.Exp(0.8*z - 1) }},
	} {
		iso := FitIsotonic(z, c.y, 500, c.link)
		if err := iso.Check(); err != nil {
			t.Fatal(err)
		}
		if iso.Link != c.link || math.Abs(iso.LowSlope-c.slope) > 0.15 || math.Abs(iso.HighSlope-c.slope) > 0.15 {
			t.Errorf("%s: link %q slopes %.2f and %.2f, want about %.1f", c.link, iso.Link, iso.LowSlope, iso.HighSlope, c.slope)
		}
		lo, hi := iso.X[0], iso.X[len(iso.X)-1]
		for _, at := range []float64{lo - 1, lo - 0.5, hi + 0.5, hi + 1} {
			if got, want := iso.Value(at), c.truth(at); math.Abs(math.Log(got/want)) > 0.5 { // the end knots carry isotonic regression's own end bias
				t.Errorf("%s at z=%.2f (knots %.2f..%.2f): %.4f, truth %.4f", c.link, at, lo, hi, got, want)
			}
		}
		if !(iso.Value(lo-1) < iso.Value(lo-0.5) && iso.Value(lo-0.5) < iso.Value(lo)) {
			t.Errorf("%s: no order below the lowest knot", c.link)
		}
		flat := FitIsotonic(z, c.y, 500, "")
		if flat.Link != "" || flat.Value(lo-1) != flat.Y[0] || flat.Value(hi+1) != flat.Y[len(flat.Y)-1] {
			t.Errorf("%s: without a link the map should be flat beyond its knots", c.link)
		}
	}
	bad := recommend.Calibration{Method: "isotonic", X: []float64{0, 1}, Y: []float64{0, 0.5}, Link: "log", LowSlope: 1, HighSlope: 1}
	if err := bad.Check(); err == nil {
		t.Error("a log link from a zero end value: want an error")
	}
	bad = recommend.Calibration{Method: "isotonic", X: []float64{0, 1}, Y: []float64{0.1, 0.5}, Link: "probit"}
	if err := bad.Check(); err == nil {
		t.Error("an unknown link: want an error")
	}
}

// poisson draws from a Poisson distribution of mean m (Knuth; m is small here).
func poisson(r *rand.Rand, m float64) int {
	l, k, p := math.Exp(-m), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// TestFitPoissonOvershoot: counts that saturate in a heavy-tailed feature
// the log-linear model takes as linear, where a full Newton step from the
// mean count lands on rows whose predicted mean explodes (the fit used to
// wander off to a bias of -40). The fit takes such steps back and converges
// to the optimum: with an unpenalised bias, the predicted counts sum to the
// observed ones.
func TestFitPoissonOvershoot(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	n := 20000
	X, y := make([]float64, n), make([]float64, n)
	var sy float64
	for i := range n {
		X[i] = math.Exp(1.5 * r.NormFloat64())
		mu := math.Exp(-3 + 0.4*math.Min(X[i], 12))
		u, k, p := r.Float64(), 0.0, math.Exp(-mu) // a Poisson draw by inversion
		for cdf := p; u > cdf && k < 500; cdf += p {
			k++
			p *= mu / k
		}
		y[i] = k
		sy += k
	}
	all := func(int) float64 { return 1 }
	cfg := LogisticConfig{Poisson: true, L2: 1, Iterations: 50, Tolerance: 1e-8}
	m, err := FitLogistic(context.Background(), Dense{X: X, D: 1}, y, all, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var smu float64
	for i := range n {
		smu += math.Exp(m.Logit(X[i : i+1]))
	}
	if m.Iterations == cfg.Iterations || math.Abs(smu-sy) > 1e-6*sy {
		t.Errorf("after %d steps (w %.3f, bias %.3f) the predicted counts sum to %.3f, the observed to %.0f", m.Iterations, m.W[0], m.Bias, smu, sy)
	}
}

// TestPackReportRow: a report row's label, orders, part, randomised flag
// and price band come back from their packed value as they went in; what
// cannot be packed exactly is refused.
func TestPackReportRow(t *testing.T) {
	for _, c := range []struct {
		y, orders float32
		part      Part
		random    bool
		band      uint8
	}{{0, 0, PartNone, false, 0}, {1, 1, PartTrain, true, 3}, {1, 17, PartTest, false, 255}, {0, 0, PartCalib, true, 128}, {1, 1<<40 - 1<<16, PartTest, true, 7}} {
		v, err := packReportRow(c.y, c.orders, c.part, c.random, c.band)
		if err != nil {
			t.Fatal(err)
		}
		y, orders, part, random, band := unpackReportRow(v)
		if y != float64(c.y) || orders != float64(c.orders) || part != c.part || random != c.random || band != int(c.band) {
			t.Errorf("%+v came back as %g %g %d %t %d", c, y, orders, part, random, band)
		}
	}
	for _, bad := range [][2]float32{{0.5, 0}, {1, 1.5}, {0, -1}, {1, 1 << 41}} {
		if _, err := packReportRow(bad[0], bad[1], PartTest, false, 0); err == nil {
			t.Errorf("label %g, orders %g packed", bad[0], bad[1])
		}
	}
}
