package recommend

import (
	"fmt"
	"math"
	"strings"
)

// minQuotedCount is the smallest count a reason may quote: below it a count
// says more about a few members than about the group.
const minQuotedCount = 5

// minQuotedReviews is the fewest reviews behind a quoted good-review rate.
const minQuotedReviews = 20

// Reason is a sentence a promoter can forward about why item i suits the
// group, built only from numbers the group's profile and the catalogue hold:
// the group's orders in the item's category over the profile's recent window
// (quoted only from minQuotedCount up, never for a sensitive category) and
// the item's good-review rate (from minQuotedReviews reviews up).
func (m *Model) Reason(g *Group, i int32) string {
	cat := m.Ranker.Scorer.in.Cat
	var parts []string
	l1 := cat.L1[i]
	name := cat.L1Names[l1]
	if int(l1) < len(g.L1Recent) && !m.Sensitive[name] && name != "" {
		if n := int(math.Round(float64(g.L1Recent[l1]))); n >= minQuotedCount {
			parts = append(parts, fmt.Sprintf("%d orders of %s from this group last month", n, name))
		}
	}
	if r := cat.Reviews[i]; r >= minQuotedReviews {
		parts = append(parts, fmt.Sprintf("%d%% good reviews", int(math.Floor(100*float64(cat.GoodReviews[i])/float64(r)))))
	}
	if len(parts) == 0 {
		return fmt.Sprintf("popular with %s groups like this one", g.Channel)
	}
	return strings.Join(parts, "; ")
}
