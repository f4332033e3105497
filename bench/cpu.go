package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuUse is CPU time used by the processes that share the machine in a
// measurement: the app, this load generator and, on PostgreSQL, the database
// server's processes. Unlike a rate or a latency, it hardly depends on how
// noisy the machine is, and it says where a request's cost goes.
type cpuUse struct {
	app, generator, database time.Duration
}

// cpuMeter reads the CPU time used so far by the app's process and this
// one, and by every PostgreSQL process when database is set.
type cpuMeter struct {
	appPID   int
	database bool
}

func (m cpuMeter) now() cpuUse {
	u := cpuUse{app: threadsCPU(m.appPID)}
	if m.database {
		u.database = processesCPU("postgres")
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		u.generator = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return u
}

// since is the CPU time used between start and u.
func (u cpuUse) since(start cpuUse) cpuUse {
	return cpuUse{u.app - start.app, u.generator - start.generator, u.database - start.database}
}

func (u cpuUse) plus(v cpuUse) cpuUse {
	return cpuUse{u.app + v.app, u.generator + v.generator, u.database + v.database}
}

// per is the CPU time for each of n requests, as text.
func (u cpuUse) per(n int) string {
	if n == 0 || u == (cpuUse{}) {
		return "not measured"
	}
	each := func(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d.Microseconds())/float64(n)) }
	s := "app " + each(u.app) + ", generator " + each(u.generator)
	if u.database > 0 {
		s += ", PostgreSQL " + each(u.database)
	}
	return s
}

// threadsCPU is the CPU time the process pid's threads have used, from the
// scheduler's own count (/proc/PID/task/*/schedstat, in nanoseconds): the
// clock ticks of /proc/PID/stat are 10 ms, too coarse for a round of holds.
func threadsCPU(pid int) time.Duration {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var sum time.Duration
	for _, t := range tasks {
		sum += schedstat(t)
	}
	return sum
}

// processesCPU is the CPU time every process named name has used (a
// single-threaded process's /proc/PID/schedstat).
func processesCPU(name string) time.Duration {
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
