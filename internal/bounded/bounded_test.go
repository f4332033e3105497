package bounded

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPutKeepsTheSize(t *testing.T) {
	m := map[int]string{}
	for k := range 50 {
		Put(m, k, "v", 10)
		require.LessOrEqual(t, len(m), 10)
	}
	require.Len(t, m, 10)

	var kept int
	for k := range m {
		kept = k
		break
	}
	Put(m, kept, "changed", 10)
	require.Len(t, m, 10, "a key already there takes no other's place")
	require.Equal(t, "changed", m[kept])
}

// TestPutUnderALargerCrowd: a crowd of 1.5 times the size, each key looked
// up in turn and put back when missing, again and again in the same order,
// is what a sell-out's buyers do to the kept sessions and users. Starting
// the map over when it is full, as before, misses every lookup (0 when
// tried); an entry evicted at random leaves a little under half of them.
func TestPutUnderALargerCrowd(t *testing.T) {
	const size, crowd, rounds = 1000, 1500, 4
	m := map[int]int{}
	hits := 0
	for range rounds {
		for k := range crowd {
			if _, ok := m[k]; ok {
				hits++
			} else {
				Put(m, k, k, size)
			}
		}
	}
	// The first round can only miss.
	share := float64(hits) / float64((rounds-1)*crowd)
	require.Greater(t, share, 0.3, "lookups that found their key")
}
