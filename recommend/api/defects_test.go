package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"testing"

	"grouprank/recommend"
	"grouprank/recommend/api"
)

// failingAdmin fails every call with an error that names a server path.
type failingAdmin struct{}

var errDisk = errors.New("open /srv/grouprank/snapshots/v9/000001.sst: input/output error")

func (failingAdmin) Promote(context.Context, string) (string, error) { return "", errDisk }
func (failingAdmin) Rollback(context.Context) (string, error)        { return "", errDisk }
func (failingAdmin) Reload(context.Context) (string, error)          { return "", errDisk }

// TestInternalErrorsStayInTheLog: a 500 tells the client a request id and a
// generic message; the detail reaches the log under that id.
func TestInternalErrorsStayInTheLog(t *testing.T) {
	var logged bytes.Buffer
	m := testModel(t)
	h := api.New(api.Deps{Model: func() *recommend.Model { return m }, Admin: failingAdmin{}, AdminToken: "secret-token",
		Log: slog.New(slog.NewJSONHandler(&logged, nil))})
	for _, path := range []string{"/v1/admin/models/v9/promote", "/v1/admin/models/rollback", "/v1/admin/models/reload"} {
		t.Run(path, func(t *testing.T) {
			code, body := send(t, h, http.MethodPost, path, "")
			if code != http.StatusInternalServerError {
				t.Fatalf("status %d, want 500: %s", code, body)
			}
			var e struct {
				Error     string `json:"error"`
				RequestID string `json:"request_id"`
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatal(err)
			}
			if e.RequestID == "" || contains(body, "/srv/") || contains(body, "input/output") {
				t.Errorf("the client was told %s; want a request id and no detail", body)
			}
			if !contains(logged.String(), e.RequestID) || !contains(logged.String(), "input/output error") {
				t.Errorf("the log lacks the request id %s with the detail:\n%s", e.RequestID, logged.String())
			}
		})
	}
}
