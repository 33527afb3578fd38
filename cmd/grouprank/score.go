package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"grouprank/data"
	"grouprank/data/store"
	"grouprank/recommend"
	"grouprank/recommend/service"
)

func scoreCmd(e *env) *cobra.Command {
	var root, version, pairs, out, objective string
	c := &cobra.Command{
		Use:   "score --pairs FILE",
		Short: "Score (group, item) pairs with a published model: the ranking score before list-level rules",
		Long: `score reads pairs, one "group item" per line (whitespace- or comma-separated,
the user's own ids for an imported world), and writes "group item score p" as
tab-separated lines in the same order: the published model's ranking score
of the item for the group under --objective, before any list-level rule
(filters, category caps, the repush window, exploration), and its calibrated
probability. A group the snapshot does not know is scored as a new group; an
item not in the catalogue fails naming the line and column.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if version == "" {
				v, err := store.Current(root)
				if err != nil {
					return err
				}
				version = v
			}
			m, snap, err := service.OpenModel(root, version)
			if err != nil {
				return err
			}
			defer snap.Close()
			w := e.stdout
			var f *os.File
			if out != "-" {
				if f, err = os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-"); err != nil {
					return err
				}
				defer os.Remove(f.Name())
				w = f
			}
			bw := bufio.NewWriter(w)
			if err := scorePairs(m, pairs, objective, bw); err != nil {
				if f != nil {
					f.Close()
				}
				return err
			}
			if err := bw.Flush(); err != nil {
				return err
			}
			if f != nil {
				if err := f.Close(); err != nil {
					return err
				}
				return os.Rename(f.Name(), out)
			}
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVar(&root, "root", "snapshots", "snapshot root directory")
	fl.StringVar(&version, "version", "", "model version (default: the current one)")
	fl.StringVar(&pairs, "pairs", "", "file of \"group item\" lines")
	fl.StringVar(&objective, "objective", "orders", "named objective")
	fl.StringVar(&out, "out", "-", "output file (-: standard output)")
	c.MarkFlagRequired("pairs")
	return c
}

// scorePairs scores every line of path, consecutive lines of one group together.
func scorePairs(m *recommend.Model, path, objective string, w io.Writer) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	type pair struct {
		gname, iname string
		group        data.GroupID
		sku          data.SKU
	}
	var run []pair
	flush := func() error {
		if len(run) == 0 {
			return nil
		}
		skus := make([]data.SKU, len(run))
		for k, p := range run {
			skus[k] = p.sku
		}
		scores, err := m.ScorePairs(run[0].group, objective, skus)
		if err != nil {
			return err
		}
		for k, p := range run {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", p.gname, p.iname, strconv.FormatFloat(scores[k].Score, 'g', -1, 64), strconv.FormatFloat(scores[k].P, 'g', -1, 64))
		}
		run = run[:0]
		return nil
	}
	for n, line := range strings.Split(string(b), "\n") {
		line = strings.TrimRight(line, "\r")
		if n == 0 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		f := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' })
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return fmt.Errorf("%s:%d: want \"group item\", got %d fields", path, n+1, len(f))
		}
		gid, ok := m.IDs.Resolve(data.IDGroup, f[0])
		if !ok && m.IDs == nil {
			return fmt.Errorf("%s:%d: column group: %q is not a group id (a number > 0)", path, n+1, f[0])
		}
		iid, ok := m.IDs.Resolve(data.IDSKU, f[1])
		if !ok {
			return fmt.Errorf("%s:%d: column item: %q is not an item of model %s", path, n+1, f[1], m.Version)
		}
		p := pair{f[0], f[1], data.GroupID(gid), data.SKU(iid)}
		if len(run) > 0 && run[0].group != p.group {
			if err := flush(); err != nil {
				return fmt.Errorf("%s:%d: %w", path, n, err)
			}
		}
		run = append(run, p)
	}
	if err := flush(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
