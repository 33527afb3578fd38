package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"grouprank/data"
	"grouprank/recommend/ui"
)

// ModelLister lists the published model versions with their manifests and
// training reports.
type ModelLister interface {
	Models(ctx context.Context) ([]ui.ModelInfo, error)
}

// status is GET /v1/status: the model in service, the catalogue and group
// counts, and the request, latency and ingest rates of the last minute.
func (s *server) status() gin.HandlerFunc {
	return func(c *gin.Context) {
		now := s.now()
		smp, err := s.metrics.read(now)
		if err != nil {
			writeError(c, 0, err)
			return
		}
		out := ui.Status{Started: s.started, Now: now, Rates: s.rates.observe(smp, s.started), Experiments: map[string]int{}}
		if m := s.deps.Model(); m != nil {
			out.ModelVersion, out.Products, out.Groups = m.Version, m.Products(), m.Manifest.Size.Groups
			if !m.Manifest.Created.IsZero() {
				t, w := m.Manifest.Created, m.Manifest.Windows
				out.Trained, out.Windows = &t, &w
			}
		} else {
			out.Message = "no snapshot is loaded: publish a model (grouprank publish) and promote it; picks answer 503 until then"
		}
		if s.deps.Experiments != nil {
			exps, err := s.deps.Experiments.List()
			if err != nil {
				writeError(c, 0, err)
				return
			}
			for _, e := range exps {
				out.Experiments[string(e.Status)]++
			}
		}
		s.render(c, http.StatusOK, out)
	}
}

// group is GET /v1/groups/{group}: the group's profile as of the snapshot,
// with the orders the service heard of since.
func (s *server) group() gin.HandlerFunc {
	return func(c *gin.Context) {
		m := s.deps.Model()
		if m == nil {
			writeError(c, 0, fmt.Errorf("%w: no snapshot loaded", data.ErrUnavailable))
			return
		}
		var g data.GroupID
		var err error
		if m.IDs != nil { // the user's own id, as picks takes it
			g, err = ownGroup(m, c.Param("group"))
		} else {
			g, err = groupParam(c)
		}
		if err != nil {
			writeError(c, 0, err)
			return
		}
		p, err := m.Profile(g, s.deps.Memory)
		if err != nil {
			writeError(c, 0, err)
			return
		}
		if m.IDs != nil {
			p.GroupID = c.Param("group")
		}
		s.render(c, http.StatusOK, p)
	}
}

// models is GET /v1/models: every published version, newest first.
func (s *server) models() gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.deps.Models == nil {
			writeError(c, 0, fmt.Errorf("%w: this service lists no models", data.ErrNotFound))
			return
		}
		ms, err := s.deps.Models.Models(c.Request.Context())
		if err != nil {
			writeError(c, 0, err)
			return
		}
		serving := ""
		if m := s.deps.Model(); m != nil {
			serving = m.Version
		}
		s.render(c, http.StatusOK, gin.H{"models": ms, "serving": serving})
	}
}
