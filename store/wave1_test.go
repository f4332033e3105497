package store_test

import (
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// wave1Version is the last migration of wave 1, before events and listings.
const wave1Version = 5

// wave1 writes rows into a database at wave1Version as wave 1 wrote them:
// each statement one of wave 1's own, times in Unix ms, ids from the tables'
// identities.
type wave1 struct {
	t  *testing.T
	db *store.DB
}

func (w wave1) insert(query string, args ...any) int64 {
	w.t.Helper()
	var id int64
	require.NoError(w.t, w.db.Write.QueryRowContext(w.t.Context(), query+` RETURNING id`, args...).Scan(&id))
	return id
}

func (w wave1) exec(query string, args ...any) {
	w.t.Helper()
	_, err := w.db.Write.ExecContext(w.t.Context(), query, args...)
	require.NoError(w.t, err)
}

func (w wave1) user(email string, at time.Time) int64 {
	w.t.Helper()
	return w.insert(`INSERT INTO users (email, password_hash, created_at) VALUES ($1, 'hash', $2)`, email, at.UnixMilli())
}

func (w wave1) ticket(sellerID int64, title string, price int64, at time.Time) int64 {
	w.t.Helper()
	return w.insert(`INSERT INTO tickets (seller_id, title, price, currency, created_at, updated_at)
		VALUES ($1, $2, $3, 'usd', $4, $4)`, sellerID, title, price, at.UnixMilli())
}

// hold claims a ticket for a new pending order until expires.
func (w wave1) hold(buyerID, ticketID, price int64, at, expires time.Time, session string) int64 {
	w.t.Helper()
	orderID := w.insert(`INSERT INTO orders (buyer_id, ticket_id, status, amount, currency, expires_at, checkout_session_id, created_at, updated_at)
		VALUES ($1, $2, 'pending', $3, 'usd', $4, $5, $6, $6)`, buyerID, ticketID, price, expires.UnixMilli(), session, at.UnixMilli())
	w.exec(`UPDATE tickets SET claim_order_id = $1, claim_expires_at = $2 WHERE id = $3`, orderID, expires.UnixMilli(), ticketID)
	return orderID
}

// payment records a payment for an order (0: none of ours).
func (w wave1) payment(orderID int64, session string, amount int64, status store.PaymentStatus, refunded int64, reason string, at time.Time) int64 {
	w.t.Helper()
	order := sql.NullInt64{Int64: orderID, Valid: orderID != 0}
	return w.insert(`INSERT INTO payments (order_id, checkout_session_id, payment_intent_id, amount, currency, status,
		refund_reason, amount_refunded, created_at, updated_at) VALUES ($1, $2, $3, $4, 'usd', $5, $6, $7, $8, $8)`,
		order, session, "pi_"+session, amount, status, reason, refunded, at.UnixMilli())
}

// wave1Data is what writeWave1 stored: the ids of its rows.
type wave1Data struct {
	seller, buyer, other int64
	// Tickets, oldest first.
	forSale, heldNow, heldEnded, sold, withdrawn int64
	// Orders.
	cancelled, pending, lapsed, paid int64
	// Payments.
	paidPayment, strayPayment int64
}

// wave1Titles are the tickets' titles, by id.
type wave1Titles map[int64]string

// wave1Listed is when wave 1's rows were written: before the test's now
// (base), so that one hold still runs at base and another has ended.
var wave1Listed = base.Add(-time.Hour)

func writeWave1(w wave1) (wave1Data, wave1Titles) {
	w.t.Helper()
	var d wave1Data
	at := wave1Listed
	d.seller = w.user("seller@example.com", at)
	d.buyer = w.user("buyer@example.com", at)
	d.other = w.user("other@example.com", at)

	d.forSale = w.ticket(d.seller, "For Sale Gig", 2000, at.Add(time.Minute))
	d.heldNow = w.ticket(d.seller, "Held Concert", 4200, at.Add(2*time.Minute))
	d.heldEnded = w.ticket(d.seller, "Lapsed Hold", 1500, at.Add(3*time.Minute))
	d.sold = w.ticket(d.seller, "Sold Show", 3050, at.Add(4*time.Minute))
	d.withdrawn = w.ticket(d.seller, "Withdrawn Play", 2500, at.Add(5*time.Minute))
	w.exec(`UPDATE tickets SET withdrawn_at = $1, updated_at = $1 WHERE id = $2`, at.Add(6*time.Minute).UnixMilli(), d.withdrawn)

	// The other buyer held the ticket still for sale and cancelled.
	d.cancelled = w.hold(d.other, d.forSale, 2000, at.Add(10*time.Minute), at.Add(11*time.Minute), "")
	w.exec(`UPDATE orders SET status = 'cancelled', cancelled_at = $1, updated_at = $1 WHERE id = $2`,
		at.Add(10*time.Minute+30*time.Second).UnixMilli(), d.cancelled)
	w.exec(`UPDATE tickets SET claim_order_id = NULL, claim_expires_at = NULL WHERE id = $1`, d.forSale)

	d.pending = w.hold(d.buyer, d.heldNow, 4200, base.Add(-time.Minute), base.Add(10*time.Minute), "cs_held")
	// A hold that ended before its expiry job ran.
	d.lapsed = w.hold(d.other, d.heldEnded, 1500, base.Add(-20*time.Minute), base.Add(-5*time.Minute), "cs_lapsed")

	d.paid = w.hold(d.buyer, d.sold, 3050, at.Add(20*time.Minute), at.Add(30*time.Minute), "cs_paid")
	paidAt := at.Add(21 * time.Minute)
	w.exec(`UPDATE orders SET status = 'paid', paid_at = $1, updated_at = $1 WHERE id = $2`, paidAt.UnixMilli(), d.paid)
	w.exec(`UPDATE tickets SET claim_expires_at = NULL WHERE id = $1`, d.sold)
	// Part of it refunded in Stripe's dashboard. A payment naming the order
	// on a session it did not start was recorded without it and refunded.
	d.paidPayment = w.payment(d.paid, "cs_paid", 3050, store.PaymentSucceeded, 1000, "", paidAt)
	d.strayPayment = w.payment(0, "cs_stray", 3050, store.PaymentRefunded, 3050, store.RefundNotSession, paidAt.Add(time.Minute))

	return d, wave1Titles{d.forSale: "For Sale Gig", d.heldNow: "Held Concert", d.heldEnded: "Lapsed Hold",
		d.sold: "Sold Show", d.withdrawn: "Withdrawn Play"}
}

// TestWave1DataAfterEvents migrates a database that wave 1 filled to the
// events and listings of wave 2, and reads it back through the store.
func TestWave1DataAfterEvents(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			db, err := store.Open(ctx, storetest.URL(t, dialect))
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			require.NoError(t, db.MigrateTo(ctx, wave1Version))
			d, titles := writeWave1(wave1{t: t, db: db})
			require.NoError(t, db.Migrate(ctx))
			st, err := store.New(db)
			require.NoError(t, err)

			t.Run("TicketsAreListingsOfOne", func(t *testing.T) {
				prices := map[int64]int64{d.forSale: 2000, d.heldNow: 4200, d.heldEnded: 1500, d.sold: 3050, d.withdrawn: 2500}
				states := map[int64]store.ListingState{d.forSale: store.ForSale, d.heldNow: store.Held,
					d.heldEnded: store.ForSale, d.sold: store.Sold, d.withdrawn: store.Withdrawn}
				for id, title := range titles {
					l, err := st.Listing(ctx, id, base)
					require.NoError(t, err)
					require.Equal(t, title, l.Title(), "listing %d", id)
					require.Equal(t, title, l.Event.Name)
					require.True(t, l.Event.StartsAt.IsZero(), "%s: date to be announced", title)
					require.Equal(t, "UTC", l.Event.TimeZone)
					require.Equal(t, d.seller, l.Event.CreatedBy)
					require.True(t, l.Event.Listed())
					require.Equal(t, prices[id], l.Price)
					require.Equal(t, prices[id], l.FaceValue, "%s: face value is the price", title)
					require.Equal(t, "usd", l.Currency)
					require.Empty(t, l.Note)
					require.Equal(t, 1, l.Quantity)
					require.False(t, l.Together)
					require.Equal(t, states[id], l.State(base), title)

					e, err := st.Event(ctx, l.Event.ID)
					require.NoError(t, err)
					require.Equal(t, l.Event, e)
				}
				sold, err := st.Listing(ctx, d.sold, base)
				require.NoError(t, err)
				require.Equal(t, 1, sold.Sold)
				withdrawn, err := st.Listing(ctx, d.withdrawn, base)
				require.NoError(t, err)
				require.Equal(t, wave1Listed.Add(6*time.Minute), withdrawn.WithdrawnAt)
				require.Equal(t, wave1Listed.Add(5*time.Minute), withdrawn.CreatedAt)

				held, err := st.Listing(ctx, d.heldNow, base)
				require.NoError(t, err)
				require.Equal(t, base.Add(10*time.Minute), held.NextRelease)
				claims, err := st.Claims(ctx, d.heldNow)
				require.NoError(t, err)
				require.Equal(t, []store.Claim{{OrderID: d.pending, ExpiresAt: base.Add(10 * time.Minute)}}, claims)
			})

			t.Run("ForSale", func(t *testing.T) {
				listed, err := st.ListingsForSale(ctx, base, "", 10, 0)
				require.NoError(t, err)
				var ids []int64
				for _, l := range listed {
					ids = append(ids, l.ID)
				}
				require.Equal(t, []int64{d.heldEnded, d.forSale}, ids, "the ended hold's ticket is for sale again")

				events, err := st.UpcomingEvents(ctx, base, store.EventQuery{}, 10, 0)
				require.NoError(t, err)
				forSale := map[string]int{}
				for _, e := range events {
					forSale[e.Name] = e.ForSale
				}
				require.Equal(t, map[string]int{"For Sale Gig": 1, "Held Concert": 0, "Lapsed Hold": 1, "Sold Show": 0,
					"Withdrawn Play": 0}, forSale)
			})

			t.Run("Orders", func(t *testing.T) {
				type seen struct {
					ID, ListingID int64
					Quantity      int
					EventName     string
					Amount        int64
					State         store.OrderStatus
					Session       string
				}
				orders := func(buyerID int64) []seen {
					list, err := st.OrdersByBuyer(ctx, buyerID)
					require.NoError(t, err)
					var got []seen
					for _, o := range list {
						got = append(got, seen{o.ID, o.ListingID, o.Quantity, o.EventName, o.Amount, o.State(base), o.CheckoutSessionID})
					}
					return got
				}
				require.Equal(t, []seen{
					{d.paid, d.sold, 1, "Sold Show", 3050, store.Paid, "cs_paid"},
					{d.pending, d.heldNow, 1, "Held Concert", 4200, store.Pending, "cs_held"},
				}, orders(d.buyer))
				require.Equal(t, []seen{
					{d.lapsed, d.heldEnded, 1, "Lapsed Hold", 1500, store.Expired, "cs_lapsed"},
					{d.cancelled, d.forSale, 1, "For Sale Gig", 2000, store.Cancelled, ""},
				}, orders(d.other))

				held, err := st.HeldBy(ctx, d.heldNow, d.buyer, base)
				require.NoError(t, err)
				require.Equal(t, d.pending, held.ID)
				_, err = st.HeldBy(ctx, d.heldEnded, d.other, base)
				require.ErrorIs(t, err, store.ErrNotFound, "that hold has ended")
			})

			t.Run("Payments", func(t *testing.T) {
				payments, err := st.PaymentsForOrder(ctx, d.paid)
				require.NoError(t, err)
				require.Len(t, payments, 1)
				require.Equal(t, d.paidPayment, payments[0].ID)
				require.Equal(t, "Sold Show", payments[0].EventName)
				require.Equal(t, store.PaymentSucceeded, payments[0].Status)
				require.Equal(t, int64(1000), payments[0].AmountRefunded)
				require.True(t, payments[0].PartlyRefunded())

				records, err := st.PaymentRecords(ctx)
				require.NoError(t, err)
				require.Len(t, records, 2)
				stray, paid := records[0], records[1]
				require.Equal(t, d.strayPayment, stray.ID, "newest first")
				require.False(t, stray.HasOrder)
				require.Equal(t, store.PaymentRefunded, stray.Status)
				require.Equal(t, store.RefundNotSession, stray.RefundReason)
				require.Equal(t, d.paidPayment, paid.ID)
				require.Equal(t, "buyer@example.com", paid.BuyerEmail)
				require.Equal(t, "Sold Show", paid.EventName)
				require.Equal(t, d.sold, paid.Order.ListingID)
				require.Equal(t, 1, paid.Order.Quantity)
				require.False(t, paid.Unsettled())
			})

			t.Run("SellersList", func(t *testing.T) {
				list, err := st.SellerListings(ctx, d.seller, base)
				require.NoError(t, err)
				var ids []int64
				states := map[int64]store.ListingState{}
				for _, l := range list {
					ids = append(ids, l.ID)
					states[l.ID] = l.State(base)
				}
				require.Equal(t, []int64{d.withdrawn, d.sold, d.heldEnded, d.heldNow, d.forSale}, ids)
				require.Equal(t, map[int64]store.ListingState{d.forSale: store.ForSale, d.heldNow: store.Held,
					d.heldEnded: store.ForSale, d.sold: store.Sold, d.withdrawn: store.Withdrawn}, states)
				require.Equal(t, int64(3050), list[1].SoldAmount)
				require.Equal(t, wave1Listed.Add(21*time.Minute), list[1].LastSoldAt)
			})

			// The subtests above only read; these write.
			t.Run("OldOrdersCarryOn", func(t *testing.T) {
				require.NoError(t, st.RecordPayment(ctx, store.Payment{OrderID: d.pending, SessionID: "cs_held",
					PaymentIntentID: "pi_held", Amount: 4200, Currency: "usd"}, base))
				o, err := st.Order(ctx, d.pending, d.buyer)
				require.NoError(t, err)
				require.Equal(t, store.Paid, o.Status, "the running hold is paid")
				l, err := st.Listing(ctx, d.heldNow, base)
				require.NoError(t, err)
				require.Equal(t, store.Sold, l.State(base))

				_, _, err = st.ExpireOrder(ctx, d.lapsed, base)
				require.NoError(t, err)
				o, err = st.Order(ctx, d.lapsed, d.other)
				require.NoError(t, err)
				require.Equal(t, store.Cancelled, o.Status, "the ended hold's job cancels it")
				claims, err := st.Claims(ctx, d.heldEnded)
				require.NoError(t, err)
				require.Equal(t, []store.Claim{{}}, claims, "and releases its ticket")
			})

			t.Run("NewRowsGetFreshIDs", func(t *testing.T) {
				maxOld := max(d.forSale, d.heldNow, d.heldEnded, d.sold, d.withdrawn)
				l, err := st.CreateListing(ctx, d.seller, store.NewListing{
					Event: store.NewEvent{Name: "New Festival", StartsAt: base.Add(48 * time.Hour), TimeZone: "Europe/Paris"},
					Price: 5000, FaceValue: 5000, Currency: "usd", Quantity: 3,
				}, base)
				require.NoError(t, err)
				require.Greater(t, l.ID, maxOld)
				require.Greater(t, l.Event.ID, maxOld, "events continue after the ids the tickets gave them")
				claims, err := st.Claims(ctx, l.ID)
				require.NoError(t, err)
				require.Len(t, claims, 3)

				e, err := st.CreateEvent(ctx, d.other, store.NewEvent{Name: "Another", TimeZone: "UTC"}, base)
				require.NoError(t, err)
				require.Greater(t, e.ID, l.Event.ID)
				more, err := st.CreateListing(ctx, d.other, store.NewListing{EventID: e.ID, Price: 100, FaceValue: 100,
					Currency: "usd", Quantity: 2}, base)
				require.NoError(t, err)
				require.Greater(t, more.ID, l.ID)

				o, err := st.CreateOrder(ctx, d.buyer, l.ID, 2, base, hold)
				require.NoError(t, err)
				require.Greater(t, o.ID, max(d.cancelled, d.pending, d.lapsed, d.paid))
				old, err := st.CreateOrder(ctx, d.other, d.forSale, 1, base, hold)
				require.NoError(t, err, "an old listing sells as a new one")
				require.Equal(t, "For Sale Gig", old.EventName)
				require.Greater(t, old.ID, o.ID)
			})
		})
	}
}
