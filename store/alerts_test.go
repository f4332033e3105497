package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// alertEvent creates an event starting a day after base, by creating a
// listing for it, and returns the event's id.
func (b *testBundle) alertEvent(t *testing.T, sellerID int64) int64 {
	t.Helper()
	l, err := b.store.CreateListing(t.Context(), sellerID, store.NewListing{
		Event: store.NewEvent{Name: "Night Show", Venue: "Hall", City: "Lyon", StartsAt: base.Add(24 * time.Hour), TimeZone: "UTC"},
		Price: 9000, FaceValue: 9000, Currency: "eur", Quantity: 1,
	}, base)
	require.NoError(t, err)
	return l.Event.ID
}

// list lists tickets for the event at price, at now.
func (b *testBundle) list(t *testing.T, sellerID, eventID, price int64, now time.Time) store.Listing {
	t.Helper()
	l, err := b.store.CreateListing(t.Context(), sellerID, store.NewListing{EventID: eventID, Price: price, FaceValue: price,
		Currency: "eur", Quantity: 2}, now)
	require.NoError(t, err)
	return l
}

// alertsTo lists the alert messages to an address, oldest first.
func (b *testBundle) alertsTo(t *testing.T, to string) []store.OutboxMail {
	t.Helper()
	var found []store.OutboxMail
	for _, m := range b.outboxOf(t, store.MailAlert) {
		if m.To == to {
			found = append(found, m)
		}
	}
	return found
}

