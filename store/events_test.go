package store_test

import (
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// event creates an event at now.
func (b *testBundle) event(t *testing.T, by int64, e store.NewEvent, now time.Time) store.Event {
	t.Helper()
	ev, err := b.store.CreateEvent(t.Context(), by, e, now)
	require.NoError(t, err)
	return ev
}

// under is quantity tickets at price each, face value price, of an existing
// event.
func under(eventID int64, quantity int, price int64) store.NewListing {
	return store.NewListing{EventID: eventID, Price: price, FaceValue: price, Currency: "usd", Quantity: quantity}
}

// upcomingIDs lists the ids of the events UpcomingEvents returns.
func (b *testBundle) upcomingIDs(t *testing.T, now time.Time, q store.EventQuery, limit, offset int) []int64 {
	t.Helper()
	events, err := b.store.UpcomingEvents(t.Context(), now, q, limit, offset)
	require.NoError(t, err)
	ids := []int64{}
	for _, e := range events {
		ids = append(ids, e.ID)
	}
	return ids
}

// summaryOf is the event's summary in UpcomingEvents at now.
func (b *testBundle) summaryOf(t *testing.T, eventID int64, now time.Time) store.EventSummary {
	t.Helper()
	events, err := b.store.UpcomingEvents(t.Context(), now, store.EventQuery{}, 100, 0)
	require.NoError(t, err)
	for _, e := range events {
		if e.ID == eventID {
			return e
		}
	}
	t.Fatalf("event %d is not upcoming at %s", eventID, now)
	return store.EventSummary{}
}

// TestSalesClose is invariant 7's first half: a listing is on sale only
// before its event starts, exactly, at read time, whether or not the job
// that closes its sales has run (none runs here).
func TestSalesClose(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			bundle := setup(t, dialect)
			ctx := t.Context()
			seller := bundle.user(t, "seller@example.com")
			early := bundle.user(t, "early@example.com")
			last := bundle.user(t, "last@example.com")
			tooLate := bundle.user(t, "too-late@example.com")
			start := base.Add(2 * time.Hour)
			ev := bundle.event(t, seller.ID, store.NewEvent{
				Name: "Opening Night", Venue: "Opera", City: "Oslo", StartsAt: start, TimeZone: "Europe/Oslo",
			}, base)
			l := bundle.listing(t, seller.ID, under(ev.ID, 4, 1000))
			closeJobs := func() []*rivertype.JobRow {
				t.Helper()
				rows, err := bundle.db.RiverDriver().GetExecutor().JobGetByKindMany(ctx,
					&riverdriver.JobGetByKindManyParams{Kind: []string{store.CloseSalesArgs{}.Kind()}})
				require.NoError(t, err)
				return rows
			}
			jobs := closeJobs()
			require.Len(t, jobs, 1, "the job that closes sales is inserted with the event")
			require.True(t, start.Equal(jobs[0].ScheduledAt), "scheduled at %s, starts at %s", jobs[0].ScheduledAt, start)
			require.JSONEq(t, `{"event_id":`+itoa(ev.ID)+`}`, string(jobs[0].EncodedArgs))

			justBefore := start.Add(-time.Millisecond)
			require.Equal(t, store.ForSale, bundle.listingAt(t, l.ID, justBefore).State(justBefore))
			require.Equal(t, store.Ended, bundle.listingAt(t, l.ID, start).State(start))
			require.Equal(t, []int64{l.ID}, bundle.forSaleIDs(t, justBefore, "", 10, 0))
			require.Equal(t, []int64{}, bundle.forSaleIDs(t, start, "", 10, 0))
			require.Equal(t, []int64{ev.ID}, bundle.upcomingIDs(t, justBefore, store.EventQuery{}, 10, 0))
			require.Equal(t, []int64{}, bundle.upcomingIDs(t, start, store.EventQuery{}, 10, 0))

			// A hold whose end passes unpaid before the start.
			lapsed := bundle.order(t, early.ID, l.ID, start.Add(-2*hold))
			// The last hold, a millisecond before the start.
			held := bundle.order(t, last.ID, l.ID, justBefore)
			for _, now := range []time.Time{start, start.Add(time.Hour)} {
				_, err := bundle.store.CreateOrder(ctx, tooLate.ID, l.ID, 1, now, hold)
				require.ErrorIs(t, err, store.ErrEventStarted)
			}
			require.Equal(t, 2, bundle.orderRows(t))

			// The hold taken before the start is paid after it, in time.
			paidAt := start.Add(hold / 2)
			bundle.pay(t, held, paidAt)
			require.Equal(t, store.Paid, bundle.getOrder(t, held.ID, last.ID).Status)
			require.Equal(t, 1, bundle.listingAt(t, l.ID, paidAt).Sold)

			// A payment after its hold ended is refunded: sales have closed.
			bundle.pay(t, lapsed, start.Add(time.Second))
			payments, err := bundle.store.PaymentsForOrder(ctx, lapsed.ID)
			require.NoError(t, err)
			require.Equal(t, store.RefundSalesClosed, payments[0].RefundReason)
			require.Equal(t, store.Refunded, bundle.getOrder(t, lapsed.ID, early.ID).State(start.Add(time.Second)))

			// Nothing new for a started event, and no edit of its listings.
			_, err = bundle.store.CreateListing(ctx, seller.ID, under(ev.ID, 1, 1000), start)
			require.ErrorIs(t, err, store.ErrEventStarted)
			n := store.Single("Already on", 1000, "usd")
			n.Event.StartsAt = start
			_, err = bundle.store.CreateListing(ctx, seller.ID, n, start)
			require.ErrorIs(t, err, store.ErrEventStarted)
			_, err = bundle.store.CreateEvent(ctx, seller.ID, n.Event, start)
			require.ErrorIs(t, err, store.ErrEventStarted)
			_, err = bundle.store.UpdateListing(ctx, l.ID, seller.ID, editOf(l, "Late", 900), start)
			require.ErrorIs(t, err, store.ErrEventStarted)
			require.Equal(t, 1, bundle.count(t, `SELECT count(*) FROM events`))
			require.Equal(t, 1, bundle.count(t, `SELECT count(*) FROM listings`))

			// An event to be announced never starts.
			tba := bundle.ticket(t, seller.ID, "Date to come", 1000)
			far := base.AddDate(10, 0, 0)
			require.Equal(t, store.ForSale, bundle.listingAt(t, tba.ID, far).State(far))
			require.Len(t, closeJobs(), 1, "no job for an event to be announced")
		})
	}
}

