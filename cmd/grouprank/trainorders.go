package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
	"time"

	"grouprank/data"
	"grouprank/recommend"
	"grouprank/train"
	"grouprank/train/pref"
)

// prefFlags set the training of a model from orders alone.
type prefFlags struct {
	split     string  // auto, time or random
	valDays   int     // time split: the last days are the validation targets
	share     float64 // random split: share of a group's items held out
	folds     int
	budget    int
	count     string // lines or units
	negatives int    // calibration: sampled unseen items per validation group
}

// runTrainOrders trains a model from orders alone: a preference model
// chosen on a validation split cut from the history, calibrated there to
// the probability that the group orders the item in the held-out part, and
// refitted on the whole history; then it writes the artefact.
//
// A part of a sharded train (part not nil; w holds its groups and their
// orders) reads the whole history again: every part holds the preference
// data whole and divides the work on it with the others (pref.Parts), and
// writes the artefact of its groups.
func runTrainOrders(ctx context.Context, e *env, f *trainFlags, w *world, why string, part *trainPart) (string, error) {
	t0 := time.Now()
	pf := f.pref
	at := w.last + 1 // the serving instant: after every order (1 ms after the epoch for undated data)
	whole, groups := w, []data.GroupID(nil)
	if part != nil {
		var err error
		if whole, err = loadWorldPart(ctx, f.world, e.log, shard{0, 1}); err != nil {
			return "", err
		}
		if err := countAs(whole, pf.count); err != nil {
			return "", err
		}
		groups = w.allGroups
		e.log.Info("read the whole history", slog.Int("groups", len(whole.groups)), slog.Int("orders", len(whole.orders)),
			slog.Int("own_orders", len(whole.own)), tookSince(t0))
	}
	// A model from orders alone never reads which shown list a push came
	// from: the ids go (at 1M groups about 0.4 GB of strings).
	for _, x := range []*world{w, whole} {
		for k := range x.pushes {
			x.pushes[k].RequestID = ""
		}
	}
	h := train.NewHistory(w.changes, w.groups, w.orders, nil, at, 0)
	if part != nil {
		if err := h.SetShard(part.sh); err != nil {
			return "", err
		}
	} else {
		groups = h.Groups.IDs
	}
	cat := h.Timeline.At(at)
	skus := make([]data.SKU, len(cat.Products))
	for k, pr := range cat.Products {
		skus[k] = pr.SKU
	}
	// Once the preference data have read the order and push rows (into a
	// third of their size), the rows are let go, before the matrices are
	// built: at 1M groups they were 3.8 GB of training's highest live heap.
	release := func() {
		for _, x := range []*world{w, whole} {
			x.orders, x.own, x.pushes = nil, nil, nil
		}
	}
	p, err := newPrefWorldIn(whole, skus, groups, release)
	if err != nil {
		return "", err
	}
	if p.data.Groups.NNZ() == 0 {
		return "", fmt.Errorf("%s: no placed order of any group: nothing to learn a group's preferences from", f.world)
	}
	var parts *pref.Parts
	if part != nil {
		_, n := part.ex.Part()
		parts = &pref.Parts{Ex: part.ex, Group: func(g int) int { return data.PartOf(p.groups[g], n) }}
		p.data.Parts = parts
	}
	split, val, splitName, win, err := p.validation(f.pref, f.seed, whole.first, whole.last, at)
	if err != nil {
		return "", err
	}
	for _, s := range val {
		s.Train.Parts = parts
	}
	if val.Groups() == 0 {
		return "", fmt.Errorf("%s: the validation split (%s) holds no group: no group ordered one item beside another it ordered or was pushed, so none can be held out without leaving the group's history empty, and a model cannot be chosen", f.world, splitName)
	}
	e.log.Info("validation split", slog.String("split", splitName), slog.Int("groups", val.Groups()))
	sel, err := pref.SelectModel(ctx, val, splitName, pref.Methods, pf.budget, f.seed, f.workers, searchProgress(e, pf.budget))
	if err != nil {
		return "", err
	}
	selectTook := time.Since(t0)
	// The model reads the data as the selection chose (with the members'
	// credited orders or without): its fit, its members' rows and the
	// members.bin the service serves them from.
	p.data, val = sel.Data(p.data), sel.Validation(val)
	vm, err := pref.Fit(ctx, val[0].Train, sel.Chosen, f.seed, f.workers)
	if err != nil {
		return "", err
	}
	calib, err := pref.Calibrate(ctx, vm, val[0], pf.negatives, f.seed)
	if err != nil {
		return "", err
	}
	t1 := time.Now()
	model, err := pref.Fit(ctx, p.data, sel.Chosen, f.seed, f.workers)
	if err != nil {
		return "", err
	}
	served, err := pref.Serve(model)
	if err != nil {
		return "", err
	}
	base, err := h.BuildProfiles(at, f.base)
	if err != nil {
		return "", err
	}
	conv := &recommend.Conversion{Features: recommend.FeatureNames(), Weights: make([]float64, recommend.NumFeatures), Bias: calib.B,
		Calibration: recommend.Calibration{Method: "none"}}
	conv.Weights[recommend.FeatALS] = calib.A * served.ALSWeight
	conv.Weights[recommend.FeatItemItem] = calib.A * served.ItemItemWeight
	conv.Weights[recommend.FeatItemPrior] = calib.A * served.PriorWeight
	if err := conv.Check(); err != nil {
		return "", err
	}
	chosen, _ := json.Marshal(sel.Chosen)
	cold, coldVector := float32(served.ColdConsensus), float32(served.ColdVectorConsensus)
	spec := train.PreferenceSpec{Model: chosen, Consensus: float32(served.Consensus), VectorConsensus: float32(served.VectorConsensus),
		ColdConsensus: &cold, ColdVectorConsensus: &coldVector,
		Confidence: float32(served.Confidence), Units: pf.count == "units", HasItemItem: served.ItemItem != nil, HasPrior: served.Prior != nil,
		CreditUnnamed: p.data.HasCredit()}
	rp := &recommend.Preference{ItemItem: served.ItemItem, Prior: served.Prior}
	group := func(g int32) train.PrefGroup { // g: h's index, p's for the whole
		g = p.groupAt[h.Groups.IDs[g]]
		own, ow := p.data.OwnRow(g, served.PushWeight)
		return train.PrefGroup{Vector: served.Vector(g), Observed: weightedRow(own, ow), Members: weightedRow(p.data.MembersRow(g))}
	}
	rep := p.report(sel, calib, served, why, splitName, pf.count, selectTook)
	version, created, inputs, err := versionOf(f, e.now())
	if err != nil {
		return "", err
	}
	root := f.out
	if part != nil {
		if version, created, err = part.version(ctx, version, created); err != nil {
			return "", err
		}
		root = f.part
	}
	m := data.ModelVersion{Version: version, Created: created, Windows: win, Inputs: inputs,
		Params: map[string]any{"world": filepath.Base(filepath.Clean(f.world)), "seed": f.seed, "relevance": "preference model (orders only)",
			"method": sel.Chosen.Method, "split": split, "count": pf.count, "budget": pf.budget, "folds": len(val)},
		Metrics: map[string]float64{"validation_ndcg10": sel.NDCG10, "calibration_log_loss": calib.LogLoss}}
	if c := sel.Credit; c != nil {
		m.Params["credited_orders"] = c.Credited
	}
	rep.FitTook = time.Since(t1).Round(time.Millisecond).String()
	a, err := train.NewPrefArtefact(h, base, f.base, conv, spec, served.Items, rp, group, m, rep)
	if err != nil {
		return "", err
	}
	if a.Spec.CategoryNames, err = data.ReadCategoryNames(f.world); err != nil {
		return "", err
	}
	a.IDs = w.ids
	if d := p.data; d.Members.NNZ() > 0 {
		a.MembersFrom = p.writeMembers
	}
	if a.Together, err = train.NewTogether(ctx, p.data.Groups, train.TogetherNeighbours, recommend.MinQuotedCount, f.workers); err != nil {
		return "", err
	}
	a.Spec.FoldIn = train.FoldInSpec{Alpha0: float32(served.Alpha0), Lambda: float32(served.Reg), Nu: 1, Confidence: float32(served.Confidence)}
	dir, err := writeTrainArtefact(ctx, f, part, root, a)
	if err != nil {
		return "", err
	}
	if !f.quiet && f.shard.i == 0 {
		printOrdersReport(e, &rep)
	}
	if part != nil {
		fmt.Fprintf(e.stdout, "part %d/%d: %d of the %d groups written to %s; train merge PART... writes the artefact\n",
			f.shard.i, f.shard.n, h.Groups.Len(), len(p.groups), dir)
	}
	e.log.Info("trained", slog.String("artefact", dir), tookSince(t0),
		slog.Int64("peak_rss_mb", peakRSSMiB()))
	return dir, nil
}

