package recommend

import (
	"hash/fnv"
	"math/rand/v2"

	"grouprank/data"
	"grouprank/features"
)

// Exploration keeps a randomised slice in the service's own logs. Once the
// service chooses every list, its logs hold only what its model already
// believes, and the conversion model's bias checks and off-policy estimates
// (train.RandomLists, train.OffPolicy) need lists the model did not choose.
// With PicksRequest.Explore = e, a share e of lists (decided by the
// request's Seed) is drawn uniformly, without replacement and in random
// order, from every item that passes the request's floors (eligible, rules,
// category, price, exclusions and the repush filter; the category cap does
// not apply), exactly as the synthetic world's logging policy draws its
// randomised lists from the catalogue. Every item of every list carries its
// propensity: the probability that this policy shows it at that rank,
//
//	e/N + (1-e) x [the ranked list has it at that rank],
//
// N the number of items passing the floors. Without exploration every item's
// propensity is 1.
// obj scores the drawn items' parts (the request's objective; orders for
// today's practice).
func (m *Model) explore(g *Group, rec *features.Recent, obj Objective, floors Floors, req PicksRequest, picks []Pick, s *RankScratch) ([]Pick, []float64, bool) {
	props := make([]float64, len(picks))
	if req.Explore <= 0 {
		for r := range props {
			props[r] = 1
		}
		return picks, props, false
	}
	rng := rand.New(rand.NewPCG(req.Seed, 0x6578706c6f7265)) // "explore"
	if rng.Float64() >= req.Explore {
		// the ranked list: N by count, not a scan, as most requests take this path
		if n := m.passing(floors); n > 0 {
			for r := range props {
				props[r] = 1 - req.Explore + req.Explore/float64(n)
			}
		}
		return picks, props, false
	}
	cat := m.Ranker.Scorer.in.Cat
	pool := s.pool[:0]
	for i := range int32(cat.Len()) {
		if floors.Pass(cat, i) {
			pool = append(pool, i)
		}
	}
	s.pool = pool
	n := float64(len(pool))
	if len(pool) > 0 {
		k := min(req.K, len(pool))
		for r := range k { // partial Fisher-Yates: the first k of a uniform permutation
			j := r + rng.IntN(len(pool)-r)
			pool[r], pool[j] = pool[j], pool[r]
		}
		items := pool[:k]
		m.Ranker.Scorer.PredictAt(g, rec, nil, items, s.probs, s.orders)
		ranked := picks
		picks = make([]Pick, k)
		props = make([]float64, k)
		for r, i := range items {
			picks[r] = Pick{Item: i, Parts: obj.ScoreIn(m.Ranker.Scorer.in, i, float64(s.probs[i]), float64(s.orders[i]))}
			props[r] = req.Explore / n
			if r < len(ranked) && ranked[r].Item == i {
				props[r] += 1 - req.Explore
			}
		}
		return picks, props, true
	}
	return picks, props, false // nothing passes the floors: the ranked list is empty too
}

// ExploreSeed is the exploration draw of a served request: the same request
// id at the same instant always draws the same, so a logged list can be
// replayed.
func ExploreSeed(requestID string, now data.Timestamp) uint64 {
	h := fnv.New64a()
	h.Write([]byte(requestID))
	var b [8]byte
	for k := range b {
		b[k] = byte(uint64(now) >> (8 * k))
	}
	h.Write(b[:])
	return h.Sum64()
}
