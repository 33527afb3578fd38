package synth

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"

	"grouprank/data"
)

// dayCtx is what every group sees on one day.
type dayCtx struct {
	d        int
	at       data.Timestamp // start of day
	cur      []data.Product // catalogue by item index
	ok       []bool         // eligible today
	elig     []int32        // eligible item indices
	top      []int32        // today's practice ranking of eligible items (top only)
	base     [][]float32    // persona -> item appetite at today's prices
	idxOfTop map[int32]int  // item -> 0-based rank in top
}

// batch is what one chunk of groups produced on one day.
type batch struct {
	exposures []data.Exposure
	pushes    []data.Push
	orders    []data.Order
	members   []data.Membership
	st        dayStats
}

type dayStats struct {
	groupDays, pushes, listPushes, converted, orders, organic int64
	died                                                      int64
}

func (a *dayStats) add(b dayStats) {
	a.groupDays += b.groupDays
	a.pushes += b.pushes
	a.listPushes += b.listPushes
	a.converted += b.converted
	a.orders += b.orders
	a.organic += b.organic
	a.died += b.died
}

const maxDepth = 40

func (w *World) newDay(d int, cur []data.Product, prev *dayCtx) *dayCtx {
	dc := &dayCtx{d: d, at: w.start + data.Timestamp(d)*data.Day, cur: cur, ok: make([]bool, len(cur))}
	el := make([]data.Product, 0, len(cur))
	for j := range cur {
		if eligible(&cur[j], dc.at) {
			dc.ok[j] = true
			dc.elig = append(dc.elig, int32(j))
			el = append(el, cur[j])
		}
	}
	order := data.RankByPractice(el)
	dc.idxOfTop = make(map[int32]int, maxDepth)
	for r, k := range order[:min(maxDepth, len(order))] {
		dc.top = append(dc.top, dc.elig[k])
		dc.idxOfTop[dc.elig[k]] = r
	}
	// Appetites depend on price only: reuse yesterday's rows for unchanged prices.
	dc.base = make([][]float32, len(w.personas))
	for s := range dc.base {
		b := make([]float32, len(cur))
		for j := range b {
			if prev != nil && prev.cur[j].PriceCents == cur[j].PriceCents {
				b[j] = prev.base[s][j]
			} else {
				b[j] = float32(w.base(s, j, float64(cur[j].PriceCents)))
			}
		}
		dc.base[s] = b
	}
	return dc
}

// lambda is the true expected orders of a push of j into g today, neutral
// context, before saturation (the same as World.expected, from today's table).
func (w *World) lambda(dc *dayCtx, g, j int) float64 {
	gr := &w.groups[g]
	var m float64
	for k := range int(gr.mixN) {
		m += float64(gr.mixW[k]) * float64(dc.base[gr.mix[k]][j])
	}
	return w.b0 * float64(gr.scale) * float64(w.promoters[gr.promoter].skill) *
		math.Exp(float64(gr.gcat[w.cat.items[j].l1])+w.eta(g, j)) * m
}

