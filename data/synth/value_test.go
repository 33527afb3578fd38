package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"grouprank/data"
	"grouprank/data/parquetio"
)

// TestValueOfGroupKnowledge measures, on a generated world's truth, what each
// kind of knowledge about a group is worth to the expected-commission
// objective: for a sample of groups it ranks the catalogue's most lucrative
// eligible items (the 4,000 with the highest commission per unit on the day
// after the window) by log commission + an appetite that knows the item's true
// average appeal and, row by row, more of the group, and prints the true
// expected commission per push of each top 10. Two rows know only the
// group's true appetite averaged over each category's (L1's, L2's) items,
// what a per-category taste can hope to measure. Two rows infer the group's
// persona mix from the data (the pushes its promoter found, then also the
// orders its members placed without a push: the only data they read) with
// the personas' true appetites, the best any model of those could do. It
// checks that no row beats the oracle, which ranks by the very value summed.
// It reads the truth, so it is an evaluator's tool, not a model;
// bench/knowledge.sh runs it (GROUPRANK_WORLD names the world).
func TestValueOfGroupKnowledge(t *testing.T) {
	dir := os.Getenv("GROUPRANK_WORLD")
	if dir == "" {
		t.Skip("GROUPRANK_WORLD not set (bench/knowledge.sh)")
	}
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	w, err := Rebuild(m.Params)
	if err != nil {
		t.Fatal(err)
	}
	day := m.Params.Days
	tr := w.Truth(day)
	I := len(tr.prices)
	comm := make([]float64, I) // commission per unit on the day, yuan
	w.cat.dayStates(w.start, day+1, func(d int, cur []data.Product) {
		if d == day {
			for j := range cur {
				comm[j] = float64(cur[j].PriceCents) * max(0, cur[j].Commission) / 100
			}
		}
	})
	var cand []int
	for j := range I {
		if tr.active[j] && comm[j] > 0 {
			cand = append(cand, j)
		}
	}
	sort.SliceStable(cand, func(a, b int) bool { return comm[cand[a]] > comm[cand[b]] })
	cand = cand[:min(4000, len(cand))]
	const S = 3000
	r := rand.New(rand.NewPCG(m.Params.Seed, 17))
	sample := make([]int, S)
	at := make(map[int]int, S) // group -> its row in sample
	for k := range sample {
		g := r.IntN(len(w.groups))
		for _, dup := at[g]; dup; _, dup = at[g] {
			g = r.IntN(len(w.groups))
		}
		sample[k], at[g] = g, k
	}
	full, sys, pers := make([][]float64, S), make([][]float64, S), make([][]float64, S)
	for k, g := range sample {
		full[k] = tr.Scores(data.GroupID(g+1), nil)
		sys[k] = tr.Systematic(data.GroupID(g+1), nil)
		gr := &w.groups[g]
		pers[k] = make([]float64, I)
		for _, j := range cand {
			var x float64
			for q := range int(gr.mixN) {
				x += float64(gr.mixW[q]) * float64(tr.base[gr.mix[q]][j])
			}
			pers[k][j] = math.Log(x)
		}
	}
	// mean returns, per item, the mean over the sampled groups that keep
	// selects of f(row, item).
	mean := func(keep func(k int) bool, f func(k, j int) float64) []float64 {
		out, n := make([]float64, I), 0.0
		for k := range sample {
			if keep(k) {
				n++
				for _, j := range cand {
					out[j] += f(k, j)
				}
			}
		}
		for _, j := range cand {
			out[j] /= n
		}
		return out
	}
	every := func(int) bool { return true }
	logSys := func(k, j int) float64 { return math.Log(sys[k][j]) }
	item := mean(every, logSys)
	cells := map[[2]uint8][]float64{}
	cellOf := func(k int) [2]uint8 { g := &w.groups[sample[k]]; return [2]uint8{g.channel, g.tier} }
	for k := range sample {
		if c := cellOf(k); cells[c] == nil {
			cells[c] = mean(func(x int) bool { return cellOf(x) == c }, logSys)
		}
	}
	persMean := mean(every, func(k, j int) float64 { return pers[k][j] })
	// byCategory is the group's log appetite (true mix) averaged over the
	// items of each item's category (every third item of it).
	byCategory := func(key func(j int) int) ([][]float64, []float64) {
		out := make([][]float64, S)
		for k, g := range sample {
			gr := &w.groups[g]
			sum, cnt := map[int]float64{}, map[int]float64{}
			for j := 0; j < I; j += 3 {
				var x float64
				for q := range int(gr.mixN) {
					x += float64(gr.mixW[q]) * float64(tr.base[gr.mix[q]][j])
				}
				sum[key(j)] += math.Log(x)
				cnt[key(j)]++
			}
			out[k] = make([]float64, I)
			for _, j := range cand {
				out[k][j] = sum[key(j)] / cnt[key(j)]
			}
		}
		return out, mean(every, func(k, j int) float64 { return out[k][j] })
	}
	byL1, byL1Mean := byCategory(func(j int) int { return int(w.cat.items[j].l1) })
	byL2, byL2Mean := byCategory(func(j int) int { return int(w.cat.items[j].l2) })
	found, organic := w.unpromptedItems(t, dir, at)
	inferred := func(tokens func(k int) []int) ([][]float64, []float64) {
		out := w.inferMix(tr, sample, tokens, cand)
		return out, mean(every, func(k, j int) float64 { return out[k][j] })
	}
	foundOnly, foundMean := inferred(func(k int) []int { return found[k] })
	both, bothMean := inferred(func(k int) []int { return append(append([]int(nil), found[k]...), organic[k]...) })

	value := func(score func(k, j int) float64) float64 {
		var tot float64
		idx := make([]int, len(cand))
		sc := make([]float64, I)
		for k := range sample {
			copy(idx, cand)
			for _, j := range cand {
				sc[j] = score(k, j) + math.Log(comm[j])
			}
			sort.SliceStable(idx, func(a, b int) bool { return sc[idx[a]] > sc[idx[b]] })
			for _, j := range idx[:10] {
				tot += full[k][j] * comm[j]
			}
		}
		return tot / S / 10
	}
	l1 := func(j int) int { return int(w.cat.items[j].l1) }
	rows := []struct {
		name  string
		score func(k, j int) float64
	}{
		{"the item's true average appeal, nothing of the group", func(k, j int) float64 { return item[j] }},
		{"... and its average in the group's channel x tier", func(k, j int) float64 { return cells[cellOf(k)][j] }},
		{"the item's average + the group's true category effects", func(k, j int) float64 {
			return item[j] + float64(w.groups[sample[k]].gcat[l1(j)])
		}},
		{"the item's average + the group's true persona mix", func(k, j int) float64 { return item[j] + pers[k][j] - persMean[j] }},
		{"the item's average + the group's true appetite averaged over each L1 category's items", func(k, j int) float64 {
			return item[j] + byL1[k][j] - byL1Mean[j]
		}},
		{"the item's average + the group's true appetite averaged over each L2 subcategory's items", func(k, j int) float64 {
			return item[j] + byL2[k][j] - byL2Mean[j]
		}},
		{"the item's average + the mix inferred from the group's found pushes", func(k, j int) float64 {
			return item[j] + foundOnly[k][j] - foundMean[j]
		}},
		{"... from its found pushes and its members' orders placed without a push", func(k, j int) float64 {
			return item[j] + both[k][j] - bothMean[j]
		}},
		{"systematic truth (all but the pair's own noise)", func(k, j int) float64 { return math.Log(sys[k][j]) }},
		{"oracle", func(k, j int) float64 { return math.Log(full[k][j]) }},
	}
	fmt.Printf("%s: true commission per push of each top 10 among the %d highest-commission items, %d groups, day %d\n\n",
		filepath.Base(dir), len(cand), S, day)
	fmt.Println("| ranked by | commission/push (yuan) |\n|---|---:|")
	values := make([]float64, len(rows))
	for n, row := range rows {
		values[n] = value(row.score)
		fmt.Printf("| %s | %.2f |\n", row.name, values[n])
	}
	// The oracle ranks by the very value summed, so no row can beat it; and
	// every ranking of items with commission earns some.
	oracle := values[len(values)-1]
	for n, v := range values {
		if v <= 0 || v > oracle*(1+1e-9) {
			t.Errorf("%s: %.4f yuan a push, want within (0, the oracle's %.4f]", rows[n].name, v, oracle)
		}
	}
}

