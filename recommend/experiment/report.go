package experiment

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ArmSummary is one arm's totals.
type ArmSummary struct {
	Name   string  `json:"name"`
	Weight float64 `json:"weight"`
	Units  int     `json:"units"`
	Pushes float64 `json:"pushes"`
	Orders float64 `json:"orders"`
	// Money is in fen (cents), as everywhere in the API.
	GMVCents        int64 `json:"gmv_cents"`
	CommissionCents int64 `json:"commission_cents"`
}

// MetricResult is one metric: every arm's value, and each treatment's lift
// over the control, plain, with CUPED, and always-valid.
type MetricResult struct {
	Metric string     `json:"metric"`
	Label  string     `json:"label"`
	Arms   []Estimate `json:"arms"`
	CUPED  []Estimate `json:"cuped,omitempty"`
	// Lifts[i] compares arm i+1 with the control.
	Lifts      []Lift       `json:"lifts"`
	CUPEDLifts []Lift       `json:"cuped_lifts,omitempty"`
	Sequential []Sequential `json:"sequential"`
	// VarianceReduction is 1 - Var(CUPED lift) / Var(plain lift), per treatment.
	VarianceReduction []float64 `json:"variance_reduction,omitempty"`
	// Words say each treatment's lift (the one the decision reads) in plain words.
	Words []string `json:"words"`
}

// Best is the lift the decision reads: CUPED when there is a pre-period.
func (r *MetricResult) Best(i int) Lift {
	if len(r.CUPEDLifts) > i {
		return r.CUPEDLifts[i]
	}
	return r.Lifts[i]
}

// DayPoint is one arm's cumulative value of a metric up to the end of a day.
type DayPoint struct {
	Day    int       `json:"day"`
	Values []float64 `json:"values"` // per arm
}

// GuardrailResult is one guardrail's verdict for one treatment.
type GuardrailResult struct {
	Metric string  `json:"metric"`
	Arm    string  `json:"arm"`
	Margin float64 `json:"margin"`
	RelLo  float64 `json:"rel_lo"`
	OK     bool    `json:"ok"`
}

// Report is an experiment's analysis.
type Report struct {
	Key         string                `json:"key"`
	At          time.Time             `json:"at"` // when it was computed (zero: not recorded)
	Status      Status                `json:"status"`
	Unit        Unit                  `json:"unit"`
	Days        int                   `json:"days"`
	PlannedDays int                   `json:"planned_days"`
	Alpha       float64               `json:"alpha"`
	Arms        []ArmSummary          `json:"arms"`
	Excluded    int                   `json:"excluded_overrides"`
	Conflicts   int                   `json:"conflicts"`
	EarlyPushes int                   `json:"early_pushes"` // pushes of units before their first exposure: not counted
	EarlyOrders int                   `json:"early_orders"` // orders likewise
	SRM         SRM                   `json:"srm"`
	Metrics     []MetricResult        `json:"metrics"`
	Daily       map[string][]DayPoint `json:"daily"` // metric -> cumulative value per arm by day
	Guardrails  []GuardrailResult     `json:"guardrails"`
	Decision    string                `json:"decision"`
	Verdict     string                `json:"verdict"` // ship, dont-ship, keep-running, no-difference, untrusted, no-data
	Lines       []string              `json:"lines"`   // the primary metric and guardrails in plain words
	SRMWords    string                `json:"srm_words"`
}

// VerdictNoData is the verdict of a report on an experiment no unit of
// which has been exposed yet.
const VerdictNoData = "no-data"

