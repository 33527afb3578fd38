package store

import (
	"fmt"
	"testing"

	"grouprank/data"
)

// BenchmarkAppendEvents is durable event ingest: synced batches into the
// live store, as POST /v1/events stores them. Reports events/s.
func BenchmarkAppendEvents(b *testing.B) {
	for _, size := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			l, err := OpenLive(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			evs := make([]data.Event, size)
			n := 0
			b.ResetTimer()
			for range b.N {
				for k := range evs {
					n++
					evs[k] = data.Event{ID: fmt.Sprintf("e%09d", n), Kind: data.EventPush, Group: data.GroupID(n%100000 + 1),
						SKU: data.SKU(n%20000 + 1), Push: data.PushID(n), Time: data.Timestamp(1_790_000_000_000 + int64(n))}
				}
				if _, err := l.AppendEvents(evs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
