package train

import "grouprank/recommend"

// problemFor is the group-side row problem of a fitted model: what the online
// service folds groups in with.
func problemFor(m *ALS, cfg ALSConfig) *recommend.RowProblem {
	return &recommend.RowProblem{Other: m.Items, Gram: recommend.Gram(m.Items), Alpha0: cfg.Alpha0, Lambda: cfg.Lambda, Nu: cfg.Nu, Cols: m.Items.Rows()}
}
