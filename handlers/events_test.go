package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the events' zones, wherever the tests run

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/handlers"
	"github.com/eventhive/eventhive/store"
)

// startsAt is the starts_at field for an instant, local to zone.
func startsAt(t *testing.T, at time.Time, zone string) string {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	require.NoError(t, err)
	return at.In(loc).Format("2006-01-02T15:04")
}

// newEvent is the form's fields for tickets of a new event starting in d from
// the bundle's now, in Paris.
func (b *testBundle) newEvent(t *testing.T, name string, d time.Duration) url.Values {
	t.Helper()
	return url.Values{"event_name": {name}, "venue": {"Olympia"}, "city": {"Paris"},
		"starts_at": {startsAt(t, b.clock.Now().Add(d), "Europe/Paris")}, "time_zone": {"Europe/Paris"}}
}

// sell posts the sell form: form, with price and face value 30 unless it
// says otherwise.
func (b *testBundle) sell(t *testing.T, c *http.Client, form url.Values) *response {
	t.Helper()
	form = cloneValues(form)
	for name, value := range map[string]string{"price": "30", "face_value": "30"} {
		if !form.Has(name) {
			form.Set(name, value)
		}
	}
	return b.postForm(t, c, "/tickets", form)
}

// sellOK sells through the form and returns the new listing.
func (b *testBundle) sellOK(t *testing.T, c *http.Client, form url.Values) store.Listing {
	t.Helper()
	res := b.sell(t, c, form)
	requireStatus(t, res, http.StatusSeeOther)
	return b.listingNow(t, idFromLocation(t, res, "/tickets/"))
}

// listingNow reads a listing at the bundle's now.
func (b *testBundle) listingNow(t *testing.T, id int64) store.Listing {
	t.Helper()
	l, err := b.store.Listing(t.Context(), id, b.clock.Now())
	require.NoError(t, err)
	return l
}

// with returns form with more fields set.
func with(form url.Values, pairs ...string) url.Values {
	form = cloneValues(form)
	for i := 0; i+1 < len(pairs); i += 2 {
		form.Set(pairs[i], pairs[i+1])
	}
	return form
}

func cloneValues(v url.Values) url.Values {
	c := url.Values{}
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}

// rowCount counts the rows of a table.
func (b *testBundle) rowCount(t *testing.T, table string) int {
	t.Helper()
	var n int
	require.NoError(t, b.db.Read.QueryRowContext(t.Context(), `SELECT count(*) FROM `+table).Scan(&n))
	return n
}

// homeEvent is one event as the home page lists it.
type homeEvent struct {
	ID      int64
	Name    string
	Offer   string // "2 tickets from $25.00", or that there is none
	Listing int64  // the cheapest listing the offer links to, or 0
}

// homeEvents reads the events a home page (or its #listing fragment) lists,
// in order.
func homeEvents(t *testing.T, page string) []homeEvent {
	t.Helper()
	section := doc(page).Find("section#listing").First()
	require.NotZero(t, section.Length(), "no listing in:\n%s", page)
	events := []homeEvent{}
	section.Find("li article").Each(func(_ int, item *goquery.Selection) {
		var e homeEvent
		e.ID, _ = pathID(item.Find("h2 a").AttrOr("href", ""), "/events/")
		e.Name = textOf(item.Find("h2"))
		e.Offer = textOf(item.Find(".offer"))
		e.Listing, _ = pathID(item.Find(".offer a").AttrOr("href", ""), "/tickets/")
		events = append(events, e)
	})
	return events
}

// homeNames are the names of the events a page lists, in order.
func homeNames(t *testing.T, page string) []string {
	t.Helper()
	names := []string{}
	for _, e := range homeEvents(t, page) {
		names = append(names, e.Name)
	}
	return names
}

