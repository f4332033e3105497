// Package cpustat reads what processes have taken of the CPUs, from the
// Linux scheduler's own count: their CPU time, and how many times their
// threads were put on a CPU. The benchmarks use it: unlike a rate or a
// latency, these hardly depend on how noisy the machine is, and they say
// where a request's cost goes. Elsewhere than Linux every figure is 0.
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

// Use is what processes have taken of the CPUs: time on them, and context
// switches, the times the scheduler put one of their threads on a CPU. A
// thread that waits for a message and is woken for it takes a switch, and
// on a virtual machine a switch can cost more CPU than the message's work;
// unlike the time, their count does not move with how busy the host is.
type Use struct {
	CPU      time.Duration
	Switches int64
}

// Minus is what was used between v and u.
func (u Use) Minus(v Use) Use { return Use{u.CPU - v.CPU, u.Switches - v.Switches} }

// Plus is u and v together.
func (u Use) Plus(v Use) Use { return Use{u.CPU + v.CPU, u.Switches + v.Switches} }

// Self is what this process has used (getrusage: its switches are those
// away from a CPU, voluntary or not, which a thread that runs again makes
// as many of as switches onto one).
func Self() Use {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return Use{}
	}
	return Use{time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), int64(ru.Nvcsw + ru.Nivcsw)}
}

// Threads is what the process pid's threads have used
// (/proc/PID/task/*/schedstat, its time in nanoseconds): the clock ticks of
// /proc/PID/stat are 10 ms, too coarse for a round of holds.
func Threads(pid int) Use {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var sum Use
	for _, t := range tasks {
		sum = sum.Plus(schedstat(t))
	}
	return sum
}

// Processes is what every process named name has used (a single-threaded
// process's /proc/PID/schedstat): "postgres" counts the database server's
// backends and its own processes.
func Processes(name string) Use {
	dirs, _ := os.ReadDir("/proc")
	var sum Use
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		comm, err := os.ReadFile(filepath.Join("/proc", d.Name(), "comm"))
		if err != nil || strings.TrimSpace(string(comm)) != name {
			continue
		}
		sum = sum.Plus(schedstat(filepath.Join("/proc", d.Name(), "schedstat")))
	}
	return sum
}

// schedstat reads a schedstat file: its first field, the time on a CPU,
// and its third, the times put on one. Zero when unreadable.
func schedstat(path string) Use {
	b, err := os.ReadFile(path)
	if err != nil {
		return Use{}
	}
	f := strings.Fields(string(b) + " 0 0 0")
	ns, _ := strconv.ParseInt(f[0], 10, 64)
	runs, _ := strconv.ParseInt(f[2], 10, 64)
	return Use{time.Duration(ns), runs}
}
