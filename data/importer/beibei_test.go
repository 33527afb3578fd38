package importer_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"grouprank/data"
	"grouprank/data/importer"
	"grouprank/data/parquetio"
)

const beibeiDir = "../../testdata/beibei"

// TestBeiBeiLoadsAllFourFiles imports the real dataset and checks the counts its README gives.
func TestBeiBeiLoadsAllFourFiles(t *testing.T) {
	if _, err := os.Stat(filepath.Join(beibeiDir, importer.BeiBeiTune)); err != nil {
		t.Skipf("BeiBei dataset not beside the repository: %v", err)
	}
	out := t.TempDir()
	rep, err := importer.ImportBeiBei(context.Background(), beibeiDir, out)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Users != 190080 || rep.Items != 30782 {
		t.Errorf("size %d users, %d items", rep.Users, rep.Items)
	}
	if rep.HistoryPushes != 154184+211291 || rep.HistoryOrders != 154184 || rep.TestPushes != 178642 {
		t.Errorf("report %+v", rep)
	}
	for _, f := range []struct {
		path string
		rows int
	}{
		{filepath.Join(out, parquetio.Products.File), 30782},
		{filepath.Join(out, parquetio.Pushes.File), rep.HistoryPushes},
		{filepath.Join(out, parquetio.Orders.File), rep.HistoryOrders},
		{filepath.Join(out, parquetio.Groups.File), rep.Groups},
		{filepath.Join(out, parquetio.Members.File), rep.HistoryMembers},
		{filepath.Join(out, importer.BeiBeiTestDir, parquetio.Pushes.File), rep.TestPushes},
		{filepath.Join(out, importer.BeiBeiTestDir, parquetio.Orders.File), rep.TestPushes},
	} {
		n := 0
		if err := parquetio.Scan(context.Background(), f.path, []string{"sku"}, func(b *parquetio.Batch) error { n += b.Rows; return nil }); err != nil {
			if err := parquetio.Scan(context.Background(), f.path, []string{"group"}, func(b *parquetio.Batch) error { n += b.Rows; return nil }); err != nil {
				t.Fatal(err)
			}
		}
		if n != f.rows {
			t.Errorf("%s: %d rows, want %d", f.path, n, f.rows)
		}
	}
	orders, err := parquetio.ReadFile(filepath.Join(out, parquetio.Orders.File), parquetio.Orders)
	if err != nil {
		t.Fatal(err)
	}
	if o := orders[0]; o.Time.Known() || o.AmountCents >= 0 || o.Push == 0 {
		t.Errorf("first order %+v: want unknown time and amount, a push", o)
	}
	ids := readIDs(t, out)
	if g, ok := ids.Resolve(data.IDGroup, "0"); !ok || g != 1 || ids.Name(data.IDSKU, 30782) != "30781" || ids.Name(data.IDMember, 190080) != "190079" {
		t.Errorf("the dataset's ids: group \"0\" = %d (%v), sku 30782 = %q", g, ok, ids.Name(data.IDSKU, 30782))
	}
}

func TestBeiBeiMalformed(t *testing.T) {
	for _, tc := range []struct {
		name, file, body string
		want             []string
	}{
		{"size", importer.BeiBeiSize, "190080\n", []string{"data_size.txt:1", "2 fields"}},
		{"item out of range", importer.BeiBeiTune, "1\t2\t3\n4\t99\n", []string{"tune.txt:2", "column item", "0..9"}},
		{"not a number", importer.BeiBeiInvalid, "1\tx\n", []string{"invalid.txt:1", "column item"}},
		{"participant in invalid", importer.BeiBeiInvalid, "1\t2\t3\n", []string{"invalid.txt:1", "want 2 fields"}},
		{"bad participant", importer.BeiBeiTest, "1\t2\t-3\n", []string{"test.txt:1", "column participant"}},
		{"missing file", importer.BeiBeiTest, "", []string{"test.txt", "no such file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{importer.BeiBeiSize: "20\t10\n", importer.BeiBeiTune: "1\t2\t3\n", importer.BeiBeiInvalid: "4\t5\n", importer.BeiBeiTest: "1\t6\t7\n"}
			files[tc.file] = tc.body
			for name, body := range files {
				if tc.name == "missing file" && name == tc.file {
					continue
				}
				os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644)
			}
			out := filepath.Join(dir, "out")
			_, err := importer.ImportBeiBei(context.Background(), dir, out)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
			if _, err := os.Stat(filepath.Join(out, parquetio.Orders.File)); !os.IsNotExist(err) {
				t.Error("wrote output")
			}
		})
	}
}

// TestBeiBeiLineOrder: the same lines in another order import to the same
// bytes, every table.
func TestBeiBeiLineOrder(t *testing.T) {
	files := map[string]string{
		importer.BeiBeiSize:    "6\t5\n",
		importer.BeiBeiTune:    "0\t1\t2\t3\n4\t2\t5\n1\t1\t0\n0\t3\t4\n",
		importer.BeiBeiInvalid: "2\t4\n3\t0\n0\t1\n",
		importer.BeiBeiTest:    "0\t2\t5\n1\t4\t3\n4\t0\t1\t2\n",
	}
	tables := func(reverse bool) map[string][]byte {
		in, out := t.TempDir(), t.TempDir()
		for name, body := range files {
			lines := strings.SplitAfter(body, "\n")
			if reverse && name != importer.BeiBeiSize {
				slices.Reverse(lines)
			}
			if err := os.WriteFile(filepath.Join(in, name), []byte(strings.Join(lines, "")), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := importer.ImportBeiBei(context.Background(), in, out); err != nil {
			t.Fatal(err)
		}
		got := map[string][]byte{}
		filepath.WalkDir(out, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, _ := os.ReadFile(path)
				got[strings.TrimPrefix(path, out)] = b
			}
			return err
		})
		return got
	}
	a, b := tables(false), tables(true)
	if len(a) < 8 {
		t.Fatalf("%d tables written", len(a))
	}
	for name, x := range a {
		if !bytes.Equal(x, b[name]) {
			t.Errorf("%s: the lines in reverse order import to other bytes", name)
		}
	}
}
