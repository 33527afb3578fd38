package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"grouprank/data"
	"grouprank/data/importer"
	"grouprank/data/parquetio"
	"grouprank/recommend"
	"grouprank/train"
	"grouprank/train/pref"
)

func evalBeiBeiCmd(e *env) *cobra.Command {
	var o beibeiEval
	var mdOut, shardFlag, partOut, exDir string
	var exTimeout time.Duration
	o.als = train.DefaultALSConfig()
	c := &cobra.Command{
		Use:   "beibei --data DIR",
		Short: "Evaluate on BeiBei with the dataset README's protocol (paired bootstrap against success-popularity)",
		Long: `eval beibei reads a directory written by "grouprank import beibei": history
(tune + invalid, joins included) in DIR, test.txt in DIR/test. Each test row
whose initiator has any history is a target; the whole catalogue is ranked
minus the items already in that group's history. It reports HR@10, NDCG@10 and
Recall@20 (= HR@20) on all targets, and for each method the paired-bootstrap
95% interval of its difference to success-popularity.

With --shard i/n, n parts run at once, each reading the whole history and
joining the others through --exchange DIR: each part solves its groups' iALS
rows and a share of the items' (the factors are those of one process), and
ranks the targets of its groups (a hash of the group id, as every sharded
command splits them); the targets' figures are joined, so each part writes
the whole table to --part FILE, and eval merge checks that the parts agree
and writes it as this command does without --shard.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sh, err := parseShard(shardFlag)
			if err != nil {
				return err
			}
			switch {
			case shardFlag != "" && (partOut == "" || exDir == ""):
				return fmt.Errorf("--shard %s: the parts run at once, joining through --exchange DIR, and each writes the table to --part FILE (eval merge reads the parts): %w", shardFlag, data.ErrInvalid)
			case shardFlag == "" && (exDir != "" || partOut != ""):
				return fmt.Errorf("--exchange and --part belong to a sharded eval: they need --shard i/n: %w", data.ErrInvalid)
			case partOut != "" && mdOut != "":
				return fmt.Errorf("--part writes a shard's table; --markdown belongs to eval merge: %w", data.ErrInvalid)
			case shardFlag != "" && o.root != "":
				return fmt.Errorf("--root: a published model is ranked by one process, not by the parts of a sharded eval: %w", data.ErrInvalid)
			}
			if shardFlag == "" {
				table, err := evalBeiBei(cmd.Context(), e, o, nil)
				if err != nil {
					return err
				}
				fmt.Fprint(e.stdout, table)
				if mdOut != "" {
					return os.WriteFile(mdOut, []byte(table), 0o644)
				}
				return nil
			}
			t0 := time.Now()
			ex, err := joinExchange(cmd.Context(), e, exDir, sh, o.title(), exTimeout)
			if err != nil {
				return err
			}
			err = func() error {
				table, err := evalBeiBei(cmd.Context(), e, o, ex)
				if err != nil {
					return err
				}
				part := &train.EvalPart{Format: train.EvalPartFormat, Shard: sh.i, Shards: sh.n, Context: o.title(), BeiBei: table}
				if err := train.WriteEvalPart(partOut, part); err != nil {
					return err
				}
				e.log.Info("evaluated a shard", slog.Int("shard", sh.i), slog.Int("shards", sh.n), slog.String("part", partOut), tookSince(t0))
				fmt.Fprintf(e.stdout, "shard %d/%d: BeiBei's targets ranked with the other parts, the table written to %s; eval merge PART... reports the whole\n",
					sh.i, sh.n, partOut)
				return ex.Close(cmd.Context())
			}()
			return failPart(ex, err)
		},
	}
	f := c.Flags()
	f.StringVar(&o.dir, "data", "beibei", "directory written by grouprank import beibei")
	f.IntVar(&o.bootstrap, "bootstrap", 1000, "bootstrap resamples for the paired intervals")
	f.Uint64Var(&o.seed, "seed", 1, "seed for iALS and the bootstrap")
	f.Float64Var(&o.failW, "failed-weight", 0.2, "iALS weight of a failed launch (a successful one weighs 1)")
	f.Float64Var(&o.joinW, "join-weight", 1, "iALS weight of joining someone's buy")
	f.IntVar(&o.als.Factors, "factors", 64, "iALS factors")
	f.Float32Var(&o.als.Alpha0, "alpha0", o.als.Alpha0, "iALS weight of unobserved pairs")
	f.Float32Var(&o.als.Lambda, "lambda", o.als.Lambda, "iALS regularisation (frequency-scaled)")
	f.IntVar(&o.als.Epochs, "epochs", o.als.Epochs, "iALS epochs")
	f.StringVar(&mdOut, "markdown", "", "also write the table to this file")
	f.IntVar(&o.workers, "workers", 0, "goroutines (0: one per core); the table does not depend on it")
	f.Float64Var(&o.socialW, "social-weight", 0.2, "social: weight of the friends' history against success-popularity scaled to 1")
	f.Float64Var(&o.ialsW, "ials-weight", 1, "pop+ials: weight of the group's iALS scores (scaled to 1) against success-popularity (scaled to 1)")
	f.Float64Var(&o.mixBeta, "mix-beta", 0.2, "pop-mix: log(successes+1) + beta x log(launches+1)")
	f.StringVar(&o.only, "methods", "", "comma-separated methods (success-popular always runs): "+strings.Join(train.BeiBeiMethods, ", "))
	f.StringVar(&o.root, "root", "", "also rank with the current model published in this snapshot root (grouprank train --world DIR, then publish): the model chosen on validation")
	f.StringVar(&shardFlag, "shard", "", "i/n: evaluate as part i of n, all parts at once, each ranking its groups' targets (a hash of their id); eval merge reports the whole")
	f.StringVar(&partOut, "part", "", "with --shard: the file the shard writes the table to")
	f.StringVar(&exDir, "exchange", "", "with --shard: a directory every part reaches (new for each run), through which the parts join their work")
	f.DurationVar(&exTimeout, "exchange-timeout", time.Hour, "with --shard: how long a part waits for the others at a step before it gives up")
	return c
}

// beibeiEval are eval beibei's settings.
type beibeiEval struct {
	dir, only, root                       string
	bootstrap, workers                    int
	seed                                  uint64
	failW, joinW, socialW, mixBeta, ialsW float64
	als                                   train.ALSConfig
}

// title names the evaluation for the parts of a sharded one, which must
// agree on it: the data and every setting but the workers (the parts may
// use different numbers of cores and compute the same table).
func (o beibeiEval) title() string {
	return fmt.Sprintf("eval beibei %s\nmethods=%s failed-weight=%g join-weight=%g factors=%d alpha0=%g lambda=%g epochs=%d social-weight=%g ials-weight=%g mix-beta=%g bootstrap=%d seed=%d",
		filepath.Base(filepath.Clean(o.dir)), o.only, o.failW, o.joinW, o.als.Factors, o.als.Alpha0, o.als.Lambda, o.als.Epochs,
		o.socialW, o.ialsW, o.mixBeta, o.bootstrap, o.seed)
}

// evalBeiBei ranks BeiBei's targets with every method and returns the
// table. ex, when not nil, is the exchange of a sharded eval's part: the
// part solves its share of the iALS vectors and ranks its groups' targets,
// and the targets' figures are joined with the other parts', so every part
// returns the table one process does.
func evalBeiBei(ctx context.Context, e *env, o beibeiEval, ex train.Exchange) (string, error) {
	t0 := time.Now()
	b, err := loadBeiBei(o.dir)
	if err != nil {
		return "", err
	}
	if len(b.Test) == 0 {
		return "", fmt.Errorf("%s: no test row has an initiator with history", filepath.Join(o.dir, importer.BeiBeiTestDir))
	}
	m := b.Matrix(float32(o.failW), float32(o.joinW))
	als := o.als
	als.Seed, als.Workers = o.seed, o.workers
	prog := progress(e, "iALS epochs", als.Epochs)
	var model *train.ALS
	// user u is group u+1 (import beibei), split among the parts as every
	// sharded command splits groups
	partOf := func(u int32) int { return 0 }
	if ex != nil {
		_, n := ex.Part()
		partOf = func(u int32) int { return data.PartOf(data.GroupID(u+1), n) }
		model, err = train.TrainALSParts(ctx, "beibei-ials", m, func(r int) int { return partOf(int32(r)) }, ex, als, prog)
	} else {
		model, err = train.TrainALS(ctx, m, als, prog)
	}
	if err != nil {
		return "", err
	}
	keep := func(string) bool { return true }
	if o.only != "" {
		names := strings.Split(o.only, ",")
		keep = func(m string) bool { return m == "success-popular" || slices.Contains(names, m) }
	}
	methods := b.Methods(m, model, float32(o.socialW), o.mixBeta, float32(o.ialsW), keep)
	var published *publishedModel
	if o.root != "" {
		if published, err = openPublished(o.root, b.Items); err != nil {
			return "", err
		}
		defer published.close()
		methods = append(methods, published.method(func(g int32) []int32 { return b.Seen[g] }))
	}
	targets := b.Test
	var mine []int // with ex: the indices of this part's targets
	if ex != nil {
		me, _ := ex.Part()
		var own []train.Target
		for k, t := range targets {
			if partOf(t.Group) == me {
				own, mine = append(own, t), append(mine, k)
			}
		}
		targets = own
	}
	allowed := make([]bool, b.Items)
	for i := range allowed {
		allowed[i] = true
	}
	groups := map[int32]bool{}
	for _, t := range targets {
		groups[t.Group] = true
	}
	eprog := progress(e, "ranking groups", len(groups))
	res, err := train.EvaluateTargets(ctx, allowed, targets, func(g int32) []int32 { return b.Seen[g] }, methods, o.workers, func(d, _ int) { eprog(d) })
	if err != nil {
		return "", err
	}
	if published != nil && published.err != nil {
		return "", published.err
	}
	if ex != nil {
		// Every target's figures, in the targets' order: this part's
		// placed, the others' joined.
		all := b.Test
		var xs [][]float64 // per method, its three figures
		for r := range res {
			for _, own := range []*[]float64{&res[r].HR10, &res[r].NDCG10, &res[r].HR20} {
				x := make([]float64, len(all))
				for j, k := range mine {
					x[k] = (*own)[j]
				}
				*own, xs = x, append(xs, x)
			}
		}
		pts := &pref.Parts{Ex: ex}
		if err := pts.JoinValues(ctx, "beibei-targets", len(all), func(k int) int { return partOf(all[k].Group) }, xs...); err != nil {
			return "", err
		}
		targets = all
	}
	e.log.Info("evaluated", slog.Int("targets", len(targets)), tookSince(t0))
	return beibeiTable(res, o.bootstrap, o.seed, len(targets)), nil
}

// publishedModel is the current model of a snapshot root, ranking BeiBei's
// groups: user u is group u+1 and item j is SKU j+1, as import beibei maps
// them; it ranks by the model's score under the orders objective.
type publishedModel struct {
	m       *recommend.Model
	close   func()
	at      []int32 // BeiBei item -> catalogue index
	name    string
	errOnce sync.Once
	err     error // the first failed read of a group's record
}

func openPublished(root string, items int) (*publishedModel, error) {
	m, snap, err := loadCurrent(root)
	if err != nil {
		return nil, err
	}
	version := m.Version
	p := &publishedModel{m: m, close: func() { snap.Close() }, at: make([]int32, items), name: "published"}
	cat := m.Ranker.Scorer.Inputs().Cat
	for j := range p.at {
		i, ok := cat.Index[data.SKU(j+1)]
		if !ok {
			snap.Close()
			return nil, fmt.Errorf("model %s: its catalogue lacks sku %d: it was not trained on this import", version, j+1)
		}
		p.at[j] = i
	}
	if md, ok := m.Manifest.Params["method"].(string); ok {
		p.name += " (" + md + ")"
	}
	return p, nil
}

func (p *publishedModel) method(seen func(g int32) []int32) train.Method {
	n := p.m.Ranker.Scorer.Inputs().Cat.Len()
	mapped := make([]bool, n) // catalogue items that are BeiBei items
	for _, i := range p.at {
		mapped[i] = true
	}
	ps := &publishedScorer{p: p, seen: seen}
	ps.pool.New = func() any {
		b := &publishedScratch{top: recommend.NewTopScratch(n, train.ScoreBatch)}
		for range train.ScoreBatch {
			b.s, b.keep = append(b.s, make([]float64, n)), append(b.keep, slices.Clone(mapped))
		}
		return b
	}
	return train.Method{Name: p.name, Scorer: ps}
}

// publishedScorer ranks BeiBei groups with the published model. Only the
// best TargetDepth items of a group count, so TopScoresBatch scores those
// exactly and marks the rest -Inf.
type publishedScorer struct {
	p    *publishedModel
	seen func(g int32) []int32
	pool sync.Pool // of *publishedScratch
}

type publishedScratch struct {
	top  *recommend.TopScratch
	s    [][]float64
	keep [][]bool // catalogue items that may rank: BeiBei items not in the group's history
}

func (ps *publishedScorer) Score(g int32, dst []float32) {
	ps.ScoreBatch([]int32{g}, [][]float32{dst})
}

func (ps *publishedScorer) ScoreBatch(gs []int32, dsts [][]float32) {
	p := ps.p
	b := ps.pool.Get().(*publishedScratch)
	defer ps.pool.Put(b)
	ids := make([]data.GroupID, len(gs))
	for n, g := range gs {
		ids[n] = data.GroupID(g + 1)
		for _, j := range ps.seen(g) {
			b.keep[n][p.at[j]] = false
		}
	}
	err := p.m.TopScoresBatch(ids, "orders", train.TargetDepth, b.keep[:len(gs)], b.s[:len(gs)], b.top)
	for n, g := range gs {
		for _, j := range ps.seen(g) {
			b.keep[n][p.at[j]] = true
		}
	}
	if err != nil {
		p.errOnce.Do(func() { p.err = fmt.Errorf("groups %d..%d: %w", gs[0]+1, gs[len(gs)-1]+1, err) })
		for _, dst := range dsts {
			clear(dst)
		}
		return
	}
	for n, dst := range dsts {
		for j, i := range p.at {
			dst[j] = float32(b.s[n][i])
		}
	}
}

func loadBeiBei(dir string) (*train.BeiBei, error) {
	products, err := parquetio.ReadFile(filepath.Join(dir, parquetio.Products.File), parquetio.Products)
	if err != nil {
		return nil, err
	}
	pushes, err := parquetio.ReadFile(filepath.Join(dir, parquetio.Pushes.File), parquetio.Pushes)
	if err != nil {
		return nil, err
	}
	orders, err := parquetio.ReadFile(filepath.Join(dir, parquetio.Orders.File), parquetio.Orders)
	if err != nil {
		return nil, err
	}
	members, err := parquetio.ReadFile(filepath.Join(dir, parquetio.Members.File), parquetio.Members)
	if err != nil {
		return nil, err
	}
	test, err := parquetio.ReadFile(filepath.Join(dir, importer.BeiBeiTestDir, parquetio.Pushes.File), parquetio.Pushes)
	if err != nil {
		return nil, err
	}
	return train.NewBeiBei(len(products), pushes, orders, members, test)
}

func beibeiTable(res []train.TargetScores, B int, seed uint64, n int) string {
	var sb strings.Builder
	tw := tabwriter.NewWriter(&sb, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "method\tHR@10\tNDCG@10\tRecall@20\tHR@10 - success-popular (95%% CI)\tNDCG@10 - success-popular (95%% CI)\tRecall@20 - success-popular (95%% CI)\n")
	base := res[0]
	// Per metric, every method's difference to the base on the same seeded
	// resamples, drawn once; the three metrics on every core.
	ivs := make([][3]train.Interval, len(res))
	var eg errgroup.Group
	eg.SetLimit(runtime.GOMAXPROCS(0))
	for k := range 3 {
		metric := func(r train.TargetScores) []float64 { return [][]float64{r.HR10, r.NDCG10, r.HR20}[k] }
		var as [][]float64
		var of []int
		for m, r := range res {
			if r.Method != base.Method {
				as, of = append(as, metric(r)), append(of, m)
			}
		}
		eg.Go(func() error {
			for j, iv := range train.PairedBootstraps(as, metric(base), B, seed+uint64(k)) {
				ivs[of[j]][k] = iv
			}
			return nil
		})
	}
	eg.Wait()
	for m, r := range res {
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f", r.Method, meanOf(r.HR10), meanOf(r.NDCG10), meanOf(r.HR20))
		for k := range 3 {
			if r.Method == base.Method {
				fmt.Fprintf(tw, "\t-")
				continue
			}
			iv := ivs[m][k]
			fmt.Fprintf(tw, "\t%+.4f (%+.4f to %+.4f)", iv.Mean, iv.Lo, iv.Hi)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Fprintf(&sb, "\n%d targets; intervals from %d paired bootstrap resamples of the targets\n", n, B)
	return sb.String()
}

func meanOf(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}
