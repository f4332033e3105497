package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/riverqueue/river"
	"github.com/stripe/stripe-go/v76"

	"github.com/eventhive/eventhive/live"
)

// ProcessStripeEventArgs processes a webhook event stored by the webhook
// handler in the same transaction as this job.
type ProcessStripeEventArgs struct {
	EventID string `json:"event_id"`
}

// Kind names the job in River's tables.
func (ProcessStripeEventArgs) Kind() string { return "process_stripe_event" }

// HandledEventTypes are the webhook events EventHive acts on. Others are
// acknowledged and ignored.
var HandledEventTypes = map[stripe.EventType]bool{
	stripe.EventTypeCheckoutSessionCompleted:             true,
	stripe.EventTypeCheckoutSessionAsyncPaymentSucceeded: true,
	stripe.EventTypeCheckoutSessionAsyncPaymentFailed:    true,
	stripe.EventTypeCheckoutSessionExpired:               true,
	stripe.EventTypeChargeRefunded:                       true,
}

// ProcessStripeEventWorker turns a Stripe event into its effect on orders and
// payments. Every effect is idempotent, so a retry or a duplicate event
// changes nothing twice.
type ProcessStripeEventWorker struct {
	river.WorkerDefaults[ProcessStripeEventArgs]
	deps Deps
}

// Work processes the event.
func (w *ProcessStripeEventWorker) Work(ctx context.Context, job *river.Job[ProcessStripeEventArgs]) error {
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
		p := PaymentFromSession(&session)
		if err := w.deps.Store.RecordPayment(ctx, p, w.deps.Now()); err != nil {
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

// PaymentFromSession reads the payment of a paid checkout session. The order
// is client_reference_id, or the order_id metadata when that is missing.
func PaymentFromSession(s *stripe.CheckoutSession) Payment {
	p := Payment{SessionID: s.ID, Amount: s.AmountTotal, Currency: string(s.Currency)}
	if s.PaymentIntent != nil {
		p.PaymentIntentID = s.PaymentIntent.ID
	}
	ref := s.ClientReferenceID
	if ref == "" {
		ref = s.Metadata["order_id"]
	}
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil && id > 0 {
		p.OrderID = id
	}
	return p
}
