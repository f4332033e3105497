package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// TestUserByIDSeesEveryChange changes a user every way the app can, each
// time right after reading it: UserByID keeps users in memory on SQLite,
// and a change it missed would keep a suspended or signed-out account
// signed in.
func TestUserByIDSeesEveryChange(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			b := setupModeration(t, dialect)
			ctx := t.Context()
			now := base.Add(time.Minute)
			u, err := b.store.SignUp(ctx, "kim@example.com", "hash", now)
			require.NoError(t, err)

			read := func() store.User {
				t.Helper()
				got, err := b.store.UserByID(ctx, u.ID)
				require.NoError(t, err)
				return got
			}
			before := read()

			require.NoError(t, b.store.EndSessions(ctx, u.ID))
			require.Equal(t, before.SessionEpoch+1, read().SessionEpoch, "EndSessions")

			_, err = b.store.SuspendUser(ctx, b.operator.ID, u.ID, "Fraud", now)
			require.NoError(t, err)
			require.False(t, read().SuspendedAt.IsZero(), "SuspendUser")

			require.NoError(t, b.store.ReinstateUser(ctx, b.operator.ID, u.ID, now))
			require.True(t, read().SuspendedAt.IsZero(), "ReinstateUser")

			_, err = b.store.ChangePassword(ctx, u.ID, "hash-2", now)
			require.NoError(t, err)
			require.Equal(t, "hash-2", read().PasswordHash, "ChangePassword")

			token := b.requestReset(t, u.Email, now)
			_, err = b.store.ResetPassword(ctx, token, "hash-3", now)
			require.NoError(t, err)
			require.Equal(t, "hash-3", read().PasswordHash, "ResetPassword")

			verify := b.outboxOf(t, store.MailVerifyEmail)
			require.Len(t, verify, 1)
			path, _ := verify[0].Data["Path"].(string)
			_, err = b.store.VerifyEmail(ctx, strings.TrimPrefix(path, "/account/verify/"), now)
			require.NoError(t, err)
			require.False(t, read().EmailVerifiedAt.IsZero(), "VerifyEmail")

			_, err = b.store.ConfirmAdmin(ctx, u.Email, now)
			require.NoError(t, err)
			require.False(t, read().AdminConfirmedAt.IsZero(), "ConfirmAdmin")
		})
	}
}

// TestUserByIDSeesOtherProcesses: a change made by another process (the
// operator's ConfirmAdmin on the server, another instance) shows at once on
// PostgreSQL, and within store.UserMemoFor on SQLite.
func TestUserByIDSeesOtherProcesses(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			ctx := t.Context()
			u := b.user(t, "kim@example.com")
			confirmed := func() bool {
				t.Helper()
				got, err := b.store.UserByID(ctx, u.ID)
				require.NoError(t, err)
				return !got.AdminConfirmedAt.IsZero()
			}
			require.False(t, confirmed())

			elsewhere, err := store.New(b.db)
			require.NoError(t, err)
			_, err = elsewhere.ConfirmAdmin(ctx, u.Email, base)
			require.NoError(t, err)
			fresh, err := b.store.UserByIDFromDatabase(ctx, u.ID)
			require.NoError(t, err)
			require.False(t, fresh.AdminConfirmedAt.IsZero(), "from the database")
			require.Equal(t, dialect == store.Postgres, confirmed(), "kept on SQLite only")
			b.store.AgeKeptUsers(store.UserMemoFor)
			require.True(t, confirmed(), "once kept for long enough")
		})
	}
}

// TestUserByIDKeepsAnOnSaleCrowd: 20,000 signed-in buyers each asking again,
// in the order they first came, find their accounts kept. The memo used to
// start over at 10,000 users, so every one of them read from the database
// again. On SQLite, where users are kept always; the keeping is the same
// on PostgreSQL while the hub listens.
func TestUserByIDKeepsAnOnSaleCrowd(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	ctx := t.Context()
	const crowd = 20_000
	_, err := b.db.Write.ExecContext(ctx, `
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
		INSERT INTO users (email, password_hash, created_at) SELECT 'buyer' || i || '@example.com', 'hash', 0 FROM n`, crowd)
	require.NoError(t, err)
	ids := b.ids(t, `SELECT id FROM users ORDER BY id`)
	require.Len(t, ids, crowd)

	for _, id := range ids {
		_, err := b.store.UserByID(ctx, id)
		require.NoError(t, err)
	}
	// Changed by hand, behind the store's back: what UserByID answers now
	// is what it kept.
	_, err = b.db.Write.ExecContext(ctx, `UPDATE users SET email = 'changed-' || email`)
	require.NoError(t, err)
	read := 0
	for _, id := range ids {
		u, err := b.store.UserByID(ctx, id)
		require.NoError(t, err)
		if strings.HasPrefix(u.Email, "changed-") {
			read++
		}
	}
	require.Zero(t, read, "users read from the database again, of %d", crowd)
}
