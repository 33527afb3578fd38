package features_test

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"grouprank/data"
	"grouprank/features"
	"grouprank/recommend"
)

// hub joins the parts of a sharded build in memory: each call waits for
// every part's same call, then each part computes the joined result from
// all of their inputs.
type hub struct {
	n     int
	mu    sync.Mutex
	cond  *sync.Cond
	calls []int            // per part, how many calls it made
	slots map[int][]any    // call -> every part's input
	kinds map[int][]string // call -> every part's kind of call, which must agree
}

type memParts struct {
	h   *hub
	i   int
	err error
}

func newHub(n int) *hub {
	h := &hub{n: n, calls: make([]int, n), slots: map[int][]any{}, kinds: map[int][]string{}}
	h.cond = sync.NewCond(&h.mu)
	return h
}

// all deposits part i's input to its next call and returns every part's.
func (p *memParts) all(kind string, v any) ([]any, error) {
	h := p.h
	h.mu.Lock()
	defer h.mu.Unlock()
	k := h.calls[p.i]
	h.calls[p.i]++
	if h.slots[k] == nil {
		h.slots[k], h.kinds[k] = make([]any, h.n), make([]string, h.n)
	}
	h.slots[k][p.i], h.kinds[k][p.i] = v, kind
	h.cond.Broadcast()
	for slices.Contains(h.kinds[k], "") {
		h.cond.Wait()
	}
	for _, x := range h.kinds[k] {
		if x != kind {
			p.err = fmt.Errorf("call %d: the parts made different calls: %v", k, h.kinds[k])
			return nil, p.err
		}
	}
	return h.slots[k], nil
}

func (p *memParts) SumBlocks(width int, sums [][]float64) ([][]float64, error) {
	in, err := p.all(fmt.Sprintf("blocks %d", width), sums)
	if err != nil {
		return nil, err
	}
	out := make([][]float64, data.Blocks)
	for _, x := range in {
		for b, s := range x.([][]float64) {
			if s == nil {
				continue
			}
			if out[b] != nil {
				p.err = fmt.Errorf("block %d summed by two parts", b)
				return nil, p.err
			}
			out[b] = s
		}
	}
	return out, nil
}

func (p *memParts) ints(kind string, xs []int64, join func(a, b int64) int64) error {
	in, err := p.all(fmt.Sprintf("%s %d", kind, len(xs)), slices.Clone(xs))
	if err != nil {
		return err
	}
	for j := range xs {
		x := in[0].([]int64)[j]
		for _, o := range in[1:] {
			x = join(x, o.([]int64)[j])
		}
		xs[j] = x
	}
	return nil
}

func (p *memParts) AddInts(xs []int64) error {
	return p.ints("add", xs, func(a, b int64) int64 { return a + b })
}

func (p *memParts) MinInts(xs []int64) error {
	return p.ints("min", xs, func(a, b int64) int64 { return min(a, b) })
}

func (p *memParts) Err() error { return p.err }

