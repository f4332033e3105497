package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/handlers"
	"github.com/eventhive/eventhive/store"
)

// TestExpiry checks that a hold ends exactly at expires_at: reads and new
// buyers treat the order as expired before its River job runs, and the job
// then records the cancellation.
func TestExpiry(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setupWith(t, dialect, bundleOpts{noWorkers: true})
		seller := b.signUp(t, "seller@example.com")
		id := b.listTicket(t, seller, "Opera", "30")
		first := b.signUp(t, "first@example.com")
		second := b.signUp(t, "second@example.com")

		orderID := b.buyOK(t, first, id)
		orderPath := "/orders/" + itoa(orderID)
		page := b.get(t, first, orderPath)
		expires := countdownExpiresAt(t, page.HTML)

		// Before expires_at the hold stands.
		res := b.buy(t, second, id)
		requireStatus(t, res, http.StatusConflict)
		require.Empty(t, b.listing(t, "/"))

		// From expires_at on, without the job: the ticket is on sale, the
		// order reads expired, and another buyer gets the ticket.
		b.endHold()
		require.False(t, b.clock.Now().Before(expires))
		require.Equal(t, []int64{id}, b.listing(t, "/"))
		ticket := b.get(t, second, "/tickets/"+itoa(id))
		require.Contains(t, ticket.HTML, "badge-forsale")
		require.Contains(t, ticket.HTML, `name="ticket_id"`, "the Buy form is back")
		page = b.get(t, first, orderPath)
		requireStatus(t, page, http.StatusOK)
		require.Equal(t, "expired", orderState(t, page.HTML))
		require.Contains(t, page.HTML, "The hold ended at")
		require.NotContains(t, page.HTML, "data-expires-at")
		require.Equal(t, "expired", orderRows(t, b.get(t, first, "/orders").HTML)[0].Status)
		cancel := b.postForm(t, first, orderPath+"/cancel", nil)
		requireStatus(t, cancel, http.StatusConflict)
		require.Equal(t, "This order can no longer be cancelled: it is expired.", alertMessage(t, cancel.HTML))
		requireStatus(t, b.get(t, seller, "/tickets/"+itoa(id)+"/edit"), http.StatusOK)
		secondOrder := b.buyOK(t, second, id)

		// The job, run once workers start, records the cancellation; the new
		// order keeps its claim.
		b.startWorkers(t)
		firstID := b.userID(t, "first@example.com")
		require.Eventually(t, func() bool {
			o, err := b.store.Order(t.Context(), orderID, firstID)
			return err == nil && o.Status == store.Cancelled
		}, 10*time.Second, 50*time.Millisecond, "the expiry job never recorded the cancellation")
		require.Equal(t, "expired", orderState(t, b.get(t, first, orderPath).HTML))
		held, err := b.store.HeldBy(t.Context(), id, b.userID(t, "second@example.com"), b.clock.Now())
		require.NoError(t, err, "the expired order's job leaves the new claim alone")
		require.Equal(t, secondOrder, held.ID)
	})
}

// TestRestartRecovery stops the app with a hold running and no job worked, as
// a kill -9 would, and starts a new process after the hold has ended.
func TestRestartRecovery(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setupWith(t, dialect, bundleOpts{noWorkers: true})
		seller := b.signUp(t, "seller@example.com")
		id := b.listTicket(t, seller, "Opera", "30")
		buyer := b.signUp(t, "buyer@example.com")
		orderID := b.buyOK(t, buyer, id)
		o, err := b.store.Order(t.Context(), orderID, b.userID(t, "buyer@example.com"))
		require.NoError(t, err)
		b.server.Close()

		b.endHold()
		b.server = b.serve(t, nil)
		require.Equal(t, []int64{id}, b.listing(t, "/"), "for sale at once after the restart")
		require.Equal(t, "expired", orderState(t, b.get(t, buyer, "/orders/"+itoa(orderID)).HTML))
		b.buyOK(t, b.signUp(t, "next@example.com"), id)

		// The expiry job survived in the database and runs once workers start.
		b.startWorkers(t)
		require.Eventually(t, func() bool {
			o, err := b.store.Order(t.Context(), orderID, o.BuyerID)
			return err == nil && o.Status == store.Cancelled
		}, 10*time.Second, 50*time.Millisecond, "the expiry job never ran after the restart")
	})
}

