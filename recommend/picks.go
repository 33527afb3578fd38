package recommend

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"grouprank/data"
	"grouprank/features"
)

// Model is one loaded snapshot as the service ranks with it: the ranker over
// the snapshot's catalogue, statistics and vectors, each objective's item
// terms, and how to find a group's record.
type Model struct {
	Version string
	// Manifest is the snapshot's manifest (zero for a model built in memory).
	Manifest data.ModelVersion
	Ranker   *Ranker
	// Sensitive are L1 categories reasons never name (e.g. underwear, health).
	Sensitive map[string]bool
	// RepushWithin leaves out items pushed to the group this recently, whoever pushed them.
	RepushWithin data.Timestamp
	// CategoryNames name the L1 categories in reasons (nil: their ids).
	CategoryNames map[string]data.CategoryName
	// IDs are the user's own ids of an imported world (nil: grouprank's).
	IDs *data.IDMap
	// Members are a preference model's members with orders (nil: none): a
	// new group with known members is scored from them, and a group's
	// members' row follows joins, leaves and its members' orders.
	Members *Members
	// Together counts the groups that ordered items together (a preference
	// model's; nil: none): reasons link a pick to what the group bought.
	Together *Together

	fold   *foldIn // nil: no fold-in
	lacks  lacks   // fields no product of the catalogue has
	terms  map[string][]float64
	boosts map[string][]float32
	groups GroupSource

	rules    *modelRules // nil: none (WithRules)
	blends   sync.Map    // Objective -> *blendCache: an arm's own blend weights
	rankers  sync.Map    // depth -> *Ranker: an arm's own candidate depth
	practice struct {
		once  sync.Once
		order []int32 // eligible items in today's practice order
	}
	standing struct {
		once sync.Once
		n    int // items clearing the standing floors (exploration's propensities)
	}
}

// GroupSource finds a group's record; data.ErrNotFound for a group the
// snapshot does not know.
type GroupSource interface {
	Group(id data.GroupID) (Group, error)
}

// GroupMap is a GroupSource held in memory (small models, tests).
type GroupMap map[data.GroupID]Group

// Group returns group id's record, or data.ErrNotFound.
func (g GroupMap) Group(id data.GroupID) (Group, error) {
	if x, ok := g[id]; ok {
		return x, nil
	}
	return Group{}, fmt.Errorf("group %d: %w", id, data.ErrNotFound)
}

// Knows reports whether the model's snapshot holds a record of group g.
func (m *Model) Knows(g data.GroupID) bool {
	if m.groups == nil {
		return false
	}
	_, err := m.groups.Group(g)
	return err == nil
}

// NewModel binds a ranker to its group records and precomputes every named
// objective's item terms.
func NewModel(version string, r *Ranker, groups GroupSource) *Model {
	m := &Model{Version: version, Ranker: r, terms: map[string][]float64{}, boosts: map[string][]float32{}, groups: groups,
		lacks: lacksOf(r.Scorer.in.Cat.Products)}
	for _, o := range Objectives() {
		m.terms[o.Name] = ItemTerms(r.Scorer.in, o)
		if o.Price != 0 || o.Commission != 0 || o.Rating != 0 {
			m.boosts[o.Name] = Boost(m.terms[o.Name])
		}
	}
	return m
}

// Warm fills the per-cell caches (the profile walks' orders for every
// objective, the bestsellers, the scorer's cell parts) for every channel
// and city tier, so no request pays for them or waits on their locks.
func (m *Model) Warm() {
	s := m.Ranker.NewScratch()
	for ch := range len(data.Channels) + 1 {
		for t := range int(data.MaxTier) + 1 {
			g := Group{Channel: data.Channel(ch), Tier: data.CityTier(t)}
			m.Ranker.Prepare(&g, nil, Floors{Eligible: true}, s)
			for _, b := range m.boosts {
				m.Ranker.Prepare(&g, nil, Floors{Eligible: true}, s, b)
			}
		}
	}
}

