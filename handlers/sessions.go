package handlers

import (
	"bytes"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
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
// purchases.
// Here sessions are read through the read pool, and a session whose data
// did not change is written back only when its idle deadline would move by
// more than sessionTouch: an idle session may end up to an hour before its
// seven days are up.
type sessionStore struct {
	read, write scs.Store

	mu      sync.Mutex
	found   map[string][]byte    // token → data as Find read it, until Commit
	written map[string]time.Time // token → expiry this process last stored
}

// maxTrackedSessions bounds the maps: past it they start over, which only
// costs a few writes.
const maxTrackedSessions = 10_000

func newSessionStore(read, write scs.Store) *sessionStore {
	return &sessionStore{read: read, write: write, found: map[string][]byte{}, written: map[string]time.Time{}}
}

func (s *sessionStore) Find(token string) ([]byte, bool, error) {
	b, ok, err := s.read.Find(token)
	if ok && err == nil {
		s.mu.Lock()
		if len(s.found) >= maxTrackedSessions {
			clear(s.found)
		}
		s.found[token] = b
		s.mu.Unlock()
	}
	return b, ok, err
}

func (s *sessionStore) Commit(token string, b []byte, expiry time.Time) error {
	s.mu.Lock()
	found, wasFound := s.found[token]
	delete(s.found, token)
	stored, wasStored := s.written[token]
	s.mu.Unlock()
	if wasFound && wasStored && bytes.Equal(found, b) && expiry.Sub(stored) < sessionTouch && !expiry.Before(stored) {
		return nil // unchanged, and the stored deadline is near enough
	}
	if err := s.write.Commit(token, b, expiry); err != nil {
		return err
	}
	s.mu.Lock()
	if len(s.written) >= maxTrackedSessions {
		clear(s.written)
	}
	s.written[token] = expiry
	s.mu.Unlock()
	return nil
}

func (s *sessionStore) Delete(token string) error {
	s.mu.Lock()
	delete(s.found, token)
	delete(s.written, token)
	s.mu.Unlock()
	return s.write.Delete(token)
}
