package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"

	"grouprank/data"
)

// Live is the service's own read-write store, which outlives snapshots:
// events now (catalogue updates and experiments later). Writes are synced
// before they return, so an acknowledged write survives a crash. One
// process opens it at a time (badger's directory lock).
type Live struct {
	db  *badger.DB
	seq *badger.Sequence // arrival numbers of stored events
	// last is the highest arrival number committed (0: none since open).
	last      atomic.Uint64
	closeOnce sync.Once
	closeErr  error
}

// OpenLive opens (creating) the live store in dir.
func OpenLive(dir string) (*Live, error) {
	db, err := badger.Open(options_(dir).WithSyncWrites(true))
	if err != nil {
		return nil, fmt.Errorf("store: open live store %s: %w", dir, err)
	}
	l := &Live{db: db}
	if err := l.indexOrders(); err != nil {
		db.Close()
		return nil, err
	}
	if l.seq, err = db.GetSequence([]byte(eventSeqKey), 1024); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open live store %s: %w", dir, err)
	}
	if err := l.findLast(); err != nil {
		l.seq.Release()
		db.Close()
		return nil, err
	}
	return l, nil
}

// findLast sets last to the highest arrival number stored.
func (l *Live) findLast() error {
	return l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(eventArrivalPrefix), Reverse: true})
		defer it.Close()
		it.Seek(append([]byte(eventArrivalPrefix), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))
		if it.Valid() {
			l.last.Store(binary.BigEndian.Uint64(it.Item().Key()[len(eventArrivalPrefix):]))
		}
		return nil
	})
}

// LastArrival is the arrival number of the newest event stored (0: none).
func (l *Live) LastArrival() uint64 { return l.last.Load() }

// indexOrders builds the order index of a store written before it existed
// (once: ord! marks it built).
func (l *Live) indexOrders() error {
	err := l.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get([]byte(orderIndexKey))
		return err
	})
	if err == nil || !errors.Is(err, badger.ErrKeyNotFound) {
		return err
	}
	wb := l.db.NewWriteBatch()
	defer wb.Cancel()
	err = l.Events(context.Background(), 0, func(e data.Event) error {
		if e.Kind == data.EventOrder {
			return wb.Set(orderKey(e.Order), nil)
		}
		return nil
	})
	if err == nil {
		err = wb.Set([]byte(orderIndexKey), nil)
	}
	if err == nil {
		err = wb.Flush()
	}
	if err != nil {
		return fmt.Errorf("store: index the orders: %w", err)
	}
	return nil
}