// Analyze reports on ds for experiment e.
func Analyze(e *Experiment, ds *Dataset) *Report {
	r := &Report{Key: e.Key, Status: e.Status, Unit: e.Unit, Days: ds.Days, PlannedDays: e.PlannedDays, Alpha: e.Alpha,
		Excluded: ds.Excluded, Conflicts: ds.Conflicts, EarlyPushes: ds.EarlyPushes, EarlyOrders: ds.EarlyOrders, Daily: map[string][]DayPoint{}}
	r.Arms = make([]ArmSummary, len(ds.Arms))
	counts := make([][]int, ds.Periods)
	weights := make([][]float64, ds.Periods)
	for s := range counts {
		counts[s] = make([]int, len(ds.Arms))
		if s < len(e.Periods) {
			weights[s] = e.Periods[s].Weights
		} else {
			weights[s] = e.Weights()
		}
	}
	for a, name := range ds.Arms {
		r.Arms[a] = ArmSummary{Name: name, Weight: e.Arms[a].Weight}
	}
	gmv, comm := make([]float64, len(ds.Arms)), make([]float64, len(ds.Arms)) // yuan
	for k := range ds.Units {
		u := &ds.Units[k]
		t := u.Post(ds.Days)
		s := &r.Arms[u.Arm]
		s.Units++
		s.Pushes += t[Pushes]
		s.Orders += t[Orders]
		gmv[u.Arm], comm[u.Arm] = gmv[u.Arm]+t[GMV], comm[u.Arm]+t[Commission]
		counts[u.Period][u.Arm]++
	}
	for a := range r.Arms {
		r.Arms[a].GMVCents, r.Arms[a].CommissionCents = cents(gmv[a]), cents(comm[a])
	}
	r.SRM = sampleRatio(counts, weights)
	if len(ds.Units) == 0 {
		r.Verdict, r.Decision = VerdictNoData, "No data yet: no unit of this experiment has been exposed."
		return r
	}
	names := append([]string{e.Primary}, guardrailMetrics(e)...)
	for _, name := range MetricNames() {
		if !contains(names, name) {
			names = append(names, name)
		}
	}
	for _, name := range names {
		m, _ := MetricByName(name)
		looks := dailyLooks(ds, m)
		r.Metrics = append(r.Metrics, analyzeMetric(e, ds, m, looks))
		var pts []DayPoint
		for d, est := range looks {
			p := DayPoint{Day: d + 1, Values: make([]float64, len(est))}
			for a := range est {
				p.Values[a] = est[a].Value
			}
			pts = append(pts, p)
		}
		r.Daily[name] = pts
	}
	decide(e, r)
	words(r)
	annotate(r)
	return r
}

// words fills every metric's plain-words lifts and the SRM verdict.
func words(r *Report) {
	for k := range r.Metrics {
		m := &r.Metrics[k]
		m.Words = []string{}
		for i := 1; i < len(r.Arms) && i-1 < len(m.Lifts); i++ {
			l, how := m.Best(i-1), ""
			if len(m.CUPEDLifts) > i-1 {
				how = ", with CUPED"
			}
			m.Words = append(m.Words, fmt.Sprintf("%s: %s %s (%s %s to %s%s), p = %s", r.Arms[i].Name, m.Label,
				pct(l.Rel), r.CILabel(), pct(l.RelLo), pct(l.RelHi), how, pval(l.P)))
		}
	}
	if r.SRM.Flagged {
		r.SRMWords = fmt.Sprintf("Sample ratio mismatch: the arms' unit counts do not match their weights (chi-square %.2f, df %d, p = %s); the results cannot be trusted.",
			r.SRM.ChiSquare, r.SRM.DF, pval(r.SRM.P))
	} else {
		r.SRMWords = fmt.Sprintf("No sample ratio mismatch: the arms' unit counts match their weights (chi-square %.2f, df %d, p = %s; flagged below %g).",
			r.SRM.ChiSquare, r.SRM.DF, pval(r.SRM.P), SRMThreshold)
	}
}

// dailyLooks are every arm's estimates at the end of each day (plain, no CUPED):
// looks[d] covers days [0, d+1).
func dailyLooks(ds *Dataset, m Metric) [][]Estimate {
	looks := make([][]Estimate, ds.Days)
	for d := range looks {
		looks[d] = estimateArms(ds, m, d+1, false)
	}
	return looks
}

