package importer_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"grouprank/data"
	"grouprank/data/importer"
	"grouprank/data/parquetio"
)

var productMap = map[string]string{"sku": "item_id", "price_cents": "price"}

func TestBadPriceOnLine7WritesNothing(t *testing.T) {
	out := filepath.Join(t.TempDir(), "products.parquet")
	rep, err := importer.Import(context.Background(), "products", "testdata/products_bad_price.csv", out,
		importer.Options{Mapping: productMap})
	if !errors.Is(err, data.ErrInvalid) || !strings.Contains(err.Error(), "too many bad rows") {
		t.Fatalf("err = %v, want data.ErrInvalid: too many bad rows", err)
	}
	if len(rep.Problems) != 1 {
		t.Fatalf("problems %v", rep.Problems)
	}
	p := rep.Problems[0]
	if p.File != "products_bad_price.csv" || p.Line != 7 || p.Column != "price" || !strings.Contains(p.Reason, `"twelve"`) {
		t.Fatalf("problem %+v", p) // line 7 of the file (the header is line 1)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("output exists after a failed import: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 0 {
		t.Fatalf("left behind: %v", entries)
	}
}

func TestToleratedErrorsAreSkipped(t *testing.T) {
	out := filepath.Join(t.TempDir(), "products.parquet")
	rep, err := importer.Import(context.Background(), "products", "testdata/products_bad_price.csv", out,
		importer.Options{Mapping: productMap, MaxErrors: 1})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != 8 || rep.Written != 7 || rep.Bad != 1 {
		t.Fatalf("report %+v", rep)
	}
	got, err := parquetio.ReadFile(out, parquetio.Products)
	if err != nil {
		t.Fatal(err)
	}
	want := map[data.SKU]data.Product{
		1003: {SKU: 1003, Title: "Kitchen towels", CategoryL1: "home", CategoryL2: "paper", Brand: "Vinda", PriceCents: 2590,
			GoodReviews: 300, Reviews: 320, Commission: 0.15, Seller: data.SellerPOP, ActiveFrom: 1788249600000, InStock: true},
		1005: {SKU: 1005, Title: "Baby wipes", CategoryL1: "baby", CategoryL2: "diapers", Brand: "Goodbaby", PriceCents: 1990,
			GoodReviews: 880, Reviews: 900, Commission: 0.2, Seller: data.SellerPOP, InStock: true},
		1006: {SKU: 1006, Title: "Socks (5 pairs)", CategoryL1: "underwear", CategoryL2: "socks", Brand: "Nanjiren", PriceCents: 1500,
			GoodReviews: 95, Reviews: 100, Commission: 0.25, Seller: data.SellerPOP, ActiveFrom: 1756684800000, InStock: true},
	}
	for _, p := range got {
		if w, ok := want[p.SKU]; ok && p != w {
			t.Errorf("sku %d:\n got %+v\nwant %+v", p.SKU, p, w)
		}
		if p.SKU == 1007 {
			t.Error("the bad row was written")
		}
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	for _, tc := range []struct {
		name, table, body string
		o                 importer.Options
		want              []string
	}{
		{"unknown table", "nope", "a\n1\n", importer.Options{}, []string{"unknown table", "products"}},
		{"empty file", "orders", "", importer.Options{}, []string{"empty file"}},
		{"missing required column", "orders", "order,group\n1,2\n", importer.Options{}, []string{"line 1", `required column "sku"`}},
		{"mapping to absent column", "orders", "order,group,sku\n1,2,3\n", importer.Options{Mapping: map[string]string{"buyer": "who"}}, []string{`no column "who"`}},
		{"mapping unknown target", "orders", "order,group,sku\n1,2,3\n", importer.Options{Mapping: map[string]string{"colour": "sku"}}, []string{`no column "colour"`}},
		{"negative quantity", "orders", "order,group,sku,quantity\n1,2,3,1\n2,2,3,-1\n", importer.Options{}, []string{":3:", "column quantity", "must be >= 1"}},
		{"bad status", "orders", "order,group,sku,status\n1,2,3,lost\n", importer.Options{}, []string{":2:", "column status", "lost"}},
		{"bad time", "pushes", "push,group,sku,time\n1,2,3,yesterday\n", importer.Options{}, []string{":2:", "column time", "not a time"}},
		{"empty required", "pushes", "push,group,sku\n1,,3\n", importer.Options{}, []string{":2:", "column group", "is empty"}},
		{"short row", "pushes", "push,group,sku\n1,2\n", importer.Options{}, []string{":2:", "column sku", "fields"}},
		{"long row", "pushes", "push,group,sku\n1,2,3,4\n", importer.Options{}, []string{":2:", "column 4 (beyond the header)", "4 fields, the header 3"}},
		{"duplicate header", "pushes", "push,group,sku,group\n1,2,3,4\n", importer.Options{}, []string{"line 1: column 4", `header "group" repeats column 2`}},
		{"duplicate sku", "products", "sku,title,price_cents\n7,a,100\n8,b,200\n7,c,300\n", importer.Options{}, []string{":4:", "column sku", "sku 7 repeats line 2"}},
		{"bare quote", "pushes", "push,group,sku\n1,2\"x,3\n", importer.Options{}, []string{":2:", "quote"}},
		{"tier out of range", "groups", "group,promoter,city_tier\n1,2,9\n", importer.Options{}, []string{":2:", "column city_tier"}},
		{"tsv with csv", "pushes", "push\tgroup\tsku\n1\t2\t3\n", importer.Options{}, []string{`required column "push"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := write(strings.ReplaceAll(tc.name, " ", "_")+".csv", tc.body)
			out := filepath.Join(dir, "out-"+strings.ReplaceAll(tc.name, " ", "_")+".parquet")
			rep, err := importer.Import(context.Background(), tc.table, in, out, tc.o)
			if err == nil {
				t.Fatalf("no error; report %+v", rep)
			}
			msg := err.Error()
			if rep != nil {
				for _, p := range rep.Problems {
					msg += "\n" + p.String()
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q lacks %q", msg, w)
				}
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Error("output written")
			}
		})
	}
}

func TestTSVAndEveryTable(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "orders.tsv")
	os.WriteFile(in, []byte("id\tgroup\tsku\tbuyer\ttime\tamount_cents\tcommission_cents\tstatus\tpush\n"+
		"1\t2\t3\t\t2026-09-02 10:00:00\t1990\t200\trefunded\t7\n"+
		"2\t2\t3\t5\t\t\t0\t\t\n"), 0o644)
	out := filepath.Join(dir, "orders.parquet")
	rep, err := importer.Import(context.Background(), "orders", in, out, importer.Options{Comma: '\t', Mapping: map[string]string{"order": "id"}})
	if err != nil || rep.Written != 2 {
		t.Fatalf("%v %+v", err, rep)
	}
	got, _ := parquetio.ReadFile(out, parquetio.Orders)
	want := []data.Order{
		{ID: 1, Group: 2, SKU: 3, Buyer: data.UnknownMember, Quantity: 1, AmountCents: 1990, CommissionCents: 200, Time: 1788343200000, Status: data.StatusRefunded, Push: 7},
		{ID: 2, Group: 2, SKU: 3, Buyer: 5, Quantity: 1, AmountCents: data.UnknownPrice, Time: data.UnknownTime, Status: data.StatusPlaced},
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %+v", got)
	}
	for _, table := range importer.Tables() {
		if _, err := importer.Columns(table); err != nil {
			t.Error(err)
		}
	}
}

// An order of quantity 0 is left out with a warning, not refused.
func TestZeroQuantityWarns(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "orders.csv")
	os.WriteFile(in, []byte("order,group,sku,quantity\n1,2,3,1\n2,2,3,0\n3,2,4,2\n"), 0o644)
	rep, err := importer.Import(context.Background(), "orders", in, filepath.Join(dir, "orders.parquet"), importer.Options{})
	if err != nil || rep.Written != 2 || rep.Skipped != 1 || rep.Bad != 0 || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0].String(), ":3:") {
		t.Errorf("report %+v, error %v; want 2 written, 1 skipped with a warning on line 3", rep, err)
	}
}

// TestSpreadsheetExport: what a spreadsheet writes is read: integers as
// "2.0", times as "2026/9/18 10:00", text order ids through the id map; a
// quantity with a fraction is still refused, naming line and column.
func TestSpreadsheetExport(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "orders.csv")
	os.WriteFile(in, []byte("order,group,sku,quantity,time\nA-1,g1,s1,2.0,2026/9/18 10:00\nA-2,g1,s2,1,2026/09/18 10:00:30\nA-1b,g2,s1,3,2026-9-18\n"), 0o644)
	out := filepath.Join(dir, "orders.parquet")
	ids := data.NewIDMap()
	if _, err := importer.Import(context.Background(), "orders", in, out, importer.Options{IDs: ids}); err != nil {
		t.Fatal(err)
	}
	got, err := parquetio.ReadFile(out, parquetio.Orders)
	if err != nil || len(got) != 3 {
		t.Fatalf("%v %+v", err, got)
	}
	at := time.Date(2026, 9, 18, 10, 0, 0, 0, time.UTC)
	want := []struct {
		order    string
		qty      int32
		time     data.Timestamp
		sameSKUs bool
	}{{"A-1", 2, data.TimestampOf(at), true}, {"A-2", 1, data.TimestampOf(at.Add(30 * time.Second)), false}, {"A-1b", 3, data.TimestampOf(at.Truncate(24 * time.Hour)), true}}
	for n, w := range want {
		o := got[n]
		if ids.Name(data.IDOrder, int64(o.ID)) != w.order || o.Quantity != w.qty || o.Time != w.time || (o.SKU == got[0].SKU) != w.sameSKUs {
			t.Errorf("row %d: %+v (order %s), want %+v", n+1, o, ids.Name(data.IDOrder, int64(o.ID)), w)
		}
	}
	os.WriteFile(in, []byte("order,group,sku,quantity\n1,2,3,2.5\n"), 0o644)
	rep, err := importer.Import(context.Background(), "orders", in, out, importer.Options{})
	if err == nil || len(rep.Problems) != 1 || rep.Problems[0].String() != `orders.csv:2: column quantity: "2.5" is not an integer` {
		t.Errorf("a quantity of 2.5: %v %+v", err, rep)
	}
}
