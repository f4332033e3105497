package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
)

// signInToBuy is the sign-in page that requireUser sends a signed-out Buy to:
// back to next, holding the ticket once signed in.
func signInToBuy(next string, ticketID int64) string {
	return signInTo(next) + "&buy=" + itoa(ticketID)
}

// ordersOf counts the orders of the account with the email.
func (b *testBundle) ordersOf(t *testing.T, email string) int {
	t.Helper()
	orders, err := b.store.OrdersByBuyer(t.Context(), b.userID(t, email))
	require.NoError(t, err)
	return len(orders)
}

// TestYourOwnHold: the buyer who holds a ticket sees so on its page, with the
// time left and the way to their order, and pressing Buy again leads to that
// order; nobody else is ever shown the hold as theirs.
func TestYourOwnHold(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		seller := b.signUp(t, "seller@example.com")
		ann := b.signUp(t, "ann@example.com")
		bob := b.signUp(t, "bob@example.com")
		ticketID := b.listTicket(t, seller, "Jazz night", "30")
		ticketPath := "/tickets/" + itoa(ticketID)
		orderID := b.buyOK(t, ann, ticketID)
		orderPath := "/orders/" + itoa(orderID)

		b.clock.Advance(b.hold / 4) // 0:45 left of the minute
		for _, opt := range []reqOption{func(*http.Request) {}, htmx} {
			page := b.get(t, ann, ticketPath, opt)
			requireStatus(t, page, http.StatusOK)
			requireElementText(t, page.HTML, "#your-hold",
				"Held You are holding this ticket — 00:45 left — Continue to payment")
			requireElementText(t, page.HTML, `#your-hold a[href="`+orderPath+`"]`, "Continue to payment")
			requireElement(t, page.HTML, `#your-hold .countdown[data-expires-at][role="timer"]`)
			require.NotContains(t, page.HTML, `action="/orders"`, "no Buy button for the holder")
		}

		// Nobody else: another buyer, the seller, a signed-out visitor.
		for name, c := range map[string]*http.Client{"bob": bob, "seller": seller, "signed out": newClient(t)} {
			page := b.get(t, c, ticketPath)
			requireStatus(t, page, http.StatusOK)
			require.NotContains(t, page.HTML, "You are holding", name)
			requireNoElement(t, page.HTML, "#your-hold", name)
			require.NotContains(t, page.HTML, orderPath, name)
			require.Contains(t, page.HTML, "A buyer is holding this ticket until", name)
		}

		// Buy again (say after going Back): her own order, not a refusal
		// and not a second order; HTMX is sent there too.
		requireRedirect(t, b.buy(t, ann, ticketID), orderPath)
		res := b.buy(t, ann, ticketID, htmx)
		requireStatus(t, res, http.StatusOK)
		require.Equal(t, orderPath, res.Header.Get("HX-Redirect"))
		require.Equal(t, 1, b.ordersOf(t, "ann@example.com"))

		// Bob is still refused, and shown nothing of ann's order.
		res = b.buy(t, bob, ticketID)
		requireStatus(t, res, http.StatusConflict)
		require.Contains(t, res.HTML, "Another buyer is holding this ticket right now")
		require.NotContains(t, res.HTML, orderPath)
		require.Zero(t, b.ordersOf(t, "bob@example.com"))

		// Once her hold has ended it is no longer hers: the page offers Buy
		// to everyone, and her Buy makes a new order.
		b.endHold()
		page := b.get(t, ann, ticketPath)
		requireNoElement(t, page.HTML, "#your-hold")
		requireElement(t, page.HTML, `form[action="/orders"] input[name="ticket_id"][value="`+itoa(ticketID)+`"]`)
		second := b.buyOK(t, ann, ticketID)
		require.NotEqual(t, orderID, second)

		// Once she cancels, the page no longer says she holds it.
		requireRedirect(t, b.postForm(t, ann, "/orders/"+itoa(second)+"/cancel", nil), "/orders/"+itoa(second))
		requireNoElement(t, b.get(t, ann, ticketPath).HTML, "#your-hold")
	})
}

