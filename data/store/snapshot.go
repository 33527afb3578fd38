package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/ristretto/v2/z"

	"grouprank/data"
)

// Source is what a snapshot is written from.
type Source struct {
	Manifest data.ModelVersion
	Blobs    map[string][]byte // artefact files by name
	// Groups calls put for every group in increasing id order.
	Groups func(put func(id data.GroupID, rec []byte) error) error
}

func options_(dir string) badger.Options {
	return badger.DefaultOptions(dir).WithCompression(options.None).WithBlockCacheSize(0).WithLogger(nil)
}

// Publish writes src as a new snapshot under root and, when promote is true,
// makes it current. The snapshot is built by a StreamWriter in a fresh
// directory (root/snapshots/.<version>.partial), flushed and closed (badger
// syncs its files), renamed to root/snapshots/<version>, and only then
// named in CURRENT. A publish that dies half-way leaves CURRENT and every
// published snapshot untouched. progress, when not nil, hears the entries
// written so far and the total.
func Publish(ctx context.Context, root string, src *Source, promote bool, progress func(done, total int64)) (err error) {
	v := src.Manifest.Version
	if err := data.ValidVersion(v); err != nil {
		return err
	}
	unlock, err := lock(root)
	if err != nil {
		return err
	}
	defer unlock()
	snaps := filepath.Join(root, "snapshots")
	final := filepath.Join(snaps, v)
	if _, err := os.Stat(final); err == nil {
		return fmt.Errorf("store: publish %s: %w: already published (snapshots are immutable)", v, data.ErrConflict)
	}
	if err := removePartials(snaps); err != nil {
		return err
	}
	partial := filepath.Join(snaps, "."+v+".partial")
	if err := os.MkdirAll(partial, 0o755); err != nil {
		return fmt.Errorf("store: publish %s: %w", v, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(partial)
		}
	}()
	if err := write(ctx, partial, src, progress); err != nil {
		return fmt.Errorf("store: publish %s: %w", v, err)
	}
	if err := syncDir(partial); err != nil {
		return err
	}
	if err := os.Rename(partial, final); err != nil {
		return fmt.Errorf("store: publish %s: %w", v, err)
	}
	if err := syncDir(snaps); err != nil {
		return err
	}
	if promote {
		return setCurrent(root, v)
	}
	return nil
}

func removePartials(snaps string) error {
	ents, err := os.ReadDir(snaps)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") && strings.HasSuffix(e.Name(), ".partial") {
			if err := os.RemoveAll(filepath.Join(snaps, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

func write(ctx context.Context, dir string, src *Source, progress func(done, total int64)) (err error) {
	db, err := badger.Open(options_(dir))
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.Close(); err == nil {
			err = cerr
		}
	}()
	sw := db.NewStreamWriter()
	if err := sw.Prepare(); err != nil {
		return err
	}
	flushed := false
	defer func() { // a failed stream must be cancelled before the database closes
		if !flushed {
			sw.Cancel()
		}
	}()
	names := make([]string, 0, len(src.Blobs))
	var total int64 = 1
	for n, b := range src.Blobs {
		names = append(names, n)
		total += int64((len(b) + blobChunk - 1) / blobChunk)
	}
	sort.Strings(names)
	buf := z.NewBuffer(8<<20, "grouprank.publish")
	defer buf.Release()
	var done, pending int64
	flush := func() error {
		if buf.LenNoPadding() == 0 {
			return nil
		}
		if err := sw.Write(buf); err != nil {
			return err
		}
		buf.Reset()
		done += pending
		pending = 0
		if progress != nil {
			progress(done, total)
		}
		return ctx.Err()
	}
	put := func(k, v []byte) error {
		badger.KVToBuffer(&pb.KV{Key: k, Value: v, Version: 1}, buf)
		pending++
		if buf.LenNoPadding() >= 4<<20 {
			return flush()
		}
		return nil
	}
	for _, n := range names {
		b := src.Blobs[n]
		for c := 0; c*blobChunk < len(b) || (c == 0 && len(b) == 0); c++ {
			if err := put(blobKey(n, uint32(c)), b[c*blobChunk:min(len(b), (c+1)*blobChunk)]); err != nil {
				return err
			}
		}
	}
	var last data.GroupID = -1
	if src.Groups != nil {
		err := src.Groups(func(id data.GroupID, rec []byte) error {
			if id <= last {
				return fmt.Errorf("group %d after %d: groups must come in increasing id order", id, last)
			}
			last = id
			total++
			return put(groupKey(id), rec)
		})
		if err != nil {
			return err
		}
	}
	m, err := json.Marshal(src.Manifest)
	if err != nil {
		return err
	}
	if err := put([]byte(manifestKey), m); err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	flushed = true
	return nil
}

// Snapshot is one published version opened read-only.
type Snapshot struct {
	db       *badger.DB
	Manifest data.ModelVersion
	Dir      string // the published snapshot
	view     string // the private directory of links badger opened (removed on Close)
}

// OpenSnapshot opens a published snapshot read-only and reads its manifest.
// Snapshots are immutable: badger opens a private directory of hard links
// to the snapshot's files (beside it, under snapshots/), so whatever it
// removes or writes there (badger deletes tables its MANIFEST does not
// list, even read-only) never touches the published files. A snapshot whose
// tables are not all listed, or whose table checksums fail, is refused as
// damaged, with the file named.
func OpenSnapshot(root, version string) (*Snapshot, error) {
	if err := data.ValidVersion(version); err != nil {
		return nil, err
	}
	dir := filepath.Join(root, "snapshots", version)
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("store: snapshot %s: %w", version, data.ErrNotFound)
	}
	view, tables, err := linkView(root, version, dir)
	if err != nil {
		return nil, err
	}
	// Every table's block checksums are verified as it opens (a damaged
	// block would otherwise read as a missing key: a known group served as
	// cold start); badger names the damaged table.
	db, err := badger.Open(options_(view).WithReadOnly(true).WithChecksumVerificationMode(options.OnTableRead))
	if err != nil {
		os.RemoveAll(view)
		return nil, fmt.Errorf("store: snapshot %s is damaged or unreadable (%w): %v", version, data.ErrInvalid, relativeErr(err, view))
	}
	if listed := len(db.Tables()); listed != tables {
		db.Close()
		os.RemoveAll(view)
		return nil, fmt.Errorf("store: snapshot %s is damaged (%w): its MANIFEST lists %d of its %d tables (*.sst)", version, data.ErrInvalid, listed, tables)
	}
	s := &Snapshot{db: db, Dir: dir, view: view}
	mb, err := s.get([]byte(manifestKey))
	if err == nil {
		err = json.Unmarshal(mb, &s.Manifest)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("store: snapshot %s: manifest: %w", version, err)
	}
	return s, nil
}

// linkView makes a fresh directory under root/snapshots of hard links to
// every file of dir, and counts its tables.
func linkView(root, version, dir string) (string, int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", 0, fmt.Errorf("store: snapshot %s: %w", version, err)
	}
	removeDeadViews(filepath.Join(root, "snapshots"))
	view, err := os.MkdirTemp(filepath.Join(root, "snapshots"), fmt.Sprintf(".%s.open-%d-", version, os.Getpid()))
	if err != nil {
		return "", 0, fmt.Errorf("store: snapshot %s: %w", version, err)
	}
	tables := 0
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		if strings.HasSuffix(e.Name(), ".sst") {
			tables++
		}
		if err := os.Link(filepath.Join(dir, e.Name()), filepath.Join(view, e.Name())); err != nil {
			os.RemoveAll(view)
			return "", 0, fmt.Errorf("store: snapshot %s: %w", version, err)
		}
	}
	return view, tables, nil
}

