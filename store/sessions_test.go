package store_test

import (
	"bytes"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// cleanups counts the goroutines of scs's stores that delete expired
// sessions.
func cleanups(t *testing.T) int {
	var b bytes.Buffer
	require.NoError(t, pprof.Lookup("goroutine").WriteTo(&b, 2))
	return bytes.Count(b.Bytes(), []byte("Store).startCleanup("))
}

// The deletion of expired sessions runs until done closes, so that none is
// left to fail on a closed database after a shutdown.
func TestSessionStoreCleansUntilDone(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			st, err := store.New(storetest.Open(t, dialect))
			require.NoError(t, err)
			before := cleanups(t)
			done := make(chan struct{})
			st.SessionStore(done)
			// A goroutine just started shows its function once it runs.
			require.Eventually(t, func() bool { return cleanups(t) == before+1 }, 5*time.Second, 5*time.Millisecond)
			close(done)
			require.Eventually(t, func() bool { return cleanups(t) == before }, 5*time.Second, 5*time.Millisecond)
		})
	}
}