// simGroup runs one group through one day.
func (w *World) simGroup(dc *dayCtx, g int, st *gstate, out *batch) {
	gr := &w.groups[g]
	if st.dead || int(gr.createdDay) > dc.d {
		return
	}
	d := dc.d
	r := newRand(w.P.Seed, streamDay, uint64(g)<<16|uint64(d))
	if int(gr.createdDay) == d || st.active == nil {
		w.initState(g, st)
	}
	w.memberChurn(r, dc, g, st, out)
	if st.nactive < 5 {
		st.dead = true
		out.st.died++
		return
	}
	out.st.groupDays++
	pr := &w.promoters[gr.promoter]
	nOrders := 0
	var pushes []int32
	var fromList []bool
	reqID := ""
	if r.Float64() < float64(pr.active) {
		n := min(10, poisson(r, float64(pr.pushes)))
		if n > 0 {
			depth := max(5, int(pr.depth)+r.IntN(7)-3)
			reqID = "d" + strconv.Itoa(d) + "-g" + strconv.Itoa(g+1)
			list := w.showList(r, dc, g, depth, reqID, out)
			pushes, fromList = w.choosePushes(r, dc, g, st, list, n)
		}
	}
	// Push times through the day, in order.
	times := make([]data.Timestamp, len(pushes))
	for i := range times {
		times[i] = dc.at + 8*data.Hour + data.Timestamp(r.Int64N(int64(14*data.Hour)))
	}
	slices.Sort(times)
	zero := 0
	for k, j := range pushes {
		pid := data.PushID(int64(d+1)<<32 | int64(g)<<8 | int64(k+1))
		p := data.Push{ID: pid, Group: data.GroupID(g + 1), SKU: skuOf(int(j)), Time: times[k]}
		if fromList[k] {
			p.RequestID = reqID
			out.st.listPushes++
		}
		out.pushes = append(out.pushes, p)
		lam := w.saturate(g, w.lambda(dc, g, int(j))*PositionFactor(k+1)*w.fatigue(st, int(j), d))
		n := min(poisson(r, lam), int(st.nactive), 255-nOrders)
		for range n {
			tm := times[k] + data.Timestamp(math.Min(70, r.ExpFloat64()*4)*float64(data.Hour))
			push := pid
			if r.Float64() < 0.05 {
				push = data.NoPush // link tracking lost
			}
			nOrders++
			w.order(r, dc, g, st, int(j), w.pickPersona(r, dc, g, int(j)), tm, push, nOrders, out)
		}
		if n == 0 {
			zero++
		} else {
			out.st.converted++
		}
		st.recent[st.nrec%recentPushes] = pushRec{j: j, day: int16(d), l1: w.cat.items[j].l1}
		st.nrec++
	}
	out.st.pushes += int64(len(pushes))
	// Organic orders: re-orders and discoveries.
	for range poisson(r, w.organic0*float64(gr.scale)) {
		if nOrders >= 255 {
			break
		}
		j, k := w.organicItem(r, dc, g, st)
		if j < 0 {
			continue
		}
		nOrders++
		out.st.organic++
		tm := dc.at + data.Timestamp(r.Int64N(int64(data.Day)))
		w.order(r, dc, g, st, j, k, tm, data.NoPush, nOrders, out)
	}
	out.st.orders += int64(nOrders)
	// Churn: groups whose pushes do not convert lose heart.
	st.pushes[d%7], st.zero[d%7] = uint8(len(pushes)), uint8(zero)
	var P, Z float64
	for i := range 7 {
		P += float64(st.pushes[i])
		Z += float64(st.zero[i])
	}
	hazard := 0.001
	if P > 0 {
		hazard += 0.03 * math.Pow(Z/P, 3) * math.Min(1, P/6)
	}
	if r.Float64() < hazard {
		st.dead = true
		out.st.died++
	}
}

// showList logs the list the promoter sees and returns its item indices.
func (w *World) showList(r *rand.Rand, dc *dayCtx, g, depth int, reqID string, out *batch) []int32 {
	eps := w.P.RandomShare
	nE := float64(len(dc.elig))
	depth = min(depth, len(dc.elig), len(dc.top))
	list := make([]int32, 0, depth)
	random := r.Float64() < eps
	if random {
		seen := make(map[int32]bool, depth)
		for len(list) < depth {
			j := dc.elig[r.IntN(len(dc.elig))]
			if !seen[j] {
				seen[j] = true
				list = append(list, j)
			}
		}
	} else {
		list = append(list, dc.top[:depth]...)
	}
	for rank, j := range list {
		prop := eps / nE
		if rank < len(dc.top) && dc.top[rank] == j {
			prop += 1 - eps
		}
		out.exposures = append(out.exposures, data.Exposure{
			RequestID: reqID, Group: data.GroupID(g + 1), SKU: skuOf(int(j)), Rank: int32(rank + 1),
			Propensity: prop, ModelVersion: data.PracticeVersion, Time: dc.at + 7*data.Hour,
		})
	}
	return list
}

// choosePushes picks n items: most from the list (by position, commission and
// what the promoter knows of the group), the rest found by the promoter.
func (w *World) choosePushes(r *rand.Rand, dc *dayCtx, g int, st *gstate, list []int32, n int) ([]int32, []bool) {
	gr := &w.groups[g]
	skill := float64(w.promoters[gr.promoter].skill)
	know := 0.6 * skill // how much the group's true taste steers the choice
	weights := make([]float64, len(list))
	for i, j := range list {
		c := dc.cur[j].Commission
		wt := math.Pow(float64(i+1), -0.8) * math.Pow(c+0.02, 0.6) * math.Pow(w.lambda(dc, g, int(j))+1e-6, know)
		if w.pushedWithin(st, j, dc.d, 3) {
			wt *= 0.15
		}
		weights[i] = wt
	}
	var items []int32
	var from []bool
	for range n {
		if r.Float64() < 0.65 && len(items) < len(list) {
			i := pick(r, weights)
			if weights[i] == 0 {
				continue
			}
			weights[i] = 0
			items, from = append(items, list[i]), append(from, true)
			continue
		}
		k := pick(r, mixWeights(gr))
		for range 10 {
			j := int32(w.personaAlias[gr.mix[k]].draw(r))
			if dc.ok[j] && !slices.Contains(items, j) {
				items, from = append(items, j), append(from, false)
				break
			}
		}
	}
	return items, from
}

func mixWeights(gr *group) []float64 {
	out := make([]float64, gr.mixN)
	for k := range out {
		out[k] = float64(gr.mixW[k])
	}
	return out
}

