package store_test

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// moderationBundle is a store with an operator, a seller and a buyer.
type moderationBundle struct {
	*testBundle
	operator, seller, buyer store.User
}

func setupModeration(t *testing.T, dialect store.Dialect) *moderationBundle {
	t.Helper()
	b := setup(t, dialect)
	m := &moderationBundle{testBundle: b, seller: b.user(t, "seller@example.com"), buyer: b.user(t, "buyer@example.com")}
	b.user(t, "ops@example.com")
	var err error
	m.operator, err = b.store.ConfirmAdmin(t.Context(), "ops@example.com", base)
	require.NoError(t, err)
	return m
}

// event creates an event starting at starts (zero: to be announced).
func (b *moderationBundle) event(t *testing.T, name string, starts time.Time) store.Event {
	t.Helper()
	e, err := b.store.CreateEvent(t.Context(), b.seller.ID, store.NewEvent{Name: name, StartsAt: starts, TimeZone: "Europe/Paris"}, base)
	require.NoError(t, err)
	return e
}

// listing lists quantity tickets of an event at price, by the seller.
func (b *moderationBundle) listing(t *testing.T, eventID int64, quantity int, price int64) store.Listing {
	t.Helper()
	l, err := b.store.CreateListing(t.Context(), b.seller.ID, store.NewListing{EventID: eventID, Price: price,
		FaceValue: price, Currency: "usd", Quantity: quantity}, base)
	require.NoError(t, err)
	return l
}

// lastAction is the newest entry of the moderation log.
func (b *moderationBundle) lastAction(t *testing.T) store.ModerationEntry {
	t.Helper()
	log, err := b.store.ModerationLog(t.Context(), 1)
	require.NoError(t, err)
	require.Len(t, log, 1)
	return log[0]
}

// actions counts the rows of the moderation log.
func (b *moderationBundle) actions(t *testing.T) int {
	t.Helper()
	return b.count(t, `SELECT count(*) FROM moderation_actions`)
}

// closeSalesJobs lists when the close_sales jobs of an event are due, oldest
// job first, read through River's own driver.
func (b *moderationBundle) closeSalesJobs(t *testing.T, eventID int64) []time.Time {
	t.Helper()
	jobs, err := b.db.RiverDriver().GetExecutor().JobGetByKindMany(t.Context(),
		&riverdriver.JobGetByKindManyParams{Kind: []string{store.CloseSalesArgs{}.Kind()}})
	require.NoError(t, err)
	due := []time.Time{}
	for _, job := range jobs {
		var args store.CloseSalesArgs
		require.NoError(t, json.Unmarshal(job.EncodedArgs, &args))
		if args.EventID == eventID {
			due = append(due, job.ScheduledAt.UTC().Truncate(time.Millisecond))
		}
	}
	return due
}

