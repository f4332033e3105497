package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/alexedwards/scs/postgresstore"
	"github.com/alexedwards/scs/sqlite3store"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/jobs"
	"github.com/eventhive/eventhive/payments"
	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// moveHistory is when the fixture's past happened: long ago, so every hold
// that began then has ended.
var moveHistory = time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)

// moveBundle is a SQLite database written through the store, and an empty
// PostgreSQL database to move it into.
type moveBundle struct {
	src      *store.DB
	srcStore *store.Store
	dstURL   string
	dst      *store.DB // opened, not migrated: MoveToPostgres migrates it
	fixture  moveFixture
}

// moveFixture is what setupMove wrote to the source.
type moveFixture struct {
	emails   []string
	seller   store.User
	pending  store.Order // pending, its hold ends a few seconds after setup
	ended    store.Order // pending, its hold ended long ago; its job never ran
	paid     store.Order
	refunded store.Payment // refunded: a second payment for the paid order
	orphan   store.Payment // refund_pending: it named no order
	events   []string      // stored Stripe events; the first is unprocessed

	upcoming  store.Event // starts a month after setup: its sales close then
	listings  []int64     // every listing, oldest first
	suspended store.User  // a seller an operator suspended
	merged    store.Event // merged into upcoming

	sessionToken  string
	sessionData   []byte
	sessionExpiry time.Time
}

// moveHold is the hold of the fixture's pending order: long enough to move
// before it ends, short enough to watch its job end it.
const moveHold = 10 * time.Second

func setupMove(t *testing.T) *moveBundle {
	t.Helper()
	if os.Getenv("TEST_DATABASE_URL") == "" {
		t.Skip("TEST_DATABASE_URL is not set: moving needs PostgreSQL")
	}
	ctx := t.Context()
	src := storetest.Open(t, store.SQLite)
	srcStore, err := store.New(src)
	require.NoError(t, err)

	dstURL := storetest.URL(t, store.Postgres)
	dst, err := store.Open(ctx, dstURL)
	require.NoError(t, err)
	t.Cleanup(func() { dst.Close() })

	b := &moveBundle{src: src, srcStore: srcStore, dstURL: dstURL, dst: dst}
	b.fixture = writeMoveFixture(t, srcStore)
	return b
}