// TestBuyRace has fifty buyers press Buy on one ticket at once.
func TestBuyRace(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		const buyers = 50
		// Fifty people sign up from one address here.
		b := setupWith(t, dialect, bundleOpts{configure: func(cfg *handlers.Config) { cfg.SignUpsPerIP = handlers.NoLimit }})
		id := b.listTicket(t, b.signUp(t, "seller@example.com"), "Opera", "30")
		clients := make([]*http.Client, buyers)
		emails := make([]string, buyers)
		for i := range clients {
			emails[i] = "buyer" + itoa(int64(i)) + "@example.com"
			clients[i] = b.signUp(t, emails[i])
		}

		form := url.Values{"ticket_id": {itoa(id)}}.Encode()
		statuses := make([]int, buyers)
		locations := make([]string, buyers)
		errs := make([]error, buyers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, c := range clients {
			wg.Go(func() {
				<-start
				res, err := c.Post(b.url("/orders"), "application/x-www-form-urlencoded", strings.NewReader(form))
				if err != nil {
					errs[i] = err
					return
				}
				res.Body.Close()
				statuses[i], locations[i] = res.StatusCode, res.Header.Get("Location")
			})
		}
		close(start)
		wg.Wait()

		counts := map[int]int{}
		winner := -1
		for i, err := range errs {
			require.NoError(t, err, "buyer %d", i)
			counts[statuses[i]]++
			if statuses[i] == http.StatusSeeOther {
				winner = i
			}
		}
		require.Equal(t, map[int]int{http.StatusSeeOther: 1, http.StatusConflict: buyers - 1}, counts)

		orders := 0
		for _, email := range emails {
			list, err := b.store.OrdersByBuyer(t.Context(), b.userID(t, email))
			require.NoError(t, err)
			orders += len(list)
		}
		require.Equal(t, 1, orders, "exactly one order in the store")

		page := b.get(t, clients[winner], locations[winner])
		requireStatus(t, page, http.StatusOK)
		require.Equal(t, "pending", orderState(t, page.HTML))
	})
}

