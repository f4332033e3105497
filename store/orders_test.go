package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/jobs"
	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// expireJobRows lists the expire_order jobs River holds, oldest first, read
// through River's own driver as rivertest.RequireInserted reads them.
// (rivertest itself cannot be imported without adding go.uber.org/goleak to
// go.mod: rivertest/worker.go imports rivershared/riversharedtest.)
func expireJobRows(t *testing.T, bundle *testBundle) []*rivertype.JobRow {
	t.Helper()
	rows, err := bundle.db.RiverDriver().GetExecutor().JobGetByKindMany(t.Context(),
		&riverdriver.JobGetByKindManyParams{Kind: []string{store.ExpireOrderArgs{}.Kind()}})
	require.NoError(t, err)
	return rows
}

// requireExpireJob asserts that the job row is the scheduled expire_order job
// of the order, due at the order's expires_at to the millisecond.
func requireExpireJob(t *testing.T, job *rivertype.JobRow, o store.Order) {
	t.Helper()
	var args store.ExpireOrderArgs
	require.NoError(t, json.Unmarshal(job.EncodedArgs, &args))
	require.Equal(t, store.ExpireOrderArgs{OrderID: o.ID}, args)
	require.Equal(t, rivertype.JobStateScheduled, job.State)
	require.Equal(t, o.ExpiresAt.UnixMilli(), job.ScheduledAt.UnixMilli())
	require.True(t, o.ExpiresAt.Equal(job.ScheduledAt), "scheduled at %s, expires at %s", job.ScheduledAt, o.ExpiresAt)
}

// requireOnlyExpireJob asserts that River holds exactly one expire_order job,
// the order's.
func requireOnlyExpireJob(t *testing.T, bundle *testBundle, o store.Order) {
	t.Helper()
	rows := expireJobRows(t, bundle)
	require.Len(t, rows, 1)
	requireExpireJob(t, rows[0], o)
}

