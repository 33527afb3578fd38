package train

import (
	"context"
	"fmt"
	"math"
	"sort"

	"grouprank/recommend"
)

// FitPlatt fits p = sigmoid(a z + b) to labels y by Newton's method, with
// Platt's (1999) smoothed targets against overfitting.
func FitPlatt(z, y []float64) recommend.Calibration {
	var pos, neg float64
	for _, v := range y {
		if v > 0.5 {
			pos++
		} else {
			neg++
		}
	}
	hi, lo := (pos+1)/(pos+2), 1/(neg+2)
	a, b := 1.0, 0.0
	for range 50 {
		var ga, gb, haa, hab, hbb float64
		for n, x := range z {
			t := lo
			if y[n] > 0.5 {
				t = hi
			}
			p := 1 / (1 + math.Exp(-(a*x + b)))
			r := p - t
			w := math.Max(p*(1-p), 1e-12)
			ga += r * x
			gb += r
			haa += w * x * x
			hab += w * x
			hbb += w
		}
		haa += 1e-9
		hbb += 1e-9
		det := haa*hbb - hab*hab
		if det <= 0 {
			break
		}
		da := (hbb*ga - hab*gb) / det
		db := (haa*gb - hab*ga) / det
		a, b = a-da, b-db
		if math.Abs(da)+math.Abs(db) < 1e-10 {
			break
		}
	}
	return recommend.Calibration{Method: "platt", A: a, B: b}
}

// FitIsotonic fits a nondecreasing map from z to y by pool-adjacent-violators,
// then merges blocks until each holds at least minBlock examples; the knots
// are the blocks' mean z and mean y (interpolated linearly between them).
// Beyond the end knots the map goes on along link(y) (link "logit" for
// probabilities, "log" for counts; "" leaves it flat) with the trend of the
// nearest tenth of the examples (see tailSlope).
func FitIsotonic(z, y []float64, minBlock int, link string) recommend.Calibration {
	idx := make([]int, len(z))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return z[idx[a]] < z[idx[b]] })
	type block struct{ sz, sy, n float64 }
	var bs []block
	for _, i := range idx { // pool adjacent violators
		bs = append(bs, block{z[i], y[i], 1})
		for len(bs) > 1 {
			a, b := bs[len(bs)-2], bs[len(bs)-1]
			if a.sy/a.n < b.sy/b.n {
				break
			}
			bs = bs[:len(bs)-1]
			bs[len(bs)-1] = block{a.sz + b.sz, a.sy + b.sy, a.n + b.n}
		}
	}
	// merge neighbours until every block holds minBlock examples: merging
	// consecutive blocks of a nondecreasing sequence keeps it nondecreasing
	var merged []block
	var cur block
	for _, b := range bs {
		cur = block{cur.sz + b.sz, cur.sy + b.sy, cur.n + b.n}
		if cur.n >= float64(minBlock) {
			merged = append(merged, cur)
			cur = block{}
		}
	}
	if cur.n > 0 {
		if len(merged) == 0 {
			merged = append(merged, cur)
		} else {
			l := &merged[len(merged)-1]
			*l = block{l.sz + cur.sz, l.sy + cur.sy, l.n + cur.n}
		}
	}
	c := recommend.Calibration{Method: "isotonic"}
	for _, b := range merged {
		c.X = append(c.X, b.sz/b.n)
		c.Y = append(c.Y, b.sy/b.n)
	}
	zs, ys := make([]float64, len(idx)), make([]float64, len(idx))
	for k, i := range idx {
		zs[k], ys[k] = z[i], y[i]
	}
	setTails(&c, link, zs, ys)
	return c
}

// setTails gives an isotonic map its link and tail slopes, or none when an
// end value lies outside the link's domain (a lowest block without a single
// positive label, say): then the map stays flat beyond its knots. zs and ys
// are the examples in increasing order of z.
func setTails(c *recommend.Calibration, link string, zs, ys []float64) {
	n := len(c.X)
	if (link != "log" && link != "logit") || n == 0 || c.Y[0] <= 0 || (link == "logit" && c.Y[n-1] >= 1) {
		return
	}
	m := len(zs) / 10
	c.Link = link
	c.LowSlope = tailSlope(zs[:m], ys[:m], link)
	c.HighSlope = tailSlope(zs[len(zs)-m:], ys[len(ys)-m:], link)
}

// tailSlope is the slope b of a generalised linear model link(E[y]) = a + b z
// (FitLogistic, Poisson for the log link) fitted to the examples of one end
// (the lowest or highest tenth by z): their own trend, unlike the end knots,
// which carry isotonic regression's bias at the ends. It is kept within
// [0.25, 2] (0.25 keeps some order among pushes past the ends, 2 keeps a
// noisy end from running away) and is 1, the model's own scale, when the
// examples cannot determine it.
func tailSlope(z, y []float64, link string) float64 {
	var pos float64
	for _, v := range y {
		pos += v
	}
	if len(z) < 20 || z[len(z)-1]-z[0] < 1e-6 || pos <= 0 || (link == "logit" && pos >= float64(len(y))) {
		return 1
	}
	fit, err := FitLogistic(context.Background(), Dense{X: z, D: 1}, y, func(int) float64 { return 1 },
		LogisticConfig{Poisson: link == "log", Iterations: 50, Tolerance: 1e-9})
	if err != nil || math.IsNaN(fit.W[0]) {
		return 1
	}
	return math.Min(math.Max(fit.W[0], 0.25), 2)
}

