package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// TestEventListingsPlanWithStatisticsFromBeforeTheSale: PostgreSQL plans an
// event's listings with the statistics it last gathered, which in an on-sale
// rush are from before the tickets were sold. The sold count must then still
// go through the listing's own tickets, not through every claimed ticket of
// every listing (tickets_order_idx): that plan took a second a rendering of
// 250 listings in a rush (BENCHMARKS.md, 5 Dec).
func TestEventListingsPlanWithStatisticsFromBeforeTheSale(t *testing.T) {
	t.Parallel()
	storetest.PostgresOnly(t, "SQLite's planner keeps no statistics unless asked")
	b := setup(t, store.Postgres)
	ctx := t.Context()
	now := time.Now().UTC()
	seller, buyer := b.user(t, "seller@example.com"), b.user(t, "buyer@example.com")
	var eventID int64
	for i := range 50 {
		nl := store.NewListing{EventID: eventID, Price: 5000 + int64(i), FaceValue: 5000, Currency: "usd", Quantity: store.MaxQuantity}
		if eventID == 0 {
			nl.Event = store.NewEvent{Name: "On sale", TimeZone: "UTC"}
		}
		l, err := b.store.CreateListing(ctx, seller.ID, nl, now)
		require.NoError(t, err)
		eventID = l.Event.ID
	}
	require.NoError(t, b.db.Analyze(ctx))

	listings, err := b.store.EventListings(ctx, eventID, now)
	require.NoError(t, err)
	o, err := b.store.CreateOrder(ctx, buyer.ID, listings[0].ID, 1, now, time.Hour)
	require.NoError(t, err)
	_, err = b.db.Write.ExecContext(ctx, `UPDATE tickets SET claim_order_id = $1, claim_expires_at = NULL`, o.ID)
	require.NoError(t, err)

	plan, err := b.store.ExplainEventListings(ctx, eventID, now)
	require.NoError(t, err)
	require.NotContains(t, plan, "tickets_order_idx", plan)
}
