package train

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"grouprank/data"
	"grouprank/features"
	"grouprank/recommend"
)

// The files of an artefact directory.
const (
	ManifestFile = "manifest.json" // data.ModelVersion; written last
	ModelFile    = "model.json"    // ModelSpec: the conversion model, its calibration and the scorer's settings
	CatalogFile  = "catalog.gob"   // []data.Product at the serving instant, in item-index order
	StatsFile    = "stats.gob"     // features.ItemStats at the serving instant
	ItemsFile    = "items.f32"     // item factors (recommend.EncodeFactors)
	GroupsFile   = "groups.bin"    // per group: id (int64), length (uint32), recommend.EncodeGroup record
	ReportFile   = "report.json"   // the training report
	PrefFile     = "pref.f32"      // a model learnt from orders alone: its item-item matrix and item priors (EncodePreference)
	IDsFile      = "ids.json"      // an imported world's own ids ([]data.ExternalID); absent when ids are grouprank's
	MembersFile  = "members.bin"   // a preference model's members with orders: rows and memberships (EncodeMembers)
	TogetherFile = "together.bin"  // a preference model's items ordered by the same groups, for reasons (EncodeTogether)
)

// ModelSpec is the scorer's configuration besides the big tables.
type ModelSpec struct {
	Conversion    recommend.Conversion `json:"conversion"`
	RatingMean    float64              `json:"rating_mean"`
	RatingPrior   float64              `json:"rating_prior"`
	PushConvPrior float64              `json:"push_conv_prior"`
	ConvMean      float64              `json:"conv_mean"`
	ProfilePrior  float32              `json:"profile_prior"`
	CellPrior     float32              `json:"cell_prior"`
	ChannelPrior  float32              `json:"channel_prior"`
	// FoldIn are the iALS settings the service folds new orders in with.
	FoldIn FoldInSpec `json:"fold_in"`
	// CategoryNames name the L1 categories in reasons (the world's
	// categories.json; absent: their ids).
	CategoryNames map[string]data.CategoryName `json:"category_names,omitempty"`
	// Preference is set for a model learnt from orders alone: its
	// relevance is a preference model chosen on validation (PrefFile holds
	// its tables) instead of a conversion model fitted on pushes.
	Preference *PreferenceSpec `json:"preference,omitempty"`
}

// PreferenceSpec are a preference model's settings besides its tables.
type PreferenceSpec struct {
	// Model is the chosen model as train/pref describes it (method and settings).
	Model           json.RawMessage `json:"model"`
	Consensus       float32         `json:"consensus"`        // members' weight in the item-item row
	VectorConsensus float32         `json:"vector_consensus"` // members' weight in the row the group's vector is folded from
	Confidence      float32         `json:"confidence"`       // iALS weight per unit of that row
	// ColdConsensus and ColdVectorConsensus are the members' weights for a
	// group with no own row (absent: Consensus and VectorConsensus, as
	// models trained before them read a new group's members).
	ColdConsensus       *float32 `json:"cold_consensus,omitempty"`
	ColdVectorConsensus *float32 `json:"cold_vector_consensus,omitempty"`
	Units               bool     `json:"units"` // orders count their units (else lines)
	// CreditUnnamed: group orders that name no buyer were credited to each
	// of the group's members at training, and are so in the service.
	CreditUnnamed bool `json:"credit_unnamed,omitempty"`
	HasItemItem   bool `json:"item_item"`
	HasPrior      bool `json:"item_prior"`
}

// apply sets p's weights from the spec.
func (ps *PreferenceSpec) apply(p *recommend.Preference) {
	p.Consensus, p.VectorConsensus, p.Confidence, p.Units, p.Credit = ps.Consensus, ps.VectorConsensus, ps.Confidence, ps.Units, ps.CreditUnnamed
	p.ColdConsensus, p.ColdVectorConsensus = ps.Consensus, ps.VectorConsensus
	if ps.ColdConsensus != nil {
		p.ColdConsensus = *ps.ColdConsensus
	}
	if ps.ColdVectorConsensus != nil {
		p.ColdVectorConsensus = *ps.ColdVectorConsensus
	}
}

// FoldInSpec are the iALS row problem's settings and how orders weigh.
type FoldInSpec struct {
	Alpha0     float32 `json:"alpha0"`
	Lambda     float32 `json:"lambda"`
	Nu         float32 `json:"nu"`
	Confidence float32 `json:"confidence"` // an order's weight: 1 + Confidence x units
}

