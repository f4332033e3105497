package store_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/money"
	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// editTo is l's edit with the changes change makes.
func editTo(l store.Listing, change func(*store.ListingEdit)) store.ListingEdit {
	edit := editOf(l, l.Note, l.Price)
	change(&edit)
	return edit
}

// TestEditRules: once tickets are held or sold, an edit changes only what
// is safe (the price of the unsold ones, the note, the quantity down to
// what is held and sold), never what buyers hold or bought.
func TestEditRules(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()

			t.Run("WithTicketsHeldAndSold", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				ctx := t.Context()
				seller := bundle.user(t, "seller@example.com")
				holder := bundle.user(t, "holder@example.com")
				owner := bundle.user(t, "owner@example.com")
				l := bundle.listing(t, seller.ID, listingOf("Show", 4, 1000))
				held := bundle.orderOf(t, holder.ID, l.ID, 1, base)
				sold := bundle.orderOf(t, owner.ID, l.ID, 1, base)
				bundle.pay(t, sold, base)
				now := base.Add(time.Second)
				edit := func(change func(*store.ListingEdit)) (store.Listing, error) {
					t.Helper()
					return bundle.store.UpdateListing(ctx, l.ID, seller.ID, editTo(bundle.listingAt(t, l.ID, now), change), now)
				}

				got, err := edit(func(e *store.ListingEdit) { e.Price, e.Note = 900, "Row 7" })
				require.NoError(t, err)
				require.Equal(t, [2]any{int64(900), "Row 7"}, [2]any{got.Price, got.Note})
				require.Equal(t, int64(1000), bundle.getOrder(t, held.ID, holder.ID).Amount, "the hold keeps its price")

				before := bundle.listingAt(t, l.ID, now)
				for name, change := range map[string]func(*store.ListingEdit){
					"face value":     func(e *store.ListingEdit) { e.FaceValue = 1100 },
					"together":       func(e *store.ListingEdit) { e.Together = true },
					"below claimed":  func(e *store.ListingEdit) { e.Quantity = 1 },
					"none left":      func(e *store.ListingEdit) { e.Quantity = 0 },
					"price and face": func(e *store.ListingEdit) { e.Price, e.FaceValue = 800, 800 },
				} {
					_, err := edit(change)
					require.ErrorIs(t, err, store.ErrTicketsClaimed, name)
					require.Equal(t, before, bundle.listingAt(t, l.ID, now), name)
				}
				require.Equal(t, map[int64]int{held.ID: 1, sold.ID: 1, 0: 2}, bundle.claimed(t, l.ID))

				// Down to what is held and sold: the free tickets go.
				got, err = edit(func(e *store.ListingEdit) { e.Quantity = 2 })
				require.NoError(t, err)
				require.Equal(t, [4]int{2, 0, 1, 1}, [4]int{got.Quantity, got.Free, got.Held(), got.Sold})
				require.Equal(t, store.Held, got.State(now))
				require.Equal(t, map[int64]int{held.ID: 1, sold.ID: 1}, bundle.claimed(t, l.ID))

				// Up again: new tickets, free.
				got, err = edit(func(e *store.ListingEdit) { e.Quantity = 5 })
				require.NoError(t, err)
				require.Equal(t, [4]int{5, 3, 1, 1}, [4]int{got.Quantity, got.Free, got.Held(), got.Sold})
				require.Equal(t, map[int64]int{held.ID: 1, sold.ID: 1, 0: 3}, bundle.claimed(t, l.ID))
				bundle.orderOf(t, owner.ID, l.ID, 3, now)

				// The hold is paid at the price it was taken at.
				bundle.pay(t, held, now)
				require.Equal(t, store.Paid, bundle.getOrder(t, held.ID, holder.ID).Status)
			})

			t.Run("WithoutClaimsAnythingGoes", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				l := bundle.listing(t, seller.ID, listingOf("Show", 4, 1000))

				got, err := bundle.store.UpdateListing(t.Context(), l.ID, seller.ID, store.ListingEdit{
					Price: 1100, FaceValue: 1200, Quantity: 2, Note: "Balcony", Together: true}, base)
				require.NoError(t, err)
				require.Equal(t, [2]int{2, 2}, [2]int{got.Quantity, got.Free})
				require.Equal(t, [3]any{int64(1100), int64(1200), true}, [3]any{got.Price, got.FaceValue, got.Together})
				require.Equal(t, 2, bundle.count(t, `SELECT count(*) FROM tickets WHERE listing_id = $1`, l.ID))

				for _, quantity := range []int{0, store.MaxQuantity + 1} {
					_, err := bundle.store.UpdateListing(t.Context(), l.ID, seller.ID, editTo(got, func(e *store.ListingEdit) {
						e.Quantity = quantity
					}), base)
					require.Error(t, err, "quantity %d", quantity)
					require.Equal(t, got, bundle.listingAt(t, l.ID, base))
					require.Equal(t, 2, bundle.count(t, `SELECT count(*) FROM tickets WHERE listing_id = $1`, l.ID))
				}
			})

			// A hold that has ended claims nothing, even before its end is
			// recorded: the seller may take its ticket off the listing, and
			// the late payment is refunded.
			t.Run("EndedHoldClaimsNothing", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				l := bundle.listing(t, seller.ID, listingOf("Show", 2, 1000))
				o := bundle.orderOf(t, buyer.ID, l.ID, 2, base)

				now := o.ExpiresAt
				got, err := bundle.store.UpdateListing(t.Context(), l.ID, seller.ID, editTo(l, func(e *store.ListingEdit) {
					e.Quantity, e.FaceValue = 1, 900
				}), now)
				require.NoError(t, err)
				require.Equal(t, [2]int{1, 1}, [2]int{got.Quantity, got.Free})

				bundle.pay(t, o, now.Add(time.Second))
				payments, err := bundle.store.PaymentsForOrder(t.Context(), o.ID)
				require.NoError(t, err)
				require.Equal(t, store.RefundTicketGone, payments[0].RefundReason)
			})

			if dialect == store.Postgres {
				t.Run("QuantityDownRacingAClaim", func(t *testing.T) {
					t.Parallel()
					testQuantityDownRacingAClaim(t, setup(t, dialect))
				})
			}
		})
	}
}

