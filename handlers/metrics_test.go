package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/handlers"
	"github.com/eventhive/eventhive/metrics"
	"github.com/eventhive/eventhive/store"
)

// TestMetrics checks that the metrics handler (served on METRICS_PORT) shows
// a purchase as a hold created and as a timed POST /orders, and that the app's
// own router does not publish them.
func TestMetrics(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		m := metrics.New()
		b := setupWith(t, dialect, bundleOpts{
			noWorkers:    true,
			storeOptions: []store.Option{store.WithObserver(m)},
			configure:    func(cfg *handlers.Config) { cfg.Metrics = m },
		})

		scrape := func() string {
			rec := httptest.NewRecorder()
			m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
			require.Equal(t, http.StatusOK, rec.Code)
			return rec.Body.String()
		}
		require.Contains(t, scrape(), "eventhive_holds_created_total 0\n")
		requireStatus(t, b.get(t, newClient(t), "/metrics"), http.StatusNotFound)

		seller := b.signUp(t, "seller@example.com")
		ticket := b.listTicket(t, seller, "Front row", "30.00")
		buyer := b.signUp(t, "buyer@example.com")
		b.buyOK(t, buyer, ticket)

		got := scrape()
		require.Contains(t, got, "eventhive_holds_created_total 1\n")
		require.Contains(t, got, `eventhive_http_request_duration_seconds_count{code="303",method="POST",route="/orders"} 1`+"\n")
	})
}