func TestOrders(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		t.Run("Buy", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			id := b.listTicket(t, seller, "Opera", "30")
			buyer := b.signUp(t, "buyer@example.com")

			before := time.Now()
			res := b.buy(t, buyer, id)
			after := time.Now()
			requireStatus(t, res, http.StatusSeeOther)
			orderID := idFromLocation(t, res, "/orders/")

			page := b.get(t, buyer, res.location())
			requireStatus(t, page, http.StatusOK)
			requireFullPage(t, page)
			require.Equal(t, "pending", orderState(t, page.HTML))
			require.Equal(t, "$30.00", fact(t, page.HTML, "Amount"))
			require.Equal(t, "Opera", fact(t, page.HTML, "Ticket"))
			requireElementText(t, page.HTML, `a[href="/tickets/`+itoa(id)+`"]`, "Opera")
			expires := countdownExpiresAt(t, page.HTML)
			require.WithinRange(t, expires, before.Add(b.hold).Add(-time.Second), after.Add(b.hold).Add(time.Second))
			require.Regexp(t, `^0[01]:\d\d$`, textOf(requireElement(t, page.HTML, `strong.countdown[data-expires-at]`)), "time left, from the server's clock")
			requireElement(t, page.HTML, `a#cancel-button[href="/orders/`+itoa(orderID)+`/cancellation"]`, "Cancel asks first")

			// The ticket leaves the listing at once and shows as held.
			require.NotContains(t, b.listing(t, "/"), id)
			ticket := b.get(t, newClient(t), "/tickets/"+itoa(id))
			requireStatus(t, ticket, http.StatusOK)
			require.Contains(t, ticket.HTML, "badge-held")
			requireNoElement(t, ticket.HTML, `[name="ticket_id"]`, "no Buy form on a held ticket")

			o, err := b.store.Order(t.Context(), orderID, b.userID(t, "buyer@example.com"))
			require.NoError(t, err)
			require.Equal(t, store.Pending, o.Status)
			require.Equal(t, int64(3000), o.Amount)
			require.WithinDuration(t, expires, o.ExpiresAt, time.Millisecond)
		})

		t.Run("BuyRefused", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			first := b.signUp(t, "first@example.com")
			second := b.signUp(t, "second@example.com")

			t.Run("OwnTicket", func(t *testing.T) {
				id := b.listTicket(t, seller, "Own", "30")
				res := b.buy(t, seller, id)
				requireStatus(t, res, http.StatusConflict)
				requireFullPage(t, res)
				require.Equal(t, "This is your own ticket: you cannot buy it.", alertMessage(t, res.HTML))
				require.Equal(t, []int64{id}, b.listing(t, "/?q=own"), "still for sale")
				requireNoOrders(t, b, "seller@example.com")
			})

			t.Run("Held", func(t *testing.T) {
				id := b.listTicket(t, seller, "Held", "30")
				b.buyOK(t, first, id)
				res := b.buy(t, second, id)
				requireStatus(t, res, http.StatusConflict)
				requireFullPage(t, res)
				require.Equal(t, "Another buyer is holding this ticket right now. If they do not pay in time, it comes back on sale.",
					alertMessage(t, res.HTML))
				requireNoOrders(t, b, "second@example.com")
			})

			t.Run("Sold", func(t *testing.T) {
				id := b.listTicket(t, seller, "Sold", "30")
				sell(t, b, b.buyOK(t, first, id), 3000)
				res := b.buy(t, second, id)
				requireStatus(t, res, http.StatusConflict)
				require.Equal(t, "Sorry, this ticket has just been sold.", alertMessage(t, res.HTML))
				requireNoOrders(t, b, "second@example.com")
				require.Empty(t, b.listing(t, "/?q=sold"))
			})

			t.Run("UnknownTicket", func(t *testing.T) {
				for _, id := range []string{"999999", "0", "-1", "abc", "", "99999999999999999999"} {
					requireNotFound(t, b.postForm(t, second, "/orders", url.Values{"ticket_id": {id}}))
				}
				requireNoOrders(t, b, "second@example.com")
			})
		})

		t.Run("MyOrders", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			buyer := b.signUp(t, "buyer@example.com")
			empty := b.get(t, buyer, "/orders")
			requireStatus(t, empty, http.StatusOK)
			require.Contains(t, empty.HTML, "You have no orders yet.")

			first := b.buyOK(t, buyer, b.listTicket(t, seller, "First", "10"))
			second := b.buyOK(t, buyer, b.listTicket(t, seller, "Second", "20"))
			third := b.buyOK(t, buyer, b.listTicket(t, seller, "Third", "30"))
			requireRedirect(t, b.postForm(t, buyer, "/orders/"+itoa(second)+"/cancel", nil), "/orders/"+itoa(second))

			res := b.get(t, buyer, "/orders")
			requireStatus(t, res, http.StatusOK)
			require.Equal(t, []orderRow{
				{third, "Third", "$30.00", "pending"},
				{second, "Second", "$20.00", "cancelled"},
				{first, "First", "$10.00", "pending"},
			}, orderRows(t, res.HTML))

			// Nobody else sees them.
			other := b.get(t, b.signUp(t, "other@example.com"), "/orders")
			requireStatus(t, other, http.StatusOK)
			require.Empty(t, orderRows(t, other.HTML))
			require.Contains(t, other.HTML, "You have no orders yet.")
		})

		t.Run("OthersAndUnknownOrdersNotFound", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			id := b.listTicket(t, seller, "Opera", "30")
			orderID := b.buyOK(t, b.signUp(t, "buyer@example.com"), id)
			path := "/orders/" + itoa(orderID)

			// The seller of the ticket and a stranger see nothing of the order.
			other := b.signUp(t, "other@example.com")
			for _, c := range []*http.Client{seller, other} {
				requireNotFound(t, b.get(t, c, path))
				requireNotFound(t, b.postForm(t, c, path+"/cancel", nil))
			}
			o, err := b.store.Order(t.Context(), orderID, b.userID(t, "buyer@example.com"))
			require.NoError(t, err)
			require.Equal(t, store.Pending, o.Status)
			require.Empty(t, b.listing(t, "/"), "still held")

			for _, id := range []string{"999999", "0", "-1", "abc", "99999999999999999999"} {
				requireNotFound(t, b.get(t, other, "/orders/"+id))
				requireNotFound(t, b.postForm(t, other, "/orders/"+id+"/cancel", nil))
			}
		})

		t.Run("Cancel", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			id := b.listTicket(t, seller, "Opera", "30")
			buyer := b.signUp(t, "buyer@example.com")
			orderID := b.buyOK(t, buyer, id)
			path := "/orders/" + itoa(orderID)

			res := b.postForm(t, buyer, path+"/cancel", nil)
			requireRedirect(t, res, path)
			require.Equal(t, []int64{id}, b.listing(t, "/"), "back on sale at once")
			page := b.get(t, buyer, path)
			requireStatus(t, page, http.StatusOK)
			require.Equal(t, "cancelled", orderState(t, page.HTML))
			require.Contains(t, page.HTML, "Your order is cancelled and the ticket is back on sale.")
			require.NotContains(t, page.HTML, "data-expires-at", "no countdown once cancelled")
			require.NotContains(t, page.HTML, path+"/cancel")

			again := b.postForm(t, buyer, path+"/cancel", nil)
			requireStatus(t, again, http.StatusConflict)
			require.Equal(t, "This order can no longer be cancelled: it is cancelled.", alertMessage(t, again.HTML))
			o, err := b.store.Order(t.Context(), orderID, b.userID(t, "buyer@example.com"))
			require.NoError(t, err)
			require.Equal(t, store.Cancelled, o.Status)

			// Someone else can buy it now; the cancelled order does not come back.
			next := b.buyOK(t, b.signUp(t, "next@example.com"), id)
			require.NotEqual(t, orderID, next)
			require.Equal(t, "cancelled", orderState(t, b.get(t, buyer, path).HTML))
		})

		t.Run("CancelPaid", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			id := b.listTicket(t, seller, "Opera", "30")
			buyer := b.signUp(t, "buyer@example.com")
			orderID := b.buyOK(t, buyer, id)
			sell(t, b, orderID, 3000)

			res := b.postForm(t, buyer, "/orders/"+itoa(orderID)+"/cancel", nil)
			requireStatus(t, res, http.StatusConflict)
			require.Equal(t, "This order can no longer be cancelled: it is paid.", alertMessage(t, res.HTML))
			require.Empty(t, b.listing(t, "/"))
		})
	})
}