// TestAvailabilityNotCached: the pages that show whether tickets are for
// sale are never kept by the browser (so going Back fetches them again),
// whether rendered, kept by the listing cache, gzipped or HTMX fragments;
// static files keep their long cache.
func TestAvailabilityNotCached(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		seller := b.signUp(t, "seller@example.com")
		ann := b.signUp(t, "ann@example.com")
		for i := range 30 { // a listing big enough to be gzipped
			b.listTicket(t, seller, "Concert number "+itoa(int64(i)), "30")
		}
		ticketID := b.listTicket(t, seller, "Jazz night", "30")
		orderID := b.buyOK(t, ann, ticketID)

		gzip := withHeader("Accept-Encoding", "gzip")
		signedOut := newClient(t)
		for _, tt := range []struct {
			c    *http.Client
			path string
			opts []reqOption
		}{
			{signedOut, "/", nil},
			{signedOut, "/", nil}, // from the listing cache
			{signedOut, "/", []reqOption{gzip}},
			{signedOut, "/", []reqOption{gzip}}, // kept gzipped
			{signedOut, "/", []reqOption{htmx}},
			{signedOut, "/?page=2", nil},
			{ann, "/", []reqOption{gzip}},
			{signedOut, "/tickets/" + itoa(ticketID), nil},
			{ann, "/tickets/" + itoa(ticketID), []reqOption{htmx}},
			{seller, "/my/tickets", []reqOption{gzip}},
			{seller, "/my/tickets", []reqOption{htmx}},
			{ann, "/orders/" + itoa(orderID), nil},
			{ann, "/orders/" + itoa(orderID), []reqOption{htmx}},
		} {
			res := b.get(t, tt.c, tt.path, tt.opts...)
			requireStatus(t, res, http.StatusOK)
			require.Equal(t, "no-store", res.Header.Get("Cache-Control"), "%s %v", tt.path, res.Header)
		}
		res := b.get(t, signedOut, "/", gzip)
		require.Equal(t, "gzip", res.Header.Get("Content-Encoding"), "the kept listing is still gzipped")

		css, ok := doc(b.get(t, signedOut, "/").HTML).Find(`link[rel="stylesheet"]`).Last().Attr("href")
		require.True(t, ok)
		res = b.get(t, signedOut, css, gzip)
		requireStatus(t, res, http.StatusOK)
		require.Contains(t, res.Header.Get("Cache-Control"), "immutable")
	})
}