func TestOrders(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()

			t.Run("Create", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				ctx := t.Context()
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				tk, err := bundle.store.CreateListing(ctx, seller.ID, store.Single("Jazz Night", 4250, "eur"), base.Add(-time.Hour))
				require.NoError(t, err)

				o, err := bundle.store.CreateOrder(ctx, buyer.ID, tk.ID, 1, base, hold)
				require.NoError(t, err)
				require.Positive(t, o.ID)
				require.Equal(t, store.Order{
					ID:        o.ID,
					BuyerID:   buyer.ID,
					ListingID: tk.ID,
					Quantity:  1,
					EventName: "Jazz Night",
					Status:    store.Pending,
					Amount:    4250,
					Currency:  "eur",
					ExpiresAt: base.Add(hold),
					CreatedAt: base,
					UpdatedAt: base,
				}, o)
				require.Equal(t, store.Pending, o.State(base))
				require.Equal(t, o, bundle.getOrder(t, o.ID, buyer.ID))

				// The claim is on the ticket's row; the listing is unchanged.
				got := bundle.listingAt(t, tk.ID, base)
				want := tk
				want.Free, want.NextRelease, want.AsOf = 0, o.ExpiresAt, base
				require.Equal(t, want, got)
				require.Equal(t, store.Claim{OrderID: o.ID, ExpiresAt: o.ExpiresAt}, bundle.claimOf(t, tk.ID))
				require.Equal(t, store.Held, got.State(base))

				requireOnlyExpireJob(t, bundle, o)
				require.Equal(t, 1, bundle.orderRows(t))
			})

			t.Run("CreateOwnTicket", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				tk := bundle.ticket(t, seller.ID, "Jazz Night", 1000)

				o, err := bundle.store.CreateOrder(t.Context(), seller.ID, tk.ID, 1, base, hold)
				require.ErrorIs(t, err, store.ErrOwnTicket)
				require.Equal(t, store.Order{}, o)
				require.Equal(t, 0, bundle.orderRows(t))
				require.Equal(t, 0, bundle.expireJobs(t))
				require.Equal(t, tk, bundle.listingAt(t, tk.ID, base))
			})

			t.Run("CreateUnknownTicket", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				tk := bundle.ticket(t, seller.ID, "Jazz Night", 1000)

				_, err := bundle.store.CreateOrder(t.Context(), buyer.ID, tk.ID+1000, 1, base, hold)
				require.ErrorIs(t, err, store.ErrNotFound)
				require.Equal(t, 0, bundle.orderRows(t))
				require.Equal(t, 0, bundle.expireJobs(t))
			})

			t.Run("CreateHeld", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				first := bundle.user(t, "first@example.com")
				second := bundle.user(t, "second@example.com")
				tk := bundle.ticket(t, seller.ID, "Jazz Night", 1000)
				o := bundle.order(t, first.ID, tk.ID, base)
				heldTicket := bundle.listingAt(t, tk.ID, base)

				// Up to the last millisecond of the hold, for anyone, even
				// the buyer who holds it.
				for _, buyer := range []store.User{second, first} {
					for _, now := range []time.Time{base, o.ExpiresAt.Add(-time.Millisecond)} {
						got, err := bundle.store.CreateOrder(t.Context(), buyer.ID, tk.ID, 1, now, hold)
						require.ErrorIs(t, err, store.ErrHeld)
						require.Equal(t, store.Order{}, got)
						requireRefusedWith(t, err, bundle.listingAt(t, tk.ID, now))
					}
				}

				// The failed attempts left neither an order nor a job behind.
				require.Equal(t, 1, bundle.orderRows(t))
				requireOnlyExpireJob(t, bundle, o)
				require.Equal(t, heldTicket, bundle.listingAt(t, tk.ID, base))
			})

			t.Run("CreateSold", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				first := bundle.user(t, "first@example.com")
				second := bundle.user(t, "second@example.com")
				tk := bundle.ticket(t, seller.ID, "Jazz Night", 1000)
				o := bundle.order(t, first.ID, tk.ID, base)
				bundle.pay(t, o, base.Add(time.Second))
				require.Equal(t, store.Paid, bundle.getOrder(t, o.ID, first.ID).Status)

				// Long after the hold, a sale is still a sale.
				_, err := bundle.store.CreateOrder(t.Context(), second.ID, tk.ID, 1, o.ExpiresAt.Add(time.Hour), hold)
				require.ErrorIs(t, err, store.ErrSold)
				requireRefusedWith(t, err, bundle.listingAt(t, tk.ID, o.ExpiresAt.Add(time.Hour)))
				require.Equal(t, 1, bundle.orderRows(t))
				require.Equal(t, 1, bundle.expireJobs(t))
			})

			t.Run("ReclaimAfterHoldEnded", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				ctx := t.Context()
				seller := bundle.user(t, "seller@example.com")
				first := bundle.user(t, "first@example.com")
				second := bundle.user(t, "second@example.com")
				tk := bundle.ticket(t, seller.ID, "Jazz Night", 1000)
				o1 := bundle.order(t, first.ID, tk.ID, base)

				// The first hold ends; its job has not run yet.
				now := o1.ExpiresAt
				o2 := bundle.order(t, second.ID, tk.ID, now)
				require.NotEqual(t, o1.ID, o2.ID)
				require.Equal(t, now.Add(hold), o2.ExpiresAt)

				stale := bundle.getOrder(t, o1.ID, first.ID)
				require.Equal(t, store.Pending, stale.Status)
				require.Equal(t, store.Expired, stale.State(now))
				require.Equal(t, store.Pending, o2.State(now))
				got := bundle.listingAt(t, tk.ID, now)
				require.Equal(t, o2.ID, bundle.claimOf(t, got.ID).OrderID)
				require.Equal(t, o2.ExpiresAt, bundle.claimOf(t, got.ID).ExpiresAt)
				require.Equal(t, store.Held, got.State(now))

				// Both orders have their own job.
				jobRows := expireJobRows(t, bundle)
				require.Len(t, jobRows, 2)
				requireExpireJob(t, jobRows[0], o1)
				requireExpireJob(t, jobRows[1], o2)

				// The first order's job runs late: it records the end of the
				// first hold and leaves the second buyer's claim alone.
				later := now.Add(time.Second)
				endsAt, session, err := bundle.store.ExpireOrder(ctx, o1.ID, later)
				require.NoError(t, err)
				require.True(t, endsAt.IsZero())
				require.Empty(t, session)

				expired := bundle.getOrder(t, o1.ID, first.ID)
				require.Equal(t, store.Cancelled, expired.Status)
				require.Equal(t, later, expired.CancelledAt)
				require.Equal(t, store.Expired, expired.State(later))
				require.Equal(t, o2, bundle.getOrder(t, o2.ID, second.ID))
				require.Equal(t, got, bundle.listingAt(t, tk.ID, now))
				require.Equal(t, []int64{}, bundle.forSaleIDs(t, later, "", 10, 0))
			})

			t.Run("OrderOfSomeoneElse", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				other := bundle.user(t, "other@example.com")
				tk := bundle.ticket(t, seller.ID, "Jazz Night", 1000)
				o := bundle.order(t, buyer.ID, tk.ID, base)

				for _, id := range []int64{other.ID, seller.ID} {
					got, err := bundle.store.Order(t.Context(), o.ID, id)
					require.ErrorIs(t, err, store.ErrNotFound)
					require.Equal(t, store.Order{}, got)
				}
				_, err := bundle.store.Order(t.Context(), o.ID+1000, buyer.ID)
				require.ErrorIs(t, err, store.ErrNotFound)
			})

			t.Run("ByBuyer", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				other := bundle.user(t, "other@example.com")
				t1 := bundle.ticket(t, seller.ID, "First Show", 1000)
				t2 := bundle.ticket(t, seller.ID, "Second Show", 2000)
				t3 := bundle.ticket(t, seller.ID, "Third Show", 3000)
				o1 := bundle.order(t, buyer.ID, t1.ID, base)
				o3 := bundle.order(t, other.ID, t3.ID, base.Add(time.Second))
				o2 := bundle.order(t, buyer.ID, t2.ID, base.Add(2*time.Second))
				require.NoError(t, bundle.store.CancelOrder(t.Context(), o1.ID, buyer.ID, base.Add(3*time.Second)))

				orders, err := bundle.store.OrdersByBuyer(t.Context(), buyer.ID)
				require.NoError(t, err)
				require.Equal(t, []store.Order{bundle.getOrder(t, o2.ID, buyer.ID), bundle.getOrder(t, o1.ID, buyer.ID)}, orders)
				require.Equal(t, "Second Show", orders[0].EventName)
				require.Equal(t, int64(2000), orders[0].Amount)
				require.Equal(t, "First Show", orders[1].EventName)
				require.Equal(t, store.Cancelled, orders[1].Status)

				orders, err = bundle.store.OrdersByBuyer(t.Context(), other.ID)
				require.NoError(t, err)
				require.Equal(t, []store.Order{o3}, orders)

				orders, err = bundle.store.OrdersByBuyer(t.Context(), seller.ID)
				require.NoError(t, err)
				require.Empty(t, orders)
			})

			t.Run("Cancel", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				ctx := t.Context()
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				tk := bundle.ticket(t, seller.ID, "Jazz Night", 1000)
				o := bundle.order(t, buyer.ID, tk.ID, base)

				now := base.Add(10 * time.Second)
				require.NoError(t, bundle.store.CancelOrder(ctx, o.ID, buyer.ID, now))

				got := bundle.getOrder(t, o.ID, buyer.ID)
				want := o
				want.Status, want.CancelledAt, want.UpdatedAt = store.Cancelled, now, now
				require.Equal(t, want, got)
				require.Equal(t, store.Cancelled, got.State(now))
				// Cancelled by the buyer, not expired, even after the hold.
				require.Equal(t, store.Cancelled, got.State(o.ExpiresAt.Add(time.Hour)))

				// Back on sale at once, long before the hold would have ended.
				require.Equal(t, []int64{tk.ID}, bundle.forSaleIDs(t, now, "", 10, 0))
				released := bundle.listingAt(t, tk.ID, now)
				require.Equal(t, int64(0), bundle.claimOf(t, released.ID).OrderID)
				require.True(t, bundle.claimOf(t, released.ID).ExpiresAt.IsZero())
				require.Equal(t, store.ForSale, released.State(now))

				err := bundle.store.CancelOrder(ctx, o.ID, buyer.ID, now.Add(time.Second))
				require.ErrorIs(t, err, store.ErrNotPending)
				require.Equal(t, got, bundle.getOrder(t, o.ID, buyer.ID))

				// Another buyer can take the ticket now.
				other := bundle.user(t, "other@example.com")
				bundle.order(t, other.ID, tk.ID, now.Add(time.Second))
			})

			t.Run("CancelSomeoneElses", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				other := bundle.user(t, "other@example.com")
				tk := bundle.ticket(t, seller.ID, "Jazz Night", 1000)
				o := bundle.order(t, buyer.ID, tk.ID, base)
				heldTicket := bundle.listingAt(t, tk.ID, base.Add(time.Second))

				for _, id := range []int64{other.ID, seller.ID} {
					err := bundle.store.CancelOrder(t.Context(), o.ID, id, base.Add(time.Second))
					require.ErrorIs(t, err, store.ErrNotFound)
				}
				err := bundle.store.CancelOrder(t.Context(), o.ID+1000, buyer.ID, base.Add(time.Second))
				require.ErrorIs(t, err, store.ErrNotFound)

				require.Equal(t, o, bundle.getOrder(t, o.ID, buyer.ID))
				require.Equal(t, heldTicket, bundle.listingAt(t, tk.ID, base.Add(time.Second)))
			})

			t.Run("CancelAfterHoldEnded", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				tk := bundle.ticket(t, seller.ID, "Jazz Night", 1000)
				o := bundle.order(t, buyer.ID, tk.ID, base)

				for _, now := range []time.Time{o.ExpiresAt, o.ExpiresAt.Add(time.Hour)} {
					err := bundle.store.CancelOrder(t.Context(), o.ID, buyer.ID, now)
					require.ErrorIs(t, err, store.ErrNotPending)
				}
				got := bundle.getOrder(t, o.ID, buyer.ID)
				require.Equal(t, o, got)
				require.Equal(t, store.Expired, got.State(o.ExpiresAt))

				// One millisecond before the end is still in time.
				other := bundle.user(t, "other@example.com")
				tk2 := bundle.ticket(t, seller.ID, "Rock Show", 1000)
				o2 := bundle.order(t, other.ID, tk2.ID, base)
				last := o2.ExpiresAt.Add(-time.Millisecond)
				require.NoError(t, bundle.store.CancelOrder(t.Context(), o2.ID, other.ID, last))
				got = bundle.getOrder(t, o2.ID, other.ID)
				require.Equal(t, store.Cancelled, got.Status)
				require.Equal(t, store.Cancelled, got.State(last))
			})

			t.Run("CancelPaid", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				tk := bundle.ticket(t, seller.ID, "Jazz Night", 1000)
				o := bundle.order(t, buyer.ID, tk.ID, base)
				bundle.pay(t, o, base.Add(time.Second))

				err := bundle.store.CancelOrder(t.Context(), o.ID, buyer.ID, base.Add(2*time.Second))
				require.ErrorIs(t, err, store.ErrNotPending)
				require.Equal(t, store.Paid, bundle.getOrder(t, o.ID, buyer.ID).Status)
				require.Equal(t, store.Sold, bundle.listingAt(t, tk.ID, base.Add(2*time.Second)).State(base.Add(2*time.Second)))
			})

			t.Run("ExpireBeforeHoldEnds", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				tk := bundle.ticket(t, seller.ID, "Jazz Night", 1000)
				o := bundle.order(t, buyer.ID, tk.ID, base)
				heldTicket := bundle.listingAt(t, tk.ID, base)

				for _, now := range []time.Time{base, o.ExpiresAt.Add(-time.Millisecond)} {
					endsAt, session, err := bundle.store.ExpireOrder(t.Context(), o.ID, now)
					require.NoError(t, err)
					require.Equal(t, o.ExpiresAt, endsAt)
					require.Empty(t, session)
				}
				require.Equal(t, o, bundle.getOrder(t, o.ID, buyer.ID))
				require.Equal(t, heldTicket, bundle.listingAt(t, tk.ID, base))
			})

			t.Run("ExpireAtHoldEnd", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				ctx := t.Context()
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				tk := bundle.ticket(t, seller.ID, "Jazz Night", 1000)
				o := bundle.order(t, buyer.ID, tk.ID, base)

				now := o.ExpiresAt
				endsAt, session, err := bundle.store.ExpireOrder(ctx, o.ID, now)
				require.NoError(t, err)
				require.True(t, endsAt.IsZero())
				require.Empty(t, session)

				got := bundle.getOrder(t, o.ID, buyer.ID)
				want := o
				want.Status, want.CancelledAt, want.UpdatedAt = store.Cancelled, now, now
				require.Equal(t, want, got)
				require.Equal(t, store.Expired, got.State(now))
				released := bundle.listingAt(t, tk.ID, now)
				require.Equal(t, int64(0), bundle.claimOf(t, released.ID).OrderID)
				require.True(t, bundle.claimOf(t, released.ID).ExpiresAt.IsZero())
				require.Equal(t, tk.UpdatedAt, released.UpdatedAt, "a hold's end is no edit of the listing")
				require.Equal(t, []int64{tk.ID}, bundle.forSaleIDs(t, now, "", 10, 0))

				// Again, later (River retries): nothing changes.
				endsAt, session, err = bundle.store.ExpireOrder(ctx, o.ID, now.Add(time.Minute))
				require.NoError(t, err)
				require.True(t, endsAt.IsZero())
				require.Empty(t, session)
				require.Equal(t, got, bundle.getOrder(t, o.ID, buyer.ID))
				require.Equal(t, released, bundle.listingAt(t, tk.ID, now))
			})

			t.Run("ExpireUnknownOrder", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)

				endsAt, session, err := bundle.store.ExpireOrder(t.Context(), 12345, base)
				require.NoError(t, err)
				require.True(t, endsAt.IsZero())
				require.Empty(t, session)
			})

			t.Run("ExpireCancelledOrder", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				other := bundle.user(t, "other@example.com")
				tk := bundle.ticket(t, seller.ID, "Jazz Night", 1000)
				o := bundle.order(t, buyer.ID, tk.ID, base)
				require.NoError(t, bundle.store.CancelOrder(t.Context(), o.ID, buyer.ID, base.Add(time.Second)))
				cancelled := bundle.getOrder(t, o.ID, buyer.ID)
				// Someone else holds the ticket when the job runs.
				o2 := bundle.order(t, other.ID, tk.ID, base.Add(2*time.Second))

				_, _, err := bundle.store.ExpireOrder(t.Context(), o.ID, o.ExpiresAt)
				require.NoError(t, err)
				require.Equal(t, cancelled, bundle.getOrder(t, o.ID, buyer.ID))
				require.Equal(t, store.Cancelled, cancelled.State(o.ExpiresAt))
				require.Equal(t, o2.ID, bundle.claimOf(t, tk.ID).OrderID)
			})

			t.Run("ExpireAfterPaymentKeepsSale", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				tk := bundle.ticket(t, seller.ID, "Jazz Night", 1000)
				o := bundle.order(t, buyer.ID, tk.ID, base)
				bundle.pay(t, o, o.ExpiresAt.Add(-time.Second))
				paid := bundle.getOrder(t, o.ID, buyer.ID)
				sold := bundle.listingAt(t, tk.ID, o.ExpiresAt)

				endsAt, _, err := bundle.store.ExpireOrder(t.Context(), o.ID, o.ExpiresAt)
				require.NoError(t, err)
				require.True(t, endsAt.IsZero())
				require.Equal(t, paid, bundle.getOrder(t, o.ID, buyer.ID))
				require.Equal(t, store.Paid, paid.State(o.ExpiresAt))
				require.Equal(t, sold, bundle.listingAt(t, tk.ID, o.ExpiresAt))
				require.Equal(t, store.Sold, sold.State(o.ExpiresAt))
			})

			// SQLite runs one write transaction at a time; PostgreSQL lets
			// transactions interleave, and these pin down how.
			if dialect == store.Postgres {
				t.Run("CreatePriceChangedMidway", func(t *testing.T) {
					t.Parallel()
					testCreateOrderPriceChanged(t, setup(t, dialect))
				})
				t.Run("CancelRacingPaymentKeepsSale", func(t *testing.T) {
					t.Parallel()
					testCancelRacingPayment(t, setup(t, dialect))
				})
				t.Run("ExpireRacingPaymentKeepsSale", func(t *testing.T) {
					t.Parallel()
					testExpireRacingPayment(t, setup(t, dialect))
				})
				t.Run("ClaimWaitsForAClaimInFlight", func(t *testing.T) {
					t.Parallel()
					testClaimWaitsForClaimInFlight(t, setup(t, dialect), false)
				})
				t.Run("ClaimGetsTicketsOfAClaimRolledBack", func(t *testing.T) {
					t.Parallel()
					testClaimWaitsForClaimInFlight(t, setup(t, dialect), true)
				})
				t.Run("ClaimOfAHeldListingTriesOnce", func(t *testing.T) {
					t.Parallel()
					testClaimOfAHeldListingTriesOnce(t, setup(t, dialect))
				})
			}
		})
	}
}

