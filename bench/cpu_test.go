package main

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The meter reads the app's threads and this process, and the database's
// processes only when asked; its figures are written a request at a time.
func TestCPUMeter(t *testing.T) {
	if _, err := os.Stat("/proc/self/schedstat"); err != nil {
		t.Skip("no /proc/PID/schedstat here")
	}
	meter := cpuMeter{appPID: os.Getpid()}
	before := meter.now()
	x := 0
	for meter.now().since(before).generator < 20*time.Millisecond {
		for i := range 100_000 {
			x += i
		}
	}
	used := meter.now().since(before)
	require.InDelta(t, used.generator.Seconds(), used.app.Seconds(), 0.02, "x=%d", x)
	require.Zero(t, used.database, "not asked for")
	require.Equal(t, "app 10 µs, generator 20 µs", cpuUse{app: 100 * time.Microsecond, generator: 200 * time.Microsecond}.per(10))
	require.Equal(t, "app 10 µs, generator 20 µs, PostgreSQL 30 µs", cpuUse{100 * time.Microsecond, 200 * time.Microsecond, 300 * time.Microsecond}.per(10))
}