// FitCalibration fits the named method ("platt", "isotonic", or "auto": the
// one with the lower log loss in two-fold cross-validation over the data,
// folds alternating in the order given) and reports the choice.
func FitCalibration(method string, z, y []float64) (recommend.Calibration, string, error) {
	minBlock := max(50, len(z)/400)
	fit := func(m string, z, y []float64) recommend.Calibration {
		if m == "platt" {
			return FitPlatt(z, y)
		}
		return FitIsotonic(z, y, minBlock, "logit")
	}
	switch method {
	case "platt", "isotonic":
		return fit(method, z, y), method, nil
	case "auto", "":
	default:
		return recommend.Calibration{}, "", fmt.Errorf("calibration: unknown method %q (want platt, isotonic or auto)", method)
	}
	var za, ya, zb, yb []float64
	for n := range z {
		if n%2 == 0 {
			za, ya = append(za, z[n]), append(ya, y[n])
		} else {
			zb, yb = append(zb, z[n]), append(yb, y[n])
		}
	}
	best, bestLoss := "", math.Inf(1)
	for _, m := range []string{"platt", "isotonic"} {
		ca, cb := fit(m, za, ya), fit(m, zb, yb)
		loss := (logLossWith(&cb, za, ya)*float64(len(za)) + logLossWith(&ca, zb, yb)*float64(len(zb))) / float64(len(z))
		if loss < bestLoss {
			best, bestLoss = m, loss
		}
	}
	return fit(best, z, y), fmt.Sprintf("auto: %s (cross-validated log loss %.5f)", best, bestLoss), nil
}

func logLossWith(c *recommend.Calibration, z, y []float64) float64 {
	p := make([]float64, len(z))
	for n, v := range z {
		p[n] = c.Apply(v)
	}
	return LogLoss(p, y)
}

// LogLoss is the mean negative log-likelihood of labels y under p.
func LogLoss(p, y []float64) float64 {
	var s float64
	for n, v := range p {
		v = math.Min(math.Max(v, 1e-12), 1-1e-12)
		if y[n] > 0.5 {
			s -= math.Log(v)
		} else {
			s -= math.Log(1 - v)
		}
	}
	return s / float64(max(len(p), 1))
}

// AUC is the probability that a random positive scores above a random
// negative (ties count one half); NaN without both classes.
func AUC(score, y []float64) float64 {
	idx := make([]int, len(score))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return score[idx[a]] < score[idx[b]] })
	var rankSum, pos float64
	for a := 0; a < len(idx); {
		b := a
		for b < len(idx) && score[idx[b]] == score[idx[a]] {
			b++
		}
		r := float64(a+b+1) / 2 // average 1-based rank of the tie block
		for k := a; k < b; k++ {
			if y[idx[k]] > 0.5 {
				rankSum += r
				pos++
			}
		}
		a = b
	}
	neg := float64(len(score)) - pos
	if pos == 0 || neg == 0 {
		return math.NaN()
	}
	return (rankSum - pos*(pos+1)/2) / (pos * neg)
}

// Bin is one row of a reliability table.
type Bin struct {
	N         int     `json:"n"`
	Predicted float64 `json:"predicted"`      // mean predicted probability
	Observed  float64 `json:"observed"`       // share with an order
	True      float64 `json:"true,omitempty"` // mean true probability (synthetic worlds)
	Error     float64 `json:"error"`          // |predicted - observed|
	Tolerance float64 `json:"tolerance"`      // max(0.005, 10% of observed)
}

// Reliability cuts the examples into bins of equal count by predicted p and
// compares predicted with observed (and true, when truth is not nil) per bin.
func Reliability(p, y, truth []float64, bins int) []Bin {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] < p[idx[b]] })
	var out []Bin
	for b := range bins {
		lo, hi := b*len(idx)/bins, (b+1)*len(idx)/bins
		if hi <= lo {
			continue
		}
		var bin Bin
		for _, i := range idx[lo:hi] {
			bin.N++
			bin.Predicted += p[i]
			bin.Observed += y[i]
			if truth != nil {
				bin.True += truth[i]
			}
		}
		n := float64(bin.N)
		bin.Predicted /= n
		bin.Observed /= n
		bin.True /= n
		bin.Error = math.Abs(bin.Predicted - bin.Observed)
		bin.Tolerance = math.Max(0.005, 0.1*bin.Observed)
		out = append(out, bin)
	}
	return out
}