// fact returns the text of a <dt>name</dt><dd>…</dd> pair on a page.
func fact(t *testing.T, page, name string) string {
	t.Helper()
	dd := doc(page).Find("dt").FilterFunction(func(_ int, dt *goquery.Selection) bool {
		return dt.Text() == name
	}).First().Next().Filter("dd")
	require.NotZero(t, dd.Length(), "no %s in:\n%s", name, page)
	return textOf(dd)
}

// orderState returns the status an order page shows.
func orderState(t *testing.T, page string) string {
	t.Helper()
	return fact(t, page, "Status")
}

// countdownExpiresAt returns the time an order page counts down to.
func countdownExpiresAt(t *testing.T, page string) time.Time {
	t.Helper()
	expires, ok := doc(page).Find(".countdown[data-expires-at]").Attr("data-expires-at")
	require.True(t, ok, "no countdown in:\n%s", page)
	at, err := time.Parse(time.RFC3339Nano, expires)
	require.NoError(t, err)
	return at
}

// orderRow is one line of the My orders table.
type orderRow struct {
	ID     int64
	Ticket string
	Amount string
	Status string
}

// orderRows reads the My orders table: order, ticket, amount, status.
func orderRows(t *testing.T, page string) []orderRow {
	t.Helper()
	rows := []orderRow{}
	doc(page).Find("tbody").First().Find("tr").Each(func(_ int, tr *goquery.Selection) {
		var id int64
		found := false
		tr.Find("[href]").EachWithBreak(func(_ int, a *goquery.Selection) bool {
			id, found = pathID(a.AttrOr("href", ""), "/orders/")
			return !found
		})
		require.True(t, found, "a row without its order's link: %s", textOf(tr))
		cells := tr.Find("td")
		require.GreaterOrEqual(t, cells.Length(), 4, "row: %s", textOf(tr))
		rows = append(rows, orderRow{ID: id, Ticket: textOf(cells.Eq(1)), Amount: textOf(cells.Eq(2)), Status: textOf(cells.Eq(3))})
	})
	return rows
}

// requireNoOrders checks that a user has no orders.
func requireNoOrders(t *testing.T, b *testBundle, email string) {
	t.Helper()
	orders, err := b.store.OrdersByBuyer(t.Context(), b.userID(t, email))
	require.NoError(t, err)
	require.Empty(t, orders)
}
