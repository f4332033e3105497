package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/eventhive/eventhive/payments"
	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// TestTwoInstances runs two app processes on one PostgreSQL database: buyers
// racing across both get one order per ticket, each expiry and each payment
// is processed once, and stopping one process with SIGTERM loses no job.
func TestTwoInstances(t *testing.T) {
	t.Parallel()
	if !hasPostgres() {
		t.Skip("needs PostgreSQL: set TEST_DATABASE_URL (CI does)")
	}
	databaseURL := storetest.URL(t, store.Postgres)
	const hold = 6 * time.Second
	const secret = "whsec_two_instances"
	a := startApp(t, databaseURL, hold, "STRIPE_WEBHOOK_SECRET="+secret)
	b := startApp(t, databaseURL, hold, "STRIPE_WEBHOOK_SECRET="+secret)
	instances := []*app{a, b}

	seller := newUser(t)
	seller.signUp(a, "seller@example.com")
	ticketIDs := seller.listTickets(a, "Rush", 3)

	// 20 buyers, half on each instance, race for each ticket in turn.
	buyers := make([]*user, 20)
	for i := range buyers {
		buyers[i] = newUser(t)
		buyers[i].signUp(instances[i%2], fmt.Sprintf("buyer%d@example.com", i))
	}
	orderOf := map[string]string{} // ticket id -> order URL
	for _, ticketID := range ticketIDs {
		var wg sync.WaitGroup
		var mu sync.Mutex
		statuses := map[int]int{}
		for i, buyer := range buyers {
			wg.Go(func() {
				resp, _ := buyer.post(instances[i%2].url+"/orders", url.Values{"ticket_id": {ticketID}})
				mu.Lock()
				defer mu.Unlock()
				statuses[resp.StatusCode]++
				if resp.StatusCode == http.StatusSeeOther {
					orderOf[ticketID] = resp.Header.Get("Location")
				}
			})
		}
		wg.Wait()
		require.Equal(t, map[int]int{http.StatusSeeOther: 1, http.StatusConflict: len(buyers) - 1}, statuses, "ticket %s", ticketID)
	}

	db, err := store.Open(context.Background(), databaseURL)
	require.NoError(t, err)
	defer db.Close()
	count := func(query string, args ...any) int {
		var n int
		require.NoError(t, db.Read.QueryRow(query, args...).Scan(&n))
		return n
	}
	require.Equal(t, 3, count(`SELECT count(*) FROM orders`))

	// One payment, delivered to both instances at once, twice each.
	var paidOrder int64
	_, err = fmt.Sscanf(orderOf[ticketIDs[0]], "/orders/%d", &paidOrder)
	require.NoError(t, err)
	_, err = db.Write.Exec(`UPDATE orders SET checkout_session_id = $1 WHERE id = $2`, builtinSession(t, secret, paidOrder), paidOrder)
	require.NoError(t, err) // as its buyer paying it would
	payload, header := completedEvent(t, secret, paidOrder, 1000)
	var wg sync.WaitGroup
	for _, inst := range append(instances, instances...) {
		wg.Go(func() {
			req, err := http.NewRequest(http.MethodPost, inst.url+"/webhooks/stripe", strings.NewReader(string(payload)))
			require.NoError(t, err)
			req.Header.Set("Stripe-Signature", header)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
		})
	}
	wg.Wait()
	require.Eventually(t, func() bool {
		return count(`SELECT count(*) FROM orders WHERE id = $1 AND status = 'paid'`, paidOrder) == 1
	}, 10*time.Second, 50*time.Millisecond)
	require.Equal(t, 1, count(`SELECT count(*) FROM payments`))
	require.Equal(t, 1, count(`SELECT count(*) FROM stripe_events`))

	// Stop one instance while the other two holds are still running: the
	// other instance expires both, each exactly once.
	require.NoError(t, a.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, a.cmd.Wait())
	require.Eventually(t, func() bool {
		return count(`SELECT count(*) FROM orders WHERE status = 'cancelled'`) == 2
	}, hold+20*time.Second, 100*time.Millisecond, "the surviving instance expired both holds")
	// River records a job's completion just after the job's own commit.
	require.Eventually(t, func() bool {
		return count(`SELECT count(*) FROM river_job WHERE kind = 'expire_order' AND state = 'completed'`) == 3
	}, 10*time.Second, 100*time.Millisecond, "each expiry job completed once")
	require.Equal(t, 1, count(`SELECT count(*) FROM river_job WHERE kind = 'process_stripe_event'`))
}

func hasPostgres() bool {
	for _, d := range storetest.Dialects() {
		if d == store.Postgres {
			return true
		}
	}
	return false
}

