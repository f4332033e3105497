package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/handlers"
	"github.com/eventhive/eventhive/store"
)

// defaultMaxHolds is MAX_HOLDS_PER_BUYER's default: the holds per buyer of
// the store main builds.
const defaultMaxHolds = 4

// setupHoarding is setup with the store main builds: its default holds per
// buyer and the default cool-down.
func setupHoarding(t *testing.T, dialect store.Dialect) *testBundle {
	t.Helper()
	return setupWith(t, dialect, bundleOpts{storeOptions: []store.Option{
		store.WithMaxHolds(defaultMaxHolds), store.WithHoldCooldown(store.DefaultCooldown)}})
}

// TestHoldHoarding: one client address tries to keep as many tickets held
// as it can, with as many accounts as it may make, and to hold them around
// the clock by cancelling and buying again.
func TestHoldHoarding(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setupHoarding(t, dialect)
		seller := b.signUp(t, "seller@example.com")
		tickets := make([]int64, 82)
		for i := range tickets {
			tickets[i] = b.listTicket(t, seller, fmt.Sprintf("Seat %d", i), "10")
		}

		t.Run("MostOneAddressHolds", func(t *testing.T) {
			// What one address holds at once in its first hour: the
			// sign-ups it may make times the holds per account, 20 × 4 = 80.
			th := b.serveThrottled(t, trustProxy)
			addr := from("203.0.113.50")
			next := 0
			for i := range handlers.DefaultSignUpsPerIP.N {
				c := newClient(t)
				requireStatus(t, b.postForm(t, c, th.server.URL+"/signup", url.Values{
					"email": {fmt.Sprintf("%s-hoarder%d@example.com", dialect, i)}, "password": {password}}, addr),
					http.StatusSeeOther)
				for range defaultMaxHolds {
					requireStatus(t, th.buy(t, c, tickets[next], addr), http.StatusSeeOther)
					next++
				}
				requireStatus(t, th.buy(t, c, tickets[next], addr), http.StatusConflict)
			}
			res := th.signUp(t, string(dialect)+"-hoarder-more@example.com", addr)
			requireStatus(t, res, http.StatusTooManyRequests)
			require.Equal(t, 80, b.count(t, `SELECT count(*) FROM tickets WHERE claim_order_id IS NOT NULL`))
			require.Equal(t, 80, next)
		})
	})
}

// TestHoldCooldownPage: a buyer who keeps cancelling and buying again is made
// to wait, told until when on the ticket's page, and may buy when it ends.
func TestHoldCooldownPage(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setupHoarding(t, dialect)
		seller := b.signUp(t, "seller@example.com")
		ticket := b.listTicket(t, seller, "Front row", "10")
		th := b.serveThrottled(t, nil)
		buyer := newClient(t)
		requireStatus(t, b.postForm(t, buyer, th.server.URL+"/signup", url.Values{"email": {"buyer@example.com"}, "password": {password}}),
			http.StatusSeeOther)

		buyAndCancel := func() {
			t.Helper()
			res := th.buy(t, buyer, ticket)
			requireStatus(t, res, http.StatusSeeOther)
			th.clock.advance(time.Second)
			requireStatus(t, b.postForm(t, buyer, th.server.URL+res.location()+"/cancel", nil), http.StatusSeeOther)
		}
		// Two lapses are free.
		buyAndCancel()
		buyAndCancel()
		buyAndCancel()
		before := snapshot(t, b.db)
		res := th.buy(t, buyer, ticket)
		requireStatus(t, res, http.StatusTooManyRequests)
		requireFullPage(t, res)
		until := th.clock.now().Add(time.Minute).Truncate(time.Millisecond)
		want := "You have let several holds end unpaid lately, so you must wait before holding a ticket again: you may buy from " +
			until.UTC().Format("2 Jan 2006 15:04:05 UTC") + ", in 1 minute."
		require.Equal(t, want, alertMessage(t, res.HTML))
		require.Equal(t, "60", res.Header.Get("Retry-After"))
		// No dead end: the ticket's page with its Buy button.
		requireElement(t, res.HTML, `form[method="post"][action="/orders"] button[type="submit"]`)

		th.clock.advance(30 * time.Second)
		res = th.buy(t, buyer, ticket, htmx)
		requireStatus(t, res, http.StatusTooManyRequests)
		requireFragment(t, res, `<div id="buy">`)
		require.Equal(t, "30", res.Header.Get("Retry-After"))
		require.Equal(t, want, alertMessage(t, res.HTML))
		require.Equal(t, before, snapshot(t, b.db), "a refused hold changes nothing")

		th.clock.advance(30 * time.Second)
		requireStatus(t, th.buy(t, buyer, ticket), http.StatusSeeOther)
	})
}
