package handlers_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
)

// TestCheckoutPageCountsDown: the built-in checkout counts down to the end of
// the hold as the order page does, re-fetches itself at zero, and once the
// hold has ended says so and offers the ticket again instead of Pay.
func TestCheckoutPageCountsDown(t *testing.T) {
	t.Parallel()

	t.Run("WhileHeld", func(t *testing.T) {
		t.Parallel()
		b, _ := paymentBundle(t, store.SQLite)
		c := b.beginCheckout(t)
		page := b.get(t, c.buyer, "/checkout/"+c.session)
		requireStatus(t, page, http.StatusOK)
		order := b.get(t, c.buyer, "/orders/"+itoa(c.order))
		require.Equal(t, countdownExpiresAt(t, order.HTML), countdownExpiresAt(t, page.HTML),
			"the checkout counts down to the end of the same hold")
		requireElement(t, page.HTML, `#checkout[hx-trigger~="countdown-expired"][hx-get="/checkout/`+c.session+`"]`)
		requireElement(t, page.HTML, `form[action="/checkout/`+c.session+`/pay"] #pay-button`)
		requireNoElement(t, page.HTML, "#hold-ended")

		// What the countdown's re-fetch swaps in: the checkout, no layout.
		frag := b.get(t, c.buyer, "/checkout/"+c.session, htmx)
		requireFragment(t, frag, `<article id="checkout"`)
	})

	t.Run("EndedAndForSale", func(t *testing.T) {
		t.Parallel()
		b, _ := paymentBundle(t, store.SQLite)
		c := b.beginCheckout(t)
		b.endHold()
		page := b.get(t, c.buyer, "/checkout/"+c.session, htmx)
		requireStatus(t, page, http.StatusOK)
		require.Contains(t, textOf(requireElement(t, page.HTML, "#hold-ended")), "Your hold on this ticket ended at")
		requireNoElement(t, page.HTML, "#pay-button")
		requireNoElement(t, page.HTML, ".countdown")
		requireNoElement(t, page.HTML, `form[action$="/pay"]`)
		requireElement(t, page.HTML, `form#buy-again[method="post"][action="/orders"] input[name="ticket_id"][value="`+itoa(c.ticket)+`"]`)

		// And the Pay the buyer might still post is refused.
		requireStatus(t, b.postForm(t, c.buyer, "/checkout/"+c.session+"/pay", nil), http.StatusConflict)
	})

	t.Run("EndedAndHeldByAnother", func(t *testing.T) {
		t.Parallel()
		b, _ := paymentBundle(t, store.SQLite)
		c := b.beginCheckout(t)
		b.endHold()
		b.buyOK(t, b.signUp(t, "other@example.com"), c.ticket)
		page := b.get(t, c.buyer, "/checkout/"+c.session)
		requireStatus(t, page, http.StatusOK)
		requireElement(t, page.HTML, "#hold-ended")
		requireNoElement(t, page.HTML, "#pay-button")
		requireNoElement(t, page.HTML, "form#buy-again")
		require.Contains(t, textOf(requireElement(t, page.HTML, `p#buy-again`)), "Another buyer is holding this ticket")
		requireElement(t, page.HTML, `#buy-again a[href="/events/`+itoa(b.listingNow(t, c.ticket).Event.ID)+`"]`, "the event's other listings")
	})
}

// TestCancelAsksFirst: the order page's Cancel leads to a page that asks
// first; only the POST it makes cancels, and it cancels as before.
func TestCancelAsksFirst(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	seller := b.signUp(t, "seller@example.com")
	buyer := b.signUp(t, "buyer@example.com")
	order := func(t *testing.T) (int64, string) {
		t.Helper()
		id := b.buyOK(t, buyer, b.listTicket(t, seller, "Opera", "30"))
		return id, "/orders/" + itoa(id)
	}

	t.Run("OwnerIsAsked", func(t *testing.T) {
		t.Parallel()
		id, path := order(t)
		page := b.get(t, buyer, path)
		requireElement(t, page.HTML, `a#cancel-button.secondary[href="`+path+`/cancellation"]`)
		requireNoElement(t, page.HTML, `form[action="`+path+`/cancel"]`, "the order page does not cancel in one click")

		confirm := b.get(t, buyer, path+"/cancellation")
		requireStatus(t, confirm, http.StatusOK)
		requireElementText(t, confirm.HTML, "h1", "Cancel order #"+itoa(id)+"?")
		require.Contains(t, confirm.HTML, "The ticket goes back on sale.")
		requireElementText(t, confirm.HTML, `form[method="post"][action="`+path+`/cancel"] button`, "Yes, cancel the order")
		requireElementText(t, confirm.HTML, `a#keep-order[href="`+path+`"]`, "Keep my order")
		require.Equal(t, store.Pending, b.order(t, id).Status, "asking cancels nothing")

		requireRedirect(t, b.postForm(t, buyer, path+"/cancel", nil), path)
		require.Equal(t, store.Cancelled, b.order(t, id).Status)
		require.Equal(t, "cancelled", orderState(t, b.get(t, buyer, path).HTML))
	})

	t.Run("OthersGetNotFound", func(t *testing.T) {
		t.Parallel()
		id, path := order(t)
		requireStatus(t, b.get(t, seller, path+"/cancellation"), http.StatusNotFound)
		requireStatus(t, b.get(t, buyer, "/orders/999999/cancellation"), http.StatusNotFound)
		requireRedirect(t, b.get(t, newClient(t), path+"/cancellation"), signInTo(path+"/cancellation"))
		require.Equal(t, store.Pending, b.order(t, id).Status)
	})

	t.Run("NoLongerPending", func(t *testing.T) {
		t.Parallel()
		_, path := order(t)
		requireRedirect(t, b.postForm(t, buyer, path+"/cancel", nil), path)
		confirm := b.get(t, buyer, path+"/cancellation")
		requireStatus(t, confirm, http.StatusOK)
		requireElementText(t, confirm.HTML, "#not-cancellable", "This order can no longer be cancelled: it is cancelled.")
		requireNoElement(t, confirm.HTML, `form[action="`+path+`/cancel"]`)
	})
}
