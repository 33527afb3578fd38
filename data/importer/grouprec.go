package importer

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
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
// without whitespace (0-based integers, strings).
const (
	GroupRecMembers       = "groupMember.txt"      // g m1,m2,...
	GroupRecGroupTrain    = "groupRatingTrain.txt" // g i
	GroupRecMemberTrain   = "userRatingTrain.txt"  // u i (a member's own record)
	GroupRecItemNames     = "itemSemantic.txt"     // name, i
	GroupRecGroupTest     = "groupRatingTest.txt"  // g i
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
	GroupOrders            int // lines of groupRatingTrain.txt
	MemberOrders           int // lines of userRatingTrain.txt: members' own orders, outside any group
	ItemNames              int
	HeldOut                []string // test files copied to heldout/
	RatingColumnIgnored    int      // lines with a third (numeric) column, which was not used
	NotRead                []string // files in the directory the layout does not name (a follow graph, a README): not imported
}

// grouprecFiles are the files of the layout, the ones ImportGroupRec reads.
var grouprecFiles = []string{GroupRecMembers, GroupRecGroupTrain, GroupRecMemberTrain, GroupRecItemNames,
	GroupRecGroupTest, GroupRecGroupNegative, GroupRecMemberTest, GroupRecMemberNeg}

// ImportGroupRec maps a directory in the group-recommendation benchmark
// layout onto grouprank's tables in out: a group's line is an order of the
// group (quantity 1, time, price and buyer unknown), a user's line is that
// member's own order outside any group, groupMember.txt the memberships,
// itemSemantic.txt the titles. The user's ids are mapped to dense internal
// ids, kept in ids.parquet; the test files are copied to out/heldout/.
// Malformed lines fail the import naming file, line and column.
func ImportGroupRec(ctx context.Context, dir, out string) (*GroupRecReport, error) {
	rep := &GroupRecReport{}
	ids := data.NewIDMap()
	titles := map[string]string{}
	if err := eachFieldLine(ctx, dir, GroupRecItemNames, true, func(line int, text string) error {
		k := strings.LastIndexByte(text, ',')
		if k < 0 {
			return &Problem{File: GroupRecItemNames, Line: line, Reason: "want \"name, item\""}
		}
		name, item := strings.TrimSpace(text[:k]), strings.TrimSpace(text[k+1:])
		if item == "" || strings.ContainsAny(item, " \t") {
			return &Problem{File: GroupRecItemNames, Line: line, Column: "item", Reason: fmt.Sprintf("%q is not an id", item)}
		}
		if len(name) > data.MaxTitleBytes {
			return &Problem{File: GroupRecItemNames, Line: line, Column: "name", Reason: fmt.Sprintf("longer than %d bytes", data.MaxTitleBytes)}
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
	if err := eachFieldLine(ctx, dir, GroupRecMembers, false, func(line int, text string) error {
		f := strings.Fields(text)
		if len(f) < 2 {
			return &Problem{File: GroupRecMembers, Line: line, Column: "members", Reason: "want \"group member,member,...\""}
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
	pairs := func(name string, kind string, optional bool) error {
		return eachFieldLine(ctx, dir, name, optional, func(line int, text string) error {
			f := strings.Fields(text)
			switch {
			case len(f) < 2:
				return &Problem{File: name, Line: line, Column: "item", Reason: fmt.Sprintf("want \"%s item\", got %d field(s)", kind, len(f))}
			case len(f) > 3:
				return &Problem{File: name, Line: line, Reason: fmt.Sprintf("want \"%s item\" (and at most a rating), got %d fields", kind, len(f))}
			case len(f) == 3:
				if _, err := strconv.ParseFloat(f[2], 64); err != nil {
					return &Problem{File: name, Line: line, Column: "rating", Reason: fmt.Sprintf("%q is not a number", f[2])}
				}
				rep.RatingColumnIgnored++
			}
			o := data.Order{ID: data.OrderID(len(orders) + 1), SKU: data.SKU(ids.Intern(data.IDSKU, f[1])), Quantity: 1,
				AmountCents: data.UnknownPrice, Status: data.StatusPlaced}
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
	rep.GroupOrders = len(orders)
	if err := pairs(GroupRecMemberTrain, data.IDMember, true); err != nil {
		return nil, err
	}
	rep.MemberOrders = len(orders) - rep.GroupOrders
	// The test files' ids join the maps (an item first seen there is in the
	// catalogue and can be ranked; a group first seen there is cold); their
	// rows are not read into any table.
	for _, t := range []struct{ file, kind string }{{GroupRecGroupTest, data.IDGroup}, {GroupRecGroupNegative, data.IDGroup},
		{GroupRecMemberTest, data.IDMember}, {GroupRecMemberNeg, data.IDMember}} {
		if err := EachHeldOut(ctx, dir, t.file, true, func(line int, owner, item string, negatives []string) error {
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
		ok, err := copyFile(filepath.Join(dir, name), filepath.Join(out, HeldOutDir, name))
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
		if e.Type().IsRegular() && !slices.Contains(grouprecFiles, e.Name()) {
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
		return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.Buyer, b.Buyer), cmp.Compare(a.SKU, b.SKU))
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
	if len(f) < 2 || len(f) > 3 {
		return "", "", nil, &HeldOutError{"item", fmt.Sprintf("want \"owner item\", got %d field(s)", len(f))}
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
