package recommend

import (
	"fmt"
	"math"
	"strings"

	"grouprank/data"
	"grouprank/features"
)

// MinQuotedCount is the smallest count a reason may quote: below it a count
// says more about a few members (or groups) than about the group.
const MinQuotedCount = 5

// minQuotedMembers is the fewest members a reason says bought an item:
// fewer could point at a person in a group's chat.
const minQuotedMembers = 3

// minQuotedReviews is the fewest reviews behind a quoted good-review rate.
const minQuotedReviews = 20

// Languages of reasons: LangZH (Simplified Chinese, the default) and LangEN.
const (
	LangZH = "zh"
	LangEN = "en"
)

// ParseLang reads a request's language: "", "zh", "zh-CN" or "zh-Hans" give
// LangZH, "en" LangEN; anything else is ErrInvalid.
func ParseLang(s string) (string, error) {
	switch strings.ToLower(s) {
	case "", "zh", "zh-cn", "zh-hans":
		return LangZH, nil
	case "en", "en-us", "en-gb":
		return LangEN, nil
	}
	return "", fmt.Errorf("%w: lang %q: want zh (Simplified Chinese, the default) or en", data.ErrInvalid, s)
}

// Reason is a sentence a promoter can forward about why item i suits the
// group, in lang, made only of true statements backed by the numbers the
// group's record and the catalogue hold:
//   - the group's orders in the item's L1 category within the profile's
//     recent window (features.DefaultConfig().RecentDays) before the
//     snapshot's instant, which it names; quoted from MinQuotedCount up,
//     never for a sensitive category;
//   - how many of the group's members (members, as Model.GroupMembers lists
//     them) had bought the item by the snapshot's instant, wherever they
//     ordered it, from minQuotedMembers up, never for a sensitive category:
//     what a model learnt from orders alone knows of a group, and the one
//     reason it can give when the catalogue has no categories or reviews;
//   - an item among the group's latest orders (Group.Orders) that other
//     groups ordered with this one: how many groups had ordered it by the
//     snapshot's instant and how many of those also ordered this one (the
//     model's Together), from MinQuotedCount groups in common up, the item
//     with the largest share first, never naming a sensitive category's;
//   - the item's good-review rate, rounded down, with its review count, from
//     minQuotedReviews reviews up.
//
// Without such evidence there is no reason: "".
func (m *Model) Reason(g *Group, i int32, lang string, members []data.MemberID) string {
	cat := m.Ranker.Scorer.in.Cat
	var parts []string
	l1 := cat.L1[i]
	id := cat.L1Names[l1]
	if int(l1) < len(g.L1Recent) && !m.Sensitive[id] && id != "" {
		if n := int(math.Round(float64(g.L1Recent[l1]))); n >= MinQuotedCount {
			parts = append(parts, m.categoryOrders(n, m.CategoryNames[id].Name(lang, id), lang))
		}
	}
	if n := m.Members.bought(members, i); n >= minQuotedMembers && !m.Sensitive[id] {
		parts = append(parts, m.membersBought(n, lang))
	}
	if x, both := m.boughtWith(g, i); both > 0 && !m.Sensitive[id] {
		parts = append(parts, m.boughtTogether(x, both, lang))
	}
	if r := cat.Reviews[i]; r >= minQuotedReviews {
		pct := int(math.Floor(100 * float64(cat.GoodReviews[i]) / float64(r)))
		if lang == LangEN {
			parts = append(parts, fmt.Sprintf("%d%% good reviews (%d reviews)", pct, r))
		} else {
			parts = append(parts, fmt.Sprintf("好评率%d%%（%d条评价）", pct, r))
		}
	}
	if lang == LangEN {
		return strings.Join(parts, "; ")
	}
	return strings.Join(parts, "；")
}

