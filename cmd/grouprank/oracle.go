package main

import (
	"sync"

	"grouprank/data"
	"grouprank/data/synth"
)

// truthOracle gives the synthetic truth's expected orders of every item in
// a catalogue's order for a group by index: the oracle rows of eval and
// eval business. Only evaluators read it; no model does.
type truthOracle struct {
	t      *synth.Truth
	groups []data.GroupID // group index -> id
	toItem []int32        // truth item -> catalogue index (-1: not in the catalogue)
	pool   sync.Pool
}

// newTruthOracle maps the truth's items onto skus (the catalogue's order)
// and group indexes onto groups.
func newTruthOracle(t *synth.Truth, skus []data.SKU, groups []data.GroupID) *truthOracle {
	at := make(map[data.SKU]int32, len(skus))
	for i, s := range skus {
		at[s] = int32(i)
	}
	o := &truthOracle{t: t, groups: groups}
	for _, s := range t.Items() {
		i, ok := at[s]
		if !ok {
			i = -1
		}
		o.toItem = append(o.toItem, i)
	}
	return o
}

// Values writes the true expected orders of every item for group g.
func (o *truthOracle) Values(g int32, dst []float64) { o.fill(g, dst, o.t.Scores) }

// Systematic is Values without each pair's own noise.
func (o *truthOracle) Systematic(g int32, dst []float64) { o.fill(g, dst, o.t.Systematic) }

func (o *truthOracle) fill(g int32, dst []float64, scores func(data.GroupID, []float64) []float64) {
	buf, _ := o.pool.Get().(*[]float64)
	if buf == nil {
		buf = new([]float64)
	}
	*buf = scores(o.groups[g], *buf)
	clear(dst)
	for j, x := range *buf {
		if i := o.toItem[j]; i >= 0 {
			dst[i] = x
		}
	}
	o.pool.Put(buf)
}
