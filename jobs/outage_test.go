package jobs_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/jobs"
	"github.com/eventhive/eventhive/payments"
	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// flakyStripe answers like Stripe for refunds and session expiry, except
// while it is down, when every request fails with 503.
type flakyStripe struct {
	down atomic.Bool

	mu       sync.Mutex
	failed   map[string]int // requests refused while down, by path
	refunds  map[string]int // refunds made, by idempotency key
	expired  map[string]int // sessions expired, by path
	keysSeen []string
}

func newFlakyStripe(t *testing.T) (*flakyStripe, string) {
	f := &flakyStripe{failed: map[string]int{}, refunds: map[string]int{}, expired: map[string]int{}}
	f.down.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if f.down.Load() {
			f.failed[r.URL.Path]++
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error":{"type":"api_error","message":"unavailable"}}`))
			return
		}
		switch r.URL.Path {
		case "/v1/refunds":
			key := r.Header.Get("Idempotency-Key")
			f.keysSeen = append(f.keysSeen, key)
			// Stripe replays the first answer for a repeated key.
			if f.refunds[key] == 0 {
				f.refunds[key]++
			}
			_, _ = w.Write([]byte(`{"id":"re_1","object":"refund","status":"succeeded"}`))
		default:
			f.expired[r.URL.Path]++
			_, _ = w.Write([]byte(`{"id":"cs_1","object":"checkout.session","status":"expired"}`))
		}
	}))
	t.Cleanup(srv.Close)
	return f, srv.URL
}

// TestStripeOutage makes Stripe unreachable while a refund and a session
// expiry are due: both jobs fail, retry with backoff, and succeed once Stripe
// answers again; the refund is made once, under its idempotency key.
func TestStripeOutage(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := storetest.Open(t, dialect)
			st, err := store.New(db)
			require.NoError(t, err)
			fake, url := newFlakyStripe(t)
			now := func() time.Time { return time.Now().UTC() }
			client, err := jobs.NewClient(db.RiverDriver(), jobs.Deps{
				Store: st, Stripe: payments.NewStripe("sk_test_123", url, now), Now: now,
			}, slog.New(slog.DiscardHandler))
			require.NoError(t, err)
			require.NoError(t, client.Start(ctx))
			t.Cleanup(func() { _ = client.Stop(context.Background()) })

			seller, err := st.CreateUser(ctx, "seller@example.com", "x", now())
			require.NoError(t, err)
			buyer, err := st.CreateUser(ctx, "buyer@example.com", "x", now())
			require.NoError(t, err)
			ticket, err := st.CreateListing(ctx, seller.ID, store.Single("Outage", 1000, "usd"), now())
			require.NoError(t, err)
			order, err := st.CreateOrder(ctx, buyer.ID, ticket.ID, 1, now(), 3*time.Second) // room to set the session on a loaded machine
			require.NoError(t, err)
			require.NoError(t, st.SetCheckoutSession(ctx, order.ID, buyer.ID, "cs_outage", now()))
			// A payment for the wrong amount must be refunded.
			require.NoError(t, st.RecordPayment(ctx, store.Payment{
				OrderID: order.ID, SessionID: "cs_outage", PaymentIntentID: "pi_wrong", Amount: 999, Currency: "usd",
			}, now()))

			// Both jobs try Stripe while it is down, and fail.
			require.Eventually(t, func() bool {
				fake.mu.Lock()
				defer fake.mu.Unlock()
				return fake.failed["/v1/refunds"] > 0 && fake.failed["/v1/checkout/sessions/cs_outage/expire"] > 0
			}, 20*time.Second, 50*time.Millisecond)
			payments, err := st.PaymentsForOrder(ctx, order.ID)
			require.NoError(t, err)
			require.Equal(t, store.RefundPending, payments[0].Status, "nothing is recorded refunded while Stripe is down")

			fake.down.Store(false)
			require.Eventually(t, func() bool {
				payments, err := st.PaymentsForOrder(ctx, order.ID)
				require.NoError(t, err)
				fake.mu.Lock()
				defer fake.mu.Unlock()
				return payments[0].Status == store.PaymentRefunded && fake.expired["/v1/checkout/sessions/cs_outage/expire"] > 0
			}, 30*time.Second, 100*time.Millisecond, "the retried jobs succeed once Stripe is back")

			fake.mu.Lock()
			defer fake.mu.Unlock()
			require.Equal(t, map[string]int{"refund:cs_outage": 1}, fake.refunds, "one refund, under the session's key")
			for _, key := range fake.keysSeen {
				require.Equal(t, "refund:cs_outage", key)
			}
			got, err := st.Order(ctx, order.ID, buyer.ID)
			require.NoError(t, err)
			require.Equal(t, store.Cancelled, got.Status, "the hold ended on time whatever Stripe's state")
		})
	}
}
