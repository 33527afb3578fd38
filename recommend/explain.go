package recommend

import (
	"fmt"
	"math"
	"strings"

	"grouprank/data"
	"grouprank/features"
)

// minQuotedCount is the smallest count a reason may quote: below it a count
// says more about a few members than about the group.
const minQuotedCount = 5

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
//     snapshot's instant, which it names; quoted from minQuotedCount up,
//     never for a sensitive category;
//   - the item's good-review rate, rounded down, with its review count, from
//     minQuotedReviews reviews up.
//
// Without such evidence there is no reason: "".
func (m *Model) Reason(g *Group, i int32, lang string) string {
	cat := m.Ranker.Scorer.in.Cat
	var parts []string
	l1 := cat.L1[i]
	id := cat.L1Names[l1]
	if int(l1) < len(g.L1Recent) && !m.Sensitive[id] && id != "" {
		if n := int(math.Round(float64(g.L1Recent[l1]))); n >= minQuotedCount {
			parts = append(parts, m.categoryOrders(n, m.CategoryNames[id].Name(lang, id), lang))
		}
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
