package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The readers are internal/cpustat's, tested there; the meter reads the
// database only when asked, and writes its figures a request at a time.
func TestCPUMeter(t *testing.T) {
	require.Zero(t, cpuMeter{appPID: 1}.now().database, "not asked for")
	require.Equal(t, "app 10 µs, generator 20 µs", cpuUse{app: 100 * time.Microsecond, generator: 200 * time.Microsecond}.per(10))
	require.Equal(t, "app 10 µs, generator 20 µs, PostgreSQL 30 µs", cpuUse{100 * time.Microsecond, 200 * time.Microsecond, 300 * time.Microsecond}.per(10))
	require.Equal(t, "not measured", cpuUse{}.per(10))
}

// Two cores at 250 µs a request, whoever spends it, serve 8,000 a second.
func TestCPUCeiling(t *testing.T) {
	u := cpuUse{app: 1500 * time.Millisecond, generator: 500 * time.Millisecond, database: 500 * time.Millisecond}
	require.InDelta(t, 8000, u.ceiling(10_000, 2), 0.001)
	require.InDelta(t, 4000, u.ceiling(10_000, 1), 0.001)
	require.Zero(t, cpuUse{}.ceiling(10_000, 2))
	require.Zero(t, u.ceiling(0, 2))
}
