package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// outboxOf lists the outbox's messages of a kind, oldest first.
func (b *testBundle) outboxOf(t *testing.T, kind string) []store.OutboxMail {
	t.Helper()
	all, err := b.store.RecentMail(t.Context(), 1000)
	require.NoError(t, err)
	var found []store.OutboxMail
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Kind == kind {
			found = append(found, all[i])
		}
	}
	return found
}

func TestNotices(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()

			// Stripe may deliver a payment several times: the order is paid
			// once, and each of its notices queued once.
			t.Run("OneReceiptAndOneSoldNoticeHoweverOftenPaid", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				seller := b.user(t, "seller@example.com")
				buyer := b.user(t, "buyer@example.com")
				tk := b.ticket(t, seller.ID, "Night Show", 2550)
				o := b.order(t, buyer.ID, tk.ID, base)
				for i := range 4 {
					b.pay(t, o, base.Add(time.Duration(i+1)*time.Second))
				}
				require.Equal(t, store.Paid, b.getOrder(t, o.ID, buyer.ID).Status)

				receipts := b.outboxOf(t, store.MailReceipt)
				require.Len(t, receipts, 1)
				r := receipts[0]
				require.Equal(t, "buyer@example.com", r.To)
				require.Equal(t, "receipt:order:"+itoa(o.ID), r.Key)
				require.Equal(t, "Night Show", r.Data["Event"])
				require.Equal(t, "25.50 USD", r.Data["Amount"])
				require.EqualValues(t, 1, r.Data["Quantity"])
				require.Equal(t, "/orders/"+itoa(o.ID), r.Data["Path"])

				sold := b.outboxOf(t, store.MailSold)
				require.Len(t, sold, 1)
				require.Equal(t, "seller@example.com", sold[0].To)
				require.Equal(t, "sold:order:"+itoa(o.ID), sold[0].Key)
				require.Equal(t, "/tickets/"+itoa(tk.ID), sold[0].Data["Path"])
				require.Empty(t, b.outboxOf(t, store.MailRefunded))
				require.Equal(t, 2, b.mailJobs(t))
			})

			// A payment whose transaction fails (here the order's claims
			// no longer match it) records nothing, and queues nothing.
			t.Run("RolledBackPaymentQueuesNothing", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				seller := b.user(t, "seller@example.com")
				buyer := b.user(t, "buyer@example.com")
				o := b.order(t, buyer.ID, b.ticket(t, seller.ID, "Night Show", 500).ID, base)
				_, err := b.db.Write.Exec(`UPDATE tickets SET claim_order_id = NULL, claim_expires_at = NULL WHERE claim_order_id = $1`, o.ID)
				require.NoError(t, err)
				err = b.store.RecordPayment(t.Context(), store.Payment{OrderID: o.ID, SessionID: b.checkoutSession(t, o.ID),
					PaymentIntentID: "pi_x", Amount: o.Amount, Currency: o.Currency}, base.Add(time.Second))
				require.Error(t, err)
				require.Equal(t, 0, b.count(t, `SELECT count(*) FROM payments`))
				require.Equal(t, 0, b.count(t, `SELECT count(*) FROM outbox`))
				require.Equal(t, 0, b.mailJobs(t))
			})

			// A payment that cannot buy is refunded: its buyer is told why,
			// once, when it is decided and not again when it goes through.
			t.Run("OneRefundNoticeWithTheReason", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				ctx := t.Context()
				seller := b.user(t, "seller@example.com")
				buyer := b.user(t, "buyer@example.com")
				tk := b.ticket(t, seller.ID, "Night Show", 500)
				o := b.order(t, buyer.ID, tk.ID, base)
				_, err := b.store.WithdrawListing(ctx, tk.ID, seller.ID, base.Add(hold+time.Second))
				require.NoError(t, err)
				for range 2 {
					b.pay(t, o, base.Add(hold+2*time.Second))
				}
				pi := "pi_test_" + itoa(o.ID)
				require.NoError(t, b.store.MarkPaymentRefunded(ctx, pi, base.Add(hold+3*time.Second)))
				_, _, err = b.store.RecordRefund(ctx, pi, 500, true, base.Add(hold+4*time.Second))
				require.NoError(t, err)

				refunds := b.outboxOf(t, store.MailRefunded)
				require.Len(t, refunds, 1)
				require.Equal(t, "buyer@example.com", refunds[0].To)
				require.Equal(t, store.RefundWithdrawn, refunds[0].Data["Reason"])
				require.Equal(t, "5.00 USD", refunds[0].Data["Amount"])
				require.Empty(t, b.outboxOf(t, store.MailReceipt), "nothing bought, no receipt")
				require.Empty(t, b.outboxOf(t, store.MailSold))
			})

			// A refund made in Stripe's dashboard of a paid order says so.
			t.Run("RefundInStripeOfAPaidOrder", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				ctx := t.Context()
				seller := b.user(t, "seller@example.com")
				buyer := b.user(t, "buyer@example.com")
				o := b.order(t, buyer.ID, b.ticket(t, seller.ID, "Night Show", 500).ID, base)
				b.pay(t, o, base.Add(time.Second))
				for range 2 {
					_, _, err := b.store.RecordRefund(ctx, "pi_test_"+itoa(o.ID), 500, true, base.Add(2*time.Second))
					require.NoError(t, err)
				}
				refunds := b.outboxOf(t, store.MailRefunded)
				require.Len(t, refunds, 1)
				require.Equal(t, store.RefundInStripe, refunds[0].Data["Reason"])
				require.Equal(t, "/orders/"+itoa(o.ID), refunds[0].Data["Path"])
			})
		})
	}
}
