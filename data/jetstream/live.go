// Package jetstream is the live data on NATS JetStream, shared by every
// replica of the service: the same operations as data/store.Live (events,
// exposure lists, the memory's checkpoints, catalogue updates, documents),
// replicated by the JetStream cluster instead of held by one process. It is
// the only package that imports the NATS client.
//
// What lives where:
//
//   - events: stream GR_EVENTS, one message per event on subject
//     grouprank.events.<day of the event's time>, its id the message id;
//   - exposure lists: stream GR_EXPOSURES, one message per list on
//     grouprank.exposures.<day>;
//   - the orders' ids (KnownOrders): bucket grouprank-orders;
//   - documents (experiments, layers, business rules): bucket
//     grouprank-docs, one key per kind, updated by compare-and-set on the
//     key's revision, so two replicas can never both apply an update made
//     against the same state (a whole layer's experiments are one kind);
//   - catalogue updates: bucket grouprank-products, one key per SKU;
//   - the memory's checkpoint: object store grouprank-checkpoints.
//
// Duplicates. JetStream drops a message whose id it saw within the stream's
// de-duplication window (Options.DedupWindow); AppendEvents reports such an
// event as not fresh, as the badger store does for any id it holds. An event
// sent again after the window (events may arrive up to data.MaxLate late) is
// stored twice: every scan (Events, EventsAfter, Exposures) keeps the first
// arrival of an id and drops the later ones, so readers see each event once,
// but AppendEvents cannot tell the caller that such a late copy was old.
// Streams keep Options.Retention (35 days by default: the service replays
// 31); older events are dropped by the server.
package jetstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"

	"grouprank/data"
)

// Options set the streams and buckets Open creates (or updates).
type Options struct {
	Replicas    int           // copies of every stream and bucket: 3 in production, 1 for a single server (0: 1)
	Retention   time.Duration // how long events and exposure lists are kept (0: 35 days)
	DedupWindow time.Duration // how long a message id is remembered by the server (0: 2 hours)
}

const (
	eventStream     = "GR_EVENTS"
	eventSubject    = "grouprank.events."
	exposureStream  = "GR_EXPOSURES"
	exposureSubject = "grouprank.exposures."
	ordersBucket    = "grouprank-orders"
	docsBucket      = "grouprank-docs"
	productsBucket  = "grouprank-products"
	checkBucket     = "grouprank-checkpoints"
	checkObject     = "memory"
)

// Live is the live data in a JetStream cluster. Safe for concurrent use.
type Live struct {
	docMu    sync.Mutex // this process's document updates, one at a time (others' are caught by the revision)
	nc       *nats.Conn
	js       jetstream.JetStream
	events   jetstream.Stream
	exposure jetstream.Stream
	orders   jetstream.KeyValue
	docs     jetstream.KeyValue
	products jetstream.KeyValue
	checks   jetstream.ObjectStore
	replicas int
}

// IsURL reports whether a --live value names NATS servers (nats://...)
// rather than a directory.
func IsURL(s string) bool { return strings.HasPrefix(s, "nats://") }

// Open connects to the servers of url (comma-separated nats:// URLs) and
// creates or updates the streams and buckets.
func Open(ctx context.Context, url string, o Options) (*Live, error) {
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.Retention <= 0 {
		o.Retention = 35 * 24 * time.Hour
	}
	if o.DedupWindow <= 0 {
		o.DedupWindow = 2 * time.Hour
	}
	nc, err := nats.Connect(url, nats.Name("grouprank"), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("jetstream: connect %s: %w", url, err)
	}
	l := &Live{nc: nc, replicas: o.Replicas}
	if err := retry(ctx, func() error { return l.setup(ctx, o) }); err != nil {
		nc.Close()
		return nil, err
	}
	return l, nil
}

