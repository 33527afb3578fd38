package pref

import (
	"fmt"
	"math"
	"strings"
	"text/tabwriter"

	"grouprank/train"
)

// LineScores are one method's per-line figures in both protocols.
type LineScores struct {
	P1HR5, P1HR10, P1NDCG5, P1NDCG10 []float64
	P2HR10, P2NDCG10, P2Recall20     []float64
}

func (s *LineScores) Add(p1Rank, p2Rank int, p1 bool) {
	hit := func(r, k int) float64 {
		if r < k {
			return 1
		}
		return 0
	}
	ndcg := func(r, k int) float64 {
		if r < k {
			return 1 / math.Log2(float64(r)+2)
		}
		return 0
	}
	if p1 {
		s.P1HR5, s.P1HR10 = append(s.P1HR5, hit(p1Rank, 5)), append(s.P1HR10, hit(p1Rank, 10))
		s.P1NDCG5, s.P1NDCG10 = append(s.P1NDCG5, ndcg(p1Rank, 5)), append(s.P1NDCG10, ndcg(p1Rank, 10))
	}
	s.P2HR10, s.P2NDCG10, s.P2Recall20 = append(s.P2HR10, hit(p2Rank, 10)), append(s.P2NDCG10, ndcg(p2Rank, 10)), append(s.P2Recall20, hit(p2Rank, 20))
}

// RankOf is the 0-based rank of item among candidates (the item itself left
// out of them) by score, ties ranking the lower index first.
func RankOf(scores []float32, item int32, candidates func(yield func(int32) bool)) int {
	s := scores[item]
	r := 0
	for j := range candidates {
		if j != item && (scores[j] > s || (scores[j] == s && j < item)) {
			r++
		}
	}
	return r
}

// MethodResult is one method's outcome in a Report.
type MethodResult struct {
	Method     string     `json:"method"`
	Config     *Config    `json:"config,omitempty"`
	Validation float64    `json:"validation_ndcg10"`
	Skipped    string     `json:"skipped,omitempty"`
	FitMillis  int64      `json:"fit_millis"`
	Mean       LineMeans  `json:"test"`
	Lines      LineScores `json:"-"`
}

type LineMeans struct {
	P1HR5, P1HR10, P1NDCG5, P1NDCG10 float64
	P2HR10, P2NDCG10, P2Recall20     float64
}

// Report is an evaluation of the preference models on both protocols of
// the group-recommendation benchmarks (eval grouprec, and eval on undated
// worlds).
type Report struct {
	World       string `json:"world"`
	Test        string `json:"test,omitempty"` // how the test lines were cut, when not from heldout/ files
	Count       string `json:"count"`
	Groups      int    `json:"groups"`
	Members     int    `json:"members_with_orders"`
	Items       int    `json:"items"`
	GroupOrders int    `json:"group_order_weight"`
	OwnOrders   int    `json:"member_order_weight"`
	// CreditedOrders is the weight of the groups' orders that name no
	// buyer credited to their members, once per member (Data.Credited).
	CreditedOrders int `json:"credited_order_weight,omitempty"`
	TestLines      int `json:"test_lines"`
	P1Lines        int `json:"protocol1_lines"`
	// P1HistoryLines of the protocol-1 lines name P1HistoryNegatives
	// negatives the group already has among its training orders; they are
	// left out, as protocol 2 leaves out the group's history.
	P1HistoryLines     int `json:"protocol1_lines_with_history_negatives,omitempty"`
	P1HistoryNegatives int `json:"protocol1_history_negatives_left_out,omitempty"`
	// ColdLines of the test lines are for ColdGroups groups without a
	// training line (some sets hold whole groups out); ColdWithMembers of
	// those groups have a member with orders (own, or credited when the
	// chosen data read them), the only thing a model can rank them by
	// beyond popularity.
	ColdLines       int             `json:"test_lines_of_cold_groups,omitempty"`
	ColdGroups      int             `json:"cold_groups,omitempty"`
	ColdWithMembers int             `json:"cold_groups_with_member_orders,omitempty"`
	Selection       *Selection      `json:"selection"`
	Methods         []*MethodResult `json:"methods"`
	Chosen          string          `json:"chosen"`
	// Published is the test lines ranked by a published model's own
	// scores (eval grouprec --root), as the service and score --pairs
	// compute them; nil without one.
	Published  *Published `json:"published,omitempty"`
	Bootstrap  int        `json:"bootstrap"`
	Seed       uint64     `json:"seed"`
	Diffs      []Diff     `json:"chosen_minus"`
	SelectTook string     `json:"selection_took"`
	FitTook    string     `json:"final_fits_took"`
}

// Published is a published model's figures on the test lines.
type Published struct {
	Version string `json:"version"`
	Method  string `json:"method"` // the method its manifest names
	// Settings say how it was trained, from its manifest.
	Settings string     `json:"settings"`
	Mean     LineMeans  `json:"test"`
	Lines    LineScores `json:"-"`
}

