package store_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// mailJobs counts the send_mail jobs River holds, in any state.
func (b *testBundle) mailJobs(t *testing.T) int {
	t.Helper()
	return b.count(t, `SELECT count(*) FROM river_job WHERE kind = $1`, store.SendMailArgs{}.Kind())
}

func TestOutbox(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()

			t.Run("OneMessagePerKey", func(t *testing.T) {
				t.Parallel()
				b := setupWith(t, dialect, store.WithMailHost("tickets.example"))
				m := store.Mail{Key: "receipt:order:7", To: "ada@example.com", Kind: store.MailPasswordReset,
					Data: map[string]any{"Link": "http://x/1"}}
				queued, err := b.store.QueueMail(t.Context(), m, base)
				require.NoError(t, err)
				require.True(t, queued)
				for i := range 3 {
					m.Data = map[string]any{"Link": fmt.Sprintf("http://x/repeat-%d", i)}
					queued, err := b.store.QueueMail(t.Context(), m, base.Add(time.Minute))
					require.NoError(t, err)
					require.False(t, queued, "a repeat of the cause queues nothing")
				}
				require.Equal(t, 1, b.count(t, `SELECT count(*) FROM outbox`))
				require.Equal(t, 1, b.mailJobs(t))

				mail, err := b.store.RecentMail(t.Context(), 10)
				require.NoError(t, err)
				require.Len(t, mail, 1)
				got := mail[0]
				require.Equal(t, "http://x/1", got.Data["Link"], "the first message stays")
				require.Equal(t, fmt.Sprintf("outbox-%d.%d@tickets.example", got.ID, base.UnixMilli()), got.MessageID)
				require.False(t, got.Sent())
			})

			t.Run("RolledBackCauseLeavesNoMailAndNoJob", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				err := b.store.QueueMailThenFail(t.Context(), store.Mail{Key: "k", To: "a@example.com", Kind: "x"}, base)
				require.ErrorIs(t, err, store.ErrCauseFailed)
				require.Equal(t, 0, b.count(t, `SELECT count(*) FROM outbox`))
				require.Equal(t, 0, b.mailJobs(t))

				// The key is free for the cause that commits.
				queued, err := b.store.QueueMail(t.Context(), store.Mail{Key: "k", To: "a@example.com", Kind: "x"}, base)
				require.NoError(t, err)
				require.True(t, queued)
				require.Equal(t, 1, b.mailJobs(t))
			})

			t.Run("AttemptsAndSent", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				_, err := b.store.QueueMail(t.Context(), store.Mail{Key: "a", To: "a@example.com", Kind: "x"}, base)
				require.NoError(t, err)
				_, err = b.store.QueueMail(t.Context(), store.Mail{Key: "b", To: "b@example.com", Kind: "x"}, base.Add(time.Second))
				require.NoError(t, err)
				mail, err := b.store.RecentMail(t.Context(), 10)
				require.NoError(t, err)
				require.Equal(t, []string{"b", "a"}, []string{mail[0].Key, mail[1].Key}, "newest first")
				id := mail[1].ID

				first, err := b.store.MailToSend(t.Context(), id)
				require.NoError(t, err)
				second, err := b.store.MailToSend(t.Context(), id)
				require.NoError(t, err)
				require.Equal(t, 1, first.Attempts)
				require.Equal(t, 2, second.Attempts)
				require.Equal(t, first.MessageID, second.MessageID)

				require.NoError(t, b.store.MarkMailSent(t.Context(), id, base.Add(time.Minute)))
				require.NoError(t, b.store.MarkMailSent(t.Context(), id, base.Add(time.Hour)))
				sent, err := b.store.MailToSend(t.Context(), id)
				require.NoError(t, err)
				require.True(t, sent.Sent())
				require.Equal(t, base.Add(time.Minute), sent.SentAt, "the first send stays")

				_, err = b.store.MailToSend(t.Context(), id+100)
				require.ErrorIs(t, err, store.ErrNotFound)
			})
		})
	}
}

// requestReset asks for a reset link for the email at now and returns the
// token the link carries.
func (b *testBundle) requestReset(t *testing.T, email string, now time.Time) string {
	t.Helper()
	var token string
	require.NoError(t, b.store.RequestPasswordReset(t.Context(), email, func(tok string) string {
		token = tok
		return "http://eventhive.test/password/reset/" + tok
	}, now))
	require.NotEmpty(t, token)
	return token
}

