package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"grouprank/data"
	"grouprank/data/parquetio"
	"grouprank/data/store"
	"grouprank/data/synth"
	"grouprank/recommend"
	"grouprank/recommend/experiment"
	"grouprank/recommend/serving"
)

type simulateFlags struct {
	world, root, live, key, out string
	days, workers, k            int
	seed                        uint64
	sample                      float64
	explore                     float64 // serve --explore: the share of lists drawn at random (arms may override)
}

func simulateCmd(e *env) *cobra.Command {
	f := &simulateFlags{}
	c := &cobra.Command{
		Use:   "simulate",
		Short: "Run an experiment day by day against the synthetic world",
		Long: `simulate previews an A/B test on a synthetic world. It starts the experiment
--experiment (a draft in the live store, see grouprank ab create) when the
world's history ends and plays --days days: every day each group's promoter
asks for picks (the real assignment and the real ranker of the current
snapshot, exposures logged as the service logs them), pushes the top of the
list as often as it pushed in the world's last two weeks, and its members
order as the world's truth says (orders drawn from it, never shown to the
ranker). The world's last pre_days of pushes and orders go into the live
store first, as the pre-period CUPED reads. Then it stops the experiment:
grouprank ab report reads the result. Beside it, on a --truth-sample of the
groups, every arm is also played without drawing (expected orders from the
truth): the true lift the report's intervals should cover.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSimulate(cmd.Context(), e, f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.world, "world", "world", "synthetic world directory (grouprank gen)")
	fl.StringVar(&f.root, "root", "snapshots", "snapshot root: the current model ranks")
	fl.StringVar(&f.live, "live", "live", "live store that receives the experiment's exposures and events")
	fl.StringVar(&f.key, "experiment", "", "the experiment to run (a draft in the live store)")
	fl.IntVar(&f.days, "days", 14, "days to simulate")
	fl.IntVar(&f.k, "k", 10, "items in each list shown")
	fl.IntVar(&f.workers, "workers", 0, "goroutines (0: one per core); the result does not depend on it")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of the draws")
	fl.Float64Var(&f.sample, "truth-sample", 0.1, "share of groups on which every arm is also played for the true lift")
	fl.Float64Var(&f.explore, "explore", 0, "share of lists drawn at random, as serve --explore (an arm's explore option overrides it)")
	fl.StringVar(&f.out, "truth-out", "", "write the true values per arm as JSON to this file")
	return c
}

// simGroup is one group as the simulator plays it.
type simGroup struct {
	id       data.GroupID
	promoter data.PromoterID
	channel  data.Channel
	tier     data.CityTier
	rate     float64 // pushes per day in the world's last two weeks
}

// recentPush is what the truth's fatigue counts.
type recentPush struct {
	day  int
	item data.SKU
	l1   int32
}

// armTruth accumulates one arm's expected outcomes on the truth sample.
type armTruth struct {
	Arm        string  `json:"arm"`
	Pushes     float64 `json:"pushes"`
	Orders     float64 `json:"expected_orders"`
	Commission float64 `json:"expected_commission"`
	GMV        float64 `json:"expected_gmv"`
}

func runSimulate(ctx context.Context, e *env, f *simulateFlags) error {
	t0 := time.Now()
	if f.key == "" {
		return fmt.Errorf("simulate: --experiment is required")
	}
	if f.workers <= 0 {
		f.workers = runtime.GOMAXPROCS(0)
	}
	man, err := synth.ReadManifest(f.world)
	if err != nil {
		return fmt.Errorf("simulate needs a synthetic world (its truth): %w", err)
	}
	sw, err := synth.Rebuild(man.Params)
	if err != nil {
		return err
	}
	m, snap, err := loadCurrent(f.root)
	if err != nil {
		return err
	}
	defer snap.Close()
	live, reg, err := openExperiments(f.live, f.root)
	if err != nil {
		return err
	}
	defer live.Close()
	x, err := reg.Get(f.key)
	if err != nil {
		return err
	}
	if x.Status != experiment.Draft {
		return fmt.Errorf("simulate: experiment %q is %s: simulate runs a draft from its start (create a new one)", f.key, x.Status)
	}
	start := data.TimestampOf(man.Params.Start.AddDate(0, 0, man.Params.Days))
	groups, err := simGroups(f.world, start)
	if err != nil {
		return err
	}
	if err := preperiod(live, f.world, start-data.Timestamp(x.PreDays)*data.Day, start); err != nil {
		return err
	}
	if x, err = reg.Start(f.key, start); err != nil {
		return err
	}
	m.Ranker.EnableDotCache(2 * len(groups))
	m.Warm()
	e.log.Info("simulating", slog.String("experiment", f.key), slog.Int("groups", len(groups)), slog.Int("days", f.days),
		slog.String("model_version", m.Version))
	others := newOtherVersions(f.root)
	defer others.close()
	asg := reg.Assigner()
	s := &simulation{f: f, m: m, x: x, groups: groups, start: start, truthDay: man.Params.Days, sw: sw,
		mem: recommend.NewPushMemory(), recent: make([][]recentPush, len(groups)),
		lister: &serving.Lister{Model: func() *recommend.Model { return m }, Assigner: func() *experiment.Assigner { return asg },
			Version: others.get, Explore: f.explore}}
	s.shadow = make([]*recommend.PushMemory, len(x.Arms))
	s.shadowRecent = make([][][]recentPush, len(x.Arms))
	s.truth = make([]armTruth, len(x.Arms))
	for a := range x.Arms {
		s.shadow[a] = recommend.NewPushMemory()
		s.shadowRecent[a] = make([][]recentPush, len(groups))
		s.truth[a].Arm = x.Arms[a].Name
	}
	prog := progress(e, "simulating days", f.days)
	for d := range f.days {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.day(d, live); err != nil {
			return err
		}
		prog(d + 1)
	}
	if _, err := reg.Stop(f.key, start+data.Timestamp(f.days)*data.Day); err != nil {
		return err
	}
	return s.printTruth(e, time.Since(t0))
}

// simGroups reads the world's groups and their push rates over its last 14 days.
func simGroups(world string, end data.Timestamp) ([]simGroup, error) {
	gs, err := parquetio.ReadFile(world+"/"+parquetio.Groups.File, parquetio.Groups)
	if err != nil {
		return nil, err
	}
	out := make([]simGroup, len(gs))
	index := map[data.GroupID]int{}
	for k, g := range gs {
		out[k] = simGroup{id: g.ID, promoter: g.Promoter, channel: g.Channel, tier: g.CityTier}
		index[g.ID] = k
	}
	from := end - 14*data.Day
	pushes, err := parquetio.ReadFile(world+"/"+parquetio.Pushes.File, parquetio.Pushes)
	if err != nil {
		return nil, err
	}
	for _, p := range pushes {
		if p.Time >= from && p.Time < end {
			if k, ok := index[p.Group]; ok {
				out[k].rate += 1.0 / 14
			}
		}
	}
	return out, nil
}

// preperiod copies the world's pushes and placed orders in [from, to) into
// the live store as events (ids "w-p<push>", "w-o<order>"; again is a no-op).
func preperiod(live *store.Live, world string, from, to data.Timestamp) error {
	if from >= to {
		return nil
	}
	var batch []data.Event
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := live.AppendEvents(batch)
		batch = batch[:0]
		return err
	}
	pushes, err := parquetio.ReadFile(world+"/"+parquetio.Pushes.File, parquetio.Pushes)
	if err != nil {
		return err
	}
	for _, p := range pushes {
		if p.Time >= from && p.Time < to {
			batch = append(batch, data.Event{ID: "w-p" + strconv.FormatInt(int64(p.ID), 10), Kind: data.EventPush, Group: p.Group,
				SKU: p.SKU, Time: p.Time, Push: p.ID, RequestID: p.RequestID}) // "": the promoter found it (features.ItemStats.Found)
			if len(batch) == 5000 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	orders, err := parquetio.ReadFile(world+"/"+parquetio.Orders.File, parquetio.Orders)
	if err != nil {
		return err
	}
	for _, o := range orders {
		if o.Time >= from && o.Time < to && o.Status == data.StatusPlaced && o.AmountCents >= 0 {
			batch = append(batch, data.Event{ID: "w-o" + strconv.FormatInt(int64(o.ID), 10), Kind: data.EventOrder, Group: o.Group,
				SKU: o.SKU, Time: o.Time, Order: o.ID, Quantity: o.Quantity, AmountCents: o.AmountCents, Push: o.Push})
			if len(batch) == 5000 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

type simulation struct {
	f            *simulateFlags
	m            *recommend.Model
	x            *experiment.Experiment
	lister       *serving.Lister // the service's way of serving a list
	groups       []simGroup
	start        data.Timestamp
	truthDay     int // the world's day index of the first simulated day
	sw           *synth.World
	mem          *recommend.PushMemory
	recent       [][]recentPush
	shadow       []*recommend.PushMemory // per arm: the truth sample's counterfactual pushes
	shadowRecent [][][]recentPush
	truth        []armTruth
}

// dayOut is one group's output of a day. Its pushes reach the shared push
// memories (and its truth the arms' totals) only after every group has
// played the day, in group order: a group's list never depends on which
// other groups a worker happened to play first, so the result is the same
// for any number of workers.
type dayOut struct {
	exps   []data.Exposure
	events []data.Event
	pushed []pushed   // into s.mem
	shadow [][]pushed // per arm, into s.shadow[arm]
	truth  []armTruth // per arm (truth sample only)
}

// pushed is one push to remember.
type pushed struct {
	g   data.GroupID
	sku data.SKU
	t   data.Timestamp
}

// day plays day d for every group, in parallel, and stores the day's
// exposures and events in group order.
func (s *simulation) day(d int, live *store.Live) error {
	truth := s.sw.Truth(s.truthDay + d)
	at := s.start + data.Timestamp(d)*data.Day + 9*data.Timestamp(time.Hour/time.Millisecond)
	outs := make([]dayOut, len(s.groups))
	errs := make([]error, s.f.workers)
	var wg sync.WaitGroup
	for w := range s.f.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := s.m.Ranker.NewScratch()
			for gi := w; gi < len(s.groups); gi += s.f.workers {
				if err := s.play(d, gi, at, truth, sc, &outs[gi]); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	for k := range outs {
		for _, p := range outs[k].pushed {
			s.mem.Add(p.g, p.sku, p.t)
		}
		for a, ps := range outs[k].shadow {
			for _, p := range ps {
				s.shadow[a].Add(p.g, p.sku, p.t)
			}
		}
		for a, tt := range outs[k].truth {
			s.truth[a].Pushes += tt.Pushes
			s.truth[a].Orders += tt.Orders
			s.truth[a].GMV += tt.GMV
			s.truth[a].Commission += tt.Commission
		}
	}
	var exps []data.Exposure
	var evs []data.Event
	for k := range outs {
		exps = append(exps, outs[k].exps...)
		evs = append(evs, outs[k].events...)
		if len(evs) >= 5000 {
			if _, err := live.AppendEvents(evs); err != nil {
				return err
			}
			evs = evs[:0]
		}
		if len(exps) >= 20000 {
			if err := live.AppendExposures(exps); err != nil {
				return err
			}
			exps = exps[:0]
		}
	}
	if _, err := live.AppendEvents(evs); err != nil {
		return err
	}
	return live.AppendExposures(exps)
}

// maxOrdersPerPush bounds the orders one simulated push yields (a fifth of
// a 500-member group at most, by the truth's saturation), so that order ids
// (push id x maxOrdersPerPush + n) never collide.
const maxOrdersPerPush = 1024

// play is one group's day: a list, the pushes from its top, orders drawn
// from the truth; on the truth sample, every arm's expected outcome too.
func (s *simulation) play(d, gi int, at data.Timestamp, truth *synth.Truth, sc *recommend.RankScratch, out *dayOut) error {
	g := &s.groups[gi]
	r := rand.New(rand.NewPCG(s.f.seed^uint64(d)<<40, uint64(gi)))
	n := min(poissonDraw(r, g.rate), 20)
	sampled := rand.New(rand.NewPCG(s.f.seed, uint64(gi)|1<<62)).Float64() < s.f.sample // per group, every day
	if n == 0 {
		return nil
	}
	reqID := fmt.Sprintf("sim-%s-d%d-g%d", s.f.key, d, g.id)
	// the list is served as the service serves it (arms, their model, exploration), and the top k are shown
	list, err := s.lister.Serve(serving.Request{PicksRequest: recommend.PicksRequest{Group: g.id, K: max(s.f.k, n), Now: at, Channel: g.channel, Tier: g.tier},
		Promoter: g.promoter, ID: reqID, Logged: true, Shown: s.f.k}, func(m *recommend.Model, req recommend.PicksRequest) (*recommend.Picks, error) {
		return m.Picks(req, s.mem, scratchFor(m, sc))
	})
	if err != nil {
		return err
	}
	picks := list.Picks
	out.exps = list.Exposures
	for j, it := range picks.Items[:min(n, len(picks.Items))] {
		t := at + data.Timestamp(j)*data.Timestamp(time.Minute/time.Millisecond)
		pushID := data.PushID(int64(1)<<50 + (int64(d)*int64(len(s.groups))+int64(gi))*32 + int64(j))
		out.events = append(out.events, data.Event{ID: fmt.Sprintf("%s-p%d", reqID, j), Kind: data.EventPush, Group: g.id,
			SKU: it.SKU, Time: t, RequestID: reqID, Push: pushID})
		out.pushed = append(out.pushed, pushed{g.id, it.SKU, t})
		mean := s.expected(truth, g.id, it.SKU, j+1, d, s.recent[gi])
		s.recent[gi] = remember(s.recent[gi], d, it.SKU, s.l1(it.SKU))
		for o := range min(poissonDraw(r, mean), maxOrdersPerPush) {
			out.events = append(out.events, data.Event{ID: fmt.Sprintf("%s-p%d-o%d", reqID, j, o), Kind: data.EventOrder, Group: g.id,
				SKU: it.SKU, Time: t + data.Timestamp(o+1)*data.Timestamp(time.Hour/time.Millisecond), Order: data.OrderID(int64(pushID)*maxOrdersPerPush + int64(o)),
				Quantity: 1, AmountCents: *it.PriceCents, Push: pushID})
		}
	}
	if sampled {
		return s.counterfactual(d, gi, n, at, truth, sc, out)
	}
	return nil
}

// counterfactual plays every arm for group gi on its own shadow history and
// adds the expected outcomes to the arm's truth.
func (s *simulation) counterfactual(d, gi, n int, at data.Timestamp, truth *synth.Truth, sc *recommend.RankScratch, out *dayOut) error {
	g := &s.groups[gi]
	out.shadow, out.truth = make([][]pushed, len(s.x.Arms)), make([]armTruth, len(s.x.Arms))
	for a, arm := range s.x.Arms {
		req := recommend.PicksRequest{Group: g.id, K: n, Now: at, Channel: g.channel, Tier: g.tier,
			Seed: recommend.ExploreSeed(fmt.Sprintf("sim-%s-d%d-g%d-shadow%d", s.f.key, d, g.id, a), at), Explore: s.f.explore}
		m, err := s.lister.Apply(&req, arm.Options, s.m)
		if err != nil {
			return err
		}
		picks, err := m.Picks(req, s.shadow[a], scratchFor(m, sc))
		if err != nil {
			return err
		}
		var tt armTruth
		for j, it := range picks.Items {
			t := at + data.Timestamp(j)*data.Timestamp(time.Minute/time.Millisecond)
			out.shadow[a] = append(out.shadow[a], pushed{g.id, it.SKU, t})
			mean := s.expected(truth, g.id, it.SKU, j+1, d, s.shadowRecent[a][gi])
			s.shadowRecent[a][gi] = remember(s.shadowRecent[a][gi], d, it.SKU, s.l1(it.SKU))
			tt.Pushes++
			tt.Orders += mean
			tt.GMV += mean * float64(*it.PriceCents) / 100
			tt.Commission += mean * float64(*it.PriceCents) / 100 * s.m.CommissionRate(it.SKU)
		}
		out.truth[a] = tt
	}
	return nil
}

// expected is the truth's expected orders of pushing sku to g at the given
// position of day d, with the fatigue of the group's recent pushes (the same
// item in the last 7 days, its category in the last 3).
func (s *simulation) expected(t *synth.Truth, g data.GroupID, sku data.SKU, pos, d int, recent []recentPush) float64 {
	var ago []int
	cat, l1 := 0, s.l1(sku)
	for _, p := range recent {
		age := d - p.day
		if age <= 7 && p.item == sku {
			ago = append(ago, age)
		}
		if age <= 3 && p.l1 == l1 {
			cat++
		}
	}
	return t.ExpectedAt(g, sku, pos, ago, cat)
}

func (s *simulation) l1(sku data.SKU) int32 {
	cat := s.m.Ranker.Scorer.Inputs().Cat
	if i, ok := cat.Index[sku]; ok {
		return cat.L1[i]
	}
	return -1
}

// remember keeps the last 16 pushes, as the generator does.
func remember(l []recentPush, d int, sku data.SKU, l1 int32) []recentPush {
	l = append(l, recentPush{d, sku, l1})
	if len(l) > 16 {
		l = l[len(l)-16:]
	}
	return l
}

func poissonDraw(r *rand.Rand, mean float64) int {
	if mean <= 0 {
		return 0
	}
	l, k, p := math.Exp(-mean), 0, r.Float64()
	for p > l {
		k++
		p *= r.Float64()
	}
	return k
}

func (s *simulation) printTruth(e *env, took time.Duration) error {
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "experiment %s: %d days simulated in %s. True values on the truth sample (every arm played, expected outcomes):\n",
		s.x.Key, s.f.days, took.Round(time.Second))
	fmt.Fprintln(tw, "ARM\tPUSHES\tORDERS/PUSH\tCOMMISSION/PUSH\tGMV/PUSH\tTRUE LIFT ORDERS/PUSH\tTRUE LIFT COMMISSION/PUSH")
	c := s.truth[0]
	for _, t := range s.truth {
		fmt.Fprintf(tw, "%s\t%.0f\t%.4f\t%.3f\t%.2f\t%+.1f%%\t%+.1f%%\n", t.Arm, t.Pushes, t.Orders/t.Pushes, t.Commission/t.Pushes,
			t.GMV/t.Pushes, 100*((t.Orders/t.Pushes)/(c.Orders/c.Pushes)-1), 100*((t.Commission/t.Pushes)/(c.Commission/c.Pushes)-1))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "now: grouprank ab report %s --live %s --root %s\n", s.x.Key, s.f.live, s.f.root)
	if s.f.out != "" {
		b, _ := json.MarshalIndent(map[string]any{"experiment": s.x.Key, "days": s.f.days, "sample": s.f.sample, "arms": s.truth}, "", "  ")
		return os.WriteFile(s.f.out, append(b, '\n'), 0o644)
	}
	return nil
}

// scratchFor is sc when it fits m's ranker (the current model's), else a
// new one (an arm's other model version).
func scratchFor(m *recommend.Model, sc *recommend.RankScratch) *recommend.RankScratch {
	if sc.Fits(m.Ranker) {
		return sc
	}
	return m.Ranker.NewScratch()
}
