package main

import (
	"fmt"
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
			socialWs, err := parseList("--weights", weights)
			if err != nil {
				return err
			}
			bs, err := parseList("--betas", betas)
			if err != nil {
				return err
			}
			var iws []float64
			if ialsWeights != "" {
				if iws, err = parseList("--ials-weights", ialsWeights); err != nil {
					return err
				}
			}
			if share <= 0 || share >= 1 {
				return fmt.Errorf("--share must be in (0, 1), got %g", share)
			}
			full, err := loadBeiBei(dir)
			if err != nil {
				return err
			}
			b := full.HoldOut(share, seed)
			if len(b.Test) == 0 {
				return fmt.Errorf("no initiator has a successful launch to hold out")
			}
			m := b.Matrix(0.2, 1)
			var model *train.ALS
			if len(iws) > 0 {
				als := train.DefaultALSConfig()
				als.Seed = seed
				if model, err = train.TrainALS(cmd.Context(), m, als, nil); err != nil {
					return err
				}
			}
			sw := &sweeper{cmd: cmd, b: b, m: m, model: model}
			fmt.Fprintf(e.stdout, "%d validation targets held out of the history (share %g, seed %d)\n\n", len(b.Test), share, seed)
			tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "method\tsetting\tHR@10\tNDCG@10\tRecall@20\n")
			if _, err := sw.sweep(tw, "success-popular", "", []float64{0}, func(float64) (float32, float64, float32) { return 0, 0, 0 }); err != nil {
				return err
			}
			var best []string
			for _, s := range []struct {
				method, flag string
				values       []float64
				set          func(v float64) (float32, float64, float32)
			}{
				{"social", "--social-weight", socialWs, func(v float64) (float32, float64, float32) { return float32(v), 0, 0 }},
				{"pop-mix", "--mix-beta", bs, func(v float64) (float32, float64, float32) { return 0, v, 0 }},
				{"pop+ials", "--ials-weight", iws, func(v float64) (float32, float64, float32) { return 0, 0, float32(v) }},
			} {
				if len(s.values) == 0 {
					continue
				}
				v, err := sw.sweep(tw, s.method, s.flag, s.values, s.set)
				if err != nil {
					return err
				}
				best = append(best, fmt.Sprintf("%s %g", s.flag, v))
			}
			tw.Flush()
			fmt.Fprintf(e.stdout, "\nbest by NDCG@10: %s\n", strings.Join(best, " "))
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

// sweeper scores one BeiBei method at several settings on held-out targets.
type sweeper struct {
	cmd   *cobra.Command
	b     *train.BeiBei
	m     *train.Interactions
	model *train.ALS
}

// sweep prints one row per value and returns the value with the best NDCG@10.
// set maps a value to (social weight, pop-mix beta, pop+ials weight).
func (s *sweeper) sweep(tw *tabwriter.Writer, method, flag string, values []float64, set func(float64) (float32, float64, float32)) (float64, error) {
	allowed := make([]bool, s.b.Items)
	for i := range allowed {
		allowed[i] = true
	}
	best, bestV := -1.0, 0.0
	for _, v := range values {
		sw, beta, iw := set(v)
		methods := s.b.Methods(s.m, s.model, sw, beta, iw, func(x string) bool { return x == method })
		res, err := train.EvaluateTargets(s.cmd.Context(), allowed, s.b.Test, func(g int32) []int32 { return s.b.Seen[g] }, methods, 0, nil)
		if err != nil {
			return 0, err
		}
		r := res[0]
		if nd := meanOf(r.NDCG10); nd > best {
			best, bestV = nd, v
		}
		setting := "-"
		if flag != "" {
			setting = fmt.Sprintf("%s %g", flag, v)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.4f\t%.4f\t%.4f\n", r.Method, setting, meanOf(r.HR10), meanOf(r.NDCG10), meanOf(r.HR20))
	}
	return bestV, nil
}

// parseList reads comma-separated numbers for flag.
func parseList(flag, s string) ([]float64, error) {
	var out []float64
	for _, p := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a number", flag, p)
		}
		out = append(out, v)
	}
	return out, nil
}
