// Package api is grouprank's HTTP interface (gin): New builds the handler
// from its dependencies, routes.go lists every route, and each resource has
// its own file. Handlers decode, validate, call recommend, and encode; errors
// map to status codes in one place (writeError).
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"grouprank/data"
	"grouprank/recommend"
	"grouprank/recommend/experiment"
	"grouprank/recommend/serving"
	"grouprank/recommend/ui"
)

// Deps are what the handler needs.
type Deps struct {
	// Model returns the model in service; nil until a snapshot is loaded.
	Model func() *recommend.Model
	Log   *slog.Logger
	// Admin changes the model in service; AdminToken guards it ("" disables the admin routes).
	Admin      Admin
	AdminToken string
	// APIKeys maps app names to the keys picks and events require (empty: open).
	APIKeys map[string]string
	// Events stores reported events; Memory hears the new pushes (fatigue, the recent-push filter).
	Events EventSink
	// Orders tells which orders are stored, so that a cancel of an unknown
	// order is refused (nil: not checked).
	Orders OrderIndex
	// Plausibility bounds order events' quantity and amount (zero: data.DefaultPlausibility).
	Plausibility data.Plausibility
	// RefuseUnknownGroups refuses events of groups the model in service has
	// no record of (a new group's events are refused until a snapshot knows
	// it); false takes them, their memory bounded by PushMemory.Sweep.
	RefuseUnknownGroups bool
	// MaxPicksInFlight and MaxEventsInFlight bound the picks requests and
	// event batches worked on at once; more are answered 503 with
	// Retry-After (0: DefaultPicksInFlight, DefaultEventsInFlight).
	MaxPicksInFlight, MaxEventsInFlight int
	Memory                              *recommend.PushMemory
	// Follower, when not nil, is how the memory hears events in a log
	// several replicas share: every accepted event reaches Memory through
	// it (the API then does not hear batches itself), /readyz answers 503
	// until it has caught up with the log, and /metrics reports its lag.
	Follower Follower
	// Ready, when not nil, is another condition of /readyz (nil error: ready),
	// such as the cluster's current model being in service.
	Ready func() error
	// Ingest, when not nil, is held (shared) while a batch is stored and
	// heard by Memory: a checkpoint of Memory takes it exclusively, so it
	// never holds half a batch.
	Ingest sync.Locker
	// Catalog applies catalogue updates (an admin route; nil: not offered).
	Catalog Catalog
	// Exposures hears every served list (nil: not logged).
	Exposures ExposureLog
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Experiments holds the A/B tests (nil: none; their routes answer 404).
	Experiments *experiment.Registry
	// ModelVersion returns a published model other than the one in service,
	// for arms that set model_version (nil: not offered).
	ModelVersion func(version string) (*recommend.Model, error)
	// Report analyses an experiment from the live store's logs.
	Report func(ctx context.Context, key string) (*experiment.Report, error)
	// Rules keeps ops' business rules (campaign boosts, blocklists; nil: not offered).
	Rules RulesAdmin
	// Models lists the published versions for the dashboard (nil: not offered).
	Models ModelLister
	// Explore is the share of logged lists drawn at random from the items
	// passing the request's floors, with their propensities logged
	// (recommend.Model.explore); an experiment arm's option "explore"
	// overrides it. Previews and a service without an exposure log never
	// explore: a random list nobody logs teaches nothing.
	Explore float64
}

// RulesAdmin reads and replaces the business rules in force.
type RulesAdmin interface {
	Rules() recommend.Rules
	SetRules(ctx context.Context, r recommend.Rules) error
}

type server struct {
	deps    Deps
	scratch sync.Pool // *recommend.RankScratch
	metrics *metrics
	rates   rates     // the overview's samples of the metrics
	started time.Time // when the handler was built
	static  *staticFiles
	lister  *serving.Lister
	// picksShed and eventsShed bound the work in flight (shed.go).
	picksShed, eventsShed *shedder
}

