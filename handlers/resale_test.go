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

// heldTickets reads the ids of the tickets in "Tickets you hold" on a My
// tickets page.
func heldTickets(t *testing.T, page string) []int64 {
	t.Helper()
	ids := []int64{}
	requireElement(t, page, "section#tickets-held").Find(`li[id^="held-ticket-"]`).Each(func(_ int, li *goquery.Selection) {
		id, ok := pathID(li.AttrOr("id", ""), "held-ticket-")
		require.True(t, ok, "li %s", li.AttrOr("id", ""))
		ids = append(ids, id)
	})
	return ids
}

// sellPath is the resale form of a ticket one holds.
func sellPath(ticketID int64) string { return "/my/tickets/" + itoa(ticketID) + "/sell" }

// resell posts the resale form.
func (b *testBundle) resell(t *testing.T, c *http.Client, ticketID int64, price, note string) *response {
	t.Helper()
	return b.postForm(t, c, sellPath(ticketID), url.Values{"price": {price}, "note": {note}})
}

// heldTicket returns the one ticket a client holds, from their My tickets.
func (b *testBundle) heldTicket(t *testing.T, c *http.Client) int64 {
	t.Helper()
	held := heldTickets(t, b.get(t, c, "/my/tickets").HTML)
	require.Len(t, held, 1)
	return held[0]
}

