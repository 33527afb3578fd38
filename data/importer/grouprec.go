package importer

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"grouprank/data"
	"grouprank/data/parquetio"
)

// The files of the group-recommendation benchmark layout (AGREE, ConsRec,
// Group-GF and others ship their data this way; see
// testdata/mafengwos/README.md). Ids are the user's own: any token
// without whitespace (0-based integers, strings). Sets generated the way
// MoSAN's MovieLens-Rand and -Simi were ship the same files as .dat, the
// negatives as groupRatingTestNegative.dat and userRatingTestNegative.dat,
// with a validation part (groupRatingVal.dat, userRatingVal.dat) and lines
// "g i rating time" (grouprecNames lists each file's names).
const (
	GroupRecMembers       = "groupMember.txt"      // g m1,m2,...
	GroupRecGroupTrain    = "groupRatingTrain.txt" // g i [rating [time]]
	GroupRecMemberTrain   = "userRatingTrain.txt"  // u i [rating [time]] (a member's own record)
	GroupRecGroupVal      = "groupRatingVal.txt"   // the set's own validation lines, read as history
	GroupRecMemberVal     = "userRatingVal.txt"
	GroupRecItemNames     = "itemSemantic.txt"    // name, i
	GroupRecGroupTest     = "groupRatingTest.txt" // g i
	GroupRecGroupNegative = "groupRatingNegative.txt"
	GroupRecMemberTest    = "userRatingTest.txt"
	GroupRecMemberNeg     = "userRatingNegative.txt"
	// HeldOutDir is the subdirectory of an imported world holding the test
	// files, verbatim (the user's ids): nothing that trains on the world reads it.
	HeldOutDir = "heldout"
)

// GroupRecReport counts what ImportGroupRec wrote.
type GroupRecReport struct {
	Groups, Members, Items int // ids seen (items include those only in the test files: they can be ranked)
	Memberships            int
	GroupOrders            int // lines of groupRatingTrain.txt (and groupRatingVal.txt) read as the groups' orders
	MemberOrders           int // lines of userRatingTrain.txt (and userRatingVal.txt): members' own orders, outside any group
	ValidationLines        int // of those, the lines of the set's own validation files
	ItemNames              int
	// Files maps each file of the layout read to the name the set ships
	// it under, where that differs (a .dat set).
	Files   map[string]string `json:",omitempty"`
	HeldOut []string          // test files copied to heldout/ (under the layout's .txt names)
	// RatingColumn counts the lines with a rating; NotChosen those whose
	// rating is 0 or below, which are not orders (as the benchmarks' own
	// loaders keep only ratings above 0) and were left out.
	RatingColumn, NotChosen int
	// Dated: the lines carry a time (a fourth column, Unix seconds or
	// milliseconds), kept as the orders' time.
	Dated   bool
	NotRead []string // files in the directory the layout does not name (a follow graph, a README): not imported
}

// grouprecFiles are the files of the layout, the ones ImportGroupRec reads.
var grouprecFiles = []string{GroupRecMembers, GroupRecGroupTrain, GroupRecMemberTrain, GroupRecGroupVal, GroupRecMemberVal,
	GroupRecItemNames, GroupRecGroupTest, GroupRecGroupNegative, GroupRecMemberTest, GroupRecMemberNeg}

// grouprecNames are the names a set may ship a file of the layout under:
// its own, the same as .dat, and for the negatives the Test in their name.
func grouprecNames(name string) []string {
	base := strings.TrimSuffix(name, ".txt")
	out := []string{name, base + ".dat"}
	if strings.HasSuffix(base, "Negative") {
		t := strings.TrimSuffix(base, "Negative") + "TestNegative"
		out = append(out, t+".txt", t+".dat")
	}
	return out
}

