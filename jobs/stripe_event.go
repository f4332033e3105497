package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

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
	log  *slog.Logger
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
	if err := w.process(ctx, job, event); err != nil {
		return err
	}
	return w.deps.Store.MarkStripeEventProcessed(ctx, event.ID, w.deps.Now())
}

// unknownChargeAttempts is how often a refund of a payment not recorded yet
// is tried: its checkout event may still be on its way (River waits 1 s, then
// 16 s, 81 s, 256 s between tries). After that the charge is not ours.
const unknownChargeAttempts = 5

func (w *ProcessStripeEventWorker) process(ctx context.Context, job *river.Job[store.ProcessStripeEventArgs], event stripe.Event) error {
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
			w.deps.publish(live.Event{OrderID: p.OrderID})
		}
		return nil
	case stripe.EventTypeChargeRefunded:
		var charge stripe.Charge
		if err := json.Unmarshal(event.Data.Raw, &charge); err != nil {
			return river.JobCancel(fmt.Errorf("event %s: charge: %w", event.ID, err))
		}
		r := payments.RefundFromCharge(&charge)
		if r.PaymentIntentID == "" {
			return nil // not a checkout's payment
		}
		orderID, ticketID, err := w.deps.Store.RecordRefund(ctx, r.PaymentIntentID, r.AmountRefunded, r.Full, w.deps.Now())
		if errors.Is(err, store.ErrNotFound) && job.Attempt >= unknownChargeAttempts {
			return nil
		}
		if err != nil {
			return err
		}
		if orderID != 0 || ticketID != 0 {
			w.deps.publish(live.Event{OrderID: orderID, TicketID: ticketID})
		}
		return nil
	case stripe.EventTypeAccountUpdated:
		a, err := payments.AccountFromEvent(event)
		if err != nil {
			return river.JobCancel(fmt.Errorf("event %s: %w", event.ID, err))
		}
		err = w.deps.Store.UpdatePayoutAccount(ctx, a.ID, a.PayoutsEnabled, a.Details, w.deps.Now())
		if errors.Is(err, store.ErrNotFound) {
			// Not a seller's account: another platform's, or one whose
			// seller's request failed before recording it. A seller back
			// from onboarding has their account read from Stripe anyway.
			w.log.WarnContext(ctx, "account.updated for an unknown account: ignored", "event", event.ID, "account", a.ID)
			return nil
		}
		return err
	default:
		// async_payment_failed leaves the order unpaid until its hold ends;
		// expired needs nothing: the hold ends by itself.
		return nil
	}
}