// Close releases the snapshot.
func (s *Snapshot) Close() error {
	err := s.db.Close()
	if rerr := os.RemoveAll(s.view); err == nil {
		err = rerr
	}
	return err
}

func (s *Snapshot) get(k []byte) ([]byte, error) {
	var out []byte
	err := s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get(k)
		if err != nil {
			return err
		}
		out, err = it.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, data.ErrNotFound
	}
	return out, err
}

// Blob reads the artefact file name back from its chunks.
func (s *Snapshot) Blob(name string) ([]byte, error) {
	var out []byte
	prefix := []byte(blobPrefix + name + "/")
	n := 0
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			out = append(out, v...)
			n++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: snapshot %s: blob %s: %w", s.Manifest.Version, name, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("store: snapshot %s: blob %s: %w", s.Manifest.Version, name, data.ErrNotFound)
	}
	return out, nil
}

// Group reads a group's record; data.ErrNotFound when the snapshot has none.
func (s *Snapshot) Group(id data.GroupID) ([]byte, error) {
	b, err := s.get(groupKey(id))
	if err != nil {
		return nil, fmt.Errorf("store: snapshot %s: group %d: %w", s.Manifest.Version, id, err)
	}
	return b, nil
}

// EachGroup calls fn for every group record in id order.
func (s *Snapshot) EachGroup(fn func(id data.GroupID, rec []byte) error) error {
	return s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(groupPrefix), PrefetchValues: true, PrefetchSize: 256})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) != len(groupPrefix)+8 {
				return fmt.Errorf("store: snapshot %s: group key %q: %w", s.Manifest.Version, k, data.ErrInvalid)
			}
			id := data.GroupID(beUint64(k[len(groupPrefix):]))
			if err := it.Item().Value(func(v []byte) error { return fn(id, v) }); err != nil {
				return err
			}
		}
		return nil
	})
}

func beUint64(b []byte) uint64 {
	var x uint64
	for _, c := range b[:8] {
		x = x<<8 | uint64(c)
	}
	return x
}

// relativeErr is err's text with the snapshot directory's path taken out,
// so that it names files, not where the server keeps them.
func relativeErr(err error, dir string) string {
	return strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
}

// removeDeadViews removes the link directories of processes that died
// without closing their snapshots (".<version>.open-<pid>-...").
func removeDeadViews(snapshots string) {
	ents, _ := os.ReadDir(snapshots)
	for _, e := range ents {
		_, rest, ok := strings.Cut(e.Name(), ".open-")
		if !ok || !strings.HasPrefix(e.Name(), ".") {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 {
			continue
		}
		if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			os.RemoveAll(filepath.Join(snapshots, e.Name()))
		}
	}
}