// writeMoveFixture writes one of everything through the store: users,
// listings of one ticket and of several, sold together or not, partly sold,
// under events to be announced, still to start and started, a pending order,
// an order whose hold ended unnoticed, a cancelled order, paid orders, a
// refunded and a refund-pending payment, Stripe events processed and not, and
// a signed-in session; and, as an operator would, a suspended seller, a
// hidden event and an event merged into another.
func writeMoveFixture(t *testing.T, st *store.Store) moveFixture {
	t.Helper()
	ctx := t.Context()
	var f moveFixture
	user := func(email string) store.User {
		u, err := st.CreateUser(ctx, email, "hash-of-"+email, moveHistory)
		require.NoError(t, err)
		f.emails = append(f.emails, email)
		return u
	}
	list := func(seller store.User, n store.NewListing) store.Listing {
		tk, err := st.CreateListing(ctx, seller.ID, n, moveHistory.Add(time.Minute))
		require.NoError(t, err)
		f.listings = append(f.listings, tk.ID)
		return tk
	}
	ticket := func(title string, price int64) store.Listing {
		return list(f.seller, store.Single(title, price, "usd"))
	}
	// operator changes what moderation changes.
	operator := func(query string, args ...any) {
		_, err := st.DB().Write.ExecContext(ctx, query, args...)
		require.NoError(t, err)
	}
	order := func(buyer store.User, tk store.Listing, now time.Time, hold time.Duration) store.Order {
		o, err := st.CreateOrder(ctx, buyer.ID, tk.ID, 1, now, hold)
		require.NoError(t, err)
		return o
	}
	// pay buys n tickets of a listing and pays for them.
	pay := func(buyer store.User, tk store.Listing, n int, now time.Time, session string) {
		o, err := st.CreateOrder(ctx, buyer.ID, tk.ID, n, now, time.Minute)
		require.NoError(t, err)
		require.NoError(t, st.SetCheckoutSession(ctx, o.ID, buyer.ID, session, now))
		require.NoError(t, st.RecordPayment(ctx, store.Payment{
			OrderID: o.ID, SessionID: session, PaymentIntentID: "pi_" + session, Amount: o.Amount, Currency: "usd",
		}, now.Add(time.Second)))
	}

	f.seller = user("seller@example.com")
	buyer, other := user("buyer@example.com"), user("other@example.com")
	user("idle@example.com")

	paidTicket := ticket("Paid Gig", 3050)
	f.paid = order(buyer, paidTicket, moveHistory.Add(2*time.Minute), time.Minute)
	require.NoError(t, st.SetCheckoutSession(ctx, f.paid.ID, buyer.ID, "cs_paid", moveHistory.Add(2*time.Minute)))
	require.NoError(t, st.RecordPayment(ctx, store.Payment{
		OrderID: f.paid.ID, SessionID: "cs_paid", PaymentIntentID: "pi_paid", Amount: 3050, Currency: "usd",
	}, moveHistory.Add(150*time.Second)))
	// The same order paid again: refunded.
	require.NoError(t, st.RecordPayment(ctx, store.Payment{
		OrderID: f.paid.ID, SessionID: "cs_twice", PaymentIntentID: "pi_twice", Amount: 3050, Currency: "usd",
	}, moveHistory.Add(160*time.Second)))
	require.NoError(t, st.MarkPaymentRefunded(ctx, "pi_twice", moveHistory.Add(170*time.Second)))
	// A payment for no order of ours: its refund has not gone through yet.
	require.NoError(t, st.RecordPayment(ctx, store.Payment{
		SessionID: "cs_orphan", PaymentIntentID: "pi_orphan", Amount: 999, Currency: "usd",
	}, moveHistory.Add(180*time.Second)))

	cancelledTicket := ticket("Cancelled Show", 1000)
	cancelled := order(other, cancelledTicket, moveHistory.Add(3*time.Minute), time.Minute)
	require.NoError(t, st.CancelOrder(ctx, cancelled.ID, other.ID, moveHistory.Add(200*time.Second)))

	endedTicket := ticket("Ended Hold", 1500)
	f.ended = order(other, endedTicket, moveHistory.Add(4*time.Minute), time.Minute)

	withdrawn := ticket("Withdrawn Play", 2500)
	_, err := st.WithdrawListing(ctx, withdrawn.ID, f.seller.ID, moveHistory.Add(5*time.Minute))
	require.NoError(t, err)
	// Three seats sold together, under an event with a venue and a city.
	_, err = st.CreateListing(ctx, f.seller.ID, store.NewListing{
		Event: store.NewEvent{Name: "Trio", Venue: "Concert Hall", City: "Oslo", TimeZone: "Europe/Oslo"},
		Price: 3000, FaceValue: 2800, Currency: "usd", Quantity: 3, Note: "Row 5", Together: true,
	}, moveHistory.Add(5*time.Minute))
	require.NoError(t, err)
	ticket("For Sale", 2000)

	// A month ahead: the job that closes its sales is recreated.
	upcoming := store.NewEvent{Name: "Arena Tour", Venue: "Arena", City: "Lyon",
		StartsAt: time.Now().Add(30 * 24 * time.Hour).Truncate(time.Millisecond), TimeZone: "Europe/Paris"}
	partly := list(f.seller, store.NewListing{Event: upcoming, Price: 6000, FaceValue: 5500, Currency: "usd",
		Quantity: 4, Note: "Block B"})
	f.upcoming = partly.Event
	list(f.seller, store.NewListing{EventID: f.upcoming.ID, Price: 7000, FaceValue: 7000, Currency: "usd",
		Quantity: 2, Together: true, Note: "Seats 11-12"})
	pay(buyer, partly, 2, moveHistory.Add(7*time.Minute), "cs_partly")

	// Started long ago: its sales are closed, and no job is needed.
	started := list(f.seller, store.NewListing{Event: store.NewEvent{Name: "Last Spring Fest", City: "Gent",
		StartsAt: moveHistory.Add(24 * time.Hour), TimeZone: "Europe/Brussels"}, Price: 3000, FaceValue: 3000,
		Currency: "usd", Quantity: 2})
	pay(other, started, 1, moveHistory.Add(8*time.Minute), "cs_started")

	f.suspended = user("suspended@example.com")
	list(f.suspended, store.NewListing{Event: store.NewEvent{Name: "Suspended Seller Gig", TimeZone: "UTC"},
		Price: 1000, FaceValue: 1000, Currency: "usd", Quantity: 3})
	operator(`UPDATE users SET suspended_at = $1 WHERE id = $2`, moveHistory.Add(9*time.Minute).UnixMilli(), f.suspended.ID)
	hidden := ticket("Hidden Show", 1200)
	operator(`UPDATE events SET hidden_at = $1 WHERE id = $2`, moveHistory.Add(9*time.Minute).UnixMilli(), hidden.Event.ID)
	f.merged = ticket("Arena Tour (duplicate)", 6000).Event
	operator(`UPDATE events SET merged_into = $1 WHERE id = $2`, f.upcoming.ID, f.merged.ID)
	f.merged.MergedInto = f.upcoming.ID

	pendingTicket := ticket("Pending Concert", 4200)
	f.pending = order(buyer, pendingTicket, time.Now().UTC(), moveHold)

	records, err := st.PaymentRecords(ctx)
	require.NoError(t, err)
	for _, r := range records {
		switch r.SessionID {
		case "cs_twice":
			f.refunded = r.Payment
		case "cs_orphan":
			f.orphan = r.Payment
		}
	}
	require.Equal(t, store.PaymentRefunded, f.refunded.Status)
	require.Equal(t, store.RefundPending, f.orphan.Status)

	for i, typ := range []string{"customer.created", "charge.refunded"} {
		id := fmt.Sprintf("evt_move_%d", i)
		payload, err := json.Marshal(map[string]any{"id": id, "object": "event", "type": typ, "data": map[string]any{"object": map[string]any{}}})
		require.NoError(t, err)
		inserted, err := st.RecordStripeEvent(ctx, id, typ, payload, moveHistory.Add(5*time.Minute))
		require.NoError(t, err)
		require.True(t, inserted)
		f.events = append(f.events, id)
	}
	require.NoError(t, st.MarkStripeEventProcessed(ctx, f.events[1], moveHistory.Add(6*time.Minute)))

	sessions := sqlite3store.NewWithCleanupInterval(st.DB().Write, 0)
	f.sessionToken, f.sessionData = "session-token-of-buyer", []byte("\x00gob\xffdata of buyer")
	f.sessionExpiry = time.Now().Add(24 * time.Hour).UTC().Truncate(time.Millisecond)
	require.NoError(t, sessions.Commit(f.sessionToken, f.sessionData, f.sessionExpiry))
	require.NoError(t, sessions.Commit("expired-session", []byte("old"), moveHistory))
	return f
}

