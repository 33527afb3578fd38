package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"grouprank/data"
	"grouprank/recommend"
	"grouprank/recommend/experiment"
)

// picksResponse is GET /v1/groups/{group}/picks.
type picksResponse struct {
	RequestID string `json:"request_id"`
	*recommend.Picks
	// Experiment and Arm are the first experiment the group is in (by
	// layer); Experiments lists every one.
	Experiment string `json:"experiment,omitempty"`
	// Preview is true when the list was asked for with preview=true (the
	// dashboard): the same picks, but no exposure is logged.
	Preview     bool            `json:"preview,omitempty"`
	Arm         string          `json:"arm,omitempty"`
	Experiments []experimentArm `json:"experiments,omitempty"`
}

type experimentArm struct {
	Experiment string `json:"experiment"`
	Arm        string `json:"arm"`
}

// picks answers "top picks for group G".
func (s *server) picks() gin.HandlerFunc {
	return func(c *gin.Context) {
		m := s.deps.Model()
		if m == nil {
			writeError(c, 0, fmt.Errorf("%w: no snapshot loaded", data.ErrUnavailable))
			return
		}
		req, promoter, err := decodePicks(c)
		if err != nil {
			writeError(c, 0, err)
			return
		}
		preview, err := queryBool(c, "preview")
		if err != nil {
			writeError(c, 0, err)
			return
		}
		req.Explore = s.deps.Explore
		asg, m, err := s.assign(&req, promoter, m)
		if err != nil {
			writeError(c, 0, err)
			return
		}
		id := c.GetString("request_id")
		req.Now = data.TimestampOf(s.now())
		s.exploration(&req, preview, id)
		sc, _ := s.scratch.Get().(*recommend.RankScratch)
		if sc == nil || !sc.Fits(m.Ranker) {
			sc = m.Ranker.NewScratch()
		}
		out, err := m.Picks(req, s.deps.Memory, sc)
		s.scratch.Put(sc)
		if err != nil {
			writeError(c, 0, err)
			return
		}
		if s.deps.Exposures != nil && len(out.Items) > 0 && !preview {
			s.deps.Exposures.Log(Exposures(id, out, req.Now, asg))
		}
		resp := picksResponse{RequestID: id, Picks: out, Preview: preview}
		for _, a := range asg {
			resp.Experiments = append(resp.Experiments, experimentArm{a.Experiment, a.Arm})
		}
		if len(asg) > 0 {
			resp.Experiment, resp.Arm = asg[0].Experiment, asg[0].Arm
		}
		s.render(c, http.StatusOK, resp)
	}
}

// exploration draws the request's exploration from its id and instant; a
// preview, or a service that logs no exposures, never explores.
func (s *server) exploration(req *recommend.PicksRequest, preview bool, id string) {
	if preview || s.deps.Exposures == nil {
		req.Explore = 0
	}
	req.Seed = recommend.ExploreSeed(id, req.Now)
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

// assign puts the request's unit in the running experiments and applies
// their arms' ranker options (an arm's options win over the request's own);
// an arm's model version swaps the model.
func (s *server) assign(req *recommend.PicksRequest, promoter data.PromoterID, m *recommend.Model) ([]experiment.Assignment, *recommend.Model, error) {
	if s.deps.Experiments == nil {
		return nil, m, nil
	}
	asg := s.deps.Experiments.Assigner().Assign(func(u experiment.Unit) string { return experiment.UnitID(u, req.Group, promoter) })
	for _, a := range asg {
		if err := recommend.ApplyOptions(req, a.Options); err != nil {
			return nil, nil, fmt.Errorf("experiment %s, arm %s: %w", a.Experiment, a.Arm, err)
		}
		if v := a.Options["model_version"]; v != "" && v != m.Version {
			if s.deps.ModelVersion == nil {
				return nil, nil, fmt.Errorf("experiment %s, arm %s: model versions other than the current one are not served here: %w",
					a.Experiment, a.Arm, data.ErrUnavailable)
			}
			other, err := s.deps.ModelVersion(v)
			if err != nil {
				return nil, nil, fmt.Errorf("experiment %s, arm %s: %w", a.Experiment, a.Arm, err)
			}
			m = other
		}
	}
	return asg, m, nil
}

// groupParam reads the {group} path parameter.
func groupParam(c *gin.Context) (data.GroupID, error) {
	g, err := strconv.ParseInt(c.Param("group"), 10, 64)
	if err != nil || g <= 0 {
		return 0, fmt.Errorf("%w: group=%q: want a positive integer", data.ErrInvalid, c.Param("group"))
	}
	return data.GroupID(g), nil
}

// queryBool reads an optional true/false query parameter (absent: false).
func queryBool(c *gin.Context, name string) (bool, error) {
	v, ok := c.GetQuery(name)
	if !ok {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%w: %s=%q: want true or false", data.ErrInvalid, name, v)
	}
	return b, nil
}

// decodePicks reads and checks the request's path and query parameters.
func decodePicks(c *gin.Context) (req recommend.PicksRequest, promoter data.PromoterID, err error) {
	req = recommend.PicksRequest{K: 20, Category: c.Query("category"), Objective: c.Query("objective")}
	bad := func(name, v, want string) error {
		return fmt.Errorf("%w: %s=%q: want %s", data.ErrInvalid, name, v, want)
	}
	if req.Group, err = groupParam(c); err != nil {
		return req, 0, err
	}
	if v, ok := c.GetQuery("promoter"); ok {
		p, err := strconv.ParseInt(v, 10, 64)
		if err != nil || p <= 0 {
			return req, 0, bad("promoter", v, "a positive integer")
		}
		promoter = data.PromoterID(p)
	}
	ints := []struct {
		name string
		dst  *int64
	}{{"price_min", &req.PriceMin}, {"price_max", &req.PriceMax}}
	if v, ok := c.GetQuery("k"); ok {
		k, err := strconv.Atoi(v)
		if err != nil || k < 1 || k > recommend.MaxK {
			return req, 0, bad("k", v, fmt.Sprintf("an integer within 1..%d", recommend.MaxK))
		}
		req.K = k
	}
	for _, p := range ints {
		if v, ok := c.GetQuery(p.name); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return req, 0, bad(p.name, v, "a price in cents >= 0")
			}
			*p.dst = n
		}
	}
	if v, ok := c.GetQuery("exclude"); ok && v != "" {
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
			if err != nil || n <= 0 {
				return req, 0, bad("exclude", v, "comma-separated positive SKUs")
			}
			req.Exclude = append(req.Exclude, data.SKU(n))
		}
	}
	if v, ok := c.GetQuery("category_cap"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > recommend.MaxK {
			return req, 0, bad("category_cap", v, fmt.Sprintf("an integer within 0..%d (most picks of one category; 0: no cap)", recommend.MaxK))
		}
		req.CategoryCap = n
	}
	if req.Explain, err = queryBool(c, "explain"); err != nil {
		return req, 0, err
	}
	if req.Lang, err = recommend.ParseLang(c.Query("lang")); err != nil {
		return req, 0, err
	}
	if v, ok := c.GetQuery("channel"); ok {
		ch, err := data.ParseChannel(v)
		if err != nil {
			return req, 0, fmt.Errorf("%w: channel: %v", data.ErrInvalid, err)
		}
		req.Channel = ch
	}
	if v, ok := c.GetQuery("tier"); ok {
		t, err := strconv.Atoi(v)
		if err != nil || !data.CityTier(t).Valid() {
			return req, 0, bad("tier", v, "a city tier 1..6")
		}
		req.Tier = data.CityTier(t)
	}
	return req, promoter, nil
}
