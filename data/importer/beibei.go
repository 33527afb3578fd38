package importer

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"grouprank/data"
	"grouprank/data/parquetio"
)

// BeiBei's files, as published with "Group-Buying Recommendation for Social
// E-Commerce" (ICDE 2021); see testdata/beibei/README.md.
const (
	BeiBeiSize    = "data_size.txt"
	BeiBeiTune    = "tune.txt"
	BeiBeiInvalid = "invalid.txt"
	BeiBeiTest    = "test.txt"
	// BeiBeiTestDir is the subdirectory of the output holding the held-out test rows.
	BeiBeiTestDir = "test"
)

// BeiBeiReport counts what ImportBeiBei wrote.
type BeiBeiReport struct {
	Users, Items   int // from data_size.txt
	Groups         int // initiators seen in any file
	HistoryPushes  int // launches in tune + invalid
	HistoryOrders  int // successful launches in tune
	HistoryMembers int // (group, member) pairs from history: initiators and their participants
	TestPushes     int
	TestMembers    int
}

// ImportBeiBei maps the BeiBei files in dir onto grouprank's tables in out:
//   - an item is a product with only its SKU (item id + 1) known: no price,
//     rating, commission, category or time;
//   - an initiator is a promoter whose group is the initiator plus everyone who
//     ever joined one of their buys (group, promoter = initiator id + 1; member = user id + 1);
//   - a launch is a push (time unknown); a successful launch is an order through
//     that push, bought by its first participant (or the initiator when none).
//
// History (tune.txt and invalid.txt) goes to out; test.txt goes to out/test
// (pushes, orders and the joins it reveals), so nothing trained on out sees it.
// Malformed lines fail the import naming file, line and column.
func ImportBeiBei(ctx context.Context, dir, out string) (*BeiBeiReport, error) {
	rep := &BeiBeiReport{}
	users, items, err := readBeiBeiSize(filepath.Join(dir, BeiBeiSize))
	if err != nil {
		return nil, err
	}
	rep.Users, rep.Items = users, items
	// The dataset's own ids (0-based) name groups, members and items in
	// picks, score and the service: user u is group and member u+1, item j
	// is SKU j+1 (ids.parquet keeps the map).
	ids := data.NewIDMap()
	for u := range users {
		ids.Intern(data.IDGroup, strconv.Itoa(u))
		ids.Intern(data.IDMember, strconv.Itoa(u))
	}
	for j := range items {
		ids.Intern(data.IDSKU, strconv.Itoa(j))
	}
	read := func(name string, success, participants bool) ([]beibeiLaunch, error) {
		return readLaunches(ctx, dir, name, users, items, success, participants)
	}
	tune, err := read(BeiBeiTune, true, true)
	if err != nil {
		return nil, err
	}
	invalid, err := read(BeiBeiInvalid, false, false)
	if err != nil {
		return nil, err
	}
	test, err := read(BeiBeiTest, true, true)
	if err != nil {
		return nil, err
	}
	// The tables follow the launches in (initiator, item, participants)
	// order, not the files' line order, so that the same lines in another
	// order import to the same bytes (ids, the groups' order, and what a
	// seeded split draws from them).
	for _, ls := range [][]beibeiLaunch{tune, invalid, test} {
		slices.SortStableFunc(ls, func(a, b beibeiLaunch) int {
			return cmp.Or(cmp.Compare(a.user, b.user), cmp.Compare(a.item, b.item), slices.Compare(a.parts, b.parts))
		})
	}
	if err := os.MkdirAll(filepath.Join(out, BeiBeiTestDir), 0o755); err != nil {
		return nil, fmt.Errorf("importer: %w", err)
	}
	products := make([]data.Product, items)
	for j := range products {
		products[j] = data.Product{SKU: data.SKU(j + 1), PriceCents: data.UnknownPrice, Commission: data.UnknownRate, InStock: true}
	}
	bt := &beibeiTables{seen: map[int64]bool{}, known: map[[2]int64]bool{}}
	hist := append(tune, invalid...)
	hp, ho, hm := bt.add(hist, 1)
	tp, to, tm := bt.add(test, int64(len(hist))+1)
	groups := bt.groups
	rep.Groups, rep.HistoryPushes, rep.HistoryOrders, rep.HistoryMembers = len(groups), len(hp), len(ho), len(hm)
	rep.TestPushes, rep.TestMembers = len(tp), len(tm)
	for _, w := range []func() error{
		func() error {
			return parquetio.WriteFile(filepath.Join(out, parquetio.Products.File), parquetio.Products, products, parquetio.Options{})
		},
		func() error {
			return parquetio.WriteFile(filepath.Join(out, parquetio.IDs.File), parquetio.IDs, ids.Rows(), parquetio.Options{})
		},
		func() error {
			return parquetio.WriteFile(filepath.Join(out, parquetio.Groups.File), parquetio.Groups, groups, parquetio.Options{})
		},
		func() error {
			return parquetio.WriteFile(filepath.Join(out, parquetio.Members.File), parquetio.Members, hm, parquetio.Options{})
		},
		func() error {
			return parquetio.WriteFile(filepath.Join(out, parquetio.Pushes.File), parquetio.Pushes, hp, parquetio.Options{})
		},
		func() error {
			return parquetio.WriteFile(filepath.Join(out, parquetio.Orders.File), parquetio.Orders, ho, parquetio.Options{})
		},
		func() error {
			return parquetio.WriteFile(filepath.Join(out, BeiBeiTestDir, parquetio.Members.File), parquetio.Members, tm, parquetio.Options{})
		},
		func() error {
			return parquetio.WriteFile(filepath.Join(out, BeiBeiTestDir, parquetio.Pushes.File), parquetio.Pushes, tp, parquetio.Options{})
		},
		func() error {
			return parquetio.WriteFile(filepath.Join(out, BeiBeiTestDir, parquetio.Orders.File), parquetio.Orders, to, parquetio.Options{})
		},
	} {
		if err := w(); err != nil {
			return nil, fmt.Errorf("importer: beibei: %w", err)
		}
	}
	return rep, nil
}

