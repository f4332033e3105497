package store

import (
	"sync"
	"time"

	"github.com/eventhive/eventhive/internal/bounded"
)

// userMemo keeps users read by id, so that a signed-in request need not read
// its user from the database. Each change to a user moves an epoch on
// (changed), which drops every user kept, and a read that began before it
// is not kept.
//
// Where this process is the database's sole writer (SQLite, see SoleWriter)
// it keeps users always. The one change made by another process, an
// operator's ConfirmAdmin on the server, is read from the database by the
// handlers for the accounts it can concern (UserByIDFromDatabase); any other
// change made outside, by hand, shows within userMemoFor, the longest a user
// is kept.
//
// On PostgreSQL other processes change users too, and it keeps them only
// while the Store hears of those changes (HearChangesWhile): then every
// change another process makes is followed by UsersChangedElsewhere, as the
// users table's trigger notifies each one.
type userMemo struct {
	keeps func() bool // whether users may be kept at this moment

	mu    sync.Mutex
	epoch uint64
	users map[int64]keptUser
}

type keptUser struct {
	user User
	at   time.Time
}

// userMemoFor is how long a user is kept: long enough to span a buyer's
// visit, short enough to bound what a change made by hand hides; userMemoMax
// how many (about 7 MB of them): room for an on-sale crowd of 20,000 and
// more, past which one taken at random makes room (bounded.Put).
const (
	userMemoFor = time.Minute
	userMemoMax = 25_000
)

// get returns the kept user of id, if any, and the epoch to give put after
// reading it from the database otherwise.
func (m *userMemo) get(id int64) (User, uint64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.keeps() {
		return User{}, 0, false
	}
	kept, ok := m.users[id]
	if !ok || time.Since(kept.at) >= userMemoFor {
		return User{}, m.epoch, false
	}
	return kept.user, m.epoch, true
}

// put keeps u, read from the database after get returned epoch, unless a
// change has been made since.
func (m *userMemo) put(u User, epoch uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.epoch != epoch || !m.keeps() {
		return
	}
	if m.users == nil {
		m.users = map[int64]keptUser{}
	}
	bounded.Put(m.users, u.ID, keptUser{user: u, at: time.Now()}, userMemoMax)
}

// changed drops every kept user: call it once a change to users has
// committed (or failed), never before.
func (m *userMemo) changed() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.epoch++
	clear(m.users)
}
