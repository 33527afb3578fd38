package synth

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sync/errgroup"

	"grouprank/data"
	"grouprank/data/parquetio"
)

// ManifestFile is the file in a world directory that records how it was made.
const ManifestFile = "world.json"

// Manifest describes a generated world: its parameters (enough to Rebuild the
// truth) and what the generator observed. It holds no ground truth.
type Manifest struct {
	Generator string           `json:"generator"`
	Params    Params           `json:"params"`
	Rows      map[string]int64 `json:"rows"`
	Summary   Summary          `json:"summary"`
}

// Summary is what the generator observed over the window.
type Summary struct {
	GroupDays         int64   `json:"group_days"` // days groups were alive
	Pushes            int64   `json:"pushes"`
	ListPushes        int64   `json:"list_pushes"`      // pushes picked from a shown list
	ConvertedPushes   int64   `json:"converted_pushes"` // pushes with at least one order
	Orders            int64   `json:"orders"`
	OrganicOrders     int64   `json:"organic_orders"`
	GroupsDied        int64   `json:"groups_died"`
	OrdersPerGroupDay float64 `json:"orders_per_group_day"` // orders over days of existing groups, dead ones included
	PushesPerGroupDay float64 `json:"pushes_per_group_day"` // pushes over days alive groups
	OrdersPerPush     float64 `json:"orders_per_push"`      // pushed-link orders per push
	ConversionPerPush float64 `json:"conversion_per_push"`  // share of pushes with an order
}

// Progress receives the number of days done out of the total.
type Progress func(done, total int)

// Generate writes a world into dir (created if needed): the catalogue
// (products.parquet at the end of the window, catalog.parquet with every dated
// change), groups, members, exposures, pushes, orders and world.json. Files
// appear only when complete. Work is spread over workers goroutines (0: all cores);
// the output does not depend on it.
func Generate(ctx context.Context, p Params, dir string, workers int, progress Progress) (*Manifest, error) {
	w, err := Rebuild(p)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("synth: %w", err)
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	m := &Manifest{Generator: "grouprank gen", Params: p, Rows: map[string]int64{}}
	if err := w.writeStatic(dir, m); err != nil {
		return nil, err
	}
	sum, err := w.simulate(ctx, dir, workers, m, progress)
	if err != nil {
		return nil, err
	}
	m.Summary = sum
	b, _ := json.MarshalIndent(m, "", "  ")
	tmp := filepath.Join(dir, "."+ManifestFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("synth: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, ManifestFile)); err != nil {
		return nil, fmt.Errorf("synth: %w", err)
	}
	return m, nil
}

// ReadManifest reads world.json from a world directory.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("synth: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("synth: %s: %w", filepath.Join(dir, ManifestFile), err)
	}
	if m.Params.WorldVersion == 0 {
		m.Params.WorldVersion = 1 // written before versions were recorded
	}
	return &m, m.Params.Validate()
}

