package main

import (
	"context"
	"os"

	"grouprank/data"
	"grouprank/data/parquetio"
	"grouprank/features"
	"grouprank/train"
)

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// randomLists streams the exposures file (when there is one) and returns the
// randomised lists' request ids.
func randomLists(path string) (map[string]bool, error) {
	return readExposures(context.Background(), path, nil)
}

// exposureColumns are the columns of the exposures file training reads.
var exposureColumns = []string{"request_id", "group", "sku", "rank", "propensity", "time"}

// readExposures streams the exposures file (when there is one), logs every
// exposure into sb (when not nil) and returns the randomised lists' request
// ids. It reads the columns it needs straight from the typed column pages
// (at a million groups the file holds hundreds of millions of exposures, and
// building whole rows took most of the read), checking each exposure's
// fields as the row reader does, with file, row and column.
func readExposures(ctx context.Context, path string, sb *features.ShownBuilder) (map[string]bool, error) {
	return readExposuresOf(ctx, path, sb, shard{0, 1})
}

// readExposuresOf is readExposures of the lists shown for the groups of
// part sh (data.PartOf) only.
func readExposuresOf(ctx context.Context, path string, sb *features.ShownBuilder, sh shard) (map[string]bool, error) {
	if sh.n < 1 {
		sh = shard{0, 1}
	}
	var rl train.RandomLists
	if !fileExists(path) {
		return rl.Requests(), nil
	}
	var row int64
	var last string // the request id of the row before: a list's rows share one string
	err := parquetio.Scan(ctx, path, exposureColumns, func(b *parquetio.Batch) error {
		if sb != nil && row == 0 {
			sb.Grow(int(b.Total) / sh.n)
		}
		groups, skus, ranks, props, times := b.Col(1), b.Col(2), b.Col(3), b.Float(4), b.Col(5)
		for r := range b.Rows {
			row++
			if id := b.Bytes(0, r); string(id) != last {
				last = string(id)
			}
			e := data.Exposure{RequestID: last, Group: data.GroupID(groups[r]), SKU: data.SKU(skus[r]),
				Rank: int32(ranks[r]), Propensity: props[r], Time: data.Timestamp(times[r])}
			if err := e.Validate(); err != nil {
				return parquetio.RowErrorOf(path, row, err)
			}
			if !sh.has(e.Group) {
				continue
			}
			rl.Add(&e)
			if sb != nil {
				sb.Add(&e)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rl.Requests(), nil
}