// PicksRequest is what a promoter app asks for.
type PicksRequest struct {
	Group     data.GroupID
	K         int
	Category  string         // L1 category name; "" any
	Exclude   []data.SKU     // never return these
	PriceMin  int64          // cents; 0: no lower bound
	PriceMax  int64          // cents; 0: no upper bound
	Objective string         // a named objective; "" orders
	Explain   bool           // add a forwardable reason to each pick
	Lang      string         // language of the reasons: LangZH ("" too) or LangEN
	Now       data.Timestamp // the request's instant: fatigue and the recent-push filter count back from it
	// Channel and Tier describe a group the snapshot does not know (cold
	// start), Members its members: a preference model scores it from their
	// own orders.
	Channel data.Channel
	Tier    data.CityTier
	Members []data.MemberID
	// Ranker options (experiment arms set them; zero values are the defaults):
	Blend       *Objective // exponents overriding the objective's (Name is ignored)
	CategoryCap int        // most picks of one L1 category (0: no cap)
	Depth       int        // candidates per source (0: the ranker's default)
	// Explore is the share of lists drawn at random from the items passing
	// the floors (0: none, the default; see Model.explore), Seed the
	// request's draw (ExploreSeed).
	Explore float64
	Seed    uint64
	// Batch marks a batch run (grouprank picks --all, score): k and the
	// candidate depth may reach MaxBatchK instead of MaxK and MaxDepth.
	Batch bool
}

// MaxK bounds PicksRequest.K.
const MaxK = 200

// MaxBatchK bounds k and the candidate depth of a batch request.
const MaxBatchK = 1 << 22

// Validate checks the request against the model: k in 1..MaxK, a known
// objective and category, a sane price range.
func (r *PicksRequest) Validate() error {
	maxK, maxDepth := MaxK, MaxDepth
	if r.Batch {
		maxK, maxDepth = MaxBatchK, MaxBatchK
	}
	switch {
	case r.Group <= 0:
		return fmt.Errorf("%w: group must be > 0, got %d", data.ErrInvalid, r.Group)
	case r.K < 1 || r.K > maxK:
		return fmt.Errorf("%w: k must be within 1..%d, got %d", data.ErrInvalid, maxK, r.K)
	case r.PriceMin < 0 || r.PriceMax < 0:
		return fmt.Errorf("%w: prices must be >= 0", data.ErrInvalid)
	case r.PriceMax > 0 && r.PriceMin > r.PriceMax:
		return fmt.Errorf("%w: price_min %d exceeds price_max %d", data.ErrInvalid, r.PriceMin, r.PriceMax)
	case !r.Channel.Valid() || !r.Tier.Valid():
		return fmt.Errorf("%w: unknown channel or city tier", data.ErrInvalid)
	case r.CategoryCap < 0 || r.CategoryCap > MaxK:
		return fmt.Errorf("%w: category cap must be within 0..%d, got %d", data.ErrInvalid, MaxK, r.CategoryCap)
	case r.Depth < 0 || r.Depth > maxDepth:
		return fmt.Errorf("%w: candidate depth must be within 0..%d, got %d", data.ErrInvalid, maxDepth, r.Depth)
	case !(r.Explore >= 0 && r.Explore <= 1):
		return fmt.Errorf("%w: exploration share must be within 0..1, got %g", data.ErrInvalid, r.Explore)
	}
	if b := r.Blend; b != nil {
		for _, w := range []float64{b.Price, b.Commission, b.Rating} {
			if math.IsNaN(w) || math.Abs(w) > 10 {
				return fmt.Errorf("%w: blend weights must be within -10..10, got %+v", data.ErrInvalid, *b)
			}
		}
		if c := b.CautionWeight(); !(c >= 0 && c <= MaxCaution) {
			return fmt.Errorf("%w: blend caution must be within 0..%g, got %g", data.ErrInvalid, MaxCaution, c)
		}
	}
	return nil
}

// Item is one pick as the app shows it.
type Item struct {
	SKU             data.SKU `json:"sku"`
	Title           string   `json:"title"`
	Category        string   `json:"category"`
	PriceCents      *int64   `json:"price_cents"`      // null when the price is not known
	CommissionCents *int64   `json:"commission_cents"` // one unit's commission; null when the price or the rate is not known
	Rating          *float64 `json:"rating"`           // good-review rate; null without reviews
	Reason          string   `json:"reason,omitempty"`
	// ItemID is the user's own id of the item, for a model whose world has its own ids.
	ItemID string `json:"item_id,omitempty"`
	// Propensity is the probability that the serving policy shows this
	// item at this rank (1 without exploration; see Model.explore).
	Propensity float64 `json:"propensity"`
	Parts
}