func TestHome(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		t.Run("SoonestFirstWithOffers", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			other := b.signUp(t, "other@example.com")
			anyone := newClient(t)
			require.Contains(t, b.get(t, anyone, "/").HTML, "No upcoming events right now.")

			later := b.sellOK(t, seller, with(b.newEvent(t, "Later show", 72*time.Hour), "quantity", "2", "price", "25", "face_value", "25"))
			tba := b.sellOK(t, seller, url.Values{"event_name": {"Someday"}})
			soon := b.sellOK(t, seller, b.newEvent(t, "Soon show", 24*time.Hour))
			// More tickets for the later show, one listing cheaper.
			cheaper := b.sellOK(t, other, url.Values{"event_id": {itoa(later.Event.ID)}, "quantity": {"3"}, "price": {"20.50"}, "face_value": {"25"}})
			b.sellOK(t, other, url.Values{"event_id": {itoa(later.Event.ID)}, "price": {"40"}, "face_value": {"40"}})
			// An event whose only ticket is held shows none for sale.
			held := b.sellOK(t, seller, b.newEvent(t, "Held show", 48*time.Hour))
			b.buyOK(t, b.signUp(t, "buyer@example.com"), held.ID)

			res := b.get(t, anyone, "/")
			requireStatus(t, res, http.StatusOK)
			require.Equal(t, "no-store", res.Header.Get("Cache-Control"))
			requireElement(t, res.HTML, `[hx-ext="sse"][sse-connect="/events/live"] section#listing[sse-swap="events"]`, "the list updates live")
			require.Equal(t, []homeEvent{
				{soon.Event.ID, "Soon show", "1 ticket from $30.00", soon.ID},
				{held.Event.ID, "Held show", "No tickets for sale right now.", 0},
				{later.Event.ID, "Later show", "6 tickets from $20.50", cheaper.ID},
				{tba.Event.ID, "Someday", "1 ticket from $30.00", tba.ID},
			}, homeEvents(t, res.HTML))
			soonItem := requireElement(t, res.HTML, "#event-"+itoa(soon.Event.ID))
			require.Contains(t, textOf(soonItem), "Olympia · Paris")
			when := soonItem.Find("time")
			require.Equal(t, soon.Event.StartsAt.UTC().Format(time.RFC3339), when.AttrOr("datetime", ""))
			require.Contains(t, textOf(when), "Europe/Paris", "the event's zone is named")
			require.Contains(t, textOf(requireElement(t, res.HTML, "#event-"+itoa(tba.Event.ID))), "Date to be announced")
		})

		t.Run("SearchAndDates", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			day := 24 * time.Hour
			b.sellOK(t, seller, with(b.newEvent(t, "Jazz night", 2*day), "venue", "Blue Note", "city", "New York", "time_zone", "America/New_York",
				"starts_at", startsAt(t, b.clock.Now().Add(2*day), "America/New_York")))
			b.sellOK(t, seller, b.newEvent(t, "Rock show", 5*day))
			b.sellOK(t, seller, with(b.newEvent(t, "100% Opera_gala", 9*day), "city", "Lyon"))
			b.sellOK(t, seller, url.Values{"event_name": {"Someday"}})

			home := func(query string) string {
				t.Helper()
				res := b.get(t, newClient(t), "/?"+query)
				requireStatus(t, res, http.StatusOK)
				return res.HTML
			}
			for _, tt := range []struct {
				q    string
				want []string
			}{
				{"jazz", []string{"Jazz night"}},
				{"BLUE note", []string{"Jazz night"}},
				{"paris", []string{"Rock show"}},
				{"lyon", []string{"100% Opera_gala"}},
				{"opera", []string{"100% Opera_gala"}},
				{"gala 100", []string{"100% Opera_gala"}},
				{"ro", []string{"Rock show"}},
				{"%", []string{"Jazz night", "Rock show", "100% Opera_gala", "Someday"}},
				{"_", []string{"Jazz night", "Rock show", "100% Opera_gala", "Someday"}},
				{"show olympia", []string{"Rock show"}},
				{"", []string{"Jazz night", "Rock show", "100% Opera_gala", "Someday"}},
			} {
				page := home("q=" + url.QueryEscape(tt.q))
				require.Equal(t, tt.want, homeNames(t, page), "q=%q", tt.q)
				require.Equal(t, tt.q, requireElement(t, page, `form[role="search"] input[name="q"]`).AttrOr("value", "(none)"), "the query is kept")
			}
			require.Contains(t, home("q=zzz"), "No upcoming event matches “zzz”.")

			// Dates are days in the default zone (UTC here), both included.
			date := func(d time.Duration) string { return b.clock.Now().Add(d).UTC().Format("2006-01-02") }
			require.Equal(t, []string{"Rock show", "100% Opera_gala"}, homeNames(t, home("from="+date(5*day))))
			require.Equal(t, []string{"Jazz night", "Rock show"}, homeNames(t, home("to="+date(5*day))))
			require.Equal(t, []string{"Rock show"}, homeNames(t, home("from="+date(3*day)+"&to="+date(6*day))))
			require.Equal(t, []string{"Rock show"}, homeNames(t, home("q=show&from="+date(3*day))))
			page := home("from=" + date(3*day))
			requireFieldValue(t, page, "from", date(3*day))
			requireElement(t, page, "details.dates[open]", "the dates in use are shown")

			// A date that cannot be read is explained beside its field and
			// left out of the search, with 200: it is a GET.
			page = home("from=31/12/2026&q=show")
			requireFieldError(t, page, "from", "Enter a date like 2026-12-31.")
			requireFieldValue(t, page, "from", "31/12/2026")
			require.Equal(t, []string{"Rock show"}, homeNames(t, page))
			page = home("from=" + date(6*day) + "&to=" + date(3*day))
			requireFieldError(t, page, "to", "Enter a date on or after the first date.")
			requireFieldOK(t, page, "from")
			require.Equal(t, []string{"100% Opera_gala"}, homeNames(t, page))
		})

		t.Run("WordsAndOrders", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			day := 24 * time.Hour
			sell := func(name, venue string, in time.Duration, price string) {
				t.Helper()
				b.sellOK(t, seller, with(b.newEvent(t, name, in), "venue", venue, "price", price, "face_value", price))
			}
			sell("Jazz Night at the Blue Note", "Blue Note", 3*day, "40")
			sell("Blue Note Records fair", "Hall 5", day, "25")
			sell("Piano trio", "Blue Note", 2*day, "10")
			b.sellOK(t, seller, url.Values{"event_name": {"Jazz brunch"}, "price": {"15"}, "face_value": {"15"}})
			held := b.sellOK(t, seller, b.newEvent(t, "Sold out gala", 4*day))
			b.buyOK(t, b.signUp(t, "buyer@example.com"), held.ID)

			home := func(query string) string {
				t.Helper()
				res := b.get(t, newClient(t), "/?"+query)
				requireStatus(t, res, http.StatusOK)
				return res.HTML
			}
			// sorts are the orders a page or fragment offers, the chosen one
			// marked.
			sorts := func(page string) []string {
				t.Helper()
				var offered []string
				requireElement(t, page, `#search-options select#sort[name="sort"] option`).Each(func(_ int, o *goquery.Selection) {
					choice := o.AttrOr("value", "(none)") + "=" + textOf(o)
					if _, selected := o.Attr("selected"); selected {
						choice += " (selected)"
					}
					offered = append(offered, choice)
				})
				return offered
			}

			// Words in any order, the last one as typed so far.
			page := home("q=" + url.QueryEscape("blue note jaz"))
			require.Equal(t, []string{"Jazz Night at the Blue Note"}, homeNames(t, page))
			require.Equal(t, []string{"=Relevance (selected)", "date=Date", "price=Price"}, sorts(page))
			requireElement(t, page, `form[role="search"][method="get"][action="/"] select#sort`, "a plain form sends the order")

			page = home("q=blue+note")
			names := homeNames(t, page)
			require.ElementsMatch(t, []string{"Jazz Night at the Blue Note", "Blue Note Records fair", "Piano trio"}, names)
			require.Equal(t, "Piano trio", names[2], "words in the name count more than in the venue")
			page = home("q=blue+note&sort=date")
			require.Equal(t, []string{"Blue Note Records fair", "Piano trio", "Jazz Night at the Blue Note"}, homeNames(t, page))
			require.Equal(t, []string{"=Relevance", "date=Date (selected)", "price=Price"}, sorts(page))
			require.Equal(t, []string{"Piano trio", "Blue Note Records fair", "Jazz Night at the Blue Note"}, homeNames(t, home("q=blue+note&sort=price")))

			// Without words: by date (the default) or by the cheapest
			// ticket on sale, events with none last.
			page = home("sort=price")
			require.Equal(t, []string{"Piano trio", "Jazz brunch", "Blue Note Records fair", "Jazz Night at the Blue Note", "Sold out gala"}, homeNames(t, page))
			require.Equal(t, []string{"=Date", "price=Price (selected)"}, sorts(page))
			for _, query := range []string{"", "sort=date", "sort=relevance", "sort=%27"} {
				page = home(query)
				require.Equal(t, []string{"Blue Note Records fair", "Piano trio", "Jazz Night at the Blue Note", "Sold out gala", "Jazz brunch"}, homeNames(t, page), query)
				require.Equal(t, []string{"=Date (selected)", "price=Price"}, sorts(page), query)
			}

			// Ten words at most: more are left out, and the page says so
			// beside the search box.
			ten := "blue note jazz night at the blue note blue note"
			page = home("q=" + url.QueryEscape(ten))
			require.Equal(t, []string{"Jazz Night at the Blue Note"}, homeNames(t, page))
			requireFieldOK(t, page, "q")
			const bounded = "Only the first 10 words (and 200 characters) are searched for."
			page = home("q=" + url.QueryEscape(ten+" zzz"))
			require.Equal(t, []string{"Jazz Night at the Blue Note"}, homeNames(t, page), "the 11th word is left out")
			requireFieldError(t, page, "q", bounded)
			requireFieldValue(t, page, "q", ten+" zzz")
			// And 200 characters: the search box keeps those.
			page = home("q=" + url.QueryEscape("brunch"+strings.Repeat(" ", 200)+"zzz"))
			require.Equal(t, []string{"Jazz brunch"}, homeNames(t, page))
			requireFieldError(t, page, "q", bounded)
			requireFieldValue(t, page, "q", "brunch")
			require.Equal(t, "200", requireElement(t, page, "input#q").AttrOr("maxlength", ""))

			// Typing re-fetches the list, and the options that depend on
			// the words, which the fragment carries after the list.
			requireElement(t, page, `input#q[hx-get="/"][hx-include="closest form"][hx-target="#listing"][hx-select="#listing"][hx-select-oob="#search-options"][hx-push-url="true"]`)
			requireElement(t, page, `select#sort[hx-get="/"][hx-trigger="change"][hx-target="#listing"][hx-select-oob="#search-options"]`)
			fragment := b.get(t, newClient(t), "/?q="+url.QueryEscape(ten+" zzz")+"&sort=date", htmx)
			requireFragment(t, fragment, `<section id="listing"`)
			require.Equal(t, []string{"Jazz Night at the Blue Note"}, homeNames(t, fragment.HTML))
			requireElementText(t, fragment.HTML, "#search-options #q-error", bounded)
			require.Equal(t, []string{"=Relevance", "date=Date (selected)", "price=Price"}, sorts(fragment.HTML))
		})

		t.Run("Pagination", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			var names []string // soonest first
			for i := 1; i <= 23; i++ {
				name := fmt.Sprintf("Show %02d", i)
				b.sellOK(t, seller, b.newEvent(t, name, time.Duration(i)*time.Hour))
				names = append(names, name)
			}
			c := newClient(t)
			page1 := b.get(t, c, "/")
			require.Equal(t, names[:20], homeNames(t, page1.HTML))
			require.Empty(t, pageLink(page1.HTML, "prev"))
			next := pageLink(page1.HTML, "next")
			require.Equal(t, "/?page=2", next)
			page2 := b.get(t, c, next)
			require.Equal(t, names[20:], homeNames(t, page2.HTML))
			require.Empty(t, pageLink(page2.HTML, "next"))
			require.Equal(t, "/", pageLink(page2.HTML, "prev"))

			// The search and the dates are kept from page to page.
			from := b.clock.Now().UTC().Format("2006-01-02")
			searched := b.get(t, c, "/?q=show&from="+from)
			next = pageLink(searched.HTML, "next")
			require.Equal(t, "/?from="+from+"&page=2&q=show", next)
			require.Equal(t, names[20:], homeNames(t, b.get(t, c, next).HTML))

			// So is the order: every ticket costs the same, so by price
			// is by date here.
			for query, want := range map[string]string{
				"/?sort=price":              "/?page=2&sort=price",
				"/?q=show&sort=date":        "/?page=2&q=show&sort=date",
				"/?q=show&sort=relevance":   "/?page=2&q=show", // the default when searching
				"/?sort=date":               "/?page=2",        // the default otherwise
				"/?sort=relevance":          "/?page=2",        // nothing to be relevant to
				"/?sort=cheapest&q=show":    "/?page=2&q=show",
				"/?sort=price&from=" + from: "/?from=" + from + "&page=2&sort=price",
			} {
				page1 := b.get(t, c, query)
				require.Equal(t, names[:20], homeNames(t, page1.HTML), query)
				next := pageLink(page1.HTML, "next")
				require.Equal(t, want, next, query)
				nextURL, err := url.Parse(next)
				require.NoError(t, err)
				page2 := b.get(t, c, next)
				require.Equal(t, names[20:], homeNames(t, page2.HTML), next)
				back := nextURL.Query()
				back.Del("page")
				require.Equal(t, strings.TrimSuffix("/?"+back.Encode(), "?"), pageLink(page2.HTML, "prev"), next)
			}

			fragment := b.get(t, c, "/?page=2", htmx)
			requireFragment(t, fragment, `<section id="listing"`)
			require.Equal(t, names[20:], homeNames(t, fragment.HTML))
			for _, p := range []string{"0", "-1", "abc", "99999999999999999999"} {
				require.Equal(t, names[:20], homeNames(t, b.get(t, c, "/?page="+p).HTML), "page=%s", p)
			}
		})
	})
}

