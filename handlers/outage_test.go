package handlers_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/eventhive/eventhive/handlers"
	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

const outageMessage = "EventHive is briefly unavailable, try again in a moment."

// signedEvent signs a Stripe event of the given id and type with secret, as
// Stripe would.
func signedEvent(secret, id, eventType string) (payload []byte, header string) {
	body := fmt.Sprintf(`{"id":%q,"object":"event","type":%q,"api_version":%q,"created":%d,
		"data":{"object":{"id":"cs_test_%s","object":"checkout.session","status":"complete","payment_status":"paid",
		"client_reference_id":"1","amount_total":1000,"currency":"usd","payment_intent":"pi_%s"}}}`,
		id, eventType, stripe.APIVersion, time.Now().Unix(), id, id)
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(body), Secret: secret})
	return signed.Payload, signed.Header
}

// postEvent delivers a signed event to the webhook.
func (b *testBundle) postEvent(t *testing.T, payload []byte, header string) *response {
	t.Helper()
	return b.do(t, newClient(t), http.MethodPost, "/webhooks/stripe", strings.NewReader(string(payload)),
		withHeader("Stripe-Signature", header), withHeader("Content-Type", "application/json"))
}

// requireUnavailable checks the answer to a request made while the database
// is away: 503 with Retry-After, the plain page, the usual headers.
func requireUnavailable(t *testing.T, res *response) {
	t.Helper()
	requireStatus(t, res, http.StatusServiceUnavailable)
	require.Equal(t, "5", res.Header.Get("Retry-After"))
	requireSecurityHeaders(t, res.Response)
}

func requirePostgres(t *testing.T) {
	t.Helper()
	for _, d := range storetest.Dialects() {
		if d == store.Postgres {
			return
		}
	}
	t.Skip("needs PostgreSQL: set TEST_DATABASE_URL (a SQLite file does not go away)")
}

// TestDatabaseOutage: while PostgreSQL cannot be reached, every request is
// answered 503 with Retry-After and a plain page instead of a 500, and the
// app recovers by itself when the database is back.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	requirePostgres(t)
	const secret = "whsec_outage"

	t.Run("ServerGoesAwayAndComesBack", func(t *testing.T) {
		t.Parallel()
		outage := storetest.NewOutage(t, storetest.URL(t, store.Postgres))
		db, err := store.Open(t.Context(), outage.URL)
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		require.NoError(t, db.Migrate(t.Context()))
		st, err := store.New(db)
		require.NoError(t, err)
		b := &testBundle{dialect: store.Postgres, db: db, store: st, clock: &testClock{}, hold: defaultHold}
		b.server = b.serve(t, func(cfg *handlers.Config) { cfg.StripeWebhookSecret = secret })
		seller := b.signUp(t, "seller@example.com")
		id := b.listTicket(t, seller, "Opera", "30")

		outage.Down()
		pages := []*response{
			b.get(t, newClient(t), "/"),
			b.get(t, seller, "/"), // the session cannot be loaded
			b.get(t, newClient(t), "/tickets/"+itoa(id)),
			b.get(t, seller, "/orders"),
			b.postForm(t, newClient(t), "/signin", url.Values{"email": {"seller@example.com"}, "password": {password}}),
			b.postForm(t, newClient(t), "/signup", url.Values{"email": {"new@example.com"}, "password": {password}}),
			b.postForm(t, seller, "/tickets", url.Values{"title": {"Jazz"}, "price": {"10"}}),
			b.buy(t, seller, id),
			b.get(t, newClient(t), "/tickets/"+itoa(id), htmx),
		}
		for _, res := range pages {
			requireUnavailable(t, res)
			require.Contains(t, res.HTML, outageMessage)
			requireElementText(t, res.HTML, "h1", "Briefly unavailable")
		}
		requireFragment(t, pages[len(pages)-1], "<article>")
		requireUnavailable(t, b.get(t, newClient(t), "/healthz"))
		// Stripe is asked to retry the webhook too.
		payload, header := signedEvent(secret, "evt_outage", "checkout.session.completed")
		requireUnavailable(t, b.postEvent(t, payload, header))

		outage.Up()
		require.Eventually(t, func() bool {
			return b.get(t, newClient(t), "/").StatusCode == http.StatusOK
		}, 10*time.Second, 50*time.Millisecond, "the app did not recover")
		requireSignedInAs(t, b.get(t, seller, "/").HTML, "seller@example.com")
		b.listTicket(t, seller, "Jazz", "10")
		requireStatus(t, b.postEvent(t, payload, header), http.StatusOK)
		requireStatus(t, b.get(t, newClient(t), "/healthz"), http.StatusOK)
	})

	t.Run("ConnectionsTerminated", func(t *testing.T) {
		// PostgreSQL restarting ends every connection: pg_terminate_backend
		// does the same. Requests on a dead connection are 503, never
		// 500, and fresh connections serve the rest.
		t.Parallel()
		name := fmt.Sprintf("eventhive_outage_%d", time.Now().UnixNano())
		u, err := url.Parse(storetest.URL(t, store.Postgres))
		require.NoError(t, err)
		q := u.Query()
		q.Set("application_name", name)
		u.RawQuery = q.Encode()
		db, err := store.Open(t.Context(), u.String())
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		require.NoError(t, db.Migrate(t.Context()))
		st, err := store.New(db)
		require.NoError(t, err)
		b := &testBundle{dialect: store.Postgres, db: db, store: st, clock: &testClock{}, hold: defaultHold}
		b.server = b.serve(t, nil)
		seller := b.signUp(t, "seller@example.com")
		id := b.listTicket(t, seller, "Opera", "30")

		admin, err := sql.Open("pgx", os.Getenv("TEST_DATABASE_URL"))
		require.NoError(t, err)
		defer admin.Close()
		statuses := map[int]int{}
		for round := range 5 {
			// Keep several connections busy, so that the pool holds some.
			for range 3 {
				requireStatus(t, b.get(t, seller, "/tickets/"+itoa(id)), http.StatusOK)
			}
			var killed int
			require.NoError(t, admin.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
				WHERE application_name = $1`, name).Scan(&killed))
			require.Positive(t, killed, "round %d", round)
			for range 5 {
				res := b.get(t, seller, "/tickets/"+itoa(id))
				statuses[res.StatusCode]++
				if res.StatusCode != http.StatusOK {
					requireUnavailable(t, res)
				}
			}
		}
		t.Logf("answers after terminating connections: %v", statuses)
		require.Eventually(t, func() bool {
			return b.get(t, seller, "/tickets/"+itoa(id)).StatusCode == http.StatusOK
		}, 10*time.Second, 50*time.Millisecond)
		requireSignedInAs(t, b.get(t, seller, "/").HTML, "seller@example.com")
	})
}
