package synth

import (
	"math/rand/v2"
	"sort"
	"testing"

	"grouprank/data"
)

// headroom is what rankings that read the truth earn per push of a top 10,
// against today's practice, on a sample of a world's groups.
type headroom struct {
	commOracle, commCommon float64 // commission per push: the oracle's, a non-personalised ranking's, over practice's
	ordersOracle           float64 // orders per push of the orders oracle over practice's
	bigTicket              map[data.Channel][2]float64
}

// measureHeadroom ranks the eligible catalogue of the day after the window by
// the truth for 1,500 sampled groups. bigTicket holds, per channel, the share
// of appliances and electronics among the commission oracle's picks and among
// the group's expected orders of a random push.
func measureHeadroom(t *testing.T, p Params) headroom {
	t.Helper()
	w, err := Rebuild(p)
	if err != nil {
		t.Fatal(err)
	}
	day := p.Days
	tr := w.Truth(day)
	comm := make([]float64, len(tr.prices)) // commission per order, yuan
	var idx []int
	var el []data.Product
	w.cat.dayStates(w.start, day+1, func(d int, cur []data.Product) {
		if d != day {
			return
		}
		for j := range cur {
			comm[j] = float64(cur[j].PriceCents) * max(0, cur[j].Commission) / 100
			if tr.active[j] {
				idx, el = append(idx, j), append(el, cur[j])
			}
		}
	})
	top := func(score func(j int) float64) []int {
		c := append([]int(nil), idx...)
		sort.SliceStable(c, func(a, b int) bool { return score(c[a]) > score(c[b]) })
		return c[:10]
	}
	var practice []int
	for _, k := range data.RankByPractice(el)[:10] {
		practice = append(practice, idx[k])
	}
	r := rand.New(rand.NewPCG(p.Seed, 99))
	sample := make([]int, 1500)
	for k := range sample {
		sample[k] = r.IntN(len(w.groups))
	}
	scores := make([][]float64, len(sample))
	common := make([]float64, len(comm)) // mean expected commission over the sample
	for k, g := range sample {
		scores[k] = tr.Scores(data.GroupID(g+1), nil)
		for j, s := range scores[k] {
			common[j] += s * comm[j]
		}
	}
	commonTop := top(func(j int) float64 { return common[j] })
	big := func(j int) bool {
		l1 := categories[w.cat.items[j].l1].name
		return l1 == "appliances" || l1 == "electronics"
	}
	var prC, prO, orC, cmC, orO float64
	type share struct{ picks, demand, n float64 }
	per := map[data.Channel]*share{}
	for k, g := range sample {
		s := scores[k]
		mean := func(js []int, f func(j int) float64) float64 {
			var x float64
			for _, j := range js {
				x += f(j)
			}
			return x / float64(len(js))
		}
		ec := func(j int) float64 { return s[j] * comm[j] }
		eo := func(j int) float64 { return s[j] }
		oc := top(ec)
		prC, prO = prC+mean(practice, ec), prO+mean(practice, eo)
		orC, cmC = orC+mean(oc, ec), cmC+mean(commonTop, ec)
		orO += mean(top(eo), eo)
		ch := data.Channels[w.groups[g].channel]
		sh := per[ch]
		if sh == nil {
			sh = &share{}
			per[ch] = sh
		}
		var bigPicks, bigDemand, demand float64
		for _, j := range oc {
			if big(j) {
				bigPicks++
			}
		}
		for _, j := range idx {
			if demand += s[j]; big(j) {
				bigDemand += s[j]
			}
		}
		sh.picks, sh.demand, sh.n = sh.picks+bigPicks/10, sh.demand+bigDemand/demand, sh.n+1
	}
	h := headroom{commOracle: orC / prC, commCommon: cmC / prC, ordersOracle: orO / prO, bigTicket: map[data.Channel][2]float64{}}
	for ch, sh := range per {
		h.bigTicket[ch] = [2]float64{sh.picks / sh.n, sh.demand / sh.n}
	}
	return h
}

// TestPlausibleHeadroom keeps the world believable to a practitioner
// (docs/data.md): the best possible personalised list earns a few times
// today's practice in commission per push, not tens of times; a list that
// knows what sells but not the group earns at most twice practice; and the
// most lucrative picks for mothers' groups are not appliances and
// electronics, which they rarely buy. Version 1 of the world fails it.
func TestPlausibleHeadroom(t *testing.T) {
	for _, c := range []struct {
		version   int
		plausible bool
	}{{CurrentWorldVersion, true}, {1, false}} {
		p := DefaultParams()
		p.WorldVersion = c.version
		h := measureHeadroom(t, p)
		mothers, installers := h.bigTicket[data.ChannelMother], h.bigTicket[data.ChannelInstaller]
		t.Logf("version %d: commission oracle %.2fx practice, non-personalised %.2fx, orders oracle %.2fx; "+
			"appliances+electronics: mothers' picks %.0f%% (demand %.0f%%), installers' picks %.0f%% (demand %.0f%%)",
			c.version, h.commOracle, h.commCommon, h.ordersOracle, 100*mothers[0], 100*mothers[1], 100*installers[0], 100*installers[1])
		ok := h.commOracle >= 1.5 && h.commOracle <= 4 && h.commCommon <= 2 && h.ordersOracle <= 10 &&
			mothers[0] <= 0.1 && mothers[0] <= 2*mothers[1]+0.02 && installers[1] > mothers[1]
		if ok != c.plausible {
			t.Errorf("version %d: plausible = %v, want %v", c.version, ok, c.plausible)
		}
	}
}
