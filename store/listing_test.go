package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// TestListingVersion checks that the listing's version changes whenever
// TicketsForSale's answer may, and only then: after a write, and when a
// hold ends with nothing written.
func TestListingVersion(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			bundle := setup(t, dialect)
			version := func(now time.Time) store.ListingVersion {
				t.Helper()
				v, ok, err := bundle.store.ListingVersion(t.Context(), now)
				require.NoError(t, err)
				require.Equal(t, dialect == store.SQLite, ok, "only SQLite, where this process makes every write, has versions")
				return v
			}
			if dialect != store.SQLite {
				version(base)
				return
			}
			seller := bundle.user(t, "seller@example.com")
			buyer := bundle.user(t, "buyer@example.com")
			v := version(base)
			require.Equal(t, v, version(base.Add(time.Hour)), "no hold runs, nothing was written")

			early := bundle.order(t, buyer.ID, bundle.ticket(t, seller.ID, "Early", 1000).ID, base)
			require.NotEqual(t, v, version(base), "a write")
			late := bundle.order(t, buyer.ID, bundle.ticket(t, seller.ID, "Late", 1000).ID, base.Add(time.Second))
			v = version(base)
			bundle.forSaleIDs(t, base, "", 10, 0)
			require.Equal(t, v, version(base), "a read")
			require.Equal(t, v, version(early.ExpiresAt.Add(-time.Millisecond)), "the first hold still runs")

			atEarlyEnd := version(early.ExpiresAt)
			require.NotEqual(t, v, atEarlyEnd, "the first hold ended, with nothing written")
			require.True(t, v.Before(atEarlyEnd))
			require.Equal(t, atEarlyEnd, version(late.ExpiresAt.Add(-time.Millisecond)))
			// The first hold still runs at an earlier time, though the version
			// was last found after it ended.
			require.Equal(t, v, version(base))

			atLateEnd := version(late.ExpiresAt)
			require.True(t, atEarlyEnd.Before(atLateEnd))
			require.Equal(t, atLateEnd, version(late.ExpiresAt.Add(time.Hour)), "no hold runs any more")
			require.False(t, atLateEnd.Before(atEarlyEnd))
			require.False(t, atLateEnd.Before(atLateEnd))
		})
	}
}
