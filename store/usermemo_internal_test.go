package store

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestUserMemoReadRacingAChange: a user read from the database before a
// change committed must not be kept, or UserByID would show the account as
// it was (not suspended, the old session epoch) until it ages out.
func TestUserMemoReadRacingAChange(t *testing.T) {
	m := userMemo{keeps: func() bool { return true }}
	_, epoch, ok := m.get(7)
	require.False(t, ok)
	before := User{ID: 7, SessionEpoch: 1} // read from the database meanwhile
	m.changed()                            // a change commits: sign out everywhere
	m.put(before, epoch)
	_, _, ok = m.get(7)
	require.False(t, ok, "the read that raced the change is not kept")

	_, epoch, _ = m.get(7)
	m.put(User{ID: 7, SessionEpoch: 2}, epoch)
	got, _, ok := m.get(7)
	require.True(t, ok, "a read after the change is")
	require.Equal(t, int64(2), got.SessionEpoch)
}
