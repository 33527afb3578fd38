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
	var shardFlag, at string
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
options. --shard i/n ranks only the groups of part i of n (a hash of the group
id), so n machines share the run; picks merge puts the parts together into the
file one run writes (give every part the same --at).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !all {
				return fmt.Errorf("say --all: batch picks rank every group of the snapshot")
			}
			if o.workers <= 0 {
				o.workers = runtime.NumCPU()
			}
			var err error
			if o.shard, err = parseShard(shardFlag); err != nil {
				return err
			}
			if o.shard.n > 1 && strings.HasSuffix(strings.ToLower(o.out), ".csv") {
				return fmt.Errorf("--shard: write the parts as Parquet; picks merge --out %s writes the CSV: %w", o.out, data.ErrInvalid)
			}
			if o.at, err = parseAt(at, e.now()); err != nil {
				return err
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
	f.StringVar(&o.root, "root", "snapshots", "snapshot root directory, or nats://... URLs: the JetStream cluster's current model (fetched into --snapshot-cache)")
	f.StringVar(&o.out, "out", "picks.parquet", "output file: Parquet, or CSV when it ends in .csv")
	f.StringVar(&o.req.Objective, "objective", "orders", "named objective")
	f.StringVar(&o.live, "live", "", "live data to log exposures into, with experiment arms (empty: none): a directory (not while grouprank serve holds it) or nats://... URLs")
	f.IntVar(&o.natsReplicas, "nats-replicas", 3, "with --live nats://...: copies of every stream and bucket (the cluster's size; 1 for one server)")
	f.IntVar(&k, "k", 20, "picks per group")
	f.IntVar(&o.workers, "workers", 0, "goroutines (0: one per core)")
	f.StringVar(&shardFlag, "shard", "", "i/n: rank only part i of n of the groups (by a hash of the group id), for picks merge")
	f.StringVar(&at, "at", "", "the run's time: RFC 3339, or today (this day's 00:00 UTC, the same for every shard started that day); default now. The picks record it and the fatigue and repush windows count from it")
	f.StringVar(&o.snapshotCache, "snapshot-cache", "snapshot-cache", "with --root nats://...: the local directory the cluster's current snapshot is fetched into")
	c.AddCommand(picksMergeCmd(e))
	return c
}

type batchOptions struct {
	root, out, live string
	req             recommend.PicksRequest
	workers         int
	natsReplicas    int // --live nats://...: copies of every stream and bucket
	shard           shard
	at              data.Timestamp // the run's time (0: now)
	snapshotCache   string         // --root nats://...: where the current snapshot is fetched to
}

func batchPicks(ctx context.Context, e *env, o batchOptions) error {
	t0 := time.Now()
	root, done, err := localRoot(ctx, e, o.root, o.snapshotCache, o.natsReplicas)
	if err != nil {
		return err
	}
	defer done()
	o.root = root
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
		live, reg, err := openExperiments(ctx, o.live, o.root, o.natsReplicas)
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
	if o.at == 0 {
		o.at = data.TimestampOf(e.now())
	}
	br := &serving.Batch{Model: m, Request: o.req, At: o.at, Workers: o.workers,
		Lister: &serving.Lister{Model: func() *recommend.Model { return m }, Assigner: func() *experiment.Assigner { return asg },
			Version: others.get, Explore: o.req.Explore}}
	// Two sets of buffers: the workers rank one chunk while a writer
	// goroutine writes the previous one.
	type chunkOut struct {
		batch []serving.BatchItem
		rows  [][]data.PickRow
		exps  [][]data.Exposure
	}
	free := make(chan *chunkOut, 2)
	for range 2 {
		c := &chunkOut{batch: make([]serving.BatchItem, 0, chunk), rows: make([][]data.PickRow, chunk)}
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
		if err := br.Rank(ctx, cur.batch, cur.rows, cur.exps); err != nil {
			return err
		}
		groups += len(cur.batch)
		prog(groups)
		full <- cur
		cur = <-free
		return ctx.Err()
	}
	err = snap.EachGroup(func(id data.GroupID, rec []byte) error {
		if !o.shard.has(id) {
			return nil
		}
		cur.batch = append(cur.batch, serving.BatchItem{ID: id, Record: append([]byte(nil), rec...)})
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
