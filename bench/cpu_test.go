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