// Artefact is a trained model in memory, as written to or read from disk.
type Artefact struct {
	Manifest data.ModelVersion
	Spec     ModelSpec
	Catalog  []data.Product
	Stats    *features.ItemStats
	Items    *recommend.Factors // nil: no item vectors
	Pref     *recommend.Preference
	IDs      *data.IDMap // the user's own ids (nil: grouprank's)
	// Members are a preference model's members with orders: their rows and
	// memberships (nil: none). MembersFrom, when not nil, writes members.bin
	// in EncodeMembers' layout in their place (streamed: at a million
	// groups the file runs to gigabytes).
	Members     *recommend.Members
	MembersFrom func(w io.Writer) error
	// Together counts the groups that ordered each item and each pair of
	// items often ordered together (a preference model's reasons; nil: none).
	Together *recommend.Together
	Groups   []GroupRecord
	// GroupsFrom, when not nil, writes the groups file in place of Groups
	// (streamed), and Files, when not nil, are the other files as they
	// are written (but the manifest): the merge of a sharded training's
	// parts.
	GroupsFrom func(w io.Writer) error
	Raw        map[string][]byte
	Report     json.RawMessage
}

// GroupRecord is one group's served row.
type GroupRecord struct {
	ID    data.GroupID
	Group recommend.Group
}

// NewArtefact gathers what serving needs from a base rebuilt at the serving
// instant and the fitted conversion model.
func NewArtefact(h *History, serve *Base, cfg BaseConfig, conv *recommend.Conversion, m data.ModelVersion, report any) (*Artefact, error) {
	cat := h.Timeline.At(serve.At)
	pm := recommend.NewProfileModel(cat, serve.Stats)
	a := &Artefact{Manifest: m, Catalog: cat.Products, Stats: serve.Stats, Items: serve.ALS.Items,
		Spec: ModelSpec{Conversion: *conv, RatingMean: serve.RatingMean, RatingPrior: cfg.Stats.RatingPrior,
			PushConvPrior: cfg.Stats.ConvPrior, ConvMean: serve.ConvMean, ProfilePrior: pm.ProfilePrior,
			CellPrior: pm.CellPrior, ChannelPrior: pm.ChannelPrior,
			FoldIn: FoldInSpec{Alpha0: cfg.ALS.Alpha0, Lambda: cfg.ALS.Lambda, Nu: cfg.ALS.Nu, Confidence: cfg.Confidence}}}
	a.Manifest.Size = data.ModelSize{Groups: h.Groups.Len(), Products: len(a.Catalog)}
	recent := h.RecentOrders(serve.At, recommend.MaxRecentOrders)
	for g := range h.Groups.Len() {
		r := GroupRecord{ID: h.Groups.IDs[g], Group: serve.ServedGroup(int32(g))}
		r.Group.Orders = recent[g]
		a.Groups = append(a.Groups, r)
	}
	var err error
	if a.Report, err = json.Marshal(jsonSafe(report)); err != nil {
		return nil, fmt.Errorf("artefact: report: %w", err)
	}
	return a, nil
}

// Inputs rebuilds the scorer's inputs from the artefact.
func (a *Artefact) Inputs() (*recommend.Inputs, *features.Catalog) {
	cat := features.NewCatalog(a.Catalog, a.Manifest.Windows.Serve)
	pm := recommend.NewProfileModel(cat, a.Stats)
	pm.ProfilePrior, pm.CellPrior, pm.ChannelPrior = a.Spec.ProfilePrior, a.Spec.CellPrior, a.Spec.ChannelPrior
	return &recommend.Inputs{Cat: cat, Stats: a.Stats, Items: a.Items, Profile: pm, RatingMean: a.Spec.RatingMean,
		RatingPrior: a.Spec.RatingPrior, PushConvPrior: a.Spec.PushConvPrior, ConvMean: a.Spec.ConvMean, Pref: a.Pref}, cat
}

// Files encodes every file of the artefact except the manifest, the
// groups file (WriteGroups) and a members.bin MembersFrom writes, by name.
func (a *Artefact) Files() (map[string][]byte, error) {
	if a.Raw != nil {
		return maps.Clone(a.Raw), nil
	}
	out := map[string][]byte{}
	var err error
	if out[ModelFile], err = json.MarshalIndent(a.Spec, "", "  "); err != nil {
		return nil, err
	}
	// In a fixed order: gob numbers the types it meets in the order the
	// process first encodes them, so a map's random order made the files'
	// bytes (and the manifest's checksums) differ from run to run.
	for _, f := range []struct {
		name string
		v    any
	}{{CatalogFile, a.Catalog}, {StatsFile, a.Stats}} {
		var b bytes.Buffer
		if err := gob.NewEncoder(&b).Encode(f.v); err != nil {
			return nil, fmt.Errorf("artefact: %s: %w", f.name, err)
		}
		out[f.name] = b.Bytes()
	}
	out[ItemsFile] = recommend.EncodeFactors(a.Items)
	if a.Pref != nil {
		out[PrefFile] = EncodePreference(a.Pref)
	}
	if a.Members != nil && a.MembersFrom == nil {
		out[MembersFile] = EncodeMembers(a.Members)
	}
	if a.Together != nil {
		out[TogetherFile] = EncodeTogether(a.Together)
	}
	if a.IDs != nil {
		b, err := json.Marshal(a.IDs.Rows())
		if err != nil {
			return nil, fmt.Errorf("artefact: %s: %w", IDsFile, err)
		}
		out[IDsFile] = b
	}
	out[ReportFile] = a.Report
	return out, nil
}

