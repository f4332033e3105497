package store_test

import (
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// setupHolds is setup with a store that lets a buyer hold at most max
// tickets at once.
func setupHolds(t *testing.T, dialect store.Dialect, max int) *testBundle {
	t.Helper()
	bundle := setupWith(t, dialect, store.WithMaxHolds(max))
	require.Equal(t, max, bundle.store.MaxHolds())
	return bundle
}

// TestHoldLimit: a buyer holds at most MaxHolds tickets at once, counted in
// the database inside CreateOrder's transaction, so that nobody can hoard a
// rush, not even with parallel requests.
func TestHoldLimit(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()

			t.Run("ThirdHoldRefused", func(t *testing.T) {
				t.Parallel()
				bundle := setupHolds(t, dialect, 2)
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				t1 := bundle.ticket(t, seller.ID, "One", 1000)
				t2 := bundle.ticket(t, seller.ID, "Two", 1000)
				t3 := bundle.ticket(t, seller.ID, "Three", 1000)
				bundle.order(t, buyer.ID, t1.ID, base)
				bundle.order(t, buyer.ID, t2.ID, base.Add(time.Second))

				_, err := bundle.store.CreateOrder(t.Context(), buyer.ID, t3.ID, 1, base.Add(2*time.Second), hold)
				require.ErrorIs(t, err, store.ErrTooManyHolds)
				// Nothing of the refused order is left: no row, no job, no claim.
				require.Equal(t, 2, bundle.orderRows(t))
				require.Equal(t, 2, bundle.expireJobs(t))
				require.Zero(t, bundle.claimOf(t, t3.ID).OrderID)
				require.Equal(t, []int64{t3.ID}, bundle.forSaleIDs(t, base.Add(2*time.Second), "", 10, 0))

				// Others still buy it.
				other := bundle.user(t, "other@example.com")
				bundle.order(t, other.ID, t3.ID, base.Add(3*time.Second))
			})

			t.Run("EndedHoldsDoNotCount", func(t *testing.T) {
				t.Parallel()
				bundle := setupHolds(t, dialect, 2)
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				tickets := make([]store.Listing, 6)
				for i := range tickets {
					tickets[i] = bundle.ticket(t, seller.ID, "Show", 1000)
				}
				cancelled := bundle.order(t, buyer.ID, tickets[0].ID, base)
				paid := bundle.order(t, buyer.ID, tickets[1].ID, base)
				require.NoError(t, bundle.store.CancelOrder(t.Context(), cancelled.ID, buyer.ID, base.Add(time.Second)))
				bundle.pay(t, paid, base.Add(time.Second))

				// A cancelled and a paid order hold nothing.
				bundle.order(t, buyer.ID, tickets[2].ID, base.Add(2*time.Second))
				bundle.order(t, buyer.ID, tickets[3].ID, base.Add(2*time.Second))
				_, err := bundle.store.CreateOrder(t.Context(), buyer.ID, tickets[4].ID, 1, base.Add(3*time.Second), hold)
				require.ErrorIs(t, err, store.ErrTooManyHolds)

				// A hold ends at expires_at, before its job has run (no
				// worker runs here): at that instant the buyer may buy again.
				ended := base.Add(2*time.Second + hold)
				_, err = bundle.store.CreateOrder(t.Context(), buyer.ID, tickets[4].ID, 1, ended.Add(-time.Millisecond), hold)
				require.ErrorIs(t, err, store.ErrTooManyHolds)
				bundle.order(t, buyer.ID, tickets[4].ID, ended)
				bundle.order(t, buyer.ID, tickets[5].ID, ended)
			})

			t.Run("OtherRefusalsFirst", func(t *testing.T) {
				// A buyer at the limit who could not have had the ticket
				// anyway is told why, not that they hold too many.
				t.Parallel()
				bundle := setupHolds(t, dialect, 2)
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				other := bundle.user(t, "other@example.com")
				bundle.order(t, buyer.ID, bundle.ticket(t, seller.ID, "One", 1000).ID, base)
				bundle.order(t, buyer.ID, bundle.ticket(t, seller.ID, "Two", 1000).ID, base)
				held := bundle.ticket(t, seller.ID, "Held", 1000)
				bundle.order(t, other.ID, held.ID, base)
				sold := bundle.ticket(t, seller.ID, "Sold", 1000)
				bundle.pay(t, bundle.order(t, other.ID, sold.ID, base), base)
				own := bundle.ticket(t, buyer.ID, "Own", 1000)

				for _, tt := range []struct {
					ticketID int64
					want     error
				}{
					{held.ID, store.ErrHeld},
					{sold.ID, store.ErrSold},
					{own.ID, store.ErrOwnTicket},
					{999999, store.ErrNotFound},
				} {
					_, err := bundle.store.CreateOrder(t.Context(), buyer.ID, tt.ticketID, 1, base.Add(time.Second), hold)
					require.ErrorIs(t, err, tt.want, "ticket %d", tt.ticketID)
				}
				require.Equal(t, 4, bundle.orderRows(t))
			})

			t.Run("LimitOfOne", func(t *testing.T) {
				t.Parallel()
				bundle := setupHolds(t, dialect, 1)
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				bundle.order(t, buyer.ID, bundle.ticket(t, seller.ID, "One", 1000).ID, base)
				_, err := bundle.store.CreateOrder(t.Context(), buyer.ID, bundle.ticket(t, seller.ID, "Two", 1000).ID, 1, base, hold)
				require.ErrorIs(t, err, store.ErrTooManyHolds)
			})

			t.Run("NoLimitUnlessConfigured", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				require.Zero(t, bundle.store.MaxHolds())
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				for range 5 {
					bundle.order(t, buyer.ID, bundle.ticket(t, seller.ID, "Show", 1000).ID, base)
				}
				require.Equal(t, 5, bundle.orderRows(t))
			})

			t.Run("ParallelOrdersOfOneBuyer", func(t *testing.T) {
				// One buyer sends twenty orders for twenty tickets at once:
				// exactly two win. On PostgreSQL this needs the lock on the
				// buyer's row, as each transaction would otherwise count the
				// holds before the others commit.
				t.Parallel()
				bundle := setupHolds(t, dialect, 2)
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				others := bundle.users(t, "other", 5)
				tickets := make([]store.Listing, 30)
				for i := range tickets {
					tickets[i] = bundle.ticket(t, seller.ID, "Rush", 1000)
				}

				errs := make([]error, 20)
				otherErrs := make([]error, len(others))
				start := make(chan struct{})
				var wg sync.WaitGroup
				for i := range errs {
					wg.Go(func() {
						<-start
						_, errs[i] = bundle.store.CreateOrder(t.Context(), buyer.ID, tickets[i].ID, 1, base, hold)
					})
				}
				// Other buyers at the same time are not held up by it.
				for i, other := range others {
					wg.Go(func() {
						<-start
						_, otherErrs[i] = bundle.store.CreateOrder(t.Context(), other.ID, tickets[20+i].ID, 1, base, hold)
					})
				}
				close(start)
				wg.Wait()

				won := 0
				for i, err := range errs {
					if err == nil {
						won++
						continue
					}
					require.ErrorIs(t, err, store.ErrTooManyHolds, "order %d", i)
				}
				require.Equal(t, 2, won)
				for i, err := range otherErrs {
					require.NoError(t, err, "other buyer %d", i)
				}
				require.Equal(t, 2, bundle.count(t, `SELECT count(*) FROM orders WHERE buyer_id = $1`, buyer.ID))
				require.Equal(t, 2, bundle.count(t, `SELECT count(*) FROM tickets t JOIN orders o ON o.id = t.claim_order_id
					WHERE o.buyer_id = $1`, buyer.ID))
				require.Equal(t, 2+len(others), bundle.expireJobs(t))
			})
		})
	}
}

