// Package serving serves one list of picks within the running experiments,
// the same way for the HTTP service, batch picks and the A/B simulator:
// assign the unit to its arms -> apply their ranker options -> choose the
// model (an arm's model_version) -> draw the exploration -> rank -> the
// exposure records to log. It owns no I/O: callers log the exposures.
package serving

import (
	"fmt"

	"grouprank/data"
	"grouprank/recommend"
	"grouprank/recommend/experiment"
)

// Lister serves lists.
type Lister struct {
	// Model is the model in service (nil result: none loaded yet).
	Model func() *recommend.Model
	// Assigner gives the running experiments (nil, or a nil result: none).
	Assigner func() *experiment.Assigner
	// Version returns a published model other than the one in service, for
	// arms that set model_version (nil: such arms are refused).
	Version func(version string) (*recommend.Model, error)
	// Explore is the share of logged lists drawn at random; an arm's
	// option "explore" overrides it.
	Explore float64
}

// Request is one list to serve.
type Request struct {
	recommend.PicksRequest // Group, K, filters, objective, Now, ...
	Promoter               data.PromoterID
	// ID is the list's id: the exposures' request id and the seed of its
	// exploration, so the same id at the same instant draws the same list.
	ID string
	// Logged says the caller keeps the list's exposures; a list nobody logs
	// (or a preview) is never explored: a random list teaches nothing then.
	Logged  bool
	Preview bool
	// Shown is how many of the picks the promoter was shown, and so logged
	// (0: all of them).
	Shown int
}

// List is a served list.
type List struct {
	*recommend.Picks
	Assignments []experiment.Assignment
	// Exposures are the records to log (nil for a preview or an unlogged list).
	Exposures []data.Exposure
}

// Rank ranks a request with the chosen model; Serve's callers pass the
// ranking path they have (m.Picks with their push memory and scratch, or
// batch picks' precomputed dot products).
type Rank func(m *recommend.Model, req recommend.PicksRequest) (*recommend.Picks, error)

// Serve serves r: the arms' options win over the request's own.
func (l *Lister) Serve(r Request, rank Rank) (*List, error) {
	m := l.Model()
	if m == nil {
		return nil, fmt.Errorf("%w: no snapshot loaded", data.ErrUnavailable)
	}
	req := r.PicksRequest
	req.Explore = l.Explore
	var asg []experiment.Assignment
	if l.Assigner != nil {
		if a := l.Assigner(); a != nil {
			asg = a.Assign(func(u experiment.Unit) string { return experiment.UnitID(u, req.Group, r.Promoter) })
		}
	}
	for _, a := range asg {
		var err error
		if m, err = l.Apply(&req, a.Options, m); err != nil {
			return nil, fmt.Errorf("experiment %s, arm %s: %w", a.Experiment, a.Arm, err)
		}
	}
	if r.Preview || !r.Logged {
		req.Explore = 0
	}
	req.Seed = recommend.ExploreSeed(r.ID, req.Now)
	p, err := rank(m, req)
	if err != nil {
		return nil, err
	}
	out := &List{Picks: p, Assignments: asg}
	if r.Logged && !r.Preview && len(p.Items) > 0 {
		shown := *p
		if r.Shown > 0 && r.Shown < len(shown.Items) {
			shown.Items = shown.Items[:r.Shown]
		}
		out.Exposures = Exposures(r.ID, &shown, req.Now, asg)
	}
	return out, nil
}

// Apply applies an arm's options to req and returns the model it is ranked
// with: m, or the arm's model_version.
func (l *Lister) Apply(req *recommend.PicksRequest, options map[string]string, m *recommend.Model) (*recommend.Model, error) {
	if err := recommend.ApplyOptions(req, options); err != nil {
		return nil, err
	}
	v := options["model_version"]
	if v == "" || v == m.Version {
		return m, nil
	}
	if l.Version == nil {
		return nil, fmt.Errorf("model versions other than the current one are not served here: %w", data.ErrUnavailable)
	}
	return l.Version(v)
}

// Exposures are the exposure records of a served list: one per item, and
// per experiment the unit is in (none: one set without an experiment).
func Exposures(requestID string, out *recommend.Picks, now data.Timestamp, asg []experiment.Assignment) []data.Exposure {
	n := max(1, len(asg))
	exps := make([]data.Exposure, 0, n*len(out.Items))
	for a := range n {
		var x experiment.Assignment
		if len(asg) > 0 {
			x = asg[a]
		}
		for k, it := range out.Items {
			prop := it.Propensity
			if !(prop > 0 && prop <= 1) {
				prop = 1
			}
			exps = append(exps, data.Exposure{RequestID: requestID, Group: out.Group, SKU: it.SKU, Rank: int32(k + 1), Propensity: prop,
				ModelVersion: out.ModelVersion, Experiment: x.Experiment, Arm: x.Arm, Unit: x.Unit, Time: now})
		}
	}
	return exps
}