func TestUpcomingEvents(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			bundle := setup(t, dialect)
			ctx := t.Context()
			seller := bundle.user(t, "seller@example.com")
			day := 24 * time.Hour
			event := func(name, venue, city string, startsAt time.Time) store.Event {
				t.Helper()
				return bundle.event(t, seller.ID, store.NewEvent{
					Name: name, Venue: venue, City: city, StartsAt: startsAt, TimeZone: "Europe/Oslo"}, base)
			}
			later := event("Rock Show", "Spektrum", "Oslo", base.Add(3*day))
			tba := event("Mystery Gig", "", "Bergen", time.Time{})
			soon := event("Jazz Night", "Blue Note", "New York", base.Add(day))
			started := event("Matinee", "Opera", "Oslo", base.Add(time.Hour))
			hidden := event("Hidden Rock", "Spektrum", "Oslo", base.Add(2*day))
			duplicate := event("Rock Show (dup)", "Spektrum", "Oslo", base.Add(3*day))
			_, err := bundle.db.Write.ExecContext(ctx, `UPDATE events SET hidden_at = $1 WHERE id = $2`, base.UnixMilli(), hidden.ID)
			require.NoError(t, err)
			_, err = bundle.db.Write.ExecContext(ctx, `UPDATE events SET merged_into = $1 WHERE id = $2`, later.ID, duplicate.ID)
			require.NoError(t, err)

			now := base.Add(2 * time.Hour)
			all := store.EventQuery{}
			require.Equal(t, []int64{soon.ID, later.ID, tba.ID}, bundle.upcomingIDs(t, now, all, 10, 0),
				"soonest first, to be announced last; started, hidden and merged ones left out")
			require.Equal(t, []int64{started.ID, soon.ID, later.ID, tba.ID}, bundle.upcomingIDs(t, base, all, 10, 0))
			require.Equal(t, []int64{later.ID, tba.ID}, bundle.upcomingIDs(t, soon.StartsAt, all, 10, 0), "gone at its start")

			t.Run("Search", func(t *testing.T) {
				for search, want := range map[string][]int64{
					"rock":         {later.ID},
					"SPEKTRUM":     {later.ID},
					"oslo":         {later.ID},
					"jazz  york":   {soon.ID},
					"blue note":    {soon.ID},
					"bergen":       {tba.ID},
					"e":            {}, // words match by their start, not inside
					"n":            {soon.ID},
					"sp":           {later.ID},
					"jazz oslo":    {},
					"not an event": {},
				} {
					require.Equal(t, want, bundle.upcomingIDs(t, now, store.EventQuery{Search: search}, 10, 0), "search %q", search)
				}
				require.Equal(t, bundle.upcomingIDs(t, now, all, 10, 0), bundle.upcomingIDs(t, now, store.EventQuery{Search: "% \\"}, 10, 0),
					"no words: no filter")
			})

			t.Run("Range", func(t *testing.T) {
				for _, tc := range []struct {
					from, to time.Time
					want     []int64
				}{
					{base.Add(day), base.Add(3 * day), []int64{soon.ID}},
					{base.Add(day), time.Time{}, []int64{soon.ID, later.ID}},
					{base.Add(day + time.Millisecond), time.Time{}, []int64{later.ID}},
					{time.Time{}, base.Add(3*day + time.Millisecond), []int64{soon.ID, later.ID}},
					{base.Add(4 * day), time.Time{}, []int64{}},
				} {
					q := store.EventQuery{From: tc.from, To: tc.to}
					require.Equal(t, tc.want, bundle.upcomingIDs(t, now, q, 10, 0), "from %s to %s", tc.from, tc.to)
				}
				q := store.EventQuery{Search: "oslo", From: base.Add(day)}
				require.Equal(t, []int64{later.ID}, bundle.upcomingIDs(t, now, q, 10, 0))
			})

			t.Run("Pages", func(t *testing.T) {
				require.Equal(t, []int64{soon.ID, later.ID}, bundle.upcomingIDs(t, now, all, 2, 0))
				require.Equal(t, []int64{tba.ID}, bundle.upcomingIDs(t, now, all, 2, 2))
				require.Equal(t, []int64{later.ID, tba.ID}, bundle.upcomingIDs(t, now, all, 5, 1))
				require.Equal(t, []int64{}, bundle.upcomingIDs(t, now, all, 2, 3))
			})

			t.Run("WhatIsForSale", func(t *testing.T) {
				got := bundle.summaryOf(t, soon.ID, now)
				want, err := bundle.store.Event(ctx, soon.ID)
				require.NoError(t, err)
				require.Equal(t, store.EventSummary{Event: want}, got, "nothing on sale")
			})
		})
	}
}

