package train

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/viterin/vek/vek32"

	"grouprank/data"
)

// BeiBeiMethods are the methods the BeiBei protocol compares; the profile
// model needs categories and prices, which BeiBei lacks.
var BeiBeiMethods = []string{"success-popular", "launch-popular", "pop-mix", "item-knn", "ials", "pop+ials", "social", "blend"}

// BeiBei is an import of the BeiBei group-buying set (data/importer) as flat
// per-user lists, and the methods its protocol compares (cmd's eval beibei
// and tune beibei).
type BeiBei struct {
	Users, Items int
	Launches     []BeiBeiLaunch // history
	Test         []Target       // test launches whose initiator has any history (the protocol's targets)
	HasHistory   []bool
	Seen         [][]int32 // per user: items in its group's history (sorted)
	Friends      [][]int32 // per user: its group's members and the initiators whose buys it joined
}

type BeiBeiLaunch struct {
	User, Item, Buyer int32 // Buyer -1: a failed launch
}

// NewBeiBei indexes an import of BeiBei (import beibei): the history's
// launches (pushes; the successful ones carry an order, bought by the
// launch's first participant), its memberships and the test launches; user
// u is group and member u+1, item j is SKU j+1. Test launches whose
// initiator has no history are left out, as the protocol says.
func NewBeiBei(items int, pushes []data.Push, orders []data.Order, members []data.Membership, test []data.Push) (*BeiBei, error) {
	if len(pushes) == 0 {
		return nil, fmt.Errorf("beibei: no launches in the history")
	}
	b := &BeiBei{Items: items}
	for _, m := range members {
		b.Users = max(b.Users, int(m.Group), int(m.Member))
	}
	for _, p := range append(pushes, test...) {
		b.Users = max(b.Users, int(p.Group))
		if int(p.SKU) < 1 || int(p.SKU) > b.Items {
			return nil, fmt.Errorf("push %d: sku %d outside the %d products", p.ID, p.SKU, b.Items)
		}
	}
	buyer := map[data.PushID]int32{}
	for _, o := range orders {
		buyer[o.Push] = int32(o.Buyer) - 1
	}
	b.HasHistory = make([]bool, b.Users)
	b.Friends = make([][]int32, b.Users)
	for _, m := range members {
		g, u := int32(m.Group-1), int32(m.Member-1)
		b.HasHistory[g] = true
		b.HasHistory[u] = true
		if g != u {
			b.Friends[g] = append(b.Friends[g], u)
			b.Friends[u] = append(b.Friends[u], g)
		}
	}
	seen := make([][]int32, b.Users)
	for _, p := range pushes {
		l := BeiBeiLaunch{User: int32(p.Group) - 1, Item: int32(p.SKU) - 1, Buyer: -1}
		if by, ok := buyer[p.ID]; ok {
			l.Buyer = by
			seen[by] = append(seen[by], l.Item)
		}
		b.Launches = append(b.Launches, l)
		seen[l.User] = append(seen[l.User], l.Item)
	}
	for u := range seen {
		slices.Sort(seen[u])
		seen[u] = slices.Compact(seen[u])
	}
	b.Seen = seen
	for _, p := range test {
		u := int32(p.Group) - 1
		if b.HasHistory[u] {
			b.Test = append(b.Test, Target{Group: u, Item: int32(p.SKU) - 1})
		}
	}
	// in group and item order, so that the bootstrap's resamples depend on
	// the launches the files hold, not on their order
	slices.SortStableFunc(b.Test, func(x, y Target) int { return cmp.Or(cmp.Compare(x.Group, y.Group), cmp.Compare(x.Item, y.Item)) })
	return b, nil
}

// matrix is users x Items: a successful launch weighs 1, a failed one
// failW, joining a buy joinW (to the joiner's own row).
func (b *BeiBei) Matrix(failW, joinW float32) *Interactions {
	var r, c []int32
	var w []float32
	for _, l := range b.Launches {
		r, c = append(r, l.User), append(c, l.Item)
		if l.Buyer < 0 {
			w = append(w, failW)
			continue
		}
		w = append(w, 1)
		if l.Buyer != l.User {
			r, c, w = append(r, l.Buyer), append(c, l.Item), append(w, joinW)
		}
	}
	return NewInteractions(b.Users, b.Items, r, c, w)
}

