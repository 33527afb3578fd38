// Package ui is grouprank's dashboard: the static pages (plain HTML, CSS and
// JavaScript, no build step, with Apache ECharts vendored from npm) embedded
// in the binary, and the JSON documents of the dashboard's own endpoints
// (Status, ModelInfo). The pages read the service's JSON endpoints; the
// service serves them at /ui.
package ui

import (
	"embed"
	"encoding/json"
	"io/fs"
	"time"

	"grouprank/data"
)

//go:embed static
var static embed.FS

// Files are the dashboard's static files (index.html at the root).
func Files() fs.FS {
	f, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree always has it
	}
	return f
}

// EChartsVersion is the vendored Apache ECharts release (static/vendor/echarts.min.js).
const EChartsVersion = "6.1.0"

// Status is GET /v1/status: what the overview page shows.
type Status struct {
	// ModelVersion is the model in service; "" when no snapshot is loaded
	// (Message then says so).
	ModelVersion string         `json:"model_version"`
	Trained      *time.Time     `json:"trained,omitempty"`
	Windows      *data.Windows  `json:"windows,omitempty"`
	Products     int            `json:"products"` // the catalogue served, with updates applied
	Groups       int            `json:"groups"`   // group records of the snapshot
	Started      time.Time      `json:"started"`
	Now          time.Time      `json:"now"`
	Rates        Rates          `json:"rates"`
	Experiments  map[string]int `json:"experiments"` // count by status
	Message      string         `json:"message,omitempty"`
}

// Rates are read off the service's own Prometheus metrics: the difference
// between now and the oldest sample of the last minute (the first call
// compares with the process start).
type Rates struct {
	WindowSeconds     float64  `json:"window_seconds"`
	RequestsPerSecond float64  `json:"requests_per_second"` // every route
	PicksPerSecond    float64  `json:"picks_per_second"`
	PicksP99Ms        *float64 `json:"picks_p99_ms"` // from the latency histogram's buckets; null: no picks in the window
	PicksP50Ms        *float64 `json:"picks_p50_ms"`
	EventsPerSecond   float64  `json:"events_per_second"` // events stored (duplicates excluded)
	Errors5xx         float64  `json:"errors_5xx"`        // 5xx answers in the window
}

// ModelInfo is one published model version on GET /v1/models.
type ModelInfo struct {
	data.ModelVersion
	Current  bool `json:"current"`  // named by CURRENT
	Serving  bool `json:"serving"`  // the model in service
	Previous bool `json:"previous"` // what a rollback returns to
	// Report is the training report (attribution, conversion model with its
	// reliability tables and baselines, off-policy estimates) as trained.
	Report json.RawMessage `json:"report,omitempty"`
	Error  string          `json:"error,omitempty"` // the version could not be read
}