// TestEventSummary: how many tickets of an event are on sale, and from what
// price, counted at read time as holds begin and end.
func TestEventSummary(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			bundle := setup(t, dialect)
			ctx := t.Context()
			seller := bundle.user(t, "seller@example.com")
			suspended := bundle.user(t, "suspended@example.com")
			buyer := bundle.user(t, "buyer@example.com")
			ev := bundle.event(t, seller.ID, store.NewEvent{
				Name: "Rock Show", StartsAt: base.Add(24 * time.Hour), TimeZone: "Europe/Oslo"}, base)
			dear := bundle.listing(t, seller.ID, under(ev.ID, 3, 1500))
			cheap := bundle.listing(t, seller.ID, under(ev.ID, 2, 1200))
			alsoDear := bundle.listing(t, seller.ID, under(ev.ID, 1, 1500))
			withdrawn := bundle.listing(t, seller.ID, under(ev.ID, 4, 500))
			_, err := bundle.store.WithdrawListing(ctx, withdrawn.ID, seller.ID, base)
			require.NoError(t, err)
			bundle.listing(t, suspended.ID, under(ev.ID, 4, 400))
			_, err = bundle.db.Write.ExecContext(ctx, `UPDATE users SET suspended_at = $1 WHERE id = $2`, base.UnixMilli(), suspended.ID)
			require.NoError(t, err)

			summary := func(now time.Time) [3]int64 {
				t.Helper()
				s := bundle.summaryOf(t, ev.ID, now)
				require.Equal(t, "usd", s.Currency)
				return [3]int64{int64(s.ForSale), s.LowestPrice, s.CheapestListing}
			}
			require.Equal(t, [3]int64{6, 1200, cheap.ID}, summary(base))

			o := bundle.orderOf(t, buyer.ID, cheap.ID, 2, base)
			require.Equal(t, [3]int64{4, 1500, dear.ID}, summary(base), "the cheap ones are held")
			require.Equal(t, [3]int64{4, 1500, dear.ID}, summary(o.ExpiresAt.Add(-time.Millisecond)))
			require.Equal(t, [3]int64{6, 1200, cheap.ID}, summary(o.ExpiresAt), "the hold has ended, unrecorded")

			sold := bundle.orderOf(t, buyer.ID, dear.ID, 3, base)
			bundle.pay(t, sold, base)
			require.Equal(t, [3]int64{1, 1500, alsoDear.ID}, summary(base))
			require.Equal(t, [3]int64{3, 1200, cheap.ID}, summary(o.ExpiresAt))
		})
	}
}
