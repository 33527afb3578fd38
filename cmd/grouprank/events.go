package main

import (
	"cmp"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"grouprank/data"
	"grouprank/data/parquetio"
)

func eventsCmd(e *env) *cobra.Command {
	c := &cobra.Command{Use: "events", Short: "The live store's events"}
	var live, out, since, expOut, pushesOut, ordersOut, ratesFrom, membersFrom, membersOut string
	var replicas int
	export := &cobra.Command{
		Use:   "export --since TIME --out events.parquet",
		Short: "Write the events since TIME to Parquet, in time order, for retraining",
		Long: `events export reads the live store (serve --live; stop the server first, badger
allows one process per directory) and writes every event at or after --since
(RFC 3339, e.g. 2026-11-20T00:00:00Z, or a date) to a Parquet file (table
"events"), atomically. With --pushes-out and --orders-out it also writes them
as the pushes and orders tables train reads (order commission from the
catalogue of --rates-from at the order's time), and with --exposures-out the
lists the service logged: put those beside the platform's groups and
catalogue and train --world retrains on the service's own logs. With
--members-out it writes the members table of --members-from (a world
directory) after the exported joins and leaves.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := parseSince(since)
			if err != nil {
				return err
			}
			var members []data.Membership
			if membersOut != "" {
				if membersFrom == "" {
					return fmt.Errorf("--members-out needs --members-from: the world directory whose members table the joins and leaves change: %w", data.ErrInvalid)
				}
				if members, err = parquetio.ReadFile(filepath.Join(membersFrom, parquetio.Members.File), parquetio.Members); err != nil {
					return err
				}
			}
			var rate func(data.SKU, data.Timestamp) float64
			if ordersOut != "" {
				if ratesFrom == "" {
					return fmt.Errorf("--orders-out needs --rates-from: a world directory whose catalogue gives the commission rates: %w", data.ErrInvalid)
				}
				if rate, err = catalogRates(ratesFrom); err != nil {
					return err
				}
			}
			l, err := openLive(cmd.Context(), live, replicas)
			if err != nil {
				return err
			}
			defer l.Close()
			w, err := parquetio.Create(out, parquetio.Events, parquetio.Options{})
			if err != nil {
				return err
			}
			n := 0
			var kept []data.Event // for the pushes and orders tables
			err = l.Events(cmd.Context(), t, func(ev data.Event) error {
				n++
				if pushesOut != "" || ordersOut != "" || membersOut != "" {
					kept = append(kept, ev)
				}
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
			if pushesOut != "" || ordersOut != "" {
				if err := writeActivity(e, kept, rate, pushesOut, ordersOut); err != nil {
					return err
				}
			}
			if membersOut != "" {
				ms := data.ApplyMembership(members, kept)
				if err := parquetio.WriteFile(membersOut, parquetio.Members, ms, parquetio.Options{}); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "%d memberships (%d before the joins and leaves) written to %s\n", len(ms), len(members), membersOut)
			}
			if expOut == "" {
				return nil
			}
			x, err := parquetio.Create(expOut, parquetio.Exposures, parquetio.Options{})
			if err != nil {
				return err
			}
			n = 0
			err = l.Exposures(cmd.Context(), t, func(ex data.Exposure) error {
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
	export.Flags().StringVar(&live, "live", "live", liveHelp+" (serve --live)")
	export.Flags().IntVar(&replicas, "nats-replicas", 3, "with --live nats://...: copies of every stream and bucket (the cluster's size; 1 for one server)")
	export.Flags().StringVar(&out, "out", "events.parquet", "output Parquet file")
	export.Flags().StringVar(&expOut, "exposures-out", "", "also write the exposures the service logged to this Parquet file (table exposures)")
	export.Flags().StringVar(&since, "since", "", "first instant to export (RFC 3339 or YYYY-MM-DD, UTC)")
	export.Flags().StringVar(&pushesOut, "pushes-out", "", "also write the push events as the pushes table train reads (Parquet)")
	export.Flags().StringVar(&ordersOut, "orders-out", "", "also write the order and cancel events as the orders table train reads (Parquet; needs --rates-from)")
	export.Flags().StringVar(&membersFrom, "members-from", "", "world directory whose members table (members.parquet) the exported joins and leaves change")
	export.Flags().StringVar(&membersOut, "members-out", "", "also write the members table after the exported joins and leaves (Parquet; needs --members-from)")
	export.Flags().StringVar(&ratesFrom, "rates-from", "", "world directory (catalog.parquet or products.parquet) whose commission rates price the exported orders")
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

// writeActivity writes the events' pushes and orders (data.ActivityOf) to
// the files named ("" skips one), atomically.
func writeActivity(e *env, events []data.Event, rate func(data.SKU, data.Timestamp) float64, pushesOut, ordersOut string) error {
	if rate == nil {
		rate = func(data.SKU, data.Timestamp) float64 { return data.UnknownRate }
	}
	pushes, orders, rep := data.ActivityOf(events, rate)
	if pushesOut != "" {
		if err := parquetio.WriteFile(pushesOut, parquetio.Pushes, pushes, parquetio.Options{}); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%d pushes written to %s (%d repeated push ids left out)\n", rep.Pushes, pushesOut, rep.DuplicatePushes)
	}
	if ordersOut != "" {
		if err := parquetio.WriteFile(ordersOut, parquetio.Orders, orders, parquetio.Options{}); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%d orders written to %s (%d cancelled; %d cancels of unknown orders, %d repeated order ids, %d without a known commission rate)\n",
			rep.Orders, ordersOut, rep.Cancelled, rep.UnknownCancels, rep.DuplicateOrders, rep.UnknownRate)
	}
	e.log.Info("activity exported", slog.Int("pushes", rep.Pushes), slog.Int("orders", rep.Orders), slog.Int("cancelled", rep.Cancelled),
		slog.Int("unknown_cancels", rep.UnknownCancels), slog.Int("unknown_rate", rep.UnknownRate))
	return nil
}

// catalogRates reads a world directory's catalogue (its dated changes, or
// its products as of the beginning) into a SKU's commission rate at an
// instant (data.UnknownRate for a SKU it does not list, or before the SKU's
// first change).
func catalogRates(dir string) (func(data.SKU, data.Timestamp) float64, error) {
	changes, err := readCatalog(dir)
	if err != nil {
		return nil, fmt.Errorf("--rates-from: %w", err)
	}
	type change struct {
		at   data.Timestamp
		rate float64
	}
	bySKU := map[data.SKU][]change{}
	for _, c := range changes {
		bySKU[c.Product.SKU] = append(bySKU[c.Product.SKU], change{c.At, c.Product.Commission})
	}
	for _, cs := range bySKU {
		slices.SortStableFunc(cs, func(a, b change) int { return cmp.Compare(a.at, b.at) })
	}
	return func(sku data.SKU, t data.Timestamp) float64 {
		cs := bySKU[sku]
		k := sort.Search(len(cs), func(k int) bool { return cs[k].at > t }) // the last change at or before t
		if k == 0 {
			return data.UnknownRate
		}
		return cs[k-1].rate
	}, nil
}
