package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/handlers"
	"github.com/eventhive/eventhive/money"
	"github.com/eventhive/eventhive/store"
)

// withCap sets the handlers' and the store's resale cap, as main does.
func withCap(t *testing.T, percent string) bundleOpts {
	t.Helper()
	c, err := money.ParseCap(percent)
	require.NoError(t, err)
	return bundleOpts{
		configure:    func(cfg *handlers.Config) { cfg.ResaleCap = c },
		storeOptions: []store.Option{store.WithPriceCap(c.Max)},
	}
}

// listingRows are the counts of what listing tickets writes.
type listingRows struct{ events, listings, tickets int }

func (b *testBundle) rows(t *testing.T) listingRows {
	t.Helper()
	return listingRows{b.rowCount(t, "events"), b.rowCount(t, "listings"), b.rowCount(t, "tickets")}
}

func TestSell(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		t.Run("NewEvent", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			start := b.clock.Now().Add(48 * time.Hour).Truncate(time.Minute)
			res := b.postForm(t, seller, "/tickets", url.Values{
				"event_id": {""}, "event_name": {" Gala night "}, "venue": {"Olympia"}, "city": {"Paris"},
				"starts_at": {startsAt(t, start, "Europe/Paris")}, "time_zone": {"Europe/Paris"},
				"price": {"36"}, "face_value": {"30"}, "quantity": {"4"}, "note": {"Row 3"}, "together": {"0"},
			})
			requireStatus(t, res, http.StatusSeeOther)
			l := b.listingNow(t, idFromLocation(t, res, "/tickets/"))
			require.Equal(t, "Gala night", l.Event.Name)
			require.Equal(t, "Olympia", l.Event.Venue)
			require.Equal(t, "Paris", l.Event.City)
			require.Equal(t, "Europe/Paris", l.Event.TimeZone)
			require.True(t, start.Equal(l.Event.StartsAt), "starts at %s, want %s", l.Event.StartsAt, start)
			require.Equal(t, b.userID(t, "seller@example.com"), l.Event.CreatedBy)
			require.Equal(t, int64(3600), l.Price)
			require.Equal(t, int64(3000), l.FaceValue)
			require.Equal(t, "usd", l.Currency)
			require.Equal(t, 4, l.Quantity)
			require.Equal(t, 4, l.Free)
			require.Equal(t, "Row 3", l.Note)
			require.False(t, l.Together)

			page := b.get(t, seller, res.location())
			requireStatus(t, page, http.StatusOK)
			require.Contains(t, page.HTML, "Your 4 tickets are on sale.")
			requireElementText(t, page.HTML, `h1 a[href="/events/`+itoa(l.Event.ID)+`"]`, "Gala night")
			listing := textOf(requireElement(t, page.HTML, "article.listing"))
			require.Contains(t, listing, "Olympia · Paris")
			require.Contains(t, listing, "Europe/Paris")
			require.Contains(t, listing, "Row 3")
			require.Contains(t, listing, "face value $30.00 · asking $36.00")
			require.Contains(t, listing, "4 of 4 left")
			require.Equal(t, "no-store", page.Header.Get("Cache-Control"))
		})

		t.Run("ExistingEvent", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			first := b.sellOK(t, b.signUp(t, "first@example.com"), b.newEvent(t, "Gala", 24*time.Hour))
			second := b.sellOK(t, b.signUp(t, "second@example.com"), url.Values{
				"event_id": {itoa(first.Event.ID)}, "event_name": {"Ignored, as a picked event wins"},
				"price": {"25"}, "quantity": {"2"}, "together": {"0", "1"},
			})
			require.Equal(t, first.Event.ID, second.Event.ID)
			require.Equal(t, 1, b.rowCount(t, "events"))
			require.Equal(t, int64(2500), second.Price)
			require.True(t, second.Together)
		})

		t.Run("WaveOneForm", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			l := b.listingNow(t, b.listTicket(t, seller, "  Opera  ", "30"))
			require.Equal(t, "Opera", l.Title(), "the title names a new event")
			require.True(t, l.Event.StartsAt.IsZero(), "date to be announced")
			require.Equal(t, "UTC", l.Event.TimeZone)
			require.Equal(t, int64(3000), l.Price)
			require.Equal(t, int64(3000), l.FaceValue, "sold at face value")
			require.Equal(t, 1, l.Quantity)
			require.Empty(t, l.Note)
			page := b.get(t, seller, "/tickets/"+itoa(l.ID))
			require.Contains(t, page.HTML, "Your ticket is on sale.")
			require.Contains(t, textOf(requireElement(t, page.HTML, "article.listing")), "Date to be announced")

			// With an event, the title is the note.
			l = b.sellOK(t, seller, url.Values{"event_id": {itoa(l.Event.ID)}, "title": {"Box 4"}, "price": {"30"}})
			require.Equal(t, "Opera", l.Title())
			require.Equal(t, "Box 4", l.Note)
		})

		t.Run("DefaultTimeZone", func(t *testing.T) {
			t.Parallel()
			newYork, err := time.LoadLocation("America/New_York")
			require.NoError(t, err)
			b := setupWith(t, dialect, bundleOpts{configure: func(cfg *handlers.Config) { cfg.DefaultTimeZone = newYork }})
			seller := b.signUp(t, "seller@example.com")
			requireFieldValue(t, b.get(t, seller, "/tickets/new").HTML, "time_zone", "America/New_York")
			start := b.clock.Now().Add(24 * time.Hour).Truncate(time.Minute)
			l := b.sellOK(t, seller, url.Values{"event_name": {"Jazz"}, "starts_at": {startsAt(t, start, "America/New_York")}})
			require.Equal(t, "America/New_York", l.Event.TimeZone)
			require.True(t, start.Equal(l.Event.StartsAt), "starts at %s, want %s", l.Event.StartsAt, start)
		})

		t.Run("FieldErrors", func(t *testing.T) {
			t.Parallel()
			b := setupWith(t, dialect, bundleOpts{storeOptions: []store.Option{store.WithMaxHolds(4)}})
			seller := b.signUp(t, "seller@example.com")
			existing := b.sellOK(t, seller, b.newEvent(t, "Existing", 24*time.Hour))
			before := b.rows(t)
			valid := with(b.newEvent(t, "Gala", 24*time.Hour), "price", "30", "face_value", "30", "quantity", "2", "note", "Row 3")
			past := startsAt(t, b.clock.Now().Add(-time.Minute), "Europe/Paris")
			const (
				noName  = "Enter the event’s name, or pick an event above."
				badText = "contains characters that are not valid text."
				badZone = "Enter a time zone from the list, such as Europe/Paris."
				badQty  = "Choose from 1 to 20 tickets."
			)
			tests := []struct {
				name, field, message string
				form                 url.Values
			}{
				{"NoEvent", "event_name", noName, url.Values{"price": {"30"}, "note": {"Row 3"}}},
				{"BlankName", "event_name", noName, with(valid, "event_name", " \t ")},
				{"LongName", "event_name", "Use at most 120 characters.", with(valid, "event_name", strings.Repeat("é", 121))},
				{"InvisibleName", "event_name", "The name has no visible characters.", with(valid, "event_name", "\u200b")},
				{"Venue", "venue", "The venue " + badText, with(valid, "venue", "Olympia\x01")},
				{"City", "city", "The city contains invisible characters that change the direction of text. Please remove them.", with(valid, "city", "Paris\u202e")},
				{"StartFormat", "starts_at", "Enter the start as date and time, like 2030-06-21T20:00, or leave it empty if the date is to be announced.", with(valid, "starts_at", "tomorrow at 8")},
				// Clocks in Paris go from 02:00 to 03:00 on 31 March 2030.
				{"StartSkipped", "starts_at", "This time does not exist in Europe/Paris: the clocks skip it.",
					with(with(valid, "time_zone", "Europe/Paris"), "starts_at", "2030-03-31T02:30")},
				{"StartPast", "starts_at", "Enter a start in the future: sales close when the event starts.", with(valid, "starts_at", past)},
				{"Zone", "time_zone", badZone, with(valid, "time_zone", "Mars/Olympus")},
				{"ZoneLocal", "time_zone", badZone, with(valid, "time_zone", "Local")},
				{"ZonePath", "time_zone", badZone, with(valid, "time_zone", "../../etc/passwd")},
				{"Price", "price", "Enter a price like 30, 30.50, 30,50 or $1,250.00.", with(valid, "price", "abc")},
				{"NoPrice", "price", "Enter a price.", with(valid, "price", "")},
				{"FaceValue", "face_value", "The face value must be more than 0.", with(valid, "face_value", "0")},
				{"FaceValueFormat", "face_value", "Enter a face value like 30, 30.50, 30,50 or $1,250.00.", with(valid, "face_value", "thirty")},
				{"QuantityZero", "quantity", badQty, with(valid, "quantity", "0")},
				{"QuantityTooMany", "quantity", badQty, with(valid, "quantity", "21")},
				{"QuantityWord", "quantity", badQty, with(valid, "quantity", "two")},
				{"Note", "note", "Use at most 200 characters.", with(valid, "note", strings.Repeat("x", 201))},
				{"TogetherOverHoldLimit", "together", "A buyer may hold at most 4 tickets at once, so at most 4 can be sold together.",
					with(valid, "quantity", "5", "together", "1")},
				{"OverCap", "price", "The highest price allowed is 36.00 USD (20% over face value).", with(valid, "price", "36.01")},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					for _, opts := range [][]reqOption{nil, {htmx}} {
						res := b.postForm(t, seller, "/tickets", tt.form, opts...)
						requireStatus(t, res, http.StatusUnprocessableEntity)
						if opts == nil {
							requireFullPage(t, res)
						} else {
							requireFragment(t, res, `<form id="ticket-form"`)
						}
						requireFieldError(t, res.HTML, tt.field, tt.message)
						for _, field := range []string{"event_name", "venue", "city", "starts_at", "price", "face_value", "quantity", "note"} {
							if field != tt.field {
								requireFieldOK(t, res.HTML, field)
							}
							if tt.form.Has(field) {
								requireFieldValue(t, res.HTML, field, strings.TrimSpace(tt.form.Get(field)))
							}
						}
						require.Equal(t, before, b.rows(t), "nothing saved")
					}
				})
			}

			t.Run("Event", func(t *testing.T) {
				b.exec(t, `UPDATE events SET hidden_at = $1 WHERE id = $2`, b.clock.Now().UnixMilli(), existing.Event.ID)
				for _, tt := range []struct{ eventID, message string }{
					{"abc", "Pick an event from the list."},
					{"-1", "Pick an event from the list."},
					{"999999", "This event is no longer listed. Pick another."},
					{itoa(existing.Event.ID), "This event is no longer listed. Pick another."},
				} {
					res := b.postForm(t, seller, "/tickets", with(valid, "event_id", tt.eventID))
					requireStatus(t, res, http.StatusUnprocessableEntity)
					requireElementText(t, res.HTML, "#event-picker #event_id-error", tt.message, "event_id=%s", tt.eventID)
					requireFieldValue(t, res.HTML, "price", "30")
					require.Equal(t, before, b.rows(t), "nothing saved")
				}
			})
		})

		t.Run("Cap", func(t *testing.T) {
			t.Parallel()
			for _, tt := range []struct {
				cap          string
				face         string
				atCap, over  string
				message      string
				overIsRefuse bool
			}{
				{"20", "30", "36.00", "36.01", "The highest price allowed is 36.00 USD (20% over face value).", true},
				{"0", "30", "30.00", "30.01", "The highest price allowed is 30.00 USD (face value).", true},
				{"15", "19.99", "22.98", "22.99", "The highest price allowed is 22.98 USD (15% over face value).", true},
				{"none", "10", "100000.00", "", "", false},
			} {
				t.Run(tt.cap, func(t *testing.T) {
					t.Parallel()
					b := setupWith(t, dialect, withCap(t, tt.cap))
					seller := b.signUp(t, "seller@example.com")
					form := with(b.newEvent(t, "Gala", 24*time.Hour), "face_value", tt.face)
					l := b.sellOK(t, seller, with(form, "price", tt.atCap))
					require.Equal(t, tt.atCap, money.Format(l.Price))
					if !tt.overIsRefuse {
						requireElementText(t, b.get(t, seller, "/tickets/new").HTML, "#face_value-hint",
							"What one ticket cost originally, fees included; empty if that is your price.")
						return
					}
					before := b.rows(t)
					res := b.sell(t, seller, with(form, "price", tt.over))
					requireStatus(t, res, http.StatusUnprocessableEntity)
					requireFieldError(t, res.HTML, "price", tt.message)
					require.Equal(t, before, b.rows(t))

					// Every edit too.
					path := "/tickets/" + itoa(l.ID)
					res = b.postForm(t, seller, path, url.Values{"price": {tt.over}})
					requireStatus(t, res, http.StatusUnprocessableEntity)
					requireFieldError(t, res.HTML, "price", tt.message)
					require.Equal(t, l.Price, b.listingNow(t, l.ID).Price)
					res = b.postForm(t, seller, path, url.Values{"price": {tt.face}})
					requireRedirect(t, res, path)
				})
			}

			// The store's cap is the last word: a handler configured
			// without one still cannot list over it.
			t.Run("Store", func(t *testing.T) {
				t.Parallel()
				c, err := money.ParseCap("0")
				require.NoError(t, err)
				b := setupWith(t, dialect, bundleOpts{
					configure:    func(cfg *handlers.Config) { cfg.ResaleCap, _ = money.ParseCap("none") },
					storeOptions: []store.Option{store.WithPriceCap(c.Max)},
				})
				seller := b.signUp(t, "seller@example.com")
				res := b.sell(t, seller, with(b.newEvent(t, "Gala", 24*time.Hour), "price", "31"))
				requireStatus(t, res, http.StatusUnprocessableEntity)
				requireFieldError(t, res.HTML, "price", "The highest price allowed is 30.00 USD.")
				require.Equal(t, listingRows{}, b.rows(t))
			})
		})

		t.Run("Edit", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			l := b.sellOK(t, seller, with(b.newEvent(t, "Gala", 24*time.Hour), "price", "30", "face_value", "30", "quantity", "5"))
			path := "/tickets/" + itoa(l.ID)

			form := b.get(t, seller, path+"/edit")
			requireStatus(t, form, http.StatusOK)
			requireElement(t, form.HTML, `form#ticket-form[method="post"][action="`+path+`"]`)
			requireNoElement(t, form.HTML, "#event-picker", "the event stays")
			requireFieldValue(t, form.HTML, "price", "30.00")
			requireFieldValue(t, form.HTML, "face_value", "30.00")
			requireFieldValue(t, form.HTML, "quantity", "5")
			requireNoElement(t, form.HTML, "input#face_value[readonly]")

			res := b.postForm(t, seller, path, url.Values{"price": {"33.61"}, "face_value": {"28"}, "quantity": {"6"},
				"note": {"Row 9"}, "together": {"0", "1"}})
			requireStatus(t, res, http.StatusUnprocessableEntity)
			requireFieldError(t, res.HTML, "price", "The highest price allowed is 33.60 USD (20% over face value).")
			requireFieldValue(t, res.HTML, "note", "Row 9")
			require.Equal(t, l.Price, b.listingNow(t, l.ID).Price)

			requireRedirect(t, b.postForm(t, seller, path, url.Values{"price": {"33"}, "face_value": {"28"}, "quantity": {"6"},
				"note": {"Row 9"}, "together": {"0", "1"}}), path)
			edited := b.listingNow(t, l.ID)
			require.Equal(t, []any{int64(3300), int64(2800), 6, 6, "Row 9", true},
				[]any{edited.Price, edited.FaceValue, edited.Quantity, edited.Free, edited.Note, edited.Together})
			requireRedirect(t, b.postForm(t, seller, path, url.Values{"price": {"30"}, "together": {"0"}}), path)
			edited = b.listingNow(t, l.ID)
			require.Equal(t, []any{int64(3000), int64(2800), 6, "Row 9", false},
				[]any{edited.Price, edited.FaceValue, edited.Quantity, edited.Note, edited.Together}, "what is left out stays")

			// Once buyers hold some, only the price, the note and the
			// quantity down to what they hold may change.
			b.buyN(t, b.signUp(t, "buyer@example.com"), l.ID, 2)
			form = b.get(t, seller, path+"/edit")
			requireStatus(t, form, http.StatusOK)
			requireElement(t, form.HTML, "input#face_value[readonly]")
			requireElement(t, form.HTML, "input#together[disabled]")
			requireElement(t, form.HTML, `input#quantity[min="2"]`)
			require.Contains(t, textOf(requireElement(t, form.HTML, "#claimed")), "Buyers hold or bought 2 tickets of this listing.")
			for _, tt := range []struct {
				field, message string
				form           url.Values
			}{
				{"quantity", "Buyers hold or bought 2 tickets: keep at least 2.", url.Values{"price": {"30"}, "quantity": {"1"}}},
				{"face_value", "Buyers hold or bought some of these tickets, so their face value stays as it is.", url.Values{"price": {"30"}, "face_value": {"40"}}},
			} {
				res := b.postForm(t, seller, path, tt.form)
				requireStatus(t, res, http.StatusUnprocessableEntity)
				requireFieldError(t, res.HTML, tt.field, tt.message)
			}
			res = b.postForm(t, seller, path, url.Values{"price": {"30"}, "together": {"1"}})
			requireStatus(t, res, http.StatusUnprocessableEntity)
			requireElementText(t, res.HTML, "#together-error", "Buyers hold or bought some of these tickets, so this stays as it is.")
			require.Equal(t, 6, b.listingNow(t, l.ID).Quantity)

			requireRedirect(t, b.postForm(t, seller, path, url.Values{"price": {"25"}, "quantity": {"2"}, "note": {"Row 1"}}), path)
			edited = b.listingNow(t, l.ID)
			require.Equal(t, []any{int64(2500), 2, 0, "Row 1"}, []any{edited.Price, edited.Quantity, edited.Free, edited.Note})
			page := b.get(t, seller, path)
			require.Contains(t, page.HTML, "Your changes are saved.")
			require.Contains(t, textOf(requireElement(t, page.HTML, "article.listing")), "face value $28.00 · asking $25.00")
		})
	})
}

