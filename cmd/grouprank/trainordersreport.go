package main

import (
	"fmt"
	"time"

	"grouprank/data"
	"grouprank/train/pref"
)

// ordersReport is report.json of a model learnt from orders alone.
type ordersReport struct {
	Fitted      []string          `json:"fitted"`
	NotFitted   []string          `json:"not_fitted"`
	Split       string            `json:"split"`
	Selection   *pref.Selection   `json:"selection"`
	Calibration *pref.Calibration `json:"calibration"`
	Undated     bool              `json:"undated"`
	Count       string            `json:"count"`
	SelectTook  string            `json:"selection_took"`
	FitTook     string            `json:"final_fit_took"`
}

// report says what a model learnt from orders fitted, from what, and what
// it did not fit and why (report.json and train's output).
func (p *prefWorld) report(sel *pref.Selection, calib *pref.Calibration, served *pref.Served, why, splitName, count string, selectTook time.Duration) ordersReport {
	undated := p.w.last == data.UnknownTime
	rep := ordersReport{Split: splitName, Selection: sel, Calibration: calib, Undated: undated, Count: count,
		SelectTook: selectTook.Round(time.Millisecond).String(),
		Fitted: []string{fmt.Sprintf("preference model: %s, chosen on validation (NDCG@10 %.4f over %d targets), refitted on every order",
			sel.Chosen.Describe(), sel.NDCG10, sel.Groups),
			fmt.Sprintf("calibration: P(the group orders the item in the held-out part) = sigmoid(%.4g x score %+.4g), fitted on %d validation pairs (log loss %.4f; %.3f items per group predicted, %.3f held out)",
				calib.A, calib.B, calib.Pairs, calib.LogLoss, calib.Predicted, calib.Observed)},
		NotFitted: []string{"conversion model P(order | push): " + why,
			"orders model (expected orders per push): without a conversion model the expected orders follow from the probability",
			"off-policy estimates: no dated pushes or exposures to weigh"}}
	if t := sel.CreditText(); t != "" {
		rep.Fitted = append(rep.Fitted, "members' orders: "+t)
	}
	switch {
	case p.data.Members.NNZ() == 0 && sel.Credit != nil:
		rep.NotFitted = append(rep.NotFitted, "members' consensus: no order names its buyer, and the validation chose to leave out the orders credited to members")
	case p.data.Members.NNZ() == 0:
		rep.NotFitted = append(rep.NotFitted, "members' consensus: no order names its buyer")
	default:
		if with, without, method, ok := sel.MembersAdd(); ok {
			rep.Fitted = append(rep.Fitted, fmt.Sprintf("members' signals: validation NDCG@10 %.4f with them, %.4f without (the best %s setting tried with consensus and member rows 0)",
				with, without, method))
		}
	}
	if p.data.Pushed.NNZ() > 0 {
		rep.Fitted = append(rep.Fitted, fmt.Sprintf("pushes no order carried (%d): read at the push weight the validation chose (%g)", p.data.Pushed.NNZ(), served.PushWeight))
	}
	if undated {
		rep.NotFitted = append(rep.NotFitted, "time decay and time windows: the orders carry no times (undated); every order weighs the same")
	}
	return rep
}

func printOrdersReport(e *env, r *ordersReport) {
	fmt.Fprintf(e.stdout, "Model learnt from orders alone (order weight: %s).\n\nFitted:\n", r.Count)
	for _, s := range r.Fitted {
		fmt.Fprintf(e.stdout, "  - %s\n", s)
	}
	fmt.Fprintln(e.stdout, "Not fitted:")
	for _, s := range r.NotFitted {
		fmt.Fprintf(e.stdout, "  - %s\n", s)
	}
	fmt.Fprintf(e.stdout, "\nValidation (%s%s), NDCG@10 per method (settings searched, at most %d each):\n", r.Split, r.Selection.MembersHeldText(), r.Selection.Budget)
	for _, s := range r.Selection.Searches {
		switch {
		case s.Best == nil:
			fmt.Fprintf(e.stdout, "  %-13s skipped: %s\n", s.Method, s.Skipped)
		case s.Method == pref.MethodMembers:
			fmt.Fprintf(e.stdout, "  %-13s %.4f  the members' orders per item: a reference, never chosen alone, but a blend's possible second part\n", s.Method, s.NDCG10)
		default:
			fmt.Fprintf(e.stdout, "  %-13s %.4f  %s\n", s.Method, s.NDCG10, s.Best.Describe())
		}
	}
	fmt.Fprintf(e.stdout, "Search took %s; the final fit %s.\n", r.SelectTook, r.FitTook)
}
