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

func TestTickets(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		t.Run("TicketPagePublic", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			id := b.listTicket(t, seller, "Jazz <night> & more", "30")
			eventID := b.listingNow(t, id).Event.ID

			res := b.get(t, newClient(t), "/tickets/"+itoa(id))
			requireStatus(t, res, http.StatusOK)
			requireFullPage(t, res)
			require.Contains(t, res.HTML, `<h1><a href="/events/`+itoa(eventID)+`">Jazz &lt;night&gt; &amp; more</a></h1>`, "title shown, escaped")
			require.Contains(t, res.HTML, "$30.00")
			require.Contains(t, res.HTML, "For sale")
			requireElement(t, res.HTML, `form[method="post"][action="/orders"] input[type="hidden"][name="ticket_id"][value="`+itoa(id)+`"]`, "the Buy form")
			requireElement(t, res.HTML, `form[action="/orders"] input[type="hidden"][name="quantity"][value="1"]`, "one ticket to buy")

			own := b.get(t, seller, "/tickets/"+itoa(id))
			requireStatus(t, own, http.StatusOK)
			require.Contains(t, own.HTML, "This is your listing.")
			requireElement(t, own.HTML, `a[href="/tickets/`+itoa(id)+`/edit"]`)
			requireNoElement(t, own.HTML, `[name="ticket_id"]`, "no Buy form for the seller")
		})

		t.Run("NewTicketForm", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			res := b.get(t, seller, "/tickets/new")
			requireStatus(t, res, http.StatusOK)
			requireElement(t, res.HTML, `form#ticket-form[method="post"][action="/tickets"]`)
			for _, field := range []string{"event_name", "venue", "city", "starts_at", "price", "face_value", "note"} {
				requireFieldValue(t, res.HTML, field, "")
			}
			requireFieldValue(t, res.HTML, "time_zone", "UTC")
			requireFieldValue(t, res.HTML, "quantity", "1")
			require.Contains(t, res.HTML, "Price per ticket (USD)")
			require.Contains(t, textOf(requireElement(t, res.HTML, "#face_value-hint")), "You may ask at most 20% over face value.")
		})

		// Wave 1's form names a new event with its title.
		t.Run("TitleValidation", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			tests := []struct {
				name, title, shown, message string
			}{
				{"Empty", "", "", "Enter the event’s name, or pick an event above."},
				{"WhitespaceOnly", "  \t  ", "", "Enter the event’s name, or pick an event above."},
				{"TooLong", strings.Repeat("x", 121), strings.Repeat("x", 121), "Use at most 120 characters."},
				{"TooLongInRunes", strings.Repeat("é", 121), strings.Repeat("é", 121), "Use at most 120 characters."},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					res := b.postForm(t, seller, "/tickets", url.Values{"title": {tt.title}, "price": {"12.50"}})
					requireStatus(t, res, http.StatusUnprocessableEntity)
					requireFullPage(t, res)
					requireFieldError(t, res.HTML, "event_name", tt.message)
					requireFieldOK(t, res.HTML, "price")
					requireFieldValue(t, res.HTML, "event_name", tt.shown)
					requireFieldValue(t, res.HTML, "price", "12.50")
				})
			}
			requireNoTickets(t, b, "seller@example.com")

			t.Run("ExactlyMaxLength", func(t *testing.T) {
				for _, title := range []string{strings.Repeat("y", 120), strings.Repeat("é", 120)} {
					id := b.listTicket(t, seller, title, "5")
					res := b.get(t, seller, "/tickets/"+itoa(id))
					requireElementText(t, res.HTML, "h1", title)
				}
			})

			t.Run("Trimmed", func(t *testing.T) {
				id := b.listTicket(t, seller, "  \tPadded title \n ", "5")
				require.Equal(t, "Padded title", b.listingNow(t, id).Title())
				requireElementText(t, b.get(t, seller, "/tickets/"+itoa(id)).HTML, "h1", "Padded title")
			})
		})

		t.Run("PriceValidation", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			const (
				enter    = "Enter a price."
				format   = "Enter a price like 30, 30.50, 30,50 or $1,250.00."
				positive = "The price must be more than 0."
				decimals = "Use at most two decimal places."
				tooHigh  = "The price must be at most 100000.00."
			)
			tests := []struct{ name, price, message string }{
				{"Empty", "", enter},
				{"Zero", "0", positive},
				{"ZeroWithDecimals", "0.00", positive},
				{"Negative", "-5", positive},
				{"Letters", "abc", format},
				{"Exponent", "1e309", format},
				{"ThreeDecimals", "1.234", decimals},
				{"OverMaximum", "100000.01", tooHigh},
				{"FarOverMaximum", "99999999999999999999999", tooHigh},
				{"NaN", "NaN", format},
				{"Hex", "0x10", format},
				{"CommaGroupsOfOne", "1,2,3", format},
				{"Plus", "+5", format},
				{"TwoCurrencies", "$30 USD", format},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					res := b.postForm(t, seller, "/tickets", url.Values{"title": {"Opera"}, "price": {tt.price}})
					requireStatus(t, res, http.StatusUnprocessableEntity)
					requireFullPage(t, res)
					requireFieldError(t, res.HTML, "price", tt.message)
					requireFieldOK(t, res.HTML, "event_name")
					requireFieldOK(t, res.HTML, "face_value")
					requireFieldValue(t, res.HTML, "event_name", "Opera")
					requireFieldValue(t, res.HTML, "price", tt.price)
				})
			}
			t.Run("BothInvalid", func(t *testing.T) {
				res := b.postForm(t, seller, "/tickets", url.Values{"title": {" "}, "price": {"abc"}})
				requireStatus(t, res, http.StatusUnprocessableEntity)
				requireFieldError(t, res.HTML, "event_name", "Enter the event’s name, or pick an event above.")
				requireFieldError(t, res.HTML, "price", format)
				requireFieldValue(t, res.HTML, "price", "abc")
			})
			requireNoTickets(t, b, "seller@example.com")
		})

		t.Run("PriceShownWithTwoDecimals", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			for _, tt := range []struct {
				price string
				units int64
				shown string
			}{
				{"30", 3000, "$30.00"},
				{"30.5", 3050, "$30.50"},
				{"0.01", 1, "$0.01"},
				{" 12.34 ", 1234, "$12.34"},
				{"100000", 100000_00, "$100,000.00"},
				{"100000.00", 100000_00, "$100,000.00"},
				{"20,5", 2050, "$20.50"},
				{"$1,250.00", 125000, "$1,250.00"},
			} {
				id := b.listTicket(t, seller, "Price "+tt.price, tt.price)
				tk := b.listingNow(t, id)
				require.Equal(t, tt.units, tk.Price, "price %q in minor units", tt.price)
				require.Equal(t, "usd", tk.Currency)
				res := b.get(t, seller, "/tickets/"+itoa(id))
				requireStatus(t, res, http.StatusOK)
				require.Contains(t, textOf(requireElement(t, res.HTML, ".prices")), "face value "+tt.shown+" · asking "+tt.shown)
				require.Equal(t, []homeEvent{{tk.Event.ID, "Price " + strings.TrimSpace(tt.price), "1 ticket from " + tt.shown, id}},
					homeEvents(t, b.get(t, newClient(t), "/?q="+url.QueryEscape(tt.price)).HTML))
			}
		})

		t.Run("Edit", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			id := b.listTicket(t, seller, "Opera", "30")
			path := "/tickets/" + itoa(id)

			form := b.get(t, seller, path+"/edit")
			requireStatus(t, form, http.StatusOK)
			requireElement(t, form.HTML, `form#ticket-form[method="post"][action="`+path+`"]`)
			requireFieldValue(t, form.HTML, "note", "")
			requireFieldValue(t, form.HTML, "price", "30.00")

			// Wave 1's edit, a title and a price: the title is the note
			// now, and the face value stays.
			res := b.postForm(t, seller, path, url.Values{"title": {" Stalls, row 2 "}, "price": {"35.5"}})
			requireRedirect(t, res, path)
			page := b.get(t, seller, path)
			requireElementText(t, page.HTML, "h1", "Opera")
			requireElementText(t, page.HTML, ".note", "Stalls, row 2")
			require.Contains(t, textOf(requireElement(t, page.HTML, ".prices")), "face value $30.00 · asking $35.50")
			require.Contains(t, page.HTML, "Your changes are saved.")
			require.Equal(t, []homeEvent{{b.listingNow(t, id).Event.ID, "Opera", "1 ticket from $35.50", id}},
				homeEvents(t, b.get(t, newClient(t), "/").HTML))
		})

		t.Run("EditInvalid", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			id := b.listTicket(t, seller, "Opera", "30")
			path := "/tickets/" + itoa(id)

			res := b.postForm(t, seller, path, url.Values{"note": {strings.Repeat("n", 201)}, "price": {"1.234"}})
			requireStatus(t, res, http.StatusUnprocessableEntity)
			requireElement(t, res.HTML, `form#ticket-form[action="`+path+`"]`, "the edit form, not a new ticket's")
			requireFieldError(t, res.HTML, "note", "Use at most 200 characters.")
			requireFieldError(t, res.HTML, "price", "Use at most two decimal places.")
			requireFieldValue(t, res.HTML, "price", "1.234")
			requireTicket(t, b, id, "Opera", "", 3000)
		})

		t.Run("EditByAnotherUser", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			id := b.listTicket(t, seller, "Opera", "30")
			path := "/tickets/" + itoa(id)
			other := b.signUp(t, "other@example.com")

			res := b.get(t, other, path+"/edit")
			requireNotFound(t, res)
			res = b.postForm(t, other, path, url.Values{"title": {"Mine now"}, "price": {"1"}})
			requireNotFound(t, res)
			requireTicket(t, b, id, "Opera", "", 3000)
		})

		t.Run("EditHeld", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			id := b.listTicket(t, seller, "Opera", "30")
			path := "/tickets/" + itoa(id)
			orderID := b.buyOK(t, b.signUp(t, "buyer@example.com"), id)

			// While a buyer holds the ticket its price and note may change,
			// not its face value.
			res := b.get(t, seller, path+"/edit")
			requireStatus(t, res, http.StatusOK)
			requireElement(t, res.HTML, "input#face_value[readonly]")
			res = b.postForm(t, seller, path, url.Values{"price": {"25"}, "face_value": {"25"}})
			requireStatus(t, res, http.StatusUnprocessableEntity)
			requireFieldError(t, res.HTML, "face_value", "Buyers hold or bought some of these tickets, so their face value stays as it is.")
			requireTicket(t, b, id, "Opera", "", 3000)
			requireRedirect(t, b.postForm(t, seller, path, url.Values{"title": {"Cheaper"}, "price": {"25"}}), path)
			requireTicket(t, b, id, "Opera", "Cheaper", 2500)
			requireElement(t, b.get(t, seller, path).HTML, `a[href="`+path+`/edit"]`)
			held, err := b.store.HeldBy(t.Context(), id, b.userID(t, "buyer@example.com"), b.clock.Now())
			require.NoError(t, err)
			require.Equal(t, orderID, held.ID)
			require.Equal(t, int64(3000), held.Amount, "the hold keeps its price")
		})

		t.Run("EditSold", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			id := b.listTicket(t, seller, "Opera", "30")
			path := "/tickets/" + itoa(id)
			orderID := b.buyOK(t, b.signUp(t, "buyer@example.com"), id)
			sell(t, b, orderID, 3000)

			const message = "This ticket is sold and can no longer be edited."
			res := b.get(t, seller, path+"/edit")
			requireStatus(t, res, http.StatusConflict)
			requireFullPage(t, res)
			require.Equal(t, message, alertMessage(t, res.HTML))
			requireNoElement(t, res.HTML, "#ticket-form")
			res = b.postForm(t, seller, path, url.Values{"title": {"Resold"}, "price": {"99"}})
			requireStatus(t, res, http.StatusConflict)
			require.Equal(t, message, alertMessage(t, res.HTML))
			requireTicket(t, b, id, "Opera", "", 3000)

			// HTMX gets the page's main content, retargeted to replace it.
			res = b.postForm(t, seller, path, url.Values{"title": {"Resold"}, "price": {"99"}}, htmx)
			requireStatus(t, res, http.StatusConflict)
			require.Equal(t, "#main", res.Header.Get("HX-Retarget"))
			requireFragment(t, res, `<article class="listing">`)
			require.Equal(t, message, alertMessage(t, res.HTML))
			requireTicket(t, b, id, "Opera", "", 3000)

			require.Contains(t, b.get(t, newClient(t), path).HTML, "This ticket has been sold.")
			require.Contains(t, b.get(t, seller, path).HTML, "It can no longer be edited.")
		})

		t.Run("UnknownIDs", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			b.listTicket(t, seller, "Opera", "30")
			for _, id := range []string{"999999", "0", "-1", "abc", "1.5", "99999999999999999999", "%20"} {
				requireNotFound(t, b.get(t, newClient(t), "/tickets/"+id))
				requireNotFound(t, b.get(t, seller, "/tickets/"+id))
				requireNotFound(t, b.get(t, seller, "/tickets/"+id+"/edit"))
				requireNotFound(t, b.postForm(t, seller, "/tickets/"+id, url.Values{"title": {"X"}, "price": {"1"}}))
			}
		})
	})
}

