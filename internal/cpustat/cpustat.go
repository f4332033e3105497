// Package cpustat reads the CPU time processes have used, from the Linux
// scheduler's own count. The benchmarks use it: unlike a rate or a latency,
// CPU time hardly depends on how noisy the machine is, and it says where a
// request's cost goes. Elsewhere than Linux every figure is 0.
package cpustat

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Self is the CPU time this process has used.
func Self() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Threads is the CPU time the process pid's threads have used
// (/proc/PID/task/*/schedstat, in nanoseconds): the clock ticks of
// /proc/PID/stat are 10 ms, too coarse for a round of holds.
func Threads(pid int) time.Duration {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var sum time.Duration
	for _, t := range tasks {
		sum += schedstat(t)
	}
	return sum
}

// Processes is the CPU time every process named name has used (a
// single-threaded process's /proc/PID/schedstat): "postgres" counts the
// database server's backends and its own processes.
func Processes(name string) time.Duration {
	dirs, _ := os.ReadDir("/proc")
	var sum time.Duration
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		comm, err := os.ReadFile(filepath.Join("/proc", d.Name(), "comm"))
		if err != nil || strings.TrimSpace(string(comm)) != name {
			continue
		}
		sum += schedstat(filepath.Join("/proc", d.Name(), "schedstat"))
	}
	return sum
}

// schedstat reads the time on CPU from a schedstat file, or 0.
func schedstat(path string) time.Duration {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	ns, _ := strconv.ParseInt(strings.Fields(string(b) + " 0")[0], 10, 64)
	return time.Duration(ns)
}