// TestExpirySweep: the first expiry of holds that ended together records
// them all, with their tickets back on sale, on both dialects; a hold still
// running and a paid order are left alone, and the later jobs of the swept
// orders change nothing but still get the checkout session to expire.
func TestExpirySweep(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			ctx := t.Context()
			seller := b.user(t, "seller@example.com")
			var ended []store.Order
			for i, buyer := range b.users(t, "buyer", 3) {
				ended = append(ended, b.order(t, buyer.ID, b.ticket(t, seller.ID, "Ended "+itoa(int64(i)), 1000).ID, base))
			}
			b.checkoutSession(t, ended[2].ID)
			late := b.user(t, "late@example.com")
			running := b.order(t, late.ID, b.ticket(t, seller.ID, "Running", 1000).ID, base.Add(time.Second))
			payer := b.user(t, "payer@example.com")
			paid := b.order(t, payer.ID, b.ticket(t, seller.ID, "Paid", 1000).ID, base)
			b.pay(t, paid, base.Add(time.Second))

			end := base.Add(hold)
			_, _, err := b.store.ExpireOrder(ctx, ended[0].ID, end)
			require.NoError(t, err)
			for _, o := range ended {
				require.Equal(t, store.Cancelled, b.getOrder(t, o.ID, o.BuyerID).Status)
				require.Zero(t, b.claimOf(t, o.ListingID).OrderID, "ticket of order %d released", o.ID)
			}
			require.Equal(t, store.Pending, b.getOrder(t, running.ID, running.BuyerID).Status)
			require.Equal(t, running.ID, b.claimOf(t, running.ListingID).OrderID)
			require.Equal(t, store.Paid, b.getOrder(t, paid.ID, paid.BuyerID).Status)
			require.Equal(t, paid.ID, b.claimOf(t, paid.ListingID).OrderID)

			_, session, err := b.store.ExpireOrder(ctx, ended[2].ID, end.Add(time.Second))
			require.NoError(t, err)
			require.Equal(t, "cs_test_"+itoa(ended[2].ID), session)
			require.Equal(t, store.Cancelled, b.getOrder(t, ended[2].ID, ended[2].BuyerID).Status)
		})
	}
}

