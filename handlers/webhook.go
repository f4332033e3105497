package handlers

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/eventhive/eventhive/store"
)

// maxWebhookBytes bounds a webhook body. Stripe's events are far smaller.
const maxWebhookBytes = 64 << 10

var errBadEvent = errors.New("event not verified")

// webhookEndpoint is one of the app's Stripe webhook endpoints: the secret
// Stripe signs its events with, and the event types acted on there.
type webhookEndpoint struct {
	secret  string
	handled map[stripe.EventType]bool
}

// stripeWebhook receives the platform account's events: payments and
// refunds.
func (h *Handler) stripeWebhook(w http.ResponseWriter, r *http.Request) {
	h.serveWebhook(w, r, h.platformEvents)
}

// stripeConnectWebhook receives the connected accounts' events, which Stripe
// sends to an endpoint of their own, with its own secret.
func (h *Handler) stripeConnectWebhook(w http.ResponseWriter, r *http.Request) {
	h.serveWebhook(w, r, h.connectEvents)
}

// serveWebhook receives an endpoint's events. It answers 200 only once a
// verified event and the job that processes it are committed, so Stripe
// retries anything not safely stored.
func (h *Handler) serveWebhook(w http.ResponseWriter, r *http.Request, endpoint webhookEndpoint) {
	payload, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
		return
	}
	if err != nil {
		http.Error(w, "cannot read payload", http.StatusBadRequest)
		return
	}
	err = h.receiveStripeEvent(r.Context(), endpoint, payload, r.Header.Get("Stripe-Signature"))
	if errors.Is(err, errBadEvent) {
		h.log.WarnContext(r.Context(), "webhook refused", "err", err)
		http.Error(w, "invalid signature or event", http.StatusBadRequest)
		return
	}
	if store.Unavailable(err) {
		// Stripe retries; the database is expected back.
		h.log.WarnContext(r.Context(), "webhook: database unavailable", "err", err)
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	if err != nil {
		h.log.ErrorContext(r.Context(), "webhook", "err", err)
		http.Error(w, "cannot store event", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// receiveStripeEvent verifies an event's signature with the endpoint's
// secret, then stores it with the job that processes it. Both Stripe's
// webhooks and the built-in stand-ins come through here. Correctly signed
// events of types the endpoint does not act on are acknowledged and dropped.
func (h *Handler) receiveStripeEvent(ctx context.Context, endpoint webhookEndpoint, payload []byte, signature string) error {
	event, err := webhook.ConstructEvent(payload, signature, endpoint.secret)
	if err != nil {
		return errors.Join(errBadEvent, err)
	}
	if event.ID == "" {
		return errors.Join(errBadEvent, errors.New("event has no id"))
	}
	// ConstructEvent refuses a signature older than its tolerance, but not
	// one from the future; nor does it look at the event's own time.
	latest := h.now().Add(webhook.DefaultTolerance)
	if signedAt, ok := signatureTime(signature); !ok || signedAt.After(latest) || time.Unix(event.Created, 0).After(latest) {
		return errors.Join(errBadEvent, errors.New("event or signature dated in the future"))
	}
	// Stripe sends neither, and PostgreSQL would refuse to store them.
	if !utf8.Valid(payload) || len(event.ID) > 255 || strings.ContainsFunc(event.ID, unicode.IsControl) {
		return errors.Join(errBadEvent, errors.New("event is not valid UTF-8 or has an unusable id"))
	}
	h.metrics.WebhookEvent(string(event.Type))
	if !endpoint.handled[event.Type] {
		return nil
	}
	_, err = h.store.RecordStripeEvent(ctx, event.ID, string(event.Type), payload, h.now())
	return err
}

// signatureTime reads the time a Stripe-Signature header was signed at
// ("t=1700000000,v1=…").
func signatureTime(header string) (time.Time, bool) {
	for part := range strings.SplitSeq(header, ",") {
		if v, ok := strings.CutPrefix(part, "t="); ok {
			sec, err := strconv.ParseInt(v, 10, 64)
			return time.Unix(sec, 0), err == nil
		}
	}
	return time.Time{}, false
}