func TestUpdateEvent(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			b := setupModeration(t, dialect)
			ctx := t.Context()
			starts := base.Add(30 * 24 * time.Hour)
			e := b.event(t, "Jazz Nite", starts)
			now := base.Add(time.Hour)

			later := starts.Add(24 * time.Hour)
			edit := store.NewEvent{Name: "Jazz Night", Venue: "Le Duc", City: "Paris", StartsAt: later, TimeZone: "Europe/Paris"}
			got, err := b.store.UpdateEvent(ctx, b.operator.ID, e.ID, edit, now)
			require.NoError(t, err)
			require.Equal(t, "Jazz Night", got.Name)
			require.Equal(t, "Le Duc", got.Venue)
			require.Equal(t, "Paris", got.City)
			require.Equal(t, later, got.StartsAt)
			require.Equal(t, now, got.UpdatedAt)
			require.Equal(t, []time.Time{starts, later}, b.closeSalesJobs(t, e.ID), "a job for the new start")

			entry := b.lastAction(t)
			require.Equal(t, b.operator.ID, entry.ActorID)
			require.Equal(t, "ops@example.com", entry.ActorEmail)
			require.Equal(t, store.ActionEdit, entry.Action)
			require.Equal(t, store.SubjectEvent, entry.Subject)
			require.Equal(t, e.ID, entry.SubjectID)
			require.Equal(t, "Jazz Night", entry.SubjectName)
			require.Equal(t, now, entry.CreatedAt)
			require.Equal(t, "name “Jazz Nite” → “Jazz Night”; venue “” → “Le Duc”; city “” → “Paris”; "+
				"start “2030-01-31 13:00 Europe/Paris” → “2030-02-01 13:00 Europe/Paris”", entry.Detail)

			t.Run("NothingChanged", func(t *testing.T) {
				before := b.actions(t)
				_, err := b.store.UpdateEvent(ctx, b.operator.ID, e.ID, edit, now.Add(time.Minute))
				require.NoError(t, err)
				require.Equal(t, before, b.actions(t), "nothing to record")
				require.Len(t, b.closeSalesJobs(t, e.ID), 2)
			})

			t.Run("ZoneOnly", func(t *testing.T) {
				tba := b.event(t, "Festival", time.Time{})
				_, err := b.store.UpdateEvent(ctx, b.operator.ID, tba.ID,
					store.NewEvent{Name: "Festival", TimeZone: "America/New_York"}, now)
				require.NoError(t, err)
				got, err := b.store.Event(ctx, tba.ID)
				require.NoError(t, err)
				require.Equal(t, "America/New_York", got.TimeZone)
				require.Equal(t, "start “to be announced, Europe/Paris” → “to be announced, America/New_York”", b.lastAction(t).Detail)
				require.Empty(t, b.closeSalesJobs(t, tba.ID), "no date, no job")
			})

			t.Run("StartInThePastClosesSales", func(t *testing.T) {
				ev := b.event(t, "Gig", starts)
				l := b.listing(t, ev.ID, 2, 1000)
				_, err := b.store.UpdateEvent(ctx, b.operator.ID, ev.ID,
					store.NewEvent{Name: "Gig", StartsAt: now.Add(-time.Minute), TimeZone: "Europe/Paris"}, now)
				require.NoError(t, err)
				listing, err := b.store.Listing(ctx, l.ID, now)
				require.NoError(t, err)
				require.Equal(t, store.Ended, listing.State(now))
				require.Equal(t, []time.Time{starts, now.Add(-time.Minute)}, b.closeSalesJobs(t, ev.ID), "due at once")
			})

			t.Run("Refused", func(t *testing.T) {
				_, err := b.store.UpdateEvent(ctx, b.operator.ID, 9999, edit, now)
				require.ErrorIs(t, err, store.ErrNotFound)

				dup := b.event(t, "Jazz night!", starts)
				_, err = b.store.MergeEvents(ctx, b.operator.ID, dup.ID, e.ID, now)
				require.NoError(t, err)
				before := b.actions(t)
				_, err = b.store.UpdateEvent(ctx, b.operator.ID, dup.ID, edit, now)
				require.ErrorIs(t, err, store.ErrMerged)
				require.Equal(t, before, b.actions(t))
				got, err := b.store.Event(ctx, dup.ID)
				require.NoError(t, err)
				require.Equal(t, "Jazz night!", got.Name)
			})
		})
	}
}

func TestHideEvent(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			b := setupModeration(t, dialect)
			ctx := t.Context()
			e := b.event(t, "Opera", base.Add(48*time.Hour))
			other := b.event(t, "Ballet", base.Add(72*time.Hour))
			l := b.listing(t, e.ID, 2, 3000)
			b.listing(t, other.ID, 1, 2000)
			now := base.Add(time.Minute)

			// A hold taken before the event is hidden.
			held := b.order(t, b.buyer.ID, l.ID, now)

			require.NoError(t, b.store.HideEvent(ctx, b.operator.ID, e.ID, now))
			got, err := b.store.Event(ctx, e.ID)
			require.NoError(t, err)
			require.Equal(t, now, got.HiddenAt)
			entry := b.lastAction(t)
			require.Equal(t, store.ActionHide, entry.Action)
			require.Equal(t, e.ID, entry.SubjectID)
			require.Equal(t, b.operator.ID, entry.ActorID)

			upcoming, err := b.store.UpcomingEvents(ctx, now, store.EventQuery{}, 10, 0)
			require.NoError(t, err)
			require.Len(t, upcoming, 1)
			require.Equal(t, other.ID, upcoming[0].ID)
			upcoming, err = b.store.UpcomingEvents(ctx, now, store.EventQuery{Search: "opera"}, 10, 0)
			require.NoError(t, err)
			require.Empty(t, upcoming)
			listing, err := b.store.Listing(ctx, l.ID, now)
			require.NoError(t, err)
			require.Equal(t, store.OffSale, listing.State(now))
			_, err = b.store.CreateOrder(ctx, b.user(t, "late@example.com").ID, l.ID, 1, now, hold)
			require.ErrorIs(t, err, store.ErrNotFound, "a hidden event's listings cannot be bought")
			require.Equal(t, store.Pending, b.getOrder(t, held.ID, b.buyer.ID).State(now), "a running hold may still be paid")

			t.Run("HideAgainChangesNothing", func(t *testing.T) {
				before := b.actions(t)
				require.NoError(t, b.store.HideEvent(ctx, b.operator.ID, e.ID, now.Add(time.Minute)))
				require.Equal(t, before, b.actions(t))
				got, err := b.store.Event(ctx, e.ID)
				require.NoError(t, err)
				require.Equal(t, now, got.HiddenAt)
			})

			later := now.Add(time.Hour)
			require.NoError(t, b.store.ShowEvent(ctx, b.operator.ID, e.ID, later))
			got, err = b.store.Event(ctx, e.ID)
			require.NoError(t, err)
			require.True(t, got.HiddenAt.IsZero())
			require.Equal(t, store.ActionShow, b.lastAction(t).Action)
			require.Equal(t, later, b.lastAction(t).CreatedAt)
			listing, err = b.store.Listing(ctx, l.ID, later)
			require.NoError(t, err)
			require.Equal(t, store.ForSale, listing.State(later))

			before := b.actions(t)
			require.NoError(t, b.store.ShowEvent(ctx, b.operator.ID, e.ID, later), "showing a shown event")
			require.Equal(t, before, b.actions(t))
			require.ErrorIs(t, b.store.HideEvent(ctx, b.operator.ID, 9999, later), store.ErrNotFound)
		})
	}
}

