package api

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"grouprank/data"
)

// render answers with v as JSON, encoded in full before anything is sent:
// a value JSON cannot hold is never half-sent behind a 200. A number that is
// not finite (NaN, ±Inf) becomes null, its place logged; a value that still
// cannot be encoded is a 500 with the request id.
func (s *server) render(c *gin.Context, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		var safe any
		var paths []string
		safe, paths = data.JSONSafe(v)
		b, err = json.Marshal(safe)
		if s.deps.Log != nil && len(paths) > 0 {
			s.deps.Log.Warn("non-finite numbers sent as null", slog.String("request_id", c.GetString("request_id")),
				slog.String("route", c.FullPath()), slog.String("paths", strings.Join(paths[:min(len(paths), 20)], " ")))
		}
	}
	if err != nil {
		writeError(c, http.StatusInternalServerError, fmt.Errorf("encoding the response: %w", err))
		return
	}
	c.Data(status, "application/json; charset=utf-8", b)
}
