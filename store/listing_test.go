package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// TestListingVersion checks that the listing's version changes whenever
// TicketsForSale's answer may, and only then: after a write, when a hold
// ends with nothing written, and when another instance's change is heard of.
func TestListingVersion(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			bundle := setup(t, dialect)
			version := func(now time.Time) store.ListingVersion {
				t.Helper()
				v, err := bundle.store.ListingVersion(t.Context(), now)
				require.NoError(t, err)
				return v
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

			// Another instance's change, heard of after it committed.
			bundle.store.ChangedElsewhere()
			heard := version(late.ExpiresAt.Add(time.Hour))
			require.True(t, atLateEnd.Before(heard), "a change made elsewhere")
			require.Equal(t, heard, version(late.ExpiresAt.Add(time.Hour)))
		})
	}
}

// TestListingVersionAtEventStart: an event's start closes its sales with
// nothing written, so the version changes then, as when a hold ends.
func TestListingVersionAtEventStart(t *testing.T) {
	t.Parallel()
	bundle := setup(t, store.SQLite)
	version := func(now time.Time) store.ListingVersion {
		t.Helper()
		v, err := bundle.store.ListingVersion(t.Context(), now)
		require.NoError(t, err)
		return v
	}
	seller := bundle.user(t, "seller@example.com")
	start := base.Add(time.Hour)
	ev := bundle.event(t, seller.ID, store.NewEvent{Name: "Gala", StartsAt: start, TimeZone: "UTC"}, base)
	bundle.listing(t, seller.ID, under(ev.ID, 2, 1000))

	v := version(base)
	require.Equal(t, v, version(start.Add(-time.Millisecond)), "the event has not started")
	atStart := version(start)
	require.NotEqual(t, v, atStart, "the event started, with nothing written")
	require.True(t, v.Before(atStart))
	require.Equal(t, atStart, version(start.Add(24*time.Hour)), "nothing starts any more")
	require.Equal(t, v, version(base), "at an earlier time the event has not started")
}

// TestNextChange: what is on sale next changes when the first running hold
// ends or the next event starts, whichever comes first.
func TestNextChange(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			bundle := setup(t, dialect)
			next := func(now time.Time) time.Time {
				t.Helper()
				at, err := bundle.store.NextChange(t.Context(), now)
				require.NoError(t, err)
				return at
			}
			seller := bundle.user(t, "seller@example.com")
			buyer := bundle.user(t, "buyer@example.com")
			tba := bundle.ticket(t, seller.ID, "Date to come", 1000)
			require.True(t, next(base).IsZero(), "no hold, no date")

			start := base.Add(hold / 2)
			ev := bundle.event(t, seller.ID, store.NewEvent{Name: "Gala", StartsAt: start, TimeZone: "UTC"}, base)
			bundle.listing(t, seller.ID, under(ev.ID, 2, 1000))
			require.Equal(t, start, next(base))

			o := bundle.order(t, buyer.ID, tba.ID, base)
			require.Equal(t, start, next(base), "the start comes before the hold's end")
			require.Equal(t, o.ExpiresAt, next(start), "an event that has started changes nothing")
			require.True(t, next(o.ExpiresAt).IsZero())

			early := bundle.order(t, buyer.ID, bundle.ticket(t, seller.ID, "Other", 1000).ID, start.Add(-hold-time.Millisecond))
			require.Equal(t, early.ExpiresAt, next(base), "the hold's end comes before the start")
		})
	}
}
