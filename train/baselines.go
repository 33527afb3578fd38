package train

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"sync"

	"github.com/viterin/vek/vek32"

	"grouprank/data"
	"grouprank/features"
	"grouprank/recommend"
)

// Inputs are what the methods are built from, all as of the split instant.
type Inputs struct {
	Cat      *features.Catalog
	Groups   *features.Groups
	Profiles *features.Profiles
	Stats    *features.ItemStats
	History  *Interactions // groups x items, weighted orders
	ALS      *ALS          // nil: no iALS or blend
	// ItemKNN, when not nil, is item-knn's neighbours (NewItemKNNParts);
	// nil: Methods finds them in History.
	ItemKNN *ItemKNN
}

// ItemKNNNeighbours is how many neighbours item-knn keeps per item.
const ItemKNNNeighbours = 50

// MethodNames lists every method Methods can build, in report order.
var MethodNames = []string{"popular", "popular-cell", "practice", "item-knn", "ials", "profile", "blend"}

// Methods builds the named methods (all of MethodNames when names is empty).
func Methods(in *Inputs, names []string) ([]Method, error) {
	if len(names) == 0 {
		names = MethodNames
	}
	I := in.Cat.Len()
	var out []Method
	profile := recommend.NewProfileModel(in.Cat, in.Stats)
	var knn *ItemKNN
	for _, n := range names {
		var s Scorer
		switch n {
		case "popular":
			s = ScorerFunc(func(_ int32, dst []float32) { copy(dst, in.Stats.Pop) })
		case "popular-cell":
			s = ScorerFunc(func(g int32, dst []float32) {
				c := features.CellOf(in.Groups.Channel[g], in.Groups.Tier[g])
				cell := in.Stats.PopCell[c*I : (c+1)*I]
				for i := range dst {
					dst[i] = cell[i] + 1e-3*in.Stats.Pop[i] // cell first, overall popularity breaks ties
				}
			})
		case "practice":
			prac := make([]float32, I)
			for i := range prac {
				prac[i] = float32(data.PracticeScore(&in.Cat.Products[i]))
			}
			s = ScorerFunc(func(_ int32, dst []float32) { copy(dst, prac) })
		case "item-knn":
			if knn = in.ItemKNN; knn == nil {
				knn = NewItemKNN(in.History, ItemKNNNeighbours)
			}
			s = ScorerFunc(func(g int32, dst []float32) { knn.Score(in.History, g, in.Stats.Pop, dst) })
		case "ials":
			if in.ALS == nil {
				return nil, errNoALS(n)
			}
			s = ScorerFunc(func(g int32, dst []float32) { alsScore(in, g, dst) })
		case "profile":
			s = ScorerFunc(func(g int32, dst []float32) { profile.Score(in.Profiles, g, dst) })
		case "blend":
			if in.ALS == nil {
				return nil, errNoALS(n)
			}
			s = ScorerFunc(func(g int32, dst []float32) { blendScore(in, profile, g, dst) })
		default:
			return nil, &UnknownMethodError{n}
		}
		out = append(out, Method{Name: n, Scorer: s})
	}
	return out, nil
}

// UnknownMethodError names a method Methods cannot build.
type UnknownMethodError struct{ Name string }

func (e *UnknownMethodError) Error() string {
	return "train: unknown method " + e.Name + " (want one of popular, popular-cell, practice, item-knn, ials, profile, blend)"
}

type noALSError string

func (e noALSError) Error() string {
	return "train: method " + string(e) + " needs a trained iALS model"
}

func errNoALS(n string) error { return noALSError(n) }

// alsScore is the dot product of the group's vector with every item's; groups
// without history (zero vector) fall back to overall popularity.
func alsScore(in *Inputs, g int32, dst []float32) {
	f := in.ALS.Items
	if int(g) >= in.ALS.Groups.Rows() || vek32.Norm(in.ALS.Groups.Row(int(g))) == 0 {
		copy(dst, in.Stats.Pop)
		return
	}
	f.DotInto(dst, in.ALS.Groups.Row(int(g)), nil)
}

