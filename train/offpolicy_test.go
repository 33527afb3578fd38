package train

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// An off-policy estimate on too few matched randomised pushes is withheld:
// null in JSON, with a note; enough matches keep the numbers.
func TestThinOffPolicyWithheld(t *testing.T) {
	for _, c := range []struct {
		matches  int
		withheld bool
	}{{0, true}, {2, true}, {MinOffPolicyMatches - 1, true}, {MinOffPolicyMatches, false}, {400, false}} {
		row := OffPolicyRow{Config: "commission", Matches: c.matches, IPS: 0.81, IPSCI: [2]float64{0, 2.44}, SNIPS: 0.5, DR: -0.1, Model: 0.2}
		row.withholdThin()
		b, err := json.Marshal(jsonSafe(row))
		if err != nil {
			t.Fatal(err)
		}
		got := math.IsNaN(row.IPS) && math.IsNaN(row.SNIPS) && math.IsNaN(row.DR) && strings.Contains(row.Note, "too few randomised pushes") &&
			strings.Contains(string(b), `"ips":null`) && row.Model == 0.2
		if got != c.withheld || !c.withheld && (row.IPS != 0.81 || row.Note != "") {
			t.Errorf("%d matches: withheld %v, want %v: %s", c.matches, got, c.withheld, b)
		}
	}
}