// WriteGroups writes the groups file, which Files leaves out (at a million
// groups it runs to gigabytes, so it is streamed): per group its id (8
// bytes), its record's length (4) and the record (recommend.EncodeGroup),
// little-endian.
func (a *Artefact) WriteGroups(w io.Writer) error {
	if a.GroupsFrom != nil {
		return a.GroupsFrom(w)
	}
	var hdr [12]byte
	for _, r := range a.Groups {
		rec := recommend.EncodeGroup(&r.Group)
		binary.LittleEndian.PutUint64(hdr[:], uint64(r.ID))
		binary.LittleEndian.PutUint32(hdr[8:], uint32(len(rec)))
		if _, err := w.Write(hdr[:]); err != nil {
			return err
		}
		if _, err := w.Write(rec); err != nil {
			return err
		}
	}
	return nil
}

func sum(name string, b []byte) data.FileSum {
	h := sha256.Sum256(b)
	return data.FileSum{Name: name, Bytes: int64(len(b)), SHA256: hex.EncodeToString(h[:])}
}

// WriteArtefact writes the artefact to root/<version>/ atomically: into a
// temporary directory, every file synced, the manifest (with each file's
// size and SHA-256) last, then renamed into place. An existing version is
// never overwritten.
func WriteArtefact(ctx context.Context, root string, a *Artefact) (string, error) {
	if err := data.ValidVersion(a.Manifest.Version); err != nil {
		return "", err
	}
	dir := filepath.Join(root, a.Manifest.Version)
	if _, err := os.Stat(dir); err == nil {
		return "", fmt.Errorf("artefact %s: %w: the version exists (versions are immutable)", dir, data.ErrConflict)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	files, err := a.Files()
	if err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(root, "."+a.Manifest.Version+".tmp-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	a.Manifest.Files = nil
	for _, name := range []string{ModelFile, CatalogFile, StatsFile, ItemsFile, PrefFile, MembersFile, TogetherFile, IDsFile, GroupsFile, ReportFile} {
		if _, ok := files[name]; !ok && (name == PrefFile || (name == MembersFile && a.MembersFrom == nil) || name == TogetherFile || name == IDsFile) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return "", err
		}
		write := func(w io.Writer) error { _, err := w.Write(files[name]); return err }
		switch {
		case name == GroupsFile:
			write = a.WriteGroups
		case name == MembersFile && a.MembersFrom != nil:
			write = a.MembersFrom
		}
		fs, err := writeSynced(filepath.Join(tmp, name), write)
		if err != nil {
			return "", fmt.Errorf("artefact: %w", err)
		}
		a.Manifest.Files = append(a.Manifest.Files, fs)
	}
	mb, err := json.MarshalIndent(a.Manifest, "", "  ")
	if err != nil {
		return "", err
	}
	if _, err := writeSynced(filepath.Join(tmp, ManifestFile), func(w io.Writer) error { _, err := w.Write(append(mb, '\n')); return err }); err != nil {
		return "", fmt.Errorf("artefact: %w", err)
	}
	if err := syncDir(tmp); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", fmt.Errorf("artefact: %w", err)
	}
	return dir, syncDir(root)
}

// writeSynced creates path with what write writes, buffered, synced, and
// returns its size and SHA-256.
func writeSynced(path string, write func(io.Writer) error) (data.FileSum, error) {
	fs := data.FileSum{Name: filepath.Base(path)}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fs, err
	}
	h := sha256.New()
	c := &countingWriter{w: io.MultiWriter(f, h)}
	bw := bufio.NewWriterSize(c, 1<<20)
	if err := write(bw); err != nil {
		f.Close()
		return fs, err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fs, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fs, err
	}
	fs.Bytes, fs.SHA256 = c.n, hex.EncodeToString(h.Sum(nil))
	return fs, f.Close()
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ReadManifest reads and checks an artefact directory's manifest.
func ReadManifest(dir string) (*data.ModelVersion, error) {
	p := filepath.Join(dir, ManifestFile)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("artefact %s: %w", dir, err)
	}
	var m data.ModelVersion
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("artefact %s: corrupt (%w): %s: %v", dir, data.ErrInvalid, p, err)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("artefact %s: corrupt (%w): %s: %v", dir, data.ErrInvalid, p, err)
	}
	return &m, nil
}

// ReadFiles reads an artefact's files and verifies each against the
// manifest's size and checksum; the error names the first file that fails.
func ReadFiles(dir string) (*data.ModelVersion, map[string][]byte, error) {
	return readFiles(dir, "")
}

