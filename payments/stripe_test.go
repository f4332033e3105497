package payments_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/eventhive/eventhive/payments"
)

var checkoutRequest = payments.CheckoutRequest{
	OrderID:    42,
	Title:      "Front row",
	Amount:     3050,
	Currency:   "usd",
	SuccessURL: "http://localhost:8080/orders/42?checkout=done",
	CancelURL:  "http://localhost:8080/orders/42",
}

// stripeMock returns a client for the stripe-mock server named by
// STRIPE_MOCK_URL. CI always runs stripe-mock; elsewhere the test is skipped.
func stripeMock(t *testing.T) *payments.Stripe {
	t.Helper()
	url := os.Getenv("STRIPE_MOCK_URL")
	if url == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("STRIPE_MOCK_URL is not set: CI must run stripe-mock")
		}
		t.Skip("STRIPE_MOCK_URL is not set: start stripe-mock to run this test (see .ci/run)")
	}
	return payments.NewStripe("sk_test_123", url, time.Now)
}

func TestStripeMock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("CreateSession", func(t *testing.T) {
		t.Parallel()
		session, err := stripeMock(t).CreateSession(ctx, checkoutRequest)
		require.NoError(t, err)
		require.Regexp(t, `^cs_`, session.ID)
		require.NotEmpty(t, session.URL)
	})
	t.Run("ExpireCheckout", func(t *testing.T) {
		t.Parallel()
		paid, err := stripeMock(t).ExpireCheckout(ctx, "cs_test_123")
		require.NoError(t, err)
		require.Nil(t, paid)
	})
	t.Run("Refund", func(t *testing.T) {
		t.Parallel()
		require.NoError(t, stripeMock(t).Refund(ctx, "pi_123", "refund:cs_test_123"))
	})
}

// fakeStripe answers like Stripe's API for the calls it is told about and
// records every request it gets.
type fakeStripe struct {
	mu       sync.Mutex
	requests []*http.Request
	forms    []map[string][]string
	handlers map[string]http.HandlerFunc
}