func TestHTMX(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		seller := b.signUp(t, "seller@example.com")
		buyer := b.signUp(t, "buyer@example.com")

		t.Run("SuccessfulPostAnswersHXRedirect", func(t *testing.T) {
			res := b.postForm(t, seller, "/tickets", url.Values{"title": {"Ballet"}, "price": {"20"}}, htmx)
			requireStatus(t, res, http.StatusOK)
			require.Empty(t, res.location(), "no 303 for HTMX")
			redirect := res.Header.Get("HX-Redirect")
			require.Regexp(t, `^/tickets/\d+$`, redirect)
			requireElementText(t, b.get(t, seller, redirect).HTML, "h1", "Ballet")
			ticketID, ok := pathID(redirect, "/tickets/")
			require.True(t, ok)

			res = b.buy(t, buyer, ticketID, htmx)
			requireStatus(t, res, http.StatusOK)
			require.Regexp(t, `^/orders/\d+$`, res.Header.Get("HX-Redirect"))

			orderPath := res.Header.Get("HX-Redirect")
			res = b.postForm(t, buyer, orderPath+"/cancel", nil, htmx)
			requireStatus(t, res, http.StatusOK)
			require.Equal(t, orderPath, res.Header.Get("HX-Redirect"))

			c := newClient(t)
			res = b.postForm(t, c, "/signup", url.Values{"email": {"new@example.com"}, "password": {password}}, htmx)
			requireStatus(t, res, http.StatusOK)
			require.Equal(t, "/", res.Header.Get("HX-Redirect"))
			res = b.postForm(t, c, "/signout", nil, htmx)
			requireStatus(t, res, http.StatusOK)
			require.Equal(t, "/", res.Header.Get("HX-Redirect"))
			requireSignedOut(t, b.get(t, c, "/").HTML)
			res = b.signIn(t, c, "new@example.com", htmx)
			requireStatus(t, res, http.StatusOK)
			require.Equal(t, "/", res.Header.Get("HX-Redirect"))
			requireSignedInAs(t, b.get(t, c, "/").HTML, "new@example.com")
		})

		t.Run("InvalidPostAnswersFormFragment", func(t *testing.T) {
			res := b.postForm(t, seller, "/tickets", url.Values{"title": {""}, "price": {"abc"}}, htmx)
			requireStatus(t, res, http.StatusUnprocessableEntity)
			requireFragment(t, res, `<form id="ticket-form"`)
			requireFieldError(t, res.HTML, "event_name", "Enter the event’s name, or pick an event above.")
			requireFieldError(t, res.HTML, "price", "Enter a price like 30, 30.50, 30,50 or $1,250.00.")
			requireFieldValue(t, res.HTML, "price", "abc")

			res = b.postForm(t, newClient(t), "/signup", url.Values{"email": {"nope"}, "password": {password}}, htmx)
			requireStatus(t, res, http.StatusUnprocessableEntity)
			requireFragment(t, res, `<form id="signup-form"`)
			requireFieldError(t, res.HTML, "email", "Enter a valid email address, like name@example.com.")
			requireFieldValue(t, res.HTML, "email", "nope")

			res = b.postForm(t, newClient(t), "/signin", url.Values{"email": {"seller@example.com"}, "password": {"wrong password"}}, htmx)
			requireStatus(t, res, http.StatusUnprocessableEntity)
			requireFragment(t, res, `<form id="signin-form"`)
			require.Equal(t, "That email and password do not match an account.", alertMessage(t, res.HTML))
		})

		t.Run("ConflictAnswersBuyFragment", func(t *testing.T) {
			id := b.listTicket(t, seller, "Own ticket", "5")
			res := b.buy(t, seller, id, htmx)
			requireStatus(t, res, http.StatusConflict)
			requireFragment(t, res, `<div id="buy">`)
			require.Equal(t, "This is your own ticket: you cannot buy it.", alertMessage(t, res.HTML))
		})

		t.Run("ListingVariesByHXRequest", func(t *testing.T) {
			full := b.get(t, newClient(t), "/")
			requireStatus(t, full, http.StatusOK)
			requireFullPage(t, full)
			requireVary(t, full, "HX-Request")

			// So does every other page that can answer with a fragment.
			listing := homeEvents(t, full.HTML)[0]
			for _, path := range []string{"/tickets/" + itoa(listing.Listing), "/events/" + itoa(listing.ID), "/signin", "/signup"} {
				for _, opts := range [][]reqOption{nil, {htmx}} {
					res := b.get(t, newClient(t), path, opts...)
					requireStatus(t, res, http.StatusOK)
					requireVary(t, res, "HX-Request")
				}
			}

			fragment := b.get(t, newClient(t), "/?q=own", htmx)
			requireStatus(t, fragment, http.StatusOK)
			requireVary(t, fragment, "HX-Request")
			requireFragment(t, fragment, `<section id="listing"`)
			require.Len(t, homeEvents(t, fragment.HTML), 1)
		})

		t.Run("HistoryRestoreGetsFullPage", func(t *testing.T) {
			res := b.get(t, newClient(t), "/?q=own", htmx, withHeader("HX-History-Restore-Request", "true"))
			requireStatus(t, res, http.StatusOK)
			requireFullPage(t, res)
			requireVary(t, res, "HX-Request")
			require.Len(t, homeEvents(t, res.HTML), 1)
		})
	})
}