// buyN posts the Buy form for quantity tickets of a listing and returns the
// new order's id.
func (b *testBundle) buyN(t *testing.T, c *http.Client, listingID int64, quantity int) int64 {
	t.Helper()
	res := b.postForm(t, c, "/orders", url.Values{"ticket_id": {itoa(listingID)}, "quantity": {itoa(int64(quantity))}})
	requireStatus(t, res, http.StatusSeeOther)
	return idFromLocation(t, res, "/orders/")
}

func TestBuyTickets(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		t.Run("SomeOfAListing", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			buyer := b.signUp(t, "buyer@example.com")
			l := b.sellOK(t, seller, with(b.newEvent(t, "Gala", 24*time.Hour), "price", "30", "quantity", "5"))
			path := "/tickets/" + itoa(l.ID)
			requireOffered(t, b.get(t, buyer, path).HTML, "1", "2", "3", "4", "5")

			orderID := b.buyN(t, buyer, l.ID, 2)
			o, err := b.store.Order(t.Context(), orderID, b.userID(t, "buyer@example.com"))
			require.NoError(t, err)
			require.Equal(t, 2, o.Quantity)
			require.Equal(t, int64(6000), o.Amount)

			page := b.get(t, buyer, path)
			requireElementText(t, page.HTML, "#left .left", "3 of 5 left")
			require.Contains(t, textOf(requireElement(t, page.HTML, "#your-hold")), "You are holding 2 tickets")
			requireOffered(t, page.HTML, "1", "2", "3")

			// More than is left: refused, saying how many are.
			other := b.signUp(t, "other@example.com")
			res := b.postForm(t, other, "/orders", url.Values{"ticket_id": {itoa(l.ID)}, "quantity": {"4"}})
			requireStatus(t, res, http.StatusConflict)
			require.Equal(t, "Only 3 left: choose 3 or fewer.", alertMessage(t, res.HTML))
			requireOffered(t, res.HTML, "1", "2", "3")
			require.Equal(t, 1, b.rowCount(t, "orders"))

			// No quantity is one ticket.
			o, err = b.store.Order(t.Context(), b.buyOK(t, other, l.ID), b.userID(t, "other@example.com"))
			require.NoError(t, err)
			require.Equal(t, 1, o.Quantity)

			for _, quantity := range []string{"0", "21", "-1", "two", "1.5", "99999999999999999999"} {
				res := b.postForm(t, other, "/orders", url.Values{"ticket_id": {itoa(l.ID)}, "quantity": {quantity}})
				requireStatus(t, res, http.StatusUnprocessableEntity)
				require.Equal(t, "Choose from 1 to 20 tickets.", alertMessage(t, res.HTML), "quantity %q", quantity)
			}
			require.Equal(t, 2, b.rowCount(t, "orders"))

			// HTMX gets the Buy fragment.
			res = b.postForm(t, other, "/orders", url.Values{"ticket_id": {itoa(l.ID)}, "quantity": {"3"}}, htmx)
			requireStatus(t, res, http.StatusConflict)
			requireFragment(t, res, `<div id="buy">`)
			require.Equal(t, "Only 2 left: choose 2 or fewer.", alertMessage(t, res.HTML))
		})

		t.Run("Together", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			buyer := b.signUp(t, "buyer@example.com")
			l := b.sellOK(t, seller, with(b.newEvent(t, "Gala", 24*time.Hour), "quantity", "3", "together", "1"))
			page := b.get(t, buyer, "/tickets/"+itoa(l.ID))
			requireElementText(t, page.HTML, "#left .badge", "Sold together")
			requireOffered(t, page.HTML, "3")
			requireElementText(t, page.HTML, `form[action="/orders"] button`, "Buy all 3")

			for _, quantity := range []string{"1", "2"} {
				res := b.postForm(t, buyer, "/orders", url.Values{"ticket_id": {itoa(l.ID)}, "quantity": {quantity}})
				requireStatus(t, res, http.StatusConflict)
				require.Equal(t, "These 3 tickets are sold together: buy all 3 or none.", alertMessage(t, res.HTML))
			}
			require.Zero(t, b.rowCount(t, "orders"))
			b.buyN(t, buyer, l.ID, 3)
			require.Zero(t, b.listingNow(t, l.ID).Free)
		})

		t.Run("HoldLimitCountsTickets", func(t *testing.T) {
			t.Parallel()
			b := setupWith(t, dialect, bundleOpts{storeOptions: []store.Option{store.WithMaxHolds(4)}})
			seller := b.signUp(t, "seller@example.com")
			buyer := b.signUp(t, "buyer@example.com")
			big := b.sellOK(t, seller, with(b.newEvent(t, "Gala", 24*time.Hour), "quantity", "6"))
			other := b.sellOK(t, seller, with(b.newEvent(t, "Opera", 24*time.Hour), "quantity", "6"))
			requireOffered(t, b.get(t, buyer, "/tickets/"+itoa(big.ID)).HTML, "1", "2", "3", "4")

			b.buyN(t, buyer, big.ID, 3)
			res := b.postForm(t, buyer, "/orders", url.Values{"ticket_id": {itoa(other.ID)}, "quantity": {"2"}})
			requireStatus(t, res, http.StatusConflict)
			require.Equal(t, "You may hold at most 4 tickets at once and you hold 3: choose 1 or fewer, or pay for or cancel an order first.",
				alertMessage(t, res.HTML))
			b.buyN(t, buyer, other.ID, 1)
			res = b.postForm(t, buyer, "/orders", url.Values{"ticket_id": {itoa(other.ID)}, "quantity": {"1"}})
			requireStatus(t, res, http.StatusConflict)
			require.Equal(t, "You already hold 4 tickets: pay or cancel one first.", alertMessage(t, res.HTML))
			require.Equal(t, 2, b.rowCount(t, "orders"))
		})

		t.Run("SignedOutKeepsTheQuantity", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			l := b.sellOK(t, b.signUp(t, "seller@example.com"), with(b.newEvent(t, "Gala", 24*time.Hour), "quantity", "5"))
			b.signUp(t, "buyer@example.com")
			c := newClient(t)
			path := "/tickets/" + itoa(l.ID)
			res := b.postForm(t, c, "/orders", url.Values{"ticket_id": {itoa(l.ID)}, "quantity": {"3"}},
				withHeader("Referer", b.url(path)))
			requireRedirect(t, res, signInTo(path)+"&buy="+itoa(l.ID)+"&quantity=3")

			signin := b.get(t, c, res.location())
			requireElementText(t, signin.HTML, "#resume-purchase",
				"Sign in to buy 3 tickets for Gala ($30.00 each): we hold them for you straight away if they are still for sale.")
			requireElement(t, signin.HTML, `#resume-purchase a[href="`+path+`"]`)
			signup := b.get(t, c, "/signup?buy="+itoa(l.ID)+"&next="+url.QueryEscape(path)+"&quantity=3")
			requireElementText(t, signup.HTML, "#resume-purchase",
				"Create your account to buy 3 tickets for Gala ($30.00 each): we hold them for you straight away if they are still for sale.")
			form := url.Values{"email": {"buyer@example.com"}, "password": {password}}
			for _, name := range []string{"next", "buy", "quantity"} {
				form.Set(name, requireElement(t, signin.HTML, `form#signin-form input[type="hidden"][name="`+name+`"]`).AttrOr("value", ""))
			}
			require.Equal(t, "3", form.Get("quantity"))
			requireElement(t, signin.HTML, `a[href="/signup?buy=`+itoa(l.ID)+`&next=`+url.QueryEscape(path)+`&quantity=3"]`, "and so does signing up")
			res = b.postForm(t, c, "/signin", form)
			orderID := idFromLocation(t, res, "/orders/")
			o, err := b.store.Order(t.Context(), orderID, b.userID(t, "buyer@example.com"))
			require.NoError(t, err)
			require.Equal(t, 3, o.Quantity)
		})
	})
}
