package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

func TestSellerListings(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			bundle := setup(t, dialect)
			seller, buyer, other := bundle.user(t, "seller@example.com"), bundle.user(t, "buyer@example.com"), bundle.user(t, "other@example.com")
			now := base.Add(10 * time.Minute)

			forSale := bundle.ticket(t, seller.ID, "For sale", 1000)
			held := bundle.ticket(t, seller.ID, "Held", 2000)
			lapsed := bundle.ticket(t, seller.ID, "Hold ran out", 3000)
			sold := bundle.ticket(t, seller.ID, "Sold", 4000)
			cancelled := bundle.ticket(t, seller.ID, "Cancelled", 5000)
			bundle.ticket(t, other.ID, "Someone else's", 6000)

			holdingOrder := bundle.order(t, buyer.ID, held.ID, now.Add(-10*time.Second))
			bundle.order(t, buyer.ID, lapsed.ID, now.Add(-2*hold)) // its job has not run
			paid := bundle.order(t, buyer.ID, sold.ID, now.Add(-5*time.Minute))
			bundle.pay(t, paid, now.Add(-5*time.Minute+20*time.Second))
			c := bundle.order(t, buyer.ID, cancelled.ID, now.Add(-time.Minute/2))
			require.NoError(t, bundle.store.CancelOrder(t.Context(), c.ID, buyer.ID, now.Add(-time.Minute/4)))

			list, err := bundle.store.SellerListings(t.Context(), seller.ID, now)
			require.NoError(t, err)
			byID := map[int64]store.SellerListing{}
			var ids []int64
			for _, st := range list {
				byID[st.ID] = st
				ids = append(ids, st.ID)
			}
			require.Equal(t, []int64{cancelled.ID, sold.ID, lapsed.ID, held.ID, forSale.ID}, ids, "the seller's own, newest first")

			require.Equal(t, store.ForSale, byID[forSale.ID].State(now))
			require.Equal(t, "For sale", byID[forSale.ID].Title())
			require.Equal(t, int64(1000), byID[forSale.ID].Price)

			require.Equal(t, store.Held, byID[held.ID].State(now))
			require.Equal(t, holdingOrder.ExpiresAt, byID[held.ID].NextRelease)
			require.Equal(t, 1, byID[held.ID].Held())

			require.Equal(t, store.ForSale, byID[lapsed.ID].State(now), "a hold that ran out is over before its job runs")
			require.Equal(t, store.ForSale, byID[cancelled.ID].State(now))

			s := byID[sold.ID]
			require.Equal(t, store.Sold, s.State(now))
			require.Equal(t, now.Add(-5*time.Minute+20*time.Second), s.LastSoldAt)
			require.Equal(t, int64(4000), s.SoldAmount)
			require.Equal(t, "usd", s.Currency)
			for _, id := range []int64{forSale.ID, held.ID, lapsed.ID, cancelled.ID} {
				require.True(t, byID[id].LastSoldAt.IsZero(), "ticket %d", id)
				require.Zero(t, byID[id].SoldAmount, "ticket %d", id)
			}

			none, err := bundle.store.SellerListings(t.Context(), buyer.ID, now)
			require.NoError(t, err)
			require.Empty(t, none)
		})
	}
}