// requireRefusedWith checks that CreateOrder's refusal err carries the
// listing it was drawn from, as it is.
func requireRefusedWith(t *testing.T, err error, listing store.Listing) {
	t.Helper()
	refused, ok := errors.AsType[*store.Refusal](err)
	require.True(t, ok, "%v is not a *store.Refusal", err)
	require.Equal(t, listing, refused.Listing)
}

// pgPause stops PostgreSQL transactions at a chosen statement until the test
// releases them, so that a test can interleave two store calls exactly. It
// works through a trigger in the test's own schema that waits for an advisory
// lock the test holds; the store's code is unchanged.
type pgPause struct {
	t       *testing.T
	bundle  *testBundle
	conn    *sql.Conn
	key     int64
	pid     int
	running bool
}

// pausePG makes every row change `event` on table that satisfies `when` (a
// trigger WHEN condition) wait, after the change, until release.
func pausePG(t *testing.T, bundle *testBundle, event, table, when string) *pgPause {
	t.Helper()
	ctx := t.Context()
	p := &pgPause{t: t, bundle: bundle, key: rand.Int64()}
	_, err := bundle.db.Write.ExecContext(ctx, fmt.Sprintf(`
		CREATE FUNCTION test_pause() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN PERFORM pg_advisory_xact_lock(%d); RETURN NEW; END $$`, p.key))
	require.NoError(t, err)
	_, err = bundle.db.Write.ExecContext(ctx, fmt.Sprintf(`
		CREATE TRIGGER test_pause AFTER %s ON %s
		FOR EACH ROW WHEN (%s) EXECUTE FUNCTION test_pause()`, event, table, when))
	require.NoError(t, err)

	p.conn, err = bundle.db.Write.Conn(ctx)
	require.NoError(t, err)
	require.NoError(t, p.conn.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&p.pid))
	_, err = p.conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, p.key)
	require.NoError(t, err)
	t.Cleanup(func() {
		if !p.running {
			_, _ = p.conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, p.key)
		}
		p.conn.Close()
	})
	return p
}

