package main

import (
	"bufio"
	"container/heap"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"grouprank/data"
	"grouprank/train"
	"grouprank/train/exchange"
)

// Params of a sharded training part's manifest: which part it is, and of
// what job (train merge checks that the parts belong together and removes
// them).
const (
	paramShard       = "shard"
	paramFingerprint = "shard_fingerprint"
)

// settings are what the parts of a sharded train must agree on: the world
// and every setting that changes the model.
func (f *trainFlags) settings() string {
	world, err := filepath.Abs(f.world)
	if err != nil {
		world = f.world
	}
	base, conv := f.base, f.conv
	base.ALS.Workers = 0 // the parts may run on different numbers of cores
	base.ALS.Seed, conv.Seed = f.seed, f.seed
	return fmt.Sprintf("train world=%s version=%s windows=%+v attribution-hours=%g base=%+v conv=%+v seed=%d no-truth=%t no-picks=%t ope-k=%d bootstrap=%d conversion=%s pref=%+v",
		world, f.version, f.win, f.attributionHours, base, conv, f.seed, f.noTruth, f.noPicks, f.opeK, f.bootstrap, f.conversion, f.pref)
}

// trainPart is the exchange of a sharded train's part (nil for the whole).
type trainPart struct {
	ex *exchange.Dir
	sh *train.Shard
}

// openTrainPart joins the other parts of a sharded train.
func openTrainPart(ctx context.Context, e *env, f *trainFlags) (*trainPart, error) {
	ex, err := joinExchange(ctx, e, f.exchange, f.shard, f.settings(), f.exchangeTimeout)
	if err != nil {
		return nil, err
	}
	return &trainPart{ex: ex}, nil
}

// fail tells the other parts why this one stopped.
func (p *trainPart) fail(err error) error {
	if p == nil {
		return err
	}
	return failPart(p.ex, err)
}

// span sets the world's first and last event times to every part's.
func (p *trainPart) span(w *world) error { return joinSpan(p.sh, w) }

// joinSpan sets the world's first and last event times to those of every
// part of sh.
func joinSpan(sh *train.Shard, w *world) error {
	first, last := int64(math.MaxInt64), int64(math.MaxInt64)
	if w.first != data.UnknownTime {
		first = int64(w.first)
	}
	if w.last != data.UnknownTime {
		last = -int64(w.last)
	}
	x := []int64{first, last}
	if err := sh.Parts.MinInts(x); err != nil {
		return err
	}
	w.first, w.last = data.UnknownTime, data.UnknownTime
	if x[0] != math.MaxInt64 {
		w.first = data.Timestamp(x[0])
	}
	if x[1] != math.MaxInt64 {
		w.last = data.Timestamp(-x[1])
	}
	return nil
}

// version is part 0's version name and creation time, which every part
// writes.
func (p *trainPart) version(ctx context.Context, version string, created time.Time) (string, time.Time, error) {
	me, _ := p.ex.Part()
	err := p.ex.AllGather(ctx, "version", func(w io.Writer) error {
		if me != 0 {
			return nil
		}
		_, err := fmt.Fprintf(w, "%s\n%s\n", version, created.Format(time.RFC3339Nano))
		return err
	}, func(src int, r io.Reader) error {
		if src != 0 {
			return nil
		}
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(lines) != 2 {
			return fmt.Errorf("part 0's version: %q", b)
		}
		version = lines[0]
		created, err = time.Parse(time.RFC3339Nano, lines[1])
		return err
	})
	return version, created, err
}

