package main

import (
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/viterin/vek/vek32"
	"golang.org/x/sync/errgroup"

	"grouprank/data"
	"grouprank/data/importer"
	"grouprank/data/parquetio"
	"grouprank/data/store"
	"grouprank/recommend"
	"grouprank/recommend/service"
	"grouprank/train"
)

// beibeiMethods are the methods the BeiBei protocol compares; the profile
// model needs categories and prices, which BeiBei lacks.
var beibeiMethods = []string{"success-popular", "launch-popular", "pop-mix", "item-knn", "ials", "pop+ials", "social", "blend"}

func evalBeiBeiCmd(e *env) *cobra.Command {
	var dir, mdOut string
	var bootstrap int
	var seed uint64
	var failW, joinW, socialW, mixBeta, ialsW float64
	var only, root string
	als := train.DefaultALSConfig()
	c := &cobra.Command{
		Use:   "beibei --data DIR",
		Short: "Evaluate on BeiBei with the dataset README's protocol (paired bootstrap against success-popularity)",
		Long: `eval beibei reads a directory written by "grouprank import beibei": history
(tune + invalid, joins included) in DIR, test.txt in DIR/test. Each test row
whose initiator has any history is a target; the whole catalogue is ranked
minus the items already in that group's history. It reports HR@10, NDCG@10 and
Recall@20 (= HR@20) on all targets, and for each method the paired-bootstrap
95% interval of its difference to success-popularity.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t0 := time.Now()
			b, err := loadBeiBei(dir)
			if err != nil {
				return err
			}
			m := b.matrix(float32(failW), float32(joinW))
			als.Seed = seed
			prog := progress(e, "iALS epochs", als.Epochs)
			model, err := train.TrainALS(cmd.Context(), m, als, prog)
			if err != nil {
				return err
			}
			keep := func(string) bool { return true }
			if only != "" {
				names := strings.Split(only, ",")
				keep = func(m string) bool { return m == "success-popular" || slices.Contains(names, m) }
			}
			methods := b.methods(m, model, float32(socialW), mixBeta, float32(ialsW), keep)
			var published *publishedModel
			if root != "" {
				if published, err = openPublished(root, b.items); err != nil {
					return err
				}
				defer published.close()
				methods = append(methods, published.method())
			}
			targets := b.targets()
			if len(targets) == 0 {
				return fmt.Errorf("%s: no test row has an initiator with history", filepath.Join(dir, importer.BeiBeiTestDir))
			}
			allowed := make([]bool, b.items)
			for i := range allowed {
				allowed[i] = true
			}
			eprog := progress(e, "ranking groups", len(b.testGroups()))
			res, err := train.EvaluateTargets(cmd.Context(), allowed, targets, func(g int32) []int32 { return b.seen[g] }, methods, 0, func(d, _ int) { eprog(d) })
			if err != nil {
				return err
			}
			if published != nil && published.err != nil {
				return published.err
			}
			e.log.Info("evaluated", slog.Int("targets", len(targets)), tookSince(t0))
			table := beibeiTable(res, bootstrap, seed, len(targets))
			fmt.Fprint(e.stdout, table)
			if mdOut != "" {
				return os.WriteFile(mdOut, []byte(table), 0o644)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&dir, "data", "beibei", "directory written by grouprank import beibei")
	f.IntVar(&bootstrap, "bootstrap", 1000, "bootstrap resamples for the paired intervals")
	f.Uint64Var(&seed, "seed", 1, "seed for iALS and the bootstrap")
	f.Float64Var(&failW, "failed-weight", 0.2, "iALS weight of a failed launch (a successful one weighs 1)")
	f.Float64Var(&joinW, "join-weight", 1, "iALS weight of joining someone's buy")
	f.IntVar(&als.Factors, "factors", 64, "iALS factors")
	f.Float32Var(&als.Alpha0, "alpha0", als.Alpha0, "iALS weight of unobserved pairs")
	f.Float32Var(&als.Lambda, "lambda", als.Lambda, "iALS regularisation (frequency-scaled)")
	f.IntVar(&als.Epochs, "epochs", als.Epochs, "iALS epochs")
	f.StringVar(&mdOut, "markdown", "", "also write the table to this file")
	f.Float64Var(&socialW, "social-weight", 0.05, "social: weight of the friends' history against success-popularity scaled to 1")
	f.Float64Var(&ialsW, "ials-weight", 0.5, "pop+ials: weight of the group's iALS scores (scaled to 1) against success-popularity (scaled to 1)")
	f.Float64Var(&mixBeta, "mix-beta", 0.05, "pop-mix: log(successes+1) + beta x log(launches+1)")
	f.StringVar(&only, "methods", "", "comma-separated methods (success-popular always runs): "+strings.Join(beibeiMethods, ", "))
	f.StringVar(&root, "root", "", "also rank with the current model published in this snapshot root (grouprank train --world DIR, then publish): the model chosen on validation")
	return c
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
	version, err := store.Current(root)
	if err != nil {
		return nil, err
	}
	m, snap, err := service.OpenModel(root, version)
	if err != nil {
		return nil, err
	}
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

func (p *publishedModel) method() train.Method {
	return train.Method{Name: p.name, Scorer: train.ScorerFunc(func(g int32, dst []float32) {
		s, err := p.m.ScoreAll(data.GroupID(g+1), "orders")
		if err != nil {
			p.errOnce.Do(func() { p.err = fmt.Errorf("group %d: %w", g+1, err) })
			clear(dst)
			return
		}
		for j, i := range p.at {
			dst[j] = float32(s[i].Score)
		}
	})}
}

// beibei is the imported dataset as flat per-user lists.
type beibei struct {
	users, items int
	launches     []launch // history
	test         []train.Target
	hasHistory   []bool
	seen         [][]int32 // per user: items in its group's history (sorted)
	friends      [][]int32 // per user: its group's members and the initiators whose buys it joined
}

type launch struct {
	user, item, buyer int32 // buyer -1: failed launch
}

func loadBeiBei(dir string) (*beibei, error) {
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
	if len(pushes) == 0 {
		return nil, fmt.Errorf("%s: no launches in the history", filepath.Join(dir, parquetio.Pushes.File))
	}
	b := &beibei{items: len(products)}
	for _, m := range members {
		b.users = max(b.users, int(m.Group), int(m.Member))
	}
	for _, p := range append(pushes, test...) {
		b.users = max(b.users, int(p.Group))
		if int(p.SKU) < 1 || int(p.SKU) > b.items {
			return nil, fmt.Errorf("push %d: sku %d outside the %d products", p.ID, p.SKU, b.items)
		}
	}
	buyer := map[data.PushID]int32{}
	for _, o := range orders {
		buyer[o.Push] = int32(o.Buyer) - 1
	}
	b.hasHistory = make([]bool, b.users)
	b.friends = make([][]int32, b.users)
	for _, m := range members {
		g, u := int32(m.Group-1), int32(m.Member-1)
		b.hasHistory[g] = true
		b.hasHistory[u] = true
		if g != u {
			b.friends[g] = append(b.friends[g], u)
			b.friends[u] = append(b.friends[u], g)
		}
	}
	seen := make([][]int32, b.users)
	for _, p := range pushes {
		l := launch{user: int32(p.Group) - 1, item: int32(p.SKU) - 1, buyer: -1}
		if by, ok := buyer[p.ID]; ok {
			l.buyer = by
			seen[by] = append(seen[by], l.item)
		}
		b.launches = append(b.launches, l)
		seen[l.user] = append(seen[l.user], l.item)
	}
	for u := range seen {
		slices.Sort(seen[u])
		seen[u] = slices.Compact(seen[u])
	}
	b.seen = seen
	for _, p := range test {
		u := int32(p.Group) - 1
		if b.hasHistory[u] {
			b.test = append(b.test, train.Target{Group: u, Item: int32(p.SKU) - 1})
		}
	}
	return b, nil
}

func (b *beibei) targets() []train.Target { return b.test }

func (b *beibei) testGroups() map[int32]bool {
	m := map[int32]bool{}
	for _, t := range b.test {
		m[t.Group] = true
	}
	return m
}

// matrix is users x items: a successful launch weighs 1, a failed one
// failW, joining a buy joinW (to the joiner's own row).
func (b *beibei) matrix(failW, joinW float32) *train.Interactions {
	var r, c []int32
	var w []float32
	for _, l := range b.launches {
		r, c = append(r, l.user), append(c, l.item)
		if l.buyer < 0 {
			w = append(w, failW)
			continue
		}
		w = append(w, 1)
		if l.buyer != l.user {
			r, c, w = append(r, l.buyer), append(c, l.item), append(w, joinW)
		}
	}
	return train.NewInteractions(b.users, b.items, r, c, w)
}

// methods are the methods keep admits; the iALS scores are computed once
// per group for all that read them.
func (b *beibei) methods(m *train.Interactions, model *train.ALS, socialW float32, mixBeta float64, ialsW float32, keep func(string) bool) []train.Method {
	succ, all := make([]float32, b.items), make([]float32, b.items)
	for _, l := range b.launches {
		all[l.item]++
		if l.buyer >= 0 {
			succ[l.item]++
		}
	}
	pop := func(p []float32) train.Scorer { return train.Static(p) }
	knn := train.NewItemKNN(m, 50)
	var ials train.Scorer = train.ScorerFunc(func(_ int32, dst []float32) { copy(dst, succ) })
	if model != nil {
		readers := 0
		for _, n := range []string{"ials", "pop+ials", "blend"} {
			if keep(n) {
				readers++
			}
		}
		ials = train.Shared(train.ALSScorer(model, succ), readers)
	}
	var mx float32
	for _, v := range succ {
		mx = max(mx, v)
	}
	succScaled := make([]float32, len(succ))
	vek32.MulNumber_Into(succScaled[:0], succ, 1/mx)
	// social: success-popularity (scaled to 1 at the top) plus socialW times
	// what the group's friends launched and joined (their history rows).
	social := train.ScorerFunc(func(g int32, dst []float32) {
		copy(dst, succScaled)
		for _, f := range b.friends[g] {
			cols, ws := m.Row(int(f))
			for n, i := range cols {
				dst[i] += socialW * ws[n]
			}
		}
	})
	return slices.DeleteFunc([]train.Method{
		{Name: "success-popular", Scorer: pop(succ)},
		{Name: "launch-popular", Scorer: pop(all)},
		{Name: "pop-mix", Scorer: pop(popMix(succ, all, mixBeta))},
		{Name: "item-knn", Scorer: train.ScorerFunc(func(g int32, dst []float32) { knn.Score(m, g, succ, dst) })},
		{Name: "ials", Scorer: ials},
		{Name: "pop+ials", Scorer: train.ScorerFunc(func(g int32, dst []float32) {
			ials.Score(g, dst)
			vek32.MulNumber_Inplace(dst, ialsW/(train.AbsMax(dst)+1e-12))
			vek32.Add_Inplace(dst, succScaled)
		})},
		{Name: "social", Scorer: social},
		{Name: "blend", Scorer: train.RankFusion(200, social, ials, pop(succ))},
	}, func(x train.Method) bool { return !keep(x.Name) })
}

func beibeiTable(res []train.TargetScores, B int, seed uint64, n int) string {
	var sb strings.Builder
	tw := tabwriter.NewWriter(&sb, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "method\tHR@10\tNDCG@10\tRecall@20\tHR@10 - success-popular (95%% CI)\tNDCG@10 - success-popular (95%% CI)\tRecall@20 - success-popular (95%% CI)\n")
	base := res[0]
	// Every interval is its own seeded computation: run them on every core.
	ivs := make([][3]train.Interval, len(res))
	var eg errgroup.Group
	eg.SetLimit(runtime.GOMAXPROCS(0))
	for m, r := range res {
		if r.Method == base.Method {
			continue
		}
		for k, pair := range [][2][]float64{{r.HR10, base.HR10}, {r.NDCG10, base.NDCG10}, {r.HR20, base.HR20}} {
			eg.Go(func() error {
				ivs[m][k] = train.PairedBootstrap(pair[0], pair[1], B, seed+uint64(k))
				return nil
			})
		}
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

// popMix is log(successes+1) + beta log(launches+1): what converts, nudged by
// what initiators choose to launch.
func popMix(succ, all []float32, beta float64) []float32 {
	out := make([]float32, len(succ))
	for i := range out {
		out[i] = float32(math.Log1p(float64(succ[i])) + beta*math.Log1p(float64(all[i])))
	}
	return out
}
