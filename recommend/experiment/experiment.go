// Package experiment owns A/B testing: experiment definitions and their
// validation, layers of ranker options, deterministic assignment of units
// (groups or promoters) to arms, the per-unit data an analysis reads, and
// the statistics of a report (delta method, CUPED, always-valid sequential
// tests, sample-ratio checks, guardrails and the stored decision rule).
// It stores nothing itself: the live store keeps experiments as JSON.
package experiment

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"grouprank/data"
)

// Unit is what an experiment randomises.
type Unit string

// The randomisation units. A promoter's groups talk to each other (members
// sit in several), so tests whose effect can spill across groups randomise
// promoters.
const (
	UnitGroup    Unit = "group"
	UnitPromoter Unit = "promoter"
)

// Status is where an experiment is in its life.
type Status string

// The statuses: draft -> running -> stopped (a stopped experiment may be
// started again: a new allocation period begins).
const (
	Draft   Status = "draft"
	Running Status = "running"
	Stopped Status = "stopped"
)

// Buckets is how many buckets units are hashed into.
const Buckets = 10000

// Arm is one variant: its share of the experiment's units and the ranker
// options it sets (option name -> value; options it does not set keep the
// service's defaults).
type Arm struct {
	Name    string            `json:"name"`
	Weight  float64           `json:"weight"` // percent of the experiment's units; the arms' weights sum to 100
	Options map[string]string `json:"options,omitempty"`
}

// Guardrail is a metric that must not get worse than Margin (relative, e.g.
// 0.02: the lower end of the 95% interval of its relative lift must stay
// above -2%; for metrics where lower is better the sign flips).
type Guardrail struct {
	Metric string  `json:"metric"`
	Margin float64 `json:"margin"`
}

// Period is a span with one allocation: traffic share and arm weights. A
// period begins at every start and every change of traffic.
type Period struct {
	From    data.Timestamp `json:"from"`
	To      data.Timestamp `json:"to,omitempty"` // 0 while open
	Traffic float64        `json:"traffic"`
	Weights []float64      `json:"weights"`
}

// Experiment is one A/B test.
type Experiment struct {
	Key         string      `json:"key"`
	Description string      `json:"description,omitempty"`
	Unit        Unit        `json:"unit"`
	Layer       string      `json:"layer"`
	Traffic     float64     `json:"traffic"` // share of the layer's units in the experiment, (0, 1]
	Arms        []Arm       `json:"arms"`    // the first arm is the control
	Primary     string      `json:"primary_metric"`
	Guardrails  []Guardrail `json:"guardrails,omitempty"`
	PlannedDays int         `json:"planned_days"`
	PreDays     int         `json:"pre_days"` // pre-period for CUPED (0: none)
	Alpha       float64     `json:"alpha"`    // significance level (default 0.05)
	// Tau is the sequential test's mixing scale as a share of the control's
	// value: the size of effect the always-valid test is most sensitive to
	// (default 0.1).
	Tau       float64           `json:"tau"`
	Salt      string            `json:"salt"`                // assignment salt (default: the key)
	Overrides map[string]string `json:"overrides,omitempty"` // QA: unit -> arm, excluded from analysis
	Status    Status            `json:"status"`
	Periods   []Period          `json:"periods,omitempty"`
	Created   data.Timestamp    `json:"created"`
}

var keyPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Normalize fills defaults (status, traffic, alpha, tau, salt).
func (e *Experiment) Normalize() {
	if e.Status == "" {
		e.Status = Draft
	}
	if e.Traffic == 0 {
		e.Traffic = 1 // not given: every unit of the layer
	}
	if e.Unit == "" {
		e.Unit = UnitGroup
	}
	if e.Alpha == 0 {
		e.Alpha = 0.05
	}
	if e.Tau == 0 {
		e.Tau = 0.1
	}
	if e.Salt == "" {
		e.Salt = e.Key
	}
	if e.Primary == "" {
		e.Primary = "commission_per_push"
	}
}

