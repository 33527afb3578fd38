package api

import (
	"errors"
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
// log, once the memory has caught up with it, and with the cluster's
// models, once its current one is in service), 503 before, saying every
// reason and which model, if any, still answers picks.
func (s *server) readyz() gin.HandlerFunc {
	return func(c *gin.Context) {
		var why []error
		m := s.deps.Model()
		if m == nil {
			why = append(why, errors.New("no snapshot loaded"))
		}
		for _, ready := range []func() error{s.followerReady, s.deps.Ready} {
			if ready == nil {
				continue
			}
			if err := ready(); err != nil {
				why = append(why, err)
			}
		}
		if len(why) == 0 {
			s.render(c, http.StatusOK, gin.H{"status": "ready", "model_version": m.Version})
			return
		}
		err := fmt.Errorf("%w: %w", data.ErrUnavailable, errors.Join(why...))
		if len(why) == 1 && errors.Is(why[0], data.ErrUnavailable) {
			err = why[0]
		}
		c.Set("error", err.Error())
		body := unreadyBody{Error: err.Error(), RequestID: c.GetString("request_id")}
		if m != nil {
			body.ModelVersion = m.Version
		}
		c.AbortWithStatusJSON(http.StatusServiceUnavailable, body)
	}
}

// unreadyBody is /readyz's 503: the error body, and the model still in
// service while another cannot be put in its place.
type unreadyBody struct {
	Error        string `json:"error"`
	RequestID    string `json:"request_id,omitempty"`
	ModelVersion string `json:"model_version,omitempty"`
}

func (s *server) followerReady() error {
	if s.deps.Follower == nil {
		return nil
	}
	return s.deps.Follower.Ready()
}