// waitFor waits until n sessions are blocked by the pause, directly or
// behind a session it blocks.
func (p *pgPause) waitFor(n int) {
	p.t.Helper()
	waiting := func() int {
		var got int
		err := p.bundle.db.Read.QueryRowContext(p.t.Context(), `
			WITH direct AS (SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid)))
			SELECT count(*) FROM pg_stat_activity a
			WHERE a.pid IN (SELECT pid FROM direct)
			   OR pg_blocking_pids(a.pid) && ARRAY(SELECT pid FROM direct)`, p.pid).Scan(&got)
		if err != nil {
			return -1
		}
		return got
	}
	require.Eventually(p.t, func() bool { return waiting() == n }, 10*time.Second, 5*time.Millisecond,
		"waiting for %d blocked sessions", n)
}

// release lets the paused transactions go on; later ones no longer pause.
func (p *pgPause) release() {
	p.t.Helper()
	_, err := p.conn.ExecContext(p.t.Context(), `SELECT pg_advisory_unlock($1)`, p.key)
	require.NoError(p.t, err)
	p.running = true
}

// testExpireRacingPayment runs, on PostgreSQL, the expiry job of an order
// against the payment of the same order, with the payment committing between
// the job's read of the order and its update: the order was paid, so the
// ticket must stay sold.
//
// The payment is paused right after it has sold the ticket and marked the
// order paid. Meanwhile ExpireOrder reads the order (still pending: the
// payment has not committed) and queues on the order row.
func testExpireRacingPayment(t *testing.T, bundle *testBundle) {
	ctx := t.Context()
	seller := bundle.user(t, "seller@example.com")
	buyer := bundle.user(t, "buyer@example.com")
	other := bundle.user(t, "other@example.com")
	tk := bundle.ticket(t, seller.ID, "Jazz Night", 1000)
	o := bundle.order(t, buyer.ID, tk.ID, base)
	require.NoError(t, bundle.store.SetCheckoutSession(ctx, o.ID, buyer.ID, "cs_race", base.Add(time.Second)))
	pause := pausePG(t, bundle, "UPDATE", "orders", "NEW.status = 'paid'")

	var wg sync.WaitGroup
	var payErr, expireErr error
	wg.Go(func() {
		payErr = bundle.store.RecordPayment(ctx, store.Payment{
			OrderID: o.ID, SessionID: "cs_race", PaymentIntentID: "pi_race", Amount: o.Amount, Currency: o.Currency,
		}, o.ExpiresAt.Add(-time.Millisecond))
	})
	// The payment has sold the ticket and paid the order, uncommitted.
	pause.waitFor(1)
	wg.Go(func() {
		_, _, expireErr = bundle.store.ExpireOrder(ctx, o.ID, o.ExpiresAt)
	})
	// The expiry has read the order and waits for the payment to commit.
	pause.waitFor(2)
	pause.release()
	wg.Wait()
	require.NoError(t, payErr)
	require.NoError(t, expireErr)

	now := o.ExpiresAt.Add(time.Second)
	require.Equal(t, store.Paid, bundle.getOrder(t, o.ID, buyer.ID).Status)
	sold := bundle.listingAt(t, tk.ID, now)
	require.Equal(t, o.ID, bundle.claimOf(t, sold.ID).OrderID, "the expiry released the ticket of a paid order")
	require.True(t, bundle.claimOf(t, sold.ID).ExpiresAt.IsZero())
	require.Equal(t, store.Sold, sold.State(now))
	require.Equal(t, []int64{}, bundle.forSaleIDs(t, now, "", 10, 0))
	_, err := bundle.store.CreateOrder(ctx, other.ID, tk.ID, 1, now, hold)
	require.ErrorIs(t, err, store.ErrSold)
}

