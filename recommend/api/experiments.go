package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"grouprank/data"
	"grouprank/recommend"
	"grouprank/recommend/experiment"
)

// maxExperimentBody bounds an experiment definition.
const maxExperimentBody = 1 << 20

// experimentsOn refuses the experiment routes when the service keeps none.
func (s *server) experimentsOn(c *gin.Context) bool {
	if s.deps.Experiments == nil {
		writeError(c, 0, fmt.Errorf("%w: this service keeps no experiments", data.ErrNotFound))
		return false
	}
	return true
}

// decodeJSON reads a bounded JSON body into v, refusing unknown fields.
func decodeJSON(c *gin.Context, v any) error {
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, maxExperimentBody+1))
	if err != nil {
		return fmt.Errorf("%w: reading the body: %v", data.ErrInvalid, err)
	}
	if len(body) > maxExperimentBody {
		return fmt.Errorf("%w: body larger than 1 MiB", errTooLarge)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: malformed JSON: %v", data.ErrInvalid, err)
	}
	return nil
}

// listExperiments is GET /v1/experiments.
func (s *server) listExperiments() gin.HandlerFunc {
	return func(c *gin.Context) {
		if !s.experimentsOn(c) {
			return
		}
		exps, err := s.deps.Experiments.List()
		if err != nil {
			writeError(c, 0, err)
			return
		}
		layers, err := s.deps.Experiments.Layers()
		if err != nil {
			writeError(c, 0, err)
			return
		}
		s.render(c, http.StatusOK, gin.H{"experiments": exps, "layers": layers})
	}
}

// getExperiment is GET /v1/experiments/{key}.
func (s *server) getExperiment() gin.HandlerFunc {
	return func(c *gin.Context) {
		if !s.experimentsOn(c) {
			return
		}
		e, err := s.deps.Experiments.Get(c.Param("key"))
		if err != nil {
			writeError(c, 0, err)
			return
		}
		c.Header("ETag", experiment.ETag(e))
		s.render(c, http.StatusOK, e)
	}
}

// experimentReport is GET /v1/experiments/{key}/report.
func (s *server) experimentReport() gin.HandlerFunc {
	return func(c *gin.Context) {
		if !s.experimentsOn(c) {
			return
		}
		if s.deps.Report == nil {
			writeError(c, 0, fmt.Errorf("%w: reports are not configured", data.ErrUnavailable))
			return
		}
		r, err := s.deps.Report(c.Request.Context(), c.Param("key"))
		if err != nil {
			writeError(c, 0, err)
			return
		}
		if c.Query("format") == "table" {
			c.String(http.StatusOK, r.Table())
			return
		}
		s.render(c, http.StatusOK, r)
	}
}

// jsonAction decodes a JSON body into a T, runs do on it and answers status
// with what do returns.
func jsonAction[T any](s *server, status int, do func(c *gin.Context, v *T) (any, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !s.experimentsOn(c) {
			return
		}
		var v T
		if err := decodeJSON(c, &v); err != nil {
			writeError(c, 0, err)
			return
		}
		out, err := do(c, &v)
		if err != nil {
			writeError(c, 0, err)
			return
		}
		s.render(c, status, out)
	}
}

// createExperiment is POST /v1/admin/experiments: a new draft.
func (s *server) createExperiment() gin.HandlerFunc {
	return jsonAction(s, http.StatusCreated, func(_ *gin.Context, e *experiment.Experiment) (any, error) {
		return e, s.deps.Experiments.Create(e, data.TimestampOf(s.now()), false)
	})
}

// updateExperiment is PUT /v1/admin/experiments/{key}.
func (s *server) updateExperiment() gin.HandlerFunc {
	return jsonAction(s, http.StatusOK, func(c *gin.Context, e *experiment.Experiment) (any, error) {
		if e.Key != c.Param("key") {
			return nil, fmt.Errorf("%w: the body's key %q is not the path's %q", data.ErrInvalid, e.Key, c.Param("key"))
		}
		if err := s.deps.Experiments.Update(e, c.GetHeader("If-Match")); err != nil {
			return nil, err
		}
		return s.withETag(c, e.Key)
	})
}

// experimentAction is POST /v1/admin/experiments/{key}/{start|stop|ramp|override}.
func (s *server) experimentAction() gin.HandlerFunc {
	return func(c *gin.Context) {
		if !s.experimentsOn(c) {
			return
		}
		key, now := c.Param("key"), data.TimestampOf(s.now())
		var e *experiment.Experiment
		var err error
		ifMatch := c.GetHeader("If-Match")
		switch c.Param("action") {
		case "start":
			e, err = s.deps.Experiments.Start(key, now, ifMatch)
		case "stop":
			e, err = s.deps.Experiments.Stop(key, now, ifMatch)
		case "ramp":
			var body struct {
				Traffic float64 `json:"traffic"`
			}
			if err = decodeJSON(c, &body); err == nil {
				e, err = s.deps.Experiments.Ramp(key, body.Traffic, now, ifMatch)
			}
		case "override":
			var body struct {
				Unit string `json:"unit"`
				Arm  string `json:"arm"`
			}
			if err = decodeJSON(c, &body); err == nil {
				e, err = s.deps.Experiments.Override(key, body.Unit, body.Arm, ifMatch)
			}
		default:
			err = fmt.Errorf("%w: unknown action %q (start, stop, ramp, override)", data.ErrNotFound, c.Param("action"))
		}
		if err != nil {
			writeError(c, 0, err)
			return
		}
		c.Header("ETag", experiment.ETag(e))
		s.render(c, http.StatusOK, e)
	}
}

// withETag answers the stored experiment key with its ETag header.
func (s *server) withETag(c *gin.Context, key string) (any, error) {
	e, err := s.deps.Experiments.Get(key)
	if err != nil {
		return nil, err
	}
	c.Header("ETag", experiment.ETag(e))
	return e, nil
}

// addLayer is POST /v1/admin/layers.
func (s *server) addLayer() gin.HandlerFunc {
	return jsonAction(s, http.StatusCreated, func(_ *gin.Context, l *experiment.Layer) (any, error) {
		return l, s.deps.Experiments.AddLayer(*l)
	})
}

// rulesOn refuses the rules routes when the service keeps none.
func (s *server) rulesOn(c *gin.Context) bool {
	if s.deps.Rules == nil {
		writeError(c, 0, fmt.Errorf("%w: business rules are not configured", data.ErrUnavailable))
		return false
	}
	return true
}

// getRules is GET /v1/admin/rules.
func (s *server) getRules() gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.rulesOn(c) {
			s.render(c, http.StatusOK, s.deps.Rules.Rules())
		}
	}
}

// setRules is PUT /v1/admin/rules: the whole rule set, replaced.
func (s *server) setRules() gin.HandlerFunc {
	return func(c *gin.Context) {
		if !s.rulesOn(c) {
			return
		}
		var r recommend.Rules
		if err := decodeJSON(c, &r); err != nil {
			writeError(c, 0, err)
			return
		}
		if m := s.deps.Model(); m != nil {
			if err := m.CheckRules(r); err != nil {
				writeError(c, 0, err)
				return
			}
		}
		if err := s.deps.Rules.SetRules(c.Request.Context(), r); err != nil {
			writeError(c, 0, err)
			return
		}
		s.render(c, http.StatusOK, r)
	}
}
