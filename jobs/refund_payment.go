package jobs

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"
)

// RefundPaymentArgs refunds a payment that could not pay for its order: the
// ticket went to someone else, the amount was wrong, or no such order exists.
type RefundPaymentArgs struct {
	SessionID       string `json:"session_id"`
	PaymentIntentID string `json:"payment_intent_id"`
}

// Kind names the job in River's tables.
func (RefundPaymentArgs) Kind() string { return "refund_payment" }

// RefundPaymentWorker asks Stripe for the refund, with an idempotency key per
// checkout session so that retries never refund twice, then records it.
type RefundPaymentWorker struct {
	river.WorkerDefaults[RefundPaymentArgs]
	deps Deps
}

// Work refunds the payment.
func (w *RefundPaymentWorker) Work(ctx context.Context, job *river.Job[RefundPaymentArgs]) error {
	a := job.Args
	if err := w.deps.Stripe.Refund(ctx, a.PaymentIntentID, "refund:"+a.SessionID); err != nil {
		return fmt.Errorf("refund %s: %w", a.PaymentIntentID, err)
	}
	return w.deps.Store.MarkPaymentRefunded(ctx, a.PaymentIntentID, w.deps.Now())
}
