package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// TestContentionPlanProbesTicketsByOrder: each refused attempt at a held
// listing looks for the holds not noted contended yet (noteContention).
// With statistics taken before a sell-out, when no ticket was held,
// PostgreSQL planned that look by scanning every running hold for each
// order, and in bench (g)'s rush it took seconds a refusal and stalled the
// app. It must read each order's tickets by order, once per order.
func TestContentionPlanProbesTicketsByOrder(t *testing.T) {
	storetest.PostgresOnly(t, "a PostgreSQL plan")
	t.Parallel()
	b := setup(t, store.Postgres)
	ctx := t.Context()
	seller := b.user(t, "seller@example.com")
	l := b.listShow(t, seller.ID, "Rush", 20, 5000)
	buyer := b.user(t, "buyer@example.com")
	_, err := b.db.Write.ExecContext(ctx, `INSERT INTO tickets (listing_id) SELECT $1 FROM generate_series(1, 4980)`, l.ID)
	require.NoError(t, err)
	// Holds of the listing that lapsed before the sale, never contended.
	_, err = b.db.Write.ExecContext(ctx, `
		INSERT INTO orders (buyer_id, listing_id, status, amount, currency, expires_at, cancelled_at, created_at, updated_at)
		SELECT $1, $2, 'cancelled', 5000, 'usd', 1, 1, 0, 0 FROM generate_series(1, 1000)`, buyer.ID, l.ID)
	require.NoError(t, err)
	require.NoError(t, b.db.Analyze(ctx))

	for _, stmt := range []string{"SELECT max(id + 0) FROM orders WHERE ", "UPDATE orders SET contended_at = $3 WHERE "} {
		text, err := b.store.Explain(ctx, stmt+store.Uncontended, int64(1), l.ID, base.UnixMilli())
		require.NoError(t, err)
		require.Contains(t, text, "SubPlan", stmt)
		require.Contains(t, text, "tickets_order_idx", stmt)
		require.NotContains(t, text, "tickets_claim_idx", stmt)
		require.NotContains(t, text, "orders_pkey", stmt)
	}
}