// resolveGroupRec finds the name each file of the layout has in dir:
// the first of grouprecNames present (the layout's own when none is), or
// an error when a set holds two of them.
func resolveGroupRec(dir string) (map[string]string, error) {
	out := map[string]string{}
	for _, f := range grouprecFiles {
		out[f] = f
		var found []string
		for _, n := range grouprecNames(f) {
			if st, err := os.Stat(filepath.Join(dir, n)); err == nil && st.Mode().IsRegular() {
				found = append(found, n)
			}
		}
		switch len(found) {
		case 0:
		case 1:
			out[f] = found[0]
		default:
			return nil, fmt.Errorf("importer: %s holds both %s: keep the one the set is", dir, strings.Join(found, " and "))
		}
	}
	return out, nil
}

// unixTime reads a time column: Unix seconds, or milliseconds when the
// value is too large to be seconds (past the year 5000); it must fall after
// 2000-01-01 and before the year 5000.
func unixTime(text string) (data.Timestamp, bool) {
	v, err := strconv.ParseInt(text, 10, 64)
	if err != nil || v <= 0 {
		return 0, false
	}
	const secondsBelow = 100_000_000_000 // year 5138 in seconds, 1973 in milliseconds
	t := data.Timestamp(v)
	if v < secondsBelow {
		t *= 1000
	}
	if t < 946684800000 || t >= secondsBelow*1000 {
		return 0, false
	}
	return t, true
}

