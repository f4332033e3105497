package jobs

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/riverqueue/river"
	"github.com/stripe/stripe-go/v76"

	"github.com/eventhive/eventhive/live"
	"github.com/eventhive/eventhive/payments"
	"github.com/eventhive/eventhive/store"
)

// ProcessStripeEventWorker turns a Stripe event into its effect on orders and
// payments. Every effect is idempotent, so a retry or a duplicate event
// changes nothing twice.
type ProcessStripeEventWorker struct {
	river.WorkerDefaults[store.ProcessStripeEventArgs]
	deps Deps
}

// Work processes the event.
func (w *ProcessStripeEventWorker) Work(ctx context.Context, job *river.Job[store.ProcessStripeEventArgs]) error {
	payload, err := w.deps.Store.StripeEvent(ctx, job.Args.EventID)
	if err != nil {
		return err
	}
	var event stripe.Event
	if err := json.Unmarshal(payload, &event); err != nil {
		return river.JobCancel(fmt.Errorf("event %s: %w", job.Args.EventID, err))
	}
	if err := w.process(ctx, event); err != nil {
		return err
	}
	return w.deps.Store.MarkStripeEventProcessed(ctx, event.ID, w.deps.Now())
}

func (w *ProcessStripeEventWorker) process(ctx context.Context, event stripe.Event) error {
	switch event.Type {
	case stripe.EventTypeCheckoutSessionCompleted, stripe.EventTypeCheckoutSessionAsyncPaymentSucceeded:
		var session stripe.CheckoutSession
		if err := json.Unmarshal(event.Data.Raw, &session); err != nil {
			return river.JobCancel(fmt.Errorf("event %s: checkout session: %w", event.ID, err))
		}
		// A completed session can still be unpaid (a delayed payment method):
		// its async_payment_succeeded event brings the payment later.
		if session.PaymentStatus != stripe.CheckoutSessionPaymentStatusPaid {
			return nil
		}
		p := payments.PaymentFromSession(&session)
		if err := w.deps.recordPayment(ctx, p); err != nil {
			return err
		}
		// The order is paid and its ticket sold, or the payment is being
		// refunded: either way its page changes.
		if p.OrderID != 0 {
			w.deps.publish(ctx, live.Event{OrderID: p.OrderID})
		}
		return nil
	case stripe.EventTypeChargeRefunded:
		var charge stripe.Charge
		if err := json.Unmarshal(event.Data.Raw, &charge); err != nil {
			return river.JobCancel(fmt.Errorf("event %s: charge: %w", event.ID, err))
		}
		if charge.PaymentIntent == nil || !charge.Refunded {
			return nil // partly refunded, or not ours
		}
		return w.deps.Store.MarkPaymentRefunded(ctx, charge.PaymentIntent.ID, w.deps.Now())
	default:
		// async_payment_failed leaves the order unpaid until its hold ends;
		// expired needs nothing: the hold ends by itself.
		return nil
	}
}
