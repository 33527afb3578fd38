package jetstream

import (
	"fmt"
	"testing"

	"grouprank/data"
)

// BenchmarkAppendEvents is durable event ingest into a JetStream cluster
// of servers=N running in this process on loopback (replication N), batch
// by batch, each acknowledged by the cluster, as POST /v1/events stores
// them on --live nats://...; data/store's BenchmarkAppendEvents is the same
// on a badger directory (bench/scale.sh runs both). Reports events/s.
func BenchmarkAppendEvents(b *testing.B) {
	for _, servers := range []int{1, 3} {
		for _, size := range []int{100, 1000} {
			b.Run(fmt.Sprintf("servers=%d/batch=%d", servers, size), func(b *testing.B) {
				l, _ := open(b, servers, Options{})
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
}
