package handlers

import (
	"context"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPasswordGate: at most slots checks at once; the next ones wait in a
// queue of bounded length, until a slot frees or their request ends.
func TestPasswordGate(t *testing.T) {
	t.Parallel()
	g := newPasswordGate(1, 1)
	require.True(t, g.enter(t.Context()))

	// A waiter whose request ends first gives up.
	ended, cancel := context.WithCancel(t.Context())
	cancel()
	require.False(t, g.enter(ended))

	// A waiter gets the slot when it frees; while it waits, the queue is
	// full and a third is refused at once.
	got := make(chan bool)
	go func() { got <- g.enter(t.Context()) }()
	for len(g.queue) == 0 {
		runtime.Gosched()
	}
	require.False(t, g.enter(t.Context()))
	g.leave()
	require.True(t, <-got)
	g.leave()
	require.Empty(t, g.queue)
	require.Empty(t, g.slots)
}