// Validate checks the definition against the layers; the error says what is
// wrong in words an operator can act on. check, when not nil, validates an
// option's value (the service knows which objectives and models exist).
func (e *Experiment) Validate(layers []Layer, check func(option, value string) error) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("experiment %q: %s: %w", e.Key, fmt.Sprintf(format, a...), data.ErrInvalid)
	}
	if !keyPattern.MatchString(e.Key) {
		return fmt.Errorf("experiment key %q: use 1-64 lower-case letters, digits, '-' or '_': %w", e.Key, data.ErrInvalid)
	}
	if e.Unit != UnitGroup && e.Unit != UnitPromoter {
		return bad("unit must be %q or %q, got %q", UnitGroup, UnitPromoter, e.Unit)
	}
	li := slices.IndexFunc(layers, func(l Layer) bool { return l.Name == e.Layer })
	if li < 0 {
		return bad("unknown layer %q (layers: %s)", e.Layer, layerNames(layers))
	}
	if math.IsNaN(e.Traffic) || e.Traffic <= 0 || e.Traffic > 1 {
		return bad("traffic must be a share in (0, 1], got %g", e.Traffic)
	}
	if len(e.Arms) < 2 || len(e.Arms) > 16 {
		return bad("needs at least two arms (a control and a treatment) and at most 16, got %d", len(e.Arms))
	}
	if len(e.Description) > 4096 {
		return bad("description is %d bytes; at most 4096", len(e.Description))
	}
	sum := 0.0
	seen := map[string]bool{}
	for _, a := range e.Arms {
		switch {
		case !keyPattern.MatchString(a.Name):
			return bad("arm name %q: use 1-64 lower-case letters, digits, '-' or '_'", a.Name)
		case seen[a.Name]:
			return bad("arm %q appears twice", a.Name)
		case math.IsNaN(a.Weight) || a.Weight <= 0:
			return bad("arm %q: weight must be > 0 percent, got %g", a.Name, a.Weight)
		}
		seen[a.Name] = true
		sum += a.Weight
		for opt, v := range a.Options {
			if !slices.Contains(layers[li].Options, opt) {
				owner := "no layer"
				for _, l := range layers {
					if slices.Contains(l.Options, opt) {
						owner = "layer " + l.Name
					}
				}
				return bad("arm %q sets option %q, which layer %q does not own (%s does; layer %s owns %s)",
					a.Name, opt, e.Layer, owner, e.Layer, strings.Join(layers[li].Options, ", "))
			}
			if check != nil {
				if err := check(opt, v); err != nil {
					return bad("arm %q: option %s=%q: %v", a.Name, opt, v, err)
				}
			}
		}
	}
	if math.Abs(sum-100) > 1e-9 {
		return bad("arm weights must sum to 100%%, got %g%%", sum)
	}
	if _, ok := MetricByName(e.Primary); !ok {
		return bad("unknown primary metric %q (metrics: %s)", e.Primary, strings.Join(MetricNames(), ", "))
	}
	for _, g := range e.Guardrails {
		if _, ok := MetricByName(g.Metric); !ok {
			return bad("unknown guardrail metric %q (metrics: %s)", g.Metric, strings.Join(MetricNames(), ", "))
		}
		if math.IsNaN(g.Margin) || g.Margin < 0 || g.Margin >= 1 {
			return bad("guardrail %s: margin must be a share in [0, 1), got %g", g.Metric, g.Margin)
		}
	}
	switch {
	case e.PlannedDays < 1 || e.PlannedDays > 365:
		return bad("planned_days must be 1-365, got %d", e.PlannedDays)
	case e.PreDays < 0 || e.PreDays > 90:
		return bad("pre_days must be 0-90, got %d", e.PreDays)
	case !(e.Alpha > 0 && e.Alpha < 0.5):
		return bad("alpha must be in (0, 0.5), got %g", e.Alpha)
	case !(e.Tau > 0 && e.Tau <= 10):
		return bad("tau must be in (0, 10], got %g", e.Tau)
	case e.Salt == "":
		return bad("salt is empty")
	}
	for unit, arm := range e.Overrides {
		if !seen[arm] {
			return bad("override of unit %q names unknown arm %q", unit, arm)
		}
	}
	return nil
}

// ArmIndex is the index of the named arm, -1 when unknown.
func (e *Experiment) ArmIndex(name string) int {
	return slices.IndexFunc(e.Arms, func(a Arm) bool { return a.Name == name })
}

// Weights is the arms' weights in order.
func (e *Experiment) Weights() []float64 {
	w := make([]float64, len(e.Arms))
	for i, a := range e.Arms {
		w[i] = a.Weight
	}
	return w
}

// Start marks the experiment running at now and opens an allocation period.
func (e *Experiment) Start(now data.Timestamp) error {
	if e.Status == Running {
		return fmt.Errorf("experiment %q is already running: %w", e.Key, data.ErrConflict)
	}
	e.Status = Running
	e.Periods = append(e.Periods, Period{From: now, Traffic: e.Traffic, Weights: e.Weights()})
	return nil
}

// Stop marks the experiment stopped at now and closes its period.
func (e *Experiment) Stop(now data.Timestamp) error {
	if e.Status != Running {
		return fmt.Errorf("experiment %q is %s, not running: %w", e.Key, e.Status, data.ErrConflict)
	}
	e.Status = Stopped
	e.Periods[len(e.Periods)-1].To = now
	return nil
}

// Ramp changes the traffic share of a running experiment. Only increases are
// allowed: the buckets in the experiment stay in it and more are added, and
// a unit's arm never depends on the traffic, so nobody switches arm.
func (e *Experiment) Ramp(traffic float64, now data.Timestamp) error {
	if math.IsNaN(traffic) || traffic <= 0 || traffic > 1 {
		return fmt.Errorf("experiment %q: traffic must be a share in (0, 1], got %g: %w", e.Key, traffic, data.ErrInvalid)
	}
	if traffic < e.Traffic {
		return fmt.Errorf("experiment %q: traffic can only ramp up (%g -> %g would move units out of their arm): %w",
			e.Key, e.Traffic, traffic, data.ErrConflict)
	}
	e.Traffic = traffic
	if e.Status == Running {
		e.Periods[len(e.Periods)-1].To = now
		e.Periods = append(e.Periods, Period{From: now, Traffic: traffic, Weights: e.Weights()})
	}
	return nil
}

