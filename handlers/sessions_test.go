package handlers

import (
	"context"
	"net/http"
	"net/http/httptest"
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
	st     *store.Store
	reads  atomic.Int64
	during func() // runs after a read, before it returns
}

func newCountedSessions(t *testing.T, dialect store.Dialect) *countedSessions {
	st, err := store.New(storetest.Open(t, dialect))
	require.NoError(t, err)
	c := &countedSessions{sessionStore: newSessionStore(st, sessionCodec{}), st: st}
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

// TestSessionReadWithItsUser: where sessions are not kept, a session read
// (or written) once is read the next time along with the user it held, in
// one round trip, and that user is as the database has them now. A session
// that no longer holds that user gets none prefetched.
func TestSessionReadWithItsUser(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			s := newCountedSessions(t, dialect)
			s.keep = false // as on PostgreSQL
			ctx := t.Context()
			ann, err := s.st.CreateUser(ctx, "ann@example.com", "hash", time.Now())
			require.NoError(t, err)
			bob, err := s.st.CreateUser(ctx, "bob@example.com", "hash", time.Now())
			require.NoError(t, err)
			expiry := time.Now().Add(time.Hour)
			session := func(userID int64) []byte {
				values := map[string]any{sessionEpoch: int64(0)}
				if userID != 0 {
					values[sessionUserID] = userID
				}
				b, err := sessionCodec{}.Encode(expiry, values)
				require.NoError(t, err)
				return b
			}
			find := func() *store.User {
				t.Helper()
				slot := &prefetched{}
				_, found, err := s.FindCtx(context.WithValue(ctx, prefetchKey{}, slot), "tok")
				require.NoError(t, err)
				require.True(t, found)
				return slot.user
			}

			require.NoError(t, s.Commit("tok", session(ann.ID), expiry))
			u := find()
			require.NotNil(t, u, "read with the session")
			require.Equal(t, ann.ID, u.ID)
			require.Zero(t, s.reads.Load(), "one round trip")

			// The user as they are now, not as they were.
			require.NoError(t, s.st.EndSessions(ctx, ann.ID))
			u = find()
			require.NotNil(t, u)
			require.Equal(t, ann.SessionEpoch+1, u.SessionEpoch)

			// Another process signs Bob in on the same token: the hint
			// (Ann) is wrong, and nobody is prefetched.
			s.hints["tok"] = ann.ID
			require.NoError(t, s.st.SessionStore().Commit("tok", session(bob.ID), expiry))
			require.Nil(t, find(), "Ann, read with Bob's session")
			require.Equal(t, bob.ID, find().ID, "the hint followed the session")

			// Signed out: no user to read.
			require.NoError(t, s.Commit("tok", session(0), expiry))
			reads := s.reads.Load()
			require.Nil(t, find())
			require.Equal(t, reads+1, s.reads.Load())
		})
	}
}

// TestPrefetchOnlyWhereSessionsAreRead: a request gets a place for the user
// read along with its session only where sessions are read from the
// database (PostgreSQL); where they are kept in memory (SQLite) it goes on
// untouched, as the same request.
func TestPrefetchOnlyWhereSessionsAreRead(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			st, err := store.New(storetest.Open(t, dialect))
			require.NoError(t, err)
			h := &Handler{store: st}
			var got *http.Request
			h.prefetchUser(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r })).
				ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
			_, slot := got.Context().Value(prefetchKey{}).(*prefetched)
			require.Equal(t, dialect == store.Postgres, slot)
		})
	}
}
