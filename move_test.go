package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// moveApp is the whole app, run in this process by run() as main runs it.
type moveApp struct {
	url  string
	stop func() // stops the app and waits for run to return
	logs *moveLogBuffer
}

// moveLogBuffer collects the app's logs from its goroutines.
type moveLogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *moveLogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *moveLogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startMoveApp runs the app on databaseURL until stop or the test's end.
func startMoveApp(t *testing.T, databaseURL string, hold time.Duration) *moveApp {
	t.Helper()
	port := freePort(t)
	env := map[string]string{
		"PORT":                  strconv.Itoa(port),
		"DATABASE_URL":          databaseURL,
		"ORDER_HOLD":            hold.String(),
		"BASE_URL":              fmt.Sprintf("http://127.0.0.1:%d", port),
		"STRIPE_WEBHOOK_SECRET": "whsec_move_test",
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &moveLogBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, logs) }()
	var once sync.Once
	a := &moveApp{url: fmt.Sprintf("http://127.0.0.1:%d", port), logs: logs}
	a.stop = func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done, "the app stopped with an error: %s", logs)
		})
	}
	t.Cleanup(a.stop)
	require.Eventually(t, func() bool {
		select {
		case err := <-done:
			done <- err
			return true // fail below
		default:
		}
		resp, err := http.Get(a.url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 20*time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("the app stopped at start: %v\n%s", err, logs)
	default:
	}
	return a
}

// moveBrowser is a person's browser: it keeps cookies, which, being for the
// host 127.0.0.1, go to every app this test starts.
type moveBrowser struct {
	t      *testing.T
	client *http.Client
}

func newMoveBrowser(t *testing.T) *moveBrowser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &moveBrowser{t: t, client: &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (b *moveBrowser) do(req *http.Request) (int, string, string) {
	resp, err := b.client.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

// get fetches a page: its status and HTML.
func (b *moveBrowser) get(u string) (int, string) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(b.t, err)
	status, _, body := b.do(req)
	return status, body
}

// post submits a form and expects a redirect, whose Location it returns.
func (b *moveBrowser) post(u string, form url.Values) string {
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	status, location, body := b.do(req)
	require.Equal(b.t, http.StatusSeeOther, status, "POST %s: %s", u, body)
	return location
}

// page fetches a page that must answer 200.
func (b *moveBrowser) page(u string) string {
	status, body := b.get(u)
	require.Equal(b.t, http.StatusOK, status, "GET %s: %s", u, body)
	return body
}

// moveIDAfter reads the id at the end of a location such as /orders/7.
func moveIDAfter(t *testing.T, location, prefix string) int64 {
	t.Helper()
	require.True(t, strings.HasPrefix(location, prefix), "location %q", location)
	id, err := strconv.ParseInt(strings.TrimPrefix(location, prefix), 10, 64)
	require.NoError(t, err)
	return id
}

// moveFileSums hashes a SQLite database's files, to show they did not change.
func moveFileSums(t *testing.T, path string) map[string][sha256.Size]byte {
	t.Helper()
	sums := map[string][sha256.Size]byte{}
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		sums[filepath.Base(p)] = sha256.Sum256(b)
	}
	return sums
}

// moveExpiresAt returns the time an order page counts down to, as written.
func moveExpiresAt(t *testing.T, page string) string {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(page))
	require.NoError(t, err)
	at, ok := d.Find("[data-expires-at]").Attr("data-expires-at")
	require.True(t, ok, "no countdown in:\n%s", page)
	return at
}

// moveDoc parses a page.
func moveDoc(page string) *goquery.Document {
	d, err := goquery.NewDocumentFromReader(strings.NewReader(page))
	if err != nil {
		panic(err) // reading a string cannot fail
	}
	return d
}

