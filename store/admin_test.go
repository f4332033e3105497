package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

func TestAdminPaymentRecords(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()

			t.Run("Empty", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)

				records, err := bundle.store.PaymentRecords(t.Context())
				require.NoError(t, err)
				require.Empty(t, records)
			})

			t.Run("EveryPaymentWithItsOrder", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				ctx := t.Context()
				seller := bundle.user(t, "seller@example.com")
				ada := bundle.user(t, "ada@example.com")
				bob := bundle.user(t, "bob@example.com")

				// Each payment is for its order's checkout session, which the
				// first payment of an order starts.
				record := func(orderID int64, session string, amount int64, currency string, now time.Time) {
					t.Helper()
					_, err := bundle.db.Write.Exec(`UPDATE orders SET checkout_session_id = $1 WHERE id = $2 AND checkout_session_id IS NULL`,
						"cs_"+session, orderID)
					require.NoError(t, err)
					require.NoError(t, bundle.store.RecordPayment(ctx, store.Payment{
						OrderID: orderID, SessionID: "cs_" + session, PaymentIntentID: "pi_" + session,
						Amount: amount, Currency: currency,
					}, now))
				}

				// 1: paid in time. 2: another session naming the same order,
				// refunded and not the order's.
				onTime := bundle.order(t, ada.ID, bundle.ticket(t, seller.ID, "On time", 3000).ID, base)
				record(onTime.ID, "on_time", 3000, "usd", base.Add(10*time.Second))
				record(onTime.ID, "twice", 3000, "usd", base.Add(20*time.Second))
				// 3: paid exactly when the hold ended, with the ticket still free.
				late := bundle.order(t, bob.ID, bundle.ticket(t, seller.ID, "Late", 4000).ID, base)
				record(late.ID, "late", 4000, "usd", base.Add(hold))
				// 4: the wrong amount; 5: the wrong currency (case does not matter).
				short := bundle.order(t, ada.ID, bundle.ticket(t, seller.ID, "Short", 5000).ID, base)
				record(short.ID, "short", 4999, "usd", base.Add(time.Second))
				foreign := bundle.order(t, bob.ID, bundle.ticket(t, seller.ID, "Foreign", 6000).ID, base)
				record(foreign.ID, "foreign", 6000, "EUR", base.Add(time.Second))
				// 6: no order of ours; its refund has gone through.
				record(999_999, "stray", 700, "usd", base.Add(2*time.Second))
				require.NoError(t, bundle.store.MarkPaymentRefunded(ctx, "pi_stray", base.Add(3*time.Second)))

				records, err := bundle.store.PaymentRecords(ctx)
				require.NoError(t, err)
				require.Len(t, records, 6)
				sessions := make([]string, len(records))
				for i, r := range records {
					sessions[i] = r.SessionID
				}
				require.Equal(t, []string{"cs_stray", "cs_foreign", "cs_short", "cs_late", "cs_twice", "cs_on_time"}, sessions,
					"newest first")
				bySession := map[string]store.PaymentRecord{}
				for _, r := range records {
					bySession[r.SessionID] = r
				}

				paid := bySession["cs_on_time"]
				require.True(t, paid.HasOrder)
				require.Equal(t, onTime.ID, paid.OrderID)
				require.Equal(t, onTime.ID, paid.Order.ID)
				require.Equal(t, ada.ID, paid.Order.BuyerID)
				require.Equal(t, "ada@example.com", paid.BuyerEmail)
				require.Equal(t, "On time", paid.EventName)
				require.Equal(t, "On time", paid.Order.EventName)
				require.Equal(t, store.Paid, paid.Order.Status)
				require.Equal(t, int64(3000), paid.Order.Amount)
				require.Equal(t, "usd", paid.Order.Currency)
				require.Equal(t, base.Add(hold), paid.Order.ExpiresAt)
				require.Equal(t, base.Add(10*time.Second), paid.Order.PaidAt)
				require.Equal(t, "pi_on_time", paid.PaymentIntentID)
				require.Equal(t, int64(3000), paid.Amount)
				require.Equal(t, "usd", paid.Currency)
				require.Equal(t, store.PaymentSucceeded, paid.Status)
				require.Empty(t, paid.RefundReason)
				require.Equal(t, base.Add(10*time.Second), paid.CreatedAt)
				requireFlags(t, paid, false, false, false, false)

				twice := bySession["cs_twice"]
				require.False(t, twice.HasOrder)
				require.Equal(t, store.RefundPending, twice.Status)
				require.Equal(t, store.RefundNotSession, twice.RefundReason)
				requireFlags(t, twice, false, true, true, false)

				latePaid := bySession["cs_late"]
				require.Equal(t, "bob@example.com", latePaid.BuyerEmail)
				require.Equal(t, store.Paid, latePaid.Order.Status, "the ticket was still free")
				require.Equal(t, store.PaymentSucceeded, latePaid.Status)
				requireFlags(t, latePaid, true, false, false, false)

				shortPaid := bySession["cs_short"]
				require.Equal(t, int64(4999), shortPaid.Amount)
				require.Equal(t, int64(5000), shortPaid.Order.Amount)
				require.Equal(t, store.Pending, shortPaid.Order.Status)
				require.Equal(t, store.RefundMismatch, shortPaid.RefundReason)
				requireFlags(t, shortPaid, false, true, true, false)

				foreignPaid := bySession["cs_foreign"]
				require.Equal(t, "eur", foreignPaid.Currency)
				require.Equal(t, "usd", foreignPaid.Order.Currency)
				requireFlags(t, foreignPaid, false, true, true, false)

				stray := bySession["cs_stray"]
				require.False(t, stray.HasOrder)
				require.Zero(t, stray.OrderID)
				require.Equal(t, store.Order{}, stray.Order)
				require.Empty(t, stray.BuyerEmail)
				require.Empty(t, stray.EventName)
				require.Equal(t, store.PaymentRefunded, stray.Status)
				require.Equal(t, store.RefundNoOrder, stray.RefundReason)
				requireFlags(t, stray, false, true, true, false)
			})
		})
	}
}

