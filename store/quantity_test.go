package store_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// listingOf is quantity tickets at price each, face value price, under a new
// event named name, date to be announced.
func listingOf(name string, quantity int, price int64) store.NewListing {
	n := store.Single(name, price, "usd")
	n.Quantity = quantity
	return n
}

// listing lists n at base.
func (b *testBundle) listing(t *testing.T, sellerID int64, n store.NewListing) store.Listing {
	t.Helper()
	l, err := b.store.CreateListing(t.Context(), sellerID, n, base)
	require.NoError(t, err)
	return l
}

// orderOf creates an order of quantity tickets with the test hold.
func (b *testBundle) orderOf(t *testing.T, buyerID, listingID int64, quantity int, now time.Time) store.Order {
	t.Helper()
	o, err := b.store.CreateOrder(t.Context(), buyerID, listingID, quantity, now, hold)
	require.NoError(t, err)
	require.Equal(t, quantity, o.Quantity)
	return o
}

// claimed counts a listing's tickets by the order that claims them, as
// stored (order 0: unclaimed).
func (b *testBundle) claimed(t *testing.T, listingID int64) map[int64]int {
	t.Helper()
	claims, err := b.store.Claims(t.Context(), listingID)
	require.NoError(t, err)
	byOrder := map[int64]int{}
	for _, c := range claims {
		byOrder[c.OrderID]++
	}
	return byOrder
}

// race runs buy for every buyer at once and returns their orders and errors.
func race(buyers []store.User, buy func(buyer store.User) (store.Order, error)) ([]store.Order, []error) {
	orders := make([]store.Order, len(buyers))
	errs := make([]error, len(buyers))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, buyer := range buyers {
		wg.Go(func() {
			<-start
			orders[i], errs[i] = buy(buyer)
		})
	}
	close(start)
	wg.Wait()
	return orders, errs
}

// TestQuantityRace is invariant 8: however many buyers race for a listing's
// tickets, it never sells more than it has, and every order holds exactly
// its quantity.
func TestQuantityRace(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()

			t.Run("TwoHundredBuyersFiveTickets", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				buyers := bundle.users(t, "buyer", 200)
				l := bundle.listing(t, seller.ID, listingOf("Rush", 5, 1000))

				orders, errs := race(buyers, func(buyer store.User) (store.Order, error) {
					return bundle.store.CreateOrder(t.Context(), buyer.ID, l.ID, 1, base, hold)
				})
				want := map[int64]int{}
				for i, err := range errs {
					if err != nil {
						require.ErrorIs(t, err, store.ErrHeld, "buyer %d", i)
						continue
					}
					want[orders[i].ID] = 1
				}
				require.Len(t, want, 5)
				require.Equal(t, want, bundle.claimed(t, l.ID))
				require.Equal(t, 5, bundle.orderRows(t))
				require.Equal(t, 5, bundle.expireJobs(t))
				got := bundle.listingAt(t, l.ID, base)
				require.Equal(t, [2]int{0, 5}, [2]int{got.Free, got.Held()})
				require.Equal(t, store.Held, got.State(base))
			})

			t.Run("ThreeLeftTwoEach", func(t *testing.T) {
				t.Parallel()
				bundle := setupHolds(t, dialect, 4)
				seller := bundle.user(t, "seller@example.com")
				early := bundle.user(t, "early@example.com")
				buyers := bundle.users(t, "buyer", 200)
				l := bundle.listing(t, seller.ID, listingOf("Rush", 5, 1000))
				sold := bundle.orderOf(t, early.ID, l.ID, 2, base)
				bundle.pay(t, sold, base)

				orders, errs := race(buyers, func(buyer store.User) (store.Order, error) {
					return bundle.store.CreateOrder(t.Context(), buyer.ID, l.ID, 2, base, hold)
				})
				want := map[int64]int{sold.ID: 2}
				for i, err := range errs {
					if err != nil {
						require.ErrorIs(t, err, store.ErrNotEnoughLeft, "buyer %d", i)
						continue
					}
					require.Equal(t, 2, orders[i].Quantity)
					require.Equal(t, int64(2000), orders[i].Amount)
					want[orders[i].ID] = 2
				}
				// Somebody gets two of the three; then one is left, too few
				// for anyone.
				want[0] = 1
				require.Len(t, want, 3)
				require.Equal(t, want, bundle.claimed(t, l.ID))
				require.Equal(t, 2, bundle.orderRows(t))
				got := bundle.listingAt(t, l.ID, base)
				require.Equal(t, [3]int{1, 2, 2}, [3]int{got.Free, got.Held(), got.Sold})
			})
		})
	}
}

