package synth

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"

	"grouprank/data"
	"grouprank/data/parquetio"
)

// FieldStats are the figures of a world that docs/FIELD.md lets us check.
type FieldStats struct {
	Groups            int     `json:"groups"`
	Products          int     `json:"products"`
	Orders            int64   `json:"orders"`
	Pushes            int64   `json:"pushes"`
	OrdersPerGroupDay float64 `json:"orders_per_group_day"` // orders over days of existing groups (dead ones included)
	Top10Share        float64 `json:"top10_share"`          // share of orders placed by the top 10% of groups
	POPOrderShare     float64 `json:"pop_order_share"`
	POPGMVShare       float64 `json:"pop_gmv_share"`
	PushesPerGroupDay float64 `json:"pushes_per_group_day"` // over days of existing groups
	OrdersPerPush     float64 `json:"orders_per_push"`      // link-tracked orders per push
	ConversionPerPush float64 `json:"conversion_per_push"`  // share of pushes with a link-tracked order
	MeanOrderYuan     float64 `json:"mean_order_yuan"`
}

// Measure reads a generated world directory and computes its FieldStats.
// days is the window's length, from the manifest.
func Measure(ctx context.Context, dir string) (FieldStats, error) {
	var s FieldStats
	m, err := ReadManifest(dir)
	if err != nil {
		return s, err
	}
	start := data.TimestampOf(m.Params.Start)
	changes, err := parquetio.ReadFile(filepath.Join(dir, parquetio.Catalog.File), parquetio.Catalog)
	if err != nil {
		return s, err
	}
	pop := map[data.SKU]bool{}
	for _, c := range changes {
		pop[c.Product.SKU] = c.Product.Seller == data.SellerPOP
	}
	groups, err := parquetio.ReadFile(filepath.Join(dir, parquetio.Groups.File), parquetio.Groups)
	if err != nil {
		return s, err
	}
	s.Groups, s.Products = len(groups), len(pop)
	var groupDays float64
	index := make(map[data.GroupID]int, len(groups))
	for i, g := range groups {
		index[g.ID] = i
		groupDays += float64(m.Params.Days) - max(0, float64(g.Created-start)/float64(data.Day))
	}
	perGroup := make([]float64, len(groups))
	converted := map[int64]bool{}
	var gmv, popGMV, popN, tracked float64
	err = parquetio.Scan(ctx, filepath.Join(dir, parquetio.Orders.File), []string{"group", "sku", "amount_cents", "push"}, func(b *parquetio.Batch) error {
		gs, ks, as, ps := b.Col(0), b.Col(1), b.Col(2), b.Col(3)
		for i := range b.Rows {
			gi, ok := index[data.GroupID(gs[i])]
			if !ok {
				return fmt.Errorf("synth: orders.parquet: order of unknown group %d", gs[i])
			}
			perGroup[gi]++
			gmv += float64(as[i])
			if pop[data.SKU(ks[i])] {
				popN++
				popGMV += float64(as[i])
			}
			if ps[i] != 0 {
				tracked++
				converted[ps[i]] = true
			}
		}
		s.Orders += int64(b.Rows)
		return nil
	})
	if err != nil {
		return s, err
	}
	err = parquetio.Scan(ctx, filepath.Join(dir, parquetio.Pushes.File), []string{"push"}, func(b *parquetio.Batch) error {
		s.Pushes += int64(b.Rows)
		return nil
	})
	if err != nil {
		return s, err
	}
	if s.Orders == 0 || s.Pushes == 0 || groupDays == 0 {
		return s, fmt.Errorf("synth: %s: no orders or pushes to measure", dir)
	}
	slices.Sort(perGroup)
	slices.Reverse(perGroup)
	var top float64
	for _, c := range perGroup[:max(1, len(perGroup)/10)] {
		top += c
	}
	n := float64(s.Orders)
	s.OrdersPerGroupDay = n / groupDays
	s.Top10Share = top / n
	s.POPOrderShare = popN / n
	s.POPGMVShare = popGMV / gmv
	s.PushesPerGroupDay = float64(s.Pushes) / groupDays
	s.OrdersPerPush = tracked / float64(s.Pushes)
	s.ConversionPerPush = float64(len(converted)) / float64(s.Pushes)
	s.MeanOrderYuan = gmv / n / 100
	return s, nil
}
