package handlers

import (
	"bytes"
	"context"
	"reflect"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/eventhive/eventhive/store"
)

// sessionTouch is how far a session's idle deadline may lag behind: a
// request that leaves its session unchanged writes it back only when that
// moves the stored deadline by more than this.
const sessionTouch = time.Hour

// sessionStore keeps scs sessions in the database without making every
// request a write. scs marks every loaded session modified when an idle
// timeout is set, so that its deadline moves on; with one SQLite write
// connection, writing each session back (and reading it through that
// connection) would make every signed-in page view queue behind the
// purchases, and on PostgreSQL it would double a signed-in request's round
// trips. Here sessions are read through the read pool, with the deadline
// stored, and a session whose data did not change is written back only
// when its idle deadline would move by more than sessionTouch: an idle
// session may end up to an hour before its seven days are up.
type sessionStore struct {
	find  func(ctx context.Context, token string) (data []byte, expiry time.Time, found bool, err error)
	write scs.Store
	codec scs.Codec

	mu    sync.Mutex
	found map[string]storedSession // token → as Find read it, until Commit
}

// storedSession is a session as the database has it.
type storedSession struct {
	data   []byte
	expiry time.Time
}

// maxTrackedSessions bounds the sessions read and not yet committed (a
// request that fails may never commit): past it the map starts over, which
// only costs a few writes.
const maxTrackedSessions = 10_000

func newSessionStore(st *store.Store, codec scs.Codec) *sessionStore {
	return &sessionStore{find: st.FindSession, write: st.SessionStore(), codec: codec, found: map[string]storedSession{}}
}

func (s *sessionStore) Find(token string) ([]byte, bool, error) {
	b, expiry, ok, err := s.find(context.Background(), token)
	if ok && err == nil {
		s.mu.Lock()
		if len(s.found) >= maxTrackedSessions {
			clear(s.found)
		}
		s.found[token] = storedSession{data: b, expiry: expiry}
		s.mu.Unlock()
	}
	return b, ok, err
}

func (s *sessionStore) Commit(token string, b []byte, expiry time.Time) error {
	s.mu.Lock()
	stored, wasFound := s.found[token]
	delete(s.found, token)
	s.mu.Unlock()
	if wasFound && s.same(stored.data, b) && !expiry.Before(stored.expiry) && expiry.Sub(stored.expiry) < sessionTouch {
		return nil // unchanged, and the stored deadline is near enough
	}
	return s.write.Commit(token, b, expiry)
}

// same reports whether two encodings hold the same session. They differ in
// bytes alone for a session of several values, whose map gob writes in
// random order.
func (s *sessionStore) same(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	deadlineA, valuesA, errA := s.codec.Decode(a)
	deadlineB, valuesB, errB := s.codec.Decode(b)
	return errA == nil && errB == nil && deadlineA.Equal(deadlineB) && reflect.DeepEqual(valuesA, valuesB)
}

func (s *sessionStore) Delete(token string) error {
	s.mu.Lock()
	delete(s.found, token)
	s.mu.Unlock()
	return s.write.Delete(token)
}
