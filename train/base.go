package train

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"

	"grouprank/data"
	"grouprank/features"
	"grouprank/recommend"
)

// BaseConfig sets how profiles, statistics and factors are built.
type BaseConfig struct {
	Profile    features.Config
	Stats      features.StatsConfig
	ALS        ALSConfig
	Confidence float32 // iALS weight of an observed pair: 1 + Confidence x decayed units
}

// DefaultBaseConfig matches grouprank eval's defaults.
func DefaultBaseConfig() BaseConfig {
	return BaseConfig{Profile: features.DefaultConfig(), Stats: features.DefaultStatsConfig(), ALS: DefaultALSConfig(), Confidence: 1}
}

// History is the whole record as dense events over one catalogue index, with
// every push's attributed outcome. It keeps no row of the data it was built
// from: at a million groups the pushes as read (their request ids above all)
// and their outcomes would be a third of what training holds.
type History struct {
	Timeline *Timeline
	Index    *features.Catalog // the catalogue at the end of the data: fixes item indices
	Groups   *features.Groups
	Report   data.AttributionReport
	orders   *features.Events // placed orders
	pushes   *features.Events // pushes of known groups and items, Converted = at least one attributed order
	// pushKey is, per pushes event, the key (data.RequestKey) of the
	// request id of the list it was picked from (0 for a push found outside
	// any list), until MarkRandom has used it (nil after).
	pushKey []uint64
	// random marks, per pushes event, a push out of a randomised list (nil:
	// none known).
	random    []bool
	pushCount int // every push read, those of unknown groups or items included
	converted int // of which at least one order was attributed to
	placed    int // placed orders of known groups and items (h.orders.Len())
	// pushRow is, per pushes event, its row in the whole job's pushes (nil:
	// its own index): the order of the examples over every part.
	pushRow []int64
	shard   *Shard // nil: the whole job
	// The pushes by group in time order for the fatigue counts (PushLog),
	// built on first use: at a million groups its 0.4 GB is then not held
	// beside the rows the history is built from.
	log        *features.PushLog
	logOnce    sync.Once
	activeOnce sync.Once
	// Per group, its placed orders' times in order (active): group g's are
	// orderTimes[orderAt[g]:orderAt[g+1]], one array rather than a slice a
	// group, which at a million groups costs a fifth more in headers and
	// spare room.
	orderTimes []data.Timestamp
	orderAt    []int32
	// Shown is the log of the lists shown to promoters (nil when there are
	// no exposures); the profiles measure the promoters' picks against it.
	// Fill it with History.NewShownBuilder (before MarkRandom), or
	// features.NewShownBuilder over Index, Groups and the pushes.
	Shown *features.Shown
	// The profiles and statistics Prepare built ahead, by instant, for
	// BuildBase and BuildProfiles to take (once each; not nil once Prepare
	// let the shown lists go), and the configuration they were built with.
	prepared    map[data.Timestamp]*Base
	preparedCfg BaseConfig
	hadShown    bool // Prepare let go of shown lists (not nil)
}

// ReadShown reports whether the profiles are built with shown lists: the
// lists are held, or Prepare built with them before it let them go.
func (h *History) ReadShown() bool { return h.Shown != nil || h.hadShown }

// ErrShownReleased is BuildBase's or BuildProfiles' error at an instant
// Prepare did not build ahead, once it let the shown lists go.
var ErrShownReleased = errors.New("train: the shown lists were let go (Prepare) before the base at this instant was built")

