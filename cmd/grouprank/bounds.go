package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// span is the range a numeric flag accepts: lo..hi, each end open or
// closed; unbounded ends are ±Inf.
type span struct {
	lo, hi         float64
	loOpen, hiOpen bool
}

var inf = math.Inf(1)

func closed(lo, hi float64) span { return span{lo: lo, hi: hi} }
func atLeast(lo float64) span    { return span{lo: lo, hi: inf} }
func above(lo float64) span      { return span{lo: lo, hi: inf, loOpen: true} }
func share() span                { return closed(0, 1) }
func positiveShare() span        { return span{lo: 0, hi: 1, loOpen: true} }
func anyNumber() span            { return span{lo: -inf, hi: inf} }

func (s span) contains(x float64) bool {
	return !math.IsNaN(x) && (x > s.lo || !s.loOpen && x == s.lo) && (x < s.hi || !s.hiOpen && x == s.hi)
}

func (s span) String() string {
	num := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	switch {
	case s.lo == -inf && s.hi == inf:
		return "any number"
	case s.hi == inf && s.loOpen:
		return "> " + num(s.lo)
	case s.hi == inf:
		return ">= " + num(s.lo)
	}
	l, r := "[", "]"
	if s.loOpen {
		l = "("
	}
	if s.hiOpen {
		r = ")"
	}
	return l + num(s.lo) + ", " + num(s.hi) + r
}

// flagSpans is the range of every numeric flag, by name; "command flag"
// entries (the command's path below the root) override the name's.
var flagSpans = map[string]span{
	"seed": anyNumber(), "workers": closed(0, 1024), "nats-replicas": closed(1, 5),
	"k": closed(1, 100_000), "eval business k": closed(1, 1000), "simulate k": closed(1, 200),
	"gen groups": closed(10, 1<<24), "gen products": closed(50, 1<<22), "gen days": closed(1, 3650),
	"eval business groups": closed(1, 1<<24), "simulate days": closed(1, 365),
	"taste-concentration": span{lo: 0, hi: 10, loOpen: true}, "price-sensitivity": closed(0, 10),
	"world-version": closed(1, 2), "random-share": share(),
	"test-days": closed(1, 3650), "train-days": closed(1, 3650), "calib-days": closed(1, 3650), "val-days": closed(1, 3650),
	"half-life": atLeast(0), "taste-half-life": atLeast(0), "confidence": atLeast(0), "pop-debias": closed(0, 4),
	"factors": closed(1, 1024), "epochs": closed(1, 1000), "cg-steps": closed(1, 100),
	"oracle-groups": closed(0, 1<<24), "auc-groups": closed(0, 1<<24), "eval-groups": closed(0, 1<<24),
	"bootstrap": closed(1, 100_000), "failed-weight": atLeast(0), "join-weight": atLeast(0),
	"social-weight": atLeast(0), "ials-weight": atLeast(0), "mix-beta": closed(-100, 100),
	"candidates": closed(1, 100_000), "day": atLeast(-1), "test-share": span{lo: 0, hi: 1, loOpen: true, hiOpen: true},
	"tune beibei share": span{lo: 0, hi: 1, loOpen: true, hiOpen: true}, "max-errors": atLeast(0), "batch": closed(1, 10_000),
	"repush-days": closed(0, 365), "candidate-cache": closed(0, 1<<24), "explore": share(), "truth-sample": share(),
	"attribution-hours": span{lo: 0, hi: 24 * 30, loOpen: true}, "taste-prior": atLeast(0), "l2": atLeast(0),
	"random-weight": atLeast(0), "ope-k": closed(0, 1000), "traffic": positiveShare(),
	"max-order-quantity": closed(1, 1_000_000), "max-inflight-picks": closed(1, 100_000), "max-inflight-events": closed(1, 10_000), "max-conns": closed(1, 1_000_000), "max-price-ratio": atLeast(1),
	"alpha0": atLeast(0), "lambda": above(0), "nu": closed(0, 2),
	"budget": closed(1, 10_000), "folds": closed(0, 20), "calibration-negatives": closed(1, 100_000), "holdout": span{lo: 0, hi: 1, loOpen: true, hiOpen: true},
}

// spanOf is the range of flag f of command cmd; numeric is false for a flag
// that is not numeric, known false for a numeric flag flagSpans lacks.
func spanOf(cmd *cobra.Command, f *pflag.Flag) (s span, numeric, known bool) {
	switch f.Value.Type() {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
	default:
		return span{}, false, false
	}
	path := strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
	if s, ok := flagSpans[path+" "+f.Name]; ok {
		return s, true, true
	}
	s, known = flagSpans[f.Name]
	return s, true, known
}

// checkFlags refuses a numeric flag outside its range, whether it came from
// the command line, the environment or the config file.
func checkFlags(cmd *cobra.Command) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		s, numeric, known := spanOf(cmd, f)
		switch {
		case !numeric || err != nil:
			return
		case !known:
			err = fmt.Errorf("--%s: no range is set for this flag (a bug: cmd/grouprank/bounds.go)", f.Name)
			return
		}
		x, perr := strconv.ParseFloat(f.Value.String(), 64)
		if perr != nil || !s.contains(x) {
			err = fmt.Errorf("--%s %s: want %s", f.Name, f.Value.String(), s)
		}
	})
	return err
}