// beibeiLaunch is one line of a BeiBei file: an initiator's launch of an
// item, with the participants who joined it (successful launches only).
type beibeiLaunch struct {
	user, item int64
	parts      []int64
	success    bool
}

// readLaunches reads one BeiBei file; ids must lie within the sizes of
// data_size.txt. Malformed lines fail naming file, line and column.
func readLaunches(ctx context.Context, dir, name string, users, items int, success, participants bool) ([]beibeiLaunch, error) {
	var ls []beibeiLaunch
	err := eachLine(ctx, filepath.Join(dir, name), func(line int, fields []string) error {
		if !participants && len(fields) != 2 {
			return &Problem{File: name, Line: line, Column: "", Reason: fmt.Sprintf("want 2 fields (initiator, item), got %d", len(fields))}
		}
		if len(fields) < 2 {
			return &Problem{File: name, Line: line, Column: "", Reason: fmt.Sprintf("want at least 2 fields (initiator, item, participants...), got %d", len(fields))}
		}
		l := beibeiLaunch{success: success}
		for i, f := range fields {
			col, limit := "participant", users
			switch i {
			case 0:
				col = "initiator"
			case 1:
				col, limit = "item", items
			}
			v, err := strconv.ParseInt(f, 10, 64)
			if err != nil || v < 0 || v >= int64(limit) {
				return &Problem{File: name, Line: line, Column: col, Reason: fmt.Sprintf("%q is not an id in 0..%d", f, limit-1)}
			}
			switch i {
			case 0:
				l.user = v
			case 1:
				l.item = v
			default:
				l.parts = append(l.parts, v)
			}
		}
		ls = append(ls, l)
		return nil
	})
	return ls, err
}

// beibeiTables turns launches into grouprank's tables: the groups met so
// far (an initiator's group), and each file's pushes, orders and the
// memberships not seen before.
type beibeiTables struct {
	seen   map[int64]bool    // initiators with a group
	groups []data.Group      // in the order first met
	known  map[[2]int64]bool // (group, member) pairs written
}

// add maps launches onto pushes (ids from firstPush on), orders (a
// successful launch's, bought by its first participant or the initiator)
// and new memberships (the initiator and every participant).
func (bt *beibeiTables) add(ls []beibeiLaunch, firstPush int64) ([]data.Push, []data.Order, []data.Membership) {
	var ps []data.Push
	var os []data.Order
	var ms []data.Membership
	member := func(g, m int64) {
		if p := [2]int64{g, m}; !bt.known[p] {
			bt.known[p] = true
			ms = append(ms, data.Membership{Group: data.GroupID(g + 1), Member: data.MemberID(m + 1)})
		}
	}
	for i, l := range ls {
		if !bt.seen[l.user] {
			bt.seen[l.user] = true
			bt.groups = append(bt.groups, data.Group{ID: data.GroupID(l.user + 1), Promoter: data.PromoterID(l.user + 1)})
		}
		member(l.user, l.user)
		id := data.PushID(firstPush + int64(i))
		ps = append(ps, data.Push{ID: id, Group: data.GroupID(l.user + 1), SKU: data.SKU(l.item + 1)})
		for _, p := range l.parts {
			member(l.user, p)
		}
		if l.success {
			buyer := l.user
			if len(l.parts) > 0 {
				buyer = l.parts[0]
			}
			os = append(os, data.Order{ID: data.OrderID(id), Group: data.GroupID(l.user + 1), Buyer: data.MemberID(buyer + 1),
				SKU: data.SKU(l.item + 1), Quantity: 1, AmountCents: data.UnknownPrice, Status: data.StatusPlaced, Push: id})
		}
	}
	return ps, os, ms
}

func readBeiBeiSize(path string) (users, items int, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, fmt.Errorf("importer: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, 0, &Problem{File: filepath.Base(path), Line: 1, Column: "", Reason: fmt.Sprintf("want 2 fields (users, items), got %d", len(f))}
	}
	u, err1 := strconv.Atoi(f[0])
	i, err2 := strconv.Atoi(f[1])
	if err1 != nil || u <= 0 {
		return 0, 0, &Problem{File: filepath.Base(path), Line: 1, Column: "users", Reason: fmt.Sprintf("%q is not a positive count", f[0])}
	}
	if err2 != nil || i <= 0 {
		return 0, 0, &Problem{File: filepath.Base(path), Line: 1, Column: "items", Reason: fmt.Sprintf("%q is not a positive count", f[1])}
	}
	return u, i, nil
}

func eachLine(ctx context.Context, path string, fn func(line int, fields []string) error) error {
	return eachFieldLine(ctx, filepath.Dir(path), filepath.Base(path), false, func(line int, text string) error {
		return fn(line, strings.Split(text, "\t"))
	})
}
