package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/internal/cpustat"
)

func cpu(d time.Duration, switches int64) cpustat.Use { return cpustat.Use{CPU: d, Switches: switches} }

// The readers are internal/cpustat's, tested there; the meter reads the
// database only when asked, and writes its figures a request at a time.
func TestCPUMeter(t *testing.T) {
	require.Zero(t, cpuMeter{appPID: 1}.now().database, "not asked for")
	two := cpuUse{app: cpu(100*time.Microsecond, 15), generator: cpu(200*time.Microsecond, 10)}
	require.Equal(t, "app 10 µs, generator 20 µs", two.per(10))
	require.Equal(t, "app 1.5, generator 1.0", two.switchesPer(10))
	three := cpuUse{cpu(100*time.Microsecond, 15), cpu(200*time.Microsecond, 10), cpu(300*time.Microsecond, 404)}
	require.Equal(t, "app 10 µs, generator 20 µs, PostgreSQL 30 µs", three.per(10))
	require.Equal(t, "app 1.5, generator 1.0, PostgreSQL 40.4", three.switchesPer(10))
	require.Equal(t, "not measured", cpuUse{}.per(10))
	require.Equal(t, "not measured", cpuUse{}.switchesPer(10))
}

// What was used between two readings, and over two measurements.
func TestCPUUseSinceAndPlus(t *testing.T) {
	start := cpuUse{cpu(time.Second, 100), cpu(2*time.Second, 200), cpu(3*time.Second, 300)}
	end := cpuUse{cpu(3*time.Second, 150), cpu(3*time.Second, 210), cpu(7*time.Second, 700)}
	used := end.since(start)
	require.Equal(t, cpuUse{cpu(2*time.Second, 50), cpu(time.Second, 10), cpu(4*time.Second, 400)}, used)
	require.Equal(t, cpuUse{cpu(4*time.Second, 100), cpu(2*time.Second, 20), cpu(8*time.Second, 800)}, used.plus(used))
}

// Two cores at 250 µs a request, whoever spends it, serve 8,000 a second.
func TestCPUCeiling(t *testing.T) {
	u := cpuUse{app: cpu(1500*time.Millisecond, 0), generator: cpu(500*time.Millisecond, 0), database: cpu(500*time.Millisecond, 0)}
	require.InDelta(t, 8000, u.ceiling(10_000, 2), 0.001)
	require.InDelta(t, 4000, u.ceiling(10_000, 1), 0.001)
	require.Zero(t, cpuUse{}.ceiling(10_000, 2))
	require.Zero(t, u.ceiling(0, 2))
}