// Prepare builds ahead the profiles and item statistics (the parts of a base
// that read the shown lists) at each of the instants, with cfg, for
// BuildBase and BuildProfiles to take, and then lets the shown lists go. At a
// million groups the lists hold 1.5 GB, three times a base's profiles, and
// training would otherwise keep them through its highest live heap (the
// conversion examples) for the serving base built last. The bases built are
// the same as without it; BuildBase at any other instant fails after it
// (ErrShownReleased), as would BuildBase or BuildProfiles with another
// configuration.
func (h *History) Prepare(cfg BaseConfig, at ...data.Timestamp) {
	if h.prepared == nil {
		h.prepared = map[data.Timestamp]*Base{}
	}
	h.preparedCfg = cfg
	for _, t := range at {
		if _, ok := h.prepared[t]; !ok {
			h.prepared[t] = h.buildProfiles(t, cfg)
		}
	}
	h.hadShown = h.hadShown || h.Shown != nil
	h.Shown = nil
}

// takeProfiles returns the profiles and statistics Prepare built at the
// instant (removing them), nil when it built none there and the shown
// lists are still held, or ErrShownReleased.
func (h *History) takeProfiles(at data.Timestamp, cfg BaseConfig) (*Base, error) {
	b, ok := h.prepared[at]
	switch {
	case ok && !reflect.DeepEqual(cfg.Profile, h.preparedCfg.Profile), ok && !reflect.DeepEqual(cfg.Stats, h.preparedCfg.Stats):
		return nil, fmt.Errorf("train: the base at %s was prepared with another profile or statistics configuration", at)
	case ok:
		delete(h.prepared, at)
		return b, nil
	case h.prepared != nil:
		return nil, fmt.Errorf("%w (%s)", ErrShownReleased, at)
	}
	return nil, nil
}

// rowBlock is how many rows TakeHistory and Examples count, copy or
// compute as one task: a Compact block, so that Examples encodes each
// task's rows as one.
const rowBlock = compactRows

// eachRowBlock calls fn for the blocks of rowBlock rows of n, on every core.
func eachRowBlock(n int, fn func(b, lo, hi int)) {
	var eg errgroup.Group
	eg.SetLimit(runtime.GOMAXPROCS(0))
	for b := 0; b*rowBlock < n; b++ {
		eg.Go(func() error {
			fn(b, b*rowBlock, min(n, (b+1)*rowBlock))
			return nil
		})
	}
	eg.Wait() //nolint:errcheck // the blocks return no error
}

// rowBlocks counts the rows of n that keep keeps, block by block: at[b] is
// how many rows of the blocks before b it keeps, total how many of all.
func rowBlocks(n int, keep func(n int) (int32, int32, bool)) (at []int, total int) {
	counts := make([]int, (n+rowBlock-1)/rowBlock)
	eachRowBlock(n, func(b, lo, hi int) {
		for r := lo; r < hi; r++ {
			if _, _, k := keep(r); k {
				counts[b]++
			}
		}
	})
	at = make([]int, len(counts))
	for b, c := range counts {
		at[b] = total
		total += c
	}
	return at, total
}

// NewHistory attributes orders to pushes and indexes everything over the
// catalogue as it stands at end. It keeps no reference to changes, groups,
// orders or pushes; TakeHistory builds the same history and lets the caller's
// rows go as it goes.
func NewHistory(changes []data.CatalogChange, groups []data.Group, orders []data.Order, pushes []data.Push, end, window data.Timestamp) *History {
	return TakeHistory(changes, groups, &orders, &pushes, end, window)
}

// TakeHistory is NewHistory that takes the order and push rows: it sets
// *orders to nil once the orders' columns are built and *pushes once the
// pushes' are, so that (the caller holding no other reference) each can be
// freed before the next columns are allocated. At a million groups the rows
// take 4 GB, and holding them beside the whole history was training's
// highest live heap.
func TakeHistory(changes []data.CatalogChange, groups []data.Group, orders *[]data.Order, pushes *[]data.Push, end, window data.Timestamp) *History {
	return TakeHistoryRows(changes, groups, orders, pushes, nil, end, window)
}