// TestProfilesByParts builds the profiles and item statistics of a world
// whole, then as 1, 2 and 3 parts at once, each from its own groups (the
// blocks of their ids: data.PartOf) and their orders, pushes and lists, the
// parts joined in memory (the last time a few blocks a step): every group's
// profile and the statistics have the bits of the whole build.
func TestProfilesByParts(t *testing.T) {
	const G, I, N = 600, 120, 12000
	r := rand.New(rand.NewPCG(11, 12))
	cats := []string{"food", "fresh", "home", "baby", "beauty"}
	ps := make([]data.Product, I)
	for i := range ps {
		ps[i] = data.Product{SKU: data.SKU(i + 1), CategoryL1: cats[i%len(cats)], CategoryL2: fmt.Sprint(i % 13), Brand: fmt.Sprint(i % 17),
			PriceCents: int64(100 + r.IntN(50000)), GoodReviews: int32(r.IntN(50)), Reviews: 50, Seller: data.SellerType(1 + i%2), InStock: true}
	}
	gs := make([]data.Group, G)
	for g := range gs {
		gs[g] = data.Group{ID: data.GroupID(3 + 5*g), Promoter: 1, Channel: data.Channels[g%len(data.Channels)], CityTier: data.CityTier(1 + g%5)}
	}
	at := t0 + 30*data.Day
	day := func() data.Timestamp { return t0 + data.Timestamp(r.Int64N(int64(32*data.Day))) }
	var orders, pushes []data.Push // orders as pushes' rows: group, item, time
	type extra struct {
		qty              float32
		organic          bool
		converted, found bool
		credited         float32
	}
	var oex, pex []extra
	var exps []data.Exposure
	for n := range N {
		g := gs[int(float64(G)*math.Pow(r.Float64(), 1.5))].ID
		orders = append(orders, data.Push{Group: g, SKU: data.SKU(1 + r.IntN(I)), Time: day()})
		oex = append(oex, extra{qty: float32(1 + r.IntN(3)), organic: r.IntN(3) == 0})
		p := data.Push{ID: data.PushID(n + 1), Group: gs[r.IntN(G)].ID, SKU: data.SKU(1 + r.IntN(I)), Time: day()}
		found := r.IntN(4) == 0
		if !found { // picked from a list shown for the group
			p.RequestID = fmt.Sprint("q", n)
			for rank := range 5 {
				sku := data.SKU(1 + r.IntN(I))
				if rank == 2 {
					sku = p.SKU
				}
				exps = append(exps, data.Exposure{RequestID: p.RequestID, Group: p.Group, SKU: sku, Rank: int32(rank + 1), Propensity: 1, Time: p.Time})
			}
		}
		c := r.IntN(5) == 0
		pushes = append(pushes, p)
		pex = append(pex, extra{converted: c, found: found, credited: float32(map[bool]int{true: 1 + r.IntN(2)}[c])})
	}
	cat := features.NewCatalog(ps, at)
	cfg, scfg := features.DefaultConfig(), features.DefaultStatsConfig()

	// build builds the profiles and statistics over the groups keep keeps.
	build := func(keep func(id data.GroupID) bool, parts features.Parts) (*features.Groups, *features.Profiles, *features.ItemStats) {
		var own []data.Group
		for _, g := range gs {
			if keep(g.ID) {
				own = append(own, g)
			}
		}
		groups := features.NewGroups(own)
		groups.Parts = parts
		events := func(rows []data.Push, ex []extra, push bool) *features.Events {
			e := &features.Events{Group: []int32{}, Item: []int32{}, Time: []data.Timestamp{}}
			if push {
				e.Converted, e.Orders, e.Found = []bool{}, []float32{}, []bool{}
			} else {
				e.Qty, e.Organic = []float32{}, []bool{}
			}
			for n, x := range rows {
				g, ok := groups.Index[x.Group]
				if !ok {
					continue
				}
				e.Group, e.Item, e.Time = append(e.Group, g), append(e.Item, cat.Index[x.SKU]), append(e.Time, x.Time)
				if push {
					e.Converted, e.Orders, e.Found = append(e.Converted, ex[n].converted), append(e.Orders, ex[n].credited), append(e.Found, ex[n].found)
				} else {
					e.Qty, e.Organic = append(e.Qty, ex[n].qty), append(e.Organic, ex[n].organic)
				}
			}
			return e
		}
		var ownPushes []data.Push
		for _, p := range pushes {
			if keep(p.Group) {
				ownPushes = append(ownPushes, p)
			}
		}
		sb := features.NewShownBuilder(cat, groups, ownPushes)
		for n := range exps {
			if keep(exps[n].Group) {
				sb.Add(&exps[n])
			}
		}
		o, p := events(orders, oex, false), events(pushes, pex, true)
		return groups, features.BuildProfiles(cat, groups, o, p, sb.Shown(), at, cfg), features.BuildItemStats(cat, groups, o, p, at, scfg)
	}
	wholeGroups, whole, wholeStats := build(func(data.GroupID) bool { return true }, nil)
	encode := func(v any) []byte {
		var b bytes.Buffer
		if err := gob.NewEncoder(&b).Encode(v); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	record := func(p *features.Profiles, g int32) []byte {
		rec := recommend.GroupOf(p, g, nil)
		K := p.NumL1
		return slices.Concat(recommend.EncodeGroup(&rec), encode(p.L1Taste[int(g)*K:int(g+1)*K]), encode(p.L2TasteOf(g)), encode(p.PriceTasteOf(g)))
	}
	wantStats := encode(wholeStats)
	for _, n := range []int{1, 2, 3, -3} {
		if n < 0 { // the wide sums joined a few blocks a step
			n = -n
			defer features.SetPartsStepBytes(1 << 20)()
		}
		h := newHub(n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				mp := &memParts{h: h, i: i}
				groups, prof, stats := build(func(id data.GroupID) bool { return data.PartOf(id, n) == i }, mp)
				if mp.err != nil {
					t.Errorf("%d parts, part %d: %v", n, i, mp.err)
					return
				}
				if !bytes.Equal(encode(stats), wantStats) {
					t.Errorf("%d parts, part %d: the item statistics differ from the whole's", n, i)
				}
				for g, id := range groups.IDs {
					if !bytes.Equal(record(prof, int32(g)), record(whole, wholeGroups.Index[id])) {
						t.Errorf("%d parts, part %d: group %d's profile differs from the whole's", n, i, id)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
}