func TestAlerts(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()

			t.Run("OncePerListingNeverOverThePriceAtMostHourly", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				ctx := t.Context()
				seller := b.user(t, "seller@example.com")
				fan := b.user(t, "fan@example.com")
				anyPrice := b.user(t, "any@example.com")
				event := b.alertEvent(t, seller.ID)
				require.NoError(t, b.store.SetAlert(ctx, fan.ID, event, 5000, base))
				require.NoError(t, b.store.SetAlert(ctx, anyPrice.ID, event, 0, base))

				at := base.Add(time.Minute)
				b.list(t, seller.ID, event, 6000, at)
				require.Empty(t, b.alertsTo(t, "fan@example.com"), "over the alert's price")
				require.Len(t, b.alertsTo(t, "any@example.com"), 1)

				cheap := b.list(t, seller.ID, event, 5000, at)
				sent := b.alertsTo(t, "fan@example.com")
				require.Len(t, sent, 1, "at its price")
				require.Equal(t, "/tickets/"+itoa(cheap.ID), sent[0].Data["Path"])
				require.Equal(t, "50.00 EUR", sent[0].Data["Price"])
				require.True(t, strings.HasPrefix(sent[0].Data["Unsubscribe"].(string), "/alerts/unsubscribe/"))
				require.Len(t, b.alertsTo(t, "any@example.com"), 1, "no more than one an hour")

				// Within the hour nothing more; after it, the next listing.
				b.list(t, seller.ID, event, 4000, at.Add(59*time.Minute))
				require.Len(t, b.alertsTo(t, "fan@example.com"), 1)
				next := b.list(t, seller.ID, event, 4000, at.Add(time.Hour))
				require.Len(t, b.alertsTo(t, "fan@example.com"), 2)
				require.Len(t, b.alertsTo(t, "any@example.com"), 2)

				// The same listing, withdrawn and relisted, or held and
				// released, is not announced again.
				later := at.Add(3 * time.Hour)
				_, err := b.store.WithdrawListing(ctx, next.ID, seller.ID, later)
				require.NoError(t, err)
				_, err = b.store.RelistListing(ctx, next.ID, seller.ID, later)
				require.NoError(t, err)
				require.Len(t, b.alertsTo(t, "fan@example.com"), 2)
				require.Equal(t, 2, b.count(t, `SELECT count(*) FROM alert_sends WHERE alert_id IN (SELECT id FROM alerts WHERE user_id = $1)`, fan.ID))
			})

			// Tickets that come back when a hold ends are announced, to an
			// alert that has not heard of the listing.
			t.Run("HoldEndingAnnouncesTheListing", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				ctx := t.Context()
				seller := b.user(t, "seller@example.com")
				buyer := b.user(t, "buyer@example.com")
				fan := b.user(t, "fan@example.com")
				event := b.alertEvent(t, seller.ID)
				l, err := b.store.CreateListing(ctx, seller.ID, store.NewListing{EventID: event, Price: 3000, FaceValue: 3000,
					Currency: "eur", Quantity: 1}, base)
				require.NoError(t, err)
				o := b.order(t, buyer.ID, l.ID, base)
				require.NoError(t, b.store.SetAlert(ctx, fan.ID, event, 0, base.Add(time.Second)))

				_, _, err = b.store.ExpireOrder(ctx, o.ID, base.Add(hold-time.Second))
				require.NoError(t, err)
				require.Empty(t, b.alertsTo(t, "fan@example.com"), "the hold runs on")
				_, _, err = b.store.ExpireOrder(ctx, o.ID, base.Add(hold))
				require.NoError(t, err)
				sent := b.alertsTo(t, "fan@example.com")
				require.Len(t, sent, 1)
				require.Equal(t, "/tickets/"+itoa(l.ID), sent[0].Data["Path"])

				// A cancel releases too, but this listing was announced.
				o = b.order(t, buyer.ID, l.ID, base.Add(2*hold))
				require.NoError(t, b.store.CancelOrder(ctx, o.ID, buyer.ID, base.Add(2*hold+time.Second)))
				require.Len(t, b.alertsTo(t, "fan@example.com"), 1)
			})

			t.Run("HoldsEndingTogetherAnnounceEachListing", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				ctx := t.Context()
				seller := b.user(t, "seller@example.com")
				fan := b.user(t, "fan@example.com")
				event := b.alertEvent(t, seller.ID)
				require.NoError(t, b.store.SetAlert(ctx, fan.ID, event, 0, base))
				var listings, orders []int64
				for i, buyer := range b.users(t, "buyer", 2) {
					l, err := b.store.CreateListing(ctx, seller.ID, store.NewListing{EventID: event, Price: 3000 + int64(i),
						FaceValue: 3100, Currency: "eur", Quantity: 1}, base)
					require.NoError(t, err)
					listings = append(listings, l.ID)
					orders = append(orders, b.order(t, buyer.ID, l.ID, base.Add(time.Minute)).ID)
				}
				// The first listing was announced when listed; the second
				// was not (one message an hour). The alert may speak again
				// an hour later, when both holds have ended.
				later := base.Add(time.Minute + store.AlertInterval)
				before := len(b.alertsTo(t, "fan@example.com"))
				_, _, err := b.store.ExpireOrder(ctx, orders[0], later)
				require.NoError(t, err)
				// The first expiry records the second hold's end too (the
				// sweep), and announces its listing.
				require.Len(t, b.alertsTo(t, "fan@example.com"), before+1)
				_, _, err = b.store.ExpireOrder(ctx, orders[1], later.Add(time.Second))
				require.NoError(t, err)
				sent := b.alertsTo(t, "fan@example.com")[before:]
				require.Len(t, sent, 1, "at most one message an hour")
				require.Equal(t, "/tickets/"+itoa(listings[1]), sent[0].Data["Path"],
					"the listing not announced yet: one message per alert and listing")
			})

			t.Run("FullRefundAnnouncesTheListing", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				ctx := t.Context()
				seller := b.user(t, "seller@example.com")
				buyer := b.user(t, "buyer@example.com")
				fan := b.user(t, "fan@example.com")
				event := b.alertEvent(t, seller.ID)
				l, err := b.store.CreateListing(ctx, seller.ID, store.NewListing{EventID: event, Price: 3000, FaceValue: 3000,
					Currency: "eur", Quantity: 1}, base)
				require.NoError(t, err)
				o := b.order(t, buyer.ID, l.ID, base)
				b.pay(t, o, base.Add(time.Second))
				require.NoError(t, b.store.SetAlert(ctx, fan.ID, event, 0, base.Add(2*time.Second)))

				_, got, err := b.store.RecordRefund(ctx, "pi_test_"+itoa(o.ID), o.Amount, true, base.Add(3*time.Second))
				require.NoError(t, err)
				require.Equal(t, l.ID, got)
				sent := b.alertsTo(t, "fan@example.com")
				require.Len(t, sent, 1, "the ticket is back on sale")
				require.Equal(t, "/tickets/"+itoa(l.ID), sent[0].Data["Path"])
			})

			t.Run("NeverAfterUnsubscribing", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				ctx := t.Context()
				seller := b.user(t, "seller@example.com")
				fan := b.user(t, "fan@example.com")
				event := b.alertEvent(t, seller.ID)
				require.NoError(t, b.store.SetAlert(ctx, fan.ID, event, 0, base))
				b.list(t, seller.ID, event, 3000, base)
				sent := b.alertsTo(t, "fan@example.com")
				require.Len(t, sent, 1)
				token := strings.TrimPrefix(sent[0].Data["Unsubscribe"].(string), "/alerts/unsubscribe/")

				a, err := b.store.AlertByToken(ctx, token)
				require.NoError(t, err)
				require.Equal(t, fan.ID, a.UserID)
				require.Equal(t, "Night Show", a.Event.Name)
				_, err = b.store.AlertByToken(ctx, token+"x")
				require.ErrorIs(t, err, store.ErrNotFound)
				require.Equal(t, 0, b.count(t, `SELECT count(*) FROM alert_sends WHERE token_hash = $1`, token), "only a hash is kept")

				require.NoError(t, b.store.Unsubscribe(ctx, token))
				require.ErrorIs(t, b.store.Unsubscribe(ctx, token), store.ErrNotFound)
				b.list(t, seller.ID, event, 3000, base.Add(2*time.Hour))
				require.Len(t, b.alertsTo(t, "fan@example.com"), 1)
				alerts, err := b.store.Alerts(ctx, fan.ID, base)
				require.NoError(t, err)
				require.Empty(t, alerts)
			})

			t.Run("NotAfterTheEventStarts", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				ctx := t.Context()
				seller := b.user(t, "seller@example.com")
				fan := b.user(t, "fan@example.com")
				event := b.alertEvent(t, seller.ID)
				l, err := b.store.CreateListing(ctx, seller.ID, store.NewListing{EventID: event, Price: 3000, FaceValue: 3000,
					Currency: "eur", Quantity: 1}, base)
				require.NoError(t, err)
				_, err = b.store.WithdrawListing(ctx, l.ID, seller.ID, base)
				require.NoError(t, err)
				require.NoError(t, b.store.SetAlert(ctx, fan.ID, event, 0, base))
				alerts, err := b.store.Alerts(ctx, fan.ID, base)
				require.NoError(t, err)
				require.Len(t, alerts, 1)

				started := base.Add(24 * time.Hour)
				_, err = b.store.RelistListing(ctx, l.ID, seller.ID, started)
				require.NoError(t, err)
				require.Empty(t, b.alertsTo(t, "fan@example.com"))
				alerts, err = b.store.Alerts(ctx, fan.ID, started)
				require.NoError(t, err)
				require.Empty(t, alerts, "gone from the list once the event starts")
				require.ErrorIs(t, b.store.SetAlert(ctx, fan.ID, event, 0, started), store.ErrEventStarted)
			})

			t.Run("OnlyTheOwnerDeletesAnAlert", func(t *testing.T) {
				t.Parallel()
				b := setup(t, dialect)
				ctx := t.Context()
				seller := b.user(t, "seller@example.com")
				fan := b.user(t, "fan@example.com")
				event := b.alertEvent(t, seller.ID)
				require.NoError(t, b.store.SetAlert(ctx, fan.ID, event, 100, base))
				require.NoError(t, b.store.SetAlert(ctx, fan.ID, event, 200, base), "a second alert changes the first")
				alerts, err := b.store.Alerts(ctx, fan.ID, base)
				require.NoError(t, err)
				require.Len(t, alerts, 1)
				require.Equal(t, int64(200), alerts[0].MaxPrice)

				require.ErrorIs(t, b.store.DeleteAlert(ctx, alerts[0].ID, seller.ID), store.ErrNotFound)
				require.NoError(t, b.store.DeleteAlert(ctx, alerts[0].ID, fan.ID))
				alerts, err = b.store.Alerts(ctx, fan.ID, base)
				require.NoError(t, err)
				require.Empty(t, alerts)
			})
		})
	}
}
