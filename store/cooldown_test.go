package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// setupCooldown is setup with a store that allows two holds at once (the
// app's default is four) and applies the default cool-down.
func setupCooldown(t *testing.T, dialect store.Dialect) *testBundle {
	t.Helper()
	return setupWith(t, dialect, store.WithMaxHolds(2), store.WithHoldCooldown(store.DefaultCooldown))
}

// requireCoolingDown checks that the buyer may not hold the ticket at now,
// and that the wait ends at until.
func (b *testBundle) requireCoolingDown(t *testing.T, buyerID, ticketID int64, now, until time.Time) {
	t.Helper()
	_, err := b.store.CreateOrder(t.Context(), buyerID, ticketID, 1, now, hold)
	require.ErrorIs(t, err, store.ErrCoolingDown)
	var cd *store.CooldownError
	require.ErrorAs(t, err, &cd)
	require.Equal(t, until, cd.Until)
}

// TestHoldCooldown: a buyer who keeps a ticket from others by holding it and
// letting the hold lapse, over and over, waits longer and longer before
// holding again, counted in the database in CreateOrder's transaction.
func TestHoldCooldown(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()

			t.Run("CancelAndBuyAgainLoop", func(t *testing.T) {
				t.Parallel()
				bundle := setupCooldown(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				tk := bundle.ticket(t, seller.ID, "Show", 1000)

				now := base
				cancel := func(o store.Order) {
					t.Helper()
					now = now.Add(time.Second)
					require.NoError(t, bundle.store.CancelOrder(t.Context(), o.ID, buyer.ID, now))
				}
				// Two lapses are free.
				for range 2 {
					cancel(bundle.order(t, buyer.ID, tk.ID, now))
				}
				cancel(bundle.order(t, buyer.ID, tk.ID, now))
				// From the third, the wait doubles with every lapse, up to an hour.
				jobsBefore := bundle.expireJobs(t)
				for _, wait := range []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60} {
					until := now.Add(wait * time.Minute)
					bundle.requireCoolingDown(t, buyer.ID, tk.ID, now, until)
					bundle.requireCoolingDown(t, buyer.ID, tk.ID, until.Add(-time.Millisecond), until)
					// Nothing of a refused order is left: no row, no job, no claim.
					require.Zero(t, bundle.claimOf(t, tk.ID).OrderID)
					require.Equal(t, jobsBefore, bundle.expireJobs(t))

					now = until
					cancel(bundle.order(t, buyer.ID, tk.ID, now))
					jobsBefore++
				}
				require.Equal(t, 12, bundle.orderRows(t))

				// The ticket is free for everyone else all along.
				other := bundle.user(t, "other@example.com")
				bundle.order(t, other.ID, tk.ID, now)
			})

			t.Run("ExpiryLoop", func(t *testing.T) {
				// Holds left to run out count from expires_at, whether or not
				// their job has recorded it, and however late it did.
				t.Parallel()
				bundle := setupCooldown(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				tickets := []store.Listing{bundle.ticket(t, seller.ID, "One", 1000), bundle.ticket(t, seller.ID, "Two", 1000)}

				// Two at once, both left to lapse; the expiry job records one
				// of them ten minutes late.
				a := bundle.order(t, buyer.ID, tickets[0].ID, base)
				bundle.order(t, buyer.ID, tickets[1].ID, base)
				ended := base.Add(hold)
				_, _, err := bundle.store.ExpireOrder(t.Context(), a.ID, ended.Add(10*time.Minute))
				require.NoError(t, err)
				// The third lapse.
				now := ended.Add(5 * time.Minute)
				bundle.order(t, buyer.ID, tickets[0].ID, now)
				lapsed := now.Add(hold)
				bundle.requireCoolingDown(t, buyer.ID, tickets[1].ID, lapsed, lapsed.Add(time.Minute))
				// Two more at the end of the wait: the fifth lapse waits 4 minutes.
				now = lapsed.Add(time.Minute)
				bundle.order(t, buyer.ID, tickets[0].ID, now)
				bundle.order(t, buyer.ID, tickets[1].ID, now)
				// While they run, the buyer holds two: the hold limit speaks.
				_, err = bundle.store.CreateOrder(t.Context(), buyer.ID, bundle.ticket(t, seller.ID, "Three", 1000).ID, 1, now, hold)
				require.ErrorIs(t, err, store.ErrTooManyHolds)
				lapsed = now.Add(hold)
				bundle.requireCoolingDown(t, buyer.ID, tickets[0].ID, lapsed, lapsed.Add(4*time.Minute))
				bundle.order(t, buyer.ID, tickets[0].ID, lapsed.Add(4*time.Minute))
			})

			t.Run("HoarderAroundTheClock", func(t *testing.T) {
				// A buyer allowed two holds at once (setupCooldown) holds two
				// tickets again the moment they may, for a day, never paying:
				// without the cool-down they would hold both all day (2,880
				// ticket-minutes). With it they take 10 one-minute holds in
				// the first 47 minutes, waiting 2, 8, 32 and then 60 minutes,
				// and then 2 holds every 61 minutes: 54 ticket-minutes, under
				// 2% of the day.
				t.Parallel()
				bundle := setupCooldown(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				tickets := []store.Listing{bundle.ticket(t, seller.ID, "One", 1000), bundle.ticket(t, seller.ID, "Two", 1000)}
				holds := 0
				for now := base; now.Before(base.Add(24 * time.Hour)); {
					next := now.Add(hold)
					for _, tk := range tickets {
						_, err := bundle.store.CreateOrder(t.Context(), buyer.ID, tk.ID, 1, now, hold)
						var cd *store.CooldownError
						if errors.As(err, &cd) {
							next = cd.Until
							break
						}
						require.NoError(t, err)
						holds++
					}
					now = next
				}
				require.Equal(t, 10+2*22, holds, "one-minute holds in a day")
			})

			t.Run("PaidOrdersDoNotCount", func(t *testing.T) {
				t.Parallel()
				bundle := setupCooldown(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				now := base
				for range 2 {
					o := bundle.order(t, buyer.ID, bundle.ticket(t, seller.ID, "Lapsed", 1000).ID, now)
					now = now.Add(time.Second)
					require.NoError(t, bundle.store.CancelOrder(t.Context(), o.ID, buyer.ID, now))
				}
				for range 5 {
					o := bundle.order(t, buyer.ID, bundle.ticket(t, seller.ID, "Paid", 1000).ID, now)
					now = now.Add(time.Second)
					bundle.pay(t, o, now)
				}
				// Paid late, after its hold ended: paid all the same.
				late := bundle.order(t, buyer.ID, bundle.ticket(t, seller.ID, "Late", 1000).ID, now)
				now = now.Add(hold + time.Second)
				bundle.pay(t, late, now)
				require.Equal(t, store.Paid, bundle.getOrder(t, late.ID, buyer.ID).Status)
				bundle.order(t, buyer.ID, bundle.ticket(t, seller.ID, "Next", 1000).ID, now)
			})

			t.Run("OldLapsesDoNotCount", func(t *testing.T) {
				t.Parallel()
				bundle := setupCooldown(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				tk := bundle.ticket(t, seller.ID, "Show", 1000)
				cancelAt := func(at time.Time) time.Time {
					t.Helper()
					o := bundle.order(t, buyer.ID, tk.ID, at)
					require.NoError(t, bundle.store.CancelOrder(t.Context(), o.ID, buyer.ID, at.Add(time.Second)))
					return at.Add(time.Second)
				}
				first := cancelAt(base)
				cancelAt(base.Add(2 * time.Minute))
				third := cancelAt(base.Add(4 * time.Minute))
				bundle.requireCoolingDown(t, buyer.ID, tk.ID, third, third.Add(time.Minute))
				// A day after the first lapse, it has left the window: the
				// next lapse is the third that counts, not the fourth, and
				// waits 1 minute, not 2.
				now := cancelAt(first.Add(store.DefaultCooldown.Window))
				bundle.requireCoolingDown(t, buyer.ID, tk.ID, now, now.Add(time.Minute))
				// A day after them all, nothing counts.
				now = cancelAt(now.Add(store.DefaultCooldown.Window))
				now = cancelAt(now)
				bundle.order(t, buyer.ID, tk.ID, now)
			})

			t.Run("OtherBuyersUnaffected", func(t *testing.T) {
				t.Parallel()
				bundle := setupCooldown(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				other := bundle.user(t, "other@example.com")
				tk := bundle.ticket(t, seller.ID, "Show", 1000)
				now := base
				for range 3 {
					o := bundle.order(t, buyer.ID, tk.ID, now)
					now = now.Add(time.Second)
					require.NoError(t, bundle.store.CancelOrder(t.Context(), o.ID, buyer.ID, now))
				}
				bundle.requireCoolingDown(t, buyer.ID, tk.ID, now, now.Add(time.Minute))
				bundle.order(t, other.ID, tk.ID, now)
			})

			t.Run("OffUnlessConfigured", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				require.Equal(t, store.Cooldown{}, bundle.store.HoldCooldown())
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				tk := bundle.ticket(t, seller.ID, "Show", 1000)
				now := base
				for range 10 {
					o := bundle.order(t, buyer.ID, tk.ID, now)
					now = now.Add(time.Second)
					require.NoError(t, bundle.store.CancelOrder(t.Context(), o.ID, buyer.ID, now))
				}
			})
		})
	}
}

// TestBuyerCountReadsOnlyTheIndex checks how SQLite counts a buyer's holds
// and lapses in every claim: from orders_buyer_expires_idx alone, starting at
// the window's orders, so that neither a long history nor the table's rows
// are read.
func TestBuyerCountReadsOnlyTheIndex(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t, store.SQLite)
	rows, err := db.Read.QueryContext(t.Context(), `EXPLAIN QUERY PLAN `+store.CheckBuyerSQL, 1, 2, 1)
	require.NoError(t, err)
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
		plan = append(plan, detail)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"SEARCH orders USING COVERING INDEX orders_buyer_expires_idx (buyer_id=? AND expires_at>?)"}, plan)
}