// retry runs fn again while it fails with a transient error, for up to a
// minute: a cluster that just lost or regained a server may not answer for
// a few seconds (a leader election).
func retry(ctx context.Context, fn func() error) error {
	deadline := time.Now().Add(time.Minute)
	for {
		err := fn()
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) || !transient(err) {
			return err
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// transient reports an error a cluster recovers from by itself.
func transient(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, jetstream.ErrJetStreamNotEnabled) ||
		strings.Contains(err.Error(), "no suitable peers") || strings.Contains(err.Error(), "cluster not available") ||
		strings.Contains(err.Error(), "insufficient resources")
}

func (l *Live) setup(ctx context.Context, o Options) error {
	js, err := jetstream.New(l.nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	l.js = js
	stream := func(name, subject string) (jetstream.Stream, error) {
		s, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{subject + ">"}, Storage: jetstream.FileStorage,
			Replicas: o.Replicas, MaxAge: o.Retention, Duplicates: o.DedupWindow, Retention: jetstream.LimitsPolicy, Discard: jetstream.DiscardOld})
		if err != nil {
			return nil, fmt.Errorf("jetstream: stream %s: %w", name, err)
		}
		return s, nil
	}
	if l.events, err = stream(eventStream, eventSubject); err != nil {
		return err
	}
	if l.exposure, err = stream(exposureStream, exposureSubject); err != nil {
		return err
	}
	kv := func(name string, ttl time.Duration) (jetstream.KeyValue, error) {
		b, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: name, Replicas: o.Replicas, Storage: jetstream.FileStorage, TTL: ttl})
		if err != nil {
			return nil, fmt.Errorf("jetstream: bucket %s: %w", name, err)
		}
		return b, nil
	}
	if l.orders, err = kv(ordersBucket, o.Retention); err != nil {
		return err
	}
	if l.docs, err = kv(docsBucket, 0); err != nil {
		return err
	}
	if l.products, err = kv(productsBucket, 0); err != nil {
		return err
	}
	if l.checks, err = js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: checkBucket, Replicas: o.Replicas, Storage: jetstream.FileStorage}); err != nil {
		return fmt.Errorf("jetstream: object store %s: %w", checkBucket, err)
	}
	return nil
}

