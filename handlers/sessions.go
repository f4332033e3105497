package handlers

import (
	"bytes"
	"context"
	"net/http"
	"reflect"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/eventhive/eventhive/internal/bounded"
	"github.com/eventhive/eventhive/live"
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
//
// The store also answers Find from memory with what it last read or wrote
// (kept), which spares a signed-in request a read. Every write and delete
// moves an epoch on, and a read or write that raced one is not kept, so
// memory never holds what the database no longer has: a session signed out
// is gone from both. Where this process makes every change to the sessions
// table (SQLite, see store.SoleWriter) it keeps sessions always. On
// PostgreSQL other instances write sessions too, and the table's trigger
// tells every process of each change (live.Event's Session): it keeps them
// only while the store hears of every change, that is while the live hub
// listens (keeping, store.HearsEveryChange), and followChanges drops each
// one another process changed, and all of them on Any.
//
// On PostgreSQL a session read from the database comes with its user, in
// one round trip: the store notes which user each session it read or wrote
// held (hints), and reads the next read's session along with that user,
// whom it leaves in the request's context for loadUser (prefetchUser) if
// the session read holds them: a wrong hint costs a read, never a wrong
// user.
type sessionStore struct {
	find         func(ctx context.Context, token string) (data []byte, expiry time.Time, found bool, err error)
	findWithUser func(ctx context.Context, token string, userID int64) (data []byte, expiry time.Time, u store.User, found bool, err error)
	write        scs.Store
	codec        scs.Codec
	keeping      func() bool // whether Find may answer from kept now
	prefetch     bool        // read a session along with its user (not SQLite)

	mu    sync.Mutex
	found map[string]storedSession // token → as Find returned it, until Commit
	kept  map[string]storedSession // live.SessionKey(token) → as the database has it
	hints map[string]int64         // token → the user its session held when last read or written (prefetch only)
	epoch uint64                   // moves on with every write and delete
}

// storedSession is a session as the database has it.
type storedSession struct {
	data   []byte
	expiry time.Time
}

// maxTrackedSessions bounds found (a request that fails may never commit),
// kept and hints, each to about 5 MB at most: room for an on-sale crowd of
// 20,000 signed-in buyers and more. Past it an entry taken at random makes
// room (bounded.Put), which costs the reads and writes of those evicted.
const maxTrackedSessions = 25_000

// newSessionStore returns the session store on st's sessions table, which
// deletes expired sessions until done closes. It keeps sessions while st
// hears of every change other processes make (store.HearsEveryChange: on
// PostgreSQL, while the live hub listens, through followChanges, which
// must then tell it of other processes' changes).
func newSessionStore(st *store.Store, codec scs.Codec, done <-chan struct{}) *sessionStore {
	return &sessionStore{
		find: st.FindSession, findWithUser: st.FindSessionAndUser, write: st.SessionStore(done), codec: codec,
		keeping: st.HearsEveryChange, prefetch: !st.SoleWriter(),
		found: map[string]storedSession{},
		kept:  map[string]storedSession{},
		hints: map[string]int64{},
	}
}

func (s *sessionStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

// FindCtx is Find for a request whose context may have room for its user
// (prefetchUser).
func (s *sessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	key, keeping := live.SessionKey(token), s.keeping()
	s.mu.Lock()
	kept, ok := s.kept[key]
	epoch := s.epoch
	userID := s.hints[token]
	s.mu.Unlock()
	if ok && keeping && time.Now().Before(kept.expiry) {
		s.noteFound(token, kept)
		return kept.data, true, nil
	}
	ok = false
	var err error
	var u store.User
	slot, _ := ctx.Value(prefetchKey{}).(*prefetched)
	if slot != nil && userID != 0 {
		kept.data, kept.expiry, u, ok, err = s.findWithUser(ctx, token, userID)
	}
	if !ok && err == nil {
		kept.data, kept.expiry, ok, err = s.find(ctx, token)
	}
	if !ok || err != nil {
		return nil, false, err
	}
	if keeping {
		s.keepSession(key, kept, epoch)
	}
	if s.prefetch {
		if holds := s.hint(token, kept.data); u.ID != 0 && u.ID == holds {
			// Read along with the session, which still holds them.
			slot.user = &u
		}
	}
	s.noteFound(token, kept)
	return kept.data, true, nil
}

// hint notes which user, if any, the session of token holds in b, and
// returns them (0: none).
func (s *sessionStore) hint(token string, b []byte) (userID int64) {
	if _, values, err := s.codec.Decode(b); err == nil {
		userID, _ = values[sessionUserID].(int64)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if userID == 0 {
		delete(s.hints, token)
		return 0
	}
	bounded.Put(s.hints, token, userID, maxTrackedSessions)
	return userID
}

// prefetchKey is the context key of a request's prefetched user.
type prefetchKey struct{}

// prefetched is where the session store leaves the user it read along with
// the request's session.
type prefetched struct{ user *store.User }

// prefetchUser gives the session store a place in the request's context to
// leave the user it reads along with the session (see sessionStore). On
// SQLite (SoleWriter), where sessions and users are always kept in memory,
// nothing is read along, and a request goes on as it came, without a copy
// of itself.
func (h *Handler) prefetchUser(next http.Handler) http.Handler {
	if h.store.SoleWriter() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), prefetchKey{}, &prefetched{})))
	})
}

// prefetchedUser returns the user read along with the request's session,
// or nil.
func prefetchedUser(ctx context.Context) *store.User {
	if slot, _ := ctx.Value(prefetchKey{}).(*prefetched); slot != nil {
		return slot.user
	}
	return nil
}

// noteFound notes the session Find returned, for Commit to compare.
func (s *sessionStore) noteFound(token string, stored storedSession) {
	s.mu.Lock()
	defer s.mu.Unlock()
	bounded.Put(s.found, token, stored, maxTrackedSessions)
}

// keepSession keeps a session as the database has it under its key, unless
// a write or delete has finished since epoch, as it may have changed it.
func (s *sessionStore) keepSession(key string, stored storedSession, epoch uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.epoch != epoch {
		return
	}
	bounded.Put(s.kept, key, stored, maxTrackedSessions)
}

func (s *sessionStore) Commit(token string, b []byte, expiry time.Time) error {
	s.mu.Lock()
	stored, wasFound := s.found[token]
	delete(s.found, token)
	epoch := s.epoch
	s.mu.Unlock()
	if wasFound && s.same(stored.data, b) && !expiry.Before(stored.expiry) && expiry.Sub(stored.expiry) < sessionTouch {
		return nil // unchanged, and the stored deadline is near enough
	}
	err := s.write.Commit(token, b, expiry)
	s.changed(token)
	if err == nil && s.keeping() {
		s.keepSession(live.SessionKey(token), storedSession{data: b, expiry: expiry}, epoch+1)
	}
	if err == nil && s.prefetch {
		s.hint(token, b)
	}
	return err
}

// changed records that the session of token was written or deleted: it is
// no longer kept, and reads that began before do not keep what they read.
func (s *sessionStore) changed(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.epoch++
	delete(s.kept, live.SessionKey(token))
	delete(s.hints, token)
}

// changedElsewhere records that another process wrote or deleted the
// session of key (a live.SessionKey), or any session if key is empty.
func (s *sessionStore) changedElsewhere(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.epoch++
	if key == "" {
		clear(s.kept)
		return
	}
	delete(s.kept, key)
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
	err := s.write.Delete(token)
	s.changed(token)
	return err
}
