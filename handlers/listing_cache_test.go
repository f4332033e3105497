package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
)

// TestListingSeesEveryChange checks that the listing people see signed out,
// which is kept rendered on SQLite, shows each kind of change at once, as a
// whole page and as the fragment open listings re-fetch: a new ticket, an
// edit, a hold, a cancellation, a hold running out with nothing written, and
// the expiry job's cancellation.
func TestListingSeesEveryChange(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setupWith(t, dialect, bundleOpts{noWorkers: true})
		seller := b.signUp(t, "seller@example.com")
		buyer := b.signUp(t, "buyer@example.com")
		visitor := newClient(t)
		// listed checks the signed-out listing, page and fragment alike, twice
		// so that the second answer may come from what the first kept.
		listed := func(t *testing.T, want ...listedTicket) {
			t.Helper()
			if want == nil {
				want = []listedTicket{}
			}
			for range 2 {
				page := b.get(t, visitor, "/")
				requireStatus(t, page, http.StatusOK)
				requireFullPage(t, page)
				requireSignedOut(t, page.HTML)
				require.Equal(t, want, listingTickets(t, page.HTML), "page")
				fragment := b.get(t, visitor, "/", htmx)
				requireStatus(t, fragment, http.StatusOK)
				requireFragment(t, fragment, `<section id="listing"`)
				require.Equal(t, want, listingTickets(t, fragment.HTML), "fragment")
			}
		}
		listed(t)

		opera := b.listTicket(t, seller, "Opera", "30")
		operaListed := listedTicket{ID: opera, Title: "Opera", Price: "$30.00"}
		listed(t, operaListed)
		ballet := b.listTicket(t, seller, "Ballet", "20")
		listed(t, operaListed, listedTicket{ID: ballet, Title: "Ballet", Price: "$20.00"})

		// An edit: the title field edits the note, the price shows.
		res := b.postForm(t, seller, "/tickets/"+itoa(ballet), url.Values{"title": {"Stalls"}, "price": {"24"}})
		requireStatus(t, res, http.StatusSeeOther)
		balletListed := listedTicket{ID: ballet, Title: "Ballet", Price: "$24.00"}
		listed(t, operaListed, balletListed)

		order := b.buyOK(t, buyer, opera)
		listed(t, balletListed)
		requireStatus(t, b.postForm(t, buyer, "/orders/"+itoa(order)+"/cancel", nil), http.StatusSeeOther)
		listed(t, operaListed, balletListed)

		// A hold that runs out puts the ticket back on sale with nothing
		// written: no worker runs the expiry job yet.
		order = b.buyOK(t, buyer, ballet)
		listed(t, operaListed)
		writes := b.store.Writes()
		o, err := b.store.Order(t.Context(), order, b.userID(t, "buyer@example.com"))
		require.NoError(t, err)
		b.endHold()
		listed(t, operaListed, balletListed)
		require.Equal(t, writes, b.store.Writes(), "nothing was written when the hold ended")

		// Another buyer claims the ticket; the old order's job, once workers
		// run, cancels it and leaves the new claim alone.
		b.buyOK(t, b.signUp(t, "next@example.com"), ballet)
		listed(t, operaListed)
		b.startWorkers(t)
		require.Eventually(t, func() bool {
			o, err := b.store.Order(t.Context(), order, o.BuyerID)
			return err == nil && o.Status == store.Cancelled
		}, 10*time.Second, 50*time.Millisecond, "the expiry job never ran")
		listed(t, operaListed)
	})
}

// TestListingSignedInAndFlash checks that what is kept for signed-out
// visitors never reaches someone signed in, nor hides a message shown once.
func TestListingSignedInAndFlash(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		seller := b.signUp(t, "seller@example.com")
		b.listTicket(t, seller, "Opera", "30")
		requireSignedOut(t, b.get(t, newClient(t), "/").HTML)

		requireSignedInAs(t, b.get(t, seller, "/").HTML, "seller@example.com")
		requireStatus(t, b.postForm(t, seller, "/signout", nil), http.StatusSeeOther)
		page := b.get(t, seller, "/")
		requireSignedOut(t, page.HTML)
		require.Contains(t, page.HTML, "You are signed out.")
		page = b.get(t, seller, "/")
		require.NotContains(t, page.HTML, "You are signed out.", "a message is shown once")
		require.Len(t, listingTickets(t, page.HTML), 1)
	})
}

// TestListingCacheAtEventStart checks that the home page signed-out
// visitors get, kept rendered (and gzipped) on SQLite, changes when an event
// starts, though nothing is written then: the event's listing leaves it and
// its own page says it ended.
func TestListingCacheAtEventStart(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setupWith(t, dialect, bundleOpts{noWorkers: true})
		seller := b.signUp(t, "seller@example.com")
		visitor := newClient(t)
		start := b.clock.Now().Add(time.Hour)
		gig := b.listDated(t, "seller@example.com", "Harbour Lights", start, 2)
		later := b.listTicket(t, seller, "Date To Come", "10")
		// Home links to a listing or to its event, depending on how it lists.
		linksTo := func(l store.Listing) string {
			return `a[href="/tickets/` + itoa(l.ID) + `"], a[href="/events/` + itoa(l.Event.ID) + `"]`
		}
		laterListing, err := b.store.Listing(t.Context(), later, b.clock.Now())
		require.NoError(t, err)

		// Twice: the second answer may come from what the first kept.
		for range 2 {
			home := b.get(t, visitor, "/")
			requireStatus(t, home, http.StatusOK)
			require.True(t, home.Uncompressed, "the page came gzipped")
			requireElement(t, home.HTML, linksTo(gig))
			requireElement(t, home.HTML, linksTo(laterListing))
		}

		writes := b.store.Writes()
		b.clock.Advance(time.Hour)
		for range 2 {
			home := b.get(t, visitor, "/")
			requireStatus(t, home, http.StatusOK)
			require.True(t, home.Uncompressed, "the page came gzipped")
			requireNoElement(t, home.HTML, linksTo(gig), "the event has started")
			requireElement(t, home.HTML, linksTo(laterListing))
			fragment := b.get(t, visitor, "/", htmx)
			requireStatus(t, fragment, http.StatusOK)
			requireNoElement(t, fragment.HTML, linksTo(gig), "the event has started")
		}
		require.Equal(t, writes, b.store.Writes(), "nothing was written at the start")

		page := b.get(t, visitor, "/tickets/"+itoa(gig.ID))
		requireStatus(t, page, http.StatusOK)
		require.Contains(t, strings.ToLower(textOf(doc(page.HTML).Find("main"))), "ended")
		requireNoElement(t, page.HTML, `form[action="/orders"]`, "no Buy button")
	})
}