// ReadFilesButGroups is ReadFiles without groups.bin, the one file that
// grows with the groups: StreamGroups reads it record by record.
func ReadFilesButGroups(dir string) (*data.ModelVersion, map[string][]byte, error) {
	return readFiles(dir, GroupsFile)
}

// readFiles is ReadFiles leaving out the file named but, which the
// manifest must still list.
func readFiles(dir, but string) (*data.ModelVersion, map[string][]byte, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, nil, err
	}
	out := map[string][]byte{}
	listed := map[string]bool{}
	for _, f := range m.Files {
		listed[f.Name] = true
		if f.Name == but {
			continue
		}
		p := filepath.Join(dir, f.Name)
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, fmt.Errorf("artefact %s: corrupt (%w): %v", dir, data.ErrInvalid, err)
		}
		out[f.Name] = b
	}
	if err := VerifyFiles(m, out, func(name string) string { return filepath.Join(dir, name) }); err != nil {
		return nil, nil, fmt.Errorf("artefact %s: %w", dir, err)
	}
	for _, name := range []string{ModelFile, CatalogFile, StatsFile, ItemsFile, GroupsFile} {
		if !listed[name] {
			return nil, nil, fmt.Errorf("artefact %s: corrupt (%w): the manifest lists no %s", dir, data.ErrInvalid, name)
		}
	}
	return m, out, nil
}

// VerifyFiles checks each of files against the manifest's size and
// checksum of it (files the manifest lists but the map lacks are not
// checked); the error names the first file that fails, as where says.
func VerifyFiles(m *data.ModelVersion, files map[string][]byte, where func(name string) string) error {
	for _, f := range m.Files {
		b, ok := files[f.Name]
		if !ok {
			continue
		}
		if int64(len(b)) != f.Bytes {
			return fmt.Errorf("corrupt (%w): %s is %d bytes, the manifest says %d (truncated?)", data.ErrInvalid, where(f.Name), len(b), f.Bytes)
		}
		if s := sum(f.Name, b); s.SHA256 != f.SHA256 {
			return fmt.Errorf("corrupt (%w): %s has checksum %s, the manifest says %s", data.ErrInvalid, where(f.Name), s.SHA256, f.SHA256)
		}
	}
	return nil
}

