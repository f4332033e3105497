package handlers_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/handlers"
	"github.com/eventhive/eventhive/store"
)

// TestRushForTheLastTickets has buyers press Buy at once over HTTP for the
// last tickets of one listing: a listing never sells more than it has, every
// order holds exactly what it asked for, and everyone else hears why.
func TestRushForTheLastTickets(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		const buyers = 40
		b := setupWith(t, dialect, bundleOpts{configure: func(cfg *handlers.Config) { cfg.SignUpsPerIP = handlers.NoLimit }})
		seller := b.signUp(t, "seller@example.com")
		listFive := func(name string) int64 {
			t.Helper()
			res := b.postForm(t, seller, "/tickets", url.Values{"event_name": {name}, "price": {"30"},
				"face_value": {"30"}, "quantity": {"5"}})
			return idFromLocation(t, res, "/tickets/")
		}
		clients := make([]*http.Client, buyers)
		for i := range clients {
			clients[i] = b.signUp(t, "buyer"+itoa(int64(i))+"@example.com")
		}
		rush := func(listing int64, quantity string) (won []int, refusals []string) {
			t.Helper()
			form := url.Values{"ticket_id": {itoa(listing)}, "quantity": {quantity}}.Encode()
			statuses := make([]int, buyers)
			bodies := make([]string, buyers)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i, c := range clients {
				wg.Go(func() {
					<-start
					res, err := c.Post(b.url("/orders"), "application/x-www-form-urlencoded", strings.NewReader(form))
					if !assertNoError(t, err) {
						return
					}
					defer res.Body.Close()
					body, err := io.ReadAll(res.Body)
					if !assertNoError(t, err) {
						return
					}
					statuses[i], bodies[i] = res.StatusCode, string(body)
				})
			}
			close(start)
			wg.Wait()
			for i, status := range statuses {
				switch status {
				case http.StatusSeeOther:
					won = append(won, i)
				case http.StatusConflict:
					refusals = append(refusals, alertMessage(t, bodies[i]))
				default:
					t.Fatalf("buyer %d: status %d", i, status)
				}
			}
			return won, refusals
		}
		heldBy := func(listing int64, i int) int {
			t.Helper()
			o, err := b.store.HeldBy(t.Context(), listing, b.userID(t, "buyer"+itoa(int64(i))+"@example.com"), b.clock.Now())
			require.NoError(t, err)
			return o.Quantity
		}

		t.Run("OneEachForTheLastThree", func(t *testing.T) {
			listing := listFive("Last three")
			early := b.signUp(t, "early@example.com")
			res := b.postForm(t, early, "/orders", url.Values{"ticket_id": {itoa(listing)}, "quantity": {"2"}})
			requireStatus(t, res, http.StatusSeeOther)

			won, refusals := rush(listing, "1")
			require.Len(t, won, 3, "three buyers get the three tickets left")
			for _, i := range won {
				require.Equal(t, 1, heldBy(listing, i))
			}
			require.Len(t, refusals, buyers-3)
			for _, msg := range refusals {
				require.NotEmpty(t, msg, "a refused buyer is told why")
			}
			l, err := b.store.Listing(t.Context(), listing, b.clock.Now())
			require.NoError(t, err)
			require.Equal(t, 0, l.Free)
			require.Equal(t, 5, l.Held())
		})

		t.Run("TwoEachForFive", func(t *testing.T) {
			b.clock.Advance(time.Hour) // the holds above are over
			listing := listFive("Two each")
			won, _ := rush(listing, "2")
			require.Len(t, won, 2, "two pairs fit in five tickets")
			for _, i := range won {
				require.Equal(t, 2, heldBy(listing, i), "an order holds all it asked for")
			}
			l, err := b.store.Listing(t.Context(), listing, b.clock.Now())
			require.NoError(t, err)
			require.Equal(t, 1, l.Free, "the fifth ticket is left, not half a pair")
		})
	})
}

// assertNoError reports err from a goroutine, where require cannot stop the
// test.
func assertNoError(t *testing.T, err error) bool {
	if err != nil {
		t.Error(err)
		return false
	}
	return true
}
