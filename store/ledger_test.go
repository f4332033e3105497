package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// passTicket lists a ticket of an event with EventHive passes, which needs
// no e-ticket file to be paid out, date to be announced.
func (b *testBundle) passTicket(t *testing.T, sellerID int64, name string, price int64) store.Listing {
	t.Helper()
	l, err := b.store.CreateListing(t.Context(), sellerID, store.NewListing{
		Event: store.NewEvent{Name: name, TimeZone: "UTC", CheckinWithEventHive: true},
		Price: price, FaceValue: price, Currency: "usd", Quantity: 1}, base)
	require.NoError(t, err)
	return l
}

func TestPlatformFeeRoundsHalvesUp(t *testing.T) {
	for _, c := range []struct {
		basisPoints, gross, fee int64
	}{
		{500, 5000, 250},
		{500, 1, 0},  // 0.05
		{500, 10, 1}, // 0.5: up
		{500, 9, 0},  // 0.45
		{500, 999, 50},
		{250, 20, 1}, // 2.5% of 20 is 0.5: up
		{250, 19, 0},
		{0, 5000, 0},
		{10000, 5000, 5000},
	} {
		terms := store.PayoutTerms{FeeBasisPoints: c.basisPoints}
		assert.Equal(t, c.fee, terms.Fee(c.gross), "%d bp of %d", c.basisPoints, c.gross)
	}
}

