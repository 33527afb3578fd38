package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"grouprank/data"
	"grouprank/data/parquetio"
	"grouprank/data/store"
	"grouprank/recommend"
	"grouprank/recommend/experiment"
	"grouprank/recommend/service"
	"grouprank/recommend/serving"
)

func picksCmd(e *env) *cobra.Command {
	var o batchOptions
	var all bool
	var k int
	c := &cobra.Command{
		Use:   "picks --all --out picks.parquet",
		Short: "Batch picks: top k for every group of the current snapshot, with the service's ranker",
		Long: `picks --all ranks every group the current snapshot holds with the same ranker
the service uses (on every core) and writes the top k of each, in group order,
to a Parquet file (table picks), or a CSV file when --out ends in .csv
(group, rank, sku, p, expected_orders, score, objective, model_version; ids
are the user's own for an imported world), atomically. k may reach the size
of the catalogue. The output does not depend on the number of workers. With --live it logs every list as exposures into the
live store, as the service does, and puts each group in the running
experiments' arms (group-randomised ones; a promoter-randomised experiment
needs the promoter, which batch runs do not have), ranking with the arm's
options.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !all {
				return fmt.Errorf("say --all: batch picks rank every group of the snapshot")
			}
			if o.workers <= 0 {
				o.workers = runtime.NumCPU()
			}
			o.req.K, o.req.Batch = k, true
			if k > recommend.DefaultDepth {
				o.req.Depth = k // every pick comes from the candidates
			}
			return batchPicks(cmd.Context(), e, o)
		},
	}
	f := c.Flags()
	f.BoolVar(&all, "all", false, "rank every group of the snapshot")
	f.StringVar(&o.root, "root", "snapshots", "snapshot root directory")
	f.StringVar(&o.out, "out", "picks.parquet", "output file: Parquet, or CSV when it ends in .csv")
	f.StringVar(&o.req.Objective, "objective", "orders", "named objective")
	f.StringVar(&o.live, "live", "", "live store to log exposures into, with experiment arms (empty: none; not while grouprank serve holds it)")
	f.IntVar(&k, "k", 20, "picks per group")
	f.IntVar(&o.workers, "workers", 0, "goroutines (0: one per core)")
	return c
}

type batchOptions struct {
	root, out, live string
	req             recommend.PicksRequest
	workers         int
}

type batchItem struct {
	id  data.GroupID
	rec []byte
}

// dotBatch is how many groups a worker computes dot products for together
// (Factors.DotsInto): the item matrix is read once per block of groups.
const dotBatch = 16

// batchRanker ranks one chunk of groups on every worker.
type batchRanker struct {
	m       *recommend.Model
	o       batchOptions
	lister  *serving.Lister
	at      data.Timestamp
	scratch []*recommend.RankScratch
	dots    [][][]float32 // per worker, dotBatch buffers of one dot product per item
}

func newBatchRanker(m *recommend.Model, o batchOptions, asg *experiment.Assigner, others *otherVersions, at time.Time) *batchRanker {
	b := &batchRanker{m: m, o: o, at: data.TimestampOf(at),
		lister: &serving.Lister{Model: func() *recommend.Model { return m }, Assigner: func() *experiment.Assigner { return asg },
			Version: others.get, Explore: o.req.Explore}}
	n := m.Ranker.Scorer.Inputs().Cat.Len()
	for range o.workers {
		b.scratch = append(b.scratch, m.Ranker.NewScratch())
		bufs := make([][]float32, dotBatch)
		for k := range bufs {
			bufs[k] = make([]float32, n)
		}
		b.dots = append(b.dots, bufs)
	}
	return b
}

// rank ranks batch into rows and exposures (indexed like batch).
func (b *batchRanker) rank(batch []batchItem, rows [][]data.PickRow, exps [][]data.Exposure) error {
	var wg sync.WaitGroup
	errs := make([]error, b.o.workers)
	for wk := range b.o.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lo := wk * dotBatch; lo < len(batch); lo += b.o.workers * dotBatch {
				if err := b.block(wk, batch, lo, min(len(batch), lo+dotBatch), rows, exps); err != nil {
					errs[wk] = err
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
	return nil
}

// block ranks batch[lo:hi] on worker wk, their dot products computed together.
func (b *batchRanker) block(wk int, batch []batchItem, lo, hi int, rows [][]data.PickRow, exps [][]data.Exposure) error {
	items := b.m.Ranker.Scorer.Inputs().Items
	gs := make([]recommend.Group, hi-lo)
	var vecs, dsts [][]float32
	for k := range gs {
		g, err := recommend.DecodeGroup(batch[lo+k].rec)
		if err != nil {
			return fmt.Errorf("group %d: %w", batch[lo+k].id, err)
		}
		gs[k] = g
		if g.Vector != nil && items != nil {
			vecs, dsts = append(vecs, g.Vector), append(dsts, b.dots[wk][len(dsts)])
		}
	}
	if len(vecs) > 0 {
		items.DotsInto(dsts, vecs)
	}
	used := 0
	for k := range gs {
		n, s := lo+k, b.scratch[wk]
		if gs[k].Vector != nil && items != nil {
			s.UseDots(dsts[used])
			used++
		}
		r := b.o.req
		r.Group, r.Now = batch[n].id, b.at
		reqID := fmt.Sprintf("batch-%d-%d", b.at, r.Group)
		list, err := b.lister.Serve(serving.Request{PicksRequest: r, ID: reqID, Logged: exps != nil},
			func(m *recommend.Model, req recommend.PicksRequest) (*recommend.Picks, error) {
				if m == b.m { // the current model: its record and dot products are at hand
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
				ExpectedOrders: it.Orders, Score: it.Score, Objective: p.Objective, ModelVersion: p.ModelVersion, Time: b.at})
		}
		rows[n] = out
		if exps != nil {
			exps[n] = list.Exposures
		}
	}
	return nil
}

func batchPicks(ctx context.Context, e *env, o batchOptions) error {
	t0 := time.Now()
	v, err := store.Current(o.root)
	if err != nil {
		return err
	}
	m, snap, err := service.OpenModel(o.root, v)
	if err != nil {
		return err
	}
	defer snap.Close()
	m.Warm()
	var xl *service.ExposureLog
	var asg *experiment.Assigner
	if o.live != "" {
		live, reg, err := openExperiments(o.live, o.root)
		if err != nil {
			return err
		}
		defer live.Close()
		asg = reg.Assigner()
		xl = service.NewExposureLog(live, e.log)
		defer xl.Close()
	}
	var w pickSink
	if strings.HasSuffix(strings.ToLower(o.out), ".csv") {
		w, err = newCSVPicks(o.out, m.IDs)
	} else {
		w, err = parquetio.Create(o.out, parquetio.Picks, parquetio.Options{})
	}
	if err != nil {
		return err
	}
	const chunk = 4096
	others := newOtherVersions(o.root)
	defer others.close()
	br := newBatchRanker(m, o, asg, others, e.now())
	// Two sets of buffers: the workers rank one chunk while a writer
	// goroutine writes the previous one.
	type chunkOut struct {
		batch []batchItem
		rows  [][]data.PickRow
		exps  [][]data.Exposure
	}
	free := make(chan *chunkOut, 2)
	for range 2 {
		c := &chunkOut{batch: make([]batchItem, 0, chunk), rows: make([][]data.PickRow, chunk)}
		if xl != nil {
			c.exps = make([][]data.Exposure, chunk)
		}
		free <- c
	}
	full := make(chan *chunkOut, 1)
	written := make(chan error, 1)
	go func() {
		var err error
		for c := range full {
			for n := range c.batch {
				if err == nil {
					err = w.Write(c.rows[n]...)
				}
				if err == nil && xl != nil {
					xl.LogWait(c.exps[n])
				}
			}
			c.batch = c.batch[:0]
			free <- c
		}
		written <- err
	}()
	cur := <-free
	groups := 0
	prog := progress(e, "groups ranked", -1)
	flush := func() error {
		if err := br.rank(cur.batch, cur.rows, cur.exps); err != nil {
			return err
		}
		groups += len(cur.batch)
		prog(groups)
		full <- cur
		cur = <-free
		return ctx.Err()
	}
	err = snap.EachGroup(func(id data.GroupID, rec []byte) error {
		cur.batch = append(cur.batch, batchItem{id, append([]byte(nil), rec...)})
		if len(cur.batch) == chunk {
			return flush()
		}
		return nil
	})
	if err == nil && len(cur.batch) > 0 {
		err = flush()
	}
	close(full)
	if werr := <-written; err == nil {
		err = werr
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		w.Abort()
		return err
	}
	e.log.Info("batch picks written", slog.Int("groups", groups), slog.String("model_version", v), slog.String("out", o.out),
		tookSince(t0))
	fmt.Fprintf(e.stdout, "%d groups x top %d from model %s written to %s\n", groups, o.req.K, v, o.out)
	return nil
}

// pickSink receives batch picks: a Parquet writer or csvPicks.
type pickSink interface {
	Write(rows ...data.PickRow) error
	Close() error
	Abort()
}

// csvPicks writes picks as CSV with the user's own ids, to a temporary file
// renamed into place by Close.
type csvPicks struct {
	path string
	f    *os.File
	w    *csv.Writer
	ids  *data.IDMap
}

func newCSVPicks(path string, ids *data.IDMap) (*csvPicks, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return nil, err
	}
	c := &csvPicks{path: path, f: f, w: csv.NewWriter(f), ids: ids}
	return c, c.w.Write([]string{"group", "rank", "sku", "p", "expected_orders", "score", "objective", "model_version"})
}

func (c *csvPicks) Write(rows ...data.PickRow) error {
	g := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	for _, r := range rows {
		if err := c.w.Write([]string{c.ids.Name(data.IDGroup, int64(r.Group)), strconv.Itoa(int(r.Rank)), c.ids.Name(data.IDSKU, int64(r.SKU)),
			g(r.P), g(r.ExpectedOrders), g(r.Score), r.Objective, r.ModelVersion}); err != nil {
			return err
		}
	}
	return nil
}

func (c *csvPicks) Close() error {
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		c.Abort()
		return err
	}
	if err := c.f.Sync(); err != nil {
		c.Abort()
		return err
	}
	if err := c.f.Close(); err != nil {
		os.Remove(c.f.Name())
		return err
	}
	return os.Rename(c.f.Name(), c.path)
}

func (c *csvPicks) Abort() {
	c.f.Close()
	os.Remove(c.f.Name())
}
