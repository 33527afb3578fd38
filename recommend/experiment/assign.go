package experiment

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"strconv"

	"grouprank/data"
)

// Bucket hashes (salt, unit) into [0, Buckets): SHA-256 of the salt, a zero
// byte and the unit id, first eight bytes big-endian, modulo Buckets. It
// depends on nothing else, so every replica and every restart agrees.
func Bucket(salt, unit string) int {
	h := sha256.New()
	h.Write([]byte(salt))
	h.Write([]byte{0})
	h.Write([]byte(unit))
	var sum [sha256.Size]byte
	return int(binary.BigEndian.Uint64(h.Sum(sum[:0])[:8]) % Buckets)
}

// InTraffic says whether a unit in layer bucket b belongs to an experiment
// with this traffic share: the lowest traffic x Buckets buckets do, so a
// ramp up keeps every unit already in and adds more.
func InTraffic(b int, traffic float64) bool { return float64(b) < traffic*Buckets }

// ArmOf maps an arm bucket to an arm by cumulative weight: arm i holds the
// buckets from the sum of the earlier weights (as shares of Buckets) to the
// sum including its own.
func ArmOf(b int, weights []float64) int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	acc := 0.0
	for i, w := range weights {
		acc += w
		if float64(b) < acc/total*Buckets {
			return i
		}
	}
	return len(weights) - 1
}

// Assignment is a unit's arm in one experiment.
type Assignment struct {
	Experiment string
	Layer      string
	Arm        string
	Unit       string // the unit's id (UnitID)
	Options    map[string]string
	Override   bool // forced by a QA override: logged, never analysed
}

// UnitID is the id a unit is hashed by: "g<group>" or "p<promoter>" ("" when
// the promoter is not known).
func UnitID(u Unit, g data.GroupID, p data.PromoterID) string {
	switch {
	case u == UnitGroup && g > 0:
		return "g" + strconv.FormatInt(int64(g), 10)
	case u == UnitPromoter && p > 0:
		return "p" + strconv.FormatInt(int64(p), 10)
	}
	return ""
}

// Assigner assigns units to the running experiments' arms.
type Assigner struct {
	running []*Experiment
	layers  map[string]Layer
}

// NewAssigner takes the stored experiments (only running ones assign) and
// the layers.
func NewAssigner(exps []*Experiment, layers []Layer) *Assigner {
	a := &Assigner{layers: map[string]Layer{}}
	for _, l := range layers {
		a.layers[l.Name] = l
	}
	for _, e := range exps {
		if e.Status == Running {
			a.running = append(a.running, e)
		}
	}
	slices.SortFunc(a.running, func(x, y *Experiment) int {
		switch {
		case x.Layer < y.Layer:
			return -1
		case x.Layer > y.Layer:
			return 1
		}
		return 0
	})
	return a
}

// Running is the running experiments, by layer.
func (a *Assigner) Running() []*Experiment { return a.running }

// Assign returns the unit's arm in every running experiment it falls in;
// unitOf gives the unit id of the group for a randomisation unit (the group
// id or its promoter's id).
func (a *Assigner) Assign(unitOf func(Unit) string) []Assignment {
	var out []Assignment
	for _, e := range a.running {
		unit := unitOf(e.Unit)
		if unit == "" {
			continue
		}
		if arm, ok := e.Overrides[unit]; ok {
			i := e.ArmIndex(arm)
			out = append(out, Assignment{Experiment: e.Key, Layer: e.Layer, Arm: arm, Unit: unit, Options: e.Arms[i].Options, Override: true})
			continue
		}
		if arm := a.arm(e, unit); arm >= 0 {
			out = append(out, Assignment{Experiment: e.Key, Layer: e.Layer, Arm: e.Arms[arm].Name, Unit: unit, Options: e.Arms[arm].Options})
		}
	}
	return out
}

// arm is the unit's arm in e, -1 when outside e's traffic.
func (a *Assigner) arm(e *Experiment, unit string) int {
	salt := "layer:" + e.Layer
	if l, ok := a.layers[e.Layer]; ok && l.Salt != "" {
		salt = l.Salt
	}
	return ArmFor(e, salt, unit)
}

// ArmFor is the unit's arm in e under its current allocation (ignoring
// overrides), -1 when outside its traffic; layerSalt is its layer's salt.
func ArmFor(e *Experiment, layerSalt, unit string) int {
	if !InTraffic(Bucket(layerSalt, unit), e.Traffic) {
		return -1
	}
	return ArmOf(Bucket(e.Salt, unit), e.Weights())
}
