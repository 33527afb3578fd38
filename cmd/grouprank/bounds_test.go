package main

import (
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestEveryNumericFlagIsChecked walks every command's numeric flags: each
// has a range, a value outside it is refused naming the flag, and a value
// inside passes.
func TestEveryNumericFlagIsChecked(t *testing.T) {
	root := newRoot(&env{getenv: func(string) string { return "" }, stdout: io.Discard, stderr: io.Discard})
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		c.Flags().VisitAll(func(f *pflag.Flag) {
			s, numeric, known := spanOf(c, f)
			if !numeric {
				return
			}
			if !known {
				t.Errorf("%s --%s (%s) has no range in flagSpans", c.CommandPath(), f.Name, f.Value.Type())
				return
			}
			n++
			def := f.Value.String()
			t.Run(strings.ReplaceAll(c.CommandPath(), " ", "_")+"/"+f.Name, func(t *testing.T) {
				defer f.Value.Set(def)
				_, required := f.Annotations[cobra.BashCompOneRequiredFlag]
				if err := checkFlags(c); err != nil && !required {
					t.Errorf("the default %s is refused: %v", def, err)
				}
				for _, bad := range outside(s, strings.HasPrefix(f.Value.Type(), "uint")) {
					if f.Value.Set(bad) != nil {
						continue // the type itself refuses it (a negative uint, a fraction of an int)
					}
					err := checkFlags(c)
					if err == nil || !strings.Contains(err.Error(), "--"+f.Name+" ") {
						t.Errorf("--%s %s: got %v, want an error naming the flag", f.Name, bad, err)
					}
				}
			})
		})
	}
	walk(root)
	if n < 40 {
		t.Errorf("walked %d numeric flags, want the whole tree's", n)
	}
}

// outside lists values just outside s.
func outside(s span, unsigned bool) []string {
	var out []string
	if s.lo != -inf && !(unsigned && s.lo <= 0) {
		out = append(out, fmtNum(s.lo-1))
		if s.loOpen {
			out = append(out, fmtNum(s.lo))
		}
	}
	if s.hi != inf {
		out = append(out, fmtNum(s.hi+1))
		if s.hiOpen {
			out = append(out, fmtNum(s.hi))
		}
	}
	return out
}

// TestNonsenseTrainFlags: train refuses them before reading anything.
func TestNonsenseTrainFlags(t *testing.T) {
	for _, args := range [][]string{{"--factors", "0"}, {"--factors", "-5"}, {"--epochs", "-3"}, {"--l2", "-1"}} {
		t.Run(strings.Join(args, "="), func(t *testing.T) {
			_, _, err := runArgs(t, nil, append([]string{"train", "--world", t.TempDir(), "--out", t.TempDir()}, args...)...)
			if err == nil || !strings.Contains(err.Error(), args[0]+" "+args[1]) {
				t.Errorf("got %v, want an error naming %s %s", err, args[0], args[1])
			}
		})
	}
}

func fmtNum(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
