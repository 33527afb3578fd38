package importer_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"grouprank/data"
	"grouprank/data/importer"
	"grouprank/data/parquetio"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestGroupRecStringIDs: string and 0-based ids, tabs or spaces, a member
// list spread over fields, a rating column; the user's ids come back through
// ids.parquet and the members' own orders carry no group.
func TestGroupRecStringIDs(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		importer.GroupRecMembers:       "g-a u1,u2\ng-b\tu3, u1\n",
		importer.GroupRecGroupTrain:    "g-a 0\ng-a\t1\r\ng-b 0 5\n",
		importer.GroupRecMemberTrain:   "u1 7\n\nu3 0\n",
		importer.GroupRecItemNames:     "\uFEFF五台山, 0\nTokyo, Japan, 1\n",
		importer.GroupRecGroupTest:     "g-b 1\n",
		importer.GroupRecGroupNegative: "(g-b,1) 7 9\n",
	})
	out := t.TempDir()
	rep, err := importer.ImportGroupRec(context.Background(), dir, out)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Groups != 2 || rep.Members != 3 || rep.Items != 4 || rep.GroupOrders != 3 || rep.MemberOrders != 2 || rep.Memberships != 4 || rep.RatingColumn != 1 || rep.NotChosen != 0 || rep.Dated {
		t.Errorf("report %+v", rep)
	}
	ids := readIDs(t, out)
	if got, want := orderLines(t, out, false), "group g-a 0|group g-a 1|group g-b 0|member u1 7|member u3 0"; got != want {
		t.Errorf("orders %q, want %q", got, want)
	}
	products, err := parquetio.ReadFile(filepath.Join(out, parquetio.Products.File), parquetio.Products)
	if err != nil {
		t.Fatal(err)
	}
	titles := map[string]string{}
	for _, p := range products {
		titles[ids.Name(data.IDSKU, int64(p.SKU))] = p.Title
	}
	if titles["0"] != "五台山" || titles["1"] != "Tokyo, Japan" || titles["9"] != "" {
		t.Errorf("titles %q", titles)
	}
	if b, err := os.ReadFile(filepath.Join(out, importer.HeldOutDir, importer.GroupRecGroupNegative)); err != nil || string(b) != "(g-b,1) 7 9\n" {
		t.Errorf("negatives not copied verbatim: %q %v", b, err)
	}
}

func TestGroupRecBadLines(t *testing.T) {
	for _, c := range []struct {
		name, file, text string
		line             int
		column           string
	}{
		{"group without members", importer.GroupRecMembers, "0 1,2\n7\n", 2, "members"},
		{"rating line with one field", importer.GroupRecGroupTrain, "0 1\n0\n", 2, "item"},
		{"rating line with five fields", importer.GroupRecGroupTrain, "0 1 2 1700000000 3\n", 1, ""},
		{"time that is not a Unix time", importer.GroupRecGroupTrain, "0 1 1 1999-01-01\n", 1, "time"},
		{"time before 2000", importer.GroupRecGroupTrain, "0 1 1 900000000\n", 1, "time"},
		{"a line without a time among dated ones", importer.GroupRecGroupTrain, "0 1 1 1700000000\n0 2\n", 2, "time"},
		{"rating that is not a number", importer.GroupRecGroupTrain, "0 1 x\n", 1, "rating"},
		{"item name without id", importer.GroupRecItemNames, "五台山\n", 1, ""},
		{"malformed negatives pair", importer.GroupRecGroupNegative, "(0 1) 2 3\n", 1, "pair"},
	} {
		t.Run(c.name, func(t *testing.T) {
			files := map[string]string{importer.GroupRecMembers: "0 1,2\n", importer.GroupRecGroupTrain: "0 1\n"}
			files[c.file] = c.text
			_, err := importer.ImportGroupRec(context.Background(), writeFiles(t, files), t.TempDir())
			var p *importer.Problem
			if !errors.As(err, &p) {
				t.Fatalf("error %v is not a Problem", err)
			}
			if p.File != c.file || p.Line != c.line || p.Column != c.column {
				t.Errorf("problem %+v, want %s line %d column %q", p, c.file, c.line, c.column)
			}
		})
	}
	if _, err := importer.ImportGroupRec(context.Background(), writeFiles(t, map[string]string{importer.GroupRecMembers: "0 1\n"}), t.TempDir()); err == nil ||
		!strings.Contains(err.Error(), importer.GroupRecGroupTrain) {
		t.Errorf("a directory without %s: %v", importer.GroupRecGroupTrain, err)
	}
}