func TestMergeEvents(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			starts := base.Add(7 * 24 * time.Hour)
			now := base.Add(time.Minute)

			t.Run("MovesListings", func(t *testing.T) {
				t.Parallel()
				b := setupModeration(t, dialect)
				ctx := t.Context()
				into := b.event(t, "Radiohead", starts)
				dup := b.event(t, "radiohead live", starts)
				kept := b.listing(t, into.ID, 1, 5000)
				moved := b.listing(t, dup.ID, 2, 4000)
				held := b.order(t, b.buyer.ID, moved.ID, now)

				target, err := b.store.MergeTarget(ctx, dup.ID, into.ID, now)
				require.NoError(t, err)
				require.Equal(t, into, target)
				n, err := b.store.MergeEvents(ctx, b.operator.ID, dup.ID, into.ID, now)
				require.NoError(t, err)
				require.Equal(t, 1, n)

				got, err := b.store.Event(ctx, dup.ID)
				require.NoError(t, err)
				require.Equal(t, into.ID, got.MergedInto)
				require.False(t, got.Listed())
				listings, err := b.store.EventListings(ctx, into.ID, now)
				require.NoError(t, err)
				require.Len(t, listings, 2)
				require.Equal(t, []int64{moved.ID, kept.ID}, []int64{listings[0].ID, listings[1].ID}, "cheapest first")
				require.Equal(t, 1, listings[0].Free, "one of its two tickets is held")
				order := b.getOrder(t, held.ID, b.buyer.ID)
				require.Equal(t, "Radiohead", order.EventName, "the hold follows its listing")
				require.Equal(t, store.Pending, order.State(now))
				listings, err = b.store.EventListings(ctx, dup.ID, now)
				require.NoError(t, err)
				require.Empty(t, listings)

				entry := b.lastAction(t)
				require.Equal(t, store.ActionMerge, entry.Action)
				require.Equal(t, dup.ID, entry.SubjectID)
				require.Equal(t, "radiohead live", entry.SubjectName)
				require.Equal(t, "into event #"+strconv.FormatInt(into.ID, 10)+" “Radiohead”; 1 listings moved", entry.Detail)
				require.Equal(t, now, entry.CreatedAt)
			})

			t.Run("NoChains", func(t *testing.T) {
				t.Parallel()
				b := setupModeration(t, dialect)
				ctx := t.Context()
				a := b.event(t, "A", starts)
				mid := b.event(t, "B", starts)
				c := b.event(t, "C", starts)
				l := b.listing(t, a.ID, 1, 1000)
				_, err := b.store.MergeEvents(ctx, b.operator.ID, a.ID, mid.ID, now)
				require.NoError(t, err)

				// A merged event is merged already, and not a target.
				_, err = b.store.MergeEvents(ctx, b.operator.ID, a.ID, c.ID, now)
				require.ErrorIs(t, err, store.ErrMerged)
				_, err = b.store.MergeTarget(ctx, a.ID, c.ID, now)
				require.ErrorIs(t, err, store.ErrMerged)
				_, err = b.store.MergeEvents(ctx, b.operator.ID, c.ID, a.ID, now)
				require.ErrorIs(t, err, store.ErrTargetMerged)

				// Merging the target on: what was merged into it follows.
				_, err = b.store.MergeEvents(ctx, b.operator.ID, mid.ID, c.ID, now)
				require.NoError(t, err)
				for _, id := range []int64{a.ID, mid.ID} {
					got, err := b.store.Event(ctx, id)
					require.NoError(t, err)
					require.Equal(t, c.ID, got.MergedInto, "event %d points to a listed event", id)
				}
				listing, err := b.store.Listing(ctx, l.ID, now)
				require.NoError(t, err)
				require.Equal(t, c.ID, listing.Event.ID)
				require.Equal(t, store.ForSale, listing.State(now))
			})

			t.Run("Refused", func(t *testing.T) {
				t.Parallel()
				b := setupModeration(t, dialect)
				ctx := t.Context()
				dup := b.event(t, "Dup", starts)
				l := b.listing(t, dup.ID, 1, 1000)
				hidden := b.event(t, "Hidden", starts)
				require.NoError(t, b.store.HideEvent(ctx, b.operator.ID, hidden.ID, now))
				started := b.event(t, "Yesterday", base.Add(time.Second))
				before := b.actions(t)

				for name, tt := range map[string]struct {
					into int64
					want error
				}{
					"Itself":  {dup.ID, store.ErrMergeIntoItself},
					"Hidden":  {hidden.ID, store.ErrTargetHidden},
					"Started": {started.ID, store.ErrEventStarted},
					"Missing": {9999, store.ErrNotFound},
				} {
					_, err := b.store.MergeTarget(ctx, dup.ID, tt.into, now)
					require.ErrorIs(t, err, tt.want, name)
					_, err = b.store.MergeEvents(ctx, b.operator.ID, dup.ID, tt.into, now)
					require.ErrorIs(t, err, tt.want, name)
				}
				_, err := b.store.MergeEvents(ctx, b.operator.ID, 9999, dup.ID, now)
				require.ErrorIs(t, err, store.ErrNotFound)

				require.Equal(t, before, b.actions(t), "nothing recorded")
				got, err := b.store.Event(ctx, dup.ID)
				require.NoError(t, err)
				require.Zero(t, got.MergedInto)
				listing, err := b.store.Listing(ctx, l.ID, now)
				require.NoError(t, err)
				require.Equal(t, dup.ID, listing.Event.ID)

				// A hidden duplicate may be merged.
				_, err = b.store.MergeEvents(ctx, b.operator.ID, hidden.ID, dup.ID, now)
				require.NoError(t, err)
			})
		})
	}
}