// TakeHistoryRows is TakeHistory for one part of a sharded job (SetShard):
// groups, orders and pushes are the part's own, and pushRows holds each
// push's row among every part's pushes (nil: one process's).
func TakeHistoryRows(changes []data.CatalogChange, groups []data.Group, orders *[]data.Order, pushes *[]data.Push, pushRows []int64,
	end, window data.Timestamp) *History {
	h := &History{Timeline: NewTimeline(changes), Groups: features.NewGroups(groups), pushCount: len(*pushes)}
	h.Index = h.Timeline.At(end)
	credited, credit, report := data.AttributeCounts(*pushes, *orders, window)
	h.Report = report
	// The columns are sized up front: at a million groups they run to
	// gigabytes, and growing them by appending leaves up to a quarter spare.
	// The rows are counted, then copied, block by block on every core, each
	// block into its own range of the columns: the same columns in the
	// same order as one pass would build.
	keepOrder := func(n int) (g, i int32, keep bool) {
		o := &(*orders)[n]
		i, ok := h.Index.Index[o.SKU]
		g, gok := h.Groups.Index[o.Group]
		return g, i, ok && gok && o.Status == data.StatusPlaced
	}
	keepPush := func(n int) (g, i int32, keep bool) {
		p := &(*pushes)[n]
		i, ok := h.Index.Index[p.SKU]
		g, gok := h.Groups.Index[p.Group]
		return g, i, ok && gok
	}
	orderAt, no := rowBlocks(len(*orders), keepOrder)
	pushAt, np := rowBlocks(len(*pushes), keepPush)
	// (Without rows, columns stay nil: a nil mark column says the marks
	// are missing.)
	h.orders, h.pushes = &features.Events{}, &features.Events{}
	if no > 0 {
		h.orders = &features.Events{Group: make([]int32, no), Item: make([]int32, no), Time: make([]data.Timestamp, no),
			Qty: make([]float32, no), Organic: make([]bool, no)}
		eachRowBlock(len(*orders), func(b, lo, hi int) {
			at := orderAt[b]
			for n := lo; n < hi; n++ {
				g, i, keep := keepOrder(n)
				if !keep {
					continue
				}
				o := &(*orders)[n]
				h.orders.Group[at], h.orders.Item[at], h.orders.Time[at] = g, i, o.Time
				h.orders.Qty[at], h.orders.Organic[at] = float32(o.Quantity), credit[n] < 0
				at++
			}
		})
	}
	*orders, credit = nil, nil
	for _, c := range credited {
		if c > 0 {
			h.converted++
		}
	}
	if np > 0 {
		h.pushes = &features.Events{Group: make([]int32, np), Item: make([]int32, np), Time: make([]data.Timestamp, np),
			Converted: make([]bool, np), Orders: make([]float32, np), Found: make([]bool, np)}
		h.pushKey = make([]uint64, np)
		if pushRows != nil {
			h.pushRow = make([]int64, np)
		}
		eachRowBlock(len(*pushes), func(b, lo, hi int) {
			at := pushAt[b]
			for n := lo; n < hi; n++ {
				g, i, keep := keepPush(n)
				if !keep {
					continue
				}
				p := &(*pushes)[n]
				h.pushes.Group[at], h.pushes.Item[at], h.pushes.Time[at] = g, i, p.Time
				h.pushes.Converted[at], h.pushes.Orders[at] = credited[n] > 0, float32(credited[n])
				h.pushes.Found[at] = p.RequestID == ""
				if h.pushRow != nil {
					h.pushRow[at] = pushRows[n]
				}
				if p.RequestID != "" {
					h.pushKey[at] = data.RequestKey(p.RequestID)
				}
				at++
			}
		})
	}
	*pushes = nil
	h.placed = h.orders.Len()
	return h
}

