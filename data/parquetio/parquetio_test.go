package parquetio_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"grouprank/data"
	"grouprank/data/parquetio"
)

const t0 = data.Timestamp(1767225600000) // 2026-01-01

func orders(n int, seed uint64) []data.Order {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]data.Order, n)
	for i := range out {
		amt := int64(100 + rng.IntN(100000))
		out[i] = data.Order{
			ID: data.OrderID(i + 1), Group: data.GroupID(1 + rng.IntN(100000)), Buyer: data.MemberID(rng.IntN(1 << 30)),
			SKU: data.SKU(1 + rng.IntN(20000)), Quantity: int32(1 + rng.IntN(3)), AmountCents: amt,
			CommissionCents: amt / 10, Time: t0 + data.Timestamp(rng.Int64N(int64(30*data.Day))),
			Status: data.OrderStatus(rng.IntN(3)), Push: data.PushID(rng.IntN(2) * (1 + rng.IntN(1<<20))),
		}
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := data.Product{SKU: 7, Title: "辣条 500g", CategoryL1: "food", CategoryL2: "snacks", Brand: "卫龙", PriceCents: 1990,
		GoodReviews: 95, Reviews: 100, Commission: 0.2, Seller: data.SellerPOP, ActiveFrom: t0, InStock: true}
	unknown := data.Product{SKU: 8, PriceCents: data.UnknownPrice, Commission: data.UnknownRate}
	check := func(t *testing.T, name string, write func(string) error, read func(string) (any, error), want any) {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name+".parquet")
			if err := write(path); err != nil {
				t.Fatal(err)
			}
			got, err := read(path)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("read back\n%+v\nwant\n%+v", got, want)
			}
		})
	}
	products := []data.Product{p, unknown}
	check(t, "products", func(s string) error { return parquetio.WriteFile(s, parquetio.Products, products, parquetio.Options{}) },
		func(s string) (any, error) { return parquetio.ReadFile(s, parquetio.Products) }, products)
	changes := []data.CatalogChange{{At: t0, Kind: data.ChangeNew, Product: p}, {At: t0 + data.Day, Kind: data.ChangeRetire, Product: p}}
	check(t, "catalog", func(s string) error { return parquetio.WriteFile(s, parquetio.Catalog, changes, parquetio.Options{}) },
		func(s string) (any, error) { return parquetio.ReadFile(s, parquetio.Catalog) }, changes)
	groups := []data.Group{{ID: 1, Promoter: 2, Channel: data.ChannelCourier, CityTier: 6, Created: t0}, {ID: 3, Promoter: 4}}
	check(t, "groups", func(s string) error { return parquetio.WriteFile(s, parquetio.Groups, groups, parquetio.Options{}) },
		func(s string) (any, error) { return parquetio.ReadFile(s, parquetio.Groups) }, groups)
	members := []data.Membership{{Group: 1, Member: 9, Joined: t0, Left: t0 + data.Day}, {Group: 1, Member: 10}}
	check(t, "members", func(s string) error { return parquetio.WriteFile(s, parquetio.Members, members, parquetio.Options{}) },
		func(s string) (any, error) { return parquetio.ReadFile(s, parquetio.Members) }, members)
	exps := []data.Exposure{{RequestID: "r1", Group: 1, SKU: 7, Rank: 1, Propensity: 0.95, ModelVersion: "practice", Time: t0},
		{RequestID: "r2", Group: 1, SKU: 8, Rank: 3, Propensity: 0.001, ModelVersion: "v1", Experiment: "e", Arm: "b"}}
	check(t, "exposures", func(s string) error { return parquetio.WriteFile(s, parquetio.Exposures, exps, parquetio.Options{}) },
		func(s string) (any, error) { return parquetio.ReadFile(s, parquetio.Exposures) }, exps)
	pushes := []data.Push{{ID: 1, Group: 1, SKU: 7, Time: t0, RequestID: "r1"}, {ID: 2, Group: 1, SKU: 8}}
	check(t, "pushes", func(s string) error { return parquetio.WriteFile(s, parquetio.Pushes, pushes, parquetio.Options{}) },
		func(s string) (any, error) { return parquetio.ReadFile(s, parquetio.Pushes) }, pushes)
	os := orders(10000, 1)
	check(t, "orders", func(s string) error {
		return parquetio.WriteFile(s, parquetio.Orders, os, parquetio.Options{RowGroupRows: 999})
	}, func(s string) (any, error) { return parquetio.ReadFile(s, parquetio.Orders) }, os)
}

func TestScanMatchesRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "orders.parquet")
	want := orders(50000, 2)
	if err := parquetio.WriteFile(path, parquetio.Orders, want, parquetio.Options{RowGroupRows: 7000}); err != nil {
		t.Fatal(err)
	}
	i, batches := 0, 0
	err := parquetio.Scan(context.Background(), path, []string{"group", "sku", "time", "quantity"}, func(b *parquetio.Batch) error {
		batches++
		g, s, tm, q := b.Col(0), b.Col(1), b.Col(2), b.Col(3)
		for r := range b.Rows {
			o := want[i]
			if g[r] != int64(o.Group) || s[r] != int64(o.SKU) || tm[r] != int64(o.Time) || q[r] != int64(o.Quantity) {
				return fmt.Errorf("row %d: scan (%d %d %d %d) differs from %+v", i, g[r], s[r], tm[r], q[r], o)
			}
			i++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if i != len(want) || batches != 8 {
		t.Fatalf("scanned %d rows in %d batches, want %d in 8", i, batches, len(want))
	}
}

// TestScanTypedColumns: double and byte array columns (a dictionary-encoded
// one, and values longer than the decoding buffer) scan to what the rows hold.
func TestScanTypedColumns(t *testing.T) {
	dir := t.TempDir()
	ords := orders(20000, 4)
	path := filepath.Join(dir, "orders.parquet")
	if err := parquetio.WriteFile(path, parquetio.Orders, ords, parquetio.Options{RowGroupRows: 3000}); err != nil {
		t.Fatal(err)
	}
	i := 0
	err := parquetio.Scan(context.Background(), path, []string{"status", "order"}, func(b *parquetio.Batch) error {
		for r := range b.Rows {
			if got := string(b.Bytes(0, r)); got != ords[i].Status.String() || b.Col(1)[r] != int64(ords[i].ID) {
				return fmt.Errorf("row %d: status %q, order %d; want %+v", i, got, b.Col(1)[r], ords[i])
			}
			i++
		}
		return nil
	})
	if err != nil || i != len(ords) {
		t.Fatalf("%d rows scanned of %d: %v", i, len(ords), err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	exps := make([]data.Exposure, 5000)
	for k := range exps {
		id := fmt.Sprintf("req-%d", k/7)
		if k%997 == 0 { // longer than the 64 KiB decoding buffer
			id = strings.Repeat("x", 100000+k)
		}
		exps[k] = data.Exposure{RequestID: id, Group: data.GroupID(1 + k/7), SKU: data.SKU(1 + r.IntN(50)), Rank: int32(1 + k%7),
			Propensity: r.Float64()*0.9 + 0.1, Time: data.Timestamp(1_700_000_000_000 + k)}
	}
	path = filepath.Join(dir, "exposures.parquet")
	if err := parquetio.WriteFile(path, parquetio.Exposures, exps, parquetio.Options{RowGroupRows: 1500}); err != nil {
		t.Fatal(err)
	}
	i = 0
	err = parquetio.Scan(context.Background(), path, []string{"request_id", "propensity", "rank"}, func(b *parquetio.Batch) error {
		if b.Total != int64(len(exps)) {
			return fmt.Errorf("total %d, want %d", b.Total, len(exps))
		}
		for r := range b.Rows {
			e := &exps[i]
			if string(b.Bytes(0, r)) != e.RequestID || b.Float(1)[r] != e.Propensity || b.Col(2)[r] != int64(e.Rank) {
				return fmt.Errorf("row %d differs from %+v", i, e)
			}
			i++
		}
		return nil
	})
	if err != nil || i != len(exps) {
		t.Fatalf("%d rows scanned of %d: %v", i, len(exps), err)
	}
}

func TestBadFiles(t *testing.T) {
	dir := t.TempDir()
	bad := orders(20, 3)
	bad[16].Quantity = 0
	badPath := filepath.Join(dir, "orders.parquet")
	if err := parquetio.WriteFile(badPath, parquetio.Orders, bad, parquetio.Options{}); err != nil {
		t.Fatal(err)
	}
	notParquet := filepath.Join(dir, "junk.parquet")
	os.WriteFile(notParquet, []byte("PAR1 this is not parquet"), 0o644)
	groupsPath := filepath.Join(dir, "groups.parquet")
	parquetio.WriteFile(groupsPath, parquetio.Groups, []data.Group{{ID: 1, Promoter: 1}}, parquetio.Options{})

	for _, tc := range []struct {
		name string
		run  func() error
		want []string
	}{
		{"invalid row", func() error { _, err := parquetio.ReadFile(badPath, parquetio.Orders); return err },
			[]string{"orders.parquet", "row 17", "column quantity", "must be >= 1"}},
		{"not parquet", func() error { _, err := parquetio.ReadFile(notParquet, parquetio.Orders); return err },
			[]string{"junk.parquet", "not a readable Parquet file"}},
		{"wrong table", func() error { _, err := parquetio.ReadFile(groupsPath, parquetio.Orders); return err },
			[]string{"groups.parquet", "column order", "missing"}},
		{"missing file", func() error {
			_, err := parquetio.ReadFile(filepath.Join(dir, "nope.parquet"), parquetio.Orders)
			return err
		},
			[]string{"nope.parquet", "no such file"}},
		{"scan optional column", func() error {
			path := filepath.Join(dir, "exposures.parquet")
			if err := parquetio.WriteFile(path, parquetio.Exposures, []data.Exposure{{RequestID: "r", Group: 1, SKU: 1, Rank: 1, Propensity: 1}}, parquetio.Options{}); err != nil {
				return err
			}
			return parquetio.Scan(context.Background(), path, []string{"unit"}, func(*parquetio.Batch) error { return nil })
		}, []string{"exposures.parquet", "column unit", "optional"}},
		{"scan unknown column", func() error {
			return parquetio.Scan(context.Background(), badPath, []string{"nope"}, func(*parquetio.Batch) error { return nil })
		}, []string{"column nope", "missing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	t.Run("row error is typed", func(t *testing.T) {
		_, err := parquetio.ReadFile(badPath, parquetio.Orders)
		var re *parquetio.RowError
		if !errors.As(err, &re) || re.Row != 17 || re.Column != "quantity" || !errors.Is(err, data.ErrInvalid) {
			t.Fatalf("got %#v", err)
		}
	})
}

func TestAbortKeepsPreviousFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "orders.parquet")
	first := orders(10, 4)
	if err := parquetio.WriteFile(path, parquetio.Orders, first, parquetio.Options{}); err != nil {
		t.Fatal(err)
	}
	w, err := parquetio.Create(path, parquetio.Orders, parquetio.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(orders(100, 5)...)
	w.Abort()
	got, err := parquetio.ReadFile(path, parquetio.Orders)
	if err != nil || !reflect.DeepEqual(got, first) {
		t.Fatalf("after abort: %v, %d rows", err, len(got))
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
}

var sizes = []int{100_000, 1_000_000}

func benchSizes(b *testing.B, fn func(b *testing.B, rows []data.Order)) {
	for _, n := range sizes {
		rows := orders(n, 42)
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) { fn(b, rows) })
	}
}

// BenchmarkWriteOrders writes an orders file; rows/s is the figure to read.
func BenchmarkWriteOrders(b *testing.B) {
	benchSizes(b, func(b *testing.B, rows []data.Order) {
		path := filepath.Join(b.TempDir(), "orders.parquet")
		for b.Loop() {
			if err := parquetio.WriteFile(path, parquetio.Orders, rows, parquetio.Options{}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}

// BenchmarkReadOrders reads an orders file back as full validated rows and,
// as the columnar fast path, as the group, sku and time columns.
func BenchmarkReadOrders(b *testing.B) {
	benchSizes(b, func(b *testing.B, rows []data.Order) {
		path := filepath.Join(b.TempDir(), "orders.parquet")
		if err := parquetio.WriteFile(path, parquetio.Orders, rows, parquetio.Options{}); err != nil {
			b.Fatal(err)
		}
		b.Run("mode=rows", func(b *testing.B) {
			for b.Loop() {
				if _, err := parquetio.ReadFile(path, parquetio.Orders); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
		b.Run("mode=columns", func(b *testing.B) {
			var sum int64
			for b.Loop() {
				err := parquetio.Scan(context.Background(), path, []string{"group", "sku", "time"}, func(bt *parquetio.Batch) error {
					for _, v := range bt.Col(0) {
						sum += v
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	})
}

// TestScanStops: an error from fn stops the scan with that error after the
// batches before it, a cancelled context stops it with the context's error,
// and either way the goroutine decoding ahead has stopped when Scan
// returns; a batch's values stay as decoded while fn reads them, though the
// next row group is decoded meanwhile.
func TestScanStops(t *testing.T) {
	path := filepath.Join(t.TempDir(), "orders.parquet")
	want := orders(30000, 3)
	if err := parquetio.WriteFile(path, parquetio.Orders, want, parquetio.Options{RowGroupRows: 2000}); err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	stop := errors.New("stop")
	batches, i := 0, 0
	err := parquetio.Scan(context.Background(), path, []string{"group"}, func(b *parquetio.Batch) error {
		batches++
		g := b.Col(0)
		time.Sleep(2 * time.Millisecond) // the decoder fills the other batch meanwhile
		for r := range b.Rows {
			if g[r] != int64(want[i].Group) {
				return fmt.Errorf("row %d: group %d, want %d", i, g[r], want[i].Group)
			}
			i++
		}
		if batches == 4 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || batches != 4 {
		t.Fatalf("after %d batches: %v, want the stop error after 4", batches, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	batches = 0
	err = parquetio.Scan(ctx, path, []string{"group"}, func(b *parquetio.Batch) error {
		batches++
		if batches == 2 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || batches > 3 {
		t.Fatalf("after %d batches: %v, want context.Canceled within 3", batches, err)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after the scans, %d before", n, before)
	}
}
