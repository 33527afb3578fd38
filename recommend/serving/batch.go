package serving

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"

	"grouprank/data"
	"grouprank/recommend"
)

// BatchItem is one group's stored record to rank.
type BatchItem struct {
	ID     data.GroupID
	Record []byte // recommend.EncodeGroup's record
}

// Batch ranks many groups' stored records as batch picks does: the dot
// products of a block of groups' vectors with every item vector are
// computed together (Factors.DotsInto reads the item matrix once a block),
// and each group's list is served through the Lister as the service serves
// one (arms, their models, exploration).
type Batch struct {
	Model   *recommend.Model       // the current model, whose records the items are
	Lister  *Lister                // arms' model versions and options
	Request recommend.PicksRequest // the template; Group and Now are set per group
	At      data.Timestamp         // the instant the lists are for
	Workers int                    // blocks ranked at once
	states  sync.Pool              // *batchState
}

// batchBlock is how many groups' dot products are computed together.
const batchBlock = 16

// batchState is one block's buffers, reused across blocks.
type batchState struct {
	scratch *recommend.RankScratch
	dots    [][]float32 // batchBlock buffers of one dot product per item
}

// Rank ranks batch into rows and, when exps is not nil, the lists'
// exposures (both indexed like batch). The result does not depend on
// Workers.
func (b *Batch) Rank(ctx context.Context, batch []BatchItem, rows [][]data.PickRow, exps [][]data.Exposure) error {
	eg, ctx := errgroup.WithContext(ctx)
	eg.SetLimit(max(b.Workers, 1))
	for lo := 0; lo < len(batch); lo += batchBlock {
		eg.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			st, _ := b.states.Get().(*batchState)
			if st == nil {
				n := b.Model.Ranker.Scorer.Inputs().Cat.Len()
				st = &batchState{scratch: b.Model.Ranker.NewScratch(), dots: make([][]float32, batchBlock)}
				for k := range st.dots {
					st.dots[k] = make([]float32, n)
				}
			}
			defer b.states.Put(st)
			return b.block(st, batch, lo, min(len(batch), lo+batchBlock), rows, exps)
		})
	}
	return eg.Wait()
}

// block ranks batch[lo:hi], their dot products computed together.
func (b *Batch) block(st *batchState, batch []BatchItem, lo, hi int, rows [][]data.PickRow, exps [][]data.Exposure) error {
	items := b.Model.Ranker.Scorer.Inputs().Items
	gs := make([]recommend.Group, hi-lo)
	var vecs, dsts [][]float32
	for k := range gs {
		g, err := recommend.DecodeGroup(batch[lo+k].Record)
		if err != nil {
			return fmt.Errorf("group %d: %w", batch[lo+k].ID, err)
		}
		gs[k] = g
		if g.Vector != nil && items != nil {
			vecs, dsts = append(vecs, g.Vector), append(dsts, st.dots[len(dsts)])
		}
	}
	if len(vecs) > 0 {
		items.DotsInto(dsts, vecs)
	}
	used := 0
	for k := range gs {
		n, s := lo+k, st.scratch
		if gs[k].Vector != nil && items != nil {
			s.UseDots(dsts[used])
			used++
		}
		r := b.Request
		r.Group, r.Now = batch[n].ID, b.At
		reqID := fmt.Sprintf("batch-%d-%d", b.At, r.Group)
		list, err := b.Lister.Serve(Request{PicksRequest: r, ID: reqID, Logged: exps != nil},
			func(m *recommend.Model, req recommend.PicksRequest) (*recommend.Picks, error) {
				if m == b.Model { // the current model: its record and dot products are at hand
					return m.PicksFor(&gs[k], req, nil, s)
				}
				return m.Picks(req, nil, m.Ranker.NewScratch()) // an arm's other model version
			})
		if err != nil {
			return err
		}
		p := list.Picks
		out := rows[n][:0]
		for rank, it := range p.Items {
			out = append(out, data.PickRow{Group: r.Group, Rank: int32(rank + 1), SKU: it.SKU, P: it.P,
				ExpectedOrders: it.Orders, Score: it.Score, Objective: p.Objective, ModelVersion: p.ModelVersion, Time: b.At})
		}
		rows[n] = out
		if exps != nil {
			exps[n] = list.Exposures
		}
	}
	return nil
}
