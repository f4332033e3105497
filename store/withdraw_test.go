package store_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

func TestWithdrawTicket(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()

			t.Run("WithdrawAndRelist", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				ctx := t.Context()
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				tk := bundle.ticket(t, seller.ID, "Jazz Night", 1000)
				other := bundle.ticket(t, seller.ID, "Blues", 1000)

				writes := bundle.store.Writes()
				now := base.Add(time.Minute)
				got, err := bundle.store.WithdrawListing(ctx, tk.ID, seller.ID, now)
				require.NoError(t, err)
				require.Equal(t, now, got.WithdrawnAt)
				require.Equal(t, store.Withdrawn, got.State(now))
				require.Equal(t, got, bundle.listingAt(t, tk.ID, now))
				require.Greater(t, bundle.store.Writes(), writes, "a withdrawal is a write the kept listing sees")

				// Off the listing and search, and nobody can claim it.
				require.Equal(t, []int64{other.ID}, bundle.forSaleIDs(t, now, "", 10, 0))
				require.Empty(t, bundle.forSaleIDs(t, now, "jazz", 10, 0))
				_, err = bundle.store.CreateOrder(ctx, buyer.ID, tk.ID, 1, now, hold)
				require.ErrorIs(t, err, store.ErrWithdrawn)
				require.Equal(t, 0, bundle.orderRows(t))

				// Withdrawing again changes nothing; the seller may still edit it.
				again, err := bundle.store.WithdrawListing(ctx, tk.ID, seller.ID, now.Add(time.Second))
				require.NoError(t, err)
				require.Equal(t, now, again.WithdrawnAt)
				edited, err := bundle.store.UpdateListing(ctx, tk.ID, seller.ID, editOf(tk, "Jazz Night (late show)", 1200), now.Add(2*time.Second))
				require.NoError(t, err)
				require.Equal(t, store.Withdrawn, edited.State(now.Add(2*time.Second)))

				// Someone else cannot withdraw or relist it.
				_, err = bundle.store.WithdrawListing(ctx, other.ID, buyer.ID, now)
				require.ErrorIs(t, err, store.ErrNotFound)
				_, err = bundle.store.RelistListing(ctx, tk.ID, buyer.ID, now)
				require.ErrorIs(t, err, store.ErrNotFound)
				require.Equal(t, store.ForSale, bundle.listingAt(t, other.ID, now).State(now))

				writes = bundle.store.Writes()
				later := now.Add(time.Minute)
				relisted, err := bundle.store.RelistListing(ctx, tk.ID, seller.ID, later)
				require.NoError(t, err)
				require.True(t, relisted.WithdrawnAt.IsZero())
				require.Equal(t, store.ForSale, relisted.State(later))
				require.Greater(t, bundle.store.Writes(), writes)
				require.Equal(t, []int64{other.ID, tk.ID}, bundle.forSaleIDs(t, later, "", 10, 0))
				bundle.order(t, buyer.ID, tk.ID, later)
			})

			t.Run("RefusedWhileHeldOrSold", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				ctx := t.Context()
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				held := bundle.ticket(t, seller.ID, "Held", 1000)
				sold := bundle.ticket(t, seller.ID, "Sold", 1000)
				bundle.order(t, buyer.ID, held.ID, base)
				bundle.pay(t, bundle.order(t, buyer.ID, sold.ID, base), base.Add(time.Second))

				now := base.Add(2 * time.Second)
				_, err := bundle.store.WithdrawListing(ctx, held.ID, seller.ID, now)
				require.ErrorIs(t, err, store.ErrHeld)
				_, err = bundle.store.WithdrawListing(ctx, sold.ID, seller.ID, now)
				require.ErrorIs(t, err, store.ErrSold)
				require.True(t, bundle.listingAt(t, held.ID, now).WithdrawnAt.IsZero())
				require.True(t, bundle.listingAt(t, sold.ID, now).WithdrawnAt.IsZero())

				// Once the hold has ended, even before its job has run, the
				// ticket is the seller's to withdraw.
				ended := base.Add(hold)
				got, err := bundle.store.WithdrawListing(ctx, held.ID, seller.ID, ended)
				require.NoError(t, err)
				require.Equal(t, store.Withdrawn, got.State(ended))

				// A payment arriving after that does not sell it: it is
				// refunded.
				late, err := bundle.store.OrdersByBuyer(ctx, buyer.ID)
				require.NoError(t, err)
				for _, o := range late {
					if o.ListingID == held.ID {
						bundle.pay(t, o, ended.Add(time.Second))
						paid := bundle.getOrder(t, o.ID, buyer.ID)
						require.NotEqual(t, store.Paid, paid.Status)
						require.Equal(t, store.Refunded, paid.State(ended.Add(time.Second)))
					}
				}
				require.Equal(t, store.Withdrawn, bundle.listingAt(t, held.ID, ended.Add(time.Second)).State(ended.Add(time.Second)))
				require.Equal(t, 1, bundle.count(t, `SELECT count(*) FROM payments WHERE status = $1 AND refund_reason = $2`,
					store.RefundPending, store.RefundWithdrawn))
			})

			// Of a withdrawal racing a buyer, one wins, never neither. On
			// PostgreSQL both may: a claim does not lock the listing, so one
			// that commits after the withdrawal has read the listing leaves its
			// hold running on the withdrawn listing, and the hold may be paid,
			// as any hold taken before a withdrawal.
			t.Run("RacesABuyer", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				ctx := t.Context()
				seller := bundle.user(t, "seller@example.com")
				const rounds = 40
				buyers := bundle.users(t, "buyer", rounds)
				wins := map[string]int{}
				for i, buyer := range buyers {
					tk := bundle.ticket(t, seller.ID, "Show", 1000)
					var order store.Order
					var buyErr, withdrawErr error
					start := make(chan struct{})
					var wg sync.WaitGroup
					wg.Go(func() {
						<-start
						order, buyErr = bundle.store.CreateOrder(ctx, buyer.ID, tk.ID, 1, base, hold)
					})
					wg.Go(func() {
						<-start
						// Every other round the seller first reads the
						// ticket, as the buyer's CreateOrder does, so that
						// each side wins some rounds.
						if i%2 == 1 {
							bundle.listingAt(t, tk.ID, base)
						}
						_, withdrawErr = bundle.store.WithdrawListing(ctx, tk.ID, seller.ID, base)
					})
					close(start)
					wg.Wait()

					got := bundle.listingAt(t, tk.ID, base)
					if buyErr == nil && withdrawErr == nil {
						require.Equal(t, store.Postgres, dialect, "round %d", i)
						require.Equal(t, order.ID, bundle.claimOf(t, got.ID).OrderID, "round %d", i)
						require.Equal(t, store.Withdrawn, got.State(base), "round %d", i)
						bundle.pay(t, order, base)
						require.Equal(t, store.Sold, bundle.listingAt(t, tk.ID, base).State(base), "round %d", i)
						wins["both"]++
						continue
					}
					if buyErr == nil {
						require.ErrorIs(t, withdrawErr, store.ErrHeld, "round %d", i)
						require.Equal(t, order.ID, bundle.claimOf(t, got.ID).OrderID, "round %d", i)
						require.True(t, got.WithdrawnAt.IsZero(), "round %d", i)
						wins["buyer"]++
						continue
					}
					require.ErrorIs(t, buyErr, store.ErrWithdrawn, "round %d", i)
					require.NoError(t, withdrawErr, "round %d", i)
					require.Equal(t, store.Withdrawn, got.State(base), "round %d", i)
					require.Zero(t, bundle.claimOf(t, got.ID).OrderID, "round %d", i)
					require.Zero(t, bundle.count(t, `SELECT count(*) FROM orders WHERE listing_id = $1`, tk.ID), "round %d", i)
					wins["seller"]++
				}
				require.Equal(t, rounds, wins["buyer"]+wins["seller"]+wins["both"])
				require.Equal(t, wins["buyer"]+wins["both"], bundle.orderRows(t))
				require.Equal(t, wins["buyer"]+wins["both"], bundle.expireJobs(t))
				t.Logf("%s: buyer won %d, seller %d, both %d of %d", dialect, wins["buyer"], wins["seller"], wins["both"], rounds)
			})
		})
	}
}