func TestEventPage(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		t.Run("ListingsCheapestFirst", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			other := b.signUp(t, "other@example.com")
			first := b.sellOK(t, seller, with(b.newEvent(t, "Gala <night>", 24*time.Hour), "price", "36", "face_value", "30",
				"quantity", "5", "note", "Row 3, seats 1–5"))
			event := first.Event.ID
			together := b.sellOK(t, other, url.Values{"event_id": {itoa(event)}, "price": {"20"}, "quantity": {"2"}, "together": {"1"}})
			soldOut := b.sellOK(t, other, url.Values{"event_id": {itoa(event)}, "price": {"25"}})
			buyer := b.signUp(t, "buyer@example.com")
			sell(t, b, b.buyOK(t, buyer, soldOut.ID), 2500)

			res := b.get(t, newClient(t), "/events/"+itoa(event))
			requireStatus(t, res, http.StatusOK)
			requireFullPage(t, res)
			require.Equal(t, "no-store", res.Header.Get("Cache-Control"))
			requireElementText(t, res.HTML, "h1", "Gala <night>")
			require.Contains(t, res.HTML, "Olympia · Paris")
			require.Contains(t, textOf(requireElement(t, res.HTML, "article.event time")), "Europe/Paris")
			requireElement(t, res.HTML, `[sse-connect="/events/`+itoa(event)+`/live"][sse-swap="listings"] section#event-listings`)
			requireElement(t, res.HTML, `a[href="/tickets/new?event_id=`+itoa(event)+`"]`, "Sell tickets for this event")

			items := requireElement(t, res.HTML, "#event-listings li")
			require.Equal(t, 3, items.Length())
			ids := []string{}
			items.Each(func(_ int, li *goquery.Selection) { ids = append(ids, li.AttrOr("id", "")) })
			require.Equal(t, []string{"listing-" + itoa(together.ID), "listing-" + itoa(soldOut.ID), "listing-" + itoa(first.ID)}, ids)

			gala := textOf(requireElement(t, res.HTML, "#listing-"+itoa(first.ID)))
			require.Contains(t, gala, "face value $30.00 · asking $36.00")
			require.Contains(t, gala, "5 of 5 left")
			require.Contains(t, gala, "Row 3, seats 1–5")
			options := requireElement(t, res.HTML, `#listing-`+itoa(first.ID)+` form[action="/orders"] select[name="quantity"] option`)
			require.Equal(t, []string{"1", "2", "3", "4", "5"}, texts(options))

			pair := "#listing-" + itoa(together.ID)
			requireElementText(t, res.HTML, pair+" .badge:not([hidden])", "Sold together")
			requireElement(t, res.HTML, pair+` form input[type="hidden"][name="quantity"][value="2"]`, "all or none")
			requireElementText(t, res.HTML, "#listing-"+itoa(soldOut.ID)+" .badge:not([hidden])", "Sold out")
			requireNoElement(t, res.HTML, "#listing-"+itoa(soldOut.ID)+" form:not([hidden])")

			// The seller sees their own listing, not a Buy form.
			own := b.get(t, seller, "/events/"+itoa(event))
			requireNoElement(t, own.HTML, "#listing-"+itoa(first.ID)+" form")
			requireElementText(t, own.HTML, "#listing-"+itoa(first.ID)+" a", "Your listing")

			fragment := b.get(t, newClient(t), "/events/"+itoa(event), htmx)
			requireStatus(t, fragment, http.StatusOK)
			requireFragment(t, fragment, `<section id="event-listings"`)
		})

		t.Run("HiddenMergedUnknown", func(t *testing.T) {
			t.Parallel()
			b := setupWith(t, dialect, bundleOpts{configure: func(cfg *handlers.Config) { cfg.AdminEmails = []string{adminEmail} }})
			seller := b.signUp(t, "seller@example.com")
			buyer := b.signUp(t, "buyer@example.com")
			operator := b.signUp(t, adminEmail)
			b.confirmOperator(t, adminEmail)
			kept := b.sellOK(t, seller, b.newEvent(t, "Kept", 24*time.Hour)).Event.ID
			duplicate := b.sellOK(t, seller, b.newEvent(t, "Duplicate", 24*time.Hour)).Event.ID
			hiddenListing := b.sellOK(t, seller, b.newEvent(t, "Hidden", 24*time.Hour))
			hidden := hiddenListing.Event.ID
			b.exec(t, `UPDATE events SET merged_into = $1 WHERE id = $2`, kept, duplicate)
			b.exec(t, `UPDATE events SET hidden_at = $1 WHERE id = $2`, b.clock.Now().UnixMilli(), hidden)

			res := b.get(t, newClient(t), "/events/"+itoa(duplicate))
			requireStatus(t, res, http.StatusMovedPermanently)
			require.Equal(t, "/events/"+itoa(kept), res.location())

			// A hidden event, and its listing, are not found but by
			// operators (and the listing by its seller, who sees it is off
			// sale).
			listingPath := "/tickets/" + itoa(hiddenListing.ID)
			for name, c := range map[string]*http.Client{"signed out": newClient(t), "buyer": buyer, "seller": seller} {
				requireNotFound(t, b.get(t, c, "/events/"+itoa(hidden)))
				if name != "seller" {
					requireNotFound(t, b.get(t, c, listingPath))
				}
			}
			page := b.get(t, seller, listingPath)
			requireStatus(t, page, http.StatusOK)
			requireElement(t, page.HTML, "#off-sale")
			page = b.get(t, operator, "/events/"+itoa(hidden))
			requireStatus(t, page, http.StatusOK)
			require.Contains(t, page.HTML, "An operator hid this event")
			requireNoElement(t, page.HTML, `form[action="/orders"]`)
			requireStatus(t, b.get(t, operator, listingPath), http.StatusOK)
			requireNotFound(t, b.postForm(t, buyer, "/orders", url.Values{"ticket_id": {itoa(hiddenListing.ID)}}))
			require.Zero(t, b.rowCount(t, "orders"))

			require.Equal(t, []string{"Kept"}, homeNames(t, b.get(t, newClient(t), "/").HTML))
			for _, id := range []string{"999999", "0", "-1", "abc", "99999999999999999999"} {
				requireNotFound(t, b.get(t, newClient(t), "/events/"+id))
			}
		})

		t.Run("SuspendedSellerOffSale", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			buyer := b.signUp(t, "buyer@example.com")
			l := b.sellOK(t, seller, b.newEvent(t, "Gala", 24*time.Hour))
			b.exec(t, `UPDATE users SET suspended_at = $1 WHERE id = $2`, b.clock.Now().UnixMilli(), l.SellerID)

			page := b.get(t, buyer, "/tickets/"+itoa(l.ID))
			requireStatus(t, page, http.StatusOK)
			requireElementText(t, page.HTML, "#off-sale", "Off sale This listing is no longer on sale. See the other tickets for this event")
			requireNoElement(t, page.HTML, `form[action="/orders"]`)
			res := b.buy(t, buyer, l.ID)
			requireStatus(t, res, http.StatusConflict)
			require.Equal(t, "This listing is no longer on sale.", alertMessage(t, res.HTML))
			require.Zero(t, b.rowCount(t, "orders"))
			requireNoElement(t, b.get(t, buyer, "/events/"+itoa(l.Event.ID)).HTML, "#listing-"+itoa(l.ID), "the event no longer lists it")
		})

		t.Run("SalesCloseAtTheStart", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			buyer := b.signUp(t, "buyer@example.com")
			l := b.sellOK(t, seller, with(b.newEvent(t, "Tonight", time.Hour), "quantity", "3"))
			b.sellOK(t, seller, b.newEvent(t, "Tomorrow", 24*time.Hour))
			require.Equal(t, []string{"Tonight", "Tomorrow"}, homeNames(t, b.get(t, newClient(t), "/").HTML))

			b.clock.Advance(time.Hour)
			require.Equal(t, []string{"Tomorrow"}, homeNames(t, b.get(t, newClient(t), "/").HTML), "a started event leaves the home page")
			require.Equal(t, []string{}, homeNames(t, b.get(t, newClient(t), "/?q=tonight").HTML), "and the search")

			page := b.get(t, buyer, "/tickets/"+itoa(l.ID))
			requireStatus(t, page, http.StatusOK)
			require.Contains(t, textOf(requireElement(t, page.HTML, "#ended")), "Ended Sales closed when the event started: ")
			requireElement(t, page.HTML, `main a[href="/"]`, "a way on")
			requireNoElement(t, page.HTML, `form[action="/orders"]`)

			event := b.get(t, buyer, "/events/"+itoa(l.Event.ID))
			requireStatus(t, event, http.StatusOK)
			requireElement(t, event.HTML, "#sales-closed")
			requireNoElement(t, event.HTML, `form[action="/orders"]`)
			requireNoElement(t, event.HTML, `main a[href^="/tickets/new"]`)

			res := b.postForm(t, buyer, "/orders", url.Values{"ticket_id": {itoa(l.ID)}, "quantity": {"1"}})
			requireStatus(t, res, http.StatusConflict)
			require.Equal(t, "The event has started: sales closed then, and these tickets can no longer be bought or changed.", alertMessage(t, res.HTML))
			require.Zero(t, b.rowCount(t, "orders"))

			// Nor can tickets be listed for it, or its listing edited.
			res = b.sell(t, seller, url.Values{"event_id": {itoa(l.Event.ID)}})
			requireStatus(t, res, http.StatusUnprocessableEntity)
			require.Equal(t, "This event has started: its sales are closed. Pick another.", textOf(requireElement(t, res.HTML, "#event_id-error")))
			res = b.get(t, seller, "/tickets/"+itoa(l.ID)+"/edit")
			requireStatus(t, res, http.StatusConflict)
			require.Equal(t, "The event has started: sales closed then, and these tickets can no longer be bought or changed.", alertMessage(t, res.HTML))
		})
	})
}