func newFakeStripe(t *testing.T, handlers map[string]http.HandlerFunc) (*fakeStripe, string) {
	f := &fakeStripe{handlers: handlers}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, r.ParseForm())
		f.mu.Lock()
		f.requests = append(f.requests, r)
		f.forms = append(f.forms, r.PostForm)
		f.mu.Unlock()
		h, ok := f.handlers[r.Method+" "+r.URL.Path]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":{"type":"invalid_request_error","message":"no such route"}}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func TestStripeRequests(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("CreateSessionSendsTheOrder", func(t *testing.T) {
		t.Parallel()
		fake, url := newFakeStripe(t, map[string]http.HandlerFunc{
			"POST /v1/checkout/sessions": func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(`{"id":"cs_test_1","object":"checkout.session","url":"https://checkout.stripe.com/c/pay/cs_test_1"}`))
			},
		})
		now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
		session, err := payments.NewStripe("sk_test_123", url, func() time.Time { return now }).CreateSession(ctx, checkoutRequest)
		require.NoError(t, err)
		require.Equal(t, payments.Session{ID: "cs_test_1", URL: "https://checkout.stripe.com/c/pay/cs_test_1"}, session)

		require.Len(t, fake.requests, 1)
		r, form := fake.requests[0], fake.forms[0]
		require.Equal(t, "checkout:42", r.Header.Get("Idempotency-Key"))
		require.Equal(t, "Bearer sk_test_123", r.Header.Get("Authorization"))
		require.Equal(t, stripe.APIVersion, r.Header.Get("Stripe-Version"))
		want := map[string]string{
			"mode":                                          "payment",
			"payment_method_types[0]":                       "card",
			"client_reference_id":                           "42",
			"metadata[order_id]":                            "42",
			"success_url":                                   checkoutRequest.SuccessURL,
			"cancel_url":                                    checkoutRequest.CancelURL,
			"line_items[0][quantity]":                       "1",
			"line_items[0][price_data][currency]":           "usd",
			"line_items[0][price_data][unit_amount]":        "3050",
			"line_items[0][price_data][product_data][name]": "Front row",
		}
		for key, value := range want {
			require.Equal(t, []string{value}, form[key], key)
		}
		expiresAt, err := strconv.ParseInt(form["expires_at"][0], 10, 64)
		require.NoError(t, err)
		require.GreaterOrEqual(t, time.Unix(expiresAt, 0).Sub(now), payments.StripeMinimumSessionLife)
		require.LessOrEqual(t, time.Unix(expiresAt, 0).Sub(now), 24*time.Hour)
	})

	// Stripe refuses to expire a session that is no longer open; the session
	// then says whether the buyer paid.
	expireRefused := func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":{"type":"invalid_request_error","message":"Only Checkout Sessions with a status in [\"open\"] can be expired."}}`))
	}
	t.Run("ExpireCheckoutOfAPaidSessionReturnsThePayment", func(t *testing.T) {
		t.Parallel()
		_, url := newFakeStripe(t, map[string]http.HandlerFunc{
			"POST /v1/checkout/sessions/cs_paid/expire": expireRefused,
			"GET /v1/checkout/sessions/cs_paid": func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(`{"id":"cs_paid","object":"checkout.session","status":"complete","payment_status":"paid",
					"client_reference_id":"42","amount_total":3050,"currency":"usd","payment_intent":"pi_paid"}`))
			},
		})
		paid, err := payments.NewStripe("sk_test_123", url, time.Now).ExpireCheckout(ctx, "cs_paid")
		require.NoError(t, err)
		require.Equal(t, &payments.Payment{OrderID: 42, SessionID: "cs_paid", PaymentIntentID: "pi_paid", Amount: 3050, Currency: "usd"}, paid)
	})
	t.Run("ExpireCheckoutOfAnExpiredSessionIsDone", func(t *testing.T) {
		t.Parallel()
		_, url := newFakeStripe(t, map[string]http.HandlerFunc{
			"POST /v1/checkout/sessions/cs_old/expire": expireRefused,
			"GET /v1/checkout/sessions/cs_old": func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(`{"id":"cs_old","object":"checkout.session","status":"expired","payment_status":"unpaid"}`))
			},
		})
		paid, err := payments.NewStripe("sk_test_123", url, time.Now).ExpireCheckout(ctx, "cs_old")
		require.NoError(t, err)
		require.Nil(t, paid)
	})
	t.Run("ExpireCheckoutFailsWhenStripeFails", func(t *testing.T) {
		t.Parallel()
		_, url := newFakeStripe(t, map[string]http.HandlerFunc{
			"POST /v1/checkout/sessions/cs_x/expire": func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = w.Write([]byte(`{"error":{"type":"api_error","message":"boom"}}`))
			},
		})
		client := payments.NewStripe("sk_test_123", url, time.Now)
		_, err := client.ExpireCheckout(ctx, "cs_x")
		require.Error(t, err)
	})
	t.Run("RefundSendsItsIdempotencyKey", func(t *testing.T) {
		t.Parallel()
		fake, url := newFakeStripe(t, map[string]http.HandlerFunc{
			"POST /v1/refunds": func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(`{"id":"re_1","object":"refund","status":"succeeded"}`))
			},
		})
		require.NoError(t, payments.NewStripe("sk_test_123", url, time.Now).Refund(ctx, "pi_1", "refund:cs_1"))
		require.Equal(t, "refund:cs_1", fake.requests[0].Header.Get("Idempotency-Key"))
		require.Equal(t, []string{"pi_1"}, fake.forms[0]["payment_intent"])
	})
	t.Run("RefundOfARefundedChargeIsDone", func(t *testing.T) {
		t.Parallel()
		_, url := newFakeStripe(t, map[string]http.HandlerFunc{
			"POST /v1/refunds": func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"error":{"type":"invalid_request_error","code":"charge_already_refunded","message":"already refunded"}}`))
			},
		})
		require.NoError(t, payments.NewStripe("sk_test_123", url, time.Now).Refund(ctx, "pi_1", "refund:cs_1"))
	})
}

func TestBuiltin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	builtin := payments.NewBuiltin("http://localhost:8080", "whsec_test")

	t.Run("SessionIsOnePerOrder", func(t *testing.T) {
		t.Parallel()
		first, err := builtin.CreateSession(ctx, checkoutRequest)
		require.NoError(t, err)
		again, err := builtin.CreateSession(ctx, checkoutRequest)
		require.NoError(t, err)
		require.Equal(t, first, again)
		require.Equal(t, "http://localhost:8080/checkout/"+first.ID, first.URL)

		other := checkoutRequest
		other.OrderID = 43
		second, err := builtin.CreateSession(ctx, other)
		require.NoError(t, err)
		require.NotEqual(t, first.ID, second.ID)
	})

	t.Run("CompletedEventIsSignedLikeStripes", func(t *testing.T) {
		t.Parallel()
		now := time.Now()
		payload, header, err := builtin.CompletedEvent("cs_builtin_1", checkoutRequest, now)
		require.NoError(t, err)

		event, err := webhook.ConstructEvent(payload, header, "whsec_test")
		require.NoError(t, err)
		require.Equal(t, stripe.EventTypeCheckoutSessionCompleted, event.Type)
		var session stripe.CheckoutSession
		require.NoError(t, json.Unmarshal(event.Data.Raw, &session))
		p := payments.PaymentFromSession(&session)
		require.Equal(t, int64(42), p.OrderID)
		require.Equal(t, "cs_builtin_1", p.SessionID)
		require.Equal(t, int64(3050), p.Amount)
		require.Equal(t, "usd", p.Currency)
		require.Regexp(t, `^pi_builtin_`, p.PaymentIntentID)
		require.Equal(t, stripe.CheckoutSessionPaymentStatusPaid, session.PaymentStatus)

		_, err = webhook.ConstructEvent(payload, header, "whsec_other")
		require.Error(t, err, "another secret must not verify")
	})
}
