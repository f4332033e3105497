package jobs_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/jobs"
	"github.com/eventhive/eventhive/mail"
	"github.com/eventhive/eventhive/mail/mailtest"
	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// lostReply sends through another sender but reports its first send as
// failed, as when the connection drops after the server took the message:
// the job must try again, with the same Message-ID.
type lostReply struct {
	mail.Sender
	mu    sync.Mutex
	sends int
}

func (s *lostReply) Send(ctx context.Context, m mail.Message) error {
	if err := s.Sender.Send(ctx, m); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sends++
	if s.sends == 1 {
		return errors.New("connection reset before the server's reply")
	}
	return nil
}

// TestSendMailThroughSMTP sends a password reset message through mailpit:
// a send whose reply is lost is retried with the same Message-ID, the one
// the outbox stored; once sent, another job for the message sends nothing.
func TestSendMailThroughSMTP(t *testing.T) {
	t.Parallel()
	pit := mailtest.Require(t)
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := storetest.Open(t, dialect)
			st, err := store.New(db, store.WithMailHost("eventhive.test"))
			require.NoError(t, err)
			clock := &testClock{}
			sender := &lostReply{Sender: pit.Sender(t, "EventHive <tickets@eventhive.test>")}
			client, err := jobs.NewClient(db.RiverDriver(), jobs.Deps{Store: st, Now: clock.Now, Mail: sender},
				slog.New(slog.DiscardHandler), jobs.ForTests(clock))
			require.NoError(t, err)

			to := strings.ToLower(rand.Text()) + "@example.com"
			_, err = st.CreateUser(ctx, to, "x", clock.Now())
			require.NoError(t, err)
			require.NoError(t, st.RequestPasswordReset(ctx, to, func(token string) string {
				return "http://eventhive.test/password/reset/" + token
			}, clock.Now()))
			queued := outboxTo(t, st, to)
			require.Regexp(t, `^outbox-\d+\.\d+@eventhive\.test$`, queued.MessageID)

			require.NoError(t, client.Start(ctx))
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				require.NoError(t, client.Stop(ctx))
			})
			// River retries the failed send of its own accord.
			job := sendJob(t, client, queued.ID)
			waitFor(t, client, job.ID, rivertype.JobStateCompleted)
			done, err := client.JobGet(ctx, job.ID)
			require.NoError(t, err)
			require.Equal(t, 2, done.Attempt)
			require.Len(t, done.Errors, 1)
			sent := outboxTo(t, st, to)
			require.True(t, sent.Sent())
			require.Equal(t, 2, sent.Attempts)

			got := pit.To(t, to)
			require.Len(t, got, 2, "sent twice: at least once, recognisably")
			for _, m := range got {
				require.Equal(t, queued.MessageID, m.MessageID)
				require.Equal(t, "Reset your EventHive password", m.Subject)
				require.Contains(t, pit.Message(t, m.ID).Text, "http://eventhive.test/password/reset/")
			}

			again, err := client.Insert(ctx, store.SendMailArgs{MailID: queued.ID}, nil)
			require.NoError(t, err)
			waitFor(t, client, again.Job.ID, rivertype.JobStateCompleted)
			require.Len(t, pit.To(t, to), 2, "a message sent is not sent again")
		})
	}
}

// outboxTo is the one message of the outbox to the address.
func outboxTo(t *testing.T, st *store.Store, to string) store.OutboxMail {
	t.Helper()
	all, err := st.RecentMail(t.Context(), 100)
	require.NoError(t, err)
	var found []store.OutboxMail
	for _, m := range all {
		if m.To == to {
			found = append(found, m)
		}
	}
	require.Len(t, found, 1)
	return found[0]
}

// sendJob is the send_mail job of an outbox message.
func sendJob(t *testing.T, client *river.Client[*sql.Tx], mailID int64) *rivertype.JobRow {
	t.Helper()
	res, err := client.JobList(t.Context(), river.NewJobListParams().Kinds(store.SendMailArgs{}.Kind()).First(100))
	require.NoError(t, err)
	for _, job := range res.Jobs {
		var args store.SendMailArgs
		require.NoError(t, json.Unmarshal(job.EncodedArgs, &args))
		if args.MailID == mailID {
			return job
		}
	}
	t.Fatalf("no send_mail job for message %d", mailID)
	return nil
}

// waitFor waits until the job is in the state.
func waitFor(t *testing.T, client *river.Client[*sql.Tx], jobID int64, state rivertype.JobState) {
	t.Helper()
	require.Eventually(t, func() bool {
		job, err := client.JobGet(t.Context(), jobID)
		return err == nil && job.State == state
	}, 20*time.Second, 20*time.Millisecond, "job %d never %s", jobID, state)
}