// testCancelRacingPayment runs, on PostgreSQL, the buyer's cancel against
// the payment of the same order, the payment committing while the cancel
// waits on the order row: the payment wins, the cancel says ErrNotPending and
// the ticket stays sold.
func testCancelRacingPayment(t *testing.T, bundle *testBundle) {
	ctx := t.Context()
	seller := bundle.user(t, "seller@example.com")
	buyer := bundle.user(t, "buyer@example.com")
	tk := bundle.ticket(t, seller.ID, "Jazz Night", 1000)
	o := bundle.order(t, buyer.ID, tk.ID, base)
	session := bundle.checkoutSession(t, o.ID)
	pause := pausePG(t, bundle, "UPDATE", "orders", "NEW.status = 'paid'")

	var wg sync.WaitGroup
	var payErr, cancelErr error
	wg.Go(func() {
		payErr = bundle.store.RecordPayment(ctx, store.Payment{
			OrderID: o.ID, SessionID: session, PaymentIntentID: "pi_race", Amount: o.Amount, Currency: o.Currency,
		}, base.Add(time.Second))
	})
	pause.waitFor(1)
	wg.Go(func() {
		cancelErr = bundle.store.CancelOrder(ctx, o.ID, buyer.ID, base.Add(time.Second))
	})
	pause.waitFor(2)
	pause.release()
	wg.Wait()
	require.NoError(t, payErr)
	require.ErrorIs(t, cancelErr, store.ErrNotPending)

	require.Equal(t, store.Paid, bundle.getOrder(t, o.ID, buyer.ID).Status)
	sold := bundle.listingAt(t, tk.ID, base.Add(2*time.Second))
	require.Equal(t, o.ID, bundle.claimOf(t, sold.ID).OrderID)
	require.Equal(t, store.Sold, sold.State(base.Add(2*time.Second)))
}

