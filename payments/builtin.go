package payments

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
)

// Builtin is the checkout used when no Stripe account is configured. Its
// sessions are pages of the app itself; paying one produces the
// checkout.session.completed event Stripe would send, signed with the webhook
// secret, for the app's own webhook handler. No money moves, so expiring and
// refunding need no call anywhere.
type Builtin struct {
	baseURL       string
	webhookSecret string
}

// NewBuiltin returns the built-in checkout for an app at baseURL whose webhook
// handler verifies events with webhookSecret.
func NewBuiltin(baseURL, webhookSecret string) *Builtin {
	return &Builtin{baseURL: baseURL, webhookSecret: webhookSecret}
}

// BuiltinSessionPrefix starts the id of every built-in checkout session.
const BuiltinSessionPrefix = "cs_builtin_"

// CreateSession returns the order's built-in checkout page. The session id is
// derived from the order id, so paying twice is one session, as with Stripe's
// idempotency key.
func (b *Builtin) CreateSession(_ context.Context, req CheckoutRequest) (Session, error) {
	id := b.builtinID(BuiltinSessionPrefix, "checkout:"+strconv.FormatInt(req.OrderID, 10))
	return Session{ID: id, URL: b.baseURL + "/checkout/" + id}, nil
}

// ExpireCheckout has nothing to do: the built-in checkout page refuses
// to pay an order whose hold has ended, so there is nothing to expire.
func (b *Builtin) ExpireCheckout(context.Context, string) (*Payment, error) { return nil, nil }

// Refund has nothing to do: no money moved, so the refund is only
// recorded.
func (b *Builtin) Refund(context.Context, string, string) error { return nil }

// CompletedEvent builds the checkout.session.completed event Stripe would send
// for a paid session, and signs it as Stripe signs webhooks. It returns the
// payload and its Stripe-Signature header.
func (b *Builtin) CompletedEvent(sessionID string, req CheckoutRequest, now time.Time) ([]byte, string, error) {
	orderID := strconv.FormatInt(req.OrderID, 10)
	session := stripe.CheckoutSession{
		ID:                sessionID,
		Object:            "checkout.session",
		Mode:              stripe.CheckoutSessionModePayment,
		Status:            stripe.CheckoutSessionStatusComplete,
		PaymentStatus:     stripe.CheckoutSessionPaymentStatusPaid,
		ClientReferenceID: orderID,
		Metadata:          map[string]string{"order_id": orderID},
		AmountTotal:       req.Amount,
		Currency:          stripe.Currency(req.Currency),
		PaymentIntent:     &stripe.PaymentIntent{ID: "pi_builtin_" + randomHex(12)},
		Created:           now.Unix(),
	}
	return signedEvent(stripe.EventTypeCheckoutSessionCompleted, "", session, b.webhookSecret, now)
}

// signedEvent builds the event of a type about object (on a connected
// account, when account is not empty) that Stripe would send, and signs it as
// Stripe signs webhooks with secret. It returns the payload and its
// Stripe-Signature header.
func signedEvent(eventType stripe.EventType, account string, object any, secret string, now time.Time) ([]byte, string, error) {
	raw, err := json.Marshal(object)
	if err != nil {
		return nil, "", err
	}
	event := stripe.Event{
		ID:         "evt_builtin_" + randomHex(12),
		Object:     "event",
		Type:       eventType,
		Account:    account,
		APIVersion: stripe.APIVersion,
		Created:    now.Unix(),
		Data:       &stripe.EventData{Raw: raw},
	}
	payload, err := json.Marshal(event)
	if err != nil {
		return nil, "", err
	}
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{
		Payload: payload, Secret: secret, Timestamp: now,
	})
	return payload, signed.Header, nil
}

// builtinID is the id the built-in stand-in gives what an idempotency key
// names: the same key, the same id, as at Stripe.
func (b *Builtin) builtinID(prefix, key string) string {
	mac := hmac.New(sha256.New, []byte(b.webhookSecret))
	mac.Write([]byte(key))
	return prefix + hex.EncodeToString(mac.Sum(nil))[:24]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