// validation cuts the validation split pf asks for (auto: the last days
// when the orders are dated and span twice them, else a random hold-out)
// from p's history, whose orders span first to last and which is served at
// at, and names it; win are the windows the manifest records.
func (p *prefWorld) validation(pf prefFlags, seed uint64, first, last, at data.Timestamp) (split string, val pref.Validation, name string, win data.Windows, err error) {
	undated := last == data.UnknownTime
	split = splitKind(pf, first, last)
	switch split {
	case "time":
		if undated {
			return "", nil, "", win, fmt.Errorf("--split time: %s: the orders carry no times (use --split random)", p.w.dir)
		}
		t1 := at - data.Timestamp(pf.valDays)*data.Day
		name = fmt.Sprintf("time: the last %d days' new items of each group (from %s)", pf.valDays, t1)
		// A slow tail (the last days hold less than half the share a
		// random split holds out of the groups' order lines) leaves too few
		// targets to choose on: the window reaches back until it holds that.
		if t := p.sharePoint(pf.share/2, t1, at); t < t1 {
			t1 = t
			name = fmt.Sprintf("time: the new items of each group from %s, the last %d days, reaching back to hold %.0f%% of the groups' order lines (half the random split's share; the last %d days held fewer)",
				t1, (at-t1+data.Day-1)/data.Day, 50*pf.share, pf.valDays)
		}
		s, err := p.timeSplit(t1)
		if err != nil {
			return "", nil, "", win, err
		}
		return split, pref.Validation{s}, name, data.Windows{From: first, T1: t1, End: at, Serve: at}, nil
	case "random":
		val = pref.HoldOuts(p.data, pf.share, pf.folds, seed)
		name = fmt.Sprintf("random: %.0f%% of each group's items held out (at least 1, never a group's whole history), %d folds seeded %d..%d",
			100*pf.share, len(val), seed, seed+uint64(len(val))-1)
		if pref.ProbesMembers(p.data) {
			name = fmt.Sprintf("random, on members: fewer than %d groups have two or more ordered items, so %.0f%% of the own orders of members with two or more are held out (at least 1, never all) and each such member is scored as a group of one; every group keeps its history; %d folds seeded %d..%d",
				pref.ValidationGroups, 100*pf.share, len(val), seed, seed+uint64(len(val))-1)
		}
		if !undated {
			win = data.Windows{From: first, T1: at - 1, End: at, Serve: at}
		}
		return split, val, name, win, nil
	}
	return "", nil, "", win, fmt.Errorf("--split: want auto, time or random, got %q", pf.split)
}

