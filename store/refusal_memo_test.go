package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// TestRefusalsTakeTheKeptListing: while a listing's claims are refused, the
// refusals that follow one take the listing as that one read it, for as
// long as nothing it counts can have changed, and read it again after a
// write through the store, a change heard from another process, the end of
// one of its holds, or a second.
func TestRefusalsTakeTheKeptListing(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()

			// heldListing is a listing of one ticket held by a first buyer
			// for holdFor, and a late buyer refused it twice at base: the
			// first refusal notes the hold contended, a write, so the
			// second reads the listing again and keeps it. On PostgreSQL
			// the store hears of other processes' changes, as while the
			// live hub listens, unless unheard.
			heldListing := func(t *testing.T, bundle *testBundle, holdFor time.Duration, unheard ...bool) (tk store.Listing, held store.Order, late store.User) {
				t.Helper()
				if dialect == store.Postgres {
					bundle.store.HearChangesWhile(func() bool { return len(unheard) == 0 })
				}
				seller := bundle.user(t, "seller@example.com")
				first := bundle.user(t, "first@example.com")
				late = bundle.user(t, "late@example.com")
				tk = bundle.ticket(t, seller.ID, "Jazz Night", 1000)
				held, err := bundle.store.CreateOrder(t.Context(), first.ID, tk.ID, 1, base, holdFor)
				require.NoError(t, err)
				for range 2 {
					_, err := bundle.store.CreateOrder(t.Context(), late.ID, tk.ID, 1, base, hold)
					require.ErrorIs(t, err, store.ErrHeld)
				}
				return tk, held, late
			}
			// freeByHand frees the listing's tickets without the store: a
			// change it does not hear of.
			freeByHand := func(t *testing.T, bundle *testBundle, listingID int64) {
				t.Helper()
				_, err := bundle.db.Write.ExecContext(t.Context(),
					`UPDATE tickets SET claim_order_id = NULL, claim_expires_at = NULL WHERE listing_id = $1`, listingID)
				require.NoError(t, err)
			}

			t.Run("ForASecond", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				tk, _, late := heldListing(t, bundle, hold)
				kept := bundle.listingAt(t, tk.ID, base)
				freeByHand(t, bundle, tk.ID)

				now := base.Add(time.Second - time.Millisecond)
				_, err := bundle.store.CreateOrder(t.Context(), late.ID, tk.ID, 1, now, hold)
				require.ErrorIs(t, err, store.ErrHeld)
				kept.AsOf = now
				requireRefusedWith(t, err, kept)

				_, err = bundle.store.CreateOrder(t.Context(), late.ID, tk.ID, 1, base.Add(time.Second), hold)
				require.NoError(t, err)
			})

			// A second on, the late buyer's attempt no longer reads first:
			// its claim is tried and fails, and the read that says why is
			// kept for the refusals that follow, as one before a claim is.
			t.Run("AfterAClaimThatFailed", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				tk, _, late := heldListing(t, bundle, hold)
				later := base.Add(time.Second)
				_, err := bundle.store.CreateOrder(t.Context(), late.ID, tk.ID, 1, later, hold)
				require.ErrorIs(t, err, store.ErrHeld)
				kept := bundle.listingAt(t, tk.ID, later)
				freeByHand(t, bundle, tk.ID)

				now := later.Add(time.Millisecond)
				_, err = bundle.store.CreateOrder(t.Context(), late.ID, tk.ID, 1, now, hold)
				require.ErrorIs(t, err, store.ErrHeld)
				kept.AsOf = now
				requireRefusedWith(t, err, kept)
			})

			t.Run("UntilAWrite", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				tk, held, late := heldListing(t, bundle, hold)
				require.NoError(t, bundle.store.CancelOrder(t.Context(), held.ID, held.BuyerID, base))

				_, err := bundle.store.CreateOrder(t.Context(), late.ID, tk.ID, 1, base, hold)
				require.NoError(t, err)
			})

			t.Run("UntilAChangeHeardFromElsewhere", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				tk, _, late := heldListing(t, bundle, hold)
				freeByHand(t, bundle, tk.ID)
				bundle.store.ChangedElsewhere()

				_, err := bundle.store.CreateOrder(t.Context(), late.ID, tk.ID, 1, base, hold)
				require.NoError(t, err)
			})

			t.Run("UntilAHoldEnds", func(t *testing.T) {
				t.Parallel()
				bundle := setup(t, dialect)
				tk, held, late := heldListing(t, bundle, 500*time.Millisecond)

				_, err := bundle.store.CreateOrder(t.Context(), late.ID, tk.ID, 1, held.ExpiresAt.Add(-time.Millisecond), hold)
				require.ErrorIs(t, err, store.ErrHeld)
				// The hold ends; nothing is written, its expiry job has not run.
				_, err = bundle.store.CreateOrder(t.Context(), late.ID, tk.ID, 1, held.ExpiresAt, hold)
				require.NoError(t, err)
			})

			if dialect == store.Postgres {
				t.Run("NotWhileOthersGoUnheard", func(t *testing.T) {
					t.Parallel()
					bundle := setup(t, dialect)
					tk, _, late := heldListing(t, bundle, hold, true)
					freeByHand(t, bundle, tk.ID)

					_, err := bundle.store.CreateOrder(t.Context(), late.ID, tk.ID, 1, base, hold)
					require.NoError(t, err)
				})
			}
		})
	}
}
