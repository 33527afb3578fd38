package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"grouprank/data"
)

// Catalog applies catalogue updates to the model in service (and keeps them
// for the models to come) without a new snapshot.
type Catalog interface {
	UpdateCatalog(ctx context.Context, products []data.Product) (added int, err error)
}

const maxProducts = 10000

// productJSON is one product's whole new state on the wire.
type productJSON struct {
	SKU         int64      `json:"sku"`
	Title       string     `json:"title"`
	CategoryL1  string     `json:"category_l1"`
	CategoryL2  string     `json:"category_l2"`
	Brand       string     `json:"brand"`
	PriceCents  int64      `json:"price_cents"`
	GoodReviews int32      `json:"good_reviews"`
	Reviews     int32      `json:"reviews"`
	Commission  float64    `json:"commission_rate"`
	Seller      string     `json:"seller"`
	InStock     bool       `json:"in_stock"`
	ActiveFrom  *time.Time `json:"active_from"`
	ActiveUntil *time.Time `json:"active_until"`
}

func (p *productJSON) product() (data.Product, error) {
	seller, err := data.ParseSellerType(p.Seller)
	if err != nil {
		return data.Product{}, err
	}
	out := data.Product{SKU: data.SKU(p.SKU), Title: p.Title, CategoryL1: p.CategoryL1, CategoryL2: p.CategoryL2, Brand: p.Brand,
		PriceCents: p.PriceCents, GoodReviews: p.GoodReviews, Reviews: p.Reviews, Commission: p.Commission, Seller: seller, InStock: p.InStock}
	if p.ActiveFrom != nil {
		out.ActiveFrom = data.TimestampOf(*p.ActiveFrom)
	}
	if p.ActiveUntil != nil {
		out.ActiveUntil = data.TimestampOf(*p.ActiveUntil)
	}
	return out, out.Validate()
}

// decodeProducts reads and validates a batch of catalogue updates.
func decodeProducts(c *gin.Context) ([]data.Product, []problem, error) {
	var body struct {
		Products []productJSON `json:"products"`
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
		if ps[k], err = body.Products[k].product(); err != nil {
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