func TestEventPicker(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		seller := b.signUp(t, "seller@example.com")
		jazz := b.sellOK(t, seller, b.newEvent(t, "Jazz night", 24*time.Hour)).Event.ID
		rock := b.sellOK(t, seller, b.newEvent(t, "Rock show", 48*time.Hour)).Event.ID
		past := b.sellOK(t, seller, b.newEvent(t, "Over soon", time.Minute)).Event.ID
		b.clock.Advance(time.Minute)

		// choices are the events a form or fragment offers, and the one
		// checked.
		choices := func(t *testing.T, page string) (offered []string, checked string) {
			t.Helper()
			offered = []string{}
			requireElement(t, page, "#event-picker").Find(`input[type="radio"][name="event_id"]`).Each(func(_ int, in *goquery.Selection) {
				offered = append(offered, in.AttrOr("value", ""))
				if _, ok := in.Attr("checked"); ok {
					checked = in.AttrOr("value", "")
				}
			})
			return offered, checked
		}

		t.Run("Form", func(t *testing.T) {
			page := b.get(t, seller, "/tickets/new")
			requireStatus(t, page, http.StatusOK)
			offered, checked := choices(t, page.HTML)
			require.Equal(t, []string{itoa(jazz), itoa(rock), ""}, offered, "upcoming events, then a new one; not one that started")
			require.Empty(t, checked, "a new event unless one is picked")
			search := requireElement(t, page.HTML, `#ticket-form input#event-search[name="q"]`)
			require.Equal(t, "/events/picker", search.AttrOr("hx-get", ""))
			require.Contains(t, search.AttrOr("hx-trigger", ""), "input changed delay:250ms")
			requireElement(t, page.HTML, `#ticket-form button[type="submit"][formmethod="get"][formaction="/tickets/new"]`, "the Find button")
			requireFieldValue(t, page.HTML, "time_zone", "UTC")
			requireFieldValue(t, page.HTML, "quantity", "1")
		})

		t.Run("Preselected", func(t *testing.T) {
			page := b.get(t, seller, "/tickets/new?event_id="+itoa(rock))
			requireStatus(t, page, http.StatusOK)
			offered, checked := choices(t, page.HTML)
			require.Equal(t, []string{itoa(jazz), itoa(rock), ""}, offered)
			require.Equal(t, itoa(rock), checked)
			requireFieldValue(t, page.HTML, "event_name", "")
			requireFieldValue(t, page.HTML, "price", "")

			page = b.get(t, seller, "/tickets/new?event_id="+itoa(past))
			requireStatus(t, page, http.StatusOK)
			offered, checked = choices(t, page.HTML)
			require.Equal(t, []string{itoa(jazz), itoa(rock), ""}, offered)
			require.Empty(t, checked)
			require.Equal(t, "This event has started: its sales are closed. Pick another.", textOf(requireElement(t, page.HTML, "#event_id-error")))
		})

		t.Run("AsYouType", func(t *testing.T) {
			res := b.get(t, seller, "/events/picker?q=rock", htmx)
			requireStatus(t, res, http.StatusOK)
			requireFragment(t, res, `<fieldset id="event-picker"`)
			offered, _ := choices(t, res.HTML)
			require.Equal(t, []string{itoa(rock), ""}, offered)

			// The event picked stays offered, and picked, whatever is typed.
			res = b.get(t, seller, "/events/picker?q=rock&event_id="+itoa(jazz), htmx)
			offered, checked := choices(t, res.HTML)
			require.Equal(t, []string{itoa(jazz), itoa(rock), ""}, offered)
			require.Equal(t, itoa(jazz), checked)

			res = b.get(t, seller, "/events/picker?q=zzz", htmx)
			offered, _ = choices(t, res.HTML)
			require.Equal(t, []string{""}, offered)
			require.Contains(t, textOf(doc(res.HTML).Selection), "No upcoming event matches “zzz”.")

			res = b.get(t, newClient(t), "/events/picker?q=rock", htmx)
			require.Equal(t, signInTo("/events/picker?q=rock"), res.Header.Get("HX-Redirect"), "signed in only")
		})

		t.Run("WithoutJavaScript", func(t *testing.T) {
			// Find sends the whole form by GET: the form comes back with
			// the events found and what was typed.
			res := b.get(t, seller, "/tickets/new?q=jazz&event_id=&event_name=&price=45&face_value=40&quantity=2&note=Row+A&together=0&together=1")
			requireStatus(t, res, http.StatusOK)
			requireFullPage(t, res)
			offered, checked := choices(t, res.HTML)
			require.Equal(t, []string{itoa(jazz), ""}, offered)
			require.Empty(t, checked)
			requireFieldValue(t, res.HTML, "event-search", "jazz")
			requireFieldValue(t, res.HTML, "price", "45")
			requireFieldValue(t, res.HTML, "face_value", "40")
			requireFieldValue(t, res.HTML, "quantity", "2")
			requireFieldValue(t, res.HTML, "note", "Row A")
			requireElement(t, res.HTML, "input#together[checked]")
			requireFieldOK(t, res.HTML, "event_name")
			requireFieldOK(t, res.HTML, "price")

			// A form with errors comes back with the same search.
			res = b.postForm(t, seller, "/tickets", url.Values{"q": {"jazz"}, "event_id": {itoa(jazz)}, "price": {"abc"}})
			requireStatus(t, res, http.StatusUnprocessableEntity)
			requireFieldValue(t, res.HTML, "event-search", "jazz")
			offered, checked = choices(t, res.HTML)
			require.Equal(t, []string{itoa(jazz), ""}, offered)
			require.Equal(t, itoa(jazz), checked)

			// The picker's own address answers a whole form too.
			res = b.get(t, seller, "/events/picker?q=jazz")
			requireStatus(t, res, http.StatusOK)
			requireElement(t, res.HTML, `form#ticket-form[action="/tickets"]`)
			offered, _ = choices(t, res.HTML)
			require.Equal(t, []string{itoa(jazz), ""}, offered)
		})
	})
}

// exec runs SQL that no handler offers yet on the bundle's database.
func (b *testBundle) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	_, err := b.db.Write.ExecContext(t.Context(), query, args...)
	require.NoError(t, err)
}

// requireOffered checks the quantities a Buy form offers.
func requireOffered(t *testing.T, page string, want ...string) {
	t.Helper()
	options := doc(page).Find(`form[action="/orders"] select[name="quantity"] option`)
	if options.Length() == 0 {
		options = requireElement(t, page, `form[action="/orders"] input[type="hidden"][name="quantity"]`)
		require.Equal(t, want, []string{options.AttrOr("value", "")})
		return
	}
	got := []string{}
	options.Each(func(_ int, o *goquery.Selection) { got = append(got, o.AttrOr("value", "")) })
	require.Equal(t, want, got)
}
