package store_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// inWindow is when a hold taken at base can first be extended.
var inWindow = base.Add(hold - store.ExtendWindow)

func TestExtendHold(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()

			t.Run("OnceInTheLastSecondsByTheHoldsLength", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				ctx := t.Context()
				seller, buyer := bundle.user(t, "seller@example.com"), bundle.user(t, "buyer@example.com")
				tk := bundle.ticket(t, seller.ID, "Opera", 3000)
				o := bundle.order(t, buyer.ID, tk.ID, base)
				oldEnd, newEnd := base.Add(hold), base.Add(2*hold)

				x, err := bundle.store.HoldExtension(ctx, o.ID, buyer.ID, base)
				require.NoError(t, err)
				require.True(t, x.Offered(base))
				require.Equal(t, inWindow, x.From)
				require.Equal(t, hold, x.By)

				_, err = bundle.store.ExtendHold(ctx, o.ID, buyer.ID, inWindow.Add(-time.Millisecond))
				var early *store.TooEarlyError
				require.ErrorAs(t, err, &early)
				require.ErrorIs(t, err, store.ErrTooEarly)
				require.Equal(t, inWindow, early.From)

				extended, err := bundle.store.ExtendHold(ctx, o.ID, buyer.ID, inWindow)
				require.NoError(t, err)
				require.Equal(t, newEnd, extended.ExpiresAt)
				require.Equal(t, store.Claim{OrderID: o.ID, ExpiresAt: newEnd}, bundle.claimOf(t, tk.ID))
				require.Equal(t, 1, bundle.expireJobs(t), "the order's one expiry job snoozes to the new end")

				x, err = bundle.store.HoldExtension(ctx, o.ID, buyer.ID, inWindow)
				require.NoError(t, err)
				require.False(t, x.Offered(inWindow))
				_, err = bundle.store.ExtendHold(ctx, o.ID, buyer.ID, newEnd.Add(-time.Second))
				require.ErrorIs(t, err, store.ErrAlreadyExtended)

				// Past the old end the hold runs on: the expiry job, due
				// then, is told to wait for the new end and changes nothing.
				afterOld := oldEnd.Add(time.Second)
				require.Equal(t, store.Held, bundle.listingAt(t, tk.ID, afterOld).State(afterOld))
				require.Equal(t, store.Pending, bundle.getOrder(t, o.ID, buyer.ID).State(afterOld))
				endsAt, session, err := bundle.store.ExpireOrder(ctx, o.ID, afterOld)
				require.NoError(t, err)
				require.Equal(t, newEnd, endsAt)
				require.Empty(t, session)
				require.Equal(t, store.Pending, bundle.getOrder(t, o.ID, buyer.ID).Status)
				_, err = bundle.store.CreateOrder(ctx, bundle.user(t, "rival@example.com").ID, tk.ID, 1, afterOld, hold)
				require.ErrorIs(t, err, store.ErrHeld)

				// At the new end it expires.
				endsAt, _, err = bundle.store.ExpireOrder(ctx, o.ID, newEnd)
				require.NoError(t, err)
				require.True(t, endsAt.IsZero())
				require.Equal(t, store.Cancelled, bundle.getOrder(t, o.ID, buyer.ID).Status)
				require.Equal(t, store.ForSale, bundle.listingAt(t, tk.ID, newEnd).State(newEnd))
			})

			t.Run("RefusedForOthersAndForHoldsThatEnded", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				ctx := t.Context()
				seller, buyer := bundle.user(t, "seller@example.com"), bundle.user(t, "buyer@example.com")
				other := bundle.user(t, "other@example.com")

				o := bundle.order(t, buyer.ID, bundle.ticket(t, seller.ID, "Opera", 3000).ID, base)
				_, err := bundle.store.ExtendHold(ctx, o.ID, other.ID, inWindow)
				require.ErrorIs(t, err, store.ErrNotFound, "someone else's order")
				_, err = bundle.store.HoldExtension(ctx, o.ID, other.ID, inWindow)
				require.ErrorIs(t, err, store.ErrNotFound)
				_, err = bundle.store.ExtendHold(ctx, o.ID+100, buyer.ID, inWindow)
				require.ErrorIs(t, err, store.ErrNotFound, "no such order")

				_, err = bundle.store.ExtendHold(ctx, o.ID, buyer.ID, base.Add(hold))
				require.ErrorIs(t, err, store.ErrNotPending, "the hold ended")

				cancelled := bundle.order(t, buyer.ID, bundle.ticket(t, seller.ID, "Ballet", 3000).ID, base)
				require.NoError(t, bundle.store.CancelOrder(ctx, cancelled.ID, buyer.ID, base))
				_, err = bundle.store.ExtendHold(ctx, cancelled.ID, buyer.ID, inWindow)
				require.ErrorIs(t, err, store.ErrNotPending, "cancelled")

				paid := bundle.order(t, buyer.ID, bundle.ticket(t, seller.ID, "Jazz", 3000).ID, base)
				bundle.pay(t, paid, base)
				_, err = bundle.store.ExtendHold(ctx, paid.ID, buyer.ID, inWindow)
				require.ErrorIs(t, err, store.ErrNotPending, "paid")

				soon, err := bundle.store.CreateListing(ctx, seller.ID, store.NewListing{
					Event: store.NewEvent{Name: "Soon", TimeZone: "UTC", StartsAt: inWindow.Add(time.Second)},
					Price: 3000, FaceValue: 3000, Currency: "usd", Quantity: 1,
				}, base)
				require.NoError(t, err)
				started := bundle.order(t, buyer.ID, soon.ID, base)
				_, err = bundle.store.ExtendHold(ctx, started.ID, buyer.ID, inWindow.Add(time.Second))
				require.ErrorIs(t, err, store.ErrEventStarted, "sales closed at the start")

				for _, id := range []int64{o.ID, cancelled.ID, paid.ID, started.ID} {
					require.Equal(t, 0, bundle.count(t, `SELECT count(*) FROM orders WHERE id = $1 AND extended_at IS NOT NULL`, id))
				}
			})

			t.Run("NotWhenAnotherBuyerTried", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				ctx := t.Context()
				seller, buyer := bundle.user(t, "seller@example.com"), bundle.user(t, "buyer@example.com")
				rival := bundle.user(t, "rival@example.com")

				// The holder's own second try is no contention.
				mine := bundle.order(t, buyer.ID, bundle.ticket(t, seller.ID, "Opera", 3000).ID, base)
				_, err := bundle.store.CreateOrder(ctx, buyer.ID, mine.ListingID, 1, base.Add(time.Second), hold)
				require.ErrorIs(t, err, store.ErrHeld)

				contended := bundle.order(t, buyer.ID, bundle.ticket(t, seller.ID, "Ballet", 3000).ID, base)
				_, err = bundle.store.CreateOrder(ctx, rival.ID, contended.ListingID, 1, base.Add(time.Second), hold)
				require.ErrorIs(t, err, store.ErrHeld)

				x, err := bundle.store.HoldExtension(ctx, contended.ID, buyer.ID, base.Add(time.Second))
				require.NoError(t, err)
				require.False(t, x.Offered(inWindow))
				_, err = bundle.store.ExtendHold(ctx, contended.ID, buyer.ID, inWindow)
				require.ErrorIs(t, err, store.ErrContended)
				_, err = bundle.store.ExtendHold(ctx, mine.ID, buyer.ID, inWindow)
				require.NoError(t, err)
			})

			t.Run("NotEnoughLeftContendsEveryOtherHold", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				ctx := t.Context()
				seller := bundle.user(t, "seller@example.com")
				first, second, third := bundle.user(t, "first@example.com"), bundle.user(t, "second@example.com"),
					bundle.user(t, "third@example.com")
				three := store.Single("Opera", 3000, "usd")
				three.Quantity = 3
				l, err := bundle.store.CreateListing(ctx, seller.ID, three, base)
				require.NoError(t, err)
				orderOf := func(buyer store.User, n int, now time.Time) (store.Order, error) {
					return bundle.store.CreateOrder(ctx, buyer.ID, l.ID, n, now, hold)
				}
				extend := func(o store.Order) error {
					_, err := bundle.store.ExtendHold(ctx, o.ID, o.BuyerID, o.ExpiresAt.Add(-time.Second))
					return err
				}

				a, err := orderOf(first, 2, base)
				require.NoError(t, err)
				// The first buyer asking for more than is left contends
				// no one's hold but their own.
				_, err = orderOf(first, 2, base.Add(time.Second))
				require.ErrorIs(t, err, store.ErrNotEnoughLeft)
				// The second does, and the hold they then take is not
				// contended by what happened before it.
				_, err = orderOf(second, 2, base.Add(2*time.Second))
				require.ErrorIs(t, err, store.ErrNotEnoughLeft)
				b, err := orderOf(second, 1, base.Add(3*time.Second))
				require.NoError(t, err)
				require.ErrorIs(t, extend(a), store.ErrContended)
				require.NoError(t, extend(b))

				// A hold running while a third buyer is refused is contended.
				a2, err := orderOf(first, 2, a.ExpiresAt)
				require.NoError(t, err)
				_, err = orderOf(third, 1, a.ExpiresAt.Add(time.Second))
				require.ErrorIs(t, err, store.ErrHeld)
				require.ErrorIs(t, extend(a2), store.ErrContended)
			})

			t.Run("ARushOfRefusalsWritesOnce", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				ctx := t.Context()
				seller, buyer := bundle.user(t, "seller@example.com"), bundle.user(t, "buyer@example.com")
				rivals := bundle.users(t, "rival", 50)
				o := bundle.order(t, buyer.ID, bundle.ticket(t, seller.ID, "Opera", 3000).ID, base)
				now := base.Add(time.Second)
				refuseAll := func(st *store.Store) {
					var wg sync.WaitGroup
					errs := make([]error, len(rivals))
					for i, rival := range rivals {
						wg.Go(func() {
							_, errs[i] = st.CreateOrder(ctx, rival.ID, o.ListingID, 1, now, hold)
						})
					}
					wg.Wait()
					for _, err := range errs {
						require.ErrorIs(t, err, store.ErrHeld)
					}
				}

				writes := bundle.store.Writes()
				refuseAll(bundle.store)
				require.Equal(t, writes+1, bundle.store.Writes(), "one write notes that others tried")
				refuseAll(bundle.store)
				require.Equal(t, writes+1, bundle.store.Writes(), "and no more")

				// Another process, with nothing in memory, sees the note.
				restarted, err := store.New(bundle.db)
				require.NoError(t, err)
				refuseAll(restarted)
				require.Zero(t, restarted.Writes())

				_, err = bundle.store.ExtendHold(ctx, o.ID, buyer.ID, inWindow)
				require.ErrorIs(t, err, store.ErrContended)
			})
		})
	}
}
