package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertest"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/eventhive/eventhive/handlers"
	"github.com/eventhive/eventhive/payments"
	"github.com/eventhive/eventhive/store"
)

const webhookSecret = "whsec_test_payments"

// connectWebhookSecret signs the events of the Connect endpoint in the tests.
const connectWebhookSecret = "whsec_test_connect"

// fakeStripe stands in for Stripe's API in the jobs (payments/ checks the
// real client against stripe-mock): it records refunds (full and of one
// sale) and transfers by idempotency key, and reports a session as paid when
// a test says the buyer paid it. Reversals are answered, not recorded.
type fakeStripe struct {
	mu        sync.Mutex
	refunds   map[string]int               // idempotency key -> refunds asked
	paid      map[string]*payments.Payment // session id -> payment found when expiring
	expired   map[string]int               // session id -> expiries asked
	transfers map[string][]payments.Transfer
}

func newFakeStripe() *fakeStripe {
	return &fakeStripe{refunds: map[string]int{}, paid: map[string]*payments.Payment{}, expired: map[string]int{},
		transfers: map[string][]payments.Transfer{}}
}

func (f *fakeStripe) Transfer(_ context.Context, tr payments.Transfer) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.transfers[tr.IdempotencyKey] = append(f.transfers[tr.IdempotencyKey], tr)
	return "tr_" + tr.IdempotencyKey, nil
}

// transfersAsked returns the transfers asked, by idempotency key.
func (f *fakeStripe) transfersAsked() map[string][]payments.Transfer {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]payments.Transfer{}
	for k, v := range f.transfers {
		out[k] = slices.Clone(v)
	}
	return out
}

func (f *fakeStripe) ReverseTransfer(_ context.Context, r payments.Reversal) (string, error) {
	return "trr_" + r.IdempotencyKey, nil
}

func (f *fakeStripe) ExpireCheckout(_ context.Context, sessionID string) (*payments.Payment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.expired[sessionID]++
	return f.paid[sessionID], nil
}

func (f *fakeStripe) expiriesAsked(sessionID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.expired[sessionID]
}

func (f *fakeStripe) Refund(_ context.Context, _, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refunds[key]++
	return nil
}

// RefundPart records a partial refund by its key, as Refund does.
func (f *fakeStripe) RefundPart(_ context.Context, _ string, _ int64, key string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refunds[key]++
	return "re_" + key, nil
}

func (f *fakeStripe) refundsAsked() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.refunds {
		out[k] = v
	}
	return out
}

// paymentBundle is a bundle with the built-in checkout on a known webhook
// secret, and a fake Stripe for the jobs.
func paymentBundle(t *testing.T, dialect store.Dialect) (*testBundle, *fakeStripe) {
	t.Helper()
	return paymentBundleWith(t, dialect, bundleOpts{})
}

// paymentBundleWith is paymentBundle with more options.
func paymentBundleWith(t *testing.T, dialect store.Dialect, opts bundleOpts) (*testBundle, *fakeStripe) {
	t.Helper()
	stripeAPI := newFakeStripe()
	opts.stripe = stripeAPI
	opts.configure = func(cfg *handlers.Config) {
		cfg.StripeWebhookSecret, cfg.StripeConnectWebhookSecret = webhookSecret, connectWebhookSecret
	}
	return setupWith(t, dialect, opts), stripeAPI
}

// event is a Stripe event about a checkout session.
type event struct {
	id, eventType, sessionID string
	orderID, amount          int64
	currency, paymentStatus  string
	signedAt                 time.Time
	created                  time.Time // the event's own time; signedAt when zero
	secret, apiVersion       string
}