// move moves the source into the target.
func (b *moveBundle) move(t *testing.T) (store.MoveCounts, error) {
	t.Helper()
	src, err := store.OpenSQLiteReadOnly(t.Context(), b.srcPath(t))
	require.NoError(t, err)
	defer src.Close()
	return store.MoveToPostgres(t.Context(), src, b.dst)
}

// srcPath is the source's file.
func (b *moveBundle) srcPath(t *testing.T) string {
	t.Helper()
	var seq int
	var name, file string
	require.NoError(t, b.src.Read.QueryRowContext(t.Context(), `PRAGMA database_list`).Scan(&seq, &name, &file))
	return file
}

// moveSnapshot is everything the store shows of the fixture's data at a
// moment.
type moveSnapshot struct {
	Users    []store.User
	Tickets  [][]store.SellerListing
	Claims   [][]store.Claim // of each listing, oldest first
	Orders   [][]store.Order
	Payments []store.PaymentRecord
	Events   [][]byte
	Upcoming []store.EventSummary
	Merged   store.Event
}

func snapshotForMove(t *testing.T, st *store.Store, f moveFixture, now time.Time) moveSnapshot {
	t.Helper()
	ctx := t.Context()
	var s moveSnapshot
	for _, email := range f.emails {
		u, err := st.UserByEmail(ctx, email)
		require.NoError(t, err)
		byID, err := st.UserByID(ctx, u.ID)
		require.NoError(t, err)
		require.Equal(t, u, byID)
		s.Users = append(s.Users, u)
		tickets, err := st.SellerListings(ctx, u.ID, now)
		require.NoError(t, err)
		s.Tickets = append(s.Tickets, tickets)
		orders, err := st.OrdersByBuyer(ctx, u.ID)
		require.NoError(t, err)
		s.Orders = append(s.Orders, orders)
	}
	for _, id := range f.listings {
		claims, err := st.Claims(ctx, id)
		require.NoError(t, err)
		s.Claims = append(s.Claims, claims)
	}
	var err error
	s.Payments, err = st.PaymentRecords(ctx)
	require.NoError(t, err)
	s.Upcoming, err = st.UpcomingEvents(ctx, now, store.EventQuery{}, 100, 0)
	require.NoError(t, err)
	s.Merged, err = st.Event(ctx, f.merged.ID)
	require.NoError(t, err)
	for _, id := range f.events {
		payload, err := st.StripeEvent(ctx, id)
		require.NoError(t, err)
		s.Events = append(s.Events, payload)
	}
	return s
}