// blendScore fuses the iALS and profile rankings by reciprocal rank
// (Cormack et al. 2009): an item scores sum over the two methods of
// 1/(60 + rank) within each method's top 200, so neither score's scale
// dominates; the standardised log profile score, scaled far below, orders the
// rest. Groups without history get the profile ranking.
func blendScore(in *Inputs, profile *recommend.ProfileModel, g int32, dst []float32) {
	const depth, k0 = 200, 60
	prof := make([]float32, len(dst))
	profile.Score(in.Profiles, g, prof)
	for i, v := range prof {
		prof[i] = float32(math.Log(float64(v) + 1e-12))
	}
	standardise(prof, in.Cat.Eligible)
	hist, _ := in.History.Row(int(g))
	if len(hist) == 0 {
		copy(dst, prof)
		return
	}
	als := make([]float32, len(dst))
	alsScore(in, g, als)
	topP := topK(scores32(prof), in.Cat.Eligible, depth, nil)
	topA := topK(scores32(als), in.Cat.Eligible, depth, nil)
	for i := range dst {
		dst[i] = 1e-6 * prof[i]
	}
	for r, i := range topP {
		dst[i] += 1 / float32(k0+r+1)
	}
	for r, i := range topA {
		dst[i] += 1 / float32(k0+r+1)
	}
}

func standardise(x []float32, over []bool) {
	var s, ss, n float64
	for i, v := range x {
		if over[i] {
			s += float64(v)
			ss += float64(v) * float64(v)
			n++
		}
	}
	if n == 0 {
		return
	}
	m := s / n
	sd := math.Sqrt(math.Max(ss/n-m*m, 1e-12))
	for i := range x {
		x[i] = float32((float64(x[i]) - m) / sd)
	}
}

// ItemKNN keeps each item's nearest items by cosine over the groups that ordered them.
type ItemKNN struct {
	nbr [][]neighbour
}

type neighbour struct {
	item int32
	sim  float32
}

// NewItemKNN finds each item's k nearest items in the history h (groups x items).
func NewItemKNN(h *Interactions, k int) *ItemKNN {
	t := h.Transpose() // items x groups
	norm := make([]float32, t.Rows)
	for i := range t.Rows {
		c, _ := t.Row(i)
		norm[i] = float32(math.Sqrt(float64(len(c))))
	}
	knn := &ItemKNN{nbr: make([][]neighbour, t.Rows)}
	co := make([]float32, t.Rows)
	for i := range t.Rows {
		groups, _ := t.Row(i)
		knn.nbr[i] = nearest(i, groups, func(g int32) []int32 { items, _ := h.Row(int(g)); return items }, norm, co, k)
	}
	return knn
}

// nearest is item i's k nearest items by cosine: its co-occurrences with
// each other item over the rows groups (each a set of items, rowOf),
// over the norms' product. The co-occurrences are whole counts, so the
// rows can come in any order; co is zero, and left so.
func nearest(i int, groups []int32, rowOf func(g int32) []int32, norm, co []float32, k int) []neighbour {
	var touched []int32
	for _, g := range groups {
		for _, j := range rowOf(g) {
			if int(j) == i {
				continue
			}
			if co[j] == 0 {
				touched = append(touched, j)
			}
			co[j]++
		}
	}
	ns := make([]neighbour, 0, len(touched))
	for _, j := range touched {
		ns = append(ns, neighbour{j, co[j] / (norm[i] * norm[j])})
		co[j] = 0
	}
	sort.Slice(ns, func(a, b int) bool {
		if ns[a].sim != ns[b].sim {
			return ns[a].sim > ns[b].sim
		}
		return ns[a].item < ns[b].item
	})
	if len(ns) > k {
		ns = ns[:k]
	}
	return ns
}

