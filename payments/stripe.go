package payments

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/account"
	"github.com/stripe/stripe-go/v76/accountlink"
	"github.com/stripe/stripe-go/v76/checkout/session"
	"github.com/stripe/stripe-go/v76/paymentintent"
	"github.com/stripe/stripe-go/v76/refund"
	"github.com/stripe/stripe-go/v76/transfer"
	"github.com/stripe/stripe-go/v76/transferreversal"
)

// Stripe talks to Stripe's API.
type Stripe struct {
	sessions       *session.Client
	refunds        *refund.Client
	paymentIntents *paymentintent.Client
	transfers      *transfer.Client
	reversals      *transferreversal.Client
	accounts       *account.Client
	accountLinks   *accountlink.Client
	now            func() time.Time
}

// NewStripe returns a Stripe client for a secret key. apiURL, when not empty,
// replaces Stripe's API address (tests point it at stripe-mock).
func NewStripe(secretKey, apiURL string, now func() time.Time) *Stripe {
	config := &stripe.BackendConfig{
		// Three tries of at most 8 s each stay inside a job's 30 s timeout.
		HTTPClient:        &http.Client{Timeout: 8 * time.Second},
		MaxNetworkRetries: stripe.Int64(2),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelError},
	}
	if apiURL != "" {
		config.URL = stripe.String(apiURL)
	}
	backend := stripe.GetBackendWithConfig(stripe.APIBackend, config)
	return &Stripe{
		sessions:       &session.Client{B: backend, Key: secretKey},
		refunds:        &refund.Client{B: backend, Key: secretKey},
		paymentIntents: &paymentintent.Client{B: backend, Key: secretKey},
		transfers:      &transfer.Client{B: backend, Key: secretKey},
		reversals:      &transferreversal.Client{B: backend, Key: secretKey},
		accounts:       &account.Client{B: backend, Key: secretKey},
		accountLinks:   &accountlink.Client{B: backend, Key: secretKey},
		now:            now,
	}
}

// CreateSession creates a Checkout Session for an order. The idempotency key
// makes a second click on Pay return the same session.
func (s *Stripe) CreateSession(ctx context.Context, req CheckoutRequest) (Session, error) {
	orderID := strconv.FormatInt(req.OrderID, 10)
	params := &stripe.CheckoutSessionParams{
		Mode:               stripe.String(string(stripe.CheckoutSessionModePayment)),
		PaymentMethodTypes: stripe.StringSlice([]string{"card"}),
		LineItems: []*stripe.CheckoutSessionLineItemParams{{
			Quantity: stripe.Int64(1),
			PriceData: &stripe.CheckoutSessionLineItemPriceDataParams{
				Currency:   stripe.String(req.Currency),
				UnitAmount: stripe.Int64(req.Amount),
				ProductData: &stripe.CheckoutSessionLineItemPriceDataProductDataParams{
					Name: stripe.String(req.Title),
				},
			},
		}},
		ClientReferenceID: stripe.String(orderID),
		SuccessURL:        stripe.String(req.SuccessURL),
		CancelURL:         stripe.String(req.CancelURL),
		// A minute past Stripe's minimum, so that the request's own latency
		// never takes it below.
		ExpiresAt: stripe.Int64(s.now().Add(StripeMinimumSessionLife + time.Minute).Unix()),
	}
	params.AddMetadata("order_id", orderID)
	params.Context = ctx
	params.SetIdempotencyKey("checkout:" + orderID)
	cs, err := s.sessions.New(params)
	if err != nil {
		return Session{}, fmt.Errorf("create checkout session: %w", err)
	}
	return Session{ID: cs.ID, URL: cs.URL}, nil
}

// ExpireCheckout ends a checkout session so that it can no longer be paid.
// Stripe only expires open sessions; when it refuses, the session tells why: already expired (nothing to do) or
// complete, in which case its payment is returned.
func (s *Stripe) ExpireCheckout(ctx context.Context, sessionID string) (*Payment, error) {
	params := &stripe.CheckoutSessionExpireParams{}
	params.Context = ctx
	_, err := s.sessions.Expire(sessionID, params)
	var stripeErr *stripe.Error
	if err == nil || !errors.As(err, &stripeErr) || stripeErr.Type != stripe.ErrorTypeInvalidRequest {
		return nil, err
	}
	get := &stripe.CheckoutSessionParams{}
	get.Context = ctx
	cs, getErr := s.sessions.Get(sessionID, get)
	switch {
	case getErr != nil:
		return nil, errors.Join(err, getErr)
	case cs.Status == stripe.CheckoutSessionStatusExpired:
		return nil, nil
	case cs.Status == stripe.CheckoutSessionStatusComplete && cs.PaymentStatus == stripe.CheckoutSessionPaymentStatusPaid:
		p := PaymentFromSession(cs)
		return &p, nil
	case cs.Status == stripe.CheckoutSessionStatusComplete:
		return nil, nil // completed but unpaid: an async payment event follows
	default:
		return nil, err
	}
}

// Refund refunds a payment in full; the key makes repeats harmless.
func (s *Stripe) Refund(ctx context.Context, paymentIntentID, idempotencyKey string) error {
	_, err := s.refund(ctx, &stripe.RefundParams{PaymentIntent: stripe.String(paymentIntentID)}, idempotencyKey)
	return err
}

// refund asks for a refund under an idempotency key. A charge Stripe has
// refunded in full already counts as refunded: it returns no refund id.
func (s *Stripe) refund(ctx context.Context, params *stripe.RefundParams, idempotencyKey string) (string, error) {
	params.Context = ctx
	params.SetIdempotencyKey(idempotencyKey)
	r, err := s.refunds.New(params)
	var stripeErr *stripe.Error
	if errors.As(err, &stripeErr) && stripeErr.Code == stripe.ErrorCodeChargeAlreadyRefunded {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return r.ID, nil
}