// testCreateOrderPriceChanged runs, on PostgreSQL, a price edit committed
// after CreateOrder has inserted its order row but before it claims the
// ticket. A claim does not lock the listing, so the edit does not wait, and
// the claim still succeeds: the order keeps the price it was inserted at,
// as any hold keeps its price through a later edit, and its payment buys the
// ticket.
func testCreateOrderPriceChanged(t *testing.T, bundle *testBundle) {
	ctx := t.Context()
	seller := bundle.user(t, "seller@example.com")
	buyer := bundle.user(t, "buyer@example.com")
	tk := bundle.ticket(t, seller.ID, "Jazz Night", 1000)
	pause := pausePG(t, bundle, "INSERT", "orders", "true")

	var created store.Order
	var createErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		created, createErr = bundle.store.CreateOrder(ctx, buyer.ID, tk.ID, 1, base, hold)
	})
	// The order row is inserted at the old price, uncommitted.
	pause.waitFor(1)
	edited, err := bundle.store.UpdateListing(ctx, tk.ID, seller.ID, editOf(tk, "Jazz Night", 2000), base.Add(time.Millisecond))
	require.NoError(t, err)
	pause.release()
	wg.Wait()

	require.NoError(t, createErr)
	require.Equal(t, int64(1000), created.Amount)
	requireOnlyExpireJob(t, bundle, created)
	require.Equal(t, created.ID, bundle.claimOf(t, tk.ID).OrderID)
	now := base.Add(time.Second)
	got := bundle.listingAt(t, tk.ID, now)
	require.Equal(t, int64(2000), got.Price)
	require.Equal(t, edited.UpdatedAt, got.UpdatedAt)
	require.Equal(t, store.Held, got.State(now))
	bundle.pay(t, created, now)
	require.Equal(t, store.Paid, bundle.getOrder(t, created.ID, buyer.ID).Status)
}

