package handlers_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertest"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/eventhive/eventhive/store"
)

// refundEvent is a charge.refunded event for the payment of a checkout
// session, whose payment intent the test events name pi_<session>.
type refundEvent struct {
	id, sessionID          string
	amount, amountRefunded int64
	refunded               bool
}

func (e refundEvent) signed() ([]byte, string) {
	now := time.Now()
	payload := fmt.Sprintf(`{"id":%q,"object":"event","type":"charge.refunded","api_version":%q,"created":%d,
		"data":{"object":{"id":"ch_%s","object":"charge","amount":%d,"amount_refunded":%d,"refunded":%t,
		"currency":"usd","payment_intent":"pi_%s"}}}`,
		e.id, stripe.APIVersion, now.Unix(), e.sessionID, e.amount, e.amountRefunded, e.refunded, e.sessionID)
	s := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(payload), Secret: webhookSecret, Timestamp: now})
	return s.Payload, s.Header
}

func (b *testBundle) deliverRefund(t *testing.T, e refundEvent) {
	t.Helper()
	payload, signature := e.signed()
	requireStatus(t, b.deliver(t, payload, signature), http.StatusOK)
}

// waitProcessed waits until n stored events have been processed.
func (b *testBundle) waitProcessed(t *testing.T, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		return b.count(t, `SELECT count(*) FROM stripe_events WHERE processed_at IS NOT NULL`) == n
	}, 10*time.Second, 20*time.Millisecond)
}

// paidCheckout is a checkout whose 30.00 payment has been recorded.
func (b *testBundle) paidCheckout(t *testing.T) checkout {
	t.Helper()
	c := b.beginCheckout(t)
	b.deliverOK(t, event{id: "evt_paid", eventType: "checkout.session.completed", sessionID: c.session, orderID: c.order, amount: 3000})
	require.Eventually(t, func() bool { return b.order(t, c.order).Status == store.Paid }, 10*time.Second, 20*time.Millisecond)
	return c
}