// builtinSession is the built-in checkout's session for an order of an app
// whose webhook secret is secret: what paying the order sets.
func builtinSession(t *testing.T, secret string, orderID int64) string {
	t.Helper()
	s, err := payments.NewBuiltin("", secret).CreateSession(context.Background(), payments.CheckoutRequest{OrderID: orderID})
	require.NoError(t, err)
	return s.ID
}

// completedEvent signs a checkout.session.completed event for an order's
// built-in checkout session as Stripe would.
func completedEvent(t *testing.T, secret string, orderID, amount int64) ([]byte, string) {
	t.Helper()
	payload := fmt.Sprintf(`{"id":"evt_%d","object":"event","type":"checkout.session.completed","api_version":%q,
		"created":%d,"data":{"object":{"id":%q,"object":"checkout.session","status":"complete",
		"payment_status":"paid","client_reference_id":"%d","amount_total":%d,"currency":"usd","payment_intent":"pi_%d"}}}`,
		orderID, stripe.APIVersion, time.Now().Unix(), builtinSession(t, secret, orderID), orderID, amount, orderID)
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(payload), Secret: secret})
	return signed.Payload, signed.Header
}

// startTwoInstances starts two app processes, with an hour's hold, on one
// new PostgreSQL database, whose URL it returns too; without PostgreSQL it
// skips the test.
func startTwoInstances(t *testing.T) (databaseURL string, a, b *app) {
	t.Helper()
	if !hasPostgres() {
		t.Skip("needs PostgreSQL: set TEST_DATABASE_URL (CI does)")
	}
	databaseURL = storetest.URL(t, store.Postgres)
	return databaseURL, startApp(t, databaseURL, time.Hour), startApp(t, databaseURL, time.Hour)
}

// TestListingAcrossInstances: the listing kept for signed-out visitors on one
// instance shows at once a change made through another instance on the same
// PostgreSQL, which the hubs carry. A change written behind both apps' backs
// shows only with the next change made through one of them, which proves the
// page is kept.
func TestListingAcrossInstances(t *testing.T) {
	t.Parallel()
	databaseURL, a, b := startTwoInstances(t)
	seller, visitor := newUser(t), newUser(t)
	seller.signUp(a, "seller@example.com")
	seller.listTickets(a, "Opera", 1)
	home := func() string {
		resp, body := visitor.get(b.url + "/")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		return body
	}
	require.Contains(t, home(), "Opera 0")
	require.Contains(t, home(), "Opera 0")

	db, err := store.Open(context.Background(), databaseURL)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Write.Exec(`UPDATE events SET name = 'Renamed behind the apps' WHERE name = 'Opera 0'`)
	require.NoError(t, err)
	require.Contains(t, home(), "Opera 0", "the page is kept")

	seller.listTickets(a, "Ballet", 1)
	require.Eventually(t, func() bool {
		body := home()
		return strings.Contains(body, "Ballet 0") && strings.Contains(body, "Renamed behind the apps")
	}, 10*time.Second, 10*time.Millisecond, "the change through A shows on B")
}

// TestSignOutAcrossInstances: each instance keeps sessions and users in
// memory, yet a session signed out through one no longer signs anyone in
// on the other, and signing out everywhere through one ends the sessions
// the other is serving.
func TestSignOutAcrossInstances(t *testing.T) {
	t.Parallel()
	_, a, b := startTwoInstances(t)
	signedInOn := func(u *user, on *app) bool {
		resp, _ := u.get(on.url + "/account/password")
		return resp.StatusCode == http.StatusOK
	}

	laptop := newUser(t)
	laptop.signUp(a, "ann@example.com")
	// A copy of the laptop's cookie, as someone who took it would have.
	copied := newUser(t)
	appURL, err := url.Parse(a.url)
	require.NoError(t, err)
	copied.client.Jar.SetCookies(appURL, laptop.client.Jar.Cookies(appURL))
	for range 2 {
		require.True(t, signedInOn(copied, b))
	}
	resp, _ := laptop.post(a.url+"/signout", nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Eventually(t, func() bool { return !signedInOn(copied, b) }, 5*time.Second, 5*time.Millisecond,
		"the session signed out on A signs nobody in on B")

	phone := newUser(t)
	resp, _ = phone.post(b.url+"/signin", url.Values{"email": {"ann@example.com"}, "password": {"correct horse"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	resp, _ = laptop.post(a.url+"/signin", url.Values{"email": {"ann@example.com"}, "password": {"correct horse"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	for range 2 {
		require.True(t, signedInOn(phone, b))
	}
	resp, _ = laptop.post(a.url+"/signout/everywhere", nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Eventually(t, func() bool { return !signedInOn(phone, b) }, 5*time.Second, 5*time.Millisecond,
		"signed out everywhere through A, the phone's session on B ends")
}