// testQuantityDownRacingAClaim runs, on PostgreSQL, a seller's edit that
// takes a free ticket off the listing while a buyer's claim of it is not yet
// committed: the edit read the ticket as free, waits for the claim, and
// then fails with ErrTicketsClaimed, removing nothing.
func testQuantityDownRacingAClaim(t *testing.T, bundle *testBundle) {
	ctx := t.Context()
	seller := bundle.user(t, "seller@example.com")
	buyer := bundle.user(t, "buyer@example.com")
	l := bundle.listing(t, seller.ID, listingOf("Duo", 2, 1000))
	pause := pausePG(t, bundle, "UPDATE", "tickets", "NEW.claim_order_id IS NOT NULL")

	var o store.Order
	var buyErr, editErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		o, buyErr = bundle.store.CreateOrder(ctx, buyer.ID, l.ID, 2, base, hold)
	})
	pause.waitFor(1)
	wg.Go(func() {
		_, editErr = bundle.store.UpdateListing(ctx, l.ID, seller.ID, editTo(l, func(e *store.ListingEdit) { e.Quantity = 1 }), base)
	})
	pause.waitFor(2)
	pause.release()
	wg.Wait()

	require.NoError(t, buyErr)
	require.ErrorIs(t, editErr, store.ErrTicketsClaimed)
	require.Equal(t, map[int64]int{o.ID: 2}, bundle.claimed(t, l.ID))
	require.Equal(t, 2, bundle.listingAt(t, l.ID, base).Quantity)
}

// TestPriceCap is invariant 7's second half: no listing is ever priced over
// face value plus the cap, on create and on every edit.
func TestPriceCap(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			capped := func(t *testing.T, percent string) *testBundle {
				t.Helper()
				c, err := money.ParseCap(percent)
				require.NoError(t, err)
				return setupWith(t, dialect, store.WithPriceCap(c.Max))
			}
			requireCap := func(t *testing.T, err error, most int64) {
				t.Helper()
				var capErr *store.PriceCapError
				require.ErrorAs(t, err, &capErr)
				require.Equal(t, most, capErr.Max)
			}
			priced := func(price, face int64) store.NewListing {
				n := listingOf("Show", 2, price)
				n.FaceValue = face
				return n
			}

			t.Run("OnCreate", func(t *testing.T) {
				t.Parallel()
				bundle := capped(t, "20")
				seller := bundle.user(t, "seller@example.com")
				_, err := bundle.store.CreateListing(t.Context(), seller.ID, priced(1201, 1000), base)
				requireCap(t, err, 1200)
				require.Equal(t, 0, bundle.count(t, `SELECT count(*) FROM listings`))
				require.Equal(t, 0, bundle.count(t, `SELECT count(*) FROM events`))
				l := bundle.listing(t, seller.ID, priced(1200, 1000))
				require.Equal(t, int64(1200), l.Price)
			})

			t.Run("OnEdit", func(t *testing.T) {
				t.Parallel()
				bundle := capped(t, "20")
				ctx := t.Context()
				seller := bundle.user(t, "seller@example.com")
				buyer := bundle.user(t, "buyer@example.com")
				l := bundle.listing(t, seller.ID, priced(1000, 1000))
				edit := func(price, face int64) error {
					t.Helper()
					_, err := bundle.store.UpdateListing(ctx, l.ID, seller.ID, editTo(l, func(e *store.ListingEdit) {
						e.Price, e.FaceValue = price, face
					}), base)
					return err
				}
				requireCap(t, edit(1201, 1000), 1200)
				requireCap(t, edit(1000, 800), 960)
				require.Equal(t, l, bundle.listingAt(t, l.ID, base))
				require.NoError(t, edit(1200, 1000))
				require.NoError(t, edit(1320, 1100))
				l = bundle.listingAt(t, l.ID, base)
				require.Equal(t, [2]int64{1320, 1100}, [2]int64{l.Price, l.FaceValue})

				// Held tickets' price is capped as well.
				bundle.orderOf(t, buyer.ID, l.ID, 1, base)
				requireCap(t, edit(1321, 1100), 1320)
			})

			t.Run("FaceValueAtMost", func(t *testing.T) {
				t.Parallel()
				bundle := capped(t, "0")
				seller := bundle.user(t, "seller@example.com")
				_, err := bundle.store.CreateListing(t.Context(), seller.ID, priced(1001, 1000), base)
				requireCap(t, err, 1000)
				bundle.listing(t, seller.ID, priced(1000, 1000))
				bundle.listing(t, seller.ID, priced(500, 1000))
			})

			t.Run("NoCap", func(t *testing.T) {
				t.Parallel()
				for _, bundle := range []*testBundle{capped(t, "none"), setup(t, dialect)} {
					seller := bundle.user(t, "seller@example.com")
					bundle.listing(t, seller.ID, priced(money.MaxPrice, 1000))
				}
			})
		})
	}
}