// Picks is the answer to a PicksRequest.
type Picks struct {
	Group data.GroupID `json:"group"`
	// GroupID is the user's own id of the group, for a model whose world has its own ids.
	GroupID      string `json:"group_id,omitempty"`
	ModelVersion string `json:"model_version"`
	Objective    string `json:"objective"`
	Cold         bool   `json:"cold_start"` // the group was unknown: ranked from its channel and tier
	// Explored is true for a list drawn at random (PicksRequest.Explore).
	Explored bool   `json:"explored,omitempty"`
	Items    []Item `json:"items"`
}

// Picks ranks the catalogue for one request. An unknown group is ranked from
// its channel and city tier, never refused. mem, when not nil, supplies the
// group's recent pushes (fatigue features, and the items pushed within
// RepushWithin are left out).
func (m *Model) Picks(req PicksRequest, mem *PushMemory, s *RankScratch) (*Picks, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	g, err := m.groups.Group(req.Group)
	cold := false
	switch {
	case err == nil:
	case errorsIsNotFound(err):
		g, cold = m.newGroup(req, mem), true
	default:
		return nil, err
	}
	return m.picksFor(&g, cold, req, mem, s)
}

// newGroup is a group the snapshot does not know: its channel and tier and,
// for a preference model, the mean of its known members' rows (those the
// request names and those who joined it since the snapshot), with the
// vector folded from them when the model has item vectors.
func (m *Model) newGroup(req PicksRequest, mem *PushMemory) Group {
	g := Group{Channel: req.Channel, Tier: req.Tier}
	if m.Members == nil {
		return g
	}
	row, ok := m.liveMembers(req.Group, req.Members, mem)
	if !ok || len(row) == 0 {
		return g
	}
	g.Members = row
	if f := m.fold; f != nil && f.pref != nil && f.problem != nil && f.pref.ColdVectorConsensus > 0 {
		var obs []int32
		var ws []float32
		for _, x := range g.Members {
			if int(x.ID) < f.problem.Other.Rows() {
				obs, ws = append(obs, x.ID), append(ws, f.pref.Confidence*f.pref.ColdVectorConsensus*x.Weight)
			}
		}
		if len(obs) > 0 {
			g.Vector = f.problem.FoldIn(obs, ws)
		}
	}
	return g
}

// PicksFor ranks for a group given by its record (batch runs walk every
// record of the snapshot); req.Group names it in the answer.
// mem, when not nil, supplies its recent pushes as in Picks.
func (m *Model) PicksFor(g *Group, req PicksRequest, mem *PushMemory, s *RankScratch) (*Picks, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	return m.picksFor(g, false, req, mem, s)
}

