package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"grouprank/data"
	"grouprank/recommend"
)

// picksResponse is GET /v1/groups/{group}/picks.
type picksResponse struct {
	RequestID string `json:"request_id"`
	*recommend.Picks
}

// picks answers "top picks for group G".
func (s *server) picks() gin.HandlerFunc {
	return func(c *gin.Context) {
		m := s.deps.Model()
		if m == nil {
			writeError(c, 0, fmt.Errorf("%w: no snapshot loaded", data.ErrUnavailable))
			return
		}
		req, err := decodePicks(c)
		if err != nil {
			writeError(c, 0, err)
			return
		}
		sc, _ := s.scratch.Get().(*recommend.RankScratch)
		if sc == nil || !sc.Fits(m.Ranker) {
			sc = m.Ranker.NewScratch()
		}
		req.Now = data.TimestampOf(s.now())
		out, err := m.Picks(req, s.deps.Memory, sc)
		s.scratch.Put(sc)
		if err != nil {
			writeError(c, 0, err)
			return
		}
		id := c.GetString("request_id")
		if s.deps.Exposures != nil && len(out.Items) > 0 {
			exps := make([]data.Exposure, len(out.Items))
			for k, it := range out.Items {
				exps[k] = data.Exposure{RequestID: id, Group: out.Group, SKU: it.SKU, Rank: int32(k + 1), Propensity: 1,
					ModelVersion: out.ModelVersion, Time: req.Now}
			}
			s.deps.Exposures.Log(exps)
		}
		c.JSON(http.StatusOK, picksResponse{RequestID: id, Picks: out})
	}
}

// decodePicks reads and checks the request's path and query parameters.
func decodePicks(c *gin.Context) (recommend.PicksRequest, error) {
	req := recommend.PicksRequest{K: 20, Category: c.Query("category"), Objective: c.Query("objective")}
	bad := func(name, v, want string) error {
		return fmt.Errorf("%w: %s=%q: want %s", data.ErrInvalid, name, v, want)
	}
	g, err := strconv.ParseInt(c.Param("group"), 10, 64)
	if err != nil || g <= 0 {
		return req, bad("group", c.Param("group"), "a positive integer")
	}
	req.Group = data.GroupID(g)
	ints := []struct {
		name string
		dst  *int64
	}{{"price_min", &req.PriceMin}, {"price_max", &req.PriceMax}}
	if v, ok := c.GetQuery("k"); ok {
		k, err := strconv.Atoi(v)
		if err != nil || k < 1 || k > recommend.MaxK {
			return req, bad("k", v, fmt.Sprintf("an integer within 1..%d", recommend.MaxK))
		}
		req.K = k
	}
	for _, p := range ints {
		if v, ok := c.GetQuery(p.name); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return req, bad(p.name, v, "a price in cents >= 0")
			}
			*p.dst = n
		}
	}
	if v, ok := c.GetQuery("exclude"); ok && v != "" {
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
			if err != nil || n <= 0 {
				return req, bad("exclude", v, "comma-separated positive SKUs")
			}
			req.Exclude = append(req.Exclude, data.SKU(n))
		}
	}
	if v, ok := c.GetQuery("explain"); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return req, bad("explain", v, "true or false")
		}
		req.Explain = b
	}
	if v, ok := c.GetQuery("channel"); ok {
		ch, err := data.ParseChannel(v)
		if err != nil {
			return req, fmt.Errorf("%w: channel: %v", data.ErrInvalid, err)
		}
		req.Channel = ch
	}
	if v, ok := c.GetQuery("tier"); ok {
		t, err := strconv.Atoi(v)
		if err != nil || !data.CityTier(t).Valid() {
			return req, bad("tier", v, "a city tier 1..6")
		}
		req.Tier = data.CityTier(t)
	}
	return req, nil
}