func TestSuspendUser(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			now := base.Add(time.Minute)

			t.Run("MidHold", func(t *testing.T) {
				t.Parallel()
				b := setupModeration(t, dialect)
				ctx := t.Context()
				other := b.user(t, "other@example.com")
				e := b.event(t, "Concert", base.Add(48*time.Hour))
				big := b.listing(t, e.ID, 3, 2000)
				paying := b.listing(t, e.ID, 1, 2500)
				theirs, err := b.store.CreateListing(ctx, b.buyer.ID, store.NewListing{EventID: e.ID, Price: 1000,
					FaceValue: 1000, Currency: "usd", Quantity: 1}, base)
				require.NoError(t, err)

				// The buyer holds two tickets of one listing and is paying
				// for another; someone else holds a ticket too.
				o1, err := b.store.CreateOrder(ctx, b.buyer.ID, big.ID, 2, now, hold)
				require.NoError(t, err)
				o2 := b.order(t, b.buyer.ID, paying.ID, now)
				b.checkoutSession(t, o2.ID)
				o3 := b.order(t, other.ID, big.ID, now)
				sold := b.order(t, b.buyer.ID, b.ticket(t, b.seller.ID, "Other show", 500).ID, now)
				b.pay(t, sold, now)
				jobs := b.expireJobs(t)
				epoch := b.buyer.SessionEpoch

				released, err := b.store.SuspendUser(ctx, b.operator.ID, b.buyer.ID, "Chargebacks", now.Add(time.Second))
				require.NoError(t, err)
				require.Equal(t, 2, released)

				u, err := b.store.UserByID(ctx, b.buyer.ID)
				require.NoError(t, err)
				require.Equal(t, now.Add(time.Second), u.SuspendedAt)
				require.Equal(t, epoch+1, u.SessionEpoch, "every session ends")
				require.ErrorIs(t, u.CanSignIn(), store.ErrSuspended)

				at := now.Add(2 * time.Second)
				for _, o := range []store.Order{o1, o2} {
					require.Equal(t, store.Cancelled, b.getOrder(t, o.ID, b.buyer.ID).State(at))
				}
				require.Equal(t, store.Paid, b.getOrder(t, sold.ID, b.buyer.ID).State(at), "a sale stands")
				require.Equal(t, store.Pending, b.getOrder(t, o3.ID, other.ID).State(at), "others' holds stand")
				l, err := b.store.Listing(ctx, big.ID, at)
				require.NoError(t, err)
				require.Equal(t, 2, l.Free, "the buyer's two tickets are free again")
				l, err = b.store.Listing(ctx, paying.ID, at)
				require.NoError(t, err)
				require.Equal(t, store.ForSale, l.State(at))
				require.Equal(t, jobs+1, b.expireJobs(t), "the checkout session is expired by a job")

				// Their own listing is off sale.
				l, err = b.store.Listing(ctx, theirs.ID, at)
				require.NoError(t, err)
				require.True(t, l.SellerSuspended)
				require.Equal(t, store.OffSale, l.State(at))
				_, err = b.store.CreateOrder(ctx, other.ID, theirs.ID, 1, at, hold)
				require.ErrorIs(t, err, store.ErrOffSale)
				require.NotContains(t, b.forSaleIDs(t, at, "", 10, 0), theirs.ID)

				// The payment of the checkout they had started arrives after
				// the suspension: it buys nothing and is refunded.
				b.pay(t, o2, at)
				paid, err := b.store.PaymentsForOrder(ctx, o2.ID)
				require.NoError(t, err)
				require.Len(t, paid, 1)
				require.Equal(t, store.RefundPending, paid[0].Status)
				require.Equal(t, store.RefundBuyerSuspended, paid[0].RefundReason)
				require.Equal(t, store.Cancelled, b.getOrder(t, o2.ID, b.buyer.ID).Status)
				l, err = b.store.Listing(ctx, paying.ID, at)
				require.NoError(t, err)
				require.Equal(t, store.ForSale, l.State(at))

				entry := b.lastAction(t)
				require.Equal(t, store.ActionSuspend, entry.Action)
				require.Equal(t, store.SubjectUser, entry.Subject)
				require.Equal(t, b.buyer.ID, entry.SubjectID)
				require.Equal(t, "buyer@example.com", entry.SubjectName)
				require.Equal(t, "Chargebacks (2 holds released)", entry.Detail)
				require.Equal(t, now.Add(time.Second), entry.CreatedAt)

				// Suspending again changes nothing.
				before := b.actions(t)
				released, err = b.store.SuspendUser(ctx, b.operator.ID, b.buyer.ID, "Again", at)
				require.NoError(t, err)
				require.Zero(t, released)
				require.Equal(t, before, b.actions(t))
				u, err = b.store.UserByID(ctx, b.buyer.ID)
				require.NoError(t, err)
				require.Equal(t, epoch+1, u.SessionEpoch)

				// Reinstated: signs in again, listing back on sale.
				require.NoError(t, b.store.ReinstateUser(ctx, b.operator.ID, b.buyer.ID, at))
				u, err = b.store.UserByID(ctx, b.buyer.ID)
				require.NoError(t, err)
				require.NoError(t, u.CanSignIn())
				require.True(t, u.SuspendedAt.IsZero())
				l, err = b.store.Listing(ctx, theirs.ID, at)
				require.NoError(t, err)
				require.Equal(t, store.ForSale, l.State(at))
				require.Equal(t, store.ActionReinstate, b.lastAction(t).Action)
				before = b.actions(t)
				require.NoError(t, b.store.ReinstateUser(ctx, b.operator.ID, b.buyer.ID, at), "reinstating again")
				require.Equal(t, before, b.actions(t))
			})

			t.Run("Refused", func(t *testing.T) {
				t.Parallel()
				b := setupModeration(t, dialect)
				ctx := t.Context()
				b.user(t, "ops2@example.com")
				other, err := b.store.ConfirmAdmin(ctx, "ops2@example.com", base)
				require.NoError(t, err)

				_, err = b.store.SuspendUser(ctx, b.operator.ID, b.operator.ID, "oops", now)
				require.ErrorIs(t, err, store.ErrSuspendSelf)
				_, err = b.store.SuspendUser(ctx, b.operator.ID, other.ID, "coup", now)
				require.ErrorIs(t, err, store.ErrOperator)
				_, err = b.store.SuspendUser(ctx, b.operator.ID, 9999, "nobody", now)
				require.ErrorIs(t, err, store.ErrNotFound)
				require.ErrorIs(t, b.store.ReinstateUser(ctx, b.operator.ID, 9999, now), store.ErrNotFound)
				require.Zero(t, b.actions(t))
				for _, id := range []int64{b.operator.ID, other.ID} {
					u, err := b.store.UserByID(ctx, id)
					require.NoError(t, err)
					require.NoError(t, u.CanSignIn())
				}
			})
		})
	}
}