func analyzeMetric(e *Experiment, ds *Dataset, m Metric, looks [][]Estimate) MetricResult {
	res := MetricResult{Metric: m.Name, Label: m.Label, Arms: estimateArms(ds, m, ds.Days, false)}
	for i := 1; i < len(res.Arms); i++ {
		res.Lifts = append(res.Lifts, liftInterval(res.Arms[0], res.Arms[i], e.Alpha))
	}
	if e.PreDays > 0 {
		res.CUPED = estimateArms(ds, m, ds.Days, true)
		for i := 1; i < len(res.CUPED); i++ {
			l := liftInterval(res.CUPED[0], res.CUPED[i], e.Alpha)
			res.CUPEDLifts = append(res.CUPEDLifts, l)
			res.VarianceReduction = append(res.VarianceReduction, 1-sq(l.absSE)/sq(res.Lifts[i-1].absSE))
		}
	}
	res.Sequential = sequentialOver(e, len(ds.Arms), looks)
	return res
}

// sequential runs the always-valid test at the end of every day. Its mixing
// scale is Tau times the metric's value over all arms at the first look, so
// it is fixed before the data that decide.
func sequential(e *Experiment, ds *Dataset, m Metric) []Sequential {
	return sequentialOver(e, len(ds.Arms), dailyLooks(ds, m))
}

// sequentialOver runs the test over precomputed daily looks.
func sequentialOver(e *Experiment, arms int, looks [][]Estimate) []Sequential {
	out := make([]Sequential, arms-1)
	for i := range out {
		out[i] = newSequential()
	}
	tau2 := math.NaN()
	for _, est := range looks {
		if math.IsNaN(est[0].Value) {
			continue
		}
		if math.IsNaN(tau2) {
			tau2 = sq(e.Tau * math.Abs(est[0].Value))
			if tau2 == 0 {
				tau2 = math.NaN()
				continue
			}
		}
		for i := range out {
			out[i].look(est[i+1].Value-est[0].Value, sq(est[0].SE)+sq(est[i+1].SE), tau2, e.Alpha)
		}
	}
	return out
}

func guardrailMetrics(e *Experiment) []string {
	var out []string
	for _, g := range e.Guardrails {
		if g.Metric != e.Primary && !contains(out, g.Metric) {
			out = append(out, g.Metric)
		}
	}
	return out
}