// requireMoveFixtureStates checks that the fixture's listings are in the
// states it means them to be in at now, so that moving them tests something.
func requireMoveFixtureStates(t *testing.T, s moveSnapshot, f moveFixture, now time.Time) {
	t.Helper()
	byNote := map[string]store.Listing{}
	for _, list := range s.Tickets {
		for _, l := range list {
			byNote[l.Title()+"|"+l.Note] = l.Listing
		}
	}
	partly := byNote["Arena Tour|Block B"]
	require.Equal(t, [3]int{4, 2, 2}, [3]int{partly.Quantity, partly.Sold, partly.Free}, "quantity, sold, free")
	require.Equal(t, store.ForSale, partly.State(now))
	require.Equal(t, int64(5500), partly.FaceValue)
	require.Equal(t, f.upcoming, partly.Event)
	require.Equal(t, "Europe/Paris", partly.Event.TimeZone)
	together := byNote["Arena Tour|Seats 11-12"]
	require.True(t, together.Together)
	require.Equal(t, 2, together.Free)
	started := byNote["Last Spring Fest|"]
	require.Equal(t, store.Ended, started.State(now))
	require.Equal(t, 1, started.Sold)
	suspended := byNote["Suspended Seller Gig|"]
	require.True(t, suspended.SellerSuspended)
	require.Equal(t, store.OffSale, suspended.State(now))
	hidden := byNote["Hidden Show|"]
	require.False(t, hidden.Event.HiddenAt.IsZero())
	require.Equal(t, store.OffSale, hidden.State(now))
	require.Equal(t, f.merged, s.Merged)

	var upcoming []string
	for _, e := range s.Upcoming {
		upcoming = append(upcoming, e.Name)
	}
	require.Equal(t, "Arena Tour", upcoming[0], "the dated event comes first")
	require.NotContains(t, upcoming, "Last Spring Fest")
	require.NotContains(t, upcoming, "Hidden Show")
	require.NotContains(t, upcoming, f.merged.Name)
}

// countMoved runs a SELECT count(*) query on db.
func countMoved(t *testing.T, db *store.DB, query string) int {
	t.Helper()
	var n int
	require.NoError(t, db.Read.QueryRowContext(t.Context(), query).Scan(&n))
	return n
}

// requireTargetEmpty checks that no app row and no job is in the target.
func requireTargetEmpty(t *testing.T, db *store.DB) {
	t.Helper()
	for _, table := range []string{"users", "tickets", "orders", "payments", "stripe_events", "sessions", "river_job"} {
		require.Zero(t, countMoved(t, db, `SELECT count(*) FROM `+table), "rows in %s", table)
	}
}

