package api

import (
	"fmt"
	"net/http"
	"runtime"

	"github.com/gin-gonic/gin"

	"grouprank/data"
)

// Default limits of the work in flight, per kind of request.
var (
	DefaultPicksInFlight  = 16 * runtime.GOMAXPROCS(0)
	DefaultEventsInFlight = 2*runtime.GOMAXPROCS(0) + 2
)

// shedder bounds how many requests of one kind are worked on at once; one
// more is answered at once with 503 and Retry-After, so that overload sheds
// load instead of queueing work (and memory) the clients have given up on.
type shedder struct {
	kind  string
	slots chan struct{}
}

func newShedder(kind string, n, def int) *shedder {
	if n <= 0 {
		n = def
	}
	return &shedder{kind: kind, slots: make(chan struct{}, n)}
}

// limit is the middleware; shed counts what it turned away.
func (sh *shedder) limit(s *server) gin.HandlerFunc {
	return func(c *gin.Context) {
		select {
		case sh.slots <- struct{}{}:
		default:
			s.metrics.shed.WithLabelValues(sh.kind).Inc()
			c.Header("Retry-After", "1")
			writeError(c, http.StatusServiceUnavailable, fmt.Errorf("%w: overloaded: %d %s requests are being worked on; retry after 1 s",
				data.ErrUnavailable, cap(sh.slots), sh.kind))
			return
		}
		defer func() { <-sh.slots }()
		if c.Request.Context().Err() != nil { // the client has gone: no work for nobody
			c.Abort()
			return
		}
		c.Next()
	}
}