// KnownOrders reports, for each id, whether an order event with it is stored.
func (l *Live) KnownOrders(ids []data.OrderID) ([]bool, error) {
	out := make([]bool, len(ids))
	err := l.db.View(func(txn *badger.Txn) error {
		for k, id := range ids {
			_, err := txn.Get(orderKey(id))
			switch {
			case err == nil:
				out[k] = true
			case !errors.Is(err, badger.ErrKeyNotFound):
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: known orders: %w", err)
	}
	return out, nil
}

// Close closes the store; closing it again does nothing.
func (l *Live) Close() error {
	l.closeOnce.Do(func() {
		l.closeErr = l.seq.Release()
		if err := l.db.Close(); l.closeErr == nil {
			l.closeErr = err
		}
	})
	return l.closeErr
}

func eventIDKey(id string) []byte { return append([]byte(eventIDPrefix), id...) }

func eventTimeKey(t data.Timestamp, id string) []byte {
	k := make([]byte, 0, len(eventTimePrefix)+8+len(id))
	k = append(k, eventTimePrefix...)
	k = binary.BigEndian.AppendUint64(k, uint64(t))
	return append(k, id...)
}

// AppendEvents stores, in one synced transaction, every event whose ID the
// store has not seen; fresh[k] says whether events[k] was new. A batch that
// repeats an ID stores it once.
func (l *Live) AppendEvents(events []data.Event) (fresh []bool, err error) {
	var top uint64 // the batch's highest arrival number
	for range 10 { // concurrent batches with the same ids conflict; retry on the new state
		fresh = make([]bool, len(events))
		top = 0
		err = l.db.Update(func(txn *badger.Txn) error {
			seen := map[string]bool{}
			for k := range events {
				e := &events[k]
				if seen[e.ID] {
					continue
				}
				seen[e.ID] = true
				_, err := txn.Get(eventIDKey(e.ID))
				if err == nil {
					continue
				}
				if !errors.Is(err, badger.ErrKeyNotFound) {
					return err
				}
				b := encodeEvent(e)
				var t [8]byte
				binary.BigEndian.PutUint64(t[:], uint64(e.Time))
				if err := txn.Set(eventIDKey(e.ID), t[:]); err != nil {
					return err
				}
				if err := txn.Set(eventTimeKey(e.Time, e.ID), b); err != nil {
					return err
				}
				n, err := l.seq.Next()
				if err != nil {
					return err
				}
				n++ // arrival numbers start at 1
				if err := txn.Set(arrivalKey(n), eventTimeKey(e.Time, e.ID)); err != nil {
					return err
				}
				top = max(top, n)
				if e.Kind == data.EventOrder {
					if err := txn.Set(orderKey(e.Order), nil); err != nil {
						return err
					}
				}
				fresh[k] = true
			}
			return nil
		})
		if !errors.Is(err, badger.ErrConflict) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("store: append events: %w", err)
	}
	for { // last only grows
		cur := l.last.Load()
		if top <= cur || l.last.CompareAndSwap(cur, top) {
			break
		}
	}
	return fresh, nil
}

func arrivalKey(n uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(eventArrivalPrefix), n)
}

// EventsAfter calls fn for every event stored with an arrival number above
// after, in arrival order. It stops with ctx's error once ctx is done.
func (l *Live) EventsAfter(ctx context.Context, after uint64, fn func(data.Event) error) error {
	return l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(eventArrivalPrefix), PrefetchValues: true, PrefetchSize: 256})
		defer it.Close()
		n := 0
		for it.Seek(arrivalKey(after + 1)); it.Valid(); it.Next() {
			if err := checkEvery(ctx, &n); err != nil {
				return err
			}
			tk, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			item, err := txn.Get(tk)
			if err != nil {
				return fmt.Errorf("store: event of arrival %x: %w", it.Item().Key(), err)
			}
			var e data.Event
			if err := item.Value(func(v []byte) error { return decodeEvent(v, &e) }); err != nil {
				return fmt.Errorf("store: event %q: %w", tk, err)
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	})
}

// Events calls fn for every stored event with Time >= since, in time order.
// It stops with ctx's error once ctx is done.
func (l *Live) Events(ctx context.Context, since data.Timestamp, fn func(data.Event) error) error {
	return l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(eventTimePrefix), PrefetchValues: true, PrefetchSize: 256})
		defer it.Close()
		n := 0
		for it.Seek(eventTimeKey(since, "")); it.Valid(); it.Next() {
			if err := checkEvery(ctx, &n); err != nil {
				return err
			}
			var e data.Event
			if err := it.Item().Value(func(v []byte) error { return decodeEvent(v, &e) }); err != nil {
				return fmt.Errorf("store: event %q: %w", it.Item().Key(), err)
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	})
}

func exposureKey(l *data.ExposureList) []byte {
	k := make([]byte, 0, len(exposurePrefix)+8+len(l.RequestID)+1+len(l.Experiment))
	k = append(k, exposurePrefix...)
	k = binary.BigEndian.AppendUint64(k, uint64(l.Time))
	k = append(k, l.RequestID...)
	k = append(k, 0)
	return append(k, l.Experiment...) // a list shown under two experiments (two layers) is logged once per experiment
}

