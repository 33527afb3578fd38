package main

import "syscall"

// peakRSSMiB is the process's peak resident set size in MiB (0 when unknown).
func peakRSSMiB() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return int64(ru.Maxrss) / 1024 // Linux reports KiB
}
