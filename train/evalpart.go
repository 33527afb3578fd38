package train

import (
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// EvalPartFormat names the layout of an EvalPart file.
const EvalPartFormat = "grouprank eval part 1"

// ErrEvalParts: the parts given to MergeEval do not make one evaluation.
var ErrEvalParts = errors.New("the parts do not make one evaluation")

// EvalPart is one shard's share of an evaluation (EvaluatePart): the
// metrics of the groups it ranked, and what every part of the same
// evaluation must agree on, so that MergeEval can check the parts and sum
// them, in group order, into the report one unsharded Evaluate gives.
type EvalPart struct {
	Format        string
	Shard, Shards int
	// Context is the caller's description of the evaluation (its data and
	// settings): parts whose contexts differ are not merged.
	Context  string
	Facts    evalFacts
	Eval     []int32 // the groups with targets, ascending (every part holds the whole plan)
	Work     []int32 // every group some part ranks, ascending
	Eligible int
	Groups   []int32     // the groups of Work this part ranked, ascending
	Metrics  []groupEval // per group of Groups, per method
	Best     [][3]float64
	TruthAUC []float64
	Coverage [][]uint64 // per method and K (method*len(Ks)+k): a bitset of the items some top K of this part held
	// Pref is, for an evaluation of the preference models (a world without
	// pushes or times), its whole report as JSON, which every part holds
	// (the parts search and rank together); the fields above are then
	// empty but the shard, shards and context. PrefTable is its Markdown.
	Pref      []byte
	PrefTable string
	// BeiBei is, for an evaluation on BeiBei's protocol (eval beibei), its
	// whole table, which every part holds (the parts rank their groups'
	// targets and join the figures); the fields above are then empty but the
	// shard, shards and context.
	BeiBei string
}

// EvaluatePart ranks the groups of d, part sh of a sharded evaluation, as
// Evaluate would rank them among every part's groups, and returns their
// metrics. d holds the part's groups (d.Groups, in id order, among
// sh.IDs), their targets and history, and those of the oracle's groups
// that are theirs (d.OracleGroups: the sample of every part's groups the
// whole evaluation would draw). What a group's metrics depend on beyond
// its own data (the AUC sample, drawn from every part's evaluated groups)
// is gathered through sh, so the parts merge into the report Evaluate
// gives on the whole, however the groups are split.
func EvaluatePart(ctx context.Context, d *EvalData, methods []Method, workers int, progress func(done, total int),
	sh *Shard, context string) (*EvalPart, error) {
	shard, shards := sh.Ex.Part()
	global, err := sh.Global(d.Groups.IDs)
	if err != nil {
		return nil, err
	}
	toGlobal := func(gs []int32) []int32 {
		out := make([]int32, len(gs))
		for n, g := range gs {
			out[n] = global[g]
		}
		return out
	}
	p, err := planTargets(d)
	if err != nil {
		return nil, err
	}
	allEval, err := sh.Union(ctx, "eval-groups", toGlobal(p.eval))
	if err != nil {
		return nil, err
	}
	if len(allEval) == 0 {
		return nil, errNoTestOrder
	}
	for _, g := range aucSample(d, allEval) {
		if l, ok := slices.BinarySearch(global, g); ok {
			p.aucSet[int32(l)] = true
		}
	}
	oracle := slices.Sorted(slices.Values(d.OracleGroups))
	allOracle, err := sh.Union(ctx, "oracle-groups", toGlobal(oracle))
	if err != nil {
		return nil, err
	}
	if d.Oracle != nil {
		for _, g := range oracle {
			p.oracleSet[g] = true
		}
	}
	work := slices.Compact(slices.Sorted(slices.Values(slices.Concat(p.eval, oracle))))
	allWork := slices.Compact(slices.Sorted(slices.Values(slices.Concat(allEval, allOracle))))
	w, err := p.rank(ctx, d, methods, work, workers, progress)
	if err != nil {
		return nil, err
	}
	facts := p.facts(d, methods)
	facts.OracleGroups = len(allOracle)
	part := &EvalPart{Format: EvalPartFormat, Shard: shard, Shards: shards, Context: context, Facts: facts,
		Eval: allEval, Work: allWork, Eligible: p.eligible, Groups: toGlobal(work), Metrics: w.per, Best: w.best, TruthAUC: w.truthAUC}
	for m := range w.seen {
		for k := range Ks {
			bits := make([]uint64, (len(w.seen[m][k])+63)/64)
			for i, x := range w.seen[m][k] {
				if x {
					bits[i/64] |= 1 << (i % 64)
				}
			}
			part.Coverage = append(part.Coverage, bits)
		}
	}
	return part, nil
}

// MergeEval checks that parts are every part of one evaluation, each once,
// and sums them into its report: the same as Evaluate's, whatever the number
// of parts.
func MergeEval(parts []*EvalPart) (*Report, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("no part: %w", ErrEvalParts)
	}
	first := parts[0]
	have := make([]bool, first.Shards)
	for n, pt := range parts {
		switch {
		case pt.Format != EvalPartFormat:
			return nil, fmt.Errorf("part %d is %q, not %q: %w", n+1, pt.Format, EvalPartFormat, ErrEvalParts)
		case pt.Pref != nil:
			return nil, fmt.Errorf("part %d holds an evaluation of the preference models, not of the conversion model: %w", n+1, ErrEvalParts)
		case pt.Shards != first.Shards:
			return nil, fmt.Errorf("part %d is one of %d parts, part 1 one of %d: %w", n+1, pt.Shards, first.Shards, ErrEvalParts)
		case pt.Shard < 0 || pt.Shard >= pt.Shards:
			return nil, fmt.Errorf("part %d claims to be part %d of %d: %w", n+1, pt.Shard, pt.Shards, ErrEvalParts)
		case have[pt.Shard]:
			return nil, fmt.Errorf("shard %d/%d is given twice: %w", pt.Shard, pt.Shards, ErrEvalParts)
		case pt.Context != first.Context:
			return nil, fmt.Errorf("part %d (shard %d/%d) evaluated %q, part 1 %q: %w", n+1, pt.Shard, pt.Shards, pt.Context, first.Context, ErrEvalParts)
		case !slices.Equal(pt.Facts.Methods, first.Facts.Methods) || pt.Facts.Items != first.Facts.Items ||
			pt.Facts.HasOracle != first.Facts.HasOracle || pt.Facts.OracleGroups != first.Facts.OracleGroups ||
			pt.Eligible != first.Eligible || !slices.Equal(pt.Eval, first.Eval) || !slices.Equal(pt.Work, first.Work):
			return nil, fmt.Errorf("part %d (shard %d/%d) was planned on other data or methods than part 1: %w", n+1, pt.Shard, pt.Shards, ErrEvalParts)
		case len(pt.Metrics) != len(pt.Groups)*len(pt.Facts.Methods) || len(pt.Best) != len(pt.Groups) ||
			len(pt.TruthAUC) != len(pt.Groups) || len(pt.Coverage) != len(pt.Facts.Methods)*len(Ks):
			return nil, fmt.Errorf("part %d (shard %d/%d) is inconsistent: %w", n+1, pt.Shard, pt.Shards, ErrEvalParts)
		}
		have[pt.Shard] = true
	}
	for s, ok := range have {
		if !ok {
			return nil, fmt.Errorf("shard %d/%d is missing: %w", s, first.Shards, ErrEvalParts)
		}
	}
	p := &evalPlan{eval: first.Eval, work: first.Work, eligible: first.Eligible, evalIndex: make(map[int32]int, len(first.Eval))}
	for n, g := range p.eval {
		p.evalIndex[g] = n
	}
	M, I := len(first.Facts.Methods), first.Facts.Items
	w := &evalWork{per: make([]groupEval, len(p.work)*M), best: make([][3]float64, len(p.work)),
		truthAUC: make([]float64, len(p.work)), seen: make([][3][]bool, M)}
	filled := make([]bool, len(p.work))
	for _, pt := range parts {
		for j, g := range pt.Groups {
			n, ok := slices.BinarySearch(p.work, g)
			if !ok {
				return nil, fmt.Errorf("shard %d/%d ranked group %d, which the evaluation does not hold: %w", pt.Shard, pt.Shards, g, ErrEvalParts)
			}
			if filled[n] {
				return nil, fmt.Errorf("group %d is in two parts: %w", g, ErrEvalParts)
			}
			filled[n] = true
			copy(w.per[n*M:(n+1)*M], pt.Metrics[j*M:(j+1)*M])
			w.best[n], w.truthAUC[n] = pt.Best[j], pt.TruthAUC[j]
		}
	}
	if missing := len(filled) - len(slices.DeleteFunc(filled, func(f bool) bool { return !f })); missing > 0 {
		return nil, fmt.Errorf("%d of the %d groups are in no part: %w", missing, len(filled), ErrEvalParts)
	}
	for m := range w.seen {
		for k := range Ks {
			seen := make([]bool, I)
			for _, pt := range parts {
				bits := pt.Coverage[m*len(Ks)+k]
				for i := range seen {
					if i/64 < len(bits) && bits[i/64]&(1<<(i%64)) != 0 {
						seen[i] = true
					}
				}
			}
			w.seen[m][k] = seen
		}
	}
	return p.report(first.Facts, w), nil
}

// WriteEvalPart writes part to path (gob), through a temporary file renamed
// into place, so a crash leaves no half-written part.
func WriteEvalPart(path string, part *EvalPart) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := gob.NewEncoder(f).Encode(part); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// ReadEvalPart reads a part WriteEvalPart wrote.
func ReadEvalPart(path string) (*EvalPart, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var part EvalPart
	if err := gob.NewDecoder(f).Decode(&part); err != nil {
		return nil, fmt.Errorf("%s: not an eval part (%v): %w", path, err, ErrEvalParts)
	}
	if part.Format != EvalPartFormat {
		return nil, fmt.Errorf("%s: %q, not %q: %w", path, part.Format, EvalPartFormat, ErrEvalParts)
	}
	return &part, nil
}
