package handlers_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
)

// salesCloseZone is the time zone of the events these tests cross the start of.
const salesCloseZone = "Europe/Paris"

// listDated lists n tickets at 40.00 for the seller under a new event starting
// at start, through the store: what the listing form makes of an event with a
// date.
func (b *testBundle) listDated(t *testing.T, sellerEmail, name string, start time.Time, n int) store.Listing {
	t.Helper()
	l, err := b.store.CreateListing(t.Context(), b.userID(t, sellerEmail), store.NewListing{
		Event: store.NewEvent{Name: name, Venue: "Harbour Hall", City: "Marseille", StartsAt: start, TimeZone: salesCloseZone},
		Price: 4000, FaceValue: 4000, Currency: "usd", Quantity: n,
	}, b.clock.Now())
	require.NoError(t, err)
	return l
}

// closedAt is how a page tells when an event in salesCloseZone started.
func closedAt(t *testing.T, start time.Time) string {
	t.Helper()
	loc, err := time.LoadLocation(salesCloseZone)
	require.NoError(t, err)
	local := start.In(loc)
	return local.Format("Mon 2 Jan 2006, 15:04") + " " + salesCloseZone + " (" + local.Format("MST") + ")"
}

// TestSalesCloseAtStart crosses an event's start with the bundle's clock: the
// seller's page shows the event's listings as ended, without the buttons
// that would change them, and neither the seller nor a buyer can change or
// buy them by posting the forms anyway.
func TestSalesCloseAtStart(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		t.Run("SellersPageShowsEnded", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			buyer := b.signUp(t, "buyer@example.com")
			start := b.clock.Now().Add(time.Hour).Truncate(time.Minute)
			gig := b.listDated(t, "seller@example.com", "Harbour Lights", start, 3)
			withdrawn := b.listDated(t, "seller@example.com", "Harbour Lights Encore", start, 1)
			_, err := b.store.WithdrawListing(t.Context(), withdrawn.ID, withdrawn.SellerID, b.clock.Now())
			require.NoError(t, err)
			later := b.listTicket(t, seller, "Date To Come", "10")
			order := b.buyOK(t, buyer, gig.ID)
			buyerID := b.userID(t, "buyer@example.com")
			require.NoError(t, b.store.SetCheckoutSession(t.Context(), order, buyerID, "cs_gig", b.clock.Now()))
			require.NoError(t, b.store.RecordPayment(t.Context(), store.Payment{OrderID: order, SessionID: "cs_gig",
				PaymentIntentID: "pi_gig", Amount: 4000, Currency: "usd"}, b.clock.Now()))

			items := myTicketItems(t, b.get(t, seller, "/my/tickets").HTML)
			require.Equal(t, []int64{later, withdrawn.ID, gig.ID}, ids(items))
			require.Equal(t, []string{"for sale", "withdrawn", "for sale"}, []string{items[0].state, items[1].state, items[2].state})
			require.Contains(t, items[2].text, "2 of 3 left")
			mine := b.get(t, seller, "/my/tickets").HTML
			requireElement(t, mine, `#my-ticket-`+itoa(gig.ID)+` a[href="/tickets/`+itoa(gig.ID)+`/edit"]`)
			requireElement(t, mine, `#my-ticket-`+itoa(gig.ID)+` form[action="/tickets/`+itoa(gig.ID)+`/withdraw"]`)
			requireElement(t, mine, `#my-ticket-`+itoa(withdrawn.ID)+` form[action="/tickets/`+itoa(withdrawn.ID)+`/relist"]`)

			b.clock.Advance(time.Hour)
			mine = b.get(t, seller, "/my/tickets").HTML
			items = myTicketItems(t, mine)
			require.Equal(t, []string{"for sale", "ended", "ended"}, []string{items[0].state, items[1].state, items[2].state})
			require.Contains(t, items[2].text, "Ended — sales closed at "+closedAt(t, start)+" · 1 of 3 sold for $40.00")
			require.Contains(t, items[1].text, "Ended — sales closed at "+closedAt(t, start))
			require.NotContains(t, items[2].text, "For sale")
			for _, l := range []store.Listing{gig, withdrawn} {
				item := `#my-ticket-` + itoa(l.ID)
				requireNoElement(t, mine, item+` a[href$="/edit"]`, "no editing once sales closed")
				requireNoElement(t, mine, item+` form`, "neither withdrawing nor putting back on sale")
			}
			require.Equal(t, []string{"/tickets/" + itoa(later) + "/edit"}, items[0].editLinks, "an event to be announced stays on sale")
			requireElement(t, mine, `#my-ticket-`+itoa(later)+` form[action="/tickets/`+itoa(later)+`/withdraw"]`)

			page := b.get(t, seller, "/tickets/"+itoa(gig.ID))
			requireStatus(t, page, http.StatusOK)
			requireElementText(t, page.HTML, "#ended", "Ended Sales closed when the event started: "+closedAt(t, start))
			requireNoElement(t, page.HTML, `#buy form`, "no button to change it")
		})

		t.Run("NothingChangesAfterTheStart", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			buyer := b.signUp(t, "buyer@example.com")
			start := b.clock.Now().Add(time.Hour)
			gig := b.listDated(t, "seller@example.com", "Harbour Lights", start, 2)
			before, err := b.store.Listing(t.Context(), gig.ID, b.clock.Now())
			require.NoError(t, err)
			b.clock.Advance(time.Hour)
			path := "/tickets/" + itoa(gig.ID)

			res := b.postForm(t, seller, path, url.Values{"title": {"Front row"}, "price": {"35"}})
			requireStatus(t, res, http.StatusConflict)
			require.Contains(t, alertMessage(t, res.HTML), "The event has started")
			res = b.postForm(t, seller, path+"/withdraw", url.Values{})
			requireStatus(t, res, http.StatusConflict)
			require.Contains(t, alertMessage(t, res.HTML), "The event has started")
			res = b.buy(t, buyer, gig.ID)
			requireStatus(t, res, http.StatusConflict)
			require.Contains(t, alertMessage(t, res.HTML), "The event has started")

			after, err := b.store.Listing(t.Context(), gig.ID, before.AsOf)
			require.NoError(t, err)
			require.Equal(t, before, after, "nothing was saved")
			orders, err := b.store.OrdersByBuyer(t.Context(), b.userID(t, "buyer@example.com"))
			require.NoError(t, err)
			require.Empty(t, orders)
		})
	})
}
