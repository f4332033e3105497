package payments

import (
	"strconv"

	"github.com/stripe/stripe-go/v76"
)

// Payment is a paid checkout session as Stripe reports it.
type Payment struct {
	OrderID         int64 // from client_reference_id or metadata; 0 if neither names one
	SessionID       string
	PaymentIntentID string
	Amount          int64 // minor units
	Currency        string
}

// HandledEventTypes are the webhook events EventHive acts on. Others are
// acknowledged and ignored.
var HandledEventTypes = map[stripe.EventType]bool{
	stripe.EventTypeCheckoutSessionCompleted:             true,
	stripe.EventTypeCheckoutSessionAsyncPaymentSucceeded: true,
	stripe.EventTypeCheckoutSessionAsyncPaymentFailed:    true,
	stripe.EventTypeCheckoutSessionExpired:               true,
	stripe.EventTypeChargeRefunded:                       true,
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

// Refund is what a charge.refunded event says of a payment's refunds.
type Refund struct {
	PaymentIntentID string
	// AmountRefunded is the charge's total refunded so far, in minor units:
	// each event carries the total, not the change.
	AmountRefunded int64
	Full           bool // the whole charge is refunded
}

// RefundFromCharge reads the refunds of a refunded charge.
func RefundFromCharge(c *stripe.Charge) Refund {
	r := Refund{AmountRefunded: c.AmountRefunded, Full: c.Refunded || (c.Amount > 0 && c.AmountRefunded >= c.Amount)}
	if c.PaymentIntent != nil {
		r.PaymentIntentID = c.PaymentIntent.ID
	}
	return r
}