// SetShard makes h one part of a sharded job (TakeHistoryRows): the
// counts it reports become the whole job's, and what it builds over its
// groups (profiles, statistics, factors, the conversion fits) joins the
// other parts' through sh, with the bits of one process's build. Call it
// before anything is built.
func (h *History) SetShard(sh *Shard) error {
	h.shard = sh
	h.Groups.Parts = sh.Parts
	r := &h.Report
	no, np := h.orders.Len(), h.pushes.Len()
	if err := sh.AddCounts(&h.pushCount, &h.converted, &h.placed, &no, &np, &r.Orders, &r.ByLink, &r.ByWindow, &r.Unmatched,
		&r.DeadLinks, &r.Cancelled, &r.Refunded, &r.LateWindow); err != nil {
		return err
	}
	// A column is nil when the world lacks it: so it is, in every part,
	// only when no part has a row.
	if no > 0 && h.orders.Group == nil {
		h.orders = features.NoOrders()
	}
	if np > 0 && h.pushes.Group == nil {
		h.pushes = features.NoPushes()
		h.pushKey, h.pushRow = []uint64{}, []int64{}
	}
	return nil
}

// PushLog is every group's pushes in time order, for the fatigue counts.
func (h *History) PushLog() *features.PushLog {
	h.logOnce.Do(func() { h.log = features.NewPushLog(h.Groups.Len(), h.pushes, h.Index) })
	return h.log
}

// NewShownBuilder returns a builder of the shown lists over the history's
// catalogue index and groups that knows which of its lists' items were
// pushed from them (the pushes carrying the list's request id), before
// MarkRandom.
func (h *History) NewShownBuilder() *features.ShownBuilder {
	return features.NewShownBuilderOf(h.Index, h.Groups, len(h.pushKey), func(e int) (uint64, data.SKU, bool) {
		return h.pushKey[e], h.Index.Products[h.pushes.Item[e]].SKU, !h.pushes.Found[e]
	})
}

// MarkRandom marks the pushes picked from a randomised list, random holding
// their request ids' keys (data.RequestKey; RandomLists finds the lists).
// The pushes' request keys are let go after it.
func (h *History) MarkRandom(random map[uint64]bool) {
	h.random = make([]bool, len(h.pushKey))
	for e, key := range h.pushKey {
		h.random[e] = !h.pushes.Found[e] && random[key]
	}
	h.pushKey = nil
}

// Base is what the scorer is built on at one instant: profiles, item
// statistics and iALS factors from the history strictly before it.
type Base struct {
	At       data.Timestamp
	Profiles *features.Profiles
	Stats    *features.ItemStats
	ALS      *ALS
	History  *Interactions // the iALS input: groups x items confidence weights
	// RatingMean is the review-weighted good-review rate of the catalogue; ConvMean the conversion per push.
	RatingMean, ConvMean float64
}

// BuildBase builds profiles, statistics and factors from the history before
// at. epochDone, when not nil, is called with 0 once the profiles and
// statistics are built, then after each iALS epoch with its number.
func (h *History) BuildBase(ctx context.Context, at data.Timestamp, cfg BaseConfig, epochDone func(int)) (*Base, error) {
	b, err := h.takeProfiles(at, cfg)
	if err != nil {
		return nil, err
	}
	if b == nil {
		b = h.buildProfiles(at, cfg)
	}
	if epochDone != nil {
		epochDone(0)
	}
	m := HistoryMatrix(h.orders.Before(at), h.Groups.Len(), h.Timeline.At(at).Len(), at, cfg.Profile.HalfLifeDays, cfg.Confidence, 0)
	var als *ALS
	if h.shard == nil {
		als, err = TrainALS(ctx, m, cfg.ALS, epochDone)
	} else {
		als, err = h.trainALSParts(ctx, fmt.Sprintf("ials-%d", at), m, cfg.ALS, epochDone)
	}
	if err != nil {
		return nil, err
	}
	b.ALS, b.History = als, m
	return b, nil
}

// trainALSParts fits iALS on m (the part's groups' rows) with the other
// parts and keeps its groups' vectors (Shard.TrainALS).
func (h *History) trainALSParts(ctx context.Context, name string, m *Interactions, cfg ALSConfig, epochDone func(int)) (*ALS, error) {
	return h.shard.TrainALS(ctx, name, h.Groups.IDs, m, cfg, epochDone)
}

