package jobs

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/eventhive/eventhive/live"
	"github.com/eventhive/eventhive/store"
)

// ExpireOrderWorker records the cancellation of an order whose hold ran out,
// then expires its Stripe checkout session, which Stripe itself keeps open
// for at least 30 minutes. Readers already treat such an order as expired;
// this makes it durable.
type ExpireOrderWorker struct {
	river.WorkerDefaults[store.ExpireOrderArgs]
	deps Deps
}

// Work expires the order, or snoozes until the hold ends if River ran the job
// early (its scheduler and the database clock may differ slightly).
func (w *ExpireOrderWorker) Work(ctx context.Context, job *river.Job[store.ExpireOrderArgs]) error {
	now := w.deps.Now()
	endsAt, sessionID, err := w.deps.Store.ExpireOrder(ctx, job.Args.OrderID, now)
	if err != nil {
		return err
	}
	if endsAt.After(now) {
		return river.JobSnooze(endsAt.Sub(now))
	}
	// The ticket is back on sale (or the order had ended already, which an
	// extra event does not harm).
	w.deps.publish(live.Event{OrderID: job.Args.OrderID})
	if sessionID == "" {
		return nil
	}
	// The session may have been paid just before the hold ended: then the
	// payment wins, as a late payment. A retry repeats both steps safely.
	paid, err := w.deps.Stripe.ExpireCheckout(ctx, sessionID)
	if err != nil {
		return fmt.Errorf("expire checkout session %s: %w", sessionID, err)
	}
	if paid != nil {
		if err := w.deps.recordPayment(ctx, *paid); err != nil {
			return err
		}
		w.deps.publish(live.Event{OrderID: job.Args.OrderID})
	}
	return nil
}