// Started is when the experiment first started (UnknownTime if never).
func (e *Experiment) Started() data.Timestamp {
	if len(e.Periods) == 0 {
		return data.UnknownTime
	}
	return e.Periods[0].From
}

// PeriodAt is the index of the allocation period holding t, -1 if none.
func (e *Experiment) PeriodAt(t data.Timestamp) int {
	for i, p := range e.Periods {
		if t >= p.From && (p.To == 0 || t < p.To) {
			return i
		}
	}
	return -1
}

// Layer is a set of ranker options that one running experiment at a time may
// set; the layers' option sets are disjoint, so two running experiments can
// never set the same option.
type Layer struct {
	Name    string   `json:"name"`
	Options []string `json:"options"`
	Salt    string   `json:"salt"` // traffic salt (default "layer:" + name)
}

// Options are the ranker options an arm may set, with what they mean.
var Options = map[string]string{
	"objective":         "named blend: orders, gmv, commission, commission-quality or practice",
	"price_weight":      "the blend's exponent on price",
	"commission_weight": "the blend's exponent on the commission amount",
	"rating_weight":     "the blend's weight on the rating's logit",
	"caution":           "the blend's discount of items with a thin record (0..10; default 1)",
	"model_version":     "a published model version",
	"category_cap":      "most items of one category in a list (0: no cap)",
	"candidate_depth":   "candidates each source contributes",
	"explore":           "share of lists drawn at random from the items passing the request's filters, propensities logged (0..1)",
}

// DefaultLayers are the layers a new live store starts with.
func DefaultLayers() []Layer {
	return []Layer{
		{Name: "ranking", Options: []string{"objective", "price_weight", "commission_weight", "rating_weight", "caution"}, Salt: "layer:ranking"},
		{Name: "model", Options: []string{"model_version"}, Salt: "layer:model"},
		{Name: "diversity", Options: []string{"category_cap"}, Salt: "layer:diversity"},
		{Name: "candidates", Options: []string{"candidate_depth"}, Salt: "layer:candidates"},
		{Name: "exploration", Options: []string{"explore"}, Salt: "layer:exploration"},
	}
}

// ValidateLayers checks names and that no option belongs to two layers.
func ValidateLayers(layers []Layer) error {
	owner := map[string]string{}
	names := map[string]bool{}
	for _, l := range layers {
		if !keyPattern.MatchString(l.Name) {
			return fmt.Errorf("layer name %q: use 1-64 lower-case letters, digits, '-' or '_': %w", l.Name, data.ErrInvalid)
		}
		if names[l.Name] {
			return fmt.Errorf("layer %q is defined twice: %w", l.Name, data.ErrConflict)
		}
		names[l.Name] = true
		if len(l.Options) == 0 {
			return fmt.Errorf("layer %q owns no option: %w", l.Name, data.ErrInvalid)
		}
		for _, o := range l.Options {
			if _, ok := Options[o]; !ok {
				return fmt.Errorf("layer %q: unknown ranker option %q (options: %s): %w", l.Name, o, strings.Join(OptionNames(), ", "), data.ErrInvalid)
			}
			if prev, ok := owner[o]; ok {
				return fmt.Errorf("layers %q and %q both set option %q: each option belongs to one layer: %w", prev, l.Name, o, data.ErrConflict)
			}
			owner[o] = l.Name
		}
	}
	return nil
}

// OptionNames lists the ranker options, sorted.
func OptionNames() []string {
	out := make([]string, 0, len(Options))
	for o := range Options {
		out = append(out, o)
	}
	slices.Sort(out)
	return out
}

func layerNames(ls []Layer) string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Name
	}
	return strings.Join(out, ", ")
}

// CheckRunning refuses to run e beside another running experiment of its
// layer (others holds every stored experiment).
func CheckRunning(e *Experiment, others []*Experiment) error {
	for _, o := range others {
		if o.Key != e.Key && o.Status == Running && o.Layer == e.Layer {
			return fmt.Errorf("experiment %q: layer %q already runs experiment %q; stop it first (one running experiment per layer): %w",
				e.Key, e.Layer, o.Key, data.ErrConflict)
		}
	}
	return nil
}

// CheckUpdate refuses changes to a running experiment's arms, unit, layer,
// salt or metrics (traffic changes go through Ramp).
func CheckUpdate(old, new *Experiment) error {
	if old.Status == Draft {
		return nil
	}
	same := old.Unit == new.Unit && old.Layer == new.Layer && old.Salt == new.Salt && slices.EqualFunc(old.Arms, new.Arms, armEqual)
	if !same {
		return fmt.Errorf("experiment %q is %s: its arms, unit, layer and salt cannot change (create a new experiment): %w",
			old.Key, old.Status, data.ErrConflict)
	}
	return nil
}

func armEqual(a, b Arm) bool {
	if a.Name != b.Name || a.Weight != b.Weight || len(a.Options) != len(b.Options) {
		return false
	}
	for k, v := range a.Options {
		if b.Options[k] != v {
			return false
		}
	}
	return true
}