// TestGroupRecMafengwoS imports the real set and checks the counts its README gives.
func TestGroupRecMafengwoS(t *testing.T) {
	const dir = "../../testdata/mafengwos"
	if _, err := os.Stat(filepath.Join(dir, importer.GroupRecGroupTrain)); err != nil {
		t.Skipf("Mafengwo-S not beside the repository: %v", err)
	}
	rep, err := importer.ImportGroupRec(context.Background(), dir, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Groups != 1215 || rep.Members != 11027 || rep.Items != 1236 || rep.GroupOrders != 1886 || rep.MemberOrders != 6563 ||
		!slices.Equal(rep.NotRead, []string{"LICENSE", "README.md"}) {
		t.Errorf("report %+v", rep)
	}
}

// TestImportOwnIDs: whitespace-separated files, the user's own ids through
// an id map, a multi-valued member column and an order without a group.
func TestImportOwnIDs(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"m.txt": "group member\ng-1   m1,m2\n\ng-2\tm2\n",
		"o.csv": "order,group,buyer,sku\n1,g-1,m1,0\n2,,m2,A\n",
	})
	ids := data.NewIDMap()
	out := t.TempDir()
	rep, err := importer.Import(context.Background(), "members", filepath.Join(dir, "m.txt"), filepath.Join(out, "m.parquet"),
		importer.Options{Whitespace: true, IDs: ids})
	if err != nil || rep.Written != 3 {
		t.Fatalf("members: %v %+v", err, rep)
	}
	rep, err = importer.Import(context.Background(), "orders", filepath.Join(dir, "o.csv"), filepath.Join(out, "o.parquet"), importer.Options{IDs: ids})
	if err != nil || rep.Written != 2 {
		t.Fatalf("orders: %v %+v", err, rep)
	}
	orders, err := parquetio.ReadFile(filepath.Join(out, "o.parquet"), parquetio.Orders)
	if err != nil {
		t.Fatal(err)
	}
	if ids.Name(data.IDGroup, int64(orders[0].Group)) != "g-1" || ids.Name(data.IDSKU, int64(orders[0].SKU)) != "0" ||
		!orders[1].Own() || ids.Name(data.IDMember, int64(orders[1].Buyer)) != "m2" {
		t.Errorf("orders %+v through ids %v", orders, ids.Rows())
	}
	// Without an id map, a string id is a bad row naming its column.
	rep, err = importer.Import(context.Background(), "orders", filepath.Join(dir, "o.csv"), filepath.Join(out, "o2.parquet"), importer.Options{MaxErrors: 5})
	if err != nil || rep.Bad != 2 || rep.Problems[0].Column != "group" {
		t.Errorf("string ids without a map: %v %+v", err, rep)
	}
}