// TestResumePurchase: Buy while signed out, then sign in or up, holds the
// ticket at once when it is still free, and otherwise shows its page saying
// why; only a Buy for a real ticket is carried, nothing is kept for the
// signed-out visitor, and only a sign-in or sign-up POST buys.
func TestResumePurchase(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setupWith(t, dialect, bundleOpts{storeOptions: []store.Option{store.WithMaxHolds(2)}})
		seller := b.signUp(t, "seller@example.com")
		ann := b.signUp(t, "ann@example.com")
		bob := b.signUp(t, "bob@example.com")
		list := func(title string) (int64, string) {
			id := b.listTicket(t, seller, title, "30")
			return id, "/tickets/" + itoa(id)
		}
		// buySignedOut presses Buy on a ticket's page while signed out.
		buySignedOut := func(t *testing.T, ticketID int64) (*http.Client, *response) {
			t.Helper()
			c := newClient(t)
			path := "/tickets/" + itoa(ticketID)
			res := b.postForm(t, c, "/orders", url.Values{"ticket_id": {itoa(ticketID)}}, withHeader("Referer", b.url(path)))
			requireRedirect(t, res, signInToBuy(path, ticketID))
			require.Nil(t, sessionCookie(res))
			return c, res
		}

		t.Run("Free", func(t *testing.T) {
			id, path := list("Free")
			sessions := b.sessionRows(t)
			c, res := buySignedOut(t, id)
			page := b.get(t, c, res.location())
			require.Nil(t, sessionCookie(page))
			require.Equal(t, sessions, b.sessionRows(t), "nothing kept for the signed-out visitor")
			requireElementText(t, page.HTML, "#resume-purchase a[href=\""+path+"\"]", "Free")
			requireElementText(t, page.HTML, "#resume-purchase",
				"Sign in to buy 1 ticket for Free ($30.00): we hold it for you straight away if it is still for sale.")
			requireFieldValue(t, page.HTML, "buy", itoa(id))
			require.Zero(t, b.ordersOf(t, "ann@example.com"), "showing the sign-in page buys nothing")

			res = b.signInThrough(t, c, res, "ann@example.com")
			orderID := idFromLocation(t, res, "/orders/")
			o, err := b.store.Order(t.Context(), orderID, b.userID(t, "ann@example.com"))
			require.NoError(t, err)
			require.Equal(t, id, o.ListingID)
			require.Equal(t, store.Pending, o.State(b.clock.Now()))
			requireStatus(t, b.get(t, c, res.location()), http.StatusOK)
		})

		t.Run("FreeThroughHTMX", func(t *testing.T) {
			id, _ := list("Through HTMX")
			c, res := buySignedOut(t, id)
			res = b.postForm(t, c, "/signin", url.Values{"email": {"bob@example.com"}, "password": {password},
				"next": {"/tickets/" + itoa(id)}, "buy": {itoa(id)}}, htmx)
			requireStatus(t, res, http.StatusOK)
			orderPath := res.Header.Get("HX-Redirect")
			require.True(t, strings.HasPrefix(orderPath, "/orders/"), orderPath)
			requireStatus(t, b.get(t, c, orderPath), http.StatusOK)
			b.endHold() // free bob's hold limit for the other cases
		})

		t.Run("SignUp", func(t *testing.T) {
			id, path := list("Sign up")
			c, res := buySignedOut(t, id)
			signin := b.get(t, c, res.location())
			link, ok := doc(signin.HTML).Find(`a[href^="/signup"]`).Last().Attr("href")
			require.True(t, ok)
			require.Equal(t, "/signup?buy="+itoa(id)+"&next="+url.QueryEscape(path), link)
			signup := b.get(t, c, link)
			requireFieldValue(t, signup.HTML, "buy", itoa(id))
			requireFieldValue(t, signup.HTML, "next", path)
			requireElementText(t, signup.HTML, "#resume-purchase a[href=\""+path+"\"]", "Sign up")
			// Back to the sign-in page keeps it too.
			require.Contains(t, signup.HTML, `href="/signin?buy=`+itoa(id)+`&amp;next=`)

			res = b.postForm(t, c, "/signup", url.Values{"email": {"carol@example.com"}, "password": {password},
				"next": {path}, "buy": {itoa(id)}})
			orderPath := "/orders/" + itoa(idFromLocation(t, res, "/orders/"))
			page := b.get(t, c, orderPath)
			requireSignedInAs(t, page.HTML, "carol@example.com")
			require.Contains(t, page.HTML, "Welcome to EventHive!")
			require.Equal(t, 1, b.ordersOf(t, "carol@example.com"))
		})

		// Each case: who signs in, after what happened to the ticket, and
		// what its page then says.
		for _, tt := range []struct {
			name, email string
			before      func(t *testing.T, ticketID int64)
			says        string
		}{
			{"HeldBySomeoneElse", "ann@example.com", func(t *testing.T, id int64) { b.buyOK(t, bob, id) },
				"Another buyer is holding this ticket right now. If they do not pay in time, it comes back on sale."},
			{"Sold", "ann@example.com", func(t *testing.T, id int64) { sell(t, b, b.buyOK(t, bob, id), 3000) },
				"Sorry, this ticket has just been sold."},
			{"OwnTicket", "seller@example.com", func(*testing.T, int64) {},
				"This is your own ticket: you cannot buy it."},
			{"HoldLimit", "ann@example.com", func(t *testing.T, _ int64) {
				_, p1 := list("Limit one")
				_, p2 := list("Limit two")
				for _, p := range []string{p1, p2} {
					b.buyOK(t, ann, idFromPath(t, p))
				}
			}, "You already hold 2 tickets: pay or cancel one first."},
		} {
			t.Run(tt.name, func(t *testing.T) {
				id, path := list(tt.name)
				c, res := buySignedOut(t, id)
				tt.before(t, id)
				orders := b.ordersOf(t, tt.email)
				res = b.signInThrough(t, c, res, tt.email)
				requireRedirect(t, res, path)
				page := b.get(t, c, path)
				requireStatus(t, page, http.StatusOK)
				requireSignedInAs(t, page.HTML, tt.email)
				requireElementText(t, page.HTML, ".flash", tt.says)
				require.Equal(t, orders, b.ordersOf(t, tt.email), "no order made")
			})
		}

		t.Run("OwnHold", func(t *testing.T) {
			b.endHold() // ann's holds from HoldLimit end
			id, _ := list("Own hold")
			orderID := b.buyOK(t, ann, id) // on her laptop
			c, res := buySignedOut(t, id)  // on her phone, signed out
			requireRedirect(t, b.signInThrough(t, c, res, "ann@example.com"), "/orders/"+itoa(orderID))
			orders, err := b.store.OrdersByBuyer(t.Context(), b.userID(t, "ann@example.com"))
			require.NoError(t, err)
			require.Equal(t, orderID, orders[0].ID, "no second order")
		})

		t.Run("BogusTicketNotCarried", func(t *testing.T) {
			for _, bogus := range []string{"", "abc", "0", "-3", "1e3", "99999999", "9999999999999999999999", " 1"} {
				c := newClient(t)
				res := b.postForm(t, c, "/orders", url.Values{"ticket_id": {bogus}}, withHeader("Referer", b.url("/")))
				requireRedirect(t, res, signInTo("/"))
				require.Nil(t, sessionCookie(res))
				requireNoElement(t, b.get(t, c, res.location()).HTML, "input#buy", "ticket_id %q", bogus)
			}
		})

		t.Run("ForgedBuyNotBought", func(t *testing.T) {
			orders := b.ordersOf(t, "bob@example.com")
			for _, bogus := range []string{"abc", "0", "-1", "99999999", "1 OR 1=1"} {
				// The pages drop it...
				page := b.get(t, newClient(t), "/signin?next=%2F&buy="+url.QueryEscape(bogus))
				requireStatus(t, page, http.StatusOK)
				requireNoElement(t, page.HTML, "input#buy", "buy %q", bogus)
				requireNoElement(t, page.HTML, "#resume-purchase", "buy %q", bogus)
				// ...and a sign-in posting it just signs in.
				res := b.postForm(t, newClient(t), "/signin", url.Values{"email": {"bob@example.com"},
					"password": {password}, "next": {"/orders"}, "buy": {bogus}})
				requireRedirect(t, res, "/orders")
			}
			require.Equal(t, orders, b.ordersOf(t, "bob@example.com"))
		})

		t.Run("NeverFromGET", func(t *testing.T) {
			id, _ := list("Never from GET")
			orders := b.ordersOf(t, "ann@example.com")
			for _, path := range []string{"/signin?buy=" + itoa(id), "/signup?buy=" + itoa(id), "/?buy=" + itoa(id),
				"/signin?next=%2F&buy=" + itoa(id) + "&email=ann%40example.com&password=" + url.QueryEscape(password)} {
				requireStatus(t, b.get(t, ann, path), http.StatusOK)
			}
			require.Equal(t, orders, b.ordersOf(t, "ann@example.com"))
			tk, err := b.store.Listing(t.Context(), id, time.Now())
			require.NoError(t, err)
			require.Equal(t, store.ForSale, tk.State(b.clock.Now()))
		})

		t.Run("FailedSignInKeepsBuy", func(t *testing.T) {
			id, _ := list("Wrong password")
			c, res := buySignedOut(t, id)
			page := b.postForm(t, c, "/signin", url.Values{"email": {"ann@example.com"}, "password": {"wrong password"},
				"next": {"/"}, "buy": {itoa(id)}}, htmx)
			requireStatus(t, page, http.StatusUnprocessableEntity)
			requireFieldValue(t, page.HTML, "buy", itoa(id))
			require.Nil(t, sessionCookie(res))
		})
	})
}