// VerifyGroups checks group records, given in increasing id order by each,
// against the manifest's size and checksum of the groups.bin they were
// published from (the same records, encoded as that file is).
func VerifyGroups(m *data.ModelVersion, each func(fn func(id data.GroupID, rec []byte) error) error, where string) error {
	want := listedFile(m, GroupsFile)
	if want == nil {
		return fmt.Errorf("corrupt (%w): %s: the manifest lists no %s", data.ErrInvalid, where, GroupsFile)
	}
	h := sha256.New()
	var n int64
	var hdr [12]byte
	err := each(func(id data.GroupID, rec []byte) error {
		binary.LittleEndian.PutUint64(hdr[:], uint64(id))
		binary.LittleEndian.PutUint32(hdr[8:], uint32(len(rec)))
		h.Write(hdr[:])
		h.Write(rec)
		n += int64(len(hdr) + len(rec))
		return nil
	})
	if err != nil {
		return fmt.Errorf("corrupt (%w): %s: %v", data.ErrInvalid, where, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != want.Bytes || got != want.SHA256 {
		return fmt.Errorf("corrupt (%w): %s: the group records (%d bytes, checksum %s) are not the %s the manifest lists (%d bytes, %s)",
			data.ErrInvalid, where, n, got, GroupsFile, want.Bytes, want.SHA256)
	}
	return nil
}

// ReadArtefact reads and verifies an artefact directory and decodes it.
func ReadArtefact(dir string) (*Artefact, error) {
	m, files, err := ReadFiles(dir)
	if err != nil {
		return nil, err
	}
	return DecodeArtefact(*m, files, func(name string) string { return filepath.Join(dir, name) })
}

// DecodeArtefact decodes verified files; where names a file in errors.
// Without groups.bin (a published snapshot's blobs) Groups stays empty.
func DecodeArtefact(m data.ModelVersion, files map[string][]byte, where func(string) string) (*Artefact, error) {
	a := &Artefact{Manifest: m, Report: files[ReportFile]}
	bad := func(name string, err error) error {
		return fmt.Errorf("corrupt artefact (%w): %s: %v", data.ErrInvalid, where(name), err)
	}
	if err := json.Unmarshal(files[ModelFile], &a.Spec); err != nil {
		return nil, bad(ModelFile, err)
	}
	if err := a.Spec.Conversion.Check(); err != nil {
		return nil, bad(ModelFile, err)
	}
	if err := gob.NewDecoder(bytes.NewReader(files[CatalogFile])).Decode(&a.Catalog); err != nil {
		return nil, bad(CatalogFile, err)
	}
	a.Stats = &features.ItemStats{}
	if err := gob.NewDecoder(bytes.NewReader(files[StatsFile])).Decode(a.Stats); err != nil {
		return nil, bad(StatsFile, err)
	}
	if len(a.Stats.Pop) != len(a.Catalog) {
		return nil, bad(StatsFile, fmt.Errorf("statistics for %d items, catalogue of %d", len(a.Stats.Pop), len(a.Catalog)))
	}
	var err error
	if a.Items, err = recommend.DecodeFactors(files[ItemsFile]); err != nil {
		return nil, bad(ItemsFile, err)
	}
	if a.Items != nil && a.Items.Rows() != len(a.Catalog) {
		return nil, bad(ItemsFile, fmt.Errorf("%d item vectors, catalogue of %d", a.Items.Rows(), len(a.Catalog)))
	}
	if ps := a.Spec.Preference; ps != nil {
		b, ok := files[PrefFile]
		if !ok {
			return nil, bad(PrefFile, fmt.Errorf("the model is a preference model and the manifest lists no %s", PrefFile))
		}
		if a.Pref, err = DecodePreference(b, len(a.Catalog)); err != nil {
			return nil, bad(PrefFile, err)
		}
		ps.apply(a.Pref)
		if b, ok := files[MembersFile]; ok {
			if a.Members, err = DecodeMembers(b, len(a.Catalog)); err != nil {
				return nil, bad(MembersFile, err)
			}
		}
		if b, ok := files[TogetherFile]; ok {
			if a.Together, err = DecodeTogether(b, len(a.Catalog)); err != nil {
				return nil, bad(TogetherFile, err)
			}
		}
	}
	if b, ok := files[IDsFile]; ok {
		var rows []data.ExternalID
		if err := json.Unmarshal(b, &rows); err != nil {
			return nil, bad(IDsFile, err)
		}
		for k := range rows {
			if err := rows[k].Validate(); err != nil {
				return nil, bad(IDsFile, fmt.Errorf("row %d: %w", k+1, err))
			}
		}
		if a.IDs, err = data.IDMapFrom(rows); err != nil {
			return nil, bad(IDsFile, err)
		}
	}
	gb, ok := files[GroupsFile]
	if !ok { // a snapshot keeps its groups as keys, read one at a time
		return a, nil
	}
	err = EachGroup(gb, func(id data.GroupID, rec []byte) error {
		g, err := recommend.DecodeGroup(rec)
		if err != nil {
			return fmt.Errorf("group %d: %w", id, err)
		}
		a.Groups = append(a.Groups, GroupRecord{ID: id, Group: g})
		return nil
	})
	if err != nil {
		return nil, bad(GroupsFile, err)
	}
	return a, nil
}

// listedFile is the manifest's size and checksum of the file named (the
// last entry of that name), nil when it lists none.
func listedFile(m *data.ModelVersion, name string) *data.FileSum {
	var f *data.FileSum
	for k := range m.Files {
		if m.Files[k].Name == name {
			f = &m.Files[k]
		}
	}
	return f
}

// StreamGroups walks the records of dir's groups.bin in order, reading it
// through a buffer (rec is valid during its call only), and checks the
// file against m's size and checksum of it once read: fn has seen the
// artefact's records only when StreamGroups returns nil. What it holds is
// one record at a time, whatever the number of groups.
func StreamGroups(dir string, m *data.ModelVersion, fn func(id data.GroupID, rec []byte) error) error {
	p := filepath.Join(dir, GroupsFile)
	want := listedFile(m, GroupsFile)
	if want == nil {
		return fmt.Errorf("artefact %s: corrupt (%w): the manifest lists no %s", dir, data.ErrInvalid, GroupsFile)
	}
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("artefact %s: corrupt (%w): %v", dir, data.ErrInvalid, err)
	}
	defer f.Close()
	h := sha256.New()
	cr := &countingReader{r: io.TeeReader(f, h)}
	r := bufio.NewReaderSize(cr, 1<<20)
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("artefact %s: corrupt (%w): %s: %s", dir, data.ErrInvalid, p, fmt.Sprintf(format, args...))
	}
	var hdr [12]byte
	var rec []byte
	var off int64
	for {
		if _, err := io.ReadFull(r, hdr[:]); err == io.EOF {
			break
		} else if err != nil {
			return corrupt("record at byte %d: %v", off, cutShort(err))
		}
		id := data.GroupID(binary.LittleEndian.Uint64(hdr[:]))
		n := int64(binary.LittleEndian.Uint32(hdr[8:]))
		if off+12+n > want.Bytes {
			return corrupt("record of group %d at byte %d runs past the %d bytes the manifest says", id, off+12, want.Bytes)
		}
		if int64(cap(rec)) < n {
			rec = make([]byte, n)
		}
		rec = rec[:n]
		if _, err := io.ReadFull(r, rec); err != nil {
			return corrupt("record of group %d at byte %d: %v", id, off+12, cutShort(err))
		}
		if err := fn(id, rec); err != nil {
			return err
		}
		off += 12 + n
	}
	if cr.n != want.Bytes {
		return corrupt("%d bytes, the manifest says %d (truncated?)", cr.n, want.Bytes)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want.SHA256 {
		return corrupt("checksum %s, the manifest says %s", got, want.SHA256)
	}
	return nil
}

// cutShort says what a read that ended early met: the file's end (a
// truncated file) or another error, as it is.
func cutShort(err error) string {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "the file ends inside it (truncated?)"
	}
	return err.Error()
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// EachGroup walks the records of a groups.bin file in order.
func EachGroup(b []byte, fn func(id data.GroupID, rec []byte) error) error {
	for off := 0; off < len(b); {
		if len(b)-off < 12 {
			return fmt.Errorf("record at byte %d: %w", off, io.ErrUnexpectedEOF)
		}
		id := data.GroupID(binary.LittleEndian.Uint64(b[off:]))
		n := int(binary.LittleEndian.Uint32(b[off+8:]))
		off += 12
		if len(b)-off < n {
			return fmt.Errorf("record of group %d at byte %d: %w", id, off, io.ErrUnexpectedEOF)
		}
		if err := fn(id, b[off:off+n]); err != nil {
			return err
		}
		off += n
	}
	return nil
}

// prefMagic opens pref.f32's sparse layout; a file without it holds the
// first layout (a dense N x N item-item matrix).
const prefMagic = "GRPREF2\n"

// EncodePreference writes a preference model's tables, little-endian: the
// magic, the item-item matrix's rows N, its entries E and the priors' length
// P, then the N+1 row offsets (uint64), the E columns (uint32), the E weights
// and the P priors (float32).
func EncodePreference(p *recommend.Preference) []byte {
	m := p.ItemItem
	if m == nil {
		m = &recommend.ItemItem{Ptr: []int64{0}}
	}
	e := len(m.Col)
	b := make([]byte, 0, len(prefMagic)+16+8*(m.N+1)+8*e+4*len(p.Prior))
	b = append(b, prefMagic...)
	b = binary.LittleEndian.AppendUint32(b, uint32(m.N))
	b = binary.LittleEndian.AppendUint64(b, uint64(e))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(p.Prior)))
	for _, v := range m.Ptr {
		b = binary.LittleEndian.AppendUint64(b, uint64(v))
	}
	for _, c := range m.Col {
		b = binary.LittleEndian.AppendUint32(b, uint32(c))
	}
	for _, v := range [][]float32{m.W, p.Prior} {
		for _, x := range v {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
		}
	}
	return b
}

