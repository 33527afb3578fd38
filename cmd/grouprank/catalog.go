package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"grouprank/data"
	"grouprank/data/parquetio"
)

func catalogCmd(e *env) *cobra.Command {
	c := &cobra.Command{Use: "catalog", Short: "Catalogue updates for a running service"}
	var in, server, token string
	var batch int
	imp := &cobra.Command{
		Use:   "import --in products.parquet --server URL",
		Short: "Send catalogue updates (a products table) to a running service, without a new model",
		Long: `catalog import reads a products Parquet file (grouprank import --table products
turns CSV into one) and posts it in batches to the service's admin route
POST /v1/admin/catalog with the admin token (--token, or the environment
GROUPRANK_CATALOG_IMPORT_TOKEN). Each product's row is its whole new state;
unknown SKUs are added. A batch is applied whole or not at all.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ps, err := parquetio.ReadFile(in, parquetio.Products)
			if err != nil {
				return err
			}
			var added, updated int
			for start := 0; start < len(ps); start += batch {
				a, u, err := postCatalog(cmd.Context(), server, token, ps[start:min(len(ps), start+batch)])
				if err != nil {
					return fmt.Errorf("products %d to %d: %w (earlier batches were applied)", start+1, min(len(ps), start+batch), err)
				}
				added, updated = added+a, updated+u
			}
			fmt.Fprintf(e.stdout, "%d products sent: %d updated, %d added\n", len(ps), updated, added)
			return nil
		},
	}
	f := imp.Flags()
	f.StringVar(&in, "in", "products.parquet", "products Parquet file")
	f.StringVar(&server, "server", "http://127.0.0.1:8080", "the service's base URL")
	f.StringVar(&token, "token", "", "admin bearer token")
	f.IntVar(&batch, "batch", 5000, "products per request (at most 10000)")
	c.AddCommand(imp)
	return c
}

func postCatalog(ctx context.Context, server, token string, ps []data.Product) (added, updated int, err error) {
	type product struct {
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
		ActiveFrom  *time.Time `json:"active_from,omitempty"`
		ActiveUntil *time.Time `json:"active_until,omitempty"`
	}
	at := func(t data.Timestamp) *time.Time {
		if t == data.UnknownTime {
			return nil
		}
		x := t.Time()
		return &x
	}
	body := struct {
		Products []product `json:"products"`
	}{}
	for _, p := range ps {
		body.Products = append(body.Products, product{int64(p.SKU), p.Title, p.CategoryL1, p.CategoryL2, p.Brand, p.PriceCents,
			p.GoodReviews, p.Reviews, p.Commission, p.Seller.String(), p.InStock, at(p.ActiveFrom), at(p.ActiveUntil)})
	}
	b, err := json.Marshal(body)
	if err != nil {
		return 0, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimRight(server, "/")+"/v1/admin/catalog", bytes.NewReader(b))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var out struct {
		Added, Updated int
		Error          string
	}
	json.Unmarshal(rb, &out)
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("%s: %d: %s", req.URL, resp.StatusCode, out.Error)
	}
	return out.Added, out.Updated, nil
}
