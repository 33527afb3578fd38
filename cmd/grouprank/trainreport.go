package main

import (
	"fmt"
	"io"
	"math"
	"sort"

	"grouprank/train"
)

func printConversionReport(e *env, tr *trained) {
	w, r := e.stdout, tr.report
	win := tr.windows
	fmt.Fprintf(w, "Windows: profiles [%s, %s), train [%s, %s), calibration [%s, %s), test [%s, %s); attribution %.0f h\n",
		win.From, win.T1, win.T1, win.T2, win.T2, win.T3, win.T3, win.End, float64(win.Attribution)/3.6e6)
	a := tr.hist.Report
	fmt.Fprintf(w, "Attribution: %d orders: %d by link, %d by window, %d organic; of the attributed, %d cancelled and %d refunded (reported apart)\n\n",
		a.Orders, a.ByLink, a.ByWindow, a.Unmatched, a.Cancelled, a.Refunded)
	k := tr.know
	fmt.Fprintf(w, "Per group over the whole history (%d groups): %.1f pushes, %.1f of them converted, %.1f placed orders\n",
		k.Groups, k.PushesPerGroup, k.ConvertedPerGroup, k.OrdersPerGroup)
	if !math.IsNaN(k.TasteCorr) {
		fmt.Fprintf(w, "Agreement with the groups' true category effects (correlation over groups x L1 categories): exposure-adjusted taste %.3f (%.3f where the category was pushed to the group), log order share %.3f\n",
			k.TasteCorr, k.TasteCorrPushed, k.ShareCorr)
	}
	if !math.IsNaN(k.AppetiteCorr) {
		fmt.Fprintf(w, "Agreement of the taste with the groups' true appetites per category (category effect + member mix): %.3f\n", k.AppetiteCorr)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Calibration: %s; logistic regression converged in %d Newton steps\n\n", r.Calibration, r.Iterations)
	fmt.Fprintln(w, "| pushes | n | order rate | mean p | AUC | log loss | true-p AUC | true-p log loss | max decile error | deciles within tolerance | orders/push | predicted orders/push |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|")
	for _, s := range r.Sets {
		fmt.Fprintf(w, "| %s | %d | %.4f | %.4f | %s | %s | %s | %s | %.4f | %v | %.4f | %.4f |\n", s.Set, s.N, s.Rate, s.Mean,
			num(s.AUC), num(s.LogLoss), num(s.TrueAUC), num(s.TrueLoss), s.MaxError, s.Within, s.Orders, s.PredOrd)
	}
	fmt.Fprintln(w)
	if len(r.Baselines) > 0 {
		fmt.Fprintln(w, "AUC of simpler scores on the same test pushes (the conversion model's is above):")
		fmt.Fprintln(w, "| score | test AUC | randomised-lists AUC |")
		fmt.Fprintln(w, "|---|---:|---:|")
		for _, b := range r.Baselines {
			fmt.Fprintf(w, "| %s | %s | %s |\n", b.Name, num(b.AUC), num(b.RandomAUC))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "Reliability, test pushes (deciles of predicted p):")
	printBins(w, r.Deciles)
	fmt.Fprintln(w, "Reliability, test pushes from randomised lists (deciles):")
	printBins(w, r.Random)
	fmt.Fprintln(w, "Reliability per price band, test pushes (quintiles of predicted p within the band):")
	fmt.Fprintln(w, "| band | n | predicted | observed | true | max quintile error |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	for _, b := range r.Bands {
		var n int
		var pr, ob, tr, mx float64
		for _, x := range b.Bins {
			n += x.N
			pr += x.Predicted * float64(x.N)
			ob += x.Observed * float64(x.N)
			tr += x.True * float64(x.N)
			mx = math.Max(mx, x.Error)
		}
		fmt.Fprintf(w, "| %s | %d | %.4f | %.4f | %s | %.4f |\n", b.Band, n, pr/float64(n), ob/float64(n), truthNum(tr/float64(n)), mx)
	}
	fmt.Fprintln(w)
	if len(tr.ope) > 0 {
		fmt.Fprintf(w, "Off-policy estimates of P(order | push) over each configuration's top %d, from the %d test pushes out of randomised lists (95%% bootstrap intervals):\n", tr.opeK, tr.opeN)
		fmt.Fprintln(w, "| configuration | matched pushes | IPS | SNIPS | DR | model | true |")
		fmt.Fprintln(w, "|---|---:|---|---|---|---:|---:|")
		for _, r := range tr.ope {
			if r.Note != "" {
				fmt.Fprintf(w, "| %s | %d | %s | | | %.4f | %s |\n", r.Config, r.Matches, r.Note, r.Model, num(r.True))
				continue
			}
			fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %.4f | %s |\n", r.Config, r.Matches, ci(r.IPS, r.IPSCI), ci(r.SNIPS, r.SNIPSCI), ci(r.DR, r.DRCI), r.Model, num(r.True))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "Weights on standardised features:")
	names := make([]string, 0, len(r.Weights))
	for k := range r.Weights {
		names = append(names, k)
	}
	// Largest first; equal weights (features the fit left at 0) by name, so
	// that the report is the same bytes run after run.
	sort.Slice(names, func(a, b int) bool {
		wa, wb := math.Abs(r.Weights[names[a]]), math.Abs(r.Weights[names[b]])
		if wa != wb {
			return wa > wb
		}
		return names[a] < names[b]
	})
	for _, n := range names {
		fmt.Fprintf(w, "  %-16s %+.3f\n", n, r.Weights[n])
	}
	fmt.Fprintln(w)
}

func printBins(w io.Writer, bins []train.Bin) {
	fmt.Fprintln(w, "| decile | n | predicted | observed | true | error | tolerance | within |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---|")
	for k, b := range bins {
		fmt.Fprintf(w, "| %d | %d | %.4f | %.4f | %s | %.4f | %.4f | %v |\n", k+1, b.N, b.Predicted, b.Observed, truthNum(b.True), b.Error, b.Tolerance, b.Error <= b.Tolerance)
	}
	fmt.Fprintln(w)
}

func num(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	return fmt.Sprintf("%.4f", x)
}

func truthNum(x float64) string {
	if x == 0 || math.IsNaN(x) {
		return "-"
	}
	return fmt.Sprintf("%.4f", x)
}

func ci(v float64, c [2]float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.4f (%.4f to %.4f)", v, c[0], c[1])
}