// Current returns nil when every replica of every stream and bucket is up
// to date with its leader, else an error naming the first that is not (a
// server restarting catches up from the others).
func (l *Live) Current(ctx context.Context) error {
	names := []string{eventStream, exposureStream, "KV_" + ordersBucket, "KV_" + docsBucket, "KV_" + productsBucket, "OBJ_" + checkBucket}
	for _, name := range names {
		s, err := l.js.Stream(ctx, name)
		if err != nil {
			return fmt.Errorf("jetstream: stream %s: %w", name, err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			return fmt.Errorf("jetstream: stream %s: %w", name, err)
		}
		if info.Cluster == nil {
			continue
		}
		if info.Cluster.Leader == "" {
			return fmt.Errorf("jetstream: stream %s has no leader", name)
		}
		for _, p := range info.Cluster.Replicas {
			if !p.Current || p.Offline {
				return fmt.Errorf("jetstream: stream %s: replica %s is not current (lag %d)", name, p.Name, p.Lag)
			}
		}
	}
	return nil
}

// Close drains the connection.
func (l *Live) Close() error {
	return l.nc.Drain()
}

// opTimeout bounds one call that has no context of its own.
const opTimeout = 30 * time.Second

func day(t data.Timestamp) int64 {
	d := int64(t) / int64(data.Day)
	if int64(t) < 0 && int64(t)%int64(data.Day) != 0 {
		d--
	}
	return d
}

// AppendEvents publishes evs and returns once JetStream acknowledged every
// one (stored on a majority of the stream's replicas). fresh says which were
// new: an id seen within the de-duplication window is not. The orders' ids
// go to the order index after their events are stored.
func (l *Live) AppendEvents(evs []data.Event) (fresh []bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	futures := make([]jetstream.PubAckFuture, len(evs))
	for k := range evs {
		b, err := json.Marshal(&evs[k])
		if err != nil {
			return nil, fmt.Errorf("jetstream: event %q: %w", evs[k].ID, err)
		}
		subj := eventSubject + strconv.FormatInt(day(evs[k].Time), 10)
		if futures[k], err = l.js.PublishAsync(subj, b, jetstream.WithMsgID(evs[k].ID)); err != nil {
			return nil, fmt.Errorf("jetstream: publish event %q: %w", evs[k].ID, err)
		}
	}
	dup, err := l.settle(ctx, futures)
	if err != nil {
		return nil, err
	}
	fresh = make([]bool, len(evs))
	for k := range dup {
		fresh[k] = !dup[k]
	}
	var orders []jetstream.PubAckFuture
	for k := range evs {
		if evs[k].Kind == data.EventOrder {
			f, err := l.js.PublishAsync("$KV."+ordersBucket+"."+orderKey(evs[k].Order), nil)
			if err != nil {
				return nil, fmt.Errorf("jetstream: index order %d: %w", evs[k].Order, err)
			}
			orders = append(orders, f)
		}
	}
	if _, err := l.settle(ctx, orders); err != nil {
		return nil, fmt.Errorf("jetstream: index orders: %w", err)
	}
	return fresh, nil
}

// settle waits for the acknowledgements of async publishes; a message
// whose publish failed (no stream leader during an election, a server gone)
// is sent again synchronously with its id, which the server de-duplicates,
// until ctx ends. It returns whether each was a duplicate.
func (l *Live) settle(ctx context.Context, futures []jetstream.PubAckFuture) ([]bool, error) {
	dup := make([]bool, len(futures))
	for k, f := range futures {
		select {
		case ack := <-f.Ok():
			dup[k] = ack.Duplicate
			continue
		case <-f.Err():
		case <-ctx.Done():
			return nil, fmt.Errorf("jetstream: not acknowledged: %w: %w", data.ErrUnavailable, ctx.Err())
		}
		m := f.Msg()
		for {
			ack, err := l.js.PublishMsg(ctx, m, jetstream.WithMsgID(m.Header.Get(jetstream.MsgIDHeader)), jetstream.WithRetryAttempts(4), jetstream.WithRetryWait(250*time.Millisecond))
			if err == nil {
				dup[k] = ack.Duplicate
				break
			}
			if ctx.Err() != nil {
				return nil, fmt.Errorf("jetstream: %s not stored: %w: %w", m.Subject, data.ErrUnavailable, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return dup, nil
}

func orderKey(id data.OrderID) string { return "o" + strconv.FormatInt(int64(id), 10) }

// KnownOrders reports, for each id, whether an order event with it is
// stored (the lookups run concurrently on the connection).
func (l *Live) KnownOrders(ids []data.OrderID) ([]bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	out := make([]bool, len(ids))
	var eg errgroup.Group
	eg.SetLimit(64)
	for k, id := range ids {
		eg.Go(func() error {
			_, err := l.orders.Get(ctx, orderKey(id))
			switch {
			case err == nil:
				out[k] = true
			case errors.Is(err, jetstream.ErrKeyNotFound):
			default:
				return fmt.Errorf("jetstream: order %d: %w", id, err)
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// LastArrival is the stream sequence of the newest event stored (0: none):
// the arrival mark a checkpoint records.
func (l *Live) LastArrival() uint64 {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	info, err := l.events.Info(ctx)
	if err != nil {
		return 0
	}
	return info.State.LastSeq
}

// scan delivers every message of stream s on subject (a filter) from
// sequence start, in stream order, until the last one stored when it began.
func scan(ctx context.Context, s jetstream.Stream, subject string, start uint64, fn func(seq uint64, b []byte) error) error {
	info, err := s.Info(ctx)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	last := info.State.LastSeq
	if last == 0 || start > last {
		return nil
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}}
	if start > 1 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, start
	}
	c, err := s.OrderedConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch, err := c.Fetch(512, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return fmt.Errorf("jetstream: %w", err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			md, err := m.Metadata()
			if err != nil {
				return fmt.Errorf("jetstream: %w", err)
			}
			if md.Sequence.Stream > last {
				return nil
			}
			if err := fn(md.Sequence.Stream, m.Data()); err != nil {
				return err
			}
			if md.NumPending == 0 || md.Sequence.Stream == last {
				return nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return fmt.Errorf("jetstream: %w", err)
		}
		if got == 0 { // nothing matching is left (the rest of the stream is on other subjects)
			return nil
		}
	}
}

// days lists the day subjects of a stream holding messages, from day from
// on, in order.
func days(ctx context.Context, s jetstream.Stream, prefix string, from int64) ([]int64, error) {
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(prefix+">"))
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	var out []int64
	for subj := range info.State.Subjects {
		d, err := strconv.ParseInt(strings.TrimPrefix(subj, prefix), 10, 64)
		if err == nil && d >= from {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Events calls fn for every stored event with Time >= since, in time order
// (then by id), each id once. It reads one day of events at a time.
func (l *Live) Events(ctx context.Context, since data.Timestamp, fn func(data.Event) error) error {
	ds, err := days(ctx, l.events, eventSubject, day(since))
	if err != nil {
		return err
	}
	for _, d := range ds {
		var evs []data.Event
		seen := map[string]bool{}
		err := scan(ctx, l.events, eventSubject+strconv.FormatInt(d, 10), 1, func(seq uint64, b []byte) error {
			var e data.Event
			if err := json.Unmarshal(b, &e); err != nil {
				return fmt.Errorf("jetstream: event at sequence %d: %w", seq, err)
			}
			if e.Time >= since && !seen[e.ID] {
				seen[e.ID] = true
				evs = append(evs, e)
			}
			return nil
		})
		if err != nil {
			return err
		}
		sort.SliceStable(evs, func(a, b int) bool {
			if evs[a].Time != evs[b].Time {
				return evs[a].Time < evs[b].Time
			}
			return evs[a].ID < evs[b].ID
		})
		for _, e := range evs {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// EventsAfter calls fn for every event stored after arrival mark after (a
// stream sequence), in arrival order, each id once.
func (l *Live) EventsAfter(ctx context.Context, after uint64, fn func(data.Event) error) error {
	seen := map[string]bool{}
	return scan(ctx, l.events, eventSubject+">", after+1, func(seq uint64, b []byte) error {
		var e data.Event
		if err := json.Unmarshal(b, &e); err != nil {
			return fmt.Errorf("jetstream: event at sequence %d: %w", seq, err)
		}
		if seen[e.ID] {
			return nil
		}
		seen[e.ID] = true
		return fn(e)
	})
}

// listID names a list: the same (time, request, experiment) is one list.
func listID(x *data.ExposureList) string {
	return strconv.FormatInt(int64(x.Time), 10) + "/" + x.RequestID + "/" + x.Experiment
}

// AppendExposures publishes exposures (a list's items consecutive), one
// message per list, and returns once JetStream acknowledged them all.
func (l *Live) AppendExposures(exps []data.Exposure) error {
	lists := data.ExposureLists(exps)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	futures := make([]jetstream.PubAckFuture, len(lists))
	for k, x := range lists {
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Errorf("jetstream: exposures: %w", err)
		}
		if futures[k], err = l.js.PublishAsync(exposureSubject+strconv.FormatInt(day(x.Time), 10), b, jetstream.WithMsgID(listID(x))); err != nil {
			return fmt.Errorf("jetstream: publish exposures: %w", err)
		}
	}
	if _, err := l.settle(ctx, futures); err != nil {
		return fmt.Errorf("jetstream: exposures: %w", err)
	}
	return nil
}

// Exposures calls fn for every stored exposure with Time >= since, in time
// order (a list's items in the order they were logged), each list once.
func (l *Live) Exposures(ctx context.Context, since data.Timestamp, fn func(data.Exposure) error) error {
	ds, err := days(ctx, l.exposure, exposureSubject, day(since))
	if err != nil {
		return err
	}
	for _, d := range ds {
		var lists []data.ExposureList
		seen := map[string]bool{}
		err := scan(ctx, l.exposure, exposureSubject+strconv.FormatInt(d, 10), 1, func(seq uint64, b []byte) error {
			var x data.ExposureList
			if err := json.Unmarshal(b, &x); err != nil {
				return fmt.Errorf("jetstream: exposures at sequence %d: %w", seq, err)
			}
			if err := x.Check(); err != nil {
				return fmt.Errorf("jetstream: exposures at sequence %d: %w", seq, err)
			}
			if x.Time >= since && !seen[listID(&x)] {
				seen[listID(&x)] = true
				lists = append(lists, x)
			}
			return nil
		})
		if err != nil {
			return err
		}
		sort.SliceStable(lists, func(a, b int) bool { return lists[a].Time < lists[b].Time })
		for _, x := range lists {
			if err := x.Each(fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// PutProducts stores catalogue updates (each product's whole new state); a
// later update of a SKU replaces the earlier one. The puts are published
// together and acknowledged together.
func (l *Live) PutProducts(ps []data.Product) error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	futures := make([]jetstream.PubAckFuture, len(ps))
	for k := range ps {
		b, err := json.Marshal(&ps[k])
		if err != nil {
			return fmt.Errorf("jetstream: product %d: %w", ps[k].SKU, err)
		}
		if futures[k], err = l.js.PublishAsync("$KV."+productsBucket+"."+strconv.FormatInt(int64(ps[k].SKU), 10), b); err != nil {
			return fmt.Errorf("jetstream: product %d: %w", ps[k].SKU, err)
		}
	}
	if _, err := l.settle(ctx, futures); err != nil {
		return fmt.Errorf("jetstream: products: %w", err)
	}
	return nil
}

// Products returns every stored catalogue update, by SKU: the bucket's
// current values in one watch, not one request per key.
func (l *Live) Products() ([]data.Product, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	w, err := l.products.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("jetstream: products: %w", err)
	}
	defer w.Stop()
	var out []data.Product
	for e := range w.Updates() {
		if e == nil {
			break // the current values are all delivered
		}
		var p data.Product
		if err := json.Unmarshal(e.Value(), &p); err != nil {
			return nil, fmt.Errorf("jetstream: product %s: %w", e.Key(), err)
		}
		out = append(out, p)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("jetstream: products: %w", err)
	}
	slices.SortFunc(out, func(a, b data.Product) int { return int(a.SKU - b.SKU) })
	return out, nil
}

// Docs returns the documents of a kind, by key.
func (l *Live) Docs(kind string) (map[string][]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	docs, _, err := l.readDocs(ctx, kind)
	return docs, err
}

func (l *Live) readDocs(ctx context.Context, kind string) (map[string][]byte, uint64, error) {
	e, err := l.docs.Get(ctx, kind)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return map[string][]byte{}, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("jetstream: documents %s: %w", kind, err)
	}
	docs := map[string][]byte{}
	if err := json.Unmarshal(e.Value(), &docs); err != nil {
		return nil, 0, fmt.Errorf("jetstream: documents %s: %w", kind, err)
	}
	return docs, e.Revision(), nil
}

// UpdateDocs replaces the documents of a kind with what fn makes of them,
// atomically: the write names the revision fn read, and when another writer
// got in between, fn runs again on the newer documents (up to 20 times,
// then data.ErrConflict). An error from fn leaves the documents as they are.
func (l *Live) UpdateDocs(kind string, fn func(docs map[string][]byte) (map[string][]byte, error)) error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	l.docMu.Lock()
	defer l.docMu.Unlock()
	for try := range 20 {
		if try > 0 { // another process got in between: wait a little, longer each time, jittered
			time.Sleep(time.Duration(rand.IntN(5*try)+1) * time.Millisecond)
		}
		docs, rev, err := l.readDocs(ctx, kind)
		if err != nil {
			return err
		}
		next, err := fn(docs)
		if err != nil {
			return err
		}
		b, err := json.Marshal(next)
		if err != nil {
			return fmt.Errorf("jetstream: documents %s: %w", kind, err)
		}
		if rev == 0 {
			_, err = l.docs.Create(ctx, kind, b)
		} else {
			_, err = l.docs.Update(ctx, kind, b, rev)
		}
		if errors.Is(err, jetstream.ErrKeyExists) {
			continue // another writer got in between: read again
		}
		if err != nil {
			return fmt.Errorf("jetstream: documents %s: %w", kind, err)
		}
		return nil
	}
	return fmt.Errorf("jetstream: documents %s: 20 concurrent updates in a row: %w", kind, data.ErrConflict)
}

// PutCheckpoint stores c as the newest checkpoint. The object store writes
// the new state's chunks before its description, so a crash midway leaves
// the previous checkpoint the one that loads.
func (l *Live) PutCheckpoint(c data.Checkpoint) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*opTimeout)
	defer cancel()
	meta := jetstream.ObjectMeta{Name: checkObject, Metadata: map[string]string{"arrival": strconv.FormatUint(c.Arrival, 10)}}
	if _, err := l.checks.Put(ctx, meta, bytes.NewReader(c.State)); err != nil {
		return fmt.Errorf("jetstream: checkpoint: %w", err)
	}
	return nil
}

// LoadCheckpoint returns the newest checkpoint (data.ErrNotFound: none),
// its digest checked by the object store.
func (l *Live) LoadCheckpoint() (*data.Checkpoint, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*opTimeout)
	defer cancel()
	r, err := l.checks.Get(ctx, checkObject)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, fmt.Errorf("jetstream: checkpoint: %w", data.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("jetstream: checkpoint: %w", err)
	}
	defer r.Close()
	state, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("jetstream: checkpoint: %w", err)
	}
	info, err := r.Info()
	if err != nil {
		return nil, fmt.Errorf("jetstream: checkpoint: %w", err)
	}
	arrival, err := strconv.ParseUint(info.Metadata["arrival"], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("jetstream: checkpoint: its arrival mark %q: %w", info.Metadata["arrival"], err)
	}
	return &data.Checkpoint{Arrival: arrival, State: state}, nil
}

// Follow calls fn for every event stored after arrival mark after, in
// arrival order, then for each new one as it is stored, until ctx ends
// (returning ctx's error) or fn fails. A resend of an id within the scan's
// memory (the ids of the last followWindow events) is dropped; the
// de-duplication window already drops the rest of the resends a client
// makes on a timeout.
func (l *Live) Follow(ctx context.Context, after uint64, fn func(seq uint64, e data.Event) error) error {
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{eventSubject + ">"}}
	if after > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, after+1
	}
	c, err := l.events.OrderedConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("jetstream: follow: %w", err)
	}
	it, err := c.Messages()
	if err != nil {
		return fmt.Errorf("jetstream: follow: %w", err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	recent := newIDWindow(followWindow)
	for {
		m, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("jetstream: follow: %w", err)
		}
		md, err := m.Metadata()
		if err != nil {
			return fmt.Errorf("jetstream: follow: %w", err)
		}
		var e data.Event
		if err := json.Unmarshal(m.Data(), &e); err != nil {
			return fmt.Errorf("jetstream: event at sequence %d: %w", md.Sequence.Stream, err)
		}
		if !recent.add(e.ID) {
			continue
		}
		if err := fn(md.Sequence.Stream, e); err != nil {
			return err
		}
	}
}

// followWindow is how many of the latest ids Follow remembers.
const followWindow = 1 << 20

// idWindow remembers the last n ids added.
type idWindow struct {
	ids  map[string]struct{}
	ring []string
	next int
}

func newIDWindow(n int) *idWindow {
	return &idWindow{ids: map[string]struct{}{}, ring: make([]string, n)}
}

// add reports whether id is new to the window, and remembers it.
func (w *idWindow) add(id string) bool {
	if _, ok := w.ids[id]; ok {
		return false
	}
	if old := w.ring[w.next]; old != "" {
		delete(w.ids, old)
	}
	w.ring[w.next] = id
	w.ids[id] = struct{}{}
	w.next = (w.next + 1) % len(w.ring)
	return true
}
