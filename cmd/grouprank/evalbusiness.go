package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"grouprank/data"
	"grouprank/data/synth"
	"grouprank/recommend"
	"grouprank/train"
)

type businessFlags struct {
	world, model, jsonOut, mdOut string
	k, groups, workers, depth    int
	day                          int // the truth's day (-1: the day after the window)
	seed                         uint64
	blends                       []string // price,commission,rating weights of extra blends
	ceilings                     bool
}

func evalBusinessCmd(e *env) *cobra.Command {
	f := &businessFlags{}
	c := &cobra.Command{
		Use:   "business",
		Short: "True expected orders, GMV and commission per push of each objective's top k (synthetic worlds)",
		Long: `eval business loads a trained artefact (grouprank train) and ranks a seeded sample
of groups with each named objective through the calibrated scorer, as the
online service does, and with today's practice (good-review rate x commission
rate). It reports the true expected orders, GMV and commission per push of
each top k on the day after the world's window, from the synthetic truth,
against the oracles that rank by those true values, and the share of the
practice-to-oracle gap each objective closes. The systematic oracles rank by
the truth without its pair-level noise: the best any model of group and item
attributes could do; a second table gives each configuration's share of the
practice-to-systematic-oracle gap.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBusiness(cmd, e, f)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.world, "world", "world", "synthetic world directory (from gen) the model was trained on")
	fl.StringVar(&f.model, "model", "", "artefact directory (train --out/<version>)")
	fl.IntVar(&f.k, "k", 10, "picks per group")
	fl.IntVar(&f.groups, "groups", 20000, "groups sampled (seeded)")
	fl.IntVar(&f.depth, "candidates", 200, "items each candidate source contributes")
	fl.Uint64Var(&f.seed, "seed", 1, "sampling seed")
	fl.IntVar(&f.workers, "workers", 0, "goroutines (0: one per core)")
	fl.StringArrayVar(&f.blends, "blend", nil, "also evaluate a blend of log expected orders with these price,commission,rating weights and optionally a caution (e.g. 0,0.7,0.5 or 0,1,0,0: default caution 1); repeatable")
	fl.BoolVar(&f.ceilings, "ceilings", false, "also rank each objective with truth-derived scores that show where its shortfall comes from: the systematic truth within its candidates, the model with true item effects, true item and category effects")
	fl.IntVar(&f.day, "day", -1, "day of the world (0-based) whose truth to evaluate against (-1: the day after the world's window; later days evaluate a model trained on logs that run past the world, e.g. from simulate)")
	fl.StringVar(&f.jsonOut, "json", "", "also write the rows as JSON to this file")
	fl.StringVar(&f.mdOut, "markdown", "", "also write the table as Markdown to this file")
	c.MarkFlagRequired("model")
	return c
}

func runBusiness(cmd *cobra.Command, e *env, f *businessFlags) error {
	t0 := time.Now()
	var blends []recommend.Objective
	for _, b := range f.blends {
		o, err := parseBlend(b)
		if err != nil {
			return err
		}
		blends = append(blends, o)
	}
	m, err := synth.ReadManifest(f.world)
	if err != nil {
		return fmt.Errorf("eval business needs a synthetic world (its truth): %w", err)
	}
	sw, err := synth.Rebuild(m.Params)
	if err != nil {
		return err
	}
	a, err := train.ReadArtefact(f.model)
	if err != nil {
		return err
	}
	in, cat := a.Inputs()
	conv := a.Spec.Conversion
	sc := recommend.NewScorer(in, &conv)
	day := m.Params.Days
	if f.day >= 0 {
		day = f.day
	}
	truth := sw.Truth(day)
	groups := make([]recommend.Group, len(a.Groups))
	idx := make([]int32, len(a.Groups))
	ids := make([]data.GroupID, len(a.Groups))
	for g, r := range a.Groups {
		ids[g] = r.ID
		groups[g] = r.Group
		groups[g].SetActive(data.TimestampOf(m.Params.Start)+data.Timestamp(day)*data.Day, nil) // at the truth's day
		idx[g] = int32(g)
	}
	rng := rand.New(rand.NewPCG(f.seed, 0xb051))
	rng.Shuffle(len(idx), func(x, y int) { idx[x], idx[y] = idx[y], idx[x] })
	idx = idx[:min(f.groups, len(idx))]
	slices.Sort(idx)
	configs := []train.BusinessConfig{{Name: "practice (rating x commission rate)"}}
	for _, o := range recommend.Objectives() {
		configs = append(configs, train.BusinessConfig{Name: "objective: " + o.Name, Objective: &o})
	}
	for _, o := range blends {
		configs = append(configs, train.BusinessConfig{Name: "blend: " + o.Name, Objective: &o})
	}
	prog := progress(e, "ranking groups", len(idx))
	tv := newTruthOracle(truth, cat.SKUs, ids)
	rows, err := train.BusinessMetrics(cmd.Context(), sc, groups, configs, tv, idx,
		train.BusinessOptions{K: f.k, Depth: f.depth, Workers: f.workers, Ceilings: f.ceilings, CeilingGroups: 500, Progress: prog})
	if err != nil {
		return err
	}
	e.log.Info("evaluated", slog.Int("groups", len(idx)), slog.String("model", a.Manifest.Version),
		tookSince(t0))
	when := "the day after the window"
	if day != m.Params.Days {
		when = fmt.Sprintf("%d days after the window", day-m.Params.Days+1)
	}
	title := fmt.Sprintf("%s, model %s: true value per push of each top %d, %d groups, day %d (%s)",
		filepath.Base(f.world), a.Manifest.Version, f.k, len(idx), day, when)
	writeBusiness(e.stdout, title, rows)
	if f.mdOut != "" {
		fh, err := os.Create(f.mdOut)
		if err != nil {
			return err
		}
		writeBusiness(fh, title, rows)
		if err := fh.Close(); err != nil {
			return err
		}
	}
	if f.jsonOut != "" {
		b, _ := json.MarshalIndent(jsonSafe(map[string]any{"title": title, "rows": rows}), "", "  ")
		return os.WriteFile(f.jsonOut, append(b, '\n'), 0o644)
	}
	return nil
}

// parseBlend reads "price,commission,rating[,caution]" weights.
func parseBlend(s string) (recommend.Objective, error) {
	var o recommend.Objective
	parts := strings.Split(s, ",")
	bad := fmt.Errorf("--blend %q: want price,commission,rating weights and optionally a caution, e.g. 0,0.7,0.5 or 0,1,0,0: %w", s, data.ErrInvalid)
	if len(parts) != 3 && len(parts) != 4 {
		return o, bad
	}
	ws := make([]float64, len(parts))
	for k, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || v != v {
			return o, bad
		}
		ws[k] = v
	}
	o.Price, o.Commission, o.Rating = ws[0], ws[1], ws[2]
	for _, w := range ws[:3] {
		if w < -10 || w > 10 {
			return o, fmt.Errorf("--blend %q: weights must be within -10..10: %w", s, data.ErrInvalid)
		}
	}
	o.Name = fmt.Sprintf("price %g, commission %g, rating %g", o.Price, o.Commission, o.Rating)
	if len(ws) == 4 {
		if ws[3] < 0 || ws[3] > recommend.MaxCaution {
			return o, fmt.Errorf("--blend %q: caution must be within 0..%g: %w", s, recommend.MaxCaution, data.ErrInvalid)
		}
		o = o.WithCaution(ws[3])
		o.Name += fmt.Sprintf(", caution %g", ws[3])
	}
	return o, nil
}

func writeBusiness(w io.Writer, title string, rows []train.BusinessRow) {
	fmt.Fprintf(w, "%s\n\n", title)
	fmt.Fprintln(w, "| configuration | orders/push | GMV/push (yuan) | commission/push (yuan) | orders gap closed | GMV gap closed | commission gap closed |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %.4f | %.2f | %.3f | %s | %s | %s |\n", r.Config, r.Orders, r.GMV, r.Commission,
			pct(r.OrdersGap), pct(r.GMVGap), pct(r.CommissionGap))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Gap closed against the systematic oracles instead (the truth without its pair-level noise, the best any model of")
	fmt.Fprintln(w, "group and item attributes could rank; practice 0%, systematic oracle 100%):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| configuration | orders gap closed | GMV gap closed | commission gap closed |")
	fmt.Fprintln(w, "|---|---:|---:|---:|")
	for _, r := range rows {
		if strings.HasPrefix(r.Config, "oracle: ") || strings.HasPrefix(r.Config, "systematic oracle: ") {
			continue
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", r.Config, pct(r.OrdersSysGap), pct(r.GMVSysGap), pct(r.CommissionSysGap))
	}
	fmt.Fprintln(w)
}

func pct(x float64) string {
	if x != x {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*x)
}

// jsonSafe is v with its non-finite numbers as null (data.JSONSafe).
func jsonSafe(v any) any { s, _ := data.JSONSafe(v); return s }