// decide applies the stored rule: with a sample ratio mismatch nothing is
// trusted; a treatment ships when the primary metric's lift is significant
// and positive, every guardrail's relative lift stays above minus its margin
// (lower end of the interval), and the planned duration is reached; before
// that, only the always-valid p-value may stop the test early.
func decide(e *Experiment, r *Report) {
	prim := &r.Metrics[0]
	for i := 1; i < len(r.Arms); i++ {
		for _, g := range e.Guardrails {
			res := r.metric(g.Metric)
			l := res.Best(i - 1)
			r.Guardrails = append(r.Guardrails, GuardrailResult{Metric: g.Metric, Arm: r.Arms[i].Name, Margin: g.Margin,
				RelLo: l.RelLo, OK: l.RelLo >= -g.Margin})
		}
	}
	for i := 1; i < len(r.Arms); i++ {
		l := prim.Best(i - 1)
		r.Lines = append(r.Lines, fmt.Sprintf("%s: %s %s (%s %s to %s), p = %s", r.Arms[i].Name, prim.Label,
			pct(l.Rel), r.CILabel(), pct(l.RelLo), pct(l.RelHi), pval(l.P)))
	}
	for _, g := range r.Guardrails {
		state := "within its margin"
		if !g.OK {
			state = "BREACHED"
		}
		r.Lines = append(r.Lines, fmt.Sprintf("guardrail %s (%s): may fall by at most %.1f%%; the lower end of its lift's interval is %s: %s",
			g.Metric, g.Arm, 100*g.Margin, pct(g.RelLo), state))
	}
	if r.EarlyPushes+r.EarlyOrders > 0 {
		r.Lines = append(r.Lines, fmt.Sprintf("not counted: %d pushes and %d orders of exposed units came after the start but before "+
			"their unit's first list (a unit counts from the list that put it in its arm)", r.EarlyPushes, r.EarlyOrders))
	}
	if r.SRM.Flagged {
		r.Verdict = "untrusted"
		r.Decision = fmt.Sprintf("Do not read these results: the arms' unit counts do not match their weights (sample ratio mismatch, chi-square %.1f, p = %s). Find the cause (assignment, logging, bots) first.",
			r.SRM.ChiSquare, pval(r.SRM.P))
		return
	}
	var ship, worse, breached []string
	early := false
	for i := 1; i < len(r.Arms); i++ {
		l := prim.Best(i - 1)
		ok := true
		for _, g := range r.Guardrails {
			if g.Arm == r.Arms[i].Name && !g.OK {
				ok = false
				breached = append(breached, fmt.Sprintf("%s (%s)", g.Metric, g.Arm))
			}
		}
		seq := prim.Sequential[i-1]
		switch {
		case r.Days >= r.PlannedDays && l.P < e.Alpha && l.Abs > 0 && ok:
			ship = append(ship, r.Arms[i].Name)
		case r.Days < r.PlannedDays && seq.P < e.Alpha && seq.Lo > 0 && ok:
			ship = append(ship, r.Arms[i].Name)
			early = true
		case (r.Days >= r.PlannedDays && l.P < e.Alpha && l.Abs < 0) || (seq.P < e.Alpha && seq.Hi < 0):
			worse = append(worse, r.Arms[i].Name)
		}
	}
	switch {
	case len(ship) > 0:
		r.Verdict = "ship"
		when := fmt.Sprintf("after the planned %d days", r.PlannedDays)
		if early {
			when = fmt.Sprintf("early, on day %d of %d, by the always-valid test", r.Days, r.PlannedDays)
		}
		r.Decision = fmt.Sprintf("Ship %s: %s is significantly better %s, and every guardrail is within its margin.",
			strings.Join(ship, ", "), prim.Label, when)
	case len(breached) > 0 && r.Days >= r.PlannedDays:
		r.Verdict = "dont-ship"
		r.Decision = "Do not ship: guardrail " + strings.Join(breached, ", ") + " fell beyond its margin."
	case len(worse) > 0:
		r.Verdict = "dont-ship"
		r.Decision = fmt.Sprintf("Do not ship %s: %s is significantly worse than the control.", strings.Join(worse, ", "), prim.Label)
	case r.Days < r.PlannedDays:
		r.Verdict = "keep-running"
		r.Decision = fmt.Sprintf("Keep running: day %d of %d planned, and no arm has yet crossed the always-valid threshold.", r.Days, r.PlannedDays)
	default:
		r.Verdict = "no-difference"
		r.Decision = fmt.Sprintf("No detectable difference in %s after %d days: keep the control, or plan a longer or larger test.", prim.Label, r.Days)
	}
}

func (r *Report) metric(name string) *MetricResult {
	for i := range r.Metrics {
		if r.Metrics[i].Metric == name {
			return &r.Metrics[i]
		}
	}
	return nil
}

