package main

import (
	"testing"
)

func TestMemoryLimit(t *testing.T) {
	meminfo := "MemTotal:       24576000 kB\nMemFree:        20000000 kB\n"
	total := int64(24576000) * 1024
	share := func(n int64) int64 { return int64(float64(n) * memoryShare) }
	for _, c := range []struct {
		name      string
		meminfo   string
		container int64
		want      int64
	}{
		{"machine", meminfo, 0, share(total)},
		{"6 GiB container: all but the headroom", meminfo, 6 << 30, 5 << 30},
		{"2 GiB container: the share, above the limit minus the headroom", meminfo, 2 << 30, share(2 << 30)},
		{"container larger than the machine", meminfo, 99999999999999, share(total)},
		{"v1 without a limit (near 2^63)", meminfo, 9223372036854771712, share(total)},
		{"container only", "", 6 << 30, 5 << 30},
		{"nothing readable", "", 0, 0},
		{"garbage", "MemTotal: lots\n", 0, 0},
	} {
		if got := memoryLimit(c.meminfo, c.container); got != c.want {
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

func TestCgroupLimit(t *testing.T) {
	files := map[string]string{
		// cgroup v2: the job's cgroup has no limit, its parent has 6 GiB
		"/sys/fs/cgroup/kubepods/pod1/memory.max":     "6442450944\n",
		"/sys/fs/cgroup/kubepods/pod1/ctr/memory.max": "max\n",
		"/sys/fs/cgroup/kubepods/memory.max":          "max\n",
		// cgroup v1: the root without a limit, the job's cgroup with 8 GiB
		"/sys/fs/cgroup/memory/memory.limit_in_bytes":         "9223372036854771712\n",
		"/sys/fs/cgroup/memory/jobs/a/memory.limit_in_bytes":  "8589934592\n",
		"/sys/fs/cgroup/memory/jobs/memory.limit_in_bytes":    "9223372036854771712\n",
		"/sys/fs/cgroup/memory/other/b/memory.limit_in_bytes": "1073741824\n",
	}
	read := func(name string) string { return files[name] }
	for _, c := range []struct {
		name, self string
		want       int64
	}{
		{"v2, the limit on a parent", "0::/kubepods/pod1/ctr\n", 6442450944},
		{"v2, a namespace showing the root, no file there", "0::/\n", 0},
		{"v1 memory controller with others", "5:cpu,memory:/jobs/a\n1:cpuset:/\n", 8589934592},
		{"v1 and a v2 line without limits (hybrid)", "4:memory:/jobs\n0::/\n", 9223372036854771712},
		{"v1, the process's directory not visible: its parents up to the root", "4:memory:/gone/x\n", 9223372036854771712},
		{"nothing", "", 9223372036854771712},
		{"a path climbing out is kept inside the hierarchy", "0::/../../etc\n", 0},
	} {
		if got := cgroupLimit(c.self, read); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	// a v2 container whose namespace shows its cgroup as the root
	files["/sys/fs/cgroup/memory.max"] = "2147483648\n"
	if got := cgroupLimit("0::/\n", read); got != 2147483648 {
		t.Errorf("v2 root limit: %d, want 2147483648", got)
	}
}
