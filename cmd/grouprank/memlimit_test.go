package main

import "testing"

func TestMemoryLimit(t *testing.T) {
	meminfo := "MemTotal:       24576000 kB\nMemFree:        20000000 kB\n"
	total := int64(24576000) * 1024
	share := func(n int64) int64 { return int64(float64(n) * memoryShare) }
	for _, c := range []struct {
		name, meminfo, cgroup string
		want                  int64
	}{
		{"machine", meminfo, "max\n", share(total)},
		{"smaller container", meminfo, "8589934592\n", share(8589934592)},
		{"container larger than the machine", meminfo, "99999999999999", share(total)},
		{"container only", "", "1073741824", share(1073741824)},
		{"nothing readable", "", "", 0},
		{"garbage", "MemTotal: lots\n", "none", 0},
	} {
		if got := memoryLimit(c.meminfo, c.cgroup); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	if got := setMemoryLimit(func(k string) string {
		if k == "GOMEMLIMIT" {
			return "4GiB"
		}
		return ""
	}); got != 0 {
		t.Errorf("with GOMEMLIMIT set: limit %d, want none of ours", got)
	}
}
