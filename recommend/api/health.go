package api

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"grouprank/data"
)

// healthz answers while the process runs.
func (s *server) healthz() gin.HandlerFunc {
	return func(c *gin.Context) { s.render(c, http.StatusOK, gin.H{"status": "ok"}) }
}

// readyz answers 200 once a snapshot is loaded (and, following a shared
// log, once the memory has caught up with it), 503 before.
func (s *server) readyz() gin.HandlerFunc {
	return func(c *gin.Context) {
		m := s.deps.Model()
		if m == nil {
			writeError(c, 0, fmt.Errorf("%w: no snapshot loaded", data.ErrUnavailable))
			return
		}
		for _, ready := range []func() error{s.followerReady, s.deps.Ready} {
			if ready == nil {
				continue
			}
			if err := ready(); err != nil {
				writeError(c, 0, err)
				return
			}
		}
		s.render(c, http.StatusOK, gin.H{"status": "ready", "model_version": m.Version})
	}
}

func (s *server) followerReady() error {
	if s.deps.Follower == nil {
		return nil
	}
	return s.deps.Follower.Ready()
}
