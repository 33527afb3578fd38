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
// for the models to come) without a new snapshot.
type Catalog interface {
	UpdateCatalog(ctx context.Context, products []data.Product) (added int, err error)
}

const maxProducts = 10000

// decodeProducts reads and validates a batch of catalogue updates.
func decodeProducts(c *gin.Context) ([]data.Product, []problem, error) {
	var body struct {
		Products []data.ProductUpdate `json:"products"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, 16<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, nil, errTooLarge
		}
		return nil, nil, fmt.Errorf("%w: malformed JSON: %v", data.ErrInvalid, err)
	}
	if len(body.Products) == 0 || len(body.Products) > maxProducts {
		return nil, nil, fmt.Errorf("%w: a batch holds 1 to %d products, got %d", data.ErrInvalid, maxProducts, len(body.Products))
	}
	ps := make([]data.Product, len(body.Products))
	var probs []problem
	for k := range body.Products {
		var err error
		if ps[k], err = body.Products[k].Product(); err != nil {
			probs = append(probs, problem{Index: k, Error: err.Error()})
		}
	}
	return ps, probs, nil
}

// catalog takes a batch of catalogue updates: all valid or none applied.
func (s *server) catalog() gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.deps.Catalog == nil {
			writeError(c, 0, fmt.Errorf("%w: catalogue updates are not configured", data.ErrUnavailable))
			return
		}
		ps, probs, err := decodeProducts(c)
		if batchRejected(c, err, probs, len(ps), "products", "16 MiB") {
			return
		}
		added, err := s.deps.Catalog.UpdateCatalog(c.Request.Context(), ps)
		if err != nil {
			writeError(c, 0, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"updated": len(ps) - added, "added": added, "request_id": c.GetString("request_id")})
	}
}