// testClaimWaitsForClaimInFlight runs, on PostgreSQL, a claim that finds
// the listing's free ticket locked by another buyer's claim, not yet
// committed (its claim skips locked tickets). It waits for that claim and
// answers from what it did: ErrHeld once it commits, the ticket once it
// rolls back, never ErrChanged, which the free ticket it read would say.
func testClaimWaitsForClaimInFlight(t *testing.T, bundle *testBundle, rollBack bool) {
	seller := bundle.user(t, "seller@example.com")
	first := bundle.user(t, "first@example.com")
	second := bundle.user(t, "second@example.com")
	tk := bundle.ticket(t, seller.ID, "Jazz Night", 1000)
	pause := pausePG(t, bundle, "UPDATE", "tickets", "NEW.claim_order_id IS NOT NULL")

	firstCtx, cancelFirst := context.WithCancel(t.Context())
	defer cancelFirst()
	var firstErr, secondErr error
	var secondOrder store.Order
	var wg sync.WaitGroup
	firstDone := make(chan struct{})
	wg.Go(func() {
		defer close(firstDone)
		_, firstErr = bundle.store.CreateOrder(firstCtx, first.ID, tk.ID, 1, base, hold)
	})
	// The first buyer has claimed the ticket, uncommitted.
	pause.waitFor(1)
	wg.Go(func() {
		secondOrder, secondErr = bundle.store.CreateOrder(t.Context(), second.ID, tk.ID, 1, base, hold)
	})
	// The second buyer waits for the first's claim.
	pause.waitFor(2)
	if rollBack {
		cancelFirst()
		<-firstDone
	}
	pause.release()
	wg.Wait()

	if rollBack {
		require.ErrorIs(t, firstErr, context.Canceled)
		require.NoError(t, secondErr)
		require.Equal(t, secondOrder.ID, bundle.claimOf(t, tk.ID).OrderID)
		requireOnlyExpireJob(t, bundle, secondOrder)
		return
	}
	require.NoError(t, firstErr)
	require.ErrorIs(t, secondErr, store.ErrHeld)
	require.Equal(t, 1, bundle.orderRows(t))
}

// testClaimOfAHeldListingTriesOnce runs, on PostgreSQL, a claim of a
// listing whose tickets other buyers hold, committed: as in a rush's every
// late buyer, no ticket is locked that might come free, so the claim is
// refused without a second try waiting for locks. Each try inserts an order
// row, which its rollback removes but whose id it spends.
func testClaimOfAHeldListingTriesOnce(t *testing.T, bundle *testBundle) {
	seller := bundle.user(t, "seller@example.com")
	first := bundle.user(t, "first@example.com")
	late := bundle.user(t, "late@example.com")
	tk := bundle.ticket(t, seller.ID, "Jazz Night", 1000)
	held, err := bundle.store.CreateOrder(t.Context(), first.ID, tk.ID, 1, base, hold)
	require.NoError(t, err)

	_, err = bundle.store.CreateOrder(t.Context(), late.ID, tk.ID, 1, base, hold)
	require.ErrorIs(t, err, store.ErrHeld)
	next, err := bundle.store.CreateOrder(t.Context(), late.ID, bundle.ticket(t, seller.ID, "Folk Night", 1000).ID, 1, base, hold)
	require.NoError(t, err)
	require.Equal(t, held.ID+2, next.ID, "order ids spent by the refused claim's tries")
}

