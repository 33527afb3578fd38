package importer

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzImportCSV: any file given to the importer ends in a report or an
// error, never a panic; a file it accepts is written whole.
func FuzzImportCSV(f *testing.F) {
	for _, s := range []string{
		"sku,title,category_l1,price_cents\n1,rice,food,990\n2,oil,food,-1\n",
		"order,group,buyer,sku,quantity,amount_cents,time\n1,1,0,5,1,990,2026-11-20\n",
		"sku,title\n1,\"unclosed\n", "a,a\n1,2\n", "\xff\xfe\n",
	} {
		f.Add("products", s)
		f.Add("orders", s)
	}
	f.Fuzz(func(t *testing.T, table, content string) {
		if _, ok := tableSchemas()[table]; !ok {
			return
		}
		dir := t.TempDir()
		in := filepath.Join(dir, "in.csv")
		if err := os.WriteFile(in, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "out.parquet")
		rep, err := Import(context.Background(), table, in, out, Options{MaxErrors: 1 << 20})
		if err == nil && rep == nil {
			t.Fatal("no report and no error")
		}
	})
}
