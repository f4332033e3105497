package main

import (
	"fmt"
	"time"

	"github.com/eventhive/eventhive/internal/cpustat"
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
	u := cpuUse{app: cpustat.Threads(m.appPID), generator: cpustat.Self()}
	if m.database {
		u.database = cpustat.Processes("postgres")
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

// ceiling is the most requests a second that cores could serve if each
// cost the CPU time that the n requests u measured cost on average: what the
// machine allows at that cost, however the requests' waits fall. 0 when
// nothing was measured.
func (u cpuUse) ceiling(n, cores int) float64 {
	total := u.app + u.generator + u.database
	if n == 0 || total == 0 {
		return 0
	}
	return float64(cores) * float64(n) / total.Seconds()
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