// TestCreateOrderRace is invariant 1: of many buyers racing for a ticket,
// exactly one gets it, on every database.
func TestCreateOrderRace(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()

			t.Run("FiftyBuyersOneTicket", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				buyers := bundle.users(t, "buyer", 50)
				tk := bundle.ticket(t, seller.ID, "Jazz Night", 1000)

				orders := make([]store.Order, len(buyers))
				errs := make([]error, len(buyers))
				start := make(chan struct{})
				var wg sync.WaitGroup
				for i, buyer := range buyers {
					wg.Go(func() {
						<-start
						orders[i], errs[i] = bundle.store.CreateOrder(t.Context(), buyer.ID, tk.ID, 1, base, hold)
					})
				}
				close(start)
				wg.Wait()

				var won []store.Order
				for i, err := range errs {
					if err == nil {
						won = append(won, orders[i])
						continue
					}
					require.ErrorIs(t, err, store.ErrHeld, "buyer %d", i)
				}
				require.Len(t, won, 1)
				require.Equal(t, 1, bundle.orderRows(t))
				requireOnlyExpireJob(t, bundle, won[0])
				require.Equal(t, won[0].ID, bundle.claimOf(t, tk.ID).OrderID)
			})

			t.Run("TwoHundredBuyersTwentyTickets", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				buyers := bundle.users(t, "buyer", 200)
				tickets := make([]store.Listing, 20)
				for i := range tickets {
					tickets[i] = bundle.ticket(t, seller.ID, "Show", 1000)
				}
				choice := make([]int, len(buyers))
				for i := range choice {
					choice[i] = rand.IntN(len(tickets))
				}

				orders := make([]store.Order, len(buyers))
				errs := make([]error, len(buyers))
				start := make(chan struct{})
				var wg sync.WaitGroup
				for i, buyer := range buyers {
					wg.Go(func() {
						<-start
						orders[i], errs[i] = bundle.store.CreateOrder(t.Context(), buyer.ID, tickets[choice[i]].ID, 1, base, hold)
					})
				}
				close(start)
				wg.Wait()

				winner := map[int64]int64{} // ticket id -> order id
				wanted := map[int64]bool{}
				for i, err := range errs {
					ticketID := tickets[choice[i]].ID
					wanted[ticketID] = true
					if err != nil {
						require.ErrorIs(t, err, store.ErrHeld, "buyer %d", i)
						continue
					}
					require.NotContains(t, winner, ticketID, "ticket %d sold twice", ticketID)
					winner[ticketID] = orders[i].ID
				}
				// Every ticket somebody wanted went to exactly one of them.
				require.Len(t, winner, len(wanted))
				for _, tk := range tickets {
					require.Equal(t, winner[tk.ID], bundle.claimOf(t, tk.ID).OrderID, "ticket %d", tk.ID)
				}
				require.Equal(t, 0, bundle.count(t, `
					SELECT count(*) FROM (
						SELECT listing_id FROM orders
						WHERE status = 'paid' OR (status = 'pending' AND expires_at > $1)
						GROUP BY listing_id HAVING count(*) > 1) AS twice`, base.UnixMilli()))
				require.Equal(t, len(winner), bundle.orderRows(t))
				require.Equal(t, len(winner), bundle.expireJobs(t))
			})
		})
	}
}

// TestExpireOrderJob runs the real River client: the expiry job inserted with
// an order ends the order's hold on its own, never before expires_at.
func TestExpireOrderJob(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			bundle := setup(t, dialect)
			ctx := t.Context()
			seller := bundle.user(t, "seller@example.com")
			buyer := bundle.user(t, "buyer@example.com")
			tk := bundle.ticket(t, seller.ID, "Jazz Night", 1000)

			client, err := jobs.NewClient(bundle.db.RiverDriver(), jobs.Deps{
				Store: bundle.store,
				Now:   func() time.Time { return time.Now().UTC() },
			}, slog.New(slog.DiscardHandler))
			require.NoError(t, err)
			require.NoError(t, client.Start(context.Background()))
			t.Cleanup(func() {
				stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				require.NoError(t, client.Stop(stopCtx))
			})

			o, err := bundle.store.CreateOrder(ctx, buyer.ID, tk.ID, 1, time.Now(), 300*time.Millisecond)
			require.NoError(t, err)

			// River's scheduler promotes scheduled jobs every 5 s.
			require.Eventually(t, func() bool {
				got, err := bundle.store.Order(ctx, o.ID, buyer.ID)
				return err == nil && got.Status == store.Cancelled
			}, 10*time.Second, 20*time.Millisecond)

			got := bundle.getOrder(t, o.ID, buyer.ID)
			require.False(t, got.CancelledAt.Before(got.ExpiresAt),
				"cancelled at %s, before the hold ended at %s", got.CancelledAt, got.ExpiresAt)
			require.Equal(t, store.Expired, got.State(got.CancelledAt))
			now := time.Now()
			released := bundle.listingAt(t, tk.ID, now)
			require.Equal(t, int64(0), bundle.claimOf(t, released.ID).OrderID)
			require.Equal(t, store.ForSale, released.State(now))
		})
	}
}