// readIDs reads the ids table an import wrote into dir.
func readIDs(t *testing.T, dir string) *data.IDMap {
	t.Helper()
	rows, err := parquetio.ReadFile(filepath.Join(dir, parquetio.IDs.File), parquetio.IDs)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := data.IDMapFrom(rows)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestGroupRecLineOrder: the same lines in another order (and members
// listed in another order) import to the same tables byte for byte, ids
// numbered in the order of the user's names (integers by value).
func TestGroupRecLineOrder(t *testing.T) {
	a := writeFiles(t, map[string]string{
		importer.GroupRecMembers:     "10 u2,u1\n9 u3\n",
		importer.GroupRecGroupTrain:  "10 5\n9 12\n10 3\n9 5\n",
		importer.GroupRecMemberTrain: "u3 3\nu1 12\nu1 3\n",
		importer.GroupRecItemNames:   "twelve, 12\nthree, 3\n",
		importer.GroupRecGroupTest:   "10 40\n",
	})
	b := writeFiles(t, map[string]string{
		importer.GroupRecMembers:     "9 u3\n10 u1,u2\n",
		importer.GroupRecGroupTrain:  "9 5\n10 3\n9 12\n10 5\n",
		importer.GroupRecMemberTrain: "u1 3\nu3 3\nu1 12\n",
		importer.GroupRecItemNames:   "three, 3\ntwelve, 12\n",
		importer.GroupRecGroupTest:   "10 40\n",
	})
	outA, outB := t.TempDir(), t.TempDir()
	for _, d := range [][2]string{{a, outA}, {b, outB}} {
		if _, err := importer.ImportGroupRec(context.Background(), d[0], d[1]); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{parquetio.Orders.File, parquetio.Members.File, parquetio.Products.File, parquetio.Groups.File, parquetio.IDs.File} {
		x, err := os.ReadFile(filepath.Join(outA, f))
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(filepath.Join(outB, f))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(x, y) {
			t.Errorf("%s differs with the lines in another order", f)
		}
	}
	ids := readIDs(t, outA)
	var skus []string
	for id := int64(1); id <= int64(ids.Len(data.IDSKU)); id++ {
		skus = append(skus, ids.Name(data.IDSKU, id))
	}
	if got := strings.Join(skus, " "); got != "3 5 12 40" {
		t.Errorf("items numbered %q, want by value", got)
	}
	orders, err := parquetio.ReadFile(filepath.Join(outA, parquetio.Orders.File), parquetio.Orders)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range orders {
		owner := ids.Name(data.IDGroup, int64(o.Group))
		if o.Own() {
			owner = ids.Name(data.IDMember, int64(o.Buyer))
		}
		got = append(got, owner+":"+ids.Name(data.IDSKU, int64(o.SKU)))
	}
	if want := "9:5 9:12 10:3 10:5 u1:3 u1:12 u3:3"; strings.Join(got, " ") != want {
		t.Errorf("orders %q, want %q", strings.Join(got, " "), want)
	}
}

// TestGroupRecDat: a set shipped as .dat files (MoSAN's MovieLens-Rand
// way): lines "g i rating time", a rating of 0 left out (not a choice),
// the set's own validation lines read as history, the times kept, the test
// and its negatives (groupRatingTestNegative.dat) copied to heldout/ under
// the layout's names; two names for one file, or a line without a time
// among dated ones, are refused.
func TestGroupRecDat(t *testing.T) {
	files := map[string]string{
		"groupMember.dat":             "1 10,11\n2 12,10\n",
		"groupRatingTrain.dat":        "1 100 1 978300760\n1 101 0 978300761\n2 100 1 978302109\n",
		"groupRatingVal.dat":          "2 102 1 978303000000\n",
		"groupRatingTest.dat":         "1 103 1 978304000\n",
		"groupRatingTestNegative.dat": "(1,103) 100 102\n",
		"groupRatingValNegative.dat":  "(2,102) 100\n",
		"userRatingTrain.dat":         "10 101 1 978300000\n11 103 0 978300001\n",
		"movies.dat":                  "100::Toy Story\n",
	}
	out := t.TempDir()
	rep, err := importer.ImportGroupRec(context.Background(), writeFiles(t, files), out)
	if err != nil {
		t.Fatal(err)
	}
	if rep.GroupOrders != 3 || rep.MemberOrders != 1 || rep.ValidationLines != 1 || rep.NotChosen != 2 || rep.RatingColumn != 6 || !rep.Dated ||
		!slices.Equal(rep.NotRead, []string{"groupRatingValNegative.dat", "movies.dat"}) || rep.Files[importer.GroupRecGroupNegative] != "groupRatingTestNegative.dat" ||
		!slices.Equal(rep.HeldOut, []string{importer.GroupRecGroupTest, importer.GroupRecGroupNegative}) {
		t.Errorf("report %+v", rep)
	}
	if got, want := orderLines(t, out, true), "group 1 100 978300760000|group 2 100 978302109000|group 2 102 978303000000|member 10 101 978300000000"; got != want {
		t.Errorf("orders %q, want %q", got, want)
	}
	for name, want := range map[string]string{importer.GroupRecGroupTest: files["groupRatingTest.dat"], importer.GroupRecGroupNegative: files["groupRatingTestNegative.dat"]} {
		if b, err := os.ReadFile(filepath.Join(out, importer.HeldOutDir, name)); err != nil || string(b) != want {
			t.Errorf("heldout/%s: %q %v, want %q", name, b, err, want)
		}
	}
	both := map[string]string{importer.GroupRecMembers: "1 10\n"}
	for k, v := range files {
		both[k] = v
	}
	if _, err := importer.ImportGroupRec(context.Background(), writeFiles(t, both), t.TempDir()); err == nil ||
		!strings.Contains(err.Error(), "groupMember.txt and groupMember.dat") {
		t.Errorf("a set with groupMember.txt and groupMember.dat: %v", err)
	}
	files["groupRatingVal.dat"] = "2 102\n"
	_, err = importer.ImportGroupRec(context.Background(), writeFiles(t, files), t.TempDir())
	var p *importer.Problem
	if !errors.As(err, &p) || p.File != "groupRatingVal.dat" || p.Line != 1 || p.Column != "time" || !strings.Contains(p.Reason, "groupRatingTrain.dat line 1") {
		t.Errorf("an undated line among dated ones: %v", err)
	}
}

// orderLines are the orders an import wrote into dir, "group g item" or
// "member m item" in the user's ids (and the time, withTime), joined by |.
func orderLines(t *testing.T, dir string, withTime bool) string {
	t.Helper()
	ids := readIDs(t, dir)
	orders, err := parquetio.ReadFile(filepath.Join(dir, parquetio.Orders.File), parquetio.Orders)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range orders {
		line := "group " + ids.Name(data.IDGroup, int64(o.Group))
		if o.Own() {
			line = "member " + ids.Name(data.IDMember, int64(o.Buyer))
		}
		line += " " + ids.Name(data.IDSKU, int64(o.SKU))
		if withTime {
			line += fmt.Sprintf(" %d", o.Time)
		}
		got = append(got, line)
	}
	return strings.Join(got, "|")
}
