package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// TestHeldBy: only the buyer's own live hold on the ticket is found; a hold
// of someone else's, one that has ended, a cancelled or paid order, and an
// older order of the buyer's for a ticket they hold again are not.
func TestHeldBy(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			bundle := setup(t, dialect)
			ctx := t.Context()
			seller := bundle.user(t, "seller@example.com")
			ann := bundle.user(t, "ann@example.com")
			bob := bundle.user(t, "bob@example.com")
			tk := bundle.ticket(t, seller.ID, "Jazz Night", 1000)
			other := bundle.ticket(t, seller.ID, "Opera", 2000)
			notFound := func(ticketID, buyerID int64, now time.Time) {
				t.Helper()
				_, err := bundle.store.HeldBy(ctx, ticketID, buyerID, now)
				require.ErrorIs(t, err, store.ErrNotFound)
			}

			notFound(tk.ID, ann.ID, base) // for sale
			first := bundle.order(t, ann.ID, tk.ID, base)
			got, err := bundle.store.HeldBy(ctx, tk.ID, ann.ID, base)
			require.NoError(t, err)
			require.Equal(t, first, got)
			got, err = bundle.store.HeldBy(ctx, tk.ID, ann.ID, first.ExpiresAt.Add(-time.Millisecond))
			require.NoError(t, err)
			require.Equal(t, first.ID, got.ID)

			notFound(tk.ID, bob.ID, base)            // someone else's hold
			notFound(tk.ID, seller.ID, base)         // the seller's ticket, held by ann
			notFound(other.ID, ann.ID, base)         // another ticket
			notFound(tk.ID, ann.ID, first.ExpiresAt) // the hold has ended, even before its job ran

			// Bob holds it once ann's hold has ended: it is his, not hers.
			later := first.ExpiresAt.Add(time.Second)
			bobs := bundle.order(t, bob.ID, tk.ID, later)
			notFound(tk.ID, ann.ID, later)
			got, err = bundle.store.HeldBy(ctx, tk.ID, bob.ID, later)
			require.NoError(t, err)
			require.Equal(t, bobs.ID, got.ID)

			// Cancelled: nobody's.
			require.NoError(t, bundle.store.CancelOrder(ctx, bobs.ID, bob.ID, later))
			notFound(tk.ID, bob.ID, later)

			// Ann holds it again: her new order, not the old one; once
			// paid it is no longer a hold.
			again := bundle.order(t, ann.ID, tk.ID, later)
			got, err = bundle.store.HeldBy(ctx, tk.ID, ann.ID, later)
			require.NoError(t, err)
			require.Equal(t, again.ID, got.ID)
			bundle.pay(t, again, later)
			notFound(tk.ID, ann.ID, later)
		})
	}
}
