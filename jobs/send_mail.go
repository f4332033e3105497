package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/eventhive/eventhive/mail"
	"github.com/eventhive/eventhive/store"
)

// SendMailWorker sends a message of the outbox. A failed send returns its
// error, so River tries again later with the same Message-ID; a message sent
// already is not sent again. (A send the server took whose success was not
// recorded, say the process died in between, is sent once more: mail is
// sent at least once, and its Message-ID tells the copies apart.)
type SendMailWorker struct {
	river.WorkerDefaults[store.SendMailArgs]
	deps Deps
}

// Work renders the message, sends it and records that it went.
func (w *SendMailWorker) Work(ctx context.Context, job *river.Job[store.SendMailArgs]) error {
	m, err := w.deps.Store.MailToSend(ctx, job.Args.MailID)
	if errors.Is(err, store.ErrNotFound) {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if m.Sent() {
		return nil
	}
	content, err := mail.RenderAt(w.deps.BaseURL, m.Kind, m.Data)
	if err != nil {
		// Retrying renders the same templates with the same data.
		return river.JobCancel(fmt.Errorf("render mail %d: %w", m.ID, err))
	}
	if err := w.deps.Mail.Send(ctx, mail.Message{ID: m.MessageID, To: m.To, Content: content}); err != nil {
		return err
	}
	return w.deps.Store.MarkMailSent(ctx, m.ID, w.deps.Now())
}
