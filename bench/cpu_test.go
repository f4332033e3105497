package main

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCPUMeterReadsTheScheduler checks the meter against this process's own
// count: after it has spun for 50 ms of CPU (getrusage), the app's count,
// read from /proc/PID/task/*/schedstat with this process as the app, has
// grown by about as much.
func TestCPUMeterReadsTheScheduler(t *testing.T) {
	if _, err := os.Stat("/proc/self/schedstat"); err != nil {
		t.Skip("no /proc/PID/schedstat here")
	}
	meter := cpuMeter{appPID: os.Getpid()}
	before := meter.now()
	x := 0
	for meter.now().since(before).generator < 50*time.Millisecond {
		for i := range 100_000 {
			x += i
		}
	}
	used := meter.now().since(before)
	require.InDelta(t, used.generator.Seconds(), used.app.Seconds(), 0.02, "x=%d", x)
	require.Zero(t, used.database, "not asked for")
	require.Equal(t, "app 10 µs, generator 20 µs", cpuUse{app: 100 * time.Microsecond, generator: 200 * time.Microsecond}.per(10))
}