// DecodePreference reads what EncodePreference wrote (or the first, dense
// layout) for a catalogue of items items.
func DecodePreference(b []byte, items int) (*recommend.Preference, error) {
	if !bytes.HasPrefix(b, []byte(prefMagic)) {
		return decodeDensePreference(b, items)
	}
	b = b[len(prefMagic):]
	if len(b) < 16 {
		return nil, fmt.Errorf("%d bytes after the magic, want a header of 16", len(b))
	}
	n, e, np := uint64(binary.LittleEndian.Uint32(b)), binary.LittleEndian.Uint64(b[4:]), uint64(binary.LittleEndian.Uint32(b[12:]))
	if n > uint64(items) || np > uint64(items) || e > uint64(len(b)) || uint64(len(b)) != 16+8*(n+1)+8*e+4*np {
		return nil, fmt.Errorf("%d bytes for a %d-row item-item matrix of %d entries and %d priors (catalogue of %d)", len(b)+len(prefMagic), n, e, np, items)
	}
	b = b[16:]
	m := &recommend.ItemItem{N: int(n), Ptr: make([]int64, n+1), Col: make([]int32, e), W: make([]float32, e)}
	for k := range m.Ptr {
		m.Ptr[k] = int64(binary.LittleEndian.Uint64(b[8*k:]))
	}
	b = b[8*(n+1):]
	for k := range m.Col {
		m.Col[k] = int32(binary.LittleEndian.Uint32(b[4*k:]))
		m.W[k] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*(int(e)+k):]))
	}
	b = b[8*e:]
	if err := m.Check(); err != nil {
		return nil, err
	}
	p := &recommend.Preference{}
	if n > 0 {
		p.ItemItem = m
	}
	if np > 0 {
		p.Prior = make([]float32, np)
		for k := range p.Prior {
			p.Prior[k] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*k:]))
		}
	}
	return p, nil
}

