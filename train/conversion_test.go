package train

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
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
	m, err := FitLogistic(context.Background(), X, len(w), y, all, LogisticConfig{L2: 0.1, Iterations: 30, Tolerance: 1e-8})
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
	again, _ := FitLogistic(context.Background(), X, len(w), y, all, LogisticConfig{L2: 0.1, Iterations: 30, Tolerance: 1e-8})
	for j := range w {
		if again.W[j] != m.W[j] {
			t.Fatal("two fits of the same data differ")
		}
	}
	if _, err := FitLogistic(context.Background(), X, len(w), y, func(int) float64 { return 0 }, DefaultLogisticConfig()); err == nil {
		t.Error("no examples: want an error")
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
	iso := FitIsotonic(z, y, 200)
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