// Methods are the methods keep admits; the iALS scores are computed once
// per group for all that read them.
func (b *BeiBei) Methods(m *Interactions, model *ALS, socialW float32, mixBeta float64, ialsW float32, keep func(string) bool) []Method {
	succ, all := make([]float32, b.Items), make([]float32, b.Items)
	for _, l := range b.Launches {
		all[l.Item]++
		if l.Buyer >= 0 {
			succ[l.Item]++
		}
	}
	pop := func(p []float32) Scorer { return Static(p) }
	knn := NewItemKNN(m, ItemKNNNeighbours)
	var ials Scorer = ScorerFunc(func(_ int32, dst []float32) { copy(dst, succ) })
	if model != nil {
		readers := 0
		for _, n := range []string{"ials", "pop+ials", "blend"} {
			if keep(n) {
				readers++
			}
		}
		ials = Shared(ALSScorer(model, succ), readers)
	}
	var mx float32
	for _, v := range succ {
		mx = max(mx, v)
	}
	succScaled := make([]float32, len(succ))
	vek32.MulNumber_Into(succScaled[:0], succ, 1/mx)
	// social: success-popularity (scaled to 1 at the top) plus socialW times
	// what the group's friends launched and joined (their history rows).
	social := ScorerFunc(func(g int32, dst []float32) {
		copy(dst, succScaled)
		for _, f := range b.Friends[g] {
			cols, ws := m.Row(int(f))
			for n, i := range cols {
				dst[i] += socialW * ws[n]
			}
		}
	})
	return slices.DeleteFunc([]Method{
		{Name: "success-popular", Scorer: pop(succ)},
		{Name: "launch-popular", Scorer: pop(all)},
		{Name: "pop-mix", Scorer: pop(PopMix(succ, all, mixBeta))},
		{Name: "item-knn", Scorer: ScorerFunc(func(g int32, dst []float32) { knn.Score(m, g, succ, dst) })},
		{Name: "ials", Scorer: ials},
		{Name: "pop+ials", Scorer: ScorerFunc(func(g int32, dst []float32) {
			ials.Score(g, dst)
			vek32.MulNumber_Inplace(dst, ialsW/(AbsMax(dst)+1e-12))
			vek32.Add_Inplace(dst, succScaled)
		})},
		{Name: "social", Scorer: social},
		{Name: "blend", Scorer: RankFusion(200, social, ials, pop(succ))},
	}, func(x Method) bool { return !keep(x.Name) })
}

// HoldOut returns a copy of the history in which a seeded share of the
// initiators with a successful launch lose one of them (and its join) to
// become validation targets; the real test rows are dropped. Memberships other
// than the held-out launch's first participant stay (the import keeps no
// finer link), a small leak that only helps the social method.
func (b *BeiBei) HoldOut(share float64, seed uint64) *BeiBei {
	r := rand.New(rand.NewPCG(seed, 0x7e57))
	first := map[int32]int{} // initiator -> index of its first successful launch
	var initiators []int32
	for n, l := range b.Launches {
		if l.Buyer >= 0 {
			if _, ok := first[l.User]; !ok {
				first[l.User] = n
				initiators = append(initiators, l.User)
			}
		}
	}
	held := map[int]bool{}
	for _, u := range initiators {
		if r.Float64() < share {
			held[first[u]] = true
		}
	}
	v := &BeiBei{Users: b.Users, Items: b.Items, HasHistory: make([]bool, b.Users), Seen: make([][]int32, b.Users), Friends: make([][]int32, b.Users)}
	removed := map[[2]int32]bool{}
	for n, l := range b.Launches {
		if held[n] {
			removed[[2]int32{l.User, l.Buyer}] = true
			continue
		}
		v.Launches = append(v.Launches, l)
		v.HasHistory[l.User] = true
		v.Seen[l.User] = append(v.Seen[l.User], l.Item)
		if l.Buyer >= 0 {
			v.HasHistory[l.Buyer] = true
			v.Seen[l.Buyer] = append(v.Seen[l.Buyer], l.Item)
		}
	}
	for u, fs := range b.Friends {
		for _, f := range fs {
			if removed[[2]int32{int32(u), f}] || removed[[2]int32{f, int32(u)}] {
				continue
			}
			v.Friends[u] = append(v.Friends[u], f)
		}
	}
	for u := range v.Seen {
		slices.Sort(v.Seen[u])
		v.Seen[u] = slices.Compact(v.Seen[u])
	}
	for n, l := range b.Launches {
		if held[n] && (v.HasHistory[l.User] || len(v.Friends[l.User]) > 0) && !slices.Contains(v.Seen[l.User], l.Item) {
			v.Test = append(v.Test, Target{Group: l.User, Item: l.Item})
		}
	}
	return v
}

// PopMix is log(successes+1) + beta log(launches+1): what converts, nudged by
// what initiators choose to launch.
func PopMix(succ, all []float32, beta float64) []float32 {
	out := make([]float32, len(succ))
	for i := range out {
		out[i] = float32(math.Log1p(float64(succ[i])) + beta*math.Log1p(float64(all[i])))
	}
	return out
}