func TestModerationLog(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			b := setupModeration(t, dialect)
			ctx := t.Context()
			e := b.event(t, "Circus", time.Time{})
			now := base.Add(time.Minute)
			require.NoError(t, b.store.HideEvent(ctx, b.operator.ID, e.ID, now))
			_, err := b.store.SuspendUser(ctx, b.operator.ID, b.seller.ID, "Fake tickets", now.Add(time.Second))
			require.NoError(t, err)
			require.NoError(t, b.store.ShowEvent(ctx, b.operator.ID, e.ID, now.Add(2*time.Second)))

			log, err := b.store.ModerationLog(ctx, 10)
			require.NoError(t, err)
			require.Len(t, log, 3)
			var summary []string
			for _, m := range log {
				require.Equal(t, "ops@example.com", m.ActorEmail)
				summary = append(summary, string(m.Action)+" "+string(m.Subject)+" "+m.SubjectName+" "+m.Detail)
			}
			require.Equal(t, []string{
				"show event Circus ",
				"suspend user seller@example.com Fake tickets",
				"hide event Circus ",
			}, summary, "newest first")
			require.Equal(t, now.Add(2*time.Second), log[0].CreatedAt)

			log, err = b.store.ModerationLog(ctx, 1)
			require.NoError(t, err)
			require.Len(t, log, 1)
		})
	}
}

