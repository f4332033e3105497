package jobs

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/eventhive/eventhive/store"
)

// RefundPaymentWorker asks Stripe for the refund, with an idempotency key per
// checkout session so that retries never refund twice, then records it.
type RefundPaymentWorker struct {
	river.WorkerDefaults[store.RefundPaymentArgs]
	deps Deps
}

// Work refunds the payment.
func (w *RefundPaymentWorker) Work(ctx context.Context, job *river.Job[store.RefundPaymentArgs]) error {
	a := job.Args
	if err := w.deps.Stripe.Refund(ctx, a.PaymentIntentID, "refund:"+a.SessionID); err != nil {
		return fmt.Errorf("refund %s: %w", a.PaymentIntentID, err)
	}
	return w.deps.Store.MarkPaymentRefunded(ctx, a.PaymentIntentID, w.deps.Now())
}
