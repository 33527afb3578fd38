package recommend

import (
	"math/rand/v2"
	"testing"

	"grouprank/data"
)

// fieldDay is the field's traffic (docs/FIELD.md): 600k pushes and
// 300k orders a day over 400k groups; every order names its buyer, one of
// 20M members (groups of 50-500, members in several groups).
const (
	fieldPushesPerDay = 600_000
	fieldOrdersPerDay = 300_000
	fieldGroups       = 400_000
	fieldMembers      = 20_000_000
)

// fieldMemory fills a memory with a week of the field's pushes and
// OrderDays of its orders (seeded), as a restart finds it; buyers says
// whether the model knows every buyer (their orders kept by buyer too) or
// none.
func fieldMemory(buyers bool) *PushMemory {
	r := rand.New(rand.NewPCG(7, 7))
	m := NewPushMemory()
	if !buyers {
		m.KeepBuyers(func(data.MemberID) bool { return false })
	}
	now := data.Timestamp(1788220800000)
	for k := range 7 * fieldPushesPerDay {
		m.Add(data.GroupID(1+r.IntN(fieldGroups)), data.SKU(1+r.IntN(100_000)), now-7*data.Day+data.Timestamp(k)*(7*data.Day/(7*fieldPushesPerDay)))
	}
	for k := range OrderDays * fieldOrdersPerDay {
		m.Hear(&data.Event{Kind: data.EventOrder, Group: data.GroupID(1 + r.IntN(fieldGroups)), Buyer: data.MemberID(1 + r.IntN(fieldMembers)),
			SKU: data.SKU(1 + r.IntN(100_000)), Quantity: 1, Time: now - OrderDays*data.Day + data.Timestamp(k)*(OrderDays*data.Day/(OrderDays*fieldOrdersPerDay))})
	}
	return m
}

// BenchmarkCheckpoint measures a restart's two ways to the same memory at
// the field's traffic, with the model knowing none of the buyers (a
// conversion model) and all of them (the worst case of a preference model): decoding the checkpoint (and encoding it, which a
// running service does every --checkpoint-every), against adding the
// events behind it to an empty memory (replay's in-memory part; reading
// them from the store comes on top), in the same run.
func BenchmarkCheckpoint(b *testing.B) {
	for _, buyers := range []bool{false, true} {
		name := "buyers=none"
		if buyers {
			name = "buyers=all"
		}
		b.Run(name, func(b *testing.B) {
			m := fieldMemory(buyers)
			state := m.Encode()
			b.Run("clone", func(b *testing.B) { // what event batches wait for
				for range b.N {
					m.Clone()
				}
			})
			b.Run("encode", func(b *testing.B) {
				for range b.N {
					state = m.Encode()
				}
				b.ReportMetric(float64(len(state))/(1<<20), "MiB")
			})
			b.Run("decode", func(b *testing.B) {
				for range b.N {
					if _, err := DecodePushMemory(state); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("replay-in-memory", func(b *testing.B) {
				for range b.N {
					fieldMemory(buyers)
				}
			})
		})
	}
}
