// Package sim previews an A/B test on a synthetic world: every day each
// group's promoter asks for picks through the service's own way of serving
// a list (serving.Lister: the real assignment, the arms' options and
// models), pushes the top of it, and its members order as the world's truth
// says; on a sample of groups every arm is also played without drawing, for
// the true lift the report's intervals should cover. cmd's simulate and
// demo run it.
package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"grouprank/data"
	"grouprank/data/synth"
	"grouprank/recommend"
	"grouprank/recommend/experiment"
	"grouprank/recommend/serving"
)

// Config sets a simulation.
type Config struct {
	Key     string  // the experiment's key (request and event ids)
	K       int     // items in each list shown
	Workers int     // goroutines (the result does not depend on them)
	Seed    uint64  // seed of the draws
	Sample  float64 // share of groups on which every arm is also played
	Explore float64 // share of lists drawn at random, as serve --explore
}

// New is a simulation of experiment x from start, ranking with m (the
// current model; arms' other versions come through lister), the world's
// truth from its day truthDay on.
func New(cfg Config, m *recommend.Model, x *experiment.Experiment, lister *serving.Lister, groups []Group, start data.Timestamp,
	truthDay int, world *synth.World) *Simulation {
	s := &Simulation{cfg: cfg, m: m, x: x, lister: lister, groups: groups, start: start, truthDay: truthDay, sw: world,
		mem: recommend.NewPushMemory(), recent: make([][]recentPush, len(groups))}
	s.shadow = make([]*recommend.PushMemory, len(x.Arms))
	s.shadowRecent = make([][][]recentPush, len(x.Arms))
	s.truth = make([]ArmTruth, len(x.Arms))
	for a := range x.Arms {
		s.shadow[a] = recommend.NewPushMemory()
		s.shadowRecent[a] = make([][]recentPush, len(groups))
		s.truth[a].Arm = x.Arms[a].Name
	}
	return s
}

// Truth is every arm's expected outcomes on the truth sample so far.
func (s *Simulation) Truth() []ArmTruth { return s.truth }

// Group is one group as the simulator plays it.
type Group struct {
	ID       data.GroupID
	Promoter data.PromoterID
	Channel  data.Channel
	Tier     data.CityTier
	Rate     float64 // pushes per day in the world's last two weeks
}

// recentPush is what the truth's fatigue counts.
type recentPush struct {
	day  int
	item data.SKU
	l1   int32
}

// ArmTruth accumulates one arm's expected outcomes on the truth sample.
type ArmTruth struct {
	Arm        string  `json:"arm"`
	Pushes     float64 `json:"pushes"`
	Orders     float64 `json:"expected_orders"`
	Commission float64 `json:"expected_commission"`
	GMV        float64 `json:"expected_gmv"`
}

type Simulation struct {
	cfg          Config
	m            *recommend.Model
	x            *experiment.Experiment
	lister       *serving.Lister // the service's way of serving a list
	groups       []Group
	start        data.Timestamp
	truthDay     int // the world's day index of the first simulated day
	sw           *synth.World
	mem          *recommend.PushMemory
	recent       [][]recentPush
	shadow       []*recommend.PushMemory // per arm: the truth sample's counterfactual pushes
	shadowRecent [][][]recentPush
	truth        []ArmTruth
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
	truth  []ArmTruth // per arm (truth sample only)
}

// pushed is one push to remember.
type pushed struct {
	g   data.GroupID
	sku data.SKU
	t   data.Timestamp
}

// Log is where a simulation writes what it served and what the members
// did: the service's live data (data/store.Live or a shared log).
type Log interface {
	AppendEvents(evs []data.Event) ([]bool, error)
	AppendExposures(exps []data.Exposure) error
}