func (w *World) writeStatic(dir string, m *Manifest) error {
	groups := make([]data.Group, len(w.groups))
	for g, gr := range w.groups {
		groups[g] = data.Group{ID: data.GroupID(g + 1), Promoter: data.PromoterID(gr.promoter + 1),
			Channel: data.Channels[gr.channel], CityTier: data.CityTier(gr.tier), Created: w.createdAt(g)}
	}
	end := w.start + data.Timestamp(w.P.Days)*data.Day
	final := data.CatalogAt(w.cat.changes, end)
	for _, f := range []struct {
		name string
		fn   func() error
		n    int
	}{
		{parquetio.Groups.File, func() error {
			return parquetio.WriteFile(filepath.Join(dir, parquetio.Groups.File), parquetio.Groups, groups, parquetio.Options{})
		}, len(groups)},
		{parquetio.Catalog.File, func() error {
			return parquetio.WriteFile(filepath.Join(dir, parquetio.Catalog.File), parquetio.Catalog, w.cat.changes, parquetio.Options{})
		}, len(w.cat.changes)},
		{parquetio.Products.File, func() error {
			return parquetio.WriteFile(filepath.Join(dir, parquetio.Products.File), parquetio.Products, final, parquetio.Options{})
		}, len(final)},
	} {
		if err := f.fn(); err != nil {
			return fmt.Errorf("synth: %w", err)
		}
		m.Rows[f.name] = int64(f.n)
	}
	b, _ := json.MarshalIndent(CategoryNames(), "", "  ")
	if err := os.WriteFile(filepath.Join(dir, data.CategoryNamesFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	return nil
}

type writers struct {
	exposures *parquetio.Writer[data.Exposure]
	pushes    *parquetio.Writer[data.Push]
	orders    *parquetio.Writer[data.Order]
	members   *parquetio.Writer[data.Membership]
}

func (ws *writers) abort() {
	for _, a := range []func(){ws.exposures.Abort, ws.pushes.Abort, ws.orders.Abort, ws.members.Abort} {
		a()
	}
}

func create[T any](dir string, tb *parquetio.Table[T], err *error) *parquetio.Writer[T] {
	if *err != nil {
		return nil
	}
	w, e := parquetio.Create(filepath.Join(dir, tb.File), tb, parquetio.Options{})
	*err = e
	return w
}

const chunkGroups = 1024

func (w *World) simulate(ctx context.Context, dir string, workers int, m *Manifest, progress Progress) (Summary, error) {
	var err error
	ws := &writers{}
	ws.exposures = create(dir, parquetio.Exposures, &err)
	ws.pushes = create(dir, parquetio.Pushes, &err)
	ws.orders = create(dir, parquetio.Orders, &err)
	ws.members = create(dir, parquetio.Members, &err)
	if err != nil {
		ws.abort()
		return Summary{}, fmt.Errorf("synth: %w", err)
	}
	states := make([]gstate, len(w.groups))
	nChunks := (len(w.groups) + chunkGroups - 1) / chunkGroups
	// A chunk takes a token before it is simulated (at most workers at once);
	// the writer returns it once the chunk is written, in chunk order. Memory
	// stays bounded and the files do not depend on scheduling.
	sem := make(chan struct{}, 4*workers)
	days := make(chan []chan *batch, 1)
	var tot dayStats
	werr := make(chan error, 1)
	go func() {
		var err error
		for dones := range days {
			for _, ch := range dones {
				b := <-ch
				if err == nil {
					err = ws.write(b)
				}
				tot.add(b.st)
				<-sem
			}
		}
		werr <- err
	}()
	var prev *dayCtx
	var failed error
	w.cat.dayStates(w.start, w.P.Days, func(d int, cur []data.Product) {
		if failed != nil {
			return
		}
		if failed = ctx.Err(); failed != nil {
			return
		}
		snapshot := make([]data.Product, len(cur))
		copy(snapshot, cur)
		dc := w.newDay(d, snapshot, prev)
		prev = dc
		dones := make([]chan *batch, nChunks)
		for i := range dones {
			dones[i] = make(chan *batch, 1)
		}
		days <- dones
		var eg errgroup.Group
		eg.SetLimit(workers)
		for c := range nChunks {
			sem <- struct{}{}
			eg.Go(func() error {
				b := &batch{}
				for g := c * chunkGroups; g < min(len(w.groups), (c+1)*chunkGroups); g++ {
					w.simGroup(dc, g, &states[g], b)
				}
				dones[c] <- b
				return nil
			})
		}
		eg.Wait()
		if progress != nil {
			progress(d+1, w.P.Days)
		}
	})
	if failed == nil {
		// Members still in their groups at the end.
		dones := make([]chan *batch, nChunks)
		for c := range dones {
			dones[c] = make(chan *batch, 1)
		}
		days <- dones
		for c := range dones {
			b := &batch{}
			for g := c * chunkGroups; g < min(len(w.groups), (c+1)*chunkGroups); g++ {
				st := &states[g]
				for slot := range int(st.slots) {
					if st.isActive(slot) {
						b.members = append(b.members, data.Membership{Group: data.GroupID(g + 1), Member: memberID(g, slot), Joined: w.joinedAt(g, slot, st)})
					}
				}
			}
			sem <- struct{}{}
			dones[c] <- b
		}
	}
	close(days)
	if err := <-werr; err != nil && failed == nil {
		failed = err
	}
	if failed != nil {
		ws.abort()
		return Summary{}, fmt.Errorf("synth: %w", failed)
	}
	for _, c := range []struct {
		name  string
		close func() error
		rows  func() int64
	}{
		{parquetio.Exposures.File, ws.exposures.Close, ws.exposures.Rows},
		{parquetio.Pushes.File, ws.pushes.Close, ws.pushes.Rows},
		{parquetio.Orders.File, ws.orders.Close, ws.orders.Rows},
		{parquetio.Members.File, ws.members.Close, ws.members.Rows},
	} {
		if err := c.close(); err != nil {
			ws.abort()
			return Summary{}, fmt.Errorf("synth: %w", err)
		}
		m.Rows[c.name] = c.rows()
	}
	var groupDaysAll int64
	for g := range w.groups {
		groupDaysAll += int64(w.P.Days - max(0, int(w.groups[g].createdDay)))
	}
	s := Summary{GroupDays: tot.groupDays, Pushes: tot.pushes, ListPushes: tot.listPushes, ConvertedPushes: tot.converted,
		Orders: tot.orders, OrganicOrders: tot.organic, GroupsDied: tot.died}
	s.OrdersPerGroupDay = ratio(tot.orders, groupDaysAll)
	s.PushesPerGroupDay = ratio(tot.pushes, tot.groupDays)
	s.OrdersPerPush = ratio(tot.orders-tot.organic, tot.pushes)
	s.ConversionPerPush = ratio(tot.converted, tot.pushes)
	return s, nil
}

func (ws *writers) write(b *batch) error {
	if err := ws.exposures.Write(b.exposures...); err != nil {
		return err
	}
	if err := ws.pushes.Write(b.pushes...); err != nil {
		return err
	}
	if err := ws.orders.Write(b.orders...); err != nil {
		return err
	}
	return ws.members.Write(b.members...)
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
