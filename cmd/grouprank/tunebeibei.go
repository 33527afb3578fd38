package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"grouprank/train"
)

func tuneBeiBeiCmd(e *env) *cobra.Command {
	var dir, weights, betas, ialsWeights string
	var share float64
	var seed uint64
	c := &cobra.Command{
		Use:   "beibei --data DIR",
		Short: "Choose BeiBei's social weight on a split of the history (test.txt is never read)",
		Long: `tune beibei holds out, for a seeded share of the initiators with a successful
launch, one such launch (and the join that came with it) as a validation target,
trains nothing on it, and scores success-popular and social at each weight on those
targets with the evaluation protocol. Pass the best weight to eval beibei.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var ws []float64
			for _, s := range strings.Split(weights, ",") {
				w, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
				if err != nil || w < 0 {
					return fmt.Errorf("--weights: %q is not a weight >= 0", s)
				}
				ws = append(ws, w)
			}
			if share <= 0 || share >= 1 {
				return fmt.Errorf("--share must be in (0, 1), got %g", share)
			}
			full, err := loadBeiBei(dir)
			if err != nil {
				return err
			}
			b := full.holdOut(share, seed)
			if len(b.test) == 0 {
				return fmt.Errorf("no initiator has a successful launch to hold out")
			}
			m := b.matrix(0.2, 1)
			allowed := make([]bool, b.items)
			for i := range allowed {
				allowed[i] = true
			}
			tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintf(e.stdout, "%d validation targets held out of the history (share %g, seed %d)\n\n", len(b.test), share, seed)
			fmt.Fprintf(tw, "method\tweight\tHR@10\tNDCG@10\tRecall@20\n")
			best, bestW := -1.0, 0.0
			for n, w := range ws {
				methods := b.methods(m, nil, float32(w), 0, 0)
				methods = slices.DeleteFunc(methods, func(x train.Method) bool { return x.Name != "success-popular" && x.Name != "social" })
				if n > 0 {
					methods = methods[1:] // success-popular once
				}
				res, err := train.EvaluateTargets(cmd.Context(), allowed, b.test, func(g int32) []int32 { return b.seen[g] }, methods, 0, nil)
				if err != nil {
					return err
				}
				for _, r := range res {
					wl := "-"
					if r.Method == "social" {
						wl = fmt.Sprint(w)
						if nd := meanOf(r.NDCG10); nd > best {
							best, bestW = nd, w
						}
					}
					fmt.Fprintf(tw, "%s\t%s\t%.4f\t%.4f\t%.4f\n", r.Method, wl, meanOf(r.HR10), meanOf(r.NDCG10), meanOf(r.HR20))
				}
			}
			tw.Flush()
			fmt.Fprintf(e.stdout, "\nbest by NDCG@10: --social-weight %g\n\n", bestW)
			tw = tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "method\tbeta\tHR@10\tNDCG@10\tRecall@20\n")
			best, bestB := -1.0, 0.0
			for _, bs := range strings.Split(betas, ",") {
				beta, err := strconv.ParseFloat(strings.TrimSpace(bs), 64)
				if err != nil {
					return fmt.Errorf("--betas: %q is not a number", bs)
				}
				methods := slices.DeleteFunc(b.methods(m, nil, 0, beta, 0), func(x train.Method) bool { return x.Name != "pop-mix" })
				res, err := train.EvaluateTargets(cmd.Context(), allowed, b.test, func(g int32) []int32 { return b.seen[g] }, methods, 0, nil)
				if err != nil {
					return err
				}
				r := res[0]
				if nd := meanOf(r.NDCG10); nd > best {
					best, bestB = nd, beta
				}
				fmt.Fprintf(tw, "%s\t%g\t%.4f\t%.4f\t%.4f\n", r.Method, beta, meanOf(r.HR10), meanOf(r.NDCG10), meanOf(r.HR20))
			}
			tw.Flush()
			fmt.Fprintf(e.stdout, "\nbest by NDCG@10: --mix-beta %g\n\n", bestB)
			if ialsWeights == "" {
				return nil
			}
			als := train.DefaultALSConfig()
			als.Seed = seed
			model, err := train.TrainALS(cmd.Context(), m, als, nil)
			if err != nil {
				return err
			}
			tw = tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "method\tweight\tHR@10\tNDCG@10\tRecall@20\n")
			best, bestI := -1.0, 0.0
			for _, ws := range strings.Split(ialsWeights, ",") {
				w, err := strconv.ParseFloat(strings.TrimSpace(ws), 64)
				if err != nil {
					return fmt.Errorf("--ials-weights: %q is not a number", ws)
				}
				methods := slices.DeleteFunc(b.methods(m, model, 0, 0, float32(w)), func(x train.Method) bool { return x.Name != "pop+ials" })
				res, err := train.EvaluateTargets(cmd.Context(), allowed, b.test, func(g int32) []int32 { return b.seen[g] }, methods, 0, nil)
				if err != nil {
					return err
				}
				r := res[0]
				if nd := meanOf(r.NDCG10); nd > best {
					best, bestI = nd, w
				}
				fmt.Fprintf(tw, "%s\t%g\t%.4f\t%.4f\t%.4f\n", r.Method, w, meanOf(r.HR10), meanOf(r.NDCG10), meanOf(r.HR20))
			}
			tw.Flush()
			fmt.Fprintf(e.stdout, "\nbest by NDCG@10: --ials-weight %g\n", bestI)
			return nil
		},
	}
	c.Flags().StringVar(&dir, "data", "beibei", "directory written by grouprank import beibei")
	c.Flags().StringVar(&weights, "weights", "0.02,0.05,0.1,0.2,0.5,1", "social weights to try")
	c.Flags().StringVar(&ialsWeights, "ials-weights", "0.05,0.1,0.2,0.5,1,2", "pop+ials weights to try (trains iALS on the held-out history; empty: skip)")
	c.Flags().StringVar(&betas, "betas", "-0.2,-0.1,0,0.05,0.1,0.2,0.5", "pop-mix betas to try")
	c.Flags().Float64Var(&share, "share", 0.2, "share of initiators with a success whose success is held out")
	c.Flags().Uint64Var(&seed, "seed", 1, "seed of the held-out sample")
	return c
}

// holdOut returns a copy of the history in which a seeded share of the
// initiators with a successful launch lose one of them (and its join) to
// become validation targets; the real test rows are dropped. Memberships other
// than the held-out launch's first participant stay (the import keeps no
// finer link), a small leak that only helps the social method.
func (b *beibei) holdOut(share float64, seed uint64) *beibei {
	r := rand.New(rand.NewPCG(seed, 0x7e57))
	first := map[int32]int{} // initiator -> index of its first successful launch
	var initiators []int32
	for n, l := range b.launches {
		if l.buyer >= 0 {
			if _, ok := first[l.user]; !ok {
				first[l.user] = n
				initiators = append(initiators, l.user)
			}
		}
	}
	held := map[int]bool{}
	for _, u := range initiators {
		if r.Float64() < share {
			held[first[u]] = true
		}
	}
	v := &beibei{users: b.users, items: b.items, hasHistory: make([]bool, b.users), seen: make([][]int32, b.users), friends: make([][]int32, b.users)}
	removed := map[[2]int32]bool{}
	for n, l := range b.launches {
		if held[n] {
			removed[[2]int32{l.user, l.buyer}] = true
			continue
		}
		v.launches = append(v.launches, l)
		v.hasHistory[l.user] = true
		v.seen[l.user] = append(v.seen[l.user], l.item)
		if l.buyer >= 0 {
			v.hasHistory[l.buyer] = true
			v.seen[l.buyer] = append(v.seen[l.buyer], l.item)
		}
	}
	for u, fs := range b.friends {
		for _, f := range fs {
			if removed[[2]int32{int32(u), f}] || removed[[2]int32{f, int32(u)}] {
				continue
			}
			v.friends[u] = append(v.friends[u], f)
		}
	}
	for u := range v.seen {
		slices.Sort(v.seen[u])
		v.seen[u] = slices.Compact(v.seen[u])
	}
	for n, l := range b.launches {
		if held[n] && (v.hasHistory[l.user] || len(v.friends[l.user]) > 0) && !slices.Contains(v.seen[l.user], l.item) {
			v.test = append(v.test, train.Target{Group: l.user, Item: l.item})
		}
	}
	return v
}