func (m *Model) picksFor(g *Group, cold bool, req PicksRequest, mem *PushMemory, s *RankScratch) (*Picks, error) {
	{ // the group's activity as of the request, or of the newest data heard of when that is older
		at := m.Manifest.Windows.End
		var news []Order
		if mem != nil {
			at = max(at, mem.Latest())
		}
		if req.Now > 0 && (at == data.UnknownTime || req.Now < at) {
			at = req.Now
		}
		if mem != nil {
			news = mem.OrdersSince(req.Group, at-ActiveDays*data.Day)
		}
		cp := *g
		cp.SetActive(at, news)
		g = &cp
	}
	name := req.Objective
	if name == "" {
		name = "orders"
	}
	obj, terms, boost := Objective{}, []float64(nil), []float32(nil)
	if name != Practice {
		var err error
		if obj, err = ObjectiveByName(name); err != nil {
			return nil, err
		}
		terms, boost = m.terms[name], m.boosts[name]
		if req.Blend != nil {
			obj = Objective{Name: name + "+blend", Price: req.Blend.Price, Commission: req.Blend.Commission, Rating: req.Blend.Rating,
				Caution: req.Blend.Caution}
			terms, boost = m.blendTerms(obj)
		}
	}
	if err := m.lacks.check(name, obj, name == Practice, m.Version); err != nil {
		return nil, err
	}
	cat := m.Ranker.Scorer.in.Cat
	floors := m.standingFloors()
	if m.rules != nil {
		s.extra = m.rules.campaign
	}
	if req.Category != "" {
		c := slices.Index(cat.L1Names, req.Category)
		if c < 0 {
			return nil, fmt.Errorf("%w: unknown category %q (known: %s)", data.ErrInvalid, req.Category, strings.Join(cat.L1Names, ", "))
		}
		floors.HasCategory, floors.Category = true, int32(c)
	}
	floors.PriceMin, floors.PriceMax = req.PriceMin, req.PriceMax
	var rec *features.Recent
	var pushed []int32
	if mem != nil && req.Now > 0 {
		r, p := mem.Recent(req.Group, req.Now, m.RepushWithin, cat)
		rec, pushed = &r, p
	}
	g = m.foldedGroup(g, req.Group, mem)
	// A preference model was chosen and calibrated on the items a group
	// had not ordered yet: those are what it ranks.
	var bought []features.Weighted
	if m.Ranker.Scorer.in.Pref != nil {
		bought = g.Observed
	}
	if len(req.Exclude)+len(pushed)+len(bought) > 0 {
		floors.Exclude = map[int32]bool{}
		for _, sku := range req.Exclude {
			if i, ok := cat.Index[sku]; ok {
				floors.Exclude[i] = true
			}
		}
		for _, i := range pushed {
			floors.Exclude[i] = true
		}
		for _, o := range bought {
			floors.Exclude[o.ID] = true
		}
	}
	out := &Picks{Group: req.Group, ModelVersion: m.Version, Objective: name, Cold: cold}
	var picks []Pick
	if name == Practice {
		picks = m.practicePicks(g, rec, floors, req, s)
	} else {
		rk := m.rankerAt(req.Depth)
		rk.Prepare(g, rec, floors, s, boost)
		picks = rk.PickCapped(obj, terms, floors, req.K, req.CategoryCap, s)
	}
	scoreObj := obj
	if name == Practice {
		scoreObj, _ = ObjectiveByName("orders")
	}
	picks, props, explored := m.explore(g, rec, scoreObj, floors, req, picks, s)
	out.Explored = explored
	var members []data.MemberID // for reasons: the group's, read once
	for r, p := range picks {
		pr := &cat.Products[p.Item]
		it := Item{SKU: pr.SKU, Title: pr.Title, Category: pr.CategoryL1, Propensity: props[r], Parts: p.Parts}
		if m.IDs != nil {
			it.ItemID = m.IDs.Name(data.IDSKU, int64(pr.SKU))
		}
		if pr.PriceCents >= 0 {
			it.PriceCents = &pr.PriceCents
			if pr.Commission != data.UnknownRate {
				c := pr.CommissionCents()
				it.CommissionCents = &c
			}
		}
		if pr.Reviews > 0 {
			r := pr.GoodReviewRate()
			it.Rating = &r
		}
		if req.Explain {
			if members == nil {
				members = m.GroupMembers(req.Group, req.Members)
			}
			it.Reason = m.Reason(g, p.Item, req.Lang, members)
		}
		out.Items = append(out.Items, it)
	}
	return out, nil
}

// standingFloors are the floors of every request: eligibility and the
// rules' blocklists and rating floor.
func (m *Model) standingFloors() Floors {
	f := Floors{Eligible: true}
	if m.rules != nil {
		f.Blocked, f.MinRating = m.rules.blocked, m.rules.MinRating
	}
	return f
}

// passing is how many items clear floors: the model's count of those
// clearing its standing floors (counted once) less the request's
// exclusions, or a scan of the catalogue when the request also filters by
// category or price.
func (m *Model) passing(floors Floors) int {
	cat := m.Ranker.Scorer.in.Cat
	n := 0
	if floors.HasCategory || floors.PriceMin > 0 || floors.PriceMax > 0 {
		for i := range int32(cat.Len()) {
			if floors.Pass(cat, i) {
				n++
			}
		}
		return n
	}
	base := m.standingFloors()
	m.standing.once.Do(func() {
		for i := range int32(cat.Len()) {
			if base.Pass(cat, i) {
				m.standing.n++
			}
		}
	})
	n = m.standing.n
	for i := range floors.Exclude {
		if base.Pass(cat, i) {
			n--
		}
	}
	return n
}

// foldIn folds a group's orders since the snapshot into its vector.
type foldIn struct {
	problem    *RowProblem // nil: no item vectors (a preference model without factors)
	confidence float32
	since      data.Timestamp // the snapshot's instant: later orders are new
	pref       *Preference    // a preference model's rows (nil: the conversion model's iALS row)
}

