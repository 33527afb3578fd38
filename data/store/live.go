package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"grouprank/data"
)

// Live is the service's own read-write store, which outlives snapshots:
// events now (catalogue updates and experiments later). Writes are synced
// before they return, so an acknowledged write survives a crash. One
// process opens it at a time (badger's directory lock).
type Live struct{ db *badger.DB }

// OpenLive opens (creating) the live store in dir.
func OpenLive(dir string) (*Live, error) {
	db, err := badger.Open(options_(dir).WithSyncWrites(true))
	if err != nil {
		return nil, fmt.Errorf("store: open live store %s: %w", dir, err)
	}
	return &Live{db: db}, nil
}

// Close closes the store.
func (l *Live) Close() error { return l.db.Close() }

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
	for range 10 { // concurrent batches with the same ids conflict; retry on the new state
		fresh = make([]bool, len(events))
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
				b, err := json.Marshal(e)
				if err != nil {
					return err
				}
				var t [8]byte
				binary.BigEndian.PutUint64(t[:], uint64(e.Time))
				if err := txn.Set(eventIDKey(e.ID), t[:]); err != nil {
					return err
				}
				if err := txn.Set(eventTimeKey(e.Time, e.ID), b); err != nil {
					return err
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
	return fresh, nil
}

// Events calls fn for every stored event with Time >= since, in time order.
func (l *Live) Events(since data.Timestamp, fn func(data.Event) error) error {
	return l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(eventTimePrefix), PrefetchValues: true, PrefetchSize: 256})
		defer it.Close()
		for it.Seek(eventTimeKey(since, "")); it.Valid(); it.Next() {
			var e data.Event
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &e) }); err != nil {
				return fmt.Errorf("store: event %q: %w", it.Item().Key(), err)
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	})
}

func exposureKey(e *data.Exposure) []byte {
	k := make([]byte, 0, len(exposurePrefix)+8+len(e.RequestID)+5)
	k = append(k, exposurePrefix...)
	k = binary.BigEndian.AppendUint64(k, uint64(e.Time))
	k = append(k, e.RequestID...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint32(k, uint32(e.Rank))
}

// AppendExposures stores exposures (one per item of a served list), synced.
// The same (time, request, rank) twice is stored once.
func (l *Live) AppendExposures(exps []data.Exposure) error {
	wb := l.db.NewWriteBatch()
	defer wb.Cancel()
	for k := range exps {
		b, err := json.Marshal(&exps[k])
		if err != nil {
			return err
		}
		if err := wb.Set(exposureKey(&exps[k]), b); err != nil {
			return fmt.Errorf("store: append exposures: %w", err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("store: append exposures: %w", err)
	}
	return nil
}

// Exposures calls fn for every stored exposure with Time >= since, in time order.
func (l *Live) Exposures(since data.Timestamp, fn func(data.Exposure) error) error {
	return l.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(exposurePrefix), PrefetchValues: true, PrefetchSize: 256})
		defer it.Close()
		start := binary.BigEndian.AppendUint64([]byte(exposurePrefix), uint64(since))
		for it.Seek(start); it.Valid(); it.Next() {
			var e data.Exposure
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &e) }); err != nil {
				return fmt.Errorf("store: exposure %q: %w", it.Item().Key(), err)
			}
			if err := fn(e); err != nil {
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
