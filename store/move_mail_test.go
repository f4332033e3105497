package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
)

// TestMoveToPostgresMail moves the outbox and the reset tokens: a message
// sent stays sent, one not sent yet gets its job again, and a link sent
// before the move still works after it.
func TestMoveToPostgresMail(t *testing.T) {
	t.Parallel()
	b := setupMove(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Millisecond)
	email := b.fixture.seller.Email
	// The fixture's payments queued receipts and sold notices, not sent.
	fixture, err := b.srcStore.RecentMail(ctx, 100)
	require.NoError(t, err)
	var tokens []string
	for range 2 {
		require.NoError(t, b.srcStore.RequestPasswordReset(ctx, email, func(token string) string {
			tokens = append(tokens, token)
			return "http://eventhive.test/password/reset/" + token
		}, now))
	}
	queued, err := b.srcStore.RecentMail(ctx, 2)
	require.NoError(t, err)
	require.Len(t, queued, 2)
	require.NoError(t, b.srcStore.MarkMailSent(ctx, queued[1].ID, now))
	before, err := b.srcStore.RecentMail(ctx, 100)
	require.NoError(t, err)

	counts, err := b.move(t)
	require.NoError(t, err)
	require.Equal(t, len(fixture)+2, counts.Mail)
	require.Equal(t, 2, counts.PasswordResets)
	require.Equal(t, len(fixture)+1, counts.MailJobs, "only the messages not sent yet")

	dstStore, err := store.New(b.dst)
	require.NoError(t, err)
	after, err := dstStore.RecentMail(ctx, 100)
	require.NoError(t, err)
	require.Equal(t, before, after)
	jobs := movedJobs(t, b.dst, store.SendMailArgs{}.Kind())
	require.Len(t, jobs, len(fixture)+1)
	var args []string
	for _, j := range jobs {
		args = append(args, string(j.EncodedArgs))
	}
	require.Contains(t, args, `{"mail_id": `+itoa(queued[0].ID)+`}`)
	require.NotContains(t, args, `{"mail_id": `+itoa(queued[1].ID)+`}`, "a message sent is not sent again")
	for _, token := range tokens {
		require.NoError(t, dstStore.CheckPasswordReset(ctx, token, now))
	}

	// New rows get new ids.
	require.NoError(t, dstStore.RequestPasswordReset(ctx, email, func(string) string { return "x" }, now))
}
