package service

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"grouprank/data"
	"grouprank/data/store"
	"grouprank/recommend"
	"grouprank/recommend/experiment"
)

// OptionCheck validates an arm's ranker option against what the service can
// do; a model version must be published under root ("" skips that check).
func OptionCheck(root string) func(option, value string) error {
	return func(option, value string) error {
		if option == "model_version" && root != "" {
			pub, err := store.Published(root)
			if err != nil {
				return err
			}
			for _, v := range pub {
				if v == value {
					return nil
				}
			}
			return fmt.Errorf("model version %q is not published under %s", value, root)
		}
		return recommend.ApplyOptions(&recommend.PicksRequest{}, map[string]string{option: value})
	}
}

// BuildReport analyses experiment key from the live store's exposures and
// events, with commission rates from the model's catalogue, up to now (or
// the experiment's stop).
func BuildReport(ctx context.Context, live ReportStore, reg *experiment.Registry, key string, m *recommend.Model, now time.Time) (*experiment.Report, error) {
	e, err := reg.Get(key)
	if err != nil {
		return nil, err
	}
	if e.Status == experiment.Draft {
		return nil, fmt.Errorf("experiment %q is a draft: start it first: %w", key, data.ErrConflict)
	}
	if m == nil {
		return nil, fmt.Errorf("experiment %q: no snapshot loaded (the report prices commission from the catalogue): %w", key, data.ErrUnavailable)
	}
	end := data.TimestampOf(now)
	if last := e.Periods[len(e.Periods)-1]; last.To != 0 {
		end = last.To
	}
	col := experiment.NewCollector(e, end, m.CommissionRate)
	start := e.Started()
	if err := live.Exposures(ctx, start, func(x data.Exposure) error { col.Exposure(&x); return nil }); err != nil {
		return nil, err
	}
	if err := live.Events(ctx, start-data.Timestamp(e.PreDays)*data.Day, func(ev data.Event) error { col.Event(&ev); return nil }); err != nil {
		return nil, err
	}
	r := experiment.Analyze(e, col.Dataset())
	r.At = now.UTC()
	return r, nil
}

// PowerOf is the minimum detectable effect of e's primary metric from the
// events of the planned duration before its start (or before now).
func PowerOf(ctx context.Context, live EventReader, e *experiment.Experiment, m *recommend.Model, now time.Time) (experiment.Power, error) {
	end := e.Started()
	if end == data.UnknownTime {
		end = data.TimestampOf(now)
	}
	from := end - data.Timestamp(e.PlannedDays)*data.Day
	units := map[string]*experiment.Totals{}
	at := func(g data.GroupID) *experiment.Totals {
		id := "g" + strconv.FormatInt(int64(g), 10)
		if units[id] == nil {
			units[id] = &experiment.Totals{}
		}
		return units[id]
	}
	err := live.Events(ctx, from, func(ev data.Event) error {
		if ev.Time >= end {
			return nil
		}
		switch ev.Kind {
		case data.EventPush:
			at(ev.Group)[experiment.Pushes]++
		case data.EventOrder:
			t := at(ev.Group)
			gmv := float64(ev.AmountCents) / 100
			t[experiment.Orders]++
			t[experiment.GMV] += gmv
			t[experiment.Commission] += gmv * m.CommissionRate(ev.SKU)
		}
		return nil
	})
	if err != nil {
		return experiment.Power{}, err
	}
	list := make([]experiment.Totals, 0, len(units))
	for _, t := range units {
		list = append(list, *t)
	}
	return experiment.PowerFor(e, list, e.PlannedDays, 0.8)
}