func TestResale(t *testing.T) {
	t.Parallel()

	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		t.Run("TheFileGoesToTheNewHolder", func(t *testing.T) {
			t.Parallel()
			b, _ := paymentBundle(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			first := b.signUp(t, "first@example.com")
			second := b.signUp(t, "second@example.com")
			third := b.signUp(t, "third@example.com")
			l := b.sellOK(t, seller, b.inAMonth(t, "Opera", "1"))
			b.uploadOK(t, seller, l.ID, 1, eticket("seat"))
			firstOrder := b.buyOK(t, first, l.ID)
			require.Empty(t, heldTickets(t, b.get(t, first, "/my/tickets").HTML), "held, not yet paid")
			b.payOK(t, first, firstOrder)

			mine := b.get(t, first, "/my/tickets")
			ticket := b.heldTicket(t, first)
			item := requireElement(t, mine.HTML, "#held-ticket-"+itoa(ticket))
			require.Contains(t, textOf(item), "Opera")
			require.Contains(t, textOf(item), "Europe/Paris", "the date in the event's zone")
			download := item.Find(`a[download]`).AttrOr("href", "")
			require.Equal(t, orderFilePath(firstOrder, 1), download)
			requireDownload(t, b.get(t, first, download), "application/pdf", eticket("seat"))
			require.Equal(t, sellPath(ticket), item.Find(`#held-ticket-`+itoa(ticket)+`-sell`).AttrOr("href", ""))
			require.Less(t, strings.Index(mine.HTML, `id="tickets-held"`), strings.Index(mine.HTML, `id="my-tickets"`),
				"held above sold")

			form := b.get(t, first, sellPath(ticket))
			requireStatus(t, form, http.StatusOK)
			requireElementText(t, form.HTML, "#face-value", "$30.00")
			requireElementText(t, form.HTML, "#max-price", "$36.00 (20% over face value)")
			requireFieldValue(t, form.HTML, "price", "30.00")

			res := b.resell(t, first, ticket, "36.01", "")
			requireStatus(t, res, http.StatusUnprocessableEntity)
			requireFieldError(t, res.HTML, "price", "The highest price allowed is 36.00 USD (20% over face value).")
			res = b.resell(t, first, ticket, "35", "Row 2, seat 14")
			requireStatus(t, res, http.StatusSeeOther)
			resale := idFromLocation(t, res, "/tickets/")
			listing := b.listingNow(t, resale)
			require.Equal(t, []any{int64(3500), int64(3000), "Row 2, seat 14", l.Event.ID},
				[]any{listing.Price, listing.FaceValue, listing.Note, listing.Event.ID})
			page := b.get(t, first, "/tickets/"+itoa(resale))
			requireElement(t, page.HTML, "#ticket-files")
			requireNoElement(t, page.HTML, "#ticket-files form", "a resale keeps the seat's file")
			requireStatus(t, b.upload(t, first, resale, 1, "mine.pdf", eticket("mine")), http.StatusNotFound)

			res = b.resell(t, first, ticket, "34", "")
			requireStatus(t, res, http.StatusConflict)
			require.Contains(t, alertMessage(t, res.HTML), "You have listed this ticket for sale already")
			requireElement(t, res.HTML, `[role="alert"] a[href="/tickets/`+itoa(resale)+`"]`)
			requireElement(t, b.get(t, first, sellPath(ticket)).HTML, `a#resale-listing[href="/tickets/`+itoa(resale)+`"]`)
			requireElement(t, b.get(t, first, "/my/tickets").HTML,
				`#held-ticket-`+itoa(ticket)+`-resale[href="/tickets/`+itoa(resale)+`"]`, "listed, still held")
			requireDownload(t, b.get(t, first, download), "application/pdf", eticket("seat"))

			secondOrder := b.buyOK(t, second, resale)
			requireDownload(t, b.get(t, first, download), "application/pdf", eticket("seat"))
			b.payOK(t, second, secondOrder)

			requireNoFile(t, b, download, first, seller, third, newClient(t))
			requireNoFile(t, b, filesPath(l.ID, 1), first, seller)
			require.Empty(t, heldTickets(t, b.get(t, first, "/my/tickets").HTML), "the ticket left their list")
			requireElementText(t, b.get(t, first, "/orders/"+itoa(firstOrder)).HTML, "#ticket-file-1",
				"Ticket 1: you resold it, and its e-ticket went to its buyer.")
			requireStatus(t, b.get(t, first, sellPath(ticket)), http.StatusNotFound)
			requireDownload(t, b.get(t, second, orderFilePath(secondOrder, 1)), "application/pdf", eticket("seat"))
			requireElement(t, b.get(t, second, "/orders/"+itoa(secondOrder)).HTML,
				`#ticket-file-1 a[href="`+orderFilePath(secondOrder, 1)+`"]`)

			// Once more: the second holder resells, the third gets the file.
			again := b.resell(t, second, b.heldTicket(t, second), "30", "")
			requireStatus(t, again, http.StatusSeeOther)
			thirdOrder := b.buyOK(t, third, idFromLocation(t, again, "/tickets/"))
			b.payOK(t, third, thirdOrder)
			requireNoFile(t, b, orderFilePath(secondOrder, 1), second, first)
			requireDownload(t, b.get(t, third, orderFilePath(thirdOrder, 1)), "application/pdf", eticket("seat"))
		})

		t.Run("Refusals", func(t *testing.T) {
			t.Parallel()
			b, _ := paymentBundle(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			buyer := b.signUp(t, "buyer@example.com")
			stranger := b.signUp(t, "stranger@example.com")
			l := b.sellOK(t, seller, b.inAMonth(t, "Opera", "1"))
			b.payOK(t, buyer, b.buyOK(t, buyer, l.ID))
			ticket := b.heldTicket(t, buyer)

			for _, c := range []*http.Client{seller, stranger} {
				requireNotFound(t, b.get(t, c, sellPath(ticket)))
				requireNotFound(t, b.resell(t, c, ticket, "30", ""))
			}
			requireRedirect(t, b.get(t, newClient(t), sellPath(ticket)), signInTo(sellPath(ticket)))
			requireNotFound(t, b.get(t, buyer, "/my/tickets/999999/sell"))

			res := b.resell(t, buyer, ticket, "thirty", strings.Repeat("n", 201))
			requireStatus(t, res, http.StatusUnprocessableEntity)
			requireElement(t, res.HTML, `#price[aria-invalid="true"]`)
			requireFieldError(t, res.HTML, "note", "Use at most 200 characters.")
			requireFieldValue(t, res.HTML, "price", "thirty")

			b.clock.Advance(31 * 24 * time.Hour)
			page := b.get(t, buyer, sellPath(ticket))
			requireStatus(t, page, http.StatusOK)
			requireNoElement(t, page.HTML, "form#resale-form", "the event has started")
			requireNoElement(t, b.get(t, buyer, "/my/tickets").HTML, "#held-ticket-"+itoa(ticket)+"-sell")
			res = b.resell(t, buyer, ticket, "30", "")
			requireStatus(t, res, http.StatusConflict)
			require.Equal(t, "The event has started: sales closed then, and this ticket can no longer be sold.",
				alertMessage(t, res.HTML))
			require.Equal(t, 1, b.rowCount(t, "listings"), "nothing listed")
		})
	})
}