// EnableFoldIn lets the model fold orders reported after since (the
// snapshot's instant) into a group's vector on the fly, with the iALS
// settings it was trained with; an order weighs 1 + confidence x units.
func (m *Model) EnableFoldIn(alpha0, lambda, nu, confidence float32, since data.Timestamp) {
	items := m.Ranker.Scorer.in.Items
	if items == nil {
		return
	}
	m.fold = &foldIn{problem: &RowProblem{Other: items, Gram: Gram(items), Alpha0: alpha0, Lambda: lambda, Nu: nu, Cols: items.Rows()},
		confidence: confidence, since: since}
}

// foldedGroup returns g with its new orders folded into its vector and,
// for a preference model, its members' row brought up to date (g itself
// when nothing changed since the snapshot).
func (m *Model) foldedGroup(g *Group, id data.GroupID, mem *PushMemory) *Group {
	if m.fold == nil || mem == nil {
		return g
	}
	news := mem.OrdersSince(id, m.fold.since)
	if m.fold.pref != nil {
		members, changed := m.liveMembers(id, nil, mem)
		if len(news) == 0 && !changed {
			return g
		}
		if changed {
			cp := *g
			cp.Members = members
			g = &cp
		}
		return m.foldPref(g, news)
	}
	if len(news) == 0 {
		return g
	}
	cat := m.Ranker.Scorer.in.Cat
	w := map[int32]float32{}
	for _, o := range g.Observed {
		w[o.ID] = o.Weight
	}
	for _, o := range news {
		i, ok := cat.Index[o.SKU]
		if !ok || int(i) >= m.fold.problem.Other.Rows() {
			continue
		}
		if _, seen := w[i]; !seen {
			w[i] = 1
		}
		w[i] += m.fold.confidence * float32(o.Quantity)
	}
	obs := make([]int32, 0, len(w))
	for i := range w {
		obs = append(obs, i)
	}
	slices.Sort(obs)
	ws := make([]float32, len(obs))
	for k, i := range obs {
		ws[k] = w[i]
	}
	out := *g
	out.Vector = m.fold.problem.FoldIn(obs, ws)
	return &out
}

// EnablePrefFoldIn is EnableFoldIn for a preference model: a new order
// adds a line (or its units) to the group's own row, which the item-item
// scores read at once, and the group's vector (with item vectors) is folded
// again from Confidence x (own + VectorConsensus x members; the cold
// weight while the group has no own row).
func (m *Model) EnablePrefFoldIn(alpha0, lambda, nu float32, since data.Timestamp) {
	in := m.Ranker.Scorer.in
	if in.Pref == nil {
		return
	}
	m.fold = &foldIn{since: since, pref: in.Pref}
	if in.Items != nil && lambda > 0 {
		m.fold.problem = &RowProblem{Other: in.Items, Gram: Gram(in.Items), Alpha0: alpha0, Lambda: lambda, Nu: nu, Cols: in.Items.Rows()}
	}
}

// foldPref adds the new orders to a preference model's group row and folds
// its vector again (when it has new orders, or when only its members' row
// changed and the vector reads it).
func (m *Model) foldPref(g *Group, news []Order) *Group {
	cat, p := m.Ranker.Scorer.in.Cat, m.fold.pref
	w := map[int32]float32{}
	for _, o := range g.Observed {
		w[o.ID] = o.Weight
	}
	for _, o := range news {
		i, ok := cat.Index[o.SKU]
		if !ok {
			continue
		}
		if p.Units {
			w[i] += float32(o.Quantity)
		} else {
			w[i]++
		}
	}
	out := *g
	out.Observed = make([]features.Weighted, 0, len(w))
	for i, x := range w {
		out.Observed = append(out.Observed, features.Weighted{ID: i, Weight: x})
	}
	slices.SortFunc(out.Observed, func(a, b features.Weighted) int { return int(a.ID) - int(b.ID) })
	if vc := p.vectorConsensus(&out); m.fold.problem != nil && (len(news) > 0 || vc > 0) {
		pr := m.fold.problem
		var obs []int32
		var ws []float32
		for _, x := range row(&out, vc) {
			if int(x.ID) < pr.Other.Rows() {
				obs, ws = append(obs, x.ID), append(ws, p.Confidence*x.Weight)
			}
		}
		if len(obs) > 0 {
			out.Vector = pr.FoldIn(obs, ws)
		}
	}
	return &out
}

func errorsIsNotFound(err error) bool { return errors.Is(err, data.ErrNotFound) }