func TestPaymentHardening(t *testing.T) {
	t.Parallel()

	// Finding 6: cancelling left the checkout session open until the
	// hold's original end.
	t.Run("CancelExpiresTheCheckoutSession", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
			b, stripeAPI := paymentBundle(t, dialect) // a one-minute hold: its own end is far off
			c := b.beginCheckout(t)

			requireStatus(t, b.postForm(t, c.buyer, "/orders/"+itoa(c.order)+"/cancel", nil), http.StatusSeeOther)
			rivertest.RequireManyInserted(t.Context(), t, b.db.RiverDriver(), []rivertest.ExpectedJob{
				// The hold's own end, still to come.
				{Args: store.ExpireOrderArgs{}, Opts: &rivertest.RequireInsertedOpts{State: rivertype.JobStateScheduled}},
				{Args: store.ExpireOrderArgs{}}, // the cancel's, at once
			})
			require.Eventually(t, func() bool { return stripeAPI.expiriesAsked(c.session) > 0 },
				10*time.Second, 20*time.Millisecond, "the cancel's expiry job expires the session now")
			require.Equal(t, store.Cancelled, b.order(t, c.order).Status)
			require.Contains(t, b.listing(t, "/"), c.ticket, "the ticket is back on sale")

			// The built-in checkout refuses to take the money too.
			requireStatus(t, b.postForm(t, c.buyer, "/checkout/"+c.session+"/pay", nil), http.StatusConflict)
		})
	})

	t.Run("CancelWithoutCheckoutInsertsNoExpiry", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
			b, _ := paymentBundle(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			buyer := b.signUp(t, "buyer@example.com")
			order := b.buyOK(t, buyer, b.listTicket(t, seller, "Front row", "30"))
			requireStatus(t, b.postForm(t, buyer, "/orders/"+itoa(order)+"/cancel", nil), http.StatusSeeOther)
			rivertest.RequireInserted(t.Context(), t, b.db.RiverDriver(), store.ExpireOrderArgs{}, nil)
		})
	})

	// Finding 6: a payment arriving after a cancel bought the ticket at the
	// price it had before the seller repriced it.
	t.Run("LatePaymentAfterARepriceIsRefunded", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
			b, stripeAPI := paymentBundle(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			ticket := b.listTicket(t, seller, "Front row", "5")
			buyer := b.signUp(t, "buyer@example.com")
			order := b.buyOK(t, buyer, ticket)
			session := b.startCheckout(t, buyer, order)
			requireStatus(t, b.postForm(t, buyer, "/orders/"+itoa(order)+"/cancel", nil), http.StatusSeeOther)
			requireRedirect(t, b.postForm(t, seller, "/tickets/"+itoa(ticket), url.Values{"title": {"Front row"}, "price": {"6"}}),
				"/tickets/"+itoa(ticket))

			b.deliverOK(t, event{id: "evt_old_price", eventType: "checkout.session.completed", sessionID: session, orderID: order, amount: 500})
			require.Eventually(t, func() bool {
				p := b.payments(t, order)
				return len(p) == 1 && p[0].Status == store.PaymentRefunded
			}, 10*time.Second, 20*time.Millisecond)
			require.Equal(t, map[string]int{"refund:" + session: 1}, stripeAPI.refundsAsked())
			require.Equal(t, store.RefundRepriced, b.payments(t, order)[0].RefundReason)
			require.Contains(t, b.get(t, buyer, "/orders/"+itoa(order)).HTML, html.EscapeString(store.RefundRepriced))
			require.Equal(t, []listedTicket{{ticket, "Front row", "$6.00"}}, listingTickets(t, b.get(t, newClient(t), "/").HTML),
				"still on sale, at the new price")
		})
	})

	// Finding 7: a refund made in Stripe's dashboard changed nothing.
	t.Run("FullRefundInStripeRefundsTheOrder", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
			b, stripeAPI := paymentBundle(t, dialect)
			c := b.paidCheckout(t)
			require.NotContains(t, b.listing(t, "/"), c.ticket)

			full := refundEvent{id: "evt_full", sessionID: c.session, amount: 3000, amountRefunded: 3000, refunded: true}
			for range 2 {
				b.deliverRefund(t, full)
			}
			// An older, partial event arriving late changes nothing.
			b.deliverRefund(t, refundEvent{id: "evt_partial_late", sessionID: c.session, amount: 3000, amountRefunded: 1000})
			b.waitProcessed(t, 3)

			p := b.payments(t, c.order)
			require.Len(t, p, 1)
			require.Equal(t, store.PaymentRefunded, p[0].Status)
			require.Equal(t, int64(3000), p[0].AmountRefunded)
			require.Equal(t, store.Refunded, b.order(t, c.order).State(time.Now()))
			require.Contains(t, b.listing(t, "/"), c.ticket, "the ticket is back on sale")
			page := b.get(t, c.buyer, "/orders/"+itoa(c.order)).HTML
			require.Contains(t, page, "badge-refunded")
			require.Contains(t, page, html.EscapeString(store.RefundInStripe))
			require.Empty(t, stripeAPI.refundsAsked(), "Stripe refunded it: nothing to ask")

			// Sold anew, the ticket stays with its new buyer whatever the
			// old payment's events say.
			next := b.signUp(t, "next@example.com")
			nextOrder := b.buyOK(t, next, c.ticket)
			b.deliverRefund(t, refundEvent{id: "evt_full_again", sessionID: c.session, amount: 3000, amountRefunded: 3000, refunded: true})
			b.waitProcessed(t, 4)
			require.Equal(t, store.Pending, b.order(t, nextOrder).State(time.Now()))
			require.NotContains(t, b.listing(t, "/"), c.ticket)
		})
	})

	t.Run("PartialRefundInStripeIsRecordedAndShown", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
			b, _ := paymentBundle(t, dialect)
			c := b.paidCheckout(t)

			b.deliverRefund(t, refundEvent{id: "evt_part_2", sessionID: c.session, amount: 3000, amountRefunded: 1250})
			b.deliverRefund(t, refundEvent{id: "evt_part_1", sessionID: c.session, amount: 3000, amountRefunded: 500})
			b.waitProcessed(t, 3)

			p := b.payments(t, c.order)
			require.Equal(t, store.PaymentSucceeded, p[0].Status)
			require.Equal(t, int64(1250), p[0].AmountRefunded, "the largest total wins, whatever the order of events")
			require.Equal(t, store.Paid, b.order(t, c.order).State(time.Now()))
			require.NotContains(t, b.listing(t, "/"), c.ticket, "still sold")
			require.Contains(t, b.get(t, c.buyer, "/orders/"+itoa(c.order)).HTML, "$12.50 refunded")
			require.Contains(t, b.get(t, c.buyer, "/payments").HTML, "$12.50 refunded")

			// The rest refunded, without the refunded flag: the amounts say it.
			b.deliverRefund(t, refundEvent{id: "evt_rest", sessionID: c.session, amount: 3000, amountRefunded: 3000})
			b.waitProcessed(t, 4)
			require.Equal(t, store.PaymentRefunded, b.payments(t, c.order)[0].Status)
			require.Contains(t, b.listing(t, "/"), c.ticket)
			require.NotContains(t, b.get(t, c.buyer, "/payments").HTML, "partly-refunded")
		})
	})

	// Finding 8: a paid event was matched to its order by
	// client_reference_id alone.
	t.Run("PaymentOnAnotherSessionIsRefundedAndPaysNothing", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
			b, stripeAPI := paymentBundle(t, dialect)
			c := b.beginCheckout(t)

			b.deliverOK(t, event{id: "evt_other_session", eventType: "checkout.session.completed", sessionID: "cs_not_ours", orderID: c.order, amount: 3000})
			require.Eventually(t, func() bool {
				return b.count(t, `SELECT count(*) FROM payments WHERE checkout_session_id = 'cs_not_ours' AND status = 'refunded'`) == 1
			}, 10*time.Second, 20*time.Millisecond)
			require.Equal(t, map[string]int{"refund:cs_not_ours": 1}, stripeAPI.refundsAsked(), "no money kept without a ticket")
			require.Equal(t, 1, b.count(t, `SELECT count(*) FROM payments WHERE checkout_session_id = 'cs_not_ours' AND order_id IS NULL AND refund_reason = $1`,
				store.RefundNotSession))
			require.Equal(t, store.Pending, b.order(t, c.order).State(time.Now()), "the order is not paid")
			require.Empty(t, b.payments(t, c.order), "nor does its buyer see another's payment")
			require.NotContains(t, b.listing(t, "/"), c.ticket, "the ticket stays held")

			// The order's own session still pays it.
			b.deliverOK(t, event{id: "evt_own_session", eventType: "checkout.session.completed", sessionID: c.session, orderID: c.order, amount: 3000})
			require.Eventually(t, func() bool { return b.order(t, c.order).Status == store.Paid }, 10*time.Second, 20*time.Millisecond)
		})
	})

	t.Run("EventsFromTheFutureAreRefused", func(t *testing.T) {
		t.Parallel()
		forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
			b, _ := paymentBundle(t, dialect)
			c := b.beginCheckout(t)
			paid := event{id: "evt_future", eventType: "checkout.session.completed", sessionID: c.session, orderID: c.order, amount: 3000}

			signedAhead := paid
			signedAhead.signedAt, signedAhead.created = time.Now().Add(10*time.Minute), time.Now()
			createdAhead := paid
			createdAhead.created = time.Now().Add(10 * time.Minute)
			for name, e := range map[string]event{"SignedAhead": signedAhead, "CreatedAhead": createdAhead} {
				payload, signature := e.signed()
				res := b.deliver(t, payload, signature)
				require.Equal(t, http.StatusBadRequest, res.StatusCode, name)
			}
			require.Zero(t, b.count(t, `SELECT count(*) FROM stripe_events`))

			// A clock a minute ahead is within the tolerance.
			skewed := paid
			skewed.signedAt = time.Now().Add(time.Minute)
			b.deliverOK(t, skewed)
			require.Eventually(t, func() bool { return b.order(t, c.order).Status == store.Paid }, 10*time.Second, 20*time.Millisecond)
		})
	})
}
