package handlers

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// countedSessions is a sessionStore whose reads from the database are
// counted, and may run a step in the middle of one.
type countedSessions struct {
	*sessionStore
	reads  atomic.Int64
	during func() // runs after a read, before it returns
}

func newCountedSessions(t *testing.T, dialect store.Dialect) *countedSessions {
	st, err := store.New(storetest.Open(t, dialect))
	require.NoError(t, err)
	c := &countedSessions{sessionStore: newSessionStore(st, sessionCodec{})}
	find := c.find
	c.find = func(ctx context.Context, token string) ([]byte, time.Time, bool, error) {
		c.reads.Add(1)
		b, expiry, ok, err := find(ctx, token)
		if c.during != nil {
			c.during()
		}
		return b, expiry, ok, err
	}
	return c
}

func TestSessionStore(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			expiry := time.Now().Add(time.Hour)
			signedIn, err := sessionCodec{}.Encode(expiry, map[string]any{sessionUserID: int64(7), sessionEpoch: int64(1)})
			require.NoError(t, err)

			t.Run("KeptOnSQLiteOnly", func(t *testing.T) {
				t.Parallel()
				s := newCountedSessions(t, dialect)
				require.NoError(t, s.Commit("tok", signedIn, expiry))
				for range 3 {
					b, found, err := s.Find("tok")
					require.NoError(t, err)
					require.True(t, found)
					require.Equal(t, signedIn, b)
				}
				// On PostgreSQL other instances change sessions too: every
				// request reads.
				want := int64(3)
				if dialect == store.SQLite {
					want = 0
				}
				require.Equal(t, want, s.reads.Load())
			})

			t.Run("DeletedIsGone", func(t *testing.T) {
				t.Parallel()
				s := newCountedSessions(t, dialect)
				require.NoError(t, s.Commit("tok", signedIn, expiry))
				_, found, err := s.Find("tok")
				require.NoError(t, err)
				require.True(t, found)
				require.NoError(t, s.Delete("tok"))
				_, found, err = s.Find("tok")
				require.NoError(t, err)
				require.False(t, found, "a session signed out")
			})

			// The races below only matter where sessions are kept; on
			// PostgreSQL keeping is turned on for them, or they could not
			// fail there.
			t.Run("ReadRacingADeleteIsNotKept", func(t *testing.T) {
				t.Parallel()
				s := newCountedSessions(t, dialect)
				s.keep = true
				require.NoError(t, s.Commit("tok", signedIn, expiry))
				s.changed("tok") // as if another write had raced it: read next time
				s.during = func() {
					s.during = nil
					require.NoError(t, s.Delete("tok"))
				}
				_, found, err := s.Find("tok")
				require.NoError(t, err)
				require.True(t, found, "read before the delete")
				_, found, err = s.Find("tok")
				require.NoError(t, err)
				require.False(t, found, "what the first read saw must not outlive the delete")
			})

			t.Run("WriteRacingAnotherIsNotKept", func(t *testing.T) {
				t.Parallel()
				s := newCountedSessions(t, dialect)
				s.keep = true
				write := s.write
				s.write = racingStore{Store: write, during: func() { s.changed("other") }}
				require.NoError(t, s.Commit("tok", signedIn, expiry))
				reads := s.reads.Load()
				_, found, err := s.Find("tok")
				require.NoError(t, err)
				require.True(t, found)
				require.Equal(t, reads+1, s.reads.Load(), "read from the database")
			})

			t.Run("ExpiredIsGone", func(t *testing.T) {
				t.Parallel()
				s := newCountedSessions(t, dialect)
				require.NoError(t, s.Commit("tok", signedIn, time.Now().Add(-time.Second)))
				_, found, err := s.Find("tok")
				require.NoError(t, err)
				require.False(t, found)
			})

			t.Run("UnchangedIsNotWritten", func(t *testing.T) {
				t.Parallel()
				s := newCountedSessions(t, dialect)
				require.NoError(t, s.Commit("tok", signedIn, expiry))
				var writes atomic.Int64
				s.write = racingStore{Store: s.write, during: func() { writes.Add(1) }}
				for range 3 {
					b, found, err := s.Find("tok")
					require.NoError(t, err)
					require.True(t, found)
					require.NoError(t, s.Commit("tok", b, expiry.Add(time.Minute)))
				}
				require.Zero(t, writes.Load())
				_, _, err := s.Find("tok")
				require.NoError(t, err)
				require.NoError(t, s.Commit("tok", signedIn, expiry.Add(2*sessionTouch)))
				require.Equal(t, int64(1), writes.Load(), "the deadline moved on by more than sessionTouch")
			})
		})
	}
}

// racingStore runs a step during each Commit, after the write.
type racingStore struct {
	scs.Store
	during func()
}

func (r racingStore) Commit(token string, b []byte, expiry time.Time) error {
	err := r.Store.Commit(token, b, expiry)
	r.during()
	return err
}
