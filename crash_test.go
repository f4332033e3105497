package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// TestKillDuringRush kills the app with SIGKILL in the middle of a rush of
// orders and webhook deliveries, then restarts it: every order and every
// webhook event that was answered is there, every answered event is processed
// exactly once, no ticket stays held past its hold, and nothing is paid twice.
func TestKillDuringRush(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			databaseURL := storetest.URL(t, dialect)
			const hold = 3 * time.Second
			const secret = "whsec_crash"
			first := startApp(t, databaseURL, hold, "STRIPE_WEBHOOK_SECRET="+secret)

			seller := newUser(t)
			seller.signUp(first, "seller@example.com")
			ticketIDs := seller.listTickets(first, "Crash", 20)
			buyers := make([]*user, 10)
			for i := range buyers {
				buyers[i] = newUser(t)
				buyers[i].signUp(first, fmt.Sprintf("buyer%d@example.com", i))
			}

			var mu sync.Mutex
			var answeredOrders []int64          // orders the app confirmed with 303
			answeredEvents := map[string]bool{} // events the app acknowledged with 200
			ctx, stop := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for i, buyer := range buyers {
				wg.Go(func() {
					client := &http.Client{Jar: buyer.client.Jar, Timeout: 5 * time.Second,
						CheckRedirect: buyer.client.CheckRedirect}
					for n := 0; ctx.Err() == nil && n < 200; n++ {
						ticketID := ticketIDs[rand.IntN(len(ticketIDs))]
						resp, err := client.PostForm(first.url+"/orders", url.Values{"ticket_id": {ticketID}})
						if err != nil {
							return // the app is gone
						}
						resp.Body.Close()
						if resp.StatusCode != http.StatusSeeOther {
							continue
						}
						var orderID int64
						if _, err := fmt.Sscanf(resp.Header.Get("Location"), "/orders/%d", &orderID); err != nil {
							continue
						}
						mu.Lock()
						answeredOrders = append(answeredOrders, orderID)
						mu.Unlock()
						// Pay about half of them, each event delivered twice.
						if (orderID+int64(i))%2 == 0 {
							continue
						}
						// Paying sets the order's checkout session, which the
						// event must name.
						resp, err = client.PostForm(fmt.Sprintf("%s/orders/%d/pay", first.url, orderID), nil)
						if err != nil {
							return
						}
						resp.Body.Close()
						if resp.StatusCode != http.StatusSeeOther {
							continue // the hold ended first: nothing to pay
						}
						payload, header := completedEvent(t, secret, orderID, 1000)
						for range 2 {
							req, _ := http.NewRequest(http.MethodPost, first.url+"/webhooks/stripe", strings.NewReader(string(payload)))
							req.Header.Set("Stripe-Signature", header)
							resp, err := client.Do(req)
							if err != nil {
								return
							}
							resp.Body.Close()
							if resp.StatusCode == http.StatusOK {
								mu.Lock()
								answeredEvents[fmt.Sprintf("evt_%d", orderID)] = true
								mu.Unlock()
							}
						}
					}
				})
			}
			// Let the rush run, then pull the plug.
			require.Eventually(t, func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(answeredOrders) >= 10 && len(answeredEvents) >= 3
			}, 30*time.Second, 10*time.Millisecond)
			require.NoError(t, first.cmd.Process.Signal(syscall.SIGKILL))
			_ = first.cmd.Wait()
			stop()
			wg.Wait()

			startApp(t, databaseURL, hold, "STRIPE_WEBHOOK_SECRET="+secret)
			db, err := store.Open(context.Background(), databaseURL)
			require.NoError(t, err)
			defer db.Close()
			count := func(query string, args ...any) int {
				var n int
				require.NoError(t, db.Read.QueryRow(query, args...).Scan(&n))
				return n
			}

			for _, id := range answeredOrders {
				require.Equal(t, 1, count(`SELECT count(*) FROM orders WHERE id = $1`, id), "order %d was confirmed", id)
			}
			for id := range answeredEvents {
				require.Equal(t, 1, count(`SELECT count(*) FROM stripe_events WHERE id = $1`, id), "event %s was acknowledged", id)
			}
			// A job the kill caught running is retried once River's rescuer
			// sees it stuck (a minute), so this can take two.
			require.Eventually(t, func() bool {
				return count(`SELECT count(*) FROM stripe_events WHERE processed_at IS NULL`) == 0 &&
					count(`SELECT count(*) FROM orders WHERE status = 'pending'`) == 0
			}, 150*time.Second, 200*time.Millisecond, "every stored event is processed and every hold recorded as ended after the restart")

			require.Zero(t, count(`SELECT count(*) FROM listings l WHERE l.quantity <
				(SELECT coalesce(sum(o.quantity), 0) FROM orders o WHERE o.listing_id = l.id AND o.status = 'paid')`),
				"no listing sells more tickets than it has")
			require.Zero(t, count(`SELECT count(*) FROM orders o WHERE o.status = 'paid' AND o.quantity <>
				(SELECT count(*) FROM tickets t WHERE t.claim_order_id = o.id AND t.claim_expires_at IS NULL)`),
				"every paid order owns its tickets")
			require.Zero(t, count(`SELECT count(*) FROM (SELECT order_id FROM payments
				GROUP BY order_id HAVING count(*) > 1) AS twice`), "no order is paid twice")
			require.Zero(t, count(`SELECT count(*) FROM tickets t WHERE t.claim_order_id IS NOT NULL
				AND t.claim_expires_at IS NULL AND NOT EXISTS (SELECT 1 FROM orders o
				WHERE o.id = t.claim_order_id AND o.status = 'paid')`), "every sold ticket has its paid order")
			// Each acknowledged event made exactly one payment, kept or refunded.
			require.Equal(t, count(`SELECT count(*) FROM stripe_events`), count(`SELECT count(*) FROM payments`))
			require.Zero(t, count(`SELECT count(*) FROM payments p JOIN orders o ON o.id = p.order_id
				WHERE p.status = 'succeeded' AND o.status <> 'paid'`), "no money is kept without a ticket")
		})
	}
}