// trainMergeCmd writes the artefact of a sharded train from its parts.
func trainMergeCmd(e *env) *cobra.Command {
	var out, version string
	c := &cobra.Command{
		Use:   "merge PART...",
		Short: "Merge the parts of train --shard i/n --part DIR into the artefact an unsharded train writes",
		Long: `merge reads the artefacts that train --shard 0/n ... (n-1)/n --part DIR wrote
(each part's holds its groups), checks that they are the parts of one job (the
same world, settings and version, each part once, the same model, statistics
and item vectors) and writes to --out/<version>/ the artefact train without
--shard writes: the same files, byte for byte (the manifest's creation time is
part 0's). The groups are streamed from the parts, in id order. --version
names the artefact anew (a scheduled merge knows its own name, not the
training run's).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if version != "" {
				if err := data.ValidVersion(version); err != nil {
					return fmt.Errorf("--version: %w", err)
				}
			}
			dir, err := mergeTrainParts(cmd.Context(), out, version, args)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "merged %d parts into %s\n", len(args), dir)
			return nil
		},
	}
	c.Flags().StringVar(&out, "out", "models", "directory that receives the artefact directory <version>/")
	c.Flags().StringVar(&version, "version", "", "the artefact's version name (default: the training run's)")
	return c
}

// partDir is the artefact directory a part wrote under root (its only
// version), or root itself when it is an artefact directory.
func partDir(root string) (string, error) {
	if fileExists(filepath.Join(root, train.ManifestFile)) {
		return root, nil
	}
	ents, err := os.ReadDir(root)
	if err != nil {
		return "", err
	}
	var dirs []string
	for _, d := range ents {
		if d.IsDir() && !strings.HasPrefix(d.Name(), ".") {
			dirs = append(dirs, d.Name())
		}
	}
	if len(dirs) != 1 {
		return "", fmt.Errorf("%s: want the one artefact a part of train --shard writes, found %d: %w", root, len(dirs), data.ErrInvalid)
	}
	return filepath.Join(root, dirs[0]), nil
}

func mergeTrainParts(ctx context.Context, out, version string, roots []string) (string, error) {
	type part struct {
		dir      string
		m        *data.ModelVersion
		groups   data.FileSum
		i        int
		n        int
		finger   string
		ofGroups int
	}
	var parts []*part
	for _, root := range roots {
		dir, err := partDir(root)
		if err != nil {
			return "", err
		}
		m, err := train.ReadManifest(dir)
		if err != nil {
			return "", err
		}
		sh, _ := m.Params[paramShard].(string)
		fp, _ := m.Params[paramFingerprint].(string)
		s, err := parseShard(sh)
		if err != nil || sh == "" {
			return "", fmt.Errorf("%s: not a part of train --shard (its manifest names no shard): %w", dir, data.ErrInvalid)
		}
		p := &part{dir: dir, m: m, i: s.i, n: s.n, finger: fp, ofGroups: m.Size.Groups}
		for _, f := range m.Files {
			if f.Name == train.GroupsFile {
				p.groups = f
			}
		}
		parts = append(parts, p)
	}
	n := parts[0].n
	byIndex := make([]*part, n)
	for _, p := range parts {
		switch {
		case p.n != n || p.finger != parts[0].finger || p.m.Version != parts[0].m.Version:
			return "", fmt.Errorf("%s and %s are parts of different training runs (parts, settings or version): %w", parts[0].dir, p.dir, data.ErrInvalid)
		case byIndex[p.i] != nil:
			return "", fmt.Errorf("part %d of %d given twice (%s, %s): %w", p.i, n, byIndex[p.i].dir, p.dir, data.ErrInvalid)
		}
		byIndex[p.i] = p
	}
	for i, p := range byIndex {
		if p == nil {
			return "", fmt.Errorf("part %d of %d is missing: %w", i, n, data.ErrInvalid)
		}
	}
	// The files other than the groups: part 0's, which every part must have
	// written the same (the report is part 0's alone).
	first := byIndex[0]
	files := map[string][]byte{}
	sums := map[string]data.FileSum{}
	for _, f := range first.m.Files {
		if f.Name == train.GroupsFile {
			continue
		}
		b, err := os.ReadFile(filepath.Join(first.dir, f.Name))
		if err != nil {
			return "", err
		}
		files[f.Name], sums[f.Name] = b, f
	}
	if err := train.VerifyFiles(first.m, files, func(name string) string { return filepath.Join(first.dir, name) }); err != nil {
		return "", err
	}
	total := 0
	for _, p := range byIndex {
		total += p.ofGroups
		for _, f := range p.m.Files {
			if want, ok := sums[f.Name]; ok && f.Name != train.ReportFile && f.SHA256 != want.SHA256 {
				return "", fmt.Errorf("%s: %s differs from part 0's: the parts did not train one model: %w", p.dir, f.Name, data.ErrInvalid)
			}
		}
	}
	// The files are checked by decoding them, then written as they are.
	if _, err := train.DecodeArtefact(*first.m, files, func(name string) string { return filepath.Join(first.dir, name) }); err != nil {
		return "", err
	}
	a := &train.Artefact{Manifest: *first.m, Raw: files}
	delete(a.Manifest.Params, paramShard)
	delete(a.Manifest.Params, paramFingerprint)
	a.Manifest.Size.Groups = total
	if version != "" {
		a.Manifest.Version = version
	}
	a.GroupsFrom = func(w io.Writer) error {
		var srcs []*groupSource
		for _, p := range byIndex {
			f, err := os.Open(filepath.Join(p.dir, train.GroupsFile))
			if err != nil {
				return err
			}
			defer f.Close()
			h := sha256.New()
			srcs = append(srcs, &groupSource{r: bufio.NewReaderSize(io.TeeReader(f, h), 1<<20), h: h, want: p.groups, path: filepath.Join(p.dir, train.GroupsFile)})
		}
		return mergeGroups(ctx, w, srcs)
	}
	return train.WriteArtefact(ctx, out, a)
}

// groupSource is one part's groups file, read record by record.
type groupSource struct {
	r    *bufio.Reader
	h    hash.Hash
	want data.FileSum
	path string
	n    int64 // bytes read
	id   data.GroupID
	rec  []byte
}

// next reads the next record; io.EOF after the last, once the file's size
// and checksum are those its manifest lists.
func (s *groupSource) next() error {
	var hdr [12]byte
	if _, err := io.ReadFull(s.r, hdr[:]); err == io.EOF {
		if got := hex.EncodeToString(s.h.Sum(nil)); s.n != s.want.Bytes || got != s.want.SHA256 {
			return fmt.Errorf("%s: corrupt (%w): %d bytes with SHA-256 %s, the manifest lists %d and %s", s.path, data.ErrInvalid, s.n, got, s.want.Bytes, s.want.SHA256)
		}
		return io.EOF
	} else if err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	id := data.GroupID(binary.LittleEndian.Uint64(hdr[:]))
	rec := make([]byte, binary.LittleEndian.Uint32(hdr[8:]))
	if _, err := io.ReadFull(s.r, rec); err != nil {
		return fmt.Errorf("%s: group %d: %w", s.path, id, err)
	}
	if s.rec != nil && id <= s.id {
		return fmt.Errorf("%s: corrupt (%w): group %d after group %d", s.path, data.ErrInvalid, id, s.id)
	}
	s.n += int64(12 + len(rec))
	s.id, s.rec = id, rec
	return nil
}

type groupHeap []*groupSource

func (h groupHeap) Len() int           { return len(h) }
func (h groupHeap) Less(a, b int) bool { return h[a].id < h[b].id }
func (h groupHeap) Swap(a, b int)      { h[a], h[b] = h[b], h[a] }
func (h *groupHeap) Push(x any)        { *h = append(*h, x.(*groupSource)) }
func (h *groupHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// mergeGroups writes the parts' group records in id order.
func mergeGroups(ctx context.Context, w io.Writer, srcs []*groupSource) error {
	h := &groupHeap{}
	for _, s := range srcs {
		switch err := s.next(); {
		case errors.Is(err, io.EOF):
		case err != nil:
			return err
		default:
			heap.Push(h, s)
		}
	}
	var hdr [12]byte
	for k := 0; h.Len() > 0; k++ {
		if k%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		s := (*h)[0]
		if k > 0 && s.id == data.GroupID(binary.LittleEndian.Uint64(hdr[:])) {
			return fmt.Errorf("%s: group %d is in two parts: %w", s.path, s.id, data.ErrInvalid)
		}
		binary.LittleEndian.PutUint64(hdr[:], uint64(s.id))
		binary.LittleEndian.PutUint32(hdr[8:], uint32(len(s.rec)))
		if _, err := w.Write(hdr[:]); err != nil {
			return err
		}
		if _, err := w.Write(s.rec); err != nil {
			return err
		}
		switch err := s.next(); {
		case errors.Is(err, io.EOF):
			heap.Pop(h)
		case err != nil:
			return err
		default:
			heap.Fix(h, 0)
		}
	}
	return nil
}

// writeTrainArtefact writes a to root: the whole train's, or this part's
// (part not nil), with its shard and the job's fingerprint in the manifest,
// the earlier parts in root removed.
func writeTrainArtefact(ctx context.Context, f *trainFlags, part *trainPart, root string, a *train.Artefact) (string, error) {
	if part == nil {
		return train.WriteArtefact(ctx, root, a)
	}
	a.Manifest.Params[paramShard] = fmt.Sprintf("%d/%d", f.shard.i, f.shard.n)
	a.Manifest.Params[paramFingerprint] = fmt.Sprintf("%x", sha256.Sum256([]byte(f.settings())))
	dir, err := train.WriteArtefact(ctx, root, a)
	if err != nil {
		return "", err
	}
	return dir, clearEarlierParts(root, dir)
}

// joined is the error joining the parts' sums met, if any (nil for the
// whole).
func (p *trainPart) joined() error {
	if p == nil {
		return nil
	}
	return p.sh.Parts.Err()
}

// clearEarlierParts removes from root (a --part directory) the parts of
// earlier runs, keeping dir (this run's): a scheduled job writes its parts
// to the same directories every night, and train merge reads the one part
// each holds. Only directories whose manifest names a shard are removed.
func clearEarlierParts(root, dir string) error {
	ents, err := os.ReadDir(root)
	if err != nil {
		return err
	}
	for _, d := range ents {
		p := filepath.Join(root, d.Name())
		if !d.IsDir() || strings.HasPrefix(d.Name(), ".") || p == filepath.Clean(dir) {
			continue
		}
		m, err := train.ReadManifest(p)
		if err != nil {
			continue
		}
		if _, ok := m.Params[paramShard]; ok {
			if err := os.RemoveAll(p); err != nil {
				return err
			}
		}
	}
	return nil
}