// ImportGroupRec maps a directory in the group-recommendation benchmark
// layout onto grouprank's tables in out: a group's line is an order of the
// group (quantity 1, time, price and buyer unknown), a user's line is that
// member's own order outside any group, groupMember.txt the memberships,
// itemSemantic.txt the titles. The user's ids are mapped to dense internal
// ids, kept in ids.parquet; the test files are copied to out/heldout/.
// Malformed lines fail the import naming file, line and column.
func ImportGroupRec(ctx context.Context, dir, out string) (*GroupRecReport, error) {
	rep := &GroupRecReport{}
	names, err := resolveGroupRec(dir)
	if err != nil {
		return nil, err
	}
	for f, n := range names {
		if n != f {
			if rep.Files == nil {
				rep.Files = map[string]string{}
			}
			rep.Files[f] = n
		}
	}
	ids := data.NewIDMap()
	titles := map[string]string{}
	if err := eachFieldLine(ctx, dir, names[GroupRecItemNames], true, func(line int, text string) error {
		k := strings.LastIndexByte(text, ',')
		if k < 0 {
			return &Problem{File: names[GroupRecItemNames], Line: line, Reason: "want \"name, item\""}
		}
		name, item := strings.TrimSpace(text[:k]), strings.TrimSpace(text[k+1:])
		if item == "" || strings.ContainsAny(item, " \t") {
			return &Problem{File: names[GroupRecItemNames], Line: line, Column: "item", Reason: fmt.Sprintf("%q is not an id", item)}
		}
		if len(name) > data.MaxTitleBytes {
			return &Problem{File: names[GroupRecItemNames], Line: line, Column: "name", Reason: fmt.Sprintf("longer than %d bytes", data.MaxTitleBytes)}
		}
		titles[item] = name
		ids.Intern(data.IDSKU, item)
		rep.ItemNames++
		return nil
	}); err != nil {
		return nil, err
	}
	var memberships []data.Membership
	seen := map[[2]int64]bool{}
	if err := eachFieldLine(ctx, dir, names[GroupRecMembers], false, func(line int, text string) error {
		f := strings.Fields(text)
		if len(f) < 2 {
			return &Problem{File: names[GroupRecMembers], Line: line, Column: "members", Reason: "want \"group member,member,...\""}
		}
		g := ids.Intern(data.IDGroup, f[0])
		for _, m := range strings.Split(strings.Join(f[1:], ","), ",") {
			if m == "" {
				continue
			}
			p := [2]int64{g, ids.Intern(data.IDMember, m)}
			if !seen[p] {
				seen[p] = true
				memberships = append(memberships, data.Membership{Group: data.GroupID(p[0]), Member: data.MemberID(p[1])})
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	var orders []data.Order
	// Every order line carries a time or none does: the first line read
	// sets which, and a line that differs is refused.
	var firstFile string
	var firstLine int
	pairs := func(file string, kind string, optional bool) error {
		name := names[file]
		return eachFieldLine(ctx, dir, name, optional, func(line int, text string) error {
			f := strings.Fields(text)
			var at data.Timestamp
			switch {
			case len(f) < 2:
				return &Problem{File: name, Line: line, Column: "item", Reason: fmt.Sprintf("want \"%s item\", got %d field(s)", kind, len(f))}
			case len(f) > 4:
				return &Problem{File: name, Line: line, Reason: fmt.Sprintf("want \"%s item\" (and at most a rating and a time), got %d fields", kind, len(f))}
			case len(f) >= 3:
				r, err := strconv.ParseFloat(f[2], 64)
				if err != nil || math.IsNaN(r) {
					return &Problem{File: name, Line: line, Column: "rating", Reason: fmt.Sprintf("%q is not a number", f[2])}
				}
				if len(f) == 4 {
					t, ok := unixTime(f[3])
					if !ok {
						return &Problem{File: name, Line: line, Column: "time", Reason: fmt.Sprintf("%q is not a Unix time (seconds or milliseconds) after 2000-01-01", f[3])}
					}
					at = t
				}
				rep.RatingColumn++
				if r <= 0 {
					rep.NotChosen++
					return nil
				}
			}
			if firstFile == "" {
				firstFile, firstLine, rep.Dated = name, line, at != data.UnknownTime
			} else if rep.Dated != (at != data.UnknownTime) {
				has, hasNot := "a time", "none"
				if !rep.Dated {
					has, hasNot = hasNot, has
				}
				return &Problem{File: name, Line: line, Column: "time", Reason: fmt.Sprintf("the line has %s where %s line %d has %s: every line carries a time or none does", hasNot, firstFile, firstLine, has)}
			}
			o := data.Order{ID: data.OrderID(len(orders) + 1), SKU: data.SKU(ids.Intern(data.IDSKU, f[1])), Quantity: 1,
				AmountCents: data.UnknownPrice, Status: data.StatusPlaced, Time: at}
			if kind == data.IDGroup {
				o.Group = data.GroupID(ids.Intern(data.IDGroup, f[0]))
			} else {
				o.Buyer = data.MemberID(ids.Intern(data.IDMember, f[0]))
			}
			orders = append(orders, o)
			return nil
		})
	}
	if err := pairs(GroupRecGroupTrain, data.IDGroup, false); err != nil {
		return nil, err
	}
	n := len(orders)
	if err := pairs(GroupRecGroupVal, data.IDGroup, true); err != nil {
		return nil, err
	}
	rep.ValidationLines = len(orders) - n
	rep.GroupOrders = len(orders)
	if err := pairs(GroupRecMemberTrain, data.IDMember, true); err != nil {
		return nil, err
	}
	n = len(orders)
	if err := pairs(GroupRecMemberVal, data.IDMember, true); err != nil {
		return nil, err
	}
	rep.ValidationLines += len(orders) - n
	rep.MemberOrders = len(orders) - rep.GroupOrders
	// The test files' ids join the maps (an item first seen there is in the
	// catalogue and can be ranked; a group first seen there is cold); their
	// rows are not read into any table.
	for _, t := range []struct{ file, kind string }{{GroupRecGroupTest, data.IDGroup}, {GroupRecGroupNegative, data.IDGroup},
		{GroupRecMemberTest, data.IDMember}, {GroupRecMemberNeg, data.IDMember}} {
		if err := EachHeldOut(ctx, dir, names[t.file], true, func(line int, owner, item string, negatives []string) error {
			ids.Intern(t.kind, owner)
			ids.Intern(data.IDSKU, item)
			for _, n := range negatives {
				ids.Intern(data.IDSKU, n)
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	rep.Groups, rep.Members, rep.Items, rep.Memberships = ids.Len(data.IDGroup), ids.Len(data.IDMember), ids.Len(data.IDSKU), len(memberships)
	canonical(ids, memberships, orders, rep.GroupOrders)
	products := make([]data.Product, rep.Items)
	for j := range products {
		products[j] = data.Product{SKU: data.SKU(j + 1), PriceCents: data.UnknownPrice, Commission: data.UnknownRate, InStock: true}
	}
	for item, t := range titles {
		id, _ := ids.Lookup(data.IDSKU, item)
		products[id-1].Title = t
	}
	groups := make([]data.Group, rep.Groups)
	for j := range groups {
		// The layout names no promoter: each group is its own.
		groups[j] = data.Group{ID: data.GroupID(j + 1), Promoter: data.PromoterID(j + 1)}
	}
	if err := os.MkdirAll(filepath.Join(out, HeldOutDir), 0o755); err != nil {
		return nil, fmt.Errorf("importer: %w", err)
	}
	for _, w := range []func() error{
		func() error {
			return parquetio.WriteFile(filepath.Join(out, parquetio.Products.File), parquetio.Products, products, parquetio.Options{})
		},
		func() error {
			return parquetio.WriteFile(filepath.Join(out, parquetio.Groups.File), parquetio.Groups, groups, parquetio.Options{})
		},
		func() error {
			return parquetio.WriteFile(filepath.Join(out, parquetio.Members.File), parquetio.Members, memberships, parquetio.Options{})
		},
		func() error {
			return parquetio.WriteFile(filepath.Join(out, parquetio.Orders.File), parquetio.Orders, orders, parquetio.Options{})
		},
		func() error {
			return parquetio.WriteFile(filepath.Join(out, parquetio.IDs.File), parquetio.IDs, ids.Rows(), parquetio.Options{})
		},
	} {
		if err := w(); err != nil {
			return nil, fmt.Errorf("importer: grouprec: %w", err)
		}
	}
	for _, name := range []string{GroupRecGroupTest, GroupRecGroupNegative, GroupRecMemberTest, GroupRecMemberNeg} {
		ok, err := copyFile(filepath.Join(dir, names[name]), filepath.Join(out, HeldOutDir, name))
		if err != nil {
			return nil, err
		}
		if ok {
			rep.HeldOut = append(rep.HeldOut, name)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("importer: %w", err)
	}
	for _, e := range entries { // sorted by name
		if e.Type().IsRegular() && !slices.ContainsFunc(grouprecFiles, func(f string) bool { return names[f] == e.Name() }) {
			rep.NotRead = append(rep.NotRead, e.Name())
		}
	}
	return rep, nil
}

// canonical renumbers the ids in the order of the user's names
// (data.IDMap.Canonicalize) and sorts the rows: memberships by group and
// member, the groups' orders (the first nGroup) by group and item, the
// members' own by member and item, numbered 1.. in that order. Everything
// read from the world, a validation split or a tie between two items,
// then depends on the lines a set holds, not on their order in its files.
func canonical(ids *data.IDMap, memberships []data.Membership, orders []data.Order, nGroup int) {
	renum := ids.Canonicalize()
	g, m, s := renum[data.IDGroup], renum[data.IDMember], renum[data.IDSKU]
	for i := range memberships {
		ms := &memberships[i]
		ms.Group, ms.Member = data.GroupID(g[ms.Group]), data.MemberID(m[ms.Member])
	}
	slices.SortFunc(memberships, func(a, b data.Membership) int {
		return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.Member, b.Member))
	})
	for i := range orders {
		o := &orders[i]
		o.SKU = data.SKU(s[o.SKU])
		if o.Group != 0 {
			o.Group = data.GroupID(g[o.Group])
		}
		if o.Buyer != 0 {
			o.Buyer = data.MemberID(m[o.Buyer])
		}
	}
	byOwner := func(a, b data.Order) int {
		return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.Buyer, b.Buyer), cmp.Compare(a.SKU, b.SKU), cmp.Compare(a.Time, b.Time))
	}
	slices.SortStableFunc(orders[:nGroup], byOwner)
	slices.SortStableFunc(orders[nGroup:], byOwner)
	for i := range orders {
		orders[i].ID = data.OrderID(i + 1)
	}
}

// EachHeldOut reads dir/name, a test file ("owner item") or a negatives
// file ("(owner,item) n1 n2 ..."), line by line as the importer reads every
// file (a byte-order mark, CRLF endings and blank lines allowed); a missing
// file is no rows when optional. A malformed line is a *Problem naming name,
// its line and column.
func EachHeldOut(ctx context.Context, dir, name string, optional bool, fn func(line int, owner, item string, negatives []string) error) error {
	return eachFieldLine(ctx, dir, name, optional, func(line int, text string) error {
		owner, item, negs, err := ParseHeldOut(text)
		if err != nil {
			return &Problem{File: name, Line: line, Column: err.column, Reason: err.reason}
		}
		return fn(line, owner, item, negs)
	})
}

// HeldOutError is a malformed held-out line: the column and the reason.
type HeldOutError struct{ column, reason string }

func (e *HeldOutError) Error() string { return e.column + ": " + e.reason }

// ParseHeldOut splits one line of a test file ("owner item") or of a
// negatives file ("(owner,item) n1 n2 ...").
func ParseHeldOut(text string) (owner, item string, negatives []string, err *HeldOutError) {
	f := strings.Fields(text)
	if len(f) == 0 {
		return "", "", nil, &HeldOutError{"", "empty line"}
	}
	if strings.HasPrefix(f[0], "(") {
		inner := strings.TrimSuffix(strings.TrimPrefix(f[0], "("), ")")
		k := strings.IndexByte(inner, ',')
		if !strings.HasSuffix(f[0], ")") || k <= 0 || k == len(inner)-1 {
			return "", "", nil, &HeldOutError{"pair", fmt.Sprintf("%q is not \"(owner,item)\"", f[0])}
		}
		return inner[:k], inner[k+1:], f[1:], nil
	}
	if len(f) < 2 || len(f) > 4 {
		return "", "", nil, &HeldOutError{"item", fmt.Sprintf("want \"owner item\" (and at most a rating and a time), got %d field(s)", len(f))}
	}
	return f[0], f[1], nil, nil
}

// eachFieldLine calls fn with every non-blank line of dir/name (trailing \r
// removed); a missing optional file is no lines.
func eachFieldLine(ctx context.Context, dir, name string, optional bool, fn func(line int, text string) error) error {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		if optional && os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("importer: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	line := 0
	for sc.Scan() {
		line++
		if line%65536 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		t := strings.TrimRight(sc.Text(), "\r")
		if line == 1 {
			t = strings.TrimPrefix(t, "\uFEFF")
		}
		if strings.TrimSpace(t) == "" {
			continue
		}
		if err := fn(line, t); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("importer: %s: %w", name, err)
	}
	return nil
}

// copyFile copies src to dst (atomically); a missing src copies nothing.
func copyFile(src, dst string) (bool, error) {
	in, err := os.Open(src)
	if err != nil {
		if os.IsNotExist(err) {
			return false, nil
		}
		return false, fmt.Errorf("importer: %w", err)
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return false, fmt.Errorf("importer: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(tmp)
		return false, fmt.Errorf("importer: %s: %w", filepath.Base(src), err)
	}
	if err := out.Close(); err != nil {
		os.Remove(tmp)
		return false, fmt.Errorf("importer: %w", err)
	}
	return true, os.Rename(tmp, dst)
}
