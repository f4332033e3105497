package live

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPaceSharesTheWritesOfAllTopics checks the wait after a message: half
// the time it took to write, and the writes of the other topics too, so that
// many small topics send no more often than one big one.
func TestPaceSharesTheWritesOfAllTopics(t *testing.T) {
	ms := time.Millisecond
	at := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	s := &Streams{}

	require.Equal(t, 5*ms, s.pace(at, 10*ms), "a quick message: half its time, not a window")
	require.Equal(t, 5*ms, s.pace(at.Add(time.Second), 10*ms), "the earlier writes are paid for")

	at = at.Add(time.Minute)
	require.Equal(t, 400*ms, s.pace(at, 800*ms), "a slow message: half as long again")
	// Other topics, at the same moment, wait for it and for each other.
	require.Equal(t, 450*ms, s.pace(at, 100*ms))
	require.Equal(t, 500*ms, s.pace(at, 100*ms))
	// Later, only what is still owed.
	require.Equal(t, 250*ms, s.pace(at.Add(300*ms), 100*ms), "owed until at+550ms: 250 ms left")
	require.Equal(t, 300*ms, s.pace(at.Add(300*ms), 100*ms))
}