func TestPasswordReset(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()

			t.Run("TokenHashOnlyAndMailInSameTransaction", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				u := b.user(t, "ada@example.com")
				token := b.requestReset(t, u.Email, base)
				require.Len(t, token, 43, "32 bytes, base64url without padding")

				sum := sha256.Sum256([]byte(token))
				require.Equal(t, 1, b.count(t, `SELECT count(*) FROM password_resets WHERE token_hash = $1 AND user_id = $2`,
					hex.EncodeToString(sum[:]), u.ID))
				require.Equal(t, 0, b.count(t, `SELECT count(*) FROM password_resets WHERE token_hash = $1`, token))

				mail, err := b.store.RecentMail(t.Context(), 10)
				require.NoError(t, err)
				require.Len(t, mail, 1)
				require.Equal(t, u.Email, mail[0].To)
				require.Equal(t, store.MailPasswordReset, mail[0].Kind)
				require.Equal(t, "http://eventhive.test/password/reset/"+token, mail[0].Data["Link"])
				require.True(t, strings.HasPrefix(mail[0].Key, "reset:"))
				require.Equal(t, 1, b.mailJobs(t))
			})

			t.Run("UnknownEmail", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				err := b.store.RequestPasswordReset(t.Context(), "nobody@example.com", func(string) string { return "" }, base)
				require.ErrorIs(t, err, store.ErrNotFound)
				require.Equal(t, 0, b.count(t, `SELECT count(*) FROM password_resets`))
				require.Equal(t, 0, b.count(t, `SELECT count(*) FROM outbox`))
				require.Equal(t, 0, b.mailJobs(t))
			})

			t.Run("SingleUse", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				u := b.user(t, "ada@example.com")
				token := b.requestReset(t, u.Email, base)
				other := b.requestReset(t, u.Email, base)
				require.NoError(t, b.store.CheckPasswordReset(t.Context(), token, base))

				reset, err := b.store.ResetPassword(t.Context(), token, "new-hash", base.Add(time.Minute))
				require.NoError(t, err)
				require.Equal(t, "new-hash", reset.PasswordHash)
				require.Equal(t, u.SessionEpoch+1, reset.SessionEpoch, "every session ends")

				_, err = b.store.ResetPassword(t.Context(), token, "other-hash", base.Add(2*time.Minute))
				require.ErrorIs(t, err, store.ErrTokenUsed)
				require.ErrorIs(t, b.store.CheckPasswordReset(t.Context(), token, base.Add(2*time.Minute)), store.ErrTokenUsed)
				_, err = b.store.ResetPassword(t.Context(), other, "other-hash", base.Add(2*time.Minute))
				require.ErrorIs(t, err, store.ErrTokenUsed, "a reset voids the account's other links")
				got, err := b.store.UserByID(t.Context(), u.ID)
				require.NoError(t, err)
				require.Equal(t, reset, got)
			})

			t.Run("Expiry", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				u := b.user(t, "ada@example.com")
				token := b.requestReset(t, u.Email, base)
				last := base.Add(store.PasswordResetTTL - time.Millisecond)
				require.NoError(t, b.store.CheckPasswordReset(t.Context(), token, last))
				expired := base.Add(store.PasswordResetTTL)
				require.ErrorIs(t, b.store.CheckPasswordReset(t.Context(), token, expired), store.ErrTokenExpired)
				_, err := b.store.ResetPassword(t.Context(), token, "new-hash", expired)
				require.ErrorIs(t, err, store.ErrTokenExpired)
				got, err := b.store.UserByID(t.Context(), u.ID)
				require.NoError(t, err)
				require.Equal(t, u, got, "nothing changed")

				_, err = b.store.ResetPassword(t.Context(), "not-a-token", "new-hash", base)
				require.ErrorIs(t, err, store.ErrNotFound)
			})

			t.Run("UsedOnceUnderRace", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				u := b.user(t, "ada@example.com")
				token := b.requestReset(t, u.Email, base)
				const n = 8
				errs := make([]error, n)
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() {
						_, errs[i] = b.store.ResetPassword(t.Context(), token, fmt.Sprintf("hash-%d", i), base)
					})
				}
				wg.Wait()
				ok := 0
				for _, err := range errs {
					if err == nil {
						ok++
					} else {
						require.ErrorIs(t, err, store.ErrTokenUsed)
					}
				}
				require.Equal(t, 1, ok)
				got, err := b.store.UserByID(t.Context(), u.ID)
				require.NoError(t, err)
				require.Equal(t, u.SessionEpoch+1, got.SessionEpoch)
			})

			t.Run("ChangePassword", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				u := b.user(t, "ada@example.com")
				token := b.requestReset(t, u.Email, base)
				changed, err := b.store.ChangePassword(t.Context(), u.ID, "changed-hash", base)
				require.NoError(t, err)
				require.Equal(t, "changed-hash", changed.PasswordHash)
				require.Equal(t, u.SessionEpoch+1, changed.SessionEpoch)
				require.ErrorIs(t, b.store.CheckPasswordReset(t.Context(), token, base), store.ErrTokenUsed,
					"a change voids the links sent before it")
			})
		})
	}
}
