package data

import "sort"

// PracticeVersion is the ModelVersion that exposures ranked by today's practice carry.
const PracticeVersion = "practice"

// PracticeScore is today's practice: good-review rate times commission rate,
// the single list every promoter sees. Unknown or missing values count as 0.
func PracticeScore(p *Product) float64 {
	c := p.Commission
	if c < 0 {
		c = 0
	}
	return p.GoodReviewRate() * c
}

// PracticeLess reports whether a ranks before b in today's practice:
// higher PracticeScore first, ties broken by smaller SKU.
func PracticeLess(a, b *Product) bool {
	sa, sb := PracticeScore(a), PracticeScore(b)
	if sa != sb {
		return sa > sb
	}
	return a.SKU < b.SKU
}

// RankByPractice returns the indices of products in today's practice order.
// Every caller (the generator's logging policy, the evaluation baseline, the
// control arm) ranks through this function, so they agree exactly.
func RankByPractice(products []Product) []int {
	idx := make([]int, len(products))
	score := make([]float64, len(products))
	for i := range products {
		idx[i] = i
		score[i] = PracticeScore(&products[i])
	}
	sort.Slice(idx, func(a, b int) bool {
		ia, ib := idx[a], idx[b]
		if score[ia] != score[ib] {
			return score[ia] > score[ib]
		}
		return products[ia].SKU < products[ib].SKU
	})
	return idx
}
