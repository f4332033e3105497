package store_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertest"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

func TestPaymentHardening(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()

			// A cancel must end the checkout session now, not at the hold's
			// original end: its expiry job is due at once, and finds the
			// session to expire before the hold would have ended.
			t.Run("CancelInsertsTheSessionsExpiry", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				ctx := t.Context()
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				o := bundle.order(t, buyer.ID, bundle.ticket(t, seller.ID, "Front row", 500).ID, base)
				require.NoError(t, bundle.store.SetCheckoutSession(ctx, o.ID, buyer.ID, "cs_cancel", base.Add(time.Second)))

				require.NoError(t, bundle.store.CancelOrder(ctx, o.ID, buyer.ID, base.Add(2*time.Second)))
				rows := expireJobRows(t, bundle)
				require.Len(t, rows, 2)
				requireExpireJob(t, rows[0], o)
				require.Equal(t, rivertype.JobStateAvailable, rows[1].State, "due now")
				require.JSONEq(t, `{"order_id":`+itoa(o.ID)+`}`, string(rows[1].EncodedArgs))

				endsAt, session, err := bundle.store.ExpireOrder(ctx, o.ID, base.Add(3*time.Second))
				require.NoError(t, err)
				require.True(t, endsAt.IsZero(), "no waiting for the hold's end")
				require.Equal(t, "cs_cancel", session)
			})

			t.Run("CancelWithoutSessionInsertsNothing", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				o := bundle.order(t, buyer.ID, bundle.ticket(t, seller.ID, "Front row", 500).ID, base)
				require.NoError(t, bundle.store.CancelOrder(t.Context(), o.ID, buyer.ID, base.Add(time.Second)))
				requireOnlyExpireJob(t, bundle, o)
			})

			// The seller may reprice once a hold has ended, even before its
			// end is recorded; a late payment at the old price must not buy.
			t.Run("LatePaymentAfterARepriceIsRefunded", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				ctx := t.Context()
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				tk := bundle.ticket(t, seller.ID, "Front row", 500)
				o := bundle.order(t, buyer.ID, tk.ID, base)
				_, err := bundle.store.UpdateListing(ctx, tk.ID, seller.ID, editOf(tk, "Front row", 50000), base.Add(hold+time.Second))
				require.NoError(t, err)

				bundle.pay(t, o, base.Add(hold+2*time.Second))
				payments, err := bundle.store.PaymentsForOrder(ctx, o.ID)
				require.NoError(t, err)
				require.Len(t, payments, 1)
				require.Equal(t, store.RefundPending, payments[0].Status)
				require.Equal(t, store.RefundRepriced, payments[0].RefundReason)
				rivertest.RequireInserted(ctx, t, bundle.db.RiverDriver(), store.RefundPaymentArgs{}, nil)
				got := bundle.listingAt(t, tk.ID, base.Add(hold+2*time.Second))
				require.Equal(t, store.ForSale, got.State(base.Add(hold+2*time.Second)))
				require.Equal(t, int64(50000), got.Price)
				require.NotEqual(t, store.Paid, bundle.getOrder(t, o.ID, buyer.ID).Status)
			})

			t.Run("PaymentOnAnotherSessionIsNotTheOrders", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				ctx := t.Context()
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				o := bundle.order(t, buyer.ID, bundle.ticket(t, seller.ID, "Front row", 500).ID, base)
				require.NoError(t, bundle.store.SetCheckoutSession(ctx, o.ID, buyer.ID, "cs_own", base.Add(time.Second)))
				require.NoError(t, bundle.store.RecordPayment(ctx, store.Payment{
					OrderID: o.ID, SessionID: "cs_other", PaymentIntentID: "pi_other", Amount: 500, Currency: "usd",
				}, base.Add(2*time.Second)))

				require.Equal(t, 1, bundle.count(t, `SELECT count(*) FROM payments WHERE order_id IS NULL AND status = 'refund_pending' AND refund_reason = $1`,
					store.RefundNotSession))
				job := rivertest.RequireInserted(ctx, t, bundle.db.RiverDriver(), store.RefundPaymentArgs{}, nil)
				require.Equal(t, "pi_other", job.Args.PaymentIntentID)
				require.Equal(t, store.Pending, bundle.getOrder(t, o.ID, buyer.ID).Status)
			})

			t.Run("RefundsInStripe", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				ctx := t.Context()
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				tk := bundle.ticket(t, seller.ID, "Front row", 500)
				o := bundle.order(t, buyer.ID, tk.ID, base)
				at := base.Add(time.Second)

				_, _, err := bundle.store.RecordRefund(ctx, "pi_test_"+itoa(o.ID), 100, false, at)
				require.ErrorIs(t, err, store.ErrNotFound, "a refund before its payment waits for it")

				bundle.pay(t, o, at)
				pi := "pi_test_" + itoa(o.ID)
				orderID, ticketID, err := bundle.store.RecordRefund(ctx, pi, 100, false, at)
				require.NoError(t, err)
				require.Equal(t, [2]int64{o.ID, 0}, [2]int64{orderID, ticketID})
				orderID, _, err = bundle.store.RecordRefund(ctx, pi, 50, false, at)
				require.NoError(t, err)
				require.Zero(t, orderID, "an older total changes nothing")
				payments, err := bundle.store.PaymentsForOrder(ctx, o.ID)
				require.NoError(t, err)
				require.Equal(t, int64(100), payments[0].AmountRefunded)
				require.True(t, payments[0].PartlyRefunded())
				require.Equal(t, store.Sold, bundle.listingAt(t, tk.ID, at).State(at))

				orderID, ticketID, err = bundle.store.RecordRefund(ctx, pi, 500, true, at)
				require.NoError(t, err)
				require.Equal(t, [2]int64{o.ID, tk.ID}, [2]int64{orderID, ticketID})
				require.Equal(t, store.ForSale, bundle.listingAt(t, tk.ID, at).State(at))
				require.Equal(t, store.Refunded, bundle.getOrder(t, o.ID, buyer.ID).State(at))

				// Sold anew, the ticket is the new buyer's, whatever repeats.
				next := bundle.user(t, "next@example.com")
				o2 := bundle.order(t, next.ID, tk.ID, at)
				bundle.pay(t, o2, at)
				orderID, ticketID, err = bundle.store.RecordRefund(ctx, pi, 500, true, at)
				require.NoError(t, err)
				require.Zero(t, orderID+ticketID)
				require.Equal(t, store.Sold, bundle.listingAt(t, tk.ID, at).State(at))
				require.Equal(t, store.Paid, bundle.getOrder(t, o2.ID, next.ID).State(at))
			})
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
