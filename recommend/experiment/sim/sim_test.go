package sim

import (
	"math"
	"math/rand/v2"
	"testing"

	"grouprank/data"
)

// TestGroups: a group's push rate is its pushes over the 14 days before
// the end, per day; pushes outside that window and of unknown groups do not
// count.
func TestGroups(t *testing.T) {
	end := data.Timestamp(100) * data.Day
	gs := []data.Group{{ID: 1, Promoter: 7, Channel: data.ChannelMother, CityTier: 2}, {ID: 2}}
	var ps []data.Push
	for d := range 20 { // group 1: one push a day for the last 20 days
		ps = append(ps, data.Push{ID: data.PushID(d + 1), Group: 1, SKU: 1, Time: end - data.Timestamp(d+1)*data.Day})
	}
	ps = append(ps, data.Push{ID: 99, Group: 3, SKU: 1, Time: end - data.Day}, data.Push{ID: 100, Group: 2, SKU: 1, Time: end})
	got := Groups(gs, ps, end)
	if len(got) != 2 || math.Abs(got[0].Rate-1) > 1e-9 || got[1].Rate != 0 || got[0].Promoter != 7 || got[0].Tier != 2 {
		t.Errorf("groups %+v, want group 1 at one push a day and group 2 at none", got)
	}
}

// TestPoissonDraw: the draws' mean is the mean asked for, and a mean of 0
// draws nothing.
func TestPoissonDraw(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var sum float64
	const n = 20000
	for range n {
		sum += float64(poissonDraw(r, 2.5))
	}
	if m := sum / n; math.Abs(m-2.5) > 0.05 {
		t.Errorf("mean of %d draws %.3f, want 2.5", n, m)
	}
	if poissonDraw(r, 0) != 0 {
		t.Error("a mean of 0 drew something")
	}
}
