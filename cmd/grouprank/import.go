package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"grouprank/data"
	"grouprank/data/importer"
	"grouprank/data/parquetio"
)

func importCmd(e *env) *cobra.Command {
	var in, out, table, mapping, format, ids string
	var maxErrors int
	c := &cobra.Command{
		Use:   "import --table T --in FILE --out FILE.parquet",
		Short: "Turn a CSV/TSV file into one of grouprank's Parquet tables",
		Long: fmt.Sprintf(`import reads a CSV or TSV file with a header row and writes it as a Parquet
table. Columns are matched by name; --map renames: --map sku=item_id,price_cents=price.
Every bad row is reported with file, line, column and reason and skipped; with
more than --max-errors bad rows nothing is written and the exit status is 1.
--format ws splits fields on runs of spaces and tabs. A members file's member
column may list several members ("m1,m2,..."): one row each.

Ids are positive integers, unless --ids FILE names an id map (ids.parquet;
created when missing, extended and rewritten after a successful import): then
the group, member, buyer, sku, promoter, order and push columns take any text
(0-based numbers, strings, UUIDs), mapped to internal ids; give every table of
a world the same file (--ids W/ids.parquet) so that later commands name the
user's ids. An order whose group is empty is a member's own order (it needs
its buyer). --out's directory is created when missing.

A world needs its orders only: without products (or catalog) the products are
the SKUs the orders name, with nothing known of them, and without groups the
groups are those the orders and memberships name.

Tables and their columns (* required):
%s`, tableHelp()),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o := importer.Options{MaxErrors: maxErrors, Mapping: map[string]string{}}
			switch format {
			case "csv":
				o.Comma = ','
			case "tsv":
				o.Comma = '\t'
			case "ws":
				o.Whitespace = true
			default:
				return fmt.Errorf("--format %q: want csv, tsv or ws", format)
			}
			if ids != "" {
				rows, err := parquetio.ReadFile(ids, parquetio.IDs)
				switch {
				case err == nil:
					if o.IDs, err = data.IDMapFrom(rows); err != nil {
						return fmt.Errorf("%s: %w", ids, err)
					}
				case os.IsNotExist(unwrapPath(err)):
					o.IDs = data.NewIDMap()
				default:
					return err
				}
			}
			for _, kv := range strings.Split(mapping, ",") {
				if kv = strings.TrimSpace(kv); kv == "" {
					continue
				}
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" || v == "" {
					return fmt.Errorf("--map %q: want target=source pairs separated by commas", kv)
				}
				o.Mapping[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
			if in == "" || out == "" || table == "" {
				return fmt.Errorf("--table, --in and --out are required")
			}
			for _, f := range []string{out, ids} {
				if f != "" {
					if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
						return err
					}
				}
			}
			rep, err := importer.Import(cmd.Context(), table, in, out, o)
			if rep != nil {
				for _, p := range rep.Problems {
					fmt.Fprintln(e.stderr, p)
				}
				if rep.Bad > len(rep.Problems) {
					fmt.Fprintf(e.stderr, "... and %d more bad rows\n", rep.Bad-len(rep.Problems))
				}
				for _, p := range rep.Warnings {
					fmt.Fprintln(e.stderr, "warning:", p)
				}
				if rep.Skipped > len(rep.Warnings) {
					fmt.Fprintf(e.stderr, "warning: ... and %d more rows left out\n", rep.Skipped-len(rep.Warnings))
				}
			}
			if err != nil {
				return err
			}
			if o.IDs != nil {
				if err := parquetio.WriteFile(ids, parquetio.IDs, o.IDs.Rows(), parquetio.Options{}); err != nil {
					return err
				}
			}
			e.log.Info("imported", slog.String("table", table), slog.String("out", out), slog.Int("rows", rep.Rows),
				slog.Int("written", rep.Written), slog.Int("bad", rep.Bad), slog.Int("skipped", rep.Skipped))
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&table, "table", "", "target table: "+strings.Join(importer.Tables(), ", "))
	f.StringVar(&in, "in", "", "CSV/TSV file to read")
	f.StringVar(&out, "out", "", "Parquet file to write")
	f.StringVar(&format, "format", "csv", "csv, tsv or ws (runs of spaces and tabs)")
	f.StringVar(&ids, "ids", "", "id map (ids.parquet) to map the file's own ids through (empty: ids are positive integers)")
	f.StringVar(&mapping, "map", "", "column mapping: target=source,...")
	f.IntVar(&maxErrors, "max-errors", 0, "bad rows tolerated (skipped); more and nothing is written")
	c.AddCommand(beibeiCmd(e), grouprecCmd(e))
	return c
}

func tableHelp() string {
	var b strings.Builder
	for _, t := range importer.Tables() {
		cols, _ := importer.Columns(t)
		names := make([]string, 0, len(cols))
		for n, req := range cols {
			if req {
				n += "*"
			}
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(&b, "  %-10s %s\n", t, strings.Join(names, " "))
	}
	return b.String()
}

func beibeiCmd(e *env) *cobra.Command {
	var in, out string
	c := &cobra.Command{
		Use:   "beibei --in DIR --out DIR",
		Short: "Import the BeiBei group-buying dataset (history to --out, test.txt to --out/test)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := importer.ImportBeiBei(cmd.Context(), in, out)
			if err != nil {
				return err
			}
			b, _ := json.MarshalIndent(rep, "", "  ")
			fmt.Fprintln(e.stdout, string(b))
			return nil
		},
	}
	c.Flags().StringVar(&in, "in", "testdata/beibei", "directory holding data_size.txt, tune.txt, invalid.txt and test.txt")
	c.Flags().StringVar(&out, "out", "beibei", "output directory")
	return c
}

func grouprecCmd(e *env) *cobra.Command {
	var in, out string
	c := &cobra.Command{
		Use:   "grouprec --in DIR --out DIR",
		Short: "Import a group-recommendation benchmark (groupMember.txt, groupRatingTrain.txt, userRatingTrain.txt, ...)",
		Long: `grouprec imports a directory in the file layout of the group-recommendation
literature (AGREE, ConsRec, Group-GF; testdata/mafengwos is one):
groupMember.txt ("g m1,m2,..."), groupRatingTrain.txt ("g i"), userRatingTrain.txt
("u i": a member's own order, outside any group), itemSemantic.txt ("name, i"),
whitespace-separated. A third column is a rating (lines rated 0 or below are
left out), a fourth the line's Unix time (every line dated, or none). The same
files as .dat (groupRatingTrain.dat, groupRatingTestNegative.dat, ...), with
a validation part (groupRatingVal.dat, userRatingVal.dat, read as history),
are read too. Ids may be any tokens (0-based numbers, strings); they are
mapped to internal ids kept in ids.parquet, and every command that prints or
reads ids uses the user's own. The test and negative files are copied,
verbatim, to --out/heldout/ for "grouprank eval grouprec"; nothing that trains
reads them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := importer.ImportGroupRec(cmd.Context(), in, out)
			if err != nil {
				return err
			}
			if len(rep.NotRead) > 0 {
				e.log.Warn("files the layout does not name were not imported", slog.String("dir", in), slog.Any("files", rep.NotRead))
			}
			b, _ := json.MarshalIndent(rep, "", "  ")
			fmt.Fprintln(e.stdout, string(b))
			return nil
		},
	}
	c.Flags().StringVar(&in, "in", "testdata/mafengwos", "directory in the group-recommendation layout")
	c.Flags().StringVar(&out, "out", "grouprec", "output directory (a world)")
	return c
}