// movedJobs lists the target's jobs of a kind, oldest first.
func movedJobs(t *testing.T, db *store.DB, kind string) []*rivertype.JobRow {
	t.Helper()
	client, err := river.NewClient(db.RiverDriver(), &river.Config{})
	require.NoError(t, err)
	res, err := client.JobList(t.Context(), river.NewJobListParams().Kinds(kind).First(100))
	require.NoError(t, err)
	return res.Jobs
}

func TestMoveToPostgres(t *testing.T) {
	t.Parallel()

	t.Run("CopiesEverything", func(t *testing.T) {
		t.Parallel()
		b := setupMove(t)
		f := b.fixture
		now := time.Now()
		before := snapshotForMove(t, b.srcStore, f, now)

		counts, err := b.move(t)
		require.NoError(t, err)
		require.Equal(t, store.MoveCounts{
			Users: 5, Sessions: 2, Events: 12, Listings: 13, Tickets: 22, Orders: 6, Payments: 5, StripeEvents: 2,
			Mail:  6,                   // the payments' receipts, sold and refund notices, unsent
			Sales: 4, LedgerEntries: 4, // the tickets of the three orders paid, each entered once
			ExpiryJobs: 2, EventJobs: 1, RefundJobs: 1, SalesCloseJobs: 1, MailJobs: 6,
			PayoutJobs: 3, // the release of each paid order's sales
		}, counts)

		dstStore, err := store.New(b.dst)
		require.NoError(t, err)
		srcLedger, err := b.srcStore.LedgerBalances(t.Context())
		require.NoError(t, err)
		dstLedger, err := dstStore.LedgerBalances(t.Context())
		require.NoError(t, err)
		require.Equal(t, srcLedger, dstLedger, "the ledger adds up the same")
		require.Len(t, movedJobs(t, b.dst, store.ReleaseSalesArgs{}.Kind()), 3)
		after := snapshotForMove(t, dstStore, f, now)
		require.Equal(t, before, after, "the store reads the same ids, states, amounts and times")
		requireMoveFixtureStates(t, after, f, now)

		o, err := dstStore.Order(t.Context(), f.pending.ID, f.pending.BuyerID)
		require.NoError(t, err)
		require.Equal(t, f.pending, o)
		require.Equal(t, store.Pending, o.State(time.Now()))
		require.Equal(t, store.Held, after.Tickets[0][0].State(f.pending.CreatedAt), "the pending order's ticket is held")
		var trio store.SellerListing
		for _, l := range after.Tickets[0] {
			if l.Title() == "Trio" {
				trio = l
			}
		}
		require.Equal(t, "Trio", trio.Title())
		require.True(t, trio.Together)
		require.Equal(t, 3, trio.Free)

		// A signed-in session reads the same on PostgreSQL, until the same
		// moment; an expired one stays expired.
		sessions := postgresstore.NewWithCleanupInterval(b.dst.Write, 0)
		data, found, err := sessions.Find(f.sessionToken)
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, f.sessionData, data)
		var expiry time.Time
		require.NoError(t, b.dst.Read.QueryRowContext(t.Context(),
			`SELECT expiry FROM sessions WHERE token = $1`, f.sessionToken).Scan(&expiry))
		require.True(t, f.sessionExpiry.Equal(expiry), "expiry %s, want %s", expiry, f.sessionExpiry)
		_, found, err = sessions.Find("expired-session")
		require.NoError(t, err)
		require.False(t, found)

		// The jobs the data needs, and no others.
		expiries := movedJobs(t, b.dst, store.ExpireOrderArgs{}.Kind())
		require.Len(t, expiries, 2)
		byOrder := map[int64]*rivertype.JobRow{}
		for _, job := range expiries {
			var args store.ExpireOrderArgs
			require.NoError(t, json.Unmarshal(job.EncodedArgs, &args))
			byOrder[args.OrderID] = job
		}
		require.Equal(t, rivertype.JobStateScheduled, byOrder[f.pending.ID].State)
		require.True(t, f.pending.ExpiresAt.Equal(byOrder[f.pending.ID].ScheduledAt),
			"scheduled at %s, hold ends at %s", byOrder[f.pending.ID].ScheduledAt, f.pending.ExpiresAt)
		require.Equal(t, rivertype.JobStateAvailable, byOrder[f.ended.ID].State, "a hold that ended is due now")

		events := movedJobs(t, b.dst, store.ProcessStripeEventArgs{}.Kind())
		require.Len(t, events, 1)
		require.JSONEq(t, `{"event_id":"`+f.events[0]+`"}`, string(events[0].EncodedArgs))

		refunds := movedJobs(t, b.dst, store.RefundPaymentArgs{}.Kind())
		require.Len(t, refunds, 1)
		var refund store.RefundPaymentArgs
		require.NoError(t, json.Unmarshal(refunds[0].EncodedArgs, &refund))
		require.Equal(t, store.RefundPaymentArgs{SessionID: "cs_orphan", PaymentIntentID: "pi_orphan"}, refund)

		closes := movedJobs(t, b.dst, store.CloseSalesArgs{}.Kind())
		require.Len(t, closes, 1, "only the event still to start needs its sales closed")
		require.JSONEq(t, fmt.Sprintf(`{"event_id":%d}`, f.upcoming.ID), string(closes[0].EncodedArgs))
		require.Equal(t, rivertype.JobStateScheduled, closes[0].State)
		require.True(t, f.upcoming.StartsAt.Equal(closes[0].ScheduledAt),
			"scheduled at %s, the event starts at %s", closes[0].ScheduledAt, f.upcoming.StartsAt)
		// and the six send_mail jobs and three release_sales jobs
		require.Equal(t, 5+6+3, countMoved(t, b.dst, `SELECT count(*) FROM river_job`))

		// New rows get ids above the moved ones.
		u, err := dstStore.CreateUser(t.Context(), "new@example.com", "hash", time.Now())
		require.NoError(t, err)
		require.Greater(t, u.ID, after.Users[len(after.Users)-1].ID)
		tk, err := dstStore.CreateListing(t.Context(), u.ID, store.Single("New Ticket", 100, "usd"), time.Now())
		require.NoError(t, err)
		require.Greater(t, tk.ID, after.Tickets[0][0].ID)
		require.Greater(t, tk.Event.ID, after.Tickets[0][0].Event.ID)
		more, err := dstStore.CreateListing(t.Context(), u.ID, store.NewListing{EventID: f.upcoming.ID, Price: 100,
			FaceValue: 100, Currency: "usd", Quantity: 3}, time.Now())
		require.NoError(t, err)
		require.Equal(t, 3, more.Free, "three new tickets, their ids clear of the moved ones")
		newOrder, err := dstStore.CreateOrder(t.Context(), f.seller.ID, tk.ID, 1, time.Now(), time.Minute)
		require.NoError(t, err)
		require.Greater(t, newOrder.ID, f.pending.ID)
		require.NoError(t, dstStore.RecordPayment(t.Context(), store.Payment{
			OrderID: newOrder.ID, SessionID: "cs_new", PaymentIntentID: "pi_new", Amount: 100, Currency: "usd",
		}, time.Now()))
		records, err := dstStore.PaymentRecords(t.Context())
		require.NoError(t, err)
		require.Greater(t, records[0].ID, f.orphan.ID)
		require.Equal(t, "cs_new", records[0].SessionID)

		// The source is as it was.
		require.Equal(t, before, snapshotForMove(t, b.srcStore, f, now))
	})

	t.Run("EventMergedIntoALaterOne", func(t *testing.T) {
		t.Parallel()
		b := setupMove(t)
		// More events than one INSERT carries, the first merged into the
		// last.
		_, err := b.src.Write.ExecContext(t.Context(), `
			WITH RECURSIVE seq (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 600)
			INSERT INTO events (name, time_zone, created_by, created_at, updated_at)
			SELECT 'Bulk ' || i, 'UTC', $1, $2, $2 FROM seq`, b.fixture.seller.ID, moveHistory.UnixMilli())
		require.NoError(t, err)
		var first, last int64
		require.NoError(t, b.src.Read.QueryRowContext(t.Context(),
			`SELECT min(id), max(id) FROM events WHERE name LIKE 'Bulk %'`).Scan(&first, &last))
		_, err = b.src.Write.ExecContext(t.Context(), `UPDATE events SET merged_into = $1 WHERE id = $2`, last, first)
		require.NoError(t, err)

		counts, err := b.move(t)
		require.NoError(t, err)
		require.Equal(t, 612, counts.Events)
		dstStore, err := store.New(b.dst)
		require.NoError(t, err)
		e, err := dstStore.Event(t.Context(), first)
		require.NoError(t, err)
		require.Equal(t, last, e.MergedInto)
		e, err = dstStore.Event(t.Context(), b.fixture.merged.ID)
		require.NoError(t, err)
		require.Equal(t, b.fixture.upcoming.ID, e.MergedInto)
	})

	t.Run("JobsRunOnTarget", func(t *testing.T) {
		t.Parallel()
		b := setupMove(t)
		f := b.fixture
		_, err := b.move(t)
		require.NoError(t, err)

		dstStore, err := store.New(b.dst)
		require.NoError(t, err)
		now := func() time.Time { return time.Now().UTC() }
		workers, err := jobs.NewClient(b.dst.RiverDriver(), jobs.Deps{
			Store: dstStore, Stripe: payments.NewBuiltin("http://localhost", "whsec_test"), Now: now,
		}, slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		require.NoError(t, workers.Start(t.Context()))
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			require.NoError(t, workers.Stop(ctx))
		})

		// status is called from Eventually's goroutine: it must not fail the
		// test itself.
		status := func(o store.Order) store.OrderStatus {
			got, err := dstStore.Order(t.Context(), o.ID, o.BuyerID)
			if err != nil {
				return store.OrderStatus("error: " + err.Error())
			}
			return got.Status
		}
		require.Eventually(t, func() bool { return status(f.ended) == store.Cancelled },
			10*time.Second, 50*time.Millisecond, "the ended hold is cancelled at once")
		require.Equal(t, store.Pending, status(f.pending), "the pending order is left alone until its hold ends")

		require.Eventually(t, func() bool { return status(f.pending) == store.Cancelled },
			moveHold+20*time.Second, 100*time.Millisecond, "the pending order is cancelled when its hold ends")
		o, err := dstStore.Order(t.Context(), f.pending.ID, f.pending.BuyerID)
		require.NoError(t, err)
		require.False(t, o.CancelledAt.Before(f.pending.ExpiresAt), "cancelled at %s, before the hold ended at %s", o.CancelledAt, f.pending.ExpiresAt)
		tk, err := dstStore.Listing(t.Context(), f.pending.ListingID, time.Now())
		require.NoError(t, err)
		require.Equal(t, store.ForSale, tk.State(time.Now()))

		require.Eventually(t, func() bool {
			var unprocessed int
			err := b.dst.Read.QueryRowContext(t.Context(),
				`SELECT count(*) FROM stripe_events WHERE processed_at IS NULL`).Scan(&unprocessed)
			return err == nil && unprocessed == 0
		}, 10*time.Second, 50*time.Millisecond, "the unprocessed event is processed")
		require.Eventually(t, func() bool {
			records, err := dstStore.PaymentRecords(t.Context())
			if err != nil {
				return false
			}
			for _, r := range records {
				if r.ID == f.orphan.ID {
					return r.Status == store.PaymentRefunded
				}
			}
			return false
		}, 10*time.Second, 50*time.Millisecond, "the pending refund goes through")
	})

	t.Run("RefusesNonEmptyTarget", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name string
			fill func(t *testing.T, db *store.DB)
		}{
			{"User", func(t *testing.T, db *store.DB) {
				st, err := store.New(db)
				require.NoError(t, err)
				_, err = st.CreateUser(t.Context(), "already@example.com", "hash", moveHistory)
				require.NoError(t, err)
			}},
			{"Session", func(t *testing.T, db *store.DB) {
				require.NoError(t, postgresstore.NewWithCleanupInterval(db.Write, 0).
					Commit("a-session", []byte("data"), time.Now().Add(time.Hour)))
			}},
			{"StripeEvent", func(t *testing.T, db *store.DB) {
				st, err := store.New(db)
				require.NoError(t, err)
				_, err = st.RecordStripeEvent(t.Context(), "evt_already", "customer.created", []byte(`{}`), moveHistory)
				require.NoError(t, err)
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				b := setupMove(t)
				require.NoError(t, b.dst.Migrate(t.Context()))
				tc.fill(t, b.dst)
				rows := func() []int {
					var n []int
					for _, table := range []string{"users", "tickets", "orders", "payments", "stripe_events", "sessions", "river_job"} {
						n = append(n, countMoved(t, b.dst, `SELECT count(*) FROM `+table))
					}
					return n
				}
				before := rows()

				_, err := b.move(t)
				require.ErrorIs(t, err, store.ErrTargetNotEmpty)
				require.ErrorContains(t, err, "target database is not empty")
				require.Equal(t, before, rows(), "nothing was written")
			})
		}
	})

	t.Run("FailureHalfwayWritesNothing", func(t *testing.T) {
		t.Parallel()
		b := setupMove(t)
		require.NoError(t, b.dst.Migrate(t.Context()))
		// Payments are copied after users, tickets and orders: the target
		// refuses one of them.
		_, err := b.dst.Write.ExecContext(t.Context(),
			`ALTER TABLE payments ADD CONSTRAINT refuse_one CHECK (payment_intent_id <> 'pi_orphan')`)
		require.NoError(t, err)

		_, err = b.move(t)
		require.ErrorContains(t, err, "copy payments")
		require.ErrorContains(t, err, "refuse_one")
		requireTargetEmpty(t, b.dst)

		// Once the target accepts every row, the same move goes through.
		_, err = b.dst.Write.ExecContext(t.Context(), `ALTER TABLE payments DROP CONSTRAINT refuse_one`)
		require.NoError(t, err)
		counts, err := b.move(t)
		require.NoError(t, err)
		require.Equal(t, 5, counts.Payments)
		require.Equal(t, 5, countMoved(t, b.dst, `SELECT count(*) FROM users`))
	})

	t.Run("RefusesSourceThatIsNotEventHive", func(t *testing.T) {
		t.Parallel()
		b := setupMove(t)
		path := filepath.Join(t.TempDir(), "other.db")
		other, err := sql.Open("sqlite", path)
		require.NoError(t, err)
		_, err = other.Exec(`CREATE TABLE notes (body TEXT)`)
		require.NoError(t, err)
		require.NoError(t, other.Close())

		src, err := store.OpenSQLiteReadOnly(t.Context(), path)
		require.NoError(t, err)
		defer src.Close()
		_, err = store.MoveToPostgres(t.Context(), src, b.dst)
		require.ErrorContains(t, err, "not an EventHive database")
		require.Zero(t, countMoved(t, b.dst,
			`SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()`),
			"the target is not even migrated")
	})

	t.Run("SourceIsReadOnly", func(t *testing.T) {
		t.Parallel()
		b := setupMove(t)
		src, err := store.OpenSQLiteReadOnly(t.Context(), b.srcPath(t))
		require.NoError(t, err)
		defer src.Close()
		_, err = src.Write.ExecContext(t.Context(), `DELETE FROM users`)
		require.Error(t, err)
		require.Equal(t, 5, countMoved(t, b.src, `SELECT count(*) FROM users`))

		missing := filepath.Join(t.TempDir(), "missing.db")
		_, err = store.OpenSQLiteReadOnly(t.Context(), missing)
		require.ErrorIs(t, err, os.ErrNotExist)
		require.NoFileExists(t, missing, "a missing source is not created")

		_, err = store.OpenSQLiteReadOnly(t.Context(), b.dstURL)
		require.ErrorContains(t, err, "not a PostgreSQL URL")
	})

	t.Run("RefusesWrongDialects", func(t *testing.T) {
		t.Parallel()
		b := setupMove(t)
		_, err := store.MoveToPostgres(t.Context(), b.dst, b.dst)
		require.ErrorContains(t, err, "source must be a SQLite database")
		_, err = store.MoveToPostgres(t.Context(), b.src, b.src)
		require.ErrorContains(t, err, "target must be a PostgreSQL database")
	})
}
