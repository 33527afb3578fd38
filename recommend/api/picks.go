package api

import (
	"fmt"
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"grouprank/data"
	"grouprank/recommend"
	"grouprank/recommend/serving"
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

// picks answers "top picks for group G" (serving.Lister does the work).
func (s *server) picks() gin.HandlerFunc {
	return func(c *gin.Context) {
		req, promoter, err := decodePicks(c, s.deps.Model())
		if err != nil {
			writeError(c, 0, err)
			return
		}
		preview, err := queryBool(c, "preview")
		if err != nil {
			writeError(c, 0, err)
			return
		}
		id := c.GetString("request_id")
		req.Now = data.TimestampOf(s.now())
		list, err := s.lister.Serve(serving.Request{PicksRequest: req, Promoter: promoter, ID: id, Preview: preview, Logged: s.deps.Exposures != nil},
			func(m *recommend.Model, req recommend.PicksRequest) (*recommend.Picks, error) {
				sc, _ := s.scratch.Get().(*recommend.RankScratch)
				if sc == nil || !sc.Fits(m.Ranker) {
					sc = m.Ranker.NewScratch()
				}
				defer s.scratch.Put(sc)
				return m.Picks(req, s.deps.Memory, sc)
			})
		if err != nil {
			writeError(c, 0, err)
			return
		}
		if len(list.Exposures) > 0 {
			s.deps.Exposures.Log(list.Exposures)
		}
		if list.Items == nil {
			list.Items = []recommend.Item{} // every item filtered out: an empty list, not null
		}
		if m := s.deps.Model(); m != nil && m.IDs != nil {
			list.Picks.GroupID = c.Param("group") // the user's own id, as asked for
		}
		resp := picksResponse{RequestID: id, Picks: list.Picks, Preview: preview}
		for _, a := range list.Assignments {
			resp.Experiments = append(resp.Experiments, experimentArm{a.Experiment, a.Arm})
		}
		if len(list.Assignments) > 0 {
			resp.Experiment, resp.Arm = list.Assignments[0].Experiment, list.Assignments[0].Arm
		}
		s.render(c, http.StatusOK, resp)
	}
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

// maxMembers bounds the members= ids of one request.
const maxMembers = 1000

// ownGroup resolves the {group} of a model whose world has its own ids
// (recommend.Model.IDs): the user's id; one the model does not know is a
// new group, given a stable id beyond the internal ones (so experiments
// assign it as any group) and ranked as a cold start.
func ownGroup(m *recommend.Model, name string) (data.GroupID, error) {
	if name == "" || len(name) > data.MaxNameBytes {
		return 0, fmt.Errorf("%w: group=%q: want the group's id (1..%d bytes)", data.ErrInvalid, name, data.MaxNameBytes)
	}
	if id, ok := m.IDs.Lookup(data.IDGroup, name); ok {
		return data.GroupID(id), nil
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	return data.GroupID(1<<62 | h.Sum64()>>2), nil
}

// decodePicks reads and checks the request's path and query parameters; m
// (the model in service, nil before one is loaded) resolves the user's own
// group ids when its world has them.
func decodePicks(c *gin.Context, m *recommend.Model) (req recommend.PicksRequest, promoter data.PromoterID, err error) {
	req = recommend.PicksRequest{K: 20, Category: c.Query("category"), Objective: c.Query("objective")}
	bad := func(name, v, want string) error {
		return fmt.Errorf("%w: %s=%q: want %s", data.ErrInvalid, name, v, want)
	}
	if m != nil && m.IDs != nil {
		req.Group, err = ownGroup(m, c.Param("group"))
	} else {
		req.Group, err = groupParam(c)
	}
	if err != nil {
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
	own := m != nil && m.IDs != nil
	if v, ok := c.GetQuery("exclude"); ok && v != "" {
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			if own {
				id, ok := m.IDs.Lookup(data.IDSKU, f)
				if !ok {
					return req, 0, bad("exclude", f, "the model's items (the user's own ids)")
				}
				req.Exclude = append(req.Exclude, data.SKU(id))
				continue
			}
			n, err := strconv.ParseInt(f, 10, 64)
			if err != nil || n <= 0 {
				return req, 0, bad("exclude", v, "comma-separated positive SKUs")
			}
			req.Exclude = append(req.Exclude, data.SKU(n))
		}
	}
	if v, ok := c.GetQuery("members"); ok && v != "" {
		fs := strings.Split(v, ",")
		if len(fs) > maxMembers {
			return req, 0, bad("members", fmt.Sprintf("%d ids", len(fs)), fmt.Sprintf("at most %d member ids", maxMembers))
		}
		for _, f := range fs {
			f = strings.TrimSpace(f)
			if own {
				if id, ok := m.IDs.Lookup(data.IDMember, f); ok { // a member the model has never heard of adds nothing
					req.Members = append(req.Members, data.MemberID(id))
				}
				continue
			}
			n, err := strconv.ParseInt(f, 10, 64)
			if err != nil || n <= 0 {
				return req, 0, bad("members", f, "comma-separated member ids (positive integers)")
			}
			req.Members = append(req.Members, data.MemberID(n))
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