type Diff struct {
	Against string         `json:"against"`
	P1NDCG  train.Interval `json:"protocol1_ndcg10"`
	P2NDCG  train.Interval `json:"protocol2_ndcg10"`
}

// Means are the per-line figures' means (NaN for a protocol without lines).
func (s *LineScores) Means() LineMeans {
	return LineMeans{meanOrNaN(s.P1HR5), meanOrNaN(s.P1HR10), meanOrNaN(s.P1NDCG5), meanOrNaN(s.P1NDCG10),
		meanOrNaN(s.P2HR10), meanOrNaN(s.P2NDCG10), meanOrNaN(s.P2Recall20)}
}

// meanOrNaN is the mean of x, NaN when empty.
func meanOrNaN(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	var sum float64
	for _, v := range x {
		sum += v
	}
	return sum / float64(len(x))
}

// Markdown renders the report: one table of methods, one of the chosen
// model's differences, and what was read.
func (r *Report) Markdown() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "World %s: %d groups, %d members with orders, %d items; order weight %s: %d in groups, %d members' own",
		r.World, r.Groups, r.Members, r.Items, r.Count, r.GroupOrders, r.OwnOrders)
	if r.CreditedOrders > 0 {
		fmt.Fprintf(&sb, ", %d credited to members (their groups' orders that name no buyer, once per member)", r.CreditedOrders)
	}
	sb.WriteString(".\n\n")
	if r.Test != "" {
		fmt.Fprintf(&sb, "Test: %s.\n\n", r.Test)
	}
	fmt.Fprintf(&sb, "Validation: %s; %d group targets%s; up to %d configurations per method; took %s. Chosen: **%s**.\n\n",
		r.Selection.Split, r.Selection.Groups, r.Selection.MembersHeldText(), r.Selection.Budget, r.SelectTook, r.Chosen)
	if t := r.Selection.CreditText(); t != "" {
		fmt.Fprintf(&sb, "Members' orders: %s; the table's methods read the chosen data.\n\n", t)
	}
	tw := tabwriter.NewWriter(&sb, 2, 4, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "| method\t validation NDCG@10\t P1 HR@5\t P1 HR@10\t P1 NDCG@5\t P1 NDCG@10\t P2 HR@10\t P2 NDCG@10\t P2 Recall@20\t settings chosen on validation |")
	fmt.Fprintln(tw, "|---\t---\t---\t---\t---\t---\t---\t---\t---\t--- |")
	for _, m := range r.Methods {
		name := m.Method
		if name == r.Chosen {
			name = "**" + name + "** (chosen)"
		}
		if m.Config == nil {
			fmt.Fprintf(tw, "| %s\t skipped: %s\t\t\t\t\t\t\t\t |\n", name, m.Skipped)
			continue
		}
		x := m.Mean
		fmt.Fprintf(tw, "| %s\t %.4f\t %s\t %s\t %s\t %s\t %.4f\t %.4f\t %.4f\t %s |\n", name, m.Validation, f4(x.P1HR5), f4(x.P1HR10), f4(x.P1NDCG5), f4(x.P1NDCG10),
			x.P2HR10, x.P2NDCG10, x.P2Recall20, m.Config.Settings())
	}
	if p := r.Published; p != nil {
		x := p.Mean
		fmt.Fprintf(tw, "| published (%s)\t -\t %s\t %s\t %s\t %s\t %.4f\t %.4f\t %.4f\t version %s: %s |\n", p.Method, f4(x.P1HR5), f4(x.P1HR10), f4(x.P1NDCG5), f4(x.P1NDCG10),
			x.P2HR10, x.P2NDCG10, x.P2Recall20, p.Version, p.Settings)
	}
	tw.Flush()
	if p := r.Published; p != nil {
		fmt.Fprintf(&sb, "\npublished: model %s ranks the test lines by the service's own scores under the orders objective (score --pairs prints them; ties rank the item earlier in its catalogue first).\n", p.Version)
	}
	if r.P1Lines > 0 {
		history := ""
		if r.P1HistoryLines > 0 {
			history = fmt.Sprintf("; %d of those lines name %d negatives the group already has among its training orders, left out as protocol 2 leaves out the group's history",
				r.P1HistoryLines, r.P1HistoryNegatives)
		}
		fmt.Fprintf(&sb, "\nP1: protocol 1, each test item ranked against its line's sampled negatives (%d lines have them%s); P2: protocol 2, full ranking of every item but the group's training items (%d lines).\n\n",
			r.P1Lines, history, r.TestLines)
	} else {
		fmt.Fprintf(&sb, "\nNo sampled negatives (protocol 1): P2, the full ranking of every item but the group's training items, over %d test lines.\n\n", r.TestLines)
	}
	if r.ColdLines > 0 {
		fmt.Fprintf(&sb, "%d of the %d test lines are for %d groups with no training line (cold groups): a method can rank those only by their members' orders (their own, and those credited from their other groups when the chosen data read them; through its consensus setting, or the members' reference; %d of the %d groups have a member with such orders), and otherwise ranks them by popularity.\n\n",
			r.ColdLines, r.TestLines, r.ColdGroups, r.ColdWithMembers, r.ColdGroups)
	}
	if len(r.Diffs) > 0 {
		fmt.Fprintf(&sb, "Chosen (%s) minus each method, NDCG@10, mean and 95%% paired bootstrap interval over test lines (%d resamples, seed %d):\n\n", r.Chosen, r.Bootstrap, r.Seed)
		tw = tabwriter.NewWriter(&sb, 2, 4, 1, ' ', tabwriter.Debug)
		fmt.Fprintln(tw, "| against\t protocol 1\t protocol 2 |")
		fmt.Fprintln(tw, "|---\t---\t--- |")
		iv := func(v train.Interval) string {
			if math.IsNaN(v.Mean) {
				return "-"
			}
			return fmt.Sprintf("%+.4f (%+.4f to %+.4f)", v.Mean, v.Lo, v.Hi)
		}
		for _, d := range r.Diffs {
			fmt.Fprintf(tw, "| %s\t %s\t %s |\n", d.Against, iv(d.P1NDCG), iv(d.P2NDCG))
		}
		tw.Flush()
	}
	fmt.Fprintf(&sb, "\nFinal fits and scoring took %s.\n", r.FitTook)
	return sb.String()
}