// pageLink returns the href of a listing page's rel="prev" or rel="next"
// link, or "" when there is none.
func pageLink(page, rel string) string {
	return doc(page).Find(`a[rel="`+rel+`"][href]`).AttrOr("href", "")
}

// requireVary checks that a response names header in Vary.
func requireVary(t *testing.T, res *response, header string) {
	t.Helper()
	for _, v := range res.Header.Values("Vary") {
		for _, name := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(name), header) {
				return
			}
		}
	}
	require.Failf(t, "missing Vary", "%s %s: Vary %q does not name %s", res.Request.Method, res.Request.URL, res.Header.Values("Vary"), header)
}

// requireNotFound checks for the 404 page.
func requireNotFound(t *testing.T, res *response) {
	t.Helper()
	requireStatus(t, res, http.StatusNotFound)
	requireFullPage(t, res)
	requireElementText(t, res.HTML, "h1", "Not found")
}

// requireTicket checks a listing's stored title (its event's name), note and
// price. The form's title field names the event of a new listing and edits
// the note of an existing one.
func requireTicket(t *testing.T, b *testBundle, id int64, title, note string, price int64) {
	t.Helper()
	tk, err := b.store.Listing(t.Context(), id, time.Now())
	require.NoError(t, err)
	require.Equal(t, title, tk.Title())
	require.Equal(t, note, tk.Note)
	require.Equal(t, price, tk.Price)
}

// requireNoTickets checks that a seller has listed nothing.
func requireNoTickets(t *testing.T, b *testBundle, email string) {
	t.Helper()
	tickets, err := b.store.SellerListings(t.Context(), b.userID(t, email), time.Now())
	require.NoError(t, err)
	require.Empty(t, tickets)
}

// sell records a payment for an order through the store, as the payment
// webhook's job does, which sells the order's ticket.
func sell(t *testing.T, b *testBundle, orderID, amount int64) {
	t.Helper()
	b.useSession(t, orderID, "cs_test_"+itoa(orderID))
	err := b.store.RecordPayment(t.Context(), store.Payment{
		OrderID:         orderID,
		SessionID:       "cs_test_" + itoa(orderID),
		PaymentIntentID: "pi_test_" + itoa(orderID),
		Amount:          amount,
		Currency:        "usd",
	}, now())
	require.NoError(t, err)
}
