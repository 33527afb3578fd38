package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"grouprank/data"
)

// Catalog applies catalogue updates to the model in service (and keeps them
// for the models to come) without a new snapshot. An update merges into
// the product's current state (data.ProductUpdate.Merge); a batch with an
// invalid item is refused whole with a *data.BatchError.
type Catalog interface {
	UpdateCatalog(ctx context.Context, updates []data.ProductUpdate) (added int, err error)
}

const maxProducts = 10000

// decodeProducts reads a batch of catalogue updates.
func decodeProducts(c *gin.Context) ([]data.ProductUpdate, error) {
	var body struct {
		Products []data.ProductUpdate `json:"products"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, 16<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errTooLarge
		}
		return nil, fmt.Errorf("%w: malformed JSON: %v", data.ErrInvalid, err)
	}
	if len(body.Products) == 0 || len(body.Products) > maxProducts {
		return nil, fmt.Errorf("%w: a batch holds 1 to %d products, got %d", data.ErrInvalid, maxProducts, len(body.Products))
	}
	return body.Products, nil
}

// catalog takes a batch of catalogue updates: all valid or none applied.
func (s *server) catalog() gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.deps.Catalog == nil {
			writeError(c, 0, fmt.Errorf("%w: catalogue updates are not configured", data.ErrUnavailable))
			return
		}
		us, err := decodeProducts(c)
		if batchRejected(c, err, nil, len(us), "products", "16 MiB") {
			return
		}
		added, err := s.deps.Catalog.UpdateCatalog(c.Request.Context(), us)
		var be *data.BatchError
		if errors.As(err, &be) {
			probs := make([]problem, len(be.Items))
			for k, it := range be.Items {
				probs[k] = problem{Index: it.Index, Error: it.Err.Error()}
			}
			batchRejected(c, nil, probs, len(us), "products", "")
			return
		}
		if err != nil {
			writeError(c, 0, err)
			return
		}
		s.render(c, http.StatusOK, gin.H{"updated": len(us) - added, "added": added, "request_id": c.GetString("request_id")})
	}
}