// signed returns the event's payload and its Stripe-Signature header, signed
// as Stripe signs webhooks.
func (e event) signed() ([]byte, string) {
	if e.currency == "" {
		e.currency = "usd"
	}
	if e.paymentStatus == "" {
		e.paymentStatus = "paid"
	}
	if e.secret == "" {
		e.secret = webhookSecret
	}
	if e.apiVersion == "" {
		e.apiVersion = stripe.APIVersion
	}
	if e.signedAt.IsZero() {
		e.signedAt = time.Now()
	}
	if e.created.IsZero() {
		e.created = e.signedAt
	}
	payload := fmt.Sprintf(`{"id":%q,"object":"event","type":%q,"api_version":%q,"created":%d,
		"data":{"object":{"id":%q,"object":"checkout.session","status":"complete","payment_status":%q,
		"client_reference_id":"%d","amount_total":%d,"currency":%q,"payment_intent":"pi_%s"}}}`,
		e.id, e.eventType, e.apiVersion, e.created.Unix(), e.sessionID, e.paymentStatus,
		e.orderID, e.amount, e.currency, e.sessionID)
	s := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{
		Payload: []byte(payload), Secret: e.secret, Timestamp: e.signedAt,
	})
	return s.Payload, s.Header
}

func (b *testBundle) deliver(t *testing.T, payload []byte, signature string) *response {
	t.Helper()
	var opts []reqOption
	if signature != "" {
		opts = append(opts, withHeader("Stripe-Signature", signature))
	}
	return b.do(t, http.DefaultClient, http.MethodPost, "/webhooks/stripe", strings.NewReader(string(payload)), opts...)
}

func (b *testBundle) deliverOK(t *testing.T, e event) {
	t.Helper()
	payload, signature := e.signed()
	requireStatus(t, b.deliver(t, payload, signature), http.StatusOK)
}

func (b *testBundle) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, b.db.Read.QueryRow(query, args...).Scan(&n))
	return n
}

func (b *testBundle) order(t *testing.T, id int64) store.Order {
	t.Helper()
	var buyer int64
	require.NoError(t, b.db.Read.QueryRow(`SELECT buyer_id FROM orders WHERE id = $1`, id).Scan(&buyer))
	o, err := b.store.Order(t.Context(), id, buyer)
	require.NoError(t, err)
	return o
}

// useSession gives an order the checkout session that a test pays, as
// paying it would, unless the order has one already.
func (b *testBundle) useSession(t *testing.T, orderID int64, session string) {
	t.Helper()
	_, err := b.db.Write.Exec(`UPDATE orders SET checkout_session_id = $1 WHERE id = $2 AND checkout_session_id IS NULL`,
		session, orderID)
	require.NoError(t, err)
}

func (b *testBundle) payments(t *testing.T, orderID int64) []store.Payment {
	t.Helper()
	list, err := b.store.PaymentsForOrder(t.Context(), orderID)
	require.NoError(t, err)
	return list
}

// startCheckout begins paying an order and returns its checkout session id.
func (b *testBundle) startCheckout(t *testing.T, buyer *http.Client, orderID int64) string {
	t.Helper()
	res := b.postForm(t, buyer, "/orders/"+itoa(orderID)+"/pay", nil)
	requireStatus(t, res, http.StatusSeeOther)
	_, session, ok := strings.Cut(res.location(), "/checkout/")
	require.True(t, ok, "pay leads to the built-in checkout: %s", res.location())
	return session
}

// checkout is a buyer's pending order for a 30.00 ticket, with its checkout
// session begun.
type checkout struct {
	buyer   *http.Client
	ticket  int64
	order   int64
	session string
}

func (b *testBundle) beginCheckout(t *testing.T) checkout {
	t.Helper()
	seller := b.signUp(t, "seller@example.com")
	ticket := b.listTicket(t, seller, "Front row", "30")
	buyer := b.signUp(t, "buyer@example.com")
	order := b.buyOK(t, buyer, ticket)
	return checkout{buyer: buyer, ticket: ticket, order: order, session: b.startCheckout(t, buyer, order)}
}

