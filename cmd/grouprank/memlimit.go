package main

import (
	"bufio"
	"os"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
)

// memoryShare is the share of the machine's memory the Go heap may grow to
// before the collector works harder to stay below it, when no container
// limit applies: without a limit the collector lets the heap reach twice
// what is live at the last collection, which on a machine shared with
// other work takes more than the job needs. It is a soft limit: a job that
// needs more still gets it, at more collection work.
const memoryShare = 0.6

// containerHeadroom is what a container's limit keeps for what the soft
// limit does not count (the binary, goroutine stacks, memory the runtime
// has not yet returned): the heap may grow to the container's limit minus
// this, or memoryShare of it if that is more. A container's limit is the
// job's own budget, and a soft limit below what the job holds live makes
// the collector run without pause (at 6 GiB, 60% is 3.6 GiB while training
// 1M groups holds 4.8 GB live at its highest); going past the container's
// limit gets the process killed.
const containerHeadroom = 1 << 30

// setMemoryLimit sets the runtime's soft memory limit from the memory
// available (memoryLimit), unless GOMEMLIMIT is set (the runtime then uses
// that) or the available memory cannot be read. It returns the limit set
// (0: none).
func setMemoryLimit(getenv func(string) string) int64 {
	if getenv("GOMEMLIMIT") != "" {
		return 0
	}
	meminfo, _ := os.ReadFile("/proc/meminfo")
	selfCgroup, _ := os.ReadFile("/proc/self/cgroup")
	limit := memoryLimit(string(meminfo), cgroupLimit(string(selfCgroup), readCgroupFile))
	if limit > 0 {
		debug.SetMemoryLimit(limit)
	}
	return limit
}

func readCgroupFile(name string) string {
	b, err := os.ReadFile(name)
	if err != nil {
		return ""
	}
	return string(b)
}

// memoryLimit is memoryShare of the MemTotal line of a /proc/meminfo text
// when no container limit applies (container 0), and the larger of the
// container's limit minus containerHeadroom and memoryShare of it when one
// does and is below the machine's memory; 0 when neither gives a size.
func memoryLimit(meminfo string, container int64) int64 {
	var total int64
	sc := bufio.NewScanner(strings.NewReader(meminfo))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil && kb > 0 {
				total = kb * 1024
			}
		}
	}
	if container > 0 && (total == 0 || container < total) {
		return max(container-containerHeadroom, int64(float64(container)*memoryShare))
	}
	return int64(float64(total) * memoryShare)
}

// cgroupLimit is the memory limit of the cgroup a /proc/self/cgroup text
// places the process in, and of every cgroup above it (the smallest),
// read through read from the cgroup v2 hierarchy (memory.max, "max": none)
// or the v1 memory controller's (memory.limit_in_bytes; no limit is a
// number near 2^63, above any machine's memory, which memoryLimit ignores).
// The walk ends at the hierarchy's root, so a container whose cgroup
// namespace shows its own cgroup as the root reads the root's files.
// 0 when no limit is found.
func cgroupLimit(selfCgroup string, read func(string) string) int64 {
	var limit int64
	take := func(s string) {
		if v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil && v > 0 && (limit == 0 || v < limit) {
			limit = v
		}
	}
	walk := func(root, rel, file string) {
		for dir := path.Join(root, path.Clean("/"+rel)); ; dir = path.Dir(dir) {
			take(read(path.Join(dir, file)))
			if dir == root || dir == "/" {
				break
			}
		}
	}
	for _, line := range strings.Split(selfCgroup, "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		switch {
		case f[0] == "0" && f[1] == "":
			walk("/sys/fs/cgroup", f[2], "memory.max")
		case hasController(f[1], "memory"):
			walk("/sys/fs/cgroup/memory", f[2], "memory.limit_in_bytes")
		}
	}
	if selfCgroup == "" {
		take(read("/sys/fs/cgroup/memory.max"))
		take(read("/sys/fs/cgroup/memory/memory.limit_in_bytes"))
	}
	return limit
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}
