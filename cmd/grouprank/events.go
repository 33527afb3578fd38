package main

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"grouprank/data"
	"grouprank/data/parquetio"
	"grouprank/data/store"
)

func eventsCmd(e *env) *cobra.Command {
	c := &cobra.Command{Use: "events", Short: "The live store's events"}
	var live, out, since, expOut string
	export := &cobra.Command{
		Use:   "export --since TIME --out events.parquet",
		Short: "Write the events since TIME to Parquet, in time order, for retraining",
		Long: `events export reads the live store (serve --live; stop the server first, badger
allows one process per directory) and writes every event at or after --since
(RFC 3339, e.g. 2026-11-20T00:00:00Z, or a date) to a Parquet file (table
"events"), atomically.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := parseSince(since)
			if err != nil {
				return err
			}
			l, err := store.OpenLive(live)
			if err != nil {
				return err
			}
			defer l.Close()
			w, err := parquetio.Create(out, parquetio.Events, parquetio.Options{})
			if err != nil {
				return err
			}
			n := 0
			err = l.Events(t, func(ev data.Event) error {
				n++
				return w.Write(ev)
			})
			if err == nil {
				err = w.Close()
			}
			if err != nil {
				w.Abort()
				return err
			}
			e.log.Info("events exported", slog.Int("events", n), slog.String("out", out))
			fmt.Fprintf(e.stdout, "%d events since %s written to %s\n", n, t, out)
			if expOut == "" {
				return nil
			}
			x, err := parquetio.Create(expOut, parquetio.Exposures, parquetio.Options{})
			if err != nil {
				return err
			}
			n = 0
			err = l.Exposures(t, func(ex data.Exposure) error {
				n++
				return x.Write(ex)
			})
			if err == nil {
				err = x.Close()
			}
			if err != nil {
				x.Abort()
				return err
			}
			fmt.Fprintf(e.stdout, "%d exposures since %s written to %s\n", n, t, expOut)
			return nil
		},
	}
	export.Flags().StringVar(&live, "live", "live", "the live store directory (serve --live)")
	export.Flags().StringVar(&out, "out", "events.parquet", "output Parquet file")
	export.Flags().StringVar(&expOut, "exposures-out", "", "also write the exposures the service logged to this Parquet file (table exposures)")
	export.Flags().StringVar(&since, "since", "", "first instant to export (RFC 3339 or YYYY-MM-DD, UTC)")
	export.MarkFlagRequired("since")
	c.AddCommand(export)
	return c
}

func parseSince(s string) (data.Timestamp, error) {
	for _, layout := range []string{time.RFC3339, time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return data.TimestampOf(t), nil
		}
	}
	return 0, fmt.Errorf("--since %q: want RFC 3339 (2026-11-20T00:00:00Z) or a date (2026-11-20)", s)
}
