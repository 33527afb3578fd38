package main

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"grouprank/data"
	"grouprank/data/parquetio"
	"grouprank/data/store"
	"grouprank/recommend"
)

func picksCmd(e *env) *cobra.Command {
	var root, out, objective string
	var all bool
	var k, workers int
	c := &cobra.Command{
		Use:   "picks --all --out picks.parquet",
		Short: "Batch picks: top k for every group of the current snapshot, with the service's ranker",
		Long: `picks --all ranks every group the current snapshot holds with the same ranker
the service uses (on every core) and writes the top k of each, in group order,
to a Parquet file (table picks), atomically. The output does not depend on
the number of workers.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !all {
				return fmt.Errorf("say --all: batch picks rank every group of the snapshot")
			}
			if workers <= 0 {
				workers = runtime.NumCPU()
			}
			return batchPicks(cmd.Context(), e, root, out, recommend.PicksRequest{K: k, Objective: objective}, workers)
		},
	}
	f := c.Flags()
	f.BoolVar(&all, "all", false, "rank every group of the snapshot")
	f.StringVar(&root, "root", "snapshots", "snapshot root directory")
	f.StringVar(&out, "out", "picks.parquet", "output Parquet file")
	f.StringVar(&objective, "objective", "orders", "named objective")
	f.IntVar(&k, "k", 20, "picks per group")
	f.IntVar(&workers, "workers", 0, "goroutines (0: one per core)")
	return c
}

type batchItem struct {
	id  data.GroupID
	rec []byte
}

func batchPicks(ctx context.Context, e *env, root, out string, req recommend.PicksRequest, workers int) error {
	t0 := time.Now()
	v, err := store.Current(root)
	if err != nil {
		return err
	}
	m, snap, err := loadModel(root, v)
	if err != nil {
		return err
	}
	defer snap.Close()
	m.Warm()
	w, err := parquetio.Create(out, parquetio.Picks, parquetio.Options{})
	if err != nil {
		return err
	}
	at := data.TimestampOf(time.Now())
	const chunk = 4096
	batch := make([]batchItem, 0, chunk)
	results := make([][]data.PickRow, chunk)
	scratch := make([]*recommend.RankScratch, workers)
	for i := range scratch {
		scratch[i] = m.Ranker.NewScratch()
	}
	groups := 0
	prog := progress(e, "groups ranked", -1)
	flush := func() error {
		var wg sync.WaitGroup
		errs := make([]error, workers)
		for wk := range workers {
			wg.Add(1)
			go func(wk int) {
				defer wg.Done()
				for n := wk; n < len(batch); n += workers {
					g, err := recommend.DecodeGroup(batch[n].rec)
					if err != nil {
						errs[wk] = fmt.Errorf("group %d: %w", batch[n].id, err)
						return
					}
					r := req
					r.Group = batch[n].id
					p, err := m.PicksFor(&g, r, nil, scratch[wk])
					if err != nil {
						errs[wk] = err
						return
					}
					rows := results[n][:0]
					for k, it := range p.Items {
						rows = append(rows, data.PickRow{Group: r.Group, Rank: int32(k + 1), SKU: it.SKU, P: it.P,
							ExpectedOrders: it.Orders, Score: it.Score, Objective: p.Objective, ModelVersion: p.ModelVersion, Time: at})
					}
					results[n] = rows
				}
			}(wk)
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		for n := range batch {
			if err := w.Write(results[n]...); err != nil {
				return err
			}
		}
		groups += len(batch)
		prog(groups)
		batch = batch[:0]
		return ctx.Err()
	}
	err = snap.EachGroup(func(id data.GroupID, rec []byte) error {
		batch = append(batch, batchItem{id, append([]byte(nil), rec...)})
		if len(batch) == chunk {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		w.Abort()
		return err
	}
	e.log.Info("batch picks written", slog.Int("groups", groups), slog.String("model_version", v), slog.String("out", out),
		slog.String("took", time.Since(t0).Round(time.Millisecond).String()))
	fmt.Fprintf(e.stdout, "%d groups x top %d from model %s written to %s\n", groups, req.K, v, out)
	return nil
}