func TestPayments(t *testing.T) {
	t.Parallel()

	t.Run("PaidInTimeThroughTheBuiltinCheckout", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
			b, _ := paymentBundle(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			ticket := b.listTicket(t, seller, "Front row", "30.50")
			buyer := b.signUp(t, "buyer@example.com")
			orderID := b.buyOK(t, buyer, ticket)

			session := b.startCheckout(t, buyer, orderID)
			page := b.get(t, buyer, "/checkout/"+session)
			requireStatus(t, page, http.StatusOK)
			require.Contains(t, page.HTML, "$30.50")
			requireStatus(t, b.get(t, seller, "/checkout/"+session), http.StatusNotFound)

			res := b.postForm(t, buyer, "/checkout/"+session+"/pay", nil)
			requireRedirect(t, res, "/orders/"+itoa(orderID))
			require.Eventually(t, func() bool { return b.order(t, orderID).Status == store.Paid },
				10*time.Second, 20*time.Millisecond)

			order := b.get(t, buyer, "/orders/"+itoa(orderID))
			require.Contains(t, order.HTML, "badge-paid")
			require.NotContains(t, b.listing(t, "/"), ticket)
			payments := b.get(t, buyer, "/payments")
			require.Contains(t, payments.HTML, "Front row")
			// Buyers see their payment, not the provider's ids for it (the
			// operator console shows those).
			for _, page := range []*response{order, payments} {
				require.NotContains(t, page.HTML, "pi_")
				require.NotContains(t, page.HTML, "Stripe reference")
			}
			require.Equal(t, 1, b.count(t, `SELECT count(*) FROM payments WHERE order_id = $1 AND status = 'succeeded' AND amount = 3050`, orderID))
			requireStatus(t, b.postForm(t, buyer, "/checkout/"+session+"/pay", nil), http.StatusConflict)
		})
	})

	t.Run("PayIsRefusedForUnknownForeignAndEndedOrders", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
			b, _ := paymentBundle(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			ticket := b.listTicket(t, seller, "Front row", "30")
			buyer := b.signUp(t, "buyer@example.com")
			orderID := b.buyOK(t, buyer, ticket)

			requireStatus(t, b.postForm(t, buyer, "/orders/999999/pay", nil), http.StatusNotFound)
			requireStatus(t, b.postForm(t, seller, "/orders/"+itoa(orderID)+"/pay", nil), http.StatusNotFound)
			requireRedirect(t, b.postForm(t, newClient(t), "/orders/"+itoa(orderID)+"/pay", nil), signInTo("/"))
			requireStatus(t, b.postForm(t, buyer, "/orders/"+itoa(orderID)+"/cancel", nil), http.StatusSeeOther)
			res := b.postForm(t, buyer, "/orders/"+itoa(orderID)+"/pay", nil)
			requireStatus(t, res, http.StatusConflict)
			require.Contains(t, res.HTML, "can no longer be paid")
			require.Empty(t, b.order(t, orderID).CheckoutSessionID)
		})
	})

	t.Run("DuplicateEventsAreRecordedOnce", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
			b, _ := paymentBundle(t, dialect)
			c := b.beginCheckout(t)
			orderID, session := c.order, c.session

			e := event{id: "evt_dup", eventType: "checkout.session.completed", sessionID: session, orderID: orderID, amount: 3000}
			for range 3 {
				b.deliverOK(t, e)
			}
			// The same payment under another event id (Stripe may send both
			// completed and async_payment_succeeded) is still one payment.
			e.id, e.eventType = "evt_dup_async", "checkout.session.async_payment_succeeded"
			b.deliverOK(t, e)
			require.Eventually(t, func() bool {
				return b.count(t, `SELECT count(*) FROM stripe_events WHERE processed_at IS NOT NULL`) == 2
			}, 10*time.Second, 20*time.Millisecond)
			require.Equal(t, 2, b.count(t, `SELECT count(*) FROM stripe_events`))
			require.Len(t, b.payments(t, orderID), 1)
			require.Equal(t, store.Paid, b.order(t, orderID).Status)
		})
	})

	t.Run("EventsOutOfOrder", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
			b, _ := paymentBundle(t, dialect)
			c := b.beginCheckout(t)
			orderID, session := c.order, c.session

			// An expiry notice and a failed delayed payment change nothing.
			b.deliverOK(t, event{id: "evt_1", eventType: "checkout.session.async_payment_failed", sessionID: session, orderID: orderID, amount: 3000, paymentStatus: "unpaid"})
			b.deliverOK(t, event{id: "evt_2", eventType: "checkout.session.completed", sessionID: session, orderID: orderID, amount: 3000, paymentStatus: "unpaid"})
			require.Eventually(t, func() bool {
				return b.count(t, `SELECT count(*) FROM stripe_events WHERE processed_at IS NOT NULL`) == 2
			}, 10*time.Second, 20*time.Millisecond)
			require.Equal(t, store.Pending, b.order(t, orderID).Status, "an unpaid completion waits")
			require.Empty(t, b.payments(t, orderID))

			b.deliverOK(t, event{id: "evt_3", eventType: "checkout.session.async_payment_succeeded", sessionID: session, orderID: orderID, amount: 3000})
			b.deliverOK(t, event{id: "evt_4", eventType: "checkout.session.expired", sessionID: session, orderID: orderID, amount: 3000, paymentStatus: "unpaid"})
			require.Eventually(t, func() bool {
				return b.count(t, `SELECT count(*) FROM stripe_events WHERE processed_at IS NOT NULL`) == 4
			}, 10*time.Second, 20*time.Millisecond)
			require.Equal(t, store.Paid, b.order(t, orderID).Status, "a late expiry notice does not undo the payment")
			require.Len(t, b.payments(t, orderID), 1)
		})
	})

	t.Run("BadSignaturesAreRefusedAndStoreNothing", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
			b, _ := paymentBundle(t, dialect)
			good := event{id: "evt_sig", eventType: "checkout.session.completed", sessionID: "cs_x", orderID: 1, amount: 3000}
			payload, signature := good.signed()

			forged := good
			forged.secret = "whsec_forged"
			forgedPayload, forgedSignature := forged.signed()
			stale := good
			stale.signedAt = time.Now().Add(-10 * time.Minute)
			stalePayload, staleSignature := stale.signed()
			otherVersion := good
			otherVersion.apiVersion = "2024-06-20"
			versionPayload, versionSignature := otherVersion.signed()
			tampered := strings.Replace(string(payload), `"amount_total":3000`, `"amount_total":1`, 1)

			for name, c := range map[string]struct {
				payload   []byte
				signature string
			}{
				"Missing":         {payload, ""},
				"Forged":          {forgedPayload, forgedSignature},
				"Stale":           {stalePayload, staleSignature},
				"OtherAPIVersion": {versionPayload, versionSignature},
				"Tampered":        {[]byte(tampered), signature},
				"Garbage":         {payload, "t=1,v1=abc"},
			} {
				res := b.deliver(t, c.payload, c.signature)
				require.Equal(t, http.StatusBadRequest, res.StatusCode, name)
			}
			require.Zero(t, b.count(t, `SELECT count(*) FROM stripe_events`))
			rivertest.RequireNotInserted(t.Context(), t, b.db.RiverDriver(), store.ProcessStripeEventArgs{}, nil)

			ignored := event{id: "evt_other", eventType: "customer.created", sessionID: "cs_x", orderID: 1, amount: 1}
			b.deliverOK(t, ignored)
			require.Zero(t, b.count(t, `SELECT count(*) FROM stripe_events`), "other event types are acknowledged and ignored")
		})
	})

	t.Run("AmountMismatchIsRefunded", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
			b, stripeAPI := paymentBundle(t, dialect)
			c := b.beginCheckout(t)
			buyer, orderID, session := c.buyer, c.order, c.session

			b.deliverOK(t, event{id: "evt_cheap", eventType: "checkout.session.completed", sessionID: session, orderID: orderID, amount: 1})
			require.Eventually(t, func() bool {
				p := b.payments(t, orderID)
				return len(p) == 1 && p[0].Status == store.PaymentRefunded
			}, 10*time.Second, 20*time.Millisecond)
			require.Equal(t, map[string]int{"refund:" + session: 1}, stripeAPI.refundsAsked())
			require.Equal(t, store.RefundMismatch, b.payments(t, orderID)[0].RefundReason)
			require.Equal(t, store.Pending, b.order(t, orderID).Status, "the order is not paid")
			require.Contains(t, b.get(t, buyer, "/orders/"+itoa(orderID)).HTML, store.RefundMismatch)
		})
	})

	t.Run("LatePaymentWithTheTicketStillFreePays", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
			b, stripeAPI := paymentBundleWith(t, dialect, bundleOpts{noWorkers: true})
			c := b.beginCheckout(t)
			ticket, orderID, session := c.ticket, c.order, c.session
			b.endHold()
			b.startWorkers(t)
			require.Eventually(t, func() bool { return b.order(t, orderID).Status == store.Cancelled },
				10*time.Second, 20*time.Millisecond, "the hold ends and is recorded")

			b.deliverOK(t, event{id: "evt_late", eventType: "checkout.session.completed", sessionID: session, orderID: orderID, amount: 3000})
			require.Eventually(t, func() bool { return b.order(t, orderID).Status == store.Paid },
				10*time.Second, 20*time.Millisecond)
			require.Empty(t, stripeAPI.refundsAsked())
			require.NotContains(t, b.listing(t, "/"), ticket)
		})
	})

	t.Run("LatePaymentWithTheTicketTakenIsRefundedOnce", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
			b, stripeAPI := paymentBundle(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			ticket := b.listTicket(t, seller, "Front row", "30")
			late := b.signUp(t, "late@example.com")
			lateOrder := b.buyOK(t, late, ticket)
			session := b.startCheckout(t, late, lateOrder)
			b.endHold()
			nextOrder := b.buyOK(t, b.signUp(t, "next@example.com"), ticket)

			e := event{id: "evt_too_late", eventType: "checkout.session.completed", sessionID: session, orderID: lateOrder, amount: 3000}
			for range 3 {
				b.deliverOK(t, e)
			}
			e.id = "evt_too_late_again"
			b.deliverOK(t, e)
			require.Eventually(t, func() bool {
				p := b.payments(t, lateOrder)
				return len(p) == 1 && p[0].Status == store.PaymentRefunded
			}, 15*time.Second, 50*time.Millisecond)
			require.Equal(t, map[string]int{"refund:" + session: 1}, stripeAPI.refundsAsked())
			require.Equal(t, store.RefundTicketGone, b.payments(t, lateOrder)[0].RefundReason)

			page := b.get(t, late, "/orders/"+itoa(lateOrder))
			require.Contains(t, page.HTML, "badge-refunded")
			require.Contains(t, page.HTML, store.RefundTicketGone)
			require.Equal(t, store.Pending, b.order(t, nextOrder).Status, "the next buyer keeps the ticket")
		})
	})

	t.Run("SessionAlreadyCompleteWhenTheHoldEndsPays", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
			b, stripeAPI := paymentBundleWith(t, dialect, bundleOpts{noWorkers: true})
			c := b.beginCheckout(t)
			orderID, session := c.order, c.session
			// Stripe has the payment, but its webhook has not arrived.
			stripeAPI.mu.Lock()
			stripeAPI.paid[session] = &payments.Payment{OrderID: orderID, SessionID: session,
				PaymentIntentID: "pi_" + session, Amount: 3000, Currency: "usd"}
			stripeAPI.mu.Unlock()

			b.endHold()
			b.startWorkers(t)
			require.Eventually(t, func() bool { return b.order(t, orderID).Status == store.Paid },
				10*time.Second, 20*time.Millisecond, "the expiry job finds the payment and it wins")
			require.Len(t, b.payments(t, orderID), 1)
			require.Empty(t, stripeAPI.refundsAsked())
		})
	})
}