func TestQuantity(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()

			// An order holds all of its tickets or none.
			t.Run("AllOrNone", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				ctx := t.Context()
				seller := bundle.user(t, "seller@example.com")
				first := bundle.user(t, "first@example.com")
				second := bundle.user(t, "second@example.com")
				l := bundle.listing(t, seller.ID, listingOf("Trio", 3, 1000))
				o := bundle.orderOf(t, first.ID, l.ID, 2, base)
				require.Equal(t, int64(2000), o.Amount)
				require.Equal(t, store.ForSale, bundle.listingAt(t, l.ID, base).State(base))

				for _, quantity := range []int{2, 3, 4} {
					_, err := bundle.store.CreateOrder(ctx, second.ID, l.ID, quantity, base, hold)
					require.ErrorIs(t, err, store.ErrNotEnoughLeft, "quantity %d", quantity)
				}
				for _, quantity := range []int{0, -1} {
					_, err := bundle.store.CreateOrder(ctx, second.ID, l.ID, quantity, base, hold)
					require.Error(t, err, "quantity %d", quantity)
				}
				// The refusals left no order, no job and no claim behind.
				require.Equal(t, 1, bundle.orderRows(t))
				requireOnlyExpireJob(t, bundle, o)
				require.Equal(t, map[int64]int{o.ID: 2, 0: 1}, bundle.claimed(t, l.ID))

				last := bundle.orderOf(t, second.ID, l.ID, 1, base)
				require.Equal(t, map[int64]int{o.ID: 2, last.ID: 1}, bundle.claimed(t, l.ID))
				_, err := bundle.store.CreateOrder(ctx, second.ID, l.ID, 1, base, hold)
				require.ErrorIs(t, err, store.ErrHeld)
			})

			// A late payment buys all of its tickets or none.
			t.Run("LatePaymentAllOrNone", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				late := bundle.user(t, "late@example.com")
				other := bundle.user(t, "other@example.com")
				l := bundle.listing(t, seller.ID, listingOf("Trio", 3, 1000))
				o := bundle.orderOf(t, late.ID, l.ID, 3, base)
				now := o.ExpiresAt.Add(time.Second)
				taken := bundle.orderOf(t, other.ID, l.ID, 1, now)

				bundle.pay(t, o, now)
				payments, err := bundle.store.PaymentsForOrder(t.Context(), o.ID)
				require.NoError(t, err)
				require.Equal(t, store.RefundTicketGone, payments[0].RefundReason)
				require.NotEqual(t, store.Paid, bundle.getOrder(t, o.ID, late.ID).Status)
				got := bundle.listingAt(t, l.ID, now)
				require.Equal(t, [3]int{2, 1, 0}, [3]int{got.Free, got.Held(), got.Sold})
				require.Equal(t, 1, bundle.claimed(t, l.ID)[taken.ID])
			})

			// With every ticket free again, a late payment buys them.
			t.Run("LatePaymentOfSeveral", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				l := bundle.listing(t, seller.ID, listingOf("Trio", 4, 1000))
				o := bundle.orderOf(t, buyer.ID, l.ID, 3, base)
				now := o.ExpiresAt.Add(time.Second)
				_, _, err := bundle.store.ExpireOrder(t.Context(), o.ID, o.ExpiresAt)
				require.NoError(t, err)

				bundle.pay(t, o, now)
				require.Equal(t, store.Paid, bundle.getOrder(t, o.ID, buyer.ID).Status)
				require.Equal(t, map[int64]int{o.ID: 3, 0: 1}, bundle.claimed(t, l.ID))
				got := bundle.listingAt(t, l.ID, now)
				require.Equal(t, [3]int{1, 0, 3}, [3]int{got.Free, got.Held(), got.Sold})
			})

			t.Run("Together", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				ctx := t.Context()
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				other := bundle.user(t, "other@example.com")
				n := listingOf("Adjacent seats", 4, 1000)
				n.Together = true
				l := bundle.listing(t, seller.ID, n)
				require.True(t, l.Together)
				lo, hi := l.Buyable(base)
				require.Equal(t, [2]int{4, 4}, [2]int{lo, hi})

				for _, quantity := range []int{1, 2, 3, 5} {
					_, err := bundle.store.CreateOrder(ctx, buyer.ID, l.ID, quantity, base, hold)
					require.ErrorIs(t, err, store.ErrTogether, "quantity %d", quantity)
				}
				require.Equal(t, 0, bundle.orderRows(t))
				require.Equal(t, map[int64]int{0: 4}, bundle.claimed(t, l.ID))

				o := bundle.orderOf(t, buyer.ID, l.ID, 4, base)
				require.Equal(t, int64(4000), o.Amount)
				require.Equal(t, map[int64]int{o.ID: 4}, bundle.claimed(t, l.ID))
				_, err := bundle.store.CreateOrder(ctx, other.ID, l.ID, 4, base, hold)
				require.ErrorIs(t, err, store.ErrHeld)
				_, err = bundle.store.CreateOrder(ctx, other.ID, l.ID, 1, base, hold)
				require.ErrorIs(t, err, store.ErrTogether)

				// Once the hold has ended, all four are on sale again.
				got := bundle.listingAt(t, l.ID, o.ExpiresAt)
				require.Equal(t, store.ForSale, got.State(o.ExpiresAt))
				lo, hi = got.Buyable(o.ExpiresAt)
				require.Equal(t, [2]int{4, 4}, [2]int{lo, hi})
				bundle.orderOf(t, other.ID, l.ID, 4, o.ExpiresAt)
			})

			t.Run("BuyableUpToWhatIsFree", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				l := bundle.listing(t, seller.ID, listingOf("Show", 5, 1000))
				lo, hi := l.Buyable(base)
				require.Equal(t, [2]int{1, 5}, [2]int{lo, hi})
				bundle.orderOf(t, buyer.ID, l.ID, 3, base)
				lo, hi = bundle.listingAt(t, l.ID, base).Buyable(base)
				require.Equal(t, [2]int{1, 2}, [2]int{lo, hi})
			})

			// The hold limit counts tickets, not orders.
			t.Run("HoldLimitCountsTickets", func(t *testing.T) {
				t.Parallel()
				bundle := setupHolds(t, dialect, 4)
				ctx := t.Context()
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				a := bundle.listing(t, seller.ID, listingOf("A", 5, 1000))
				b := bundle.listing(t, seller.ID, listingOf("B", 5, 1000))

				_, err := bundle.store.CreateOrder(ctx, buyer.ID, a.ID, 5, base, hold)
				require.ErrorIs(t, err, store.ErrTooManyHolds, "one order over the limit")
				held := bundle.orderOf(t, buyer.ID, a.ID, 3, base)
				_, err = bundle.store.CreateOrder(ctx, buyer.ID, b.ID, 2, base, hold)
				require.ErrorIs(t, err, store.ErrTooManyHolds)
				require.Equal(t, map[int64]int{0: 5}, bundle.claimed(t, b.ID))
				require.Equal(t, 1, bundle.orderRows(t))
				requireOnlyExpireJob(t, bundle, held)

				bundle.orderOf(t, buyer.ID, b.ID, 1, base)
				_, err = bundle.store.CreateOrder(ctx, buyer.ID, b.ID, 1, base, hold)
				require.ErrorIs(t, err, store.ErrTooManyHolds)
			})

			// A paid order of three sells three tickets; its full refund
			// puts all three back on sale.
			t.Run("PaymentAndRefundOfSeveral", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				ctx := t.Context()
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				l := bundle.listing(t, seller.ID, listingOf("Trio", 4, 1500))
				o := bundle.orderOf(t, buyer.ID, l.ID, 3, base)
				require.Equal(t, int64(4500), o.Amount)
				now := base.Add(time.Second)

				bundle.pay(t, o, now)
				require.Equal(t, store.Paid, bundle.getOrder(t, o.ID, buyer.ID).Status)
				claims, err := bundle.store.Claims(ctx, l.ID)
				require.NoError(t, err)
				require.Equal(t, []store.Claim{{OrderID: o.ID}, {OrderID: o.ID}, {OrderID: o.ID}, {}}, claims,
					"three sold, no longer held")
				got := bundle.listingAt(t, l.ID, o.ExpiresAt.Add(time.Hour))
				require.Equal(t, [3]int{1, 0, 3}, [3]int{got.Free, got.Held(), got.Sold})
				require.Equal(t, store.ForSale, got.State(o.ExpiresAt.Add(time.Hour)))

				pi := "pi_test_" + itoa(o.ID)
				orderID, listingID, err := bundle.store.RecordRefund(ctx, pi, 1500, false, now)
				require.NoError(t, err)
				require.Equal(t, [2]int64{o.ID, 0}, [2]int64{orderID, listingID}, "a partial refund sells on")
				require.Equal(t, 3, bundle.listingAt(t, l.ID, now).Sold)

				orderID, listingID, err = bundle.store.RecordRefund(ctx, pi, 4500, true, now)
				require.NoError(t, err)
				require.Equal(t, [2]int64{o.ID, l.ID}, [2]int64{orderID, listingID})
				require.Equal(t, map[int64]int{0: 4}, bundle.claimed(t, l.ID))
				got = bundle.listingAt(t, l.ID, now)
				require.Equal(t, [3]int{4, 0, 0}, [3]int{got.Free, got.Held(), got.Sold})
				require.Equal(t, store.Refunded, bundle.getOrder(t, o.ID, buyer.ID).State(now))
			})

			t.Run("QuantityBounds", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				for _, quantity := range []int{0, store.MaxQuantity + 1} {
					_, err := bundle.store.CreateListing(t.Context(), seller.ID, listingOf("Show", quantity, 1000), base)
					require.Error(t, err, "quantity %d", quantity)
				}
				require.Equal(t, 0, bundle.count(t, `SELECT count(*) FROM listings`))
				require.Equal(t, 0, bundle.count(t, `SELECT count(*) FROM tickets`))
				l := bundle.listing(t, seller.ID, listingOf("Show", store.MaxQuantity, 1000))
				require.Equal(t, map[int64]int{0: store.MaxQuantity}, bundle.claimed(t, l.ID))
			})
		})
	}
}