// unpromptedItems reads, per sampled group (at maps a group to its row),
// the items its promoter found outside any list (pushes without a request
// id) and the items its members ordered without a push link.
func (w *World) unpromptedItems(t *testing.T, dir string, at map[int]int) (found, organic [][]int) {
	pushes, err := parquetio.ReadFile(filepath.Join(dir, parquetio.Pushes.File), parquetio.Pushes)
	if err != nil {
		t.Fatal(err)
	}
	found, organic = make([][]int, len(at)), make([][]int, len(at))
	for _, p := range pushes {
		if k, ok := at[int(p.Group)-1]; ok && p.RequestID == "" {
			found[k] = append(found[k], int(p.SKU)-skuBase)
		}
	}
	orders, err := parquetio.ReadFile(filepath.Join(dir, parquetio.Orders.File), parquetio.Orders)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range orders {
		if k, ok := at[int(o.Group)-1]; ok && o.Push == data.NoPush {
			organic[k] = append(organic[k], int(o.SKU)-skuBase)
		}
	}
	return found, organic
}

// inferMix returns, per sampled group and candidate item, the log appetite of
// the persona mix inferred from the group's tokens (items drawn by a persona
// picked by weight, the item by the persona's appetite at list prices) with
// the personas' true appetites: the posterior mean mix under a
// Dirichlet(0.05) prior, by EM.
func (w *World) inferMix(tr *Truth, sample []int, tokens func(k int) []int, cand []int) [][]float64 {
	P, I := len(w.personas), len(w.cat.items)
	phi := make([][]float64, P) // persona -> share of its draws per item
	for s := range P {
		phi[s] = make([]float64, I)
		var z float64
		for j := range I {
			phi[s][j] = w.base(s, j, float64(w.cat.initial[j].PriceCents))
			z += phi[s][j]
		}
		for j := range I {
			phi[s][j] /= z
		}
	}
	out := make([][]float64, len(sample))
	theta, next, resp := make([]float64, P), make([]float64, P), make([]float64, P)
	for k := range sample {
		for s := range theta {
			theta[s] = 1 / float64(P)
		}
		toks := tokens(k)
		for range 50 {
			clear(next)
			for _, j := range toks {
				var z float64
				for s := range P {
					resp[s] = theta[s] * phi[s][j]
					z += resp[s]
				}
				for s := range P {
					next[s] += resp[s] / z
				}
			}
			var tot float64
			for s := range P {
				next[s] += 0.05
				tot += next[s]
			}
			for s := range P {
				theta[s] = next[s] / tot
			}
		}
		out[k] = make([]float64, I)
		for _, j := range cand {
			var x float64
			for s := range P {
				x += theta[s] * float64(tr.base[s][j])
			}
			out[k][j] = math.Log(x)
		}
	}
	return out
}