// TestSweptTicketsLeftLockedAreReleased: a sweep skips the tickets another
// transaction has locked, leaving them naming their cancelled order; that
// order's own expiry job releases them, and later sweeps are not held up by
// them.
func TestSweptTicketsLeftLockedAreReleased(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			ctx := t.Context()
			seller := b.user(t, "seller@example.com")
			skipped := b.order(t, b.user(t, "skipped@example.com").ID, b.ticket(t, seller.ID, "Skipped", 1000).ID, base)
			// What a sweep leaves when the ticket was locked: the order
			// cancelled, its ended claim still there.
			_, err := b.db.Write.ExecContext(ctx, `UPDATE orders SET status = 'cancelled', cancelled_at = $1 WHERE id = $2`,
				base.Add(hold).UnixMilli(), skipped.ID)
			require.NoError(t, err)
			require.Equal(t, skipped.ID, b.claimOf(t, skipped.ListingID).OrderID)

			_, _, err = b.store.ExpireOrder(ctx, skipped.ID, base.Add(hold))
			require.NoError(t, err)
			require.Zero(t, b.claimOf(t, skipped.ListingID).OrderID, "released by the order's own job")
		})
	}
}

// TestClaimWritesRiversExpiryJob: on PostgreSQL the claim's statement writes
// its order's expiry job into River's table itself. The row must be the one
// River's own insert writes for the same job, so that a River upgrade that
// changes its rows fails here.
func TestClaimWritesRiversExpiryJob(t *testing.T) {
	t.Parallel()
	storetest.PostgresOnly(t, "on SQLite River inserts the job")
	b := setupHolds(t, store.Postgres, 4)
	ctx := t.Context()
	seller, buyer := b.user(t, "seller@example.com"), b.user(t, "buyer@example.com")
	listing := b.ticket(t, seller.ID, "Opera gala", 3000)
	o, err := b.store.CreateOrder(ctx, buyer.ID, listing.ID, 1, time.Now().UTC(), hold)
	require.NoError(t, err)
	require.NoError(t, b.store.InsertJob(ctx, store.ExpireOrderArgs{OrderID: o.ID}, &river.InsertOpts{ScheduledAt: o.ExpiresAt}))

	rows, err := b.db.Read.QueryContext(ctx, `
		SELECT concat_ws(' | ', args, kind, max_attempts, metadata, priority, queue, scheduled_at, state, tags,
		       attempt, attempted_at, attempted_by, errors, finalized_at, unique_key, unique_states)
		FROM river_job WHERE kind = $1 ORDER BY id`, store.ExpireOrderArgs{}.Kind())
	require.NoError(t, err)
	defer rows.Close()
	var jobs []string
	for rows.Next() {
		var job string
		require.NoError(t, rows.Scan(&job))
		jobs = append(jobs, job)
	}
	require.NoError(t, rows.Err())
	require.Len(t, jobs, 2, "the claim's job, then River's")
	require.Equal(t, jobs[1], jobs[0])
}
