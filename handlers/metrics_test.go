package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/metrics"
	"github.com/eventhive/eventhive/store"
)

// TestMetrics checks that the metrics handler (served on METRICS_PORT) shows
// a purchase as a hold created and as a timed POST /orders, and that the app's
// own router does not publish them. Live-update streams are not timed.
func TestMetrics(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		m := metrics.New()
		b := setupWith(t, dialect, bundleOpts{
			noWorkers:    true,
			storeOptions: []store.Option{store.WithObserver(m)},
			metrics:      m,
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

		// A live-update stream lasts as long as its page: not a latency.
		requireStatus(t, b.do(t, buyer, http.MethodHead, "/live", nil), http.StatusOK)
		require.False(t, strings.Contains(scrape(), `route="/live"`), "the stream is timed")
	})
}

// TestMetricsSeriesBounded sends requests with made-up methods, long ones
// among them, and to paths no route matches: none of them adds a series to
// the request metrics, and the made-up methods are refused with 405.
func TestMetricsSeriesBounded(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	b := setupWith(t, store.SQLite, bundleOpts{
		noWorkers: true,
		metrics:   m,
	})
	series := regexp.MustCompile(`(?m)^eventhive_http_request_duration_seconds_count\{code="(\d+)",method="([^"]*)",route="([^"]*)"\}`)
	labels := func() []string {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		require.Equal(t, http.StatusOK, rec.Code)
		var got []string
		for _, s := range series.FindAllStringSubmatch(rec.Body.String(), -1) {
			require.Contains(t, []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}, s[2])
			require.True(t, s[3] == "unmatched" || strings.HasPrefix(s[3], "/"), "route %q", s[3])
			require.Less(t, len(s[3]), 40, "route %q", s[3])
			got = append(got, s[0])
		}
		return got
	}
	c := newClient(t)
	junk := func(i int) {
		for _, method := range []string{"FOO" + strconv.Itoa(i), strings.Repeat("X", 8<<10) + strconv.Itoa(i)} {
			for _, path := range []string{"/", "/nope/" + strconv.Itoa(i)} {
				res := b.do(t, c, method, path, nil)
				requireStatus(t, res, http.StatusMethodNotAllowed)
			}
		}
		for _, path := range []string{"/nope/", "/tickets/1/nope/", "/admin/nope/", "/static/nope/", "/orders/nope/"} {
			b.get(t, c, path+strconv.Itoa(i))
			b.do(t, c, http.MethodDelete, path+strconv.Itoa(i), nil)
		}
	}
	junk(0)
	before := labels()
	for i := 1; i <= 50; i++ {
		junk(i)
	}
	require.Equal(t, before, labels())
	require.Less(t, len(before), 20)
}
