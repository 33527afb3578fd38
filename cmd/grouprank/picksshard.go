package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"grouprank/data"
	"grouprank/data/jetstream"
	"grouprank/data/parquetio"
	"grouprank/recommend/service"
)

// shard is one of n parts of the groups: a group belongs to part
// shardOf(id, n), a hash of its id, so the parts do not depend on which
// groups exist or in what order they are read.
type shard struct{ i, n int }

// parseShard reads "i/n" (0 <= i < n <= data.Blocks); "" is the whole (0/1).
func parseShard(s string) (shard, error) {
	if s == "" {
		return shard{0, 1}, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || n > data.Blocks || i < 0 || i >= n {
		return shard{}, fmt.Errorf("--shard %q: want i/n with 0 <= i < n <= %d (e.g. 0/4): %w", s, data.Blocks, data.ErrInvalid)
	}
	return shard{i, n}, nil
}

// has reports whether group id belongs to the shard.
func (s shard) has(id data.GroupID) bool { return s.n <= 1 || shardOf(id, s.n) == s.i }

// shardOf is a group's part of n: data.PartOf, its hash block modulo n.
func shardOf(id data.GroupID, n int) int { return data.PartOf(id, n) }

// parseAt is picks' --at: "" (now), "today" (now's day at 00:00 UTC) or RFC 3339.
func parseAt(s string, now time.Time) (data.Timestamp, error) {
	switch s {
	case "":
		return data.TimestampOf(now), nil
	case "today":
		return data.TimestampOf(now.UTC().Truncate(24 * time.Hour)), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, fmt.Errorf("--at %q: want RFC 3339 (2026-11-20T08:00:00Z) or today: %w", s, data.ErrInvalid)
	}
	return data.TimestampOf(t), nil
}

// localRoot is a snapshot root on this machine for root: root itself, or
// for nats://... URLs the cache the cluster's current model is fetched into
// (verified); done closes what it opened.
func localRoot(ctx context.Context, e *env, root, cache string, replicas int) (string, func(), error) {
	if !jetstream.IsURL(root) {
		return root, func() {}, nil
	}
	s, err := openModelSync(ctx, root, cache, replicas, e.log)
	if err != nil {
		return "", nil, err
	}
	if err := s.prime(ctx); err != nil {
		s.Close()
		return "", nil, err
	}
	if err := s.Ready(); err != nil {
		s.Close()
		return "", nil, err
	}
	return cache, func() { s.Close() }, nil
}

// picksMergeCmd merges the parts of a sharded batch picks run into the
// file one unsharded run writes.
func picksMergeCmd(e *env) *cobra.Command {
	var root, out, cache string
	var replicas int
	c := &cobra.Command{
		Use:   "merge PART... --out picks.parquet",
		Short: "Merge the parts of picks --all --shard i/n into one file, identical to an unsharded run's",
		Long: `merge reads the Parquet parts that picks --all --shard 0/n ... (n-1)/n wrote,
checks that they come from one model and one run time, that no group is in two
of them and that together they hold every group of that model's snapshot under
--root, and writes their rows in group order: byte for byte the file picks --all
writes with the same --at, Parquet or CSV (--out ending in .csv).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, parts []string) error {
			local, done, err := localRoot(cmd.Context(), e, root, cache, replicas)
			if err != nil {
				return err
			}
			defer done()
			return mergePicks(e, local, parts, out)
		},
	}
	c.Flags().StringVar(&root, "root", "snapshots", "snapshot root holding the model the parts were ranked with, or nats://... URLs (its current model, fetched into --snapshot-cache)")
	c.Flags().StringVar(&cache, "snapshot-cache", "snapshot-cache", "with --root nats://...: the local directory the cluster's current snapshot is fetched into")
	c.Flags().IntVar(&replicas, "nats-replicas", 3, "with --root nats://...: copies of the snapshots and the current-model bucket (the cluster's size)")
	c.Flags().StringVar(&out, "out", "picks.parquet", "output file: Parquet, or CSV when it ends in .csv")
	return c
}

// pickPart is one part being merged: its reader and a buffer of its rows.
type pickPart struct {
	r    *parquetio.Reader[data.PickRow]
	buf  []data.PickRow
	at   int
	name string
	last data.GroupID // the group last taken from it
}

// peek is the part's next row, nil at its end.
func (p *pickPart) peek() (*data.PickRow, error) {
	if p.at < len(p.buf) {
		return &p.buf[p.at], nil
	}
	n, err := p.r.Read(p.buf[:cap(p.buf)])
	p.buf, p.at = p.buf[:n], 0
	if n > 0 {
		return &p.buf[0], nil
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return nil, nil
}

// mergePicks merges the parts (each in group order) into out, streaming.
func mergePicks(e *env, root string, names []string, out string) error {
	var parts []*pickPart
	defer func() {
		for _, p := range parts {
			p.r.Close()
		}
	}()
	var first *data.PickRow
	for _, name := range names {
		r, err := parquetio.Open(name, parquetio.Picks)
		if err != nil {
			return err
		}
		p := &pickPart{r: r, buf: make([]data.PickRow, 0, 4096), name: name}
		parts = append(parts, p)
		row, err := p.peek()
		if err != nil {
			return err
		}
		if row != nil && first == nil {
			first = new(data.PickRow)
			*first = *row
		}
	}
	if first == nil {
		return fmt.Errorf("picks merge: the parts hold no rows: %w", data.ErrInvalid)
	}
	m, snap, err := service.OpenModel(root, first.ModelVersion)
	if err != nil {
		return fmt.Errorf("picks merge: the parts' model %s under %s: %w", first.ModelVersion, root, err)
	}
	defer snap.Close()
	var w pickSink
	if strings.HasSuffix(strings.ToLower(out), ".csv") {
		w, err = newCSVPicks(out, m.IDs)
	} else {
		w, err = parquetio.Create(out, parquetio.Picks, parquetio.Options{})
	}
	if err != nil {
		return err
	}
	groups, err := copyPicks(parts, *first, w)
	if err == nil && groups != snap.Manifest.Size.Groups {
		err = fmt.Errorf("picks merge: the parts hold %d of the %d groups of model %s: a part is missing: %w",
			groups, snap.Manifest.Size.Groups, first.ModelVersion, data.ErrInvalid)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		w.Abort()
		return err
	}
	fmt.Fprintf(e.stdout, "%d groups from %d parts written to %s\n", groups, len(parts), out)
	return nil
}

// copyPicks writes the parts' rows to w, group by group, the lowest group
// next, refusing a part out of group order, a group in two parts and rows of
// another model or time than first's; it returns the groups written.
func copyPicks(parts []*pickPart, first data.PickRow, w pickSink) (int, error) {
	groups := 0
	seen := map[data.GroupID]string{} // a group's part
	var rows []data.PickRow           // the group's, written together
	for {
		var next *pickPart // the part whose next group is the lowest
		var g data.GroupID
		for _, p := range parts {
			row, err := p.peek()
			if err != nil {
				return groups, err
			}
			if row != nil && (next == nil || row.Group < g) {
				next, g = p, row.Group
			}
		}
		if next == nil {
			return groups, nil
		}
		if g < next.last {
			return groups, fmt.Errorf("picks merge: %s is not in group order (group %d after %d): %w", next.name, g, next.last, data.ErrInvalid)
		}
		if other, dup := seen[g]; dup {
			return groups, fmt.Errorf("picks merge: group %d is in %s and %s: %w", g, other, next.name, data.ErrInvalid)
		}
		next.last, seen[g] = g, next.name
		groups++
		rows = rows[:0]
		for {
			row, err := next.peek()
			if err != nil {
				return groups, err
			}
			if row == nil || row.Group != g {
				break
			}
			if row.ModelVersion != first.ModelVersion || row.Time != first.Time {
				return groups, fmt.Errorf("picks merge: %s holds picks of model %s at %s, another part of model %s at %s: %w",
					next.name, row.ModelVersion, row.Time, first.ModelVersion, first.Time, data.ErrInvalid)
			}
			rows = append(rows, *row)
			next.at++
		}
		// one write per group, as picks --all makes them: the Parquet
		// writer cuts its pages between writes, so the bytes depend on them
		if err := w.Write(rows...); err != nil {
			return groups, err
		}
	}
}