// AppendExposures stores exposures (one per item of a served list and
// experiment; a list's items consecutive), synced, one record per list. The
// same list (time, request, experiment) twice is stored once.
func (l *Live) AppendExposures(exps []data.Exposure) error {
	wb := l.db.NewWriteBatch()
	defer wb.Cancel()
	for _, x := range data.ExposureLists(exps) {
		if err := wb.Set(exposureKey(x), encodeExposures(x)); err != nil {
			return fmt.Errorf("store: append exposures: %w", err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("store: append exposures: %w", err)
	}
	return nil
}

// Exposures calls fn for every stored exposure with Time >= since, in time
// order (a list's items in the order they were logged). It stops with ctx's
// error once ctx is done.
func (l *Live) Exposures(ctx context.Context, since data.Timestamp, fn func(data.Exposure) error) error {
	return l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(exposurePrefix), PrefetchValues: true, PrefetchSize: 256})
		defer it.Close()
		start := binary.BigEndian.AppendUint64([]byte(exposurePrefix), uint64(since))
		n := 0
		for it.Seek(start); it.Valid(); it.Next() {
			if err := checkEvery(ctx, &n); err != nil {
				return err
			}
			var x data.ExposureList
			if err := it.Item().Value(func(v []byte) error { return decodeExposures(v, &x) }); err != nil {
				return fmt.Errorf("store: exposures %q: %w", it.Item().Key(), err)
			}
			if err := x.Check(); err != nil {
				return fmt.Errorf("store: exposures %q: %w", it.Item().Key(), err)
			}
			if err := x.Each(fn); err != nil {
				return err
			}
		}
		return nil
	})
}

func productKey(sku data.SKU) []byte {
	return binary.BigEndian.AppendUint64([]byte(productPrefix), uint64(sku))
}

// PutProducts stores catalogue updates (each product's whole new state),
// synced; a later update of a SKU replaces the earlier one.
func (l *Live) PutProducts(ps []data.Product) error {
	wb := l.db.NewWriteBatch()
	defer wb.Cancel()
	for k := range ps {
		b, err := json.Marshal(&ps[k])
		if err != nil {
			return err
		}
		if err := wb.Set(productKey(ps[k].SKU), b); err != nil {
			return fmt.Errorf("store: catalogue update: %w", err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("store: catalogue update: %w", err)
	}
	return nil
}

// Products returns every stored catalogue update, in SKU order.
func (l *Live) Products() ([]data.Product, error) {
	var out []data.Product
	err := l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(productPrefix), PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var p data.Product
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &p) }); err != nil {
				return fmt.Errorf("store: catalogue update %q: %w", it.Item().Key(), err)
			}
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

func docKey(kind, key string) []byte { return []byte(docPrefix + kind + "/" + key) }

// Docs returns every stored document of a kind (experiments, layers) by key.
func (l *Live) Docs(kind string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := l.db.View(func(txn *badger.Txn) error { return readDocs(txn, kind, out) })
	if err != nil {
		return nil, fmt.Errorf("store: %s documents: %w", kind, err)
	}
	return out, nil
}

func readDocs(txn *badger.Txn, kind string, out map[string][]byte) error {
	prefix := docKey(kind, "")
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		v, err := it.Item().ValueCopy(nil)
		if err != nil {
			return err
		}
		out[string(it.Item().Key()[len(prefix):])] = v
	}
	return nil
}

// UpdateDocs reads every document of a kind and writes the changes fn
// returns (a nil value deletes), in one synced transaction: fn sees the
// state its changes apply to. An error from fn writes nothing.
func (l *Live) UpdateDocs(kind string, fn func(docs map[string][]byte) (map[string][]byte, error)) error {
	err := l.db.Update(func(txn *badger.Txn) error {
		docs := map[string][]byte{}
		if err := readDocs(txn, kind, docs); err != nil {
			return err
		}
		changes, err := fn(docs)
		if err != nil {
			return err
		}
		for key, v := range changes {
			if v == nil {
				err = txn.Delete(docKey(kind, key))
			} else {
				err = txn.Set(docKey(kind, key), v)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: update %s documents: %w", kind, err)
	}
	return nil
}

// checkEvery returns ctx's error on every 1,024th call once ctx is done
// (a scan checks it per record without paying for it per record).
func checkEvery(ctx context.Context, n *int) error {
	*n++
	if *n&1023 != 1 {
		return nil
	}
	return ctx.Err()
}