// NewItemKNNParts is NewItemKNN for part sh of a sharded job, h holding
// the part's groups' rows: the same neighbours, with every part's groups.
// Item i's neighbours are found by part i mod n, from the rows of every
// group that ordered one of its items (which the parts send it: as much as
// the whole history at worst, held while they are counted), then every
// part gets every item's.
func NewItemKNNParts(ctx context.Context, sh *Shard, h *Interactions, k int) (*ItemKNN, error) {
	me, n := sh.Ex.Part()
	I := h.Cols
	count := make([]int64, I) // the groups that ordered each item (a row's items are distinct)
	for _, c := range h.Col {
		count[c]++
	}
	if err := sh.Parts.AddInts(count); err != nil {
		return nil, err
	}
	norm := make([]float32, I)
	for i, c := range count {
		norm[i] = float32(math.Sqrt(float64(c)))
	}
	// The rows this part counts: its own and the others', those holding
	// one of its items.
	var ptr = []int64{0}
	var cols []int32
	has := func(items []int32, p int) bool {
		return slices.ContainsFunc(items, func(c int32) bool { return int(c)%n == p })
	}
	for g := range h.Rows {
		if items, _ := h.Row(g); has(items, me) {
			cols = append(cols, items...)
			ptr = append(ptr, int64(len(cols)))
		}
	}
	var buf []byte
	err := sh.Ex.AllToAll(ctx, sh.step("item-knn-rows"), func(dst int, w io.Writer) error {
		bw := bufio.NewWriter(w)
		for g := range h.Rows {
			items, _ := h.Row(g)
			if !has(items, dst) {
				continue
			}
			buf = binary.AppendUvarint(buf[:0], uint64(len(items)))
			for _, c := range items {
				buf = binary.LittleEndian.AppendUint32(buf, uint32(c))
			}
			if _, err := bw.Write(buf); err != nil {
				return err
			}
		}
		return bw.Flush()
	}, func(src int, r io.Reader) error {
		br := byteReader(r)
		for {
			cnt, err := binary.ReadUvarint(br)
			if err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			if cnt > uint64(I) {
				return fmt.Errorf("item-knn: a row of %d items from part %d, of %d items", cnt, src, I)
			}
			b := make([]byte, 4*cnt)
			if _, err := io.ReadFull(br, b); err != nil {
				return fmt.Errorf("item-knn: part %d's rows: %w", src, err)
			}
			for j := range int(cnt) {
				c := int32(binary.LittleEndian.Uint32(b[4*j:]))
				if c < 0 || int(c) >= I {
					return fmt.Errorf("item-knn: item %d from part %d, of %d items", c, src, I)
				}
				cols = append(cols, c)
			}
			ptr = append(ptr, int64(len(cols)))
		}
	})
	if err != nil {
		return nil, err
	}
	rows := &Interactions{Rows: len(ptr) - 1, Cols: I, Ptr: ptr, Col: cols, W: make([]float32, len(cols))}
	t := rows.Transpose()
	knn := &ItemKNN{nbr: make([][]neighbour, I)}
	co := make([]float32, I)
	for i := me; i < I; i += n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		groups, _ := t.Row(i)
		knn.nbr[i] = nearest(i, groups, func(g int32) []int32 { items, _ := rows.Row(int(g)); return items }, norm, co, k)
	}
	t, rows = nil, nil
	err = sh.Ex.AllGather(ctx, sh.step("item-knn-neighbours"), func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		for i := me; i < I; i += n {
			buf = binary.AppendUvarint(buf[:0], uint64(len(knn.nbr[i])))
			for _, nb := range knn.nbr[i] {
				buf = binary.LittleEndian.AppendUint32(buf, uint32(nb.item))
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(nb.sim))
			}
			if _, err := bw.Write(buf); err != nil {
				return err
			}
		}
		return bw.Flush()
	}, func(src int, r io.Reader) error {
		br := byteReader(r)
		for i := src; i < I; i += n {
			cnt, err := binary.ReadUvarint(br)
			if err != nil {
				return fmt.Errorf("item-knn: part %d's neighbours of item %d: %w", src, i, err)
			}
			if cnt > uint64(k) {
				return fmt.Errorf("item-knn: %d neighbours of item %d from part %d, more than %d", cnt, i, src, k)
			}
			b := make([]byte, 8*cnt)
			if _, err := io.ReadFull(br, b); err != nil {
				return fmt.Errorf("item-knn: part %d's neighbours of item %d: %w", src, i, err)
			}
			ns := make([]neighbour, cnt)
			for j := range ns {
				ns[j] = neighbour{int32(binary.LittleEndian.Uint32(b[8*j:])), math.Float32frombits(binary.LittleEndian.Uint32(b[8*j+4:]))}
				if ns[j].item < 0 || int(ns[j].item) >= I {
					return fmt.Errorf("item-knn: neighbour %d of item %d from part %d, of %d items", ns[j].item, i, src, I)
				}
			}
			knn.nbr[i] = ns
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return knn, nil
}

// Score sums, over the group's past items, their neighbours' similarities;
// popularity, scaled far below, breaks ties (and ranks cold groups).
func (k *ItemKNN) Score(h *Interactions, g int32, pop []float32, dst []float32) {
	vek32.MulNumber_Into(dst[:0], pop, 1e-6/(vek32.Max(pop)+1))
	if int(g) >= h.Rows {
		return
	}
	items, _ := h.Row(int(g))
	for _, j := range items {
		for _, n := range k.nbr[j] {
			dst[n.item] += n.sim
		}
	}
}

// ALSScorer scores with a fitted model; rows without history fall back to fallback.
func ALSScorer(m *ALS, fallback []float32) Scorer {
	return ScorerFunc(func(g int32, dst []float32) {
		if int(g) >= m.Groups.Rows() || vek32.Norm(m.Groups.Row(int(g))) == 0 {
			copy(dst, fallback)
			return
		}
		m.Items.DotInto(dst, m.Groups.Row(int(g)), nil)
	})
}

// Static scores every group alike (a popularity list): RankFusion ranks it once.
type Static []float32

// Score copies the scores.
func (s Static) Score(_ int32, dst []float32) { copy(dst, s) }

// RankFusion fuses scorers by reciprocal rank over each one's top depth items:
// an item scores sum 1/(60 + rank); the first scorer, scaled far below, orders the rest.
func RankFusion(depth int, scorers ...Scorer) Scorer {
	type buffers struct {
		all        []bool
		tmp, fused []float32
	}
	var pool sync.Pool
	static := make([][]int32, len(scorers)) // the top depth of each Static scorer, ranked once
	for n, s := range scorers {
		if st, ok := s.(Static); ok {
			all := make([]bool, len(st))
			for i := range all {
				all[i] = true
			}
			static[n] = topK(scores32(st), all, depth, nil)
		}
	}
	return ScorerFunc(func(g int32, dst []float32) {
		b, _ := pool.Get().(*buffers)
		if b == nil || len(b.all) != len(dst) {
			b = &buffers{all: make([]bool, len(dst)), tmp: make([]float32, len(dst)), fused: make([]float32, len(dst))}
			for i := range b.all {
				b.all[i] = true
			}
		}
		defer pool.Put(b)
		tmp, fused := b.tmp, b.fused
		for n, s := range scorers {
			_, isStatic := s.(Static)
			if n == 0 || !isStatic {
				s.Score(g, tmp)
			}
			if n == 0 {
				vek32.MulNumber_Into(fused[:0], tmp, 1e-6/(AbsMax(tmp)+1e-12))
			}
			top := static[n]
			if !isStatic {
				top = topK(scores32(tmp), b.all, depth, nil)
			}
			for r, i := range top {
				fused[i] += 1 / float32(60+r+1)
			}
		}
		copy(dst, fused)
	})
}

// Shared computes a scorer's scores once per group for uses consumers (the
// methods built on it, each asking once for every evaluated group), which
// share them; a group's entry is dropped after its last use.
func Shared(s Scorer, uses int) Scorer {
	type entry struct {
		once   sync.Once
		scores []float32
		left   int
	}
	var mu sync.Mutex
	m := map[int32]*entry{}
	return ScorerFunc(func(g int32, dst []float32) {
		mu.Lock()
		e := m[g]
		if e == nil {
			e = &entry{left: uses}
			m[g] = e
		}
		e.left--
		if e.left <= 0 {
			delete(m, g)
		}
		mu.Unlock()
		e.once.Do(func() {
			e.scores = make([]float32, len(dst))
			s.Score(g, e.scores)
		})
		copy(dst, e.scores)
	})
}

// AbsMax is the largest absolute value of x (0 when empty).
func AbsMax(x []float32) float32 {
	if len(x) == 0 {
		return 0
	}
	return max(vek32.Max(x), -vek32.Min(x), 0)
}
