package recommend

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
	"time"

	"grouprank/data"
)

// Sweep forgets pushes older than a week and orders older than OrderDays,
// and the groups left with neither; a group's orders are capped.
func TestPushMemorySweep(t *testing.T) {
	m := NewPushMemory()
	t0 := data.Timestamp(1_790_000_000_000)
	m.Add(1, 5, t0)                                                   // a week and a day before now: swept
	m.Add(2, 6, t0+6*data.Day)                                        // kept
	m.AddOrder(3, Order{SKU: 7, Quantity: 1, Time: t0 - 25*data.Day}) // 33 days before now: swept
	m.AddOrder(4, Order{SKU: 8, Quantity: 1, Time: t0})               // kept
	for k := range MaxGroupOrders + 10 {
		m.AddOrder(5, Order{SKU: 9, Quantity: 1, Time: t0 + data.Timestamp(k)})
	}
	now := t0 + 8*data.Day
	if n := m.Sweep(now); n != 3 {
		t.Errorf("%d groups left, want 3 (2's pushes, 4's and 5's orders)", n)
	}
	if got := len(m.OrdersSince(5, 0)); got != MaxGroupOrders {
		t.Errorf("group 5 keeps %d orders, want %d", got, MaxGroupOrders)
	}
	if got := m.OrdersSince(3, 0); len(got) != 0 {
		t.Errorf("group 3's old order was kept: %v", got)
	}
}

// TestPushMemoryBound measures the memory's size at the field's traffic
// (400,000 groups, 600,000 pushes and 300,000 orders a day) after 40 days
// with a sweep every six simulated hours (the service sweeps every minute),
// and with a million random group ids
// on top: bench/memory.sh runs it (GROUPRANK_MEMORY_BOUND=1).
func TestPushMemoryBound(t *testing.T) {
	if os.Getenv("GROUPRANK_MEMORY_BOUND") == "" {
		t.Skip("GROUPRANK_MEMORY_BOUND not set (bench/memory.sh)")
	}
	heap := func() float64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return float64(ms.HeapAlloc) / (1 << 20)
	}
	base := heap()
	m := NewPushMemory()
	// GROUPRANK_MEMORY_BUYERS=all: the model knows every buyer (a preference
	// model whose members all have orders), so every order is kept by buyer
	// too; otherwise (a conversion model) none is.
	buyers := os.Getenv("GROUPRANK_MEMORY_BUYERS")
	if buyers != "all" {
		buyers = "none"
		m.KeepBuyers(func(data.MemberID) bool { return false })
	}
	fmt.Printf("buyers' orders kept: %s\n", buyers)
	r := rand.New(rand.NewPCG(1, 2))
	t0 := data.Timestamp(1_790_000_000_000)
	const groups, pushes, orders, days = 400_000, 600_000, 300_000, 40
	t1 := time.Now()
	for d := range days {
		for h := range 24 {
			at := t0 + data.Timestamp(d)*data.Day + data.Timestamp(h)*data.Hour
			for range pushes / 24 {
				m.Add(data.GroupID(1+r.IntN(groups)), data.SKU(1+r.IntN(100_000)), at+data.Timestamp(r.IntN(int(data.Hour))))
			}
			for range orders / 24 { // every order names its buyer, one of fieldMembers
				m.Hear(&data.Event{Kind: data.EventOrder, Group: data.GroupID(1 + r.IntN(groups)), Buyer: data.MemberID(1 + r.IntN(fieldMembers)),
					SKU: data.SKU(1 + r.IntN(100_000)), Quantity: 1, Time: at + data.Timestamp(r.IntN(int(data.Hour)))})
			}
			if h%6 == 5 {
				m.Sweep(at + data.Hour)
			}
		}
		if d == 6 || d == 29 || d == days-1 {
			fmt.Printf("| day %d | %.0f MiB |\n", d+1, heap()-base)
		}
	}
	took := time.Since(t1)
	steady := heap() - base
	end := t0 + days*data.Day
	for k := range 1_000_000 { // a burst of events for groups nobody knows
		m.Add(data.GroupID(1_000_000_000+k), 5, end)
	}
	burst := heap() - base
	m.Sweep(end + 8*data.Day)
	after := heap() - base
	fmt.Printf("steady state %.0f MiB; +1M unknown groups %.0f MiB; a week after the burst %.0f MiB; %d days of events in %s\n",
		steady, burst, after, days, took.Round(time.Second))
	runtime.KeepAlive(m) // measured above, not collected before
	if after > steady*1.1 {
		t.Errorf("a week after the burst the memory is %.0f MiB, above the steady %.0f MiB", after, steady)
	}
}
