package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/eventhive/eventhive/live"
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

// newCountedSessions counts the reads of a session store on a new database
// of the dialect. On PostgreSQL it keeps nothing, as while the live hub
// does not listen; a test may set keeping.
func newCountedSessions(t *testing.T, dialect store.Dialect) *countedSessions {
	st, err := store.New(storetest.Open(t, dialect))
	require.NoError(t, err)
	return countSessions(st)
}

// countSessions counts the reads of a session store on st, which keeps
// sessions while st hears of every change (on PostgreSQL, once
// followChanges has given it the hub).
func countSessions(st *store.Store) *countedSessions {
	c := &countedSessions{sessionStore: newSessionStore(st, sessionCodec{}, nil), st: st}
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

			t.Run("Kept", func(t *testing.T) {
				t.Parallel()
				s := newCountedSessions(t, dialect)
				find := func() {
					t.Helper()
					b, found, err := s.Find("tok")
					require.NoError(t, err)
					require.True(t, found)
					require.Equal(t, signedIn, b)
				}
				require.NoError(t, s.Commit("tok", signedIn, expiry))
				for range 3 {
					find()
				}
				// On PostgreSQL other instances change sessions too: every
				// request reads unless the hub listens to their changes.
				want := int64(3)
				if dialect == store.SQLite {
					want = 0
				}
				require.Equal(t, want, s.reads.Load(), "the hub not listening")

				s.keeping = always
				find()
				for range 3 {
					find()
				}
				require.Equal(t, want+min(want, 1), s.reads.Load(), "the hub listening: read once")

				s.changedElsewhere(live.SessionKey("other"))
				find()
				require.Equal(t, want+min(want, 1), s.reads.Load(), "another session changed")
				s.changedElsewhere(live.SessionKey("tok"))
				find()
				require.Equal(t, want+min(want, 1)+1, s.reads.Load(), "this one changed elsewhere")
				s.changedElsewhere("")
				find()
				require.Equal(t, want+min(want, 1)+2, s.reads.Load(), "any may have changed")
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
				s.keeping = always
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
				s.keeping = always
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

// TestKeptWhileOtherProcessesAreHeard: on PostgreSQL a process keeps
// sessions and users in memory while its hub listens, and drops what
// another process changes as soon as the database's triggers tell it,
// whichever way the change was made. While the hub cannot listen, every
// session is read, and what was kept before is dropped when it listens
// again.
func TestKeptWhileOtherProcessesAreHeard(t *testing.T) {
	storetest.PostgresOnly(t, "SQLite has one process, which makes every change itself")
	t.Parallel()
	ctx := t.Context()
	databaseURL := storetest.URL(t, store.Postgres)
	open := func() *store.Store {
		db, err := store.Open(ctx, databaseURL)
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		require.NoError(t, db.Migrate(ctx))
		st, err := store.New(db)
		require.NoError(t, err)
		return st
	}
	st, elsewhere := open(), open()
	outage := storetest.NewOutage(t, databaseURL) // between this process's hub and the database
	hub, err := live.NewPostgres(ctx, st.DB().Write, outage.URL, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { hub.Close() })
	s := countSessions(st)
	followChanges(st, s.sessionStore, hub)

	ann, err := st.CreateUser(ctx, "ann@example.com", "hash", time.Now())
	require.NoError(t, err)
	expiry := time.Now().Add(time.Hour)
	session := func(userID int64) []byte {
		b, err := sessionCodec{}.Encode(expiry, map[string]any{sessionUserID: userID, sessionEpoch: int64(0)})
		require.NoError(t, err)
		return b
	}
	find := func() []byte {
		t.Helper()
		b, found, err := s.Find("tok")
		require.NoError(t, err)
		if !found {
			return nil
		}
		return b
	}
	readsAfter := func(f func()) int64 {
		t.Helper()
		before := s.reads.Load()
		f()
		return s.reads.Load() - before
	}

	// Kept: read once.
	require.NoError(t, s.Commit("tok", session(ann.ID), expiry))
	require.Zero(t, readsAfter(func() { find(); find() }), "kept from the write")

	// Another instance signs Bob in on it, then signs out.
	require.NoError(t, elsewhere.SessionStore(t.Context().Done()).Commit("tok", session(42), expiry))
	require.Eventually(t, func() bool { return string(find()) == string(session(42)) }, 5*time.Second, time.Millisecond,
		"written elsewhere")
	require.Zero(t, readsAfter(func() { find() }), "kept again")
	require.NoError(t, elsewhere.SessionStore(t.Context().Done()).Delete("tok"))
	require.Eventually(t, func() bool { return find() == nil }, 5*time.Second, time.Millisecond, "deleted elsewhere")

	// Users: kept, so that a change no trigger reports (replication
	// role) does not show; one made elsewhere does.
	user := func() store.User {
		t.Helper()
		u, err := st.UserByID(ctx, ann.ID)
		require.NoError(t, err)
		return u
	}
	require.Zero(t, user().SessionEpoch)
	behind, err := st.DB().Write.Conn(ctx)
	require.NoError(t, err)
	defer behind.Close()
	_, err = behind.ExecContext(ctx, `SET session_replication_role = replica`)
	require.NoError(t, err)
	_, err = behind.ExecContext(ctx, `UPDATE users SET session_epoch = 5 WHERE id = $1`, ann.ID)
	require.NoError(t, err)
	require.Zero(t, user().SessionEpoch, "kept: the unreported change does not show")
	require.NoError(t, elsewhere.EndSessions(ctx, ann.ID))
	require.Eventually(t, func() bool { return user().SessionEpoch == 6 }, 5*time.Second, time.Millisecond,
		"signed out everywhere by another instance")

	// The hub loses its connection: nothing is kept, and whatever changed
	// meanwhile shows.
	require.NoError(t, s.Commit("tok", session(ann.ID), expiry))
	outage.Down()
	require.Eventually(t, func() bool { return !hub.Listening() }, 5*time.Second, time.Millisecond)
	require.Equal(t, int64(2), readsAfter(func() { find(); find() }), "read while the hub does not listen")
	_, err = behind.ExecContext(ctx, `UPDATE users SET session_epoch = 9 WHERE id = $1`, ann.ID)
	require.NoError(t, err)
	require.Equal(t, int64(9), user().SessionEpoch, "not kept while the hub does not listen")
	outage.Up()
	require.Eventually(t, hub.Listening, 10*time.Second, time.Millisecond)
	require.Eventually(t, func() bool { return readsAfter(func() { find() }) == 0 }, 5*time.Second, time.Millisecond,
		"kept again")
}

func always() bool { return true }
func never() bool  { return false }

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

// TestSessionReadWithItsUser: where sessions are read from the database
// (PostgreSQL, whenever its session is not kept), a session read (or
// written) once is read the next time along with the user it held, in one
// round trip, and that user is as the database has them now. A session that
// no longer holds that user gets none prefetched.
func TestSessionReadWithItsUser(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			s := newCountedSessions(t, dialect)
			s.keeping, s.prefetch = never, true // as on PostgreSQL
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
			require.NoError(t, s.st.SessionStore(t.Context().Done()).Commit("tok", session(bob.ID), expiry))
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

// TestSessionsKeepAnOnSaleCrowd: 20,000 buyers sign in and ask for a page,
// then each asks again in the order they came, and no session is read from
// the database again. Sessions used to be kept up to 10,000, then all
// dropped at once: every one of those requests read its session. On
// SQLite, where sessions are kept always; the keeping is the same on
// PostgreSQL while the hub listens.
func TestSessionsKeepAnOnSaleCrowd(t *testing.T) {
	t.Parallel()
	s := newCountedSessions(t, store.SQLite)
	const crowd = 20_000
	expiry := time.Now().Add(time.Hour)
	token := func(i int) string { return fmt.Sprintf("crowd-%05d", i) }
	var signIns errgroup.Group
	signIns.SetLimit(8)
	for i := range crowd {
		signIns.Go(func() error {
			b, err := sessionCodec{}.Encode(expiry, map[string]any{sessionUserID: int64(i + 1), sessionEpoch: int64(1)})
			if err != nil {
				return err
			}
			return s.Commit(token(i), b, expiry)
		})
	}
	require.NoError(t, signIns.Wait())

	// A session written while others were (sign-ins at once) is read once
	// before it is kept; the first pass may read each.
	for range 2 {
		s.reads.Store(0)
		for i := range crowd {
			_, found, err := s.Find(token(i))
			require.NoError(t, err)
			require.True(t, found)
		}
	}
	require.Zero(t, s.reads.Load(), "sessions read from the database again, of %d", crowd)
}