// New returns the service's HTTP handler.
func New(d Deps) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	s := &server{deps: d}
	s.started = s.now()
	s.metrics = newMetrics(s)
	s.static = newStaticFiles(ui.Files())
	s.lister = &serving.Lister{Model: d.Model, Version: d.ModelVersion, Explore: d.Explore, Assigner: func() *experiment.Assigner {
		if d.Experiments == nil {
			return nil
		}
		return d.Experiments.Assigner()
	}}
	s.picksShed = newShedder("picks", d.MaxPicksInFlight, DefaultPicksInFlight)
	s.eventsShed = newShedder("events", d.MaxEventsInFlight, DefaultEventsInFlight)
	r := gin.New()
	r.Use(gin.Recovery(), s.accessLog(), requireJSON())
	r.HandleMethodNotAllowed = true
	s.routes(r)
	r.NoRoute(func(c *gin.Context) {
		writeError(c, http.StatusNotFound, errors.New("no such route"))
	})
	r.NoMethod(func(c *gin.Context) {
		writeError(c, http.StatusMethodNotAllowed, errors.New("method not allowed"))
	})
	return r
}

func (s *server) now() time.Time {
	if s.deps.Now != nil {
		return s.deps.Now()
	}
	return time.Now()
}

// ExposureLog records the items of served lists; Log must not block.
type ExposureLog interface {
	Log(exposures []data.Exposure)
}

// DroppedCounter is an ExposureLog that may drop lists (a full queue) and
// counts them: /metrics shows the count as grouprank_exposure_lists_dropped_total.
type DroppedCounter interface {
	Dropped() int64
}

// errorBody is every error response.
type errorBody struct {
	Error     string `json:"error"`
	RequestID string `json:"request_id,omitempty"`
}

// statusOf maps the shared sentinel errors to HTTP status codes.
func statusOf(err error) int {
	switch {
	case errors.Is(err, data.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, data.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, data.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, data.ErrUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, errTooLarge):
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

func writeError(c *gin.Context, status int, err error) {
	if status == 0 {
		status = statusOf(err)
	}
	c.Set("error", err.Error()) // the detail goes to the log (accessLog) only
	msg := err.Error()
	if status >= 500 && status != http.StatusServiceUnavailable {
		msg = internalErrorMessage
	}
	c.AbortWithStatusJSON(status, errorBody{Error: msg, RequestID: c.GetString("request_id")})
}

// internalErrorMessage is what a client is told of a server fault; the
// request id finds the detail in the log.
const internalErrorMessage = "internal error: quote the request id to the operator"

// accessLog gives every request an id of the server's own (the key of the
// list's exposures and the seed of its exploration, so no client can choose
// its random list or collide with another's), answers it in X-Request-ID,
// keeps a client's own X-Request-ID as a label (X-Client-Request-ID and the
// log), and logs one slog line per request.
func (s *server) accessLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		var b [12]byte
		rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		c.Set("request_id", id)
		c.Header("X-Request-ID", id)
		if cid := c.GetHeader("X-Request-ID"); cid != "" && len(cid) <= 64 && printable(cid) {
			c.Set("client_request_id", cid)
			c.Header("X-Client-Request-ID", cid)
		}
		t0 := time.Now()
		c.Next()
		s.metrics.observe(c.FullPath(), c.Writer.Status(), time.Since(t0))
		if s.deps.Log != nil && c.Writer.Status() >= 400 {
			s.deps.Log.Warn("request failed", slog.String("request_id", id), slog.String("client_request_id", c.GetString("client_request_id")), slog.String("method", c.Request.Method),
				slog.String("uri", c.Request.URL.RequestURI()), slog.Int("status", c.Writer.Status()), slog.String("error", c.GetString("error")))
		} else if s.deps.Log != nil {
			s.deps.Log.Info("request", slog.String("request_id", id), slog.String("method", c.Request.Method),
				slog.String("route", c.FullPath()), slog.String("app", c.GetString("app")), slog.Int("status", c.Writer.Status()),
				slog.Duration("took", time.Since(t0)))
		}
	}
}

// printable reports whether s is printable ASCII without spaces.
func printable(s string) bool {
	for i := range len(s) {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// requireJSON refuses a write whose body is not declared application/json
// (415): a web page can post text/plain anywhere without asking, so a
// deployment open to the network must not take such a body. Writes without
// a body (admin actions) need no type.
func requireJSON() gin.HandlerFunc {
	return func(c *gin.Context) {
		switch c.Request.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
		default:
			return
		}
		if c.Request.ContentLength == 0 {
			return
		}
		mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
		if err != nil || mt != "application/json" {
			writeError(c, http.StatusUnsupportedMediaType, fmt.Errorf("Content-Type %q: a body must be application/json", c.GetHeader("Content-Type")))
		}
	}
}

// Follower keeps the memory in step with a shared live log (service.Follower).
type Follower interface {
	Ready() error // nil once the memory has heard what the log held at start
	Lag() uint64  // events stored that the memory has not heard yet
}