// MergeUpdates merges catalogue updates into the products of cat: the whole
// new state of each SKU updated, once each in the order first named (a SKU
// updated twice merges the second update into the first's result), or a
// *data.BatchError naming every refused update.
func MergeUpdates(cat *features.Catalog, us []data.ProductUpdate) ([]data.Product, error) {
	out := make([]data.Product, 0, len(us))
	seen := make(map[data.SKU]int, len(us)) // SKU -> its index in out
	be := &data.BatchError{Noun: "products", N: len(us)}
	for k := range us {
		sku := data.SKU(us[k].SKU)
		var cur *data.Product
		j, again := seen[sku]
		if again {
			cur = &out[j]
		} else if i, ok := cat.Index[sku]; ok {
			cur = &cat.Products[i]
		}
		p, err := us[k].Merge(cur)
		switch {
		case err != nil:
			be.Items = append(be.Items, data.ItemError{Index: k, Err: err})
		case again:
			out[j] = p
		default:
			seen[sku] = len(out)
			out = append(out, p)
		}
	}
	if len(be.Items) > 0 {
		return nil, be
	}
	return out, nil
}

// WithCatalog returns a model over the catalogue with updates applied
// (prices, commission, stock, new items) and the same fitted model: new
// items have no vector and no history, so they are scored from their
// content (category, brand, price band, rating, commission) until a
// snapshot gives them factors. It reports how many items were added.
func (m *Model) WithCatalog(updates []data.Product, at data.Timestamp) (*Model, int) {
	in := m.Ranker.Scorer.in
	cat, added := in.Cat.Extend(updates, at)
	st := in.Stats.Extend(added, float32(in.ConvMean))
	var items *Factors
	if in.Items != nil {
		items = &Factors{K: in.Items.K, V: append(append([]float32(nil), in.Items.V...), make([]float32, added*in.Items.K)...)}
	}
	pm := NewProfileModel(cat, st)
	pm.CellPrior, pm.ChannelPrior, pm.ProfilePrior = in.Profile.CellPrior, in.Profile.ChannelPrior, in.Profile.ProfilePrior
	next := &Inputs{Cat: cat, Stats: st, Items: items, Profile: pm, RatingMean: in.RatingMean, RatingPrior: in.RatingPrior,
		PushConvPrior: in.PushConvPrior, ConvMean: in.ConvMean, Pref: in.Pref}
	r := NewRanker(NewScorer(next, m.Ranker.Scorer.conv))
	r.Depth = m.Ranker.Depth
	out := NewModel(m.Version, r, m.groups)
	out.Sensitive, out.RepushWithin, out.Manifest, out.CategoryNames, out.IDs, out.Members = m.Sensitive, m.RepushWithin, m.Manifest, m.CategoryNames, m.IDs, m.Members
	switch f := m.fold; {
	case f != nil && f.pref != nil && f.problem != nil:
		out.EnablePrefFoldIn(f.problem.Alpha0, f.problem.Lambda, f.problem.Nu, f.since)
	case f != nil && f.pref != nil:
		out.EnablePrefFoldIn(0, 0, 0, f.since)
	case f != nil:
		out.EnableFoldIn(f.problem.Alpha0, f.problem.Lambda, f.problem.Nu, f.confidence, f.since)
	}
	return out, added
}

// lacks records the fields no product of a catalogue has (data imported
// from orders alone often has no price, rating or commission).
type lacks struct{ price, commission, rating bool }

func lacksOf(ps []data.Product) lacks {
	l := lacks{price: true, commission: true, rating: true}
	for k := range ps {
		p := &ps[k]
		l.price = l.price && p.PriceCents <= 0
		l.commission = l.commission && (p.Commission == data.UnknownRate || p.Commission <= 0)
		l.rating = l.rating && p.Reviews <= 0
	}
	return l
}

// check refuses an objective that ranks by a field the catalogue lacks.
func (l lacks) check(name string, o Objective, practice bool, version string) error {
	miss := func(field, what string) error {
		return &data.FieldError{Record: "picks request", Field: "objective",
			Reason: fmt.Sprintf("%q ranks by %s, and no product in the catalogue of model %s has one (%s unknown)", name, what, version, field)}
	}
	switch {
	case o.Price != 0 && l.price:
		return miss("price_cents", "price")
	case (o.Commission != 0 || practice) && l.commission:
		return miss("commission_rate", "commission")
	case (o.Rating != 0 || practice) && l.rating:
		return miss("good_reviews", "good-review rate")
	}
	return nil
}
