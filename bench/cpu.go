package main

import (
	"fmt"

	"github.com/eventhive/eventhive/internal/cpustat"
)

// cpuUse is what the processes that share the machine in a measurement
// take of the CPUs: the app, this load generator and, on PostgreSQL, the
// database server's processes. Unlike a rate or a latency, their CPU time
// hardly depends on how noisy the machine is, and it says where a request's
// cost goes; their context switches say how often each was woken for it.
type cpuUse struct {
	app, generator, database cpustat.Use
}

// cpuMeter reads what the app's process and this one have used so far, and
// every PostgreSQL process when database is set.
type cpuMeter struct {
	appPID   int
	database bool
}

func (m cpuMeter) now() cpuUse {
	u := cpuUse{app: cpustat.Threads(m.appPID), generator: cpustat.Self()}
	if m.database {
		u.database = cpustat.Processes("postgres")
	}
	return u
}

// since is what was used between start and u.
func (u cpuUse) since(start cpuUse) cpuUse {
	return cpuUse{u.app.Minus(start.app), u.generator.Minus(start.generator), u.database.Minus(start.database)}
}

func (u cpuUse) plus(v cpuUse) cpuUse {
	return cpuUse{u.app.Plus(v.app), u.generator.Plus(v.generator), u.database.Plus(v.database)}
}

// ceiling is the most requests a second that cores could serve if each
// cost the CPU time that the n requests u measured cost on average: what the
// machine allows at that cost, however the requests' waits fall. 0 when
// nothing was measured.
func (u cpuUse) ceiling(n, cores int) float64 {
	total := u.app.CPU + u.generator.CPU + u.database.CPU
	if n == 0 || total == 0 {
		return 0
	}
	return float64(cores) * float64(n) / total.Seconds()
}

// per is the CPU time for each of n requests, as text.
func (u cpuUse) per(n int) string {
	return u.each(n, func(v cpustat.Use) string {
		return fmt.Sprintf("%.0f µs", float64(v.CPU.Microseconds())/float64(n))
	})
}

// switchesPer is the context switches for each of n requests, as text.
func (u cpuUse) switchesPer(n int) string {
	return u.each(n, func(v cpustat.Use) string { return fmt.Sprintf("%.1f", float64(v.Switches)/float64(n)) })
}

// each writes a figure of each process's use, the database's only when
// measured.
func (u cpuUse) each(n int, figure func(cpustat.Use) string) string {
	if n == 0 || u == (cpuUse{}) {
		return "not measured"
	}
	s := "app " + figure(u.app) + ", generator " + figure(u.generator)
	if u.database != (cpustat.Use{}) {
		s += ", PostgreSQL " + figure(u.database)
	}
	return s
}