func f4(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.4f", v)
}

// Settings are c's settings, as the reports print them ("-" for a
// method without any).
func (c Config) Settings() string {
	var parts []string
	add := func(name string, v float64) { parts = append(parts, fmt.Sprintf("%s %g", name, v)) }
	switch c.Method {
	case MethodPopular:
		return "-"
	case MethodMembers: // a blend's second part beside an item-item method takes its consensus
		if c.Consensus == 0 {
			return "-"
		}
		return fmt.Sprintf("consensus %g", c.Consensus)
	case MethodBlend:
		p0, p1 := c.Parts[0], c.Parts[1]
		p0.ColdMembers, p1.ColdMembers = false, false // the blend's setting holds for both
		head := p0.Method + " (" + p0.Settings() + ")"
		if p0.Method == MethodBlend { // a blend of three or more methods
			head = p0.Settings()
		}
		s := fmt.Sprintf("%s + %g x %s (%s)", head, c.Weight, p1.Method, p1.Settings())
		if c.ColdMembers {
			s += "; " + coldMembersText
		}
		return s
	}
	add("consensus", c.Consensus)
	add("member rows", c.MemberRows)
	if c.PushWeight > 0 {
		add("push weight", c.PushWeight)
	}
	if c.ColdMembers {
		parts = append(parts, coldMembersText)
	}
	switch c.Method {
	case MethodEASE:
		add("lambda", c.Lambda)
	case MethodGraph:
		add("order2", c.Order2)
	case MethodIALS:
		add("factors", float64(c.Factors))
		add("reg", c.Reg)
		add("alpha0", c.Alpha0)
		add("confidence", c.Confidence)
	}
	return strings.Join(parts, ", ")
}

// coldMembersText names Config.ColdMembers among the settings.
const coldMembersText = "a group without orders by its members"

// Describe is c's method with its settings.
func (c Config) Describe() string {
	if s := c.Settings(); s != "-" {
		return c.Method + " (" + s + ")"
	}
	return c.Method
}

// MembersAdd is the chosen model's validation NDCG@10 and that of the best
// tried setting of its method (of a blend's first part: method says which)
// without the members' signals (consensus and member rows 0).
func (sel *Selection) MembersAdd() (with, without float64, method string, ok bool) {
	none := func(c Config) bool {
		for _, p := range c.Leaves() {
			if p.Method == MethodMembers || p.Consensus != 0 || p.MemberRows != 0 {
				return false
			}
		}
		return true
	}
	if none(sel.Chosen) {
		return 0, 0, "", false
	}
	method = sel.Chosen.Leaves()[0].Method // a blend's first method
	for _, s := range sel.Searches {
		if s.Method != method {
			continue
		}
		for _, t := range s.Trials {
			if t.Skipped == "" && none(t.Config) && (!ok || t.NDCG10 > without) {
				without, ok = t.NDCG10, true
			}
		}
	}
	return sel.NDCG10, without, method, ok
}

// MembersHeldText is ", X% of the held-out items in a member's orders outside
// the group, which stay in the history" when the share is above 0, or "".
func (s *Selection) MembersHeldText() string {
	if s.MembersHeld <= 0 {
		return ""
	}
	return fmt.Sprintf(", %.1f%% of the held-out items in a member's orders outside the group, which stay in the history", 100*s.MembersHeld)
}
