package main

import (
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"grouprank/data/parquetio"
	"grouprank/recommend/client"
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
			cl := client.New(server, &http.Client{Timeout: time.Minute})
			var added, updated int
			for start := 0; start < len(ps); start += batch {
				var wire []client.Product
				for _, p := range ps[start:min(len(ps), start+batch)] {
					wire = append(wire, client.ProductOf(p))
				}
				a, u, err := cl.UpdateCatalog(cmd.Context(), token, wire)
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