// decodeDensePreference reads the first layout: a header (N, prior length),
// the N x N item-item matrix and the priors as float32; the matrix's zeros
// are not kept.
func decodeDensePreference(b []byte, items int) (*recommend.Preference, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("%d bytes, want a header of 8", len(b))
	}
	n, np := int(binary.LittleEndian.Uint32(b)), int(binary.LittleEndian.Uint32(b[4:]))
	if n > items || np > items || len(b) != 8+4*(n*n+np) {
		return nil, fmt.Errorf("%d bytes for a %d x %d matrix and %d priors (catalogue of %d)", len(b), n, n, np, items)
	}
	f := func(k int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b[8+4*k:])) }
	p := &recommend.Preference{}
	if n > 0 {
		m, err := recommend.NewItemItem(n, func(j int) ([]int32, []float32) {
			var cols []int32
			var ws []float32
			for i := range n {
				if v := f(j*n + i); v != 0 {
					cols, ws = append(cols, int32(i)), append(ws, v)
				}
			}
			return cols, ws
		})
		if err != nil {
			return nil, err
		}
		p.ItemItem = m
	}
	if np > 0 {
		p.Prior = make([]float32, np)
		for k := range p.Prior {
			p.Prior[k] = f(n*n + k)
		}
	}
	return p, nil
}

// togetherMagic opens together.bin.
const togetherMagic = "GRTOGE1\n"

// EncodeTogether writes t after togetherMagic: the item count (uint32) and
// the neighbour count (uint64), then per item its groups (int32), the
// pointers (n+1 int64), the neighbours (int32) and the groups they share
// with their item (int32); all little-endian.
func EncodeTogether(t *recommend.Together) []byte {
	n, e := len(t.Groups), len(t.Col)
	b := make([]byte, 0, len(togetherMagic)+12+4*n+8*(n+1)+8*e)
	b = append(b, togetherMagic...)
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	b = binary.LittleEndian.AppendUint64(b, uint64(e))
	for _, v := range t.Groups {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	for _, v := range t.Ptr {
		b = binary.LittleEndian.AppendUint64(b, uint64(v))
	}
	for _, v := range [][]int32{t.Col, t.Both} {
		for _, x := range v {
			b = binary.LittleEndian.AppendUint32(b, uint32(x))
		}
	}
	return b
}

// DecodeTogether reads what EncodeTogether wrote for a catalogue of items
// items, and checks it.
func DecodeTogether(b []byte, items int) (*recommend.Together, error) {
	if !bytes.HasPrefix(b, []byte(togetherMagic)) {
		return nil, fmt.Errorf("no %q at the start", strings.TrimSpace(togetherMagic))
	}
	b = b[len(togetherMagic):]
	if len(b) < 12 {
		return nil, fmt.Errorf("%d bytes after the magic, want a header of 12", len(b))
	}
	n, e := uint64(binary.LittleEndian.Uint32(b)), binary.LittleEndian.Uint64(b[4:])
	if n != uint64(items) || e > uint64(len(b)) || uint64(len(b)) != 12+4*n+8*(n+1)+8*e {
		return nil, fmt.Errorf("%d bytes for %d items and %d neighbours (catalogue of %d)", len(b)+len(togetherMagic), n, e, items)
	}
	b = b[12:]
	t := &recommend.Together{Groups: make([]int32, n), Ptr: make([]int64, n+1), Col: make([]int32, e), Both: make([]int32, e)}
	for k := range t.Groups {
		t.Groups[k] = int32(binary.LittleEndian.Uint32(b[4*k:]))
	}
	b = b[4*n:]
	for k := range t.Ptr {
		t.Ptr[k] = int64(binary.LittleEndian.Uint64(b[8*k:]))
	}
	b = b[8*(n+1):]
	for k := range t.Col {
		t.Col[k] = int32(binary.LittleEndian.Uint32(b[4*k:]))
		t.Both[k] = int32(binary.LittleEndian.Uint32(b[4*(int(e)+k):]))
	}
	if err := t.Check(); err != nil {
		return nil, err
	}
	return t, nil
}

// membersMagic opens members.bin's layout with memberships; a file without
// it holds rows alone (the first layout).
// membersMagic starts members.bin; membersMagicGroups started the layout
// before the credited part (still read).
const (
	membersMagic       = "GRMEMB3\n"
	membersMagicGroups = "GRMEMB2\n"
)

// EncodeMembers writes members in increasing id order after membersMagic:
// per member its id (int64), its row, the part of it credited to them
// (Members.Credited), its group count (uint32) and per group its id (int64)
// and the row it placed there; a row is its length (uint32) and (item
// int32, weight float32) pairs; all little-endian.
func EncodeMembers(ms *recommend.Members) []byte {
	ids := make([]data.MemberID, 0, len(ms.Rows))
	for id := range ms.Rows {
		ids = append(ids, id)
	}
	for id := range ms.In {
		if _, ok := ms.Rows[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	b := NewMembersFile()
	for _, id := range ids {
		b = AppendMember(b, id, ms.Rows[id], ms.Credited[id], ms.In[id])
	}
	return b
}

// NewMembersFile is the start of members.bin, to which AppendMember adds
// each member in increasing id order (EncodeMembers' layout).
func NewMembersFile() []byte { return []byte(membersMagic) }

// AppendMember appends member id's record to a members.bin begun by
// NewMembersFile: its row, the part of it credited to them, and the groups
// it is in, with what it placed in each.
func AppendMember(b []byte, id data.MemberID, row, credited []features.Weighted, in []recommend.MemberOf) []byte {
	appendRow := func(b []byte, r []features.Weighted) []byte {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(r)))
		for _, w := range r {
			b = binary.LittleEndian.AppendUint32(b, uint32(w.ID))
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(w.Weight))
		}
		return b
	}
	b = binary.LittleEndian.AppendUint64(b, uint64(id))
	b = appendRow(b, row)
	b = appendRow(b, credited)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(in)))
	for _, g := range in {
		b = binary.LittleEndian.AppendUint64(b, uint64(g.Group))
		b = appendRow(b, g.Placed)
	}
	return b
}

