package handlers_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
)

// extendButton is the offer of more time on a hold, as the order and
// checkout pages show it.
const extendButton = "form#extend-hold button#extend-button"

// requireExtendOffer checks that a page offers more time on its hold, shown
// or (before the window) hidden until app.js shows it.
func requireExtendOffer(t *testing.T, page string, hidden bool) {
	t.Helper()
	requireElementText(t, page, extendButton, "Need more time? Add 1 minute")
	_, isHidden := requireElement(t, page, "form#extend-hold").Attr("hidden")
	require.Equal(t, hidden, isHidden, "hidden")
}

// enterWindow moves the bundle's clock into the last seconds of every hold
// taken just before.
func (b *testBundle) enterWindow() { b.clock.Advance(b.hold - store.ExtendWindow) }

// expiryJobs counts the River jobs that expire orders, in the state
// given, and that have run at least once when ran is set.
func (b *testBundle) expiryJobs(t *testing.T, state string, ran bool) int {
	t.Helper()
	query := `SELECT count(*) FROM river_job WHERE kind = $1 AND state = $2`
	if ran {
		query += ` AND attempted_at IS NOT NULL`
	}
	return b.count(t, query, store.ExpireOrderArgs{}.Kind(), state)
}

// TestExtendHold extends a hold in its last seconds, once: the order, its
// ticket's claim and its expiry all move to the new end.
func TestExtendHold(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setupWith(t, dialect, bundleOpts{noWorkers: true})
		seller := b.signUp(t, "seller@example.com")
		id := b.listTicket(t, seller, "Opera", "30")
		buyer := b.signUp(t, "buyer@example.com")
		rival := b.signUp(t, "rival@example.com")
		orderID := b.buyOK(t, buyer, id)
		path := "/orders/" + itoa(orderID)

		page := b.get(t, buyer, path)
		oldEnd := countdownExpiresAt(t, page.HTML)
		requireExtendOffer(t, page.HTML, true)
		res := b.postForm(t, buyer, path+"/extend", nil)
		requireStatus(t, res, http.StatusConflict)
		require.Regexp(t, `^You can ask for more time in the last 20 seconds of the hold: from `+
			oldEnd.Add(-store.ExtendWindow).Format("15:04:05 UTC")+`, in \d\d seconds\.$`, alertMessage(t, res.HTML))

		b.enterWindow()
		requireExtendOffer(t, b.get(t, buyer, path).HTML, false)
		requireRedirect(t, b.postForm(t, buyer, path+"/extend", nil), path)
		page = b.get(t, buyer, path)
		requireElementText(t, page.HTML, ".flash", "Your hold is extended: you have 1 minute more to pay.")
		newEnd := countdownExpiresAt(t, page.HTML)
		require.Equal(t, oldEnd.Add(b.hold), newEnd)
		requireNoElement(t, page.HTML, "form#extend-hold", "once only")
		res = b.postForm(t, buyer, path+"/extend", nil)
		requireStatus(t, res, http.StatusConflict)
		require.Equal(t, "This hold has been extended once already: it cannot be extended again.", alertMessage(t, res.HTML))

		// Past the old end the ticket is still held, and the expiry job, due
		// then, waits for the new end.
		b.clock.Advance(store.ExtendWindow + time.Second)
		require.True(t, b.clock.Now().After(oldEnd))
		require.Equal(t, "pending", orderState(t, b.get(t, buyer, path).HTML))
		requireStatus(t, b.buy(t, rival, id), http.StatusConflict)
		require.Empty(t, b.listing(t, "/"))
		b.startWorkers(t)
		require.Eventually(t, func() bool { return b.expiryJobs(t, "scheduled", true) == 1 },
			10*time.Second, 20*time.Millisecond, "the expiry job never ran and snoozed")
		require.Equal(t, store.Pending, b.order(t, orderID).Status)
		require.Equal(t, newEnd, countdownExpiresAt(t, b.get(t, buyer, path).HTML))

		// Past the new end the hold ends, and that job records it.
		b.clock.Advance(b.hold)
		require.Eventually(t, func() bool { return b.order(t, orderID).Status == store.Cancelled },
			15*time.Second, 20*time.Millisecond, "the expiry job never cancelled the order")
		require.Equal(t, "expired", orderState(t, b.get(t, buyer, path).HTML))
		require.Equal(t, []int64{id}, b.listing(t, "/"))
		require.Equal(t, 1, b.count(t, `SELECT count(*) FROM river_job WHERE kind = $1`, store.ExpireOrderArgs{}.Kind()),
			"the order's one expiry job")
		require.Eventually(t, func() bool { return b.expiryJobs(t, "completed", false) == 1 },
			10*time.Second, 20*time.Millisecond, "the expiry job never completed")
	})
}