// categoryOrders says the group placed n orders in the named category in the
// recent window before the profile's instant (the snapshot's), naming its
// date; without a known instant it makes no claim about when.
func (m *Model) categoryOrders(n int, name, lang string) string {
	days := int(features.DefaultConfig().RecentDays)
	at := m.Manifest.Windows.Serve // orders before it count: the last day counted is the one before
	last := (at - 1).Time()
	switch {
	case at == data.UnknownTime && lang == LangEN:
		return fmt.Sprintf("%d orders of %s from this group", n, name)
	case at == data.UnknownTime:
		return fmt.Sprintf("本群买过%d单%s", n, name)
	case lang == LangEN:
		return fmt.Sprintf("%d orders of %s from this group in the %d days to %s", n, name, days, last.Format("2 January 2006"))
	}
	return fmt.Sprintf("截至%d月%d日，本群%d天内买过%d单%s", int(last.Month()), last.Day(), days, n, name)
}

// membersBought says n of the group's members had bought the item by the
// snapshot's instant, naming its date; without a known instant it makes no
// claim about when.
func (m *Model) membersBought(n int, lang string) string {
	at := m.Manifest.Windows.Serve
	last := (at - 1).Time()
	switch {
	case at == data.UnknownTime && lang == LangEN:
		return fmt.Sprintf("%d members of this group have bought it", n)
	case at == data.UnknownTime:
		return fmt.Sprintf("群里有%d位成员买过", n)
	case lang == LangEN:
		return fmt.Sprintf("%d members of this group had bought it by %s", n, last.Format("2 January 2006"))
	}
	return fmt.Sprintf("截至%d月%d日，群里有%d位成员买过", int(last.Month()), last.Day(), n)
}

// boughtWith is the item among the group's latest orders that the largest
// share of the groups that ordered it also ordered with i (from
// MinQuotedCount groups in common), and how many did; both is 0 when none.
func (m *Model) boughtWith(g *Group, i int32) (x, both int32) {
	t := m.Together
	if t == nil {
		return 0, 0
	}
	cat := m.Ranker.Scorer.in.Cat
	best := 0.0
	for _, o := range g.Orders {
		j, ok := cat.Index[o.SKU]
		if !ok || j == i || int(j) >= len(t.Groups) || m.Sensitive[cat.L1Names[cat.L1[j]]] {
			continue
		}
		if c := t.Count(i, j); c >= MinQuotedCount {
			if share := float64(c) / float64(t.Groups[j]); share > best {
				best, x, both = share, j, c
			}
		}
	}
	return x, both
}

// boughtTogether says the group bought item x, and how many of the groups
// that had ordered x by the snapshot's instant (naming its date when known)
// also ordered the pick: both of them.
func (m *Model) boughtTogether(x, both int32, lang string) string {
	name, n := m.itemName(x, lang), m.Together.Groups[x]
	at := m.Manifest.Windows.Serve
	last := (at - 1).Time()
	switch {
	case at == data.UnknownTime && lang == LangEN:
		return fmt.Sprintf("this group bought %s; of the %d groups that bought it, %d also bought this", name, n, both)
	case at == data.UnknownTime:
		return fmt.Sprintf("本群买过「%s」，买过它的%d个群中有%d个也买了这件", name, n, both)
	case lang == LangEN:
		return fmt.Sprintf("this group bought %s; of the %d groups that had bought it by %s, %d also bought this", name, n, last.Format("2 January 2006"), both)
	}
	return fmt.Sprintf("本群买过「%s」，截至%d月%d日买过它的%d个群中有%d个也买了这件", name, int(last.Month()), last.Day(), n, both)
}

// itemName is how a reason names item x: its title, or else the user's own
// id for it, or else its SKU.
func (m *Model) itemName(x int32, lang string) string {
	pr := &m.Ranker.Scorer.in.Cat.Products[x]
	switch {
	case pr.Title != "":
		return pr.Title
	case m.IDs != nil:
		return m.IDs.Name(data.IDSKU, int64(pr.SKU))
	case lang == LangEN:
		return fmt.Sprintf("item %d", pr.SKU)
	}
	return fmt.Sprintf("商品%d", pr.SKU)
}