// moveHas reports whether an element of a page that the CSS selector
// matches reads text, white space trimmed.
func moveHas(page, selector, text string) bool {
	return moveDoc(page).Find(selector).FilterFunction(func(_ int, s *goquery.Selection) bool {
		return strings.TrimSpace(s.Text()) == text
	}).Length() > 0
}

// moveSignedInAs reports whether a page names email as signed in: "Signed
// in as <strong>email</strong>".
func moveSignedInAs(page, email string) bool {
	return moveDoc(page).Find("strong").FilterFunction(func(_ int, s *goquery.Selection) bool {
		return s.Text() == email && strings.HasSuffix(s.Parent().Text(), "Signed in as "+email)
	}).Length() > 0
}

// TestMoveToPostgresCommand moves data written through the app on SQLite
// into PostgreSQL with the subcommand, then uses it through the app there.
func TestMoveToPostgresCommand(t *testing.T) {
	t.Parallel()

	t.Run("ThroughTheApp", func(t *testing.T) {
		t.Parallel()
		if os.Getenv("TEST_DATABASE_URL") == "" {
			t.Skip("TEST_DATABASE_URL is not set: moving needs PostgreSQL")
		}
		// Long enough for the move and the checks after it on a busy machine.
		const hold = 20 * time.Second
		sqlitePath := storetest.URL(t, store.SQLite)
		pgURL := storetest.URL(t, store.Postgres)

		// On SQLite: a seller lists three tickets; a buyer pays for one
		// through the built-in checkout and holds another, unpaid.
		first := startMoveApp(t, sqlitePath, hold)
		seller, buyer := newMoveBrowser(t), newMoveBrowser(t)
		seller.post(first.url+"/signup", url.Values{"email": {"seller@example.com"}, "password": {"correct horse"}})
		buyer.post(first.url+"/signup", url.Values{"email": {"buyer@example.com"}, "password": {"correct horse"}})
		ticket := func(title, price string) int64 {
			return moveIDAfter(t, seller.post(first.url+"/tickets", url.Values{"title": {title}, "price": {price}}), "/tickets/")
		}
		paidTicket := ticket("Paid Show", "30.50")
		pendingTicket := ticket("Held Concert", "42")
		freeTicket := ticket("Still For Sale", "10")

		paidOrder := moveIDAfter(t, buyer.post(first.url+"/orders", url.Values{"ticket_id": {moveID(paidTicket)}}), "/orders/")
		checkoutURL := buyer.post(fmt.Sprintf("%s/orders/%d/pay", first.url, paidOrder), nil)
		buyer.post(checkoutURL+"/pay", nil)
		require.Eventually(t, func() bool {
			_, page := buyer.get(fmt.Sprintf("%s/orders/%d", first.url, paidOrder))
			return moveHas(page, "span.badge-paid", "paid")
		}, 20*time.Second, 50*time.Millisecond, "the payment is processed")

		// A second payment naming the order, on a session it did not start,
		// is refunded.
		db, err := store.Open(t.Context(), sqlitePath)
		require.NoError(t, err)
		st, err := store.New(db)
		require.NoError(t, err)
		require.NoError(t, st.RecordPayment(t.Context(), store.Payment{
			OrderID: paidOrder, SessionID: "cs_twice", PaymentIntentID: "pi_twice", Amount: 3050, Currency: "usd",
		}, time.Now()))
		require.Eventually(t, func() bool {
			var status string
			require.NoError(t, db.Read.QueryRow(`SELECT status FROM payments WHERE checkout_session_id = 'cs_twice'`).Scan(&status))
			return status == string(store.PaymentRefunded)
		}, 20*time.Second, 50*time.Millisecond, "the refund is processed")
		// Three seats sold together, at an event a month ahead.
		sellerUser, err := st.UserByEmail(t.Context(), "seller@example.com")
		require.NoError(t, err)
		seats, err := st.CreateListing(t.Context(), sellerUser.ID, store.NewListing{
			Event: store.NewEvent{Name: "Dated Festival", StartsAt: time.Now().Add(30 * 24 * time.Hour), TimeZone: "Europe/Paris"},
			Price: 5000, FaceValue: 5000, Currency: "usd", Quantity: 3, Together: true,
		}, time.Now())
		require.NoError(t, err)
		require.NoError(t, db.Close())

		pendingOrder := moveIDAfter(t, buyer.post(first.url+"/orders", url.Values{"ticket_id": {moveID(pendingTicket)}}), "/orders/")
		held := time.Now()

		// Pages that do not depend on the clock, to compare after the move.
		pages := []string{
			fmt.Sprintf("/orders/%d", paidOrder), "/payments",
			fmt.Sprintf("/tickets/%d", paidTicket), fmt.Sprintf("/tickets/%d", freeTicket),
			fmt.Sprintf("/tickets/%d", seats.ID),
		}
		before := map[string]string{}
		for _, p := range pages {
			before[p] = buyer.page(first.url + p)
		}
		pendingPage := buyer.page(fmt.Sprintf("%s/orders/%d", first.url, pendingOrder))
		require.True(t, moveHas(pendingPage, "span.badge-pending", "pending"), "pending in:\n%s", pendingPage)
		seller.page(first.url + "/") // shows, and so removes, the flash message of the last listing
		listing := seller.page(first.url + "/")
		first.stop()

		// The move.
		sums := moveFileSums(t, sqlitePath)
		var out bytes.Buffer
		err = run(t.Context(), []string{"move-to-postgres", "--from", sqlitePath, "--to", pgURL}, mapEnvForMove(nil), &out)
		require.NoError(t, err)
		t.Logf("move-to-postgres said:\n%s", out.String())
		require.Contains(t, out.String(), "in one transaction:")
		for _, want := range []string{
			`users +2\n`, `events +4\n`, `listings +4\n`, `tickets +6\n`, `orders +2\n`, `payments +2\n`,
			`stripe events +1\n`, `sessions +[2-9]\n`, `sales +1\n`, `ledger +1\n`,
			`jobs +3 \(1 order expiry, 0 stripe event, 0 refund, 1 sales close, 0 mail, 1 payout\)\n`,
		} {
			require.Regexp(t, want, out.String())
		}
		require.Equal(t, sums, moveFileSums(t, sqlitePath), "the source did not change")
		require.Less(t, time.Since(held), hold, "the move must end before the hold does")

		// On PostgreSQL: the same people are still signed in and see the same
		// pages; the pending order is still pending until its hold ends.
		second := startMoveApp(t, pgURL, hold)
		page := buyer.page(fmt.Sprintf("%s/orders/%d", second.url, pendingOrder))
		require.True(t, moveHas(page, "span.badge-pending", "pending"), "pending in:\n%s", page)
		require.Equal(t, moveExpiresAt(t, pendingPage), moveExpiresAt(t, page))
		require.Equal(t, listing, seller.page(second.url+"/"), "the held ticket is still held")
		require.True(t, moveSignedInAs(listing, "seller@example.com"), "signed in as the seller in:\n%s", listing)
		require.Less(t, time.Since(held), hold, "the hold must not end before these checks")
		for _, p := range pages {
			require.Equal(t, before[p], buyer.page(second.url+p), "page %s", p)
		}
		require.True(t, moveSignedInAs(before["/payments"], "buyer@example.com"), "signed in as the buyer in:\n%s", before["/payments"])
		status, _ := seller.get(fmt.Sprintf("%s/orders/%d", second.url, pendingOrder))
		require.Equal(t, http.StatusNotFound, status, "still the buyer's order only")

		// New rows get ids above the moved ones.
		newTicket := moveIDAfter(t, seller.post(second.url+"/tickets", url.Values{"title": {"After The Move"}, "price": {"5"}}), "/tickets/")
		require.Greater(t, newTicket, freeTicket)
		newOrder := moveIDAfter(t, buyer.post(second.url+"/orders", url.Values{"ticket_id": {moveID(newTicket)}}), "/orders/")
		require.Greater(t, newOrder, pendingOrder)

		// The recreated expiry job ends the hold on PostgreSQL.
		pg, err := store.Open(t.Context(), pgURL)
		require.NoError(t, err)
		defer pg.Close()
		pgStore, err := store.New(pg)
		require.NoError(t, err)
		buyerUser, err := pgStore.UserByEmail(t.Context(), "buyer@example.com")
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			o, err := pgStore.Order(t.Context(), pendingOrder, buyerUser.ID)
			return err == nil && o.Status == store.Cancelled
		}, hold+20*time.Second, 100*time.Millisecond, "the expiry job cancelled the order; app logs:\n%s", second.logs)
		page = buyer.page(fmt.Sprintf("%s/orders/%d", second.url, pendingOrder))
		require.True(t, moveHas(page, "span.badge-expired", "expired"), "expired in:\n%s", page)
		require.True(t, moveHas(seller.page(second.url+"/"), fmt.Sprintf(`section#listing article:has(.offer a[href="/tickets/%d"]) h2`, pendingTicket), "Held Concert"), "the ticket is for sale again")

		// A second move into the now used database is refused.
		out.Reset()
		err = run(t.Context(), []string{"move-to-postgres", "--from", sqlitePath, "--to", pgURL}, mapEnvForMove(nil), &out)
		require.ErrorIs(t, err, store.ErrTargetNotEmpty)
		require.ErrorContains(t, err, "nothing was written")
		require.Empty(t, out.String())
	})

	t.Run("Usage", func(t *testing.T) {
		t.Parallel()
		missing := filepath.Join(t.TempDir(), "missing.db")
		for _, tc := range []struct {
			name    string
			args    []string
			wantErr string
		}{
			{"NoFlags", nil, "--from is required"},
			{"NoTarget", []string{"--from", "eventhive.db"}, "--to is required"},
			{"TargetNotPostgres", []string{"--from", "eventhive.db", "--to", "other.db"}, "--to must be a postgres:// or postgresql:// URL"},
			{"UnknownFlag", []string{"--form", "eventhive.db"}, "flag provided but not defined: -form"},
			{"ExtraArguments", []string{"--from", "a.db", "--to", "postgres://h/db", "now"}, `unexpected arguments ["now"]`},
			{"MissingSource", []string{"--from", missing, "--to", "postgres://u:secret@127.0.0.1:1/db"}, "no such file"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				var out bytes.Buffer
				err := run(t.Context(), append([]string{"move-to-postgres"}, tc.args...), mapEnvForMove(nil), &out)
				require.ErrorContains(t, err, tc.wantErr)
				require.ErrorContains(t, err, "move-to-postgres")
				require.NotContains(t, err.Error(), "secret")
				require.Empty(t, out.String())
			})
		}
		require.NoFileExists(t, missing)

		t.Run("Help", func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			require.NoError(t, run(t.Context(), []string{"move-to-postgres", "-h"}, mapEnvForMove(nil), &out))
			require.Contains(t, out.String(), "Usage: eventhive move-to-postgres --from FILE [--to URL]")
			require.Contains(t, out.String(), "-from FILE")
			require.Contains(t, out.String(), "-to URL")
		})
	})

	t.Run("RedactsPassword", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, "postgres://app:xxxxx@db.internal:5432/eventhive?sslmode=disable",
			redact("postgres://app:hunter2@db.internal:5432/eventhive?sslmode=disable"))
		require.Equal(t, "postgres://db.internal/eventhive?password=xxxxx",
			redact("postgres://db.internal/eventhive?password=hunter2"))
	})
}

// mapEnvForMove is an environment of the given variables only.
func mapEnvForMove(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// moveID formats an id for a form.
func moveID(n int64) string { return strconv.FormatInt(n, 10) }