// TestExtendHoldRefused tries to extend holds that may not be extended.
func TestExtendHoldRefused(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		seller := b.signUp(t, "seller@example.com")
		opera, ballet := b.listTicket(t, seller, "Opera", "30"), b.listTicket(t, seller, "Ballet", "30")
		buyer := b.signUp(t, "buyer@example.com")
		rival := b.signUp(t, "rival@example.com")

		// Another buyer tries for the ballet ticket; the buyer's own second
		// Buy on the opera ticket leads back to their order.
		mine := "/orders/" + itoa(b.buyOK(t, buyer, opera))
		contended := "/orders/" + itoa(b.buyOK(t, buyer, ballet))
		requireStatus(t, b.buy(t, rival, ballet), http.StatusConflict)
		requireRedirect(t, b.buy(t, buyer, opera), mine)
		b.enterWindow()

		res := b.postForm(t, rival, mine+"/extend", nil)
		requireStatus(t, res, http.StatusNotFound)
		signedOut := b.postForm(t, newClient(t), mine+"/extend", nil)
		requireStatus(t, signedOut, http.StatusSeeOther)
		require.Contains(t, signedOut.location(), "/signin")

		page := b.get(t, buyer, contended)
		requireNoElement(t, page.HTML, "form#extend-hold", "another buyer is waiting")
		res = b.postForm(t, buyer, contended+"/extend", nil)
		requireStatus(t, res, http.StatusConflict)
		require.Equal(t, "This hold cannot be extended: another buyer is waiting for these tickets.", alertMessage(t, res.HTML))
		require.Equal(t, countdownExpiresAt(t, page.HTML), countdownExpiresAt(t, res.HTML), "nothing changed")

		requireExtendOffer(t, b.get(t, buyer, mine).HTML, false)
		requireRedirect(t, b.postForm(t, buyer, mine+"/extend", nil), mine)

		b.endHold()
		res = b.postForm(t, buyer, contended+"/extend", nil)
		requireStatus(t, res, http.StatusConflict)
		require.Equal(t, "This hold can no longer be extended: the order is expired.", alertMessage(t, res.HTML))
		requireNoElement(t, res.HTML, "form#extend-hold")
	})
}

// TestExtendHoldAtCheckout extends a hold from the built-in checkout page,
// which the buyer comes back to.
func TestExtendHoldAtCheckout(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		c := b.beginCheckout(t)
		path := "/checkout/" + c.session

		page := b.get(t, c.buyer, path)
		requireExtendOffer(t, page.HTML, true)
		oldEnd := countdownExpiresAt(t, page.HTML)
		b.enterWindow()
		page = b.get(t, c.buyer, path)
		requireExtendOffer(t, page.HTML, false)
		from, _ := requireElement(t, page.HTML, `form#extend-hold input[name="from"]`).Attr("value")
		requireRedirect(t, b.postForm(t, c.buyer, "/orders/"+itoa(c.order)+"/extend", url.Values{"from": {from}}), path)

		page = b.get(t, c.buyer, path)
		require.Equal(t, oldEnd.Add(b.hold), countdownExpiresAt(t, page.HTML))
		requireNoElement(t, page.HTML, "form#extend-hold")
		requireElement(t, page.HTML, "#pay-button")
	})
}