// sharePoint is the latest instant, no later than t1, from which the
// groups' order lines before at hold share of them (at least one): a time
// split's targets start there at the latest. When the lines from t1 on
// hold that share (the common case), it is t1, found without sorting.
func (p *prefWorld) sharePoint(share float64, t1, at data.Timestamp) data.Timestamp {
	in := func(o *prefOrder) bool { return o.group >= 0 && o.time < at && o.time < p.end() }
	total, from := 0, 0
	for k := range p.orders {
		if o := &p.orders[k]; in(o) {
			total++
			if o.time >= t1 {
				from++
			}
		}
	}
	n := max(1, int(math.Ceil(share*float64(total))))
	if total == 0 || from >= n {
		return t1
	}
	ts := make([]data.Timestamp, 0, total)
	for k := range p.orders {
		if o := &p.orders[k]; in(o) {
			ts = append(ts, o.time)
		}
	}
	slices.Sort(ts)
	return ts[total-min(n, total)]
}

// splitKind is the validation split pf asks for, auto resolved: time when
// the orders (first to last) are dated and span twice the validation days,
// else random.
func splitKind(pf prefFlags, first, last data.Timestamp) string {
	if pf.split != "auto" {
		return pf.split
	}
	if last != data.UnknownTime && last-first >= data.Timestamp(2*pf.valDays)*data.Day {
		return "time"
	}
	return "random"
}

// timeSplit is the validation split at t: the history before t, and per
// group the items it ordered from t on that it had not ordered before.
func (p *prefWorld) timeSplit(t data.Timestamp) (*pref.Split, error) {
	_, s, err := p.splitAt(t)
	return s, err
}

// splitAt is timeSplit with the history before t as a world of its own,
// whose validation a test split at t cuts further back: indexed as p, its
// members too (those who first order from t on have empty rows), and
// sharing p's memberships, which do not depend on the time.
func (p *prefWorld) splitAt(t data.Timestamp) (*prefWorld, *pref.Split, error) {
	t = min(t, p.end())
	q := *p
	q.upTo = t
	var err error
	if q.data, err = p.matrices(t, p.data.Of); err != nil {
		return nil, nil, err
	}
	targets := make([][]int32, len(p.groups))
	for k := range p.orders {
		o := &p.orders[k]
		if o.group < 0 || o.time < t || o.time >= p.end() {
			continue
		}
		g, i := o.group, o.item
		if _, ok := slices.BinarySearch(q.data.Seen(g), i); ok || slices.Contains(targets[g], i) {
			continue
		}
		targets[g] = append(targets[g], i)
	}
	for _, t := range targets {
		slices.Sort(t)
	}
	return &q, &pref.Split{Train: q.data, Targets: targets}, nil
}