func (w *World) pushedWithin(st *gstate, j int32, d, days int) bool {
	for i := range min(int(st.nrec), recentPushes) {
		if p := st.recent[i]; p.j == j && d-int(p.day) < days {
			return true
		}
	}
	return false
}

// fatigue is FatigueFactor for item j in group state st on day d.
func (w *World) fatigue(st *gstate, j, d int) float64 {
	l1 := w.cat.items[j].l1
	var ago [recentPushes]int
	n, cat := 0, 0
	for i := range min(int(st.nrec), recentPushes) {
		p := st.recent[i]
		age := d - int(p.day)
		if age > 7 {
			continue
		}
		if int(p.j) == j {
			ago[n] = age
			n++
		}
		if p.l1 == l1 && age <= 3 {
			cat++
		}
	}
	return FatigueFactor(ago[:n], cat)
}

// pickPersona chooses which of the group's personas an order of j comes from.
func (w *World) pickPersona(r *rand.Rand, dc *dayCtx, g, j int) int {
	gr := &w.groups[g]
	var ws [maxMix]float64
	for k := range int(gr.mixN) {
		ws[k] = float64(gr.mixW[k]) * float64(dc.base[gr.mix[k]][j])
	}
	return pick(r, ws[:gr.mixN])
}

// organicItem draws an item a member orders without a push; -1 when none fits.
func (w *World) organicItem(r *rand.Rand, dc *dayCtx, g int, st *gstate) (int, int) {
	gr := &w.groups[g]
	if st.nbought > 0 && r.Float64() < 0.4 {
		j := int(st.bought[r.IntN(min(int(st.nbought), boughtRing))])
		if dc.ok[j] {
			return j, w.pickPersona(r, dc, g, j)
		}
	}
	k := pick(r, mixWeights(gr))
	for range 10 {
		j := w.personaAlias[gr.mix[k]].draw(r)
		if !dc.ok[j] {
			continue
		}
		if r.Float64() < math.Min(1, math.Exp(float64(gr.gcat[w.cat.items[j].l1])+w.eta(g, j))/3) {
			return j, k
		}
	}
	return -1, 0
}

// order records one order of item j by a member of the group's k-th persona.
func (w *World) order(r *rand.Rand, dc *dayCtx, g int, st *gstate, j, k int, tm data.Timestamp, push data.PushID, n int, out *batch) {
	p := &dc.cur[j]
	qty := int32(1)
	if u := r.Float64(); u < 0.05 {
		qty = 3
	} else if u < 0.2 {
		qty = 2
	}
	amount := p.PriceCents * int64(qty)
	status := data.StatusPlaced
	q := float64(w.cat.items[j].quality)
	if u := r.Float64(); u < 0.03 {
		status = data.StatusCancelled
	} else if u < 0.03+0.015+0.04/(1+math.Exp(1.5*q)) {
		status = data.StatusRefunded
	}
	out.orders = append(out.orders, data.Order{
		ID: data.OrderID(int64(dc.d+1)<<32 | int64(g)<<8 | int64(n)), Group: data.GroupID(g + 1),
		Buyer: w.buyer(r, g, st, k), SKU: skuOf(j), Quantity: qty, AmountCents: amount,
		CommissionCents: int64(math.Round(float64(amount) * max(0, p.Commission))), Time: tm, Status: status, Push: push,
	})
	if status == data.StatusPlaced {
		st.bought[st.nbought%boughtRing] = int32(j)
		st.nbought++
	}
}

// buyer picks an active member of persona k, weighted by activity.
func (w *World) buyer(r *rand.Rand, g int, st *gstate, k int) data.MemberID {
	for range 200 {
		slot := r.IntN(int(st.slots))
		if !st.isActive(slot) {
			continue
		}
		pk, act := w.memberPersona(g, slot)
		if pk == k && r.Float64()*4 < act {
			return memberID(g, slot)
		}
	}
	for { // fall back to any active member
		if slot := r.IntN(int(st.slots)); st.isActive(slot) {
			return memberID(g, slot)
		}
	}
}

// memberChurn lets members leave and join.
func (w *World) memberChurn(r *rand.Rand, dc *dayCtx, g int, st *gstate, out *batch) {
	if int(w.groups[g].createdDay) == dc.d {
		return
	}
	for range poisson(r, float64(st.nactive)*memberChurn) {
		slot := r.IntN(int(st.slots))
		if !st.isActive(slot) {
			continue
		}
		st.remove(slot)
		out.members = append(out.members, data.Membership{Group: data.GroupID(g + 1), Member: memberID(g, slot),
			Joined: w.joinedAt(g, slot, st), Left: dc.at + data.Timestamp(r.Int64N(int64(data.Day)))})
	}
	for range poisson(r, float64(w.groups[g].members)*memberChurn) {
		if st.slots >= maxSlots {
			break
		}
		st.addSlot()
		st.joined = append(st.joined, int16(dc.d))
	}
}