// DecodeMembers reads what EncodeMembers wrote (or the earlier layouts:
// without the credited part, or rows alone) for a catalogue of items items.
func DecodeMembers(b []byte, items int) (*recommend.Members, error) {
	hasMagic := func(m string) bool { return len(b) >= len(m) && string(b[:len(m)]) == m }
	withCredit := hasMagic(membersMagic)
	withGroups := withCredit || hasMagic(membersMagicGroups)
	off := 0
	if withGroups {
		off = len(membersMagic)
	}
	u64 := func(what string) (uint64, error) {
		if len(b)-off < 8 {
			return 0, fmt.Errorf("%s at byte %d: %w", what, off, io.ErrUnexpectedEOF)
		}
		off += 8
		return binary.LittleEndian.Uint64(b[off-8:]), nil
	}
	u32 := func(what string) (int, error) {
		if len(b)-off < 4 {
			return 0, fmt.Errorf("%s at byte %d: %w", what, off, io.ErrUnexpectedEOF)
		}
		off += 4
		return int(binary.LittleEndian.Uint32(b[off-4:])), nil
	}
	row := func(what string) ([]features.Weighted, error) {
		n, err := u32(what)
		if err != nil {
			return nil, err
		}
		if (len(b)-off)/8 < n {
			return nil, fmt.Errorf("%s at byte %d: %w", what, off, io.ErrUnexpectedEOF)
		}
		r := make([]features.Weighted, n)
		for k := range r {
			r[k] = features.Weighted{ID: int32(binary.LittleEndian.Uint32(b[off:])), Weight: math.Float32frombits(binary.LittleEndian.Uint32(b[off+4:]))}
			if r[k].ID < 0 || int(r[k].ID) >= items {
				return nil, fmt.Errorf("%s: item %d outside the catalogue of %d", what, r[k].ID, items)
			}
			off += 8
		}
		return r, nil
	}
	rows, credited := map[data.MemberID][]features.Weighted{}, map[data.MemberID][]features.Weighted{}
	in := map[data.MemberID][]recommend.MemberOf{}
	for off < len(b) {
		v, err := u64("member id")
		if err != nil {
			return nil, err
		}
		id := data.MemberID(v)
		what := fmt.Sprintf("row of member %d", id)
		r, err := row(what)
		if err != nil {
			return nil, err
		}
		if len(r) > 0 {
			rows[id] = r
		}
		if withCredit {
			c, err := row(fmt.Sprintf("credited part of member %d's row", id))
			if err != nil {
				return nil, err
			}
			if len(c) > 0 {
				credited[id] = c
			}
		}
		if !withGroups {
			continue
		}
		n, err := u32("group count of member " + strconv.FormatInt(int64(id), 10))
		if err != nil {
			return nil, err
		}
		if (len(b)-off)/12 < n {
			return nil, fmt.Errorf("groups of member %d at byte %d: %w", id, off, io.ErrUnexpectedEOF)
		}
		for range n {
			g, err := u64("group of member " + strconv.FormatInt(int64(id), 10))
			if err != nil {
				return nil, err
			}
			p, err := row(what)
			if err != nil {
				return nil, err
			}
			in[id] = append(in[id], recommend.MemberOf{Group: data.GroupID(g), Placed: p})
		}
	}
	ms := recommend.NewMembers(rows, in)
	if len(credited) > 0 {
		ms.Credited = credited
	}
	return ms, nil
}

// jsonSafe is v with its non-finite numbers as null (data.JSONSafe).
func jsonSafe(v any) any { s, _ := data.JSONSafe(v); return s }