// requireFlags checks what the reconciliation page would say of a payment.
func requireFlags(t *testing.T, r store.PaymentRecord, late, refund, mismatched, unsettled bool) {
	t.Helper()
	require.Equal(t, late, r.Late(), "late: %s", r.SessionID)
	require.Equal(t, refund, r.Refund(), "refund: %s", r.SessionID)
	require.Equal(t, mismatched, r.Mismatched(), "mismatched: %s", r.SessionID)
	require.Equal(t, unsettled, r.Unsettled(), "unsettled: %s", r.SessionID)
}

// TestAdminPaymentRecordFlags covers what the store never produces on
// purpose: money kept without a sale.
func TestAdminPaymentRecordFlags(t *testing.T) {
	t.Parallel()
	order := store.Order{ID: 1, Status: store.Cancelled, Amount: 100, Currency: "usd", ExpiresAt: base}
	record := func(status store.PaymentStatus, created time.Time, o store.Order) store.PaymentRecord {
		return store.PaymentRecord{
			Payment:  store.Payment{ID: 1, OrderID: o.ID, Amount: 100, Currency: "usd", Status: status, CreatedAt: created},
			HasOrder: o.ID != 0,
			Order:    o,
		}
	}

	t.Run("SucceededOnCancelledOrder", func(t *testing.T) {
		t.Parallel()
		requireFlags(t, record(store.PaymentSucceeded, base.Add(-time.Second), order), false, false, false, true)
	})

	t.Run("SucceededWithoutOrder", func(t *testing.T) {
		t.Parallel()
		requireFlags(t, record(store.PaymentSucceeded, base, store.Order{}), false, false, true, true)
	})

	t.Run("RefundedOnCancelledOrder", func(t *testing.T) {
		t.Parallel()
		requireFlags(t, record(store.PaymentRefunded, base.Add(time.Second), order), true, true, false, false)
	})

	t.Run("JustBeforeTheHoldEnds", func(t *testing.T) {
		t.Parallel()
		paid := order
		paid.Status = store.Paid
		requireFlags(t, record(store.PaymentSucceeded, base.Add(-time.Millisecond), paid), false, false, false, false)
	})
}