// Table renders the report for a terminal.
func (r *Report) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "experiment %s (%s, unit %s): day %d of %d planned\n\n", r.Key, r.Status, r.Unit, r.Days, r.PlannedDays)
	fmt.Fprintf(&b, "%-16s %7s %9s %11s %11s %14s %14s\n", "arm", "weight", "units", "pushes", "orders", "GMV (yuan)", "commission")
	for _, a := range r.Arms {
		fmt.Fprintf(&b, "%-16s %6.1f%% %9d %11.0f %11.0f %14.2f %14.2f\n", a.Name, a.Weight, a.Units, a.Pushes, a.Orders, yuan(a.GMVCents), yuan(a.CommissionCents))
	}
	fmt.Fprintf(&b, "\nsample ratio: chi-square %.2f, df %d, p = %s", r.SRM.ChiSquare, r.SRM.DF, pval(r.SRM.P))
	if r.SRM.Flagged {
		b.WriteString("  MISMATCH")
	}
	if r.Excluded > 0 || r.Conflicts > 0 {
		fmt.Fprintf(&b, "\nexcluded: %d units under QA overrides; %d units seen in two arms (kept in their first)", r.Excluded, r.Conflicts)
	}
	if r.EarlyPushes+r.EarlyOrders > 0 {
		fmt.Fprintf(&b, "\nnot counted: %d pushes and %d orders before their unit's first list", r.EarlyPushes, r.EarlyOrders)
	}
	b.WriteString("\n\n")
	fmt.Fprintf(&b, "%-22s %-12s %12s %12s %24s %9s %24s %9s %9s\n", "metric", "arm", "control", "arm value",
		"relative lift ("+r.CILabel()+")", "p", "with CUPED ("+r.CILabel()+")", "var red", "seq p")
	for _, m := range r.Metrics {
		for i, l := range m.Lifts {
			cu, vr := "", ""
			if len(m.CUPEDLifts) > i {
				c := m.CUPEDLifts[i]
				cu = fmt.Sprintf("%s [%s, %s]", pct(c.Rel), pct(c.RelLo), pct(c.RelHi))
				vr = fmt.Sprintf("%.0f%%", 100*m.VarianceReduction[i])
			}
			fmt.Fprintf(&b, "%-22s %-12s %12.4f %12.4f %24s %9s %24s %9s %9s\n", m.Metric, r.Arms[i+1].Name, m.Arms[0].Value,
				m.Arms[i+1].Value, fmt.Sprintf("%s [%s, %s]", pct(l.Rel), pct(l.RelLo), pct(l.RelHi)), pval(l.P), cu, vr,
				pval(m.Sequential[i].P))
		}
	}
	b.WriteString("\n")
	for _, l := range r.Lines {
		b.WriteString(l + "\n")
	}
	b.WriteString("\ndecision: " + r.Decision + "\n")
	return b.String()
}

func pct(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "n/a"
	}
	return fmt.Sprintf("%+.1f%%", 100*x)
}

func pval(p float64) string {
	switch {
	case math.IsNaN(p):
		return "n/a"
	case p < 0.0001:
		return "<0.0001"
	}
	return fmt.Sprintf("%.4f", p)
}

func sq(x float64) float64 { return x * x }

func contains(v []string, s string) bool {
	for _, x := range v {
		if x == s {
			return true
		}
	}
	return false
}

// cents is an amount in yuan as whole fen.
func cents(yuan float64) int64 { return int64(math.Round(yuan * 100)) }

// yuan is an amount in fen as yuan.
func yuan(cents int64) float64 { return float64(cents) / 100 }

// annotate says, beside every number of r that cannot be computed from the
// data (left NaN or infinite, sent as null), why.
func annotate(r *Report) {
	bad := func(xs ...float64) bool {
		for _, x := range xs {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return true
			}
		}
		return false
	}
	for i := range r.Metrics {
		m := &r.Metrics[i]
		for _, ests := range [][]Estimate{m.Arms, m.CUPED} {
			for a := range ests {
				e := &ests[a]
				switch {
				case bad(e.Value):
					e.Note = "no value: this arm has no units with a denominator (no pushes or no units yet)"
				case bad(e.SE):
					e.Note = "no standard error: too few units in this arm"
				}
			}
		}
		control := math.NaN()
		if len(m.Arms) > 0 {
			control = m.Arms[0].Value
		}
		for _, lifts := range [][]Lift{m.Lifts, m.CUPEDLifts} {
			for k := range lifts {
				l := &lifts[k]
				switch {
				case bad(l.Abs):
					l.Note = "no lift: an arm has no value yet"
				case bad(l.Rel) && control == 0:
					l.Note = "no relative lift: the control's value is 0"
				case bad(l.Rel, l.P, l.AbsLo, l.AbsHi, l.RelLo, l.RelHi):
					l.Note = "no interval: too few units to estimate the variance"
				}
			}
		}
		for k := range m.Sequential {
			if sq := &m.Sequential[k]; bad(sq.P, sq.Lo, sq.Hi) {
				sq.Note = "no always-valid test yet: too few units or no variance"
			}
		}
	}
}

// CILabel names the report's intervals by their level, 1 - Alpha ("95% CI").
func (r *Report) CILabel() string {
	return strconv.FormatFloat(100*(1-r.Alpha), 'f', -1, 64) + "% CI"
}
