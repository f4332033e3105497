package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseClaimLimits(t *testing.T) {
	out := `goos: linux
BenchmarkCreateOrder/sqlite/river-2         	    3000	     96180 ns/op	     10397 claims/s	       110.2 cpu-µs/claim	         0.2000 switches/claim
BenchmarkCreateOrder/sqlite/no_river-2      	    3000	     42595 ns/op	     23477 claims/s	        61.00 cpu-µs/claim	         0.1500 switches/claim
BenchmarkCreateOrder/postgres/river-2       	    3000	    280664 ns/op	      3563 claims/s	        98.17 cpu-µs/claim	       446.7 pg-cpu-µs/claim	        12.50 pg-switches/claim	         1.750 switches/claim
PASS
`
	require.Equal(t, map[string]float64{
		"sqlite/river": 10397, "sqlite/river/cpu": 110.2, "sqlite/river/switches": 0.2,
		"sqlite/no_river": 23477, "sqlite/no_river/cpu": 61, "sqlite/no_river/switches": 0.15,
		"postgres/river": 3563, "postgres/river/cpu": 98.17, "postgres/river/database": 446.7,
		"postgres/river/switches": 1.75, "postgres/river/database-switches": 12.5,
	}, parseClaimLimits(strings.NewReader(out)))
}