// idFromPath reads the id at the end of a path such as /tickets/7.
func idFromPath(t *testing.T, path string) int64 {
	t.Helper()
	id, ok := pathID(path, "/tickets/")
	require.True(t, ok, path)
	return id
}

// submit posts the form of a page that the selector names as a browser
// would: its named inputs and the chosen option of each select.
func (b *testBundle) submit(t *testing.T, c *http.Client, page, selector string) *response {
	t.Helper()
	form := requireElement(t, page, selector).First()
	values := url.Values{}
	form.Find("input[name]").Each(func(_ int, in *goquery.Selection) {
		values.Add(in.AttrOr("name", ""), in.AttrOr("value", ""))
	})
	form.Find("select[name]").Each(func(_ int, sel *goquery.Selection) {
		chosen := sel.Find("option[selected]")
		if chosen.Length() == 0 {
			chosen = sel.Find("option")
		}
		values.Add(sel.AttrOr("name", ""), chosen.First().AttrOr("value", ""))
	})
	return b.postForm(t, c, form.AttrOr("action", ""), values)
}

// TestBuyAgain: an order that ended unpaid offers as many of its tickets
// again while they are for sale, else up to what is left, and otherwise says
// what became of them.
func TestBuyAgain(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		seller := b.signUp(t, "seller@example.com")
		ann := b.signUp(t, "ann@example.com")
		bob := b.signUp(t, "bob@example.com")
		buyAgainForm := func(ticketID int64) string {
			return `form#buy-again[method="post"][action="/orders"] input[name="ticket_id"][value="` + itoa(ticketID) + `"]`
		}
		// eventOf is the path of a listing's event.
		eventOf := func(listingID int64) string { return "/events/" + itoa(b.listingNow(t, listingID).Event.ID) }
		// cancelled is the page of ann's order of quantity tickets of a
		// listing, which she cancelled.
		cancelled := func(t *testing.T, listingID int64, quantity int) string {
			t.Helper()
			orderPath := "/orders/" + itoa(b.buyN(t, ann, listingID, quantity))
			requireRedirect(t, b.postForm(t, ann, orderPath+"/cancel", nil), orderPath)
			return orderPath
		}

		t.Run("Cancelled", func(t *testing.T) {
			id := b.listTicket(t, seller, "Cancelled", "30")
			orderPath := "/orders/" + itoa(b.buyOK(t, ann, id))
			requireNoElement(t, b.get(t, ann, orderPath).HTML, "#buy-again", "not while pending")
			requireRedirect(t, b.postForm(t, ann, orderPath+"/cancel", nil), orderPath)
			page := b.get(t, ann, orderPath)
			requireElement(t, page.HTML, buyAgainForm(id))
			requireElementText(t, page.HTML, "#buy-again button", "Buy again — $30.00, we hold it for you for 1 minute")

			// Pressing it: a new order.
			res := b.buy(t, ann, id)
			again := idFromLocation(t, res, "/orders/")
			require.NotEqual(t, orderPath, res.location())
			// The old order now leads to the new one.
			page = b.get(t, ann, orderPath)
			requireNoElement(t, page.HTML, "form#buy-again")
			requireElementText(t, page.HTML, `#buy-again a[href="/orders/`+itoa(again)+`"]`, "order #"+itoa(again))
		})

		t.Run("WithdrawnSince", func(t *testing.T) {
			id := b.listTicket(t, seller, "Withdrawn since", "30")
			orderPath := "/orders/" + itoa(b.buyOK(t, ann, id))
			requireRedirect(t, b.postForm(t, ann, orderPath+"/cancel", nil), orderPath)
			requireRedirect(t, b.postForm(t, seller, "/tickets/"+itoa(id)+"/withdraw", nil), "/my/tickets")
			page := b.get(t, ann, orderPath)
			requireNoElement(t, page.HTML, "form#buy-again")
			requireElementText(t, page.HTML, "#buy-again", "The seller has withdrawn this ticket. See the other tickets for this event")
			requireElement(t, page.HTML, `#buy-again a[href="`+eventOf(id)+`"]`)
		})

		t.Run("Expired", func(t *testing.T) {
			id := b.listTicket(t, seller, "Expired", "30")
			orderPath := "/orders/" + itoa(b.buyOK(t, ann, id))
			b.endHold()
			page := b.get(t, ann, orderPath)
			require.Equal(t, "expired", orderState(t, page.HTML))
			requireElement(t, page.HTML, buyAgainForm(id))

			// Bob takes it: ann's page says so and leads to the event's
			// other listings.
			bobs := b.buyOK(t, bob, id)
			page = b.get(t, ann, orderPath)
			requireNoElement(t, page.HTML, "form#buy-again")
			requireElementText(t, page.HTML, "#buy-again", "Another buyer is holding this ticket now. See the other tickets for this event")
			requireElement(t, page.HTML, `#buy-again a[href="`+eventOf(id)+`"]`)
			require.NotContains(t, page.HTML, "/orders/"+itoa(bobs))

			// He pays: sold.
			sell(t, b, bobs, 3000)
			page = b.get(t, ann, orderPath)
			requireElementText(t, page.HTML, "#buy-again", "This ticket has since been sold. See the other tickets for this event")
			requireElement(t, page.HTML, `#buy-again a[href="`+eventOf(id)+`"]`)
			// Bob's own page is his paid order: nothing to buy again.
			requireNoElement(t, b.get(t, bob, "/orders/"+itoa(bobs)).HTML, "#buy-again")
		})

		t.Run("AsManyAgain", func(t *testing.T) {
			l := b.sellOK(t, seller, with(b.newEvent(t, "As many", 24*time.Hour), "quantity", "5"))
			orderPath := cancelled(t, l.ID, 3)
			page := b.get(t, ann, orderPath)
			requireElement(t, page.HTML, buyAgainForm(l.ID))
			requireElement(t, page.HTML, `form#buy-again input[type="hidden"][name="quantity"][value="3"]`)
			requireElementText(t, page.HTML, "#buy-again button", "Buy 3 tickets again — $90.00, we hold them for you for 1 minute")

			// Pressing it holds 3 again; the old order then leads to the
			// new one.
			res := b.submit(t, ann, page.HTML, "form#buy-again")
			again := idFromLocation(t, res, "/orders/")
			o, err := b.store.Order(t.Context(), again, b.userID(t, "ann@example.com"))
			require.NoError(t, err)
			require.Equal(t, []any{l.ID, 3}, []any{o.ListingID, o.Quantity})
			page = b.get(t, ann, orderPath)
			requireNoElement(t, page.HTML, "form#buy-again")
			require.Contains(t, textOf(requireElement(t, page.HTML, "#buy-again")), "You have tickets of this listing again: see order #"+itoa(again))
			requireElementText(t, page.HTML, `#buy-again a[href="/orders/`+itoa(again)+`"]`, "order #"+itoa(again))
			requireRedirect(t, b.postForm(t, ann, "/orders/"+itoa(again)+"/cancel", nil), "/orders/"+itoa(again))
		})

		t.Run("UpToWhatIsLeft", func(t *testing.T) {
			l := b.sellOK(t, seller, with(b.newEvent(t, "Fewer left", 24*time.Hour), "quantity", "4"))
			orderPath := cancelled(t, l.ID, 3)
			b.buyN(t, bob, l.ID, 2)
			page := b.get(t, ann, orderPath)
			requireElementText(t, page.HTML, "form#buy-again p", "Only 2 of the 3 tickets you ordered are left.")
			options := requireElement(t, page.HTML, `form#buy-again select[name="quantity"] option`)
			require.Equal(t, []string{"1", "2"}, texts(options))
			require.Equal(t, "2", options.Filter("[selected]").AttrOr("value", ""), "as many as are left")
			requireElementText(t, page.HTML, "#buy-again button", "Buy again — $30.00 each")

			res := b.submit(t, ann, page.HTML, "form#buy-again")
			o, err := b.store.Order(t.Context(), idFromLocation(t, res, "/orders/"), b.userID(t, "ann@example.com"))
			require.NoError(t, err)
			require.Equal(t, 2, o.Quantity)
			require.Zero(t, b.listingNow(t, l.ID).Free)

			// Now none is left: the way on is the event's other listings.
			requireRedirect(t, b.postForm(t, ann, "/orders/"+itoa(o.ID)+"/cancel", nil), "/orders/"+itoa(o.ID))
			b.buyN(t, bob, l.ID, 2)
			page = b.get(t, ann, orderPath)
			requireNoElement(t, page.HTML, "form#buy-again")
			requireElementText(t, page.HTML, "#buy-again", "Other buyers are holding every ticket left now. See the other tickets for this event")
			requireElement(t, page.HTML, `#buy-again a[href="/events/`+itoa(l.Event.ID)+`"]`)
		})

		t.Run("SoldTogether", func(t *testing.T) {
			l := b.sellOK(t, seller, with(b.newEvent(t, "Together", 24*time.Hour), "quantity", "3", "together", "1"))
			orderPath := cancelled(t, l.ID, 3)
			requireElement(t, b.get(t, ann, orderPath).HTML, `form#buy-again input[type="hidden"][name="quantity"][value="3"]`)
			// The seller keeps 2 of them: a buyer takes those 2 or none.
			requireRedirect(t, b.postForm(t, seller, "/tickets/"+itoa(l.ID), url.Values{"price": {"30"}, "quantity": {"2"}}), "/tickets/"+itoa(l.ID))
			page := b.get(t, ann, orderPath)
			requireElementText(t, page.HTML, "form#buy-again p", "These tickets are now sold together: all 2 or none.")
			requireElement(t, page.HTML, `form#buy-again input[type="hidden"][name="quantity"][value="2"]`)
			requireNoElement(t, page.HTML, "form#buy-again select")
		})

		t.Run("EndedWithTime", func(t *testing.T) {
			// The page a buyer leaves open: on its re-fetch after the
			// countdown the hold has ended and Buy again is offered, even
			// before the expiry job has run.
			id := b.listTicket(t, seller, "Ended", "30")
			orderPath := "/orders/" + itoa(b.buyOK(t, ann, id))
			b.clock.Advance(b.hold + time.Millisecond)
			page := b.get(t, ann, orderPath, htmx)
			requireElement(t, page.HTML, buyAgainForm(id))
		})

		t.Run("EventStarted", func(t *testing.T) {
			l := b.sellOK(t, seller, b.newEvent(t, "Started", time.Hour))
			orderPath := cancelled(t, l.ID, 1)
			b.clock.Advance(time.Hour)
			page := b.get(t, ann, orderPath)
			requireNoElement(t, page.HTML, "form#buy-again")
			requireElementText(t, page.HTML, "#buy-again", "Sales closed when the event started. See the upcoming events")
			requireElement(t, page.HTML, `#buy-again a[href="/"]`)
		})
	})
}