func TestModerationLists(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			b := setupModeration(t, dialect)
			ctx := t.Context()
			now := base.Add(time.Minute)
			jazz := b.event(t, "Jazz 100%", base.Add(time.Hour))
			b.listing(t, jazz.ID, 1, 1000)
			b.listing(t, jazz.ID, 2, 1000)
			dup := b.event(t, "jazz", base.Add(time.Hour))
			hidden := b.event(t, "Rock", time.Time{})
			_, err := b.store.MergeEvents(ctx, b.operator.ID, dup.ID, jazz.ID, now)
			require.NoError(t, err)
			require.NoError(t, b.store.HideEvent(ctx, b.operator.ID, hidden.ID, now))

			events, err := b.store.EventsForModeration(ctx, "", 10, 0)
			require.NoError(t, err)
			require.Len(t, events, 3, "hidden and merged events included")
			require.Equal(t, []int64{hidden.ID, dup.ID, jazz.ID}, []int64{events[0].ID, events[1].ID, events[2].ID}, "newest first")
			require.Equal(t, "Jazz 100%", events[1].MergedIntoName)
			require.Equal(t, 2, events[2].Listings)
			require.False(t, events[0].HiddenAt.IsZero())

			events, err = b.store.EventsForModeration(ctx, "JAZZ 100%", 10, 0)
			require.NoError(t, err)
			require.Len(t, events, 1)
			require.Equal(t, jazz.ID, events[0].ID)
			events, err = b.store.EventsForModeration(ctx, "", 1, 1)
			require.NoError(t, err)
			require.Len(t, events, 1)
			require.Equal(t, dup.ID, events[0].ID)

			_, err = b.store.SuspendUser(ctx, b.operator.ID, b.seller.ID, "spam", now)
			require.NoError(t, err)
			users, err := b.store.UsersForModeration(ctx, "SELLER", 10, 0)
			require.NoError(t, err)
			require.Len(t, users, 1)
			require.Equal(t, b.seller.ID, users[0].ID)
			require.Equal(t, 2, users[0].Listings)
			require.Equal(t, now, users[0].SuspendedAt)
			users, err = b.store.UsersForModeration(ctx, "example.com", 10, 0)
			require.NoError(t, err)
			require.Len(t, users, 3)
			users, err = b.store.UsersForModeration(ctx, "_", 10, 0)
			require.NoError(t, err)
			require.Empty(t, users, "LIKE's wildcards match themselves")
		})
	}
}
