package main

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"grouprank/data"
	"grouprank/recommend"
	"grouprank/train/pref"
)

// publishedRanker is the current model of a snapshot root, ranking the test
// lines of the world it was trained on by the service's own scores.
type publishedRanker struct {
	m       *recommend.Model
	close   func()
	version string
	skus    []data.SKU // world item index -> SKU
	at      []int32    // world item index -> catalogue index
}

// openPublishedFor opens root's current model and checks that it was
// trained on p's world (the same tables, by checksum) and knows its items.
func openPublishedFor(root string, p *prefWorld) (*publishedRanker, error) {
	m, snap, err := loadCurrent(root)
	if err != nil {
		return nil, fmt.Errorf("--root: %w", err)
	}
	version := m.Version
	pr := &publishedRanker{m: m, close: func() { snap.Close() }, version: version}
	fail := func(err error) (*publishedRanker, error) { pr.close(); return nil, err }
	want, err := inputSums(p.w.dir)
	if err != nil {
		return fail(err)
	}
	got := map[string]string{}
	for _, f := range m.Manifest.Inputs {
		got[f.Name] = f.SHA256
	}
	for _, f := range want {
		if got[f.Name] != f.SHA256 {
			return fail(fmt.Errorf("--root: model %s was not trained on %s: its %s differs (grouprank train --world %s, then publish)", version, p.w.dir, f.Name, p.w.dir))
		}
		delete(got, f.Name)
	}
	for name := range got {
		return fail(fmt.Errorf("--root: model %s was not trained on %s: it read %s, which the world lacks", version, p.w.dir, name))
	}
	cat := m.Ranker.Scorer.Inputs().Cat
	pr.skus, pr.at = make([]data.SKU, len(p.items)), make([]int32, len(p.items))
	for i, sku := range p.items {
		c, ok := cat.Index[sku]
		if !ok {
			return fail(fmt.Errorf("--root: model %s: its catalogue lacks item %s", version, p.itemName(int32(i))))
		}
		pr.skus[i], pr.at[i] = sku, c
	}
	return pr, nil
}

// rank scores every test line with the published model: protocol 1 through
// ScorePairs on the line's item and negatives (what score --pairs computes),
// protocol 2 through Scores on the whole catalogue (what picks ranks), every
// item but the group's history (seen) ranked. Ties rank the item earlier in
// the catalogue first, as the ranker does.
func (pr *publishedRanker) rank(ctx context.Context, p *prefWorld, seen func(g int32) []int32, lines []heldOutLine, workers int) (*pref.Published, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	n := pr.m.Ranker.Scorer.Inputs().Cat.Len()
	p1, full := make([]int, len(lines)), make([]int, len(lines))
	const chunk = 64
	eg, ctx := errgroup.WithContext(ctx)
	eg.SetLimit(workers)
	for lo := 0; lo < len(lines); lo += chunk {
		eg.Go(func() error {
			dst, ps, qs := make([]float64, n), make([]float32, n), make([]float32, n)
			for k := lo; k < min(len(lines), lo+chunk); k++ {
				if err := ctx.Err(); err != nil {
					return err
				}
				l := lines[k]
				id := p.groups[l.group]
				ahead := func(s, s0 float64, j int32) bool {
					return s > s0 || (s == s0 && pr.at[j] < pr.at[l.item])
				}
				if l.negatives != nil {
					skus := make([]data.SKU, 0, 1+len(l.negatives))
					skus = append(skus, pr.skus[l.item])
					for _, j := range l.negatives {
						skus = append(skus, pr.skus[j])
					}
					sc, err := pr.m.ScorePairs(id, "orders", skus)
					if err != nil {
						return fmt.Errorf("group %s: %w", p.groupName(l.group), err)
					}
					for c, j := range l.negatives {
						if j != l.item && ahead(sc[c+1].Score, sc[0].Score, j) {
							p1[k]++
						}
					}
				}
				if err := pr.m.Scores(id, "orders", dst, ps, qs); err != nil {
					return fmt.Errorf("group %s: %w", p.groupName(l.group), err)
				}
				s0, hist := dst[pr.at[l.item]], seen(l.group)
				for j := range int32(len(pr.at)) {
					if _, ok := slices.BinarySearch(hist, j); !ok && j != l.item && ahead(dst[pr.at[j]], s0, j) {
						full[k]++
					}
				}
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	out := &pref.Published{Version: pr.version, Method: "?", Settings: pr.settings()}
	if md, ok := pr.m.Manifest.Params["method"].(string); ok {
		out.Method = md
	}
	for k, l := range lines {
		out.Lines.Add(p1[k], full[k], l.negatives != nil)
	}
	out.Mean = out.Lines.Means()
	return out, nil
}

// settings say how the published model was trained, from its manifest.
func (pr *publishedRanker) settings() string {
	var parts []string
	for _, k := range []string{"seed", "count", "budget", "folds"} {
		if v, ok := pr.m.Manifest.Params[k]; ok {
			parts = append(parts, fmt.Sprintf("%s %v", k, v))
		}
	}
	if v, ok := pr.m.Manifest.Metrics["validation_ndcg10"]; ok {
		parts = append(parts, fmt.Sprintf("validation NDCG@10 %.4f", v))
	}
	return "trained with " + strings.Join(parts, ", ")
}
