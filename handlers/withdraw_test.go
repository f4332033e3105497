package handlers_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
)

func TestWithdraw(t *testing.T) {
	t.Parallel()

	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		t.Run("WithdrawAndRelist", func(t *testing.T) {
			t.Parallel()
			b := setupLive(t, dialect, liveOpts{})
			events := b.openStream(t, newClient(t), "/live")
			seller := b.signUp(t, "seller@example.com")
			buyer := b.signUp(t, "buyer@example.com")
			id := b.listTicket(t, seller, "Opera", "30")
			other := b.listTicket(t, seller, "Ballet", "20")
			require.Equal(t, "tickets", events.settle(t))
			path := "/tickets/" + itoa(id)
			// Kept for everyone signed out: the withdrawal must reach it.
			require.Equal(t, []int64{id, other}, b.listing(t, "/"))
			require.Equal(t, []int64{id}, b.listing(t, "/?q=opera"))

			mine := b.get(t, seller, "/my/tickets")
			requireElement(t, mine.HTML, `#my-ticket-`+itoa(id)+` form[method="post"][action="`+path+`/withdraw"] button`)
			requireNoElement(t, mine.HTML, `form[action="`+path+`/relist"]`)

			res := b.postForm(t, seller, path+"/withdraw", url.Values{})
			requireRedirect(t, res, "/my/tickets")
			require.Equal(t, "tickets", events.next(t), "withdrawn")
			require.Equal(t, []int64{other}, b.listing(t, "/"))
			require.Empty(t, b.listing(t, "/?q=opera"))

			mine = b.get(t, seller, "/my/tickets")
			require.Contains(t, mine.HTML, "“Opera” is withdrawn")
			items := myTicketItems(t, mine.HTML)
			require.Equal(t, []int64{other, id}, ids(items))
			require.Equal(t, "withdrawn", items[1].state)
			require.Contains(t, items[1].text, "Withdrawn")
			require.Equal(t, []string{path + "/edit"}, items[1].editLinks, "a withdrawn ticket may be edited")
			requireElementText(t, mine.HTML, `#my-ticket-`+itoa(id)+` form[method="post"][action="`+path+`/relist"] button`, "Put back on sale Opera")
			requireNoElement(t, mine.HTML, `form[action="`+path+`/withdraw"]`)

			// A buyer cannot buy it, and nothing changes.
			res = b.buy(t, buyer, id)
			requireStatus(t, res, http.StatusConflict)
			require.Equal(t, "The seller has withdrawn this ticket.", alertMessage(t, res.HTML))
			orders, err := b.store.OrdersByBuyer(t.Context(), b.userID(t, "buyer@example.com"))
			require.NoError(t, err)
			require.Empty(t, orders)
			tk, err := b.store.Listing(t.Context(), id, time.Now())
			require.NoError(t, err)
			require.Equal(t, tk.Quantity, tk.Free, "no ticket is held or sold")

			// Its page does not dead-end: it says why, and leads back.
			for _, c := range []*http.Client{buyer, newClient(t)} {
				page := b.get(t, c, path)
				requireStatus(t, page, http.StatusOK)
				requireElementText(t, page.HTML, "#withdrawn", "Withdrawn Withdrawn by the seller: this ticket is not on sale. See the other tickets for this event")
				requireElement(t, page.HTML, `#withdrawn a[href="/events/`+itoa(tk.Event.ID)+`"]`)
				requireNoElement(t, page.HTML, `form[action="/orders"]`)
			}

			res = b.postForm(t, seller, path, url.Values{"title": {"Opera gala"}, "price": {"35"}})
			requireRedirect(t, res, path)
			require.Equal(t, "tickets", events.next(t), "edited")
			requireTicket(t, b.testBundle, id, "Opera", "Opera gala", 3500)
			require.Equal(t, []int64{other}, b.listing(t, "/"), "editing does not put it back on sale")

			res = b.postForm(t, seller, path+"/relist", url.Values{})
			requireRedirect(t, res, "/my/tickets")
			require.Equal(t, "tickets", events.next(t), "relisted")
			require.Contains(t, b.get(t, seller, "/my/tickets").HTML, "“Opera” is back on sale.")
			require.Equal(t, []int64{id, other}, b.listing(t, "/"))
			page := b.get(t, newClient(t), path)
			requireNoElement(t, page.HTML, "#withdrawn")
			requireElement(t, page.HTML, `form[action="/orders"]`)
			b.buyOK(t, buyer, id)
		})

		t.Run("ByAnotherUser", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			id := b.listTicket(t, seller, "Opera", "30")
			path := "/tickets/" + itoa(id)
			other := b.signUp(t, "other@example.com")

			requireNotFound(t, b.postForm(t, other, path+"/withdraw", url.Values{}))
			require.Equal(t, []int64{id}, b.listing(t, "/"))

			requireRedirect(t, b.postForm(t, seller, path+"/withdraw", url.Values{}), "/my/tickets")
			requireNotFound(t, b.postForm(t, other, path+"/relist", url.Values{}))
			require.Empty(t, b.listing(t, "/"))

			for _, bad := range []string{"999999", "0", "abc"} {
				requireNotFound(t, b.postForm(t, seller, "/tickets/"+bad+"/withdraw", url.Values{}))
				requireNotFound(t, b.postForm(t, seller, "/tickets/"+bad+"/relist", url.Values{}))
			}
			requireRedirect(t, b.postForm(t, newClient(t), path+"/relist", url.Values{}), signInTo("/"))
			require.Empty(t, b.listing(t, "/"))
		})

		t.Run("RefusedWhileHeldOrSold", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			buyer := b.signUp(t, "buyer@example.com")
			held := b.listTicket(t, seller, "Opera", "30")
			sold := b.listTicket(t, seller, "Ballet", "20")
			b.buyOK(t, buyer, held)
			sell(t, b, b.buyOK(t, buyer, sold), 2000)

			res := b.postForm(t, seller, "/tickets/"+itoa(held)+"/withdraw", url.Values{})
			requireStatus(t, res, http.StatusConflict)
			require.Equal(t, "This ticket cannot be withdrawn while a buyer holds it. If they do not pay in time, you can withdraw it then.",
				alertMessage(t, res.HTML))
			res = b.postForm(t, seller, "/tickets/"+itoa(sold)+"/withdraw", url.Values{})
			requireStatus(t, res, http.StatusConflict)
			require.Equal(t, "This ticket is sold and can no longer be withdrawn.", alertMessage(t, res.HTML))
			for _, id := range []int64{held, sold} {
				tk, err := b.store.Listing(t.Context(), id, time.Now())
				require.NoError(t, err)
				require.True(t, tk.WithdrawnAt.IsZero())
			}
			items := myTicketItems(t, b.get(t, seller, "/my/tickets").HTML)
			require.Equal(t, []string{"sold", "held"}, []string{items[0].state, items[1].state})
			mine := b.get(t, seller, "/my/tickets").HTML
			requireNoElement(t, mine, `form[action$="/withdraw"]`)

			// Once the hold has ended the seller may withdraw it.
			b.endHold()
			requireRedirect(t, b.postForm(t, seller, "/tickets/"+itoa(held)+"/withdraw", url.Values{}), "/my/tickets")
		})
	})
}