func TestLedger(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()

			// A sale per ticket, its gross the ticket's price, fee and net
			// by the terms, and the money held until the delay after the
			// event; the ledger adds up to the payment.
			t.Run("SalesOfAPayment", func(t *testing.T) {
				t.Parallel()
				b := setupWith(t, dialect, store.WithPayoutTerms(store.PayoutTerms{FeeBasisPoints: 250, Delay: time.Hour, Undated: 24 * time.Hour}))
				seller, buyer := b.user(t, "seller@example.com"), b.user(t, "buyer@example.com")
				starts := base.Add(48 * time.Hour)
				l, err := b.store.CreateListing(ctx, seller.ID, store.NewListing{
					Event: store.NewEvent{Name: "Gig", StartsAt: starts, TimeZone: "UTC"},
					Price: 1010, FaceValue: 1010, Currency: "eur", Quantity: 3}, base)
				require.NoError(t, err)
				o, err := b.store.CreateOrder(ctx, buyer.ID, l.ID, 3, base, hold)
				require.NoError(t, err)
				b.pay(t, o, base)
				b.pay(t, o, base) // Stripe's redelivery adds nothing

				sales, err := b.store.OrderSales(ctx, o.ID)
				require.NoError(t, err)
				require.Len(t, sales, 3)
				for _, a := range sales {
					assert.Equal(t, []int64{1010, 25, 985}, []int64{a.Gross, a.Fee, a.Net}, "2.5%% of 10.10 is 0.2525: 0.25")
					assert.Equal(t, store.SaleHeld, a.State)
					assert.True(t, a.ReleaseAt.Equal(starts.Add(time.Hour)))
					assert.Equal(t, seller.ID, a.SellerID)
					assert.Equal(t, "Gig", a.EventName)
				}
				balances, err := b.store.LedgerBalances(ctx)
				require.NoError(t, err)
				require.Len(t, balances, 1)
				assert.True(t, balances[0].Balanced())
				assert.Equal(t, int64(3030), balances[0].Paid)

				// A date to be announced: released a day (Undated) after the payment.
				undated := b.ticket(t, seller.ID, "Someday", 700)
				o2 := b.order(t, buyer.ID, undated.ID, base)
				b.pay(t, o2, base.Add(time.Second))
				sales, err = b.store.OrderSales(ctx, o2.ID)
				require.NoError(t, err)
				require.Len(t, sales, 1)
				assert.True(t, sales[0].ReleaseAt.Equal(base.Add(time.Second+24*time.Hour)))
			})

			// Entries cannot be changed or deleted, and a sale whose ledger
			// disagrees with its state or its payment is listed.
			t.Run("AppendOnlyAndDiscrepanciesFound", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				seller, buyer := b.user(t, "seller@example.com"), b.user(t, "buyer@example.com")
				o := b.order(t, buyer.ID, b.ticket(t, seller.ID, "Gig", 2000).ID, base)
				b.pay(t, o, base)
				o2 := b.order(t, buyer.ID, b.ticket(t, seller.ID, "Gig 2", 3000).ID, base)
				b.pay(t, o2, base)
				wrong, err := b.store.LedgerDiscrepancies(ctx)
				require.NoError(t, err)
				require.Empty(t, wrong)

				_, err = b.db.Write.ExecContext(ctx, `UPDATE ledger_entries SET amount = 1`)
				require.ErrorContains(t, err, "append-only")
				_, err = b.db.Write.ExecContext(ctx, `DELETE FROM ledger_entries`)
				require.ErrorContains(t, err, "append-only")
				_, err = b.db.Write.ExecContext(ctx, `UPDATE sales SET fee = fee + 1`)
				require.Error(t, err, "gross = fee + net is a constraint")

				// Said transferred with no transfer in the ledger; a payment
				// whose amount no longer matches its sales.
				_, err = b.db.Write.ExecContext(ctx, `UPDATE sales SET state = 'transferred' WHERE order_id = $1`, o.ID)
				require.NoError(t, err)
				_, err = b.db.Write.ExecContext(ctx, `UPDATE payments SET amount = amount + 1 WHERE order_id = $1`, o2.ID)
				require.NoError(t, err)
				wrong, err = b.store.LedgerDiscrepancies(ctx)
				require.NoError(t, err)
				require.Len(t, wrong, 2)
				assert.Equal(t, o.ID, wrong[0].OrderID)
				assert.Contains(t, wrong[0].Problem, "transfer")
				assert.Equal(t, o2.ID, wrong[1].OrderID)
				assert.Contains(t, wrong[1].Problem, "do not add up")
				balances, err := b.store.LedgerBalances(ctx)
				require.NoError(t, err)
				assert.False(t, balances[0].Balanced())
			})

			// A refund made in Stripe's dashboard: held money never goes to
			// the seller, transferred money comes back.
			t.Run("DashboardRefund", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				seller, buyer := b.user(t, "seller@example.com"), b.user(t, "buyer@example.com")
				held := b.order(t, buyer.ID, b.passTicket(t, seller.ID, "Held", 2000).ID, base)
				b.pay(t, held, base)
				paid := b.order(t, buyer.ID, b.passTicket(t, seller.ID, "Paid out", 3000).ID, base)
				b.pay(t, paid, base)
				_, err := b.store.CreatePayoutAccount(ctx, seller.ID, "acct_1", base)
				require.NoError(t, err)
				require.NoError(t, b.store.UpdatePayoutAccount(ctx, "acct_1", true, "", base))
				far := base.Add(30 * 24 * time.Hour)
				err = b.store.ReleaseSales(ctx, paid.ID, far)
				require.NoError(t, err)
				sales, err := b.store.OrderSales(ctx, paid.ID)
				require.NoError(t, err)
				transfer, err := b.store.TransferToMake(ctx, sales[0].ID)
				require.NoError(t, err)
				assert.Equal(t, "acct_1", transfer.Destination)
				assert.Equal(t, int64(2850), transfer.Amount)
				require.NoError(t, b.store.RecordTransfer(ctx, transfer.SaleID, "tr_1", far))

				for _, o := range []store.Order{held, paid} {
					_, _, err := b.store.RecordRefund(ctx, "pi_test_"+itoa(o.ID), o.Amount, true, far)
					require.NoError(t, err)
				}
				sales, err = b.store.OrderSales(ctx, held.ID)
				require.NoError(t, err)
				assert.Equal(t, store.SaleRefunded, sales[0].State)
				assert.False(t, sales[0].RefundedAt.IsZero(), "the payment's refund is the sale's")
				_, err = b.store.RefundToMake(ctx, sales[0].ID)
				require.ErrorIs(t, err, store.ErrNoPayoutStep, "nothing to ask Stripe again")
				sales, err = b.store.OrderSales(ctx, paid.ID)
				require.NoError(t, err)
				assert.Equal(t, store.SaleReversing, sales[0].State)
				reversal, err := b.store.ReversalToMake(ctx, sales[0].ID)
				require.NoError(t, err)
				assert.Equal(t, store.PayoutReversal{SaleID: sales[0].ID, TransferID: "tr_1", Amount: 2850}, reversal)
			})

			// Stripe's charge.refunded for a sale's refund may come before
			// the refund job records it: the sale is not counted twice, and
			// a payment half refunded is not taken for refunded in full.
			t.Run("SaleRefundHeardFromStripeFirst", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				seller, buyer, admin := b.user(t, "seller@example.com"), b.user(t, "buyer@example.com"), b.user(t, "ops@example.com")
				l, err := b.store.CreateListing(ctx, seller.ID, store.NewListing{
					Event: store.NewEvent{Name: "Gig", StartsAt: base.Add(48 * time.Hour), TimeZone: "UTC"},
					Price: 2000, FaceValue: 2000, Currency: "usd", Quantity: 2}, base)
				require.NoError(t, err)
				o, err := b.store.CreateOrder(ctx, buyer.ID, l.ID, 2, base, hold)
				require.NoError(t, err)
				b.pay(t, o, base)
				require.NoError(t, b.store.RefundOrder(ctx, admin.ID, o.ID, base))
				sales, err := b.store.OrderSales(ctx, o.ID)
				require.NoError(t, err)
				require.Len(t, sales, 2)

				// The first sale's refund: Stripe's total first, then the job.
				_, _, err = b.store.RecordRefund(ctx, "pi_test_"+itoa(o.ID), 2000, false, base)
				require.NoError(t, err)
				_, _, err = b.store.RecordSaleRefund(ctx, sales[0].ID, "re_1", base)
				require.NoError(t, err)
				payments, err := b.store.PaymentsForOrder(ctx, o.ID)
				require.NoError(t, err)
				assert.Equal(t, int64(2000), payments[0].AmountRefunded)
				assert.NotEqual(t, store.PaymentRefunded, payments[0].Status, "half of it is still with the platform")

				_, _, err = b.store.RecordSaleRefund(ctx, sales[1].ID, "re_2", base)
				require.NoError(t, err)
				payments, err = b.store.PaymentsForOrder(ctx, o.ID)
				require.NoError(t, err)
				assert.Equal(t, int64(4000), payments[0].AmountRefunded)
				assert.Equal(t, store.PaymentRefunded, payments[0].Status)
				wrong, err := b.store.LedgerDiscrepancies(ctx)
				require.NoError(t, err)
				assert.Empty(t, wrong)
			})

			// A refund decided while the transfer is in flight reverses the
			// transfer once it is recorded.
			t.Run("RefundDuringTheTransfer", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				seller, buyer, admin := b.user(t, "seller@example.com"), b.user(t, "buyer@example.com"), b.user(t, "ops@example.com")
				o := b.order(t, buyer.ID, b.passTicket(t, seller.ID, "Gig", 2000).ID, base)
				b.pay(t, o, base)
				_, err := b.store.CreatePayoutAccount(ctx, seller.ID, "acct_1", base)
				require.NoError(t, err)
				require.NoError(t, b.store.UpdatePayoutAccount(ctx, "acct_1", true, "", base))
				far := base.Add(30 * 24 * time.Hour)
				err = b.store.ReleaseSales(ctx, o.ID, far)
				require.NoError(t, err)
				sales, err := b.store.OrderSales(ctx, o.ID)
				require.NoError(t, err)
				require.Equal(t, store.SaleTransferring, sales[0].State)

				require.NoError(t, b.store.RefundOrder(ctx, admin.ID, o.ID, far))
				sales, err = b.store.OrderSales(ctx, o.ID)
				require.NoError(t, err)
				assert.Equal(t, store.RefundByOperator, sales[0].RefundReason, "being refunded, though the transfer is in flight")
				_, err = b.store.RefundToMake(ctx, sales[0].ID)
				require.ErrorIs(t, err, store.ErrNoPayoutStep, "no refund before the transfer is reversed")
				require.NoError(t, b.store.RecordTransfer(ctx, sales[0].ID, "tr_1", far))
				sales, err = b.store.OrderSales(ctx, o.ID)
				require.NoError(t, err)
				assert.Equal(t, store.SaleReversing, sales[0].State)
				require.NoError(t, b.store.RecordReversal(ctx, sales[0].ID, "trr_1", far))
				refund, err := b.store.RefundToMake(ctx, sales[0].ID)
				require.NoError(t, err)
				assert.Equal(t, int64(2000), refund.Amount)
				_, _, err = b.store.RecordSaleRefund(ctx, sales[0].ID, "re_1", far)
				require.NoError(t, err)
				payments, err := b.store.PaymentsForOrder(ctx, o.ID)
				require.NoError(t, err)
				assert.Equal(t, store.PaymentRefunded, payments[0].Status)
				assert.Equal(t, store.RefundByOperator, payments[0].RefundReason)
				wrong, err := b.store.LedgerDiscrepancies(ctx)
				require.NoError(t, err)
				assert.Empty(t, wrong)
			})
		})
	}
}