// Day plays day d for every group, in parallel, and stores the day's
// exposures and events in group order.
func (s *Simulation) Day(d int, live Log) error {
	truth := s.sw.Truth(s.truthDay + d)
	at := s.start + data.Timestamp(d)*data.Day + 9*data.Timestamp(time.Hour/time.Millisecond)
	outs := make([]dayOut, len(s.groups))
	var eg errgroup.Group
	eg.SetLimit(max(s.cfg.Workers, 1))
	var scratches sync.Pool // *recommend.RankScratch, reused across blocks
	const block = 64
	for lo := 0; lo < len(s.groups); lo += block {
		eg.Go(func() error {
			sc, _ := scratches.Get().(*recommend.RankScratch)
			if sc == nil {
				sc = s.m.Ranker.NewScratch()
			}
			defer scratches.Put(sc)
			for gi := lo; gi < min(lo+block, len(s.groups)); gi++ {
				if err := s.play(d, gi, at, truth, sc, &outs[gi]); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return err
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
func (s *Simulation) play(d, gi int, at data.Timestamp, truth *synth.Truth, sc *recommend.RankScratch, out *dayOut) error {
	g := &s.groups[gi]
	r := rand.New(rand.NewPCG(s.cfg.Seed^uint64(d)<<40, uint64(gi)))
	n := min(poissonDraw(r, g.Rate), 20)
	sampled := rand.New(rand.NewPCG(s.cfg.Seed, uint64(gi)|1<<62)).Float64() < s.cfg.Sample // per group, every day
	if n == 0 {
		return nil
	}
	reqID := fmt.Sprintf("sim-%s-d%d-g%d", s.cfg.Key, d, g.ID)
	// the list is served as the service serves it (arms, their model, exploration), and the top k are shown
	list, err := s.lister.Serve(serving.Request{PicksRequest: recommend.PicksRequest{Group: g.ID, K: max(s.cfg.K, n), Now: at, Channel: g.Channel, Tier: g.Tier},
		Promoter: g.Promoter, ID: reqID, Logged: true, Shown: s.cfg.K}, func(m *recommend.Model, req recommend.PicksRequest) (*recommend.Picks, error) {
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
		out.events = append(out.events, data.Event{ID: fmt.Sprintf("%s-p%d", reqID, j), Kind: data.EventPush, Group: g.ID,
			SKU: it.SKU, Time: t, RequestID: reqID, Push: pushID})
		out.pushed = append(out.pushed, pushed{g.ID, it.SKU, t})
		mean := s.expected(truth, g.ID, it.SKU, j+1, d, s.recent[gi])
		s.recent[gi] = remember(s.recent[gi], d, it.SKU, s.l1(it.SKU))
		for o := range min(poissonDraw(r, mean), maxOrdersPerPush) {
			out.events = append(out.events, data.Event{ID: fmt.Sprintf("%s-p%d-o%d", reqID, j, o), Kind: data.EventOrder, Group: g.ID,
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
func (s *Simulation) counterfactual(d, gi, n int, at data.Timestamp, truth *synth.Truth, sc *recommend.RankScratch, out *dayOut) error {
	g := &s.groups[gi]
	out.shadow, out.truth = make([][]pushed, len(s.x.Arms)), make([]ArmTruth, len(s.x.Arms))
	for a, arm := range s.x.Arms {
		req := recommend.PicksRequest{Group: g.ID, K: n, Now: at, Channel: g.Channel, Tier: g.Tier,
			Seed: recommend.ExploreSeed(fmt.Sprintf("sim-%s-d%d-g%d-shadow%d", s.cfg.Key, d, g.ID, a), at), Explore: s.cfg.Explore}
		m, err := s.lister.Apply(&req, arm.Options, s.m)
		if err != nil {
			return err
		}
		picks, err := m.Picks(req, s.shadow[a], scratchFor(m, sc))
		if err != nil {
			return err
		}
		var tt ArmTruth
		for j, it := range picks.Items {
			t := at + data.Timestamp(j)*data.Timestamp(time.Minute/time.Millisecond)
			out.shadow[a] = append(out.shadow[a], pushed{g.ID, it.SKU, t})
			mean := s.expected(truth, g.ID, it.SKU, j+1, d, s.shadowRecent[a][gi])
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
func (s *Simulation) expected(t *synth.Truth, g data.GroupID, sku data.SKU, pos, d int, recent []recentPush) float64 {
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

func (s *Simulation) l1(sku data.SKU) int32 {
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

// scratchFor is sc when it fits m's ranker (the current model's), else a
// new one (an arm's other model version).
func scratchFor(m *recommend.Model, sc *recommend.RankScratch) *recommend.RankScratch {
	if sc.Fits(m.Ranker) {
		return sc
	}
	return m.Ranker.NewScratch()
}

// Groups are the world's groups with their push rates over the 14 days before end.
func Groups(gs []data.Group, pushes []data.Push, end data.Timestamp) []Group {
	out := make([]Group, len(gs))
	index := map[data.GroupID]int{}
	for k, g := range gs {
		out[k] = Group{ID: g.ID, Promoter: g.Promoter, Channel: g.Channel, Tier: g.CityTier}
		index[g.ID] = k
	}
	from := end - 14*data.Day
	for _, p := range pushes {
		if p.Time >= from && p.Time < end {
			if k, ok := index[p.Group]; ok {
				out[k].Rate += 1.0 / 14
			}
		}
	}
	return out
}

// Preperiod copies the world's pushes and placed orders in [from, to) into
// the live store as events (ids "w-p<push>", "w-o<order>"; again is a no-op).
func Preperiod(live Log, pushes []data.Push, orders []data.Order, from, to data.Timestamp) error {
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