// active is recommend.Group.Active of group g at instant t: its placed
// orders in the ActiveDays before t, at most MaxRecentOrders.
func (h *History) active(g int32, t data.Timestamp) float32 {
	h.activeOnce.Do(func() {
		G := h.Groups.Len()
		h.orderAt = make([]int32, G+1)
		for _, x := range h.orders.Group {
			h.orderAt[x+1]++
		}
		for x := range G {
			h.orderAt[x+1] += h.orderAt[x]
		}
		h.orderTimes = make([]data.Timestamp, len(h.orders.Group))
		next := slices.Clone(h.orderAt[:G])
		for e, x := range h.orders.Group {
			h.orderTimes[next[x]] = h.orders.Time[e]
			next[x]++
		}
		for x := range G {
			slices.Sort(h.orderTimes[h.orderAt[x]:h.orderAt[x+1]])
		}
	})
	ts := h.orderTimes[h.orderAt[g]:h.orderAt[g+1]]
	from, _ := slices.BinarySearch(ts, t-recommend.ActiveDays*data.Day)
	to, _ := slices.BinarySearch(ts, t)
	return float32(min(to-from, recommend.MaxRecentOrders))
}

// RecentOrders are each group's latest n placed orders before t (by dense
// group index), newest first.
func (h *History) RecentOrders(t data.Timestamp, n int) [][]recommend.Order {
	out := make([][]recommend.Order, h.Groups.Len())
	o := h.orders
	for e := range o.Len() {
		if o.Time[e] >= t {
			continue
		}
		g, ord := o.Group[e], recommend.Order{SKU: h.Index.Products[o.Item[e]].SKU, Quantity: int32(o.Qty[e]), Time: o.Time[e]}
		if len(out[g]) < n {
			out[g] = append(out[g], ord)
			continue
		}
		// Full: the order replaces the oldest kept when it is newer (orders need not come in time order).
		old := 0
		for k, x := range out[g] {
			if x.Time < out[g][old].Time {
				old = k
			}
		}
		if ord.Time > out[g][old].Time {
			out[g][old] = ord
		}
	}
	for _, os := range out {
		slices.SortStableFunc(os, func(a, b recommend.Order) int { return cmp.Compare(b.Time, a.Time) })
	}
	return out
}

// Inputs binds the base to the catalogue of some instant (prices, reviews,
// stock as they stood then) for the scorer.
func (b *Base) Inputs(cat *features.Catalog, cfg BaseConfig) *recommend.Inputs {
	return &recommend.Inputs{Cat: cat, Stats: b.Stats, Items: b.ALS.Items, Profile: recommend.NewProfileModel(cat, b.Stats),
		RatingMean: b.RatingMean, RatingPrior: cfg.Stats.RatingPrior, PushConvPrior: cfg.Stats.ConvPrior, ConvMean: b.ConvMean}
}

// Group is group g as the scorer sees it in this base.
func (b *Base) Group(g int32) recommend.Group {
	var vec []float32
	if b.Profiles.Weight[g] > 0 {
		vec = b.ALS.Groups.Row(int(g))
	}
	return recommend.GroupOf(b.Profiles, g, vec)
}

// ServedGroup is Group with its iALS row, which the service folds the
// group's new orders into.
func (b *Base) ServedGroup(g int32) recommend.Group {
	out := b.Group(g)
	cols, w := b.History.Row(int(g))
	for k, c := range cols {
		out.Observed = append(out.Observed, features.Weighted{ID: c, Weight: w[k]})
	}
	return out
}

// CheckLabels fails when every push converted or none did: there is nothing
// to tell apart.
func (h *History) CheckLabels() error {
	n, c := h.pushCount, h.converted
	switch {
	case n > 0 && c == 0:
		return fmt.Errorf("none of the %d pushes led to an order, so P(order | push) cannot be learnt", n)
	case n > 0 && c == n:
		return fmt.Errorf("every one of the %d pushes led to an order, so P(order | push) cannot be learnt", n)
	}
	return nil
}
