package handlers_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/net/html"

	"github.com/eventhive/eventhive/handlers"
	"github.com/eventhive/eventhive/jobs"
	"github.com/eventhive/eventhive/live"
	"github.com/eventhive/eventhive/mail"
	"github.com/eventhive/eventhive/metrics"
	"github.com/eventhive/eventhive/payments"
	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// password is every test user's password.
const password = "correct horse battery"

// defaultHold is the order hold of a bundle unless a test asks for another.
// No hold ends during a test unless it moves the bundle's clock.
const defaultHold = time.Minute

// testBundle is one running EventHive: a fresh database, its store, the
// River workers and the real router behind an httptest server.
type testBundle struct {
	dialect store.Dialect
	db      *store.DB
	store   *store.Store
	clock   *testClock // the handlers', the jobs' and River's time
	hold    time.Duration
	server  *httptest.Server
	workers *river.Client[*sql.Tx] // nil until startWorkers
	stripe  jobs.Stripe            // what the jobs call for Stripe; nil when no test needs it
	live    *live.Hub              // the jobs' and handlers' publisher of page events; nil for none
	metrics *metrics.Metrics       // the handlers' metrics; nil for their own
	mail    mail.Sender            // what the jobs send mail through; nil for the log

	configure func(*handlers.Config) // applied to every handler the bundle serves
}

// bundleOpts changes what setupWith starts.
type bundleOpts struct {
	hold      time.Duration // order hold; defaultHold when zero
	noWorkers bool          // do not start River: no job runs until startWorkers
	// configure changes the configuration of every handler the bundle
	// serves, restarts included.
	configure func(*handlers.Config)
	// stripe answers the jobs' Stripe calls (session expiry, refunds).
	stripe jobs.Stripe
	// live is where the jobs and the handlers publish page events.
	live *live.Hub
	// metrics are the handlers' metrics.
	metrics *metrics.Metrics
	// mail is what the jobs send mail through; nil writes it to the log.
	mail mail.Sender
	// storeOptions configure the store, as main does (hold limit, metrics).
	storeOptions []store.Option
}

// setup starts EventHive on a fresh database of the dialect.
func setup(t *testing.T, dialect store.Dialect) *testBundle {
	t.Helper()
	return setupWith(t, dialect, bundleOpts{})
}

func setupWith(t *testing.T, dialect store.Dialect, opts bundleOpts) *testBundle {
	t.Helper()
	db := storetest.Open(t, dialect)
	st, err := store.New(db, opts.storeOptions...)
	require.NoError(t, err)
	b := &testBundle{dialect: dialect, db: db, store: st, clock: &testClock{}, hold: opts.hold,
		configure: opts.configure, stripe: opts.stripe, live: opts.live, metrics: opts.metrics, mail: opts.mail}
	if b.hold == 0 {
		b.hold = defaultHold
	}
	if !opts.noWorkers {
		b.startWorkers(t)
	}
	b.server = b.serve(t, nil)
	return b
}

// testClock is a bundle's time: the wall clock, moved forward by as much as
// the test advanced it. The handlers, the jobs and River all read it, so a
// test ends a hold by advancing the clock, not by sleeping. It runs on with
// the wall clock because the database stamps the jobs that the store inserts
// to run at once with its own time, and River must find those due. It is
// River's TimeGenerator too (river.Config.Test.Time).
type testClock struct {
	mu    sync.Mutex
	ahead time.Duration
}

// Now is the bundle's time, in UTC as main's clock.
func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().UTC().Add(c.ahead)
}

// NowOrNil gives River the bundle's time for what it would otherwise take
// from the database's clock.
func (c *testClock) NowOrNil() *time.Time {
	now := c.Now()
	return &now
}

// Advance moves the clock forward by d.
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ahead += d
}

// endHold moves the bundle's clock past the end of every hold made so far
// with the bundle's hold.
func (b *testBundle) endHold() { b.clock.Advance(b.hold) }

// now is the real clock, in UTC as main's, for tests without a bundle.
func now() time.Time { return time.Now().UTC() }

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// startWorkers starts a River client that works EventHive's jobs on the
// bundle's database and clock, stopped at the end of the test. River's
// scheduler makes due jobs available when it starts, then every five seconds:
// a test that needs an expiry job's work ends the hold before it starts the
// workers, and the job runs at once.
func (b *testBundle) startWorkers(t *testing.T) {
	t.Helper()
	deps := jobs.Deps{Store: b.store, Stripe: b.stripe, Now: b.clock.Now, Mail: b.mail}
	if b.live != nil {
		deps.Live = b.live
	}
	workers, err := jobs.NewClient(b.db.RiverDriver(), deps, discardLogger(), jobs.ForTests(b.clock))
	require.NoError(t, err)
	require.NoError(t, workers.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := workers.Stop(ctx); err != nil {
			t.Errorf("stop River: %v", err)
		}
	})
	b.workers = workers
}

// serve starts a new handler on the bundle's store behind its own server, as
// a restarted process would; configure may change its configuration.
func (b *testBundle) serve(t *testing.T, configure func(*handlers.Config)) *httptest.Server {
	t.Helper()
	srv, cfg := b.unstarted(t)
	t.Cleanup(srv.Close)
	if b.configure != nil {
		b.configure(&cfg)
	}
	if configure != nil {
		configure(&cfg)
	}
	deps := handlers.Deps{Store: b.store, Now: b.clock.Now, Metrics: b.metrics}
	if b.live != nil {
		deps.Live = b.live
	}
	srv.Config.Handler = newHandler(t, cfg, deps).Routes()
	srv.Start()
	return srv
}

// unstarted returns a server not started yet, for a handler of a test's own
// on the bundle's store, and the configuration that handler starts from.
// The caller closes the server.
func (b *testBundle) unstarted(t *testing.T) (*httptest.Server, handlers.Config) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	return srv, handlers.Config{
		BaseURL:      "http://" + srv.Listener.Addr().String(),
		OrderHold:    b.hold,
		Currency:     "usd",
		PasswordCost: bcrypt.MinCost,
	}
}

// newHandler is handlers.New with the dependencies deps lacks filled in by
// testDeps.
func newHandler(tb testing.TB, cfg handlers.Config, deps handlers.Deps) *handlers.Handler {
	tb.Helper()
	h, err := handlers.New(cfg, testDeps(tb, &cfg, deps))
	require.NoError(tb, err)
	return h
}

// testDeps fills in the dependencies deps lacks as tests need them: the
// built-in checkout on cfg's base URL and webhook secret (a random secret,
// set in cfg, when it has none; the same for its Connect secret), an in-process hub and metrics of their own,
// no logs and the real clock. The store stays the caller's to give.
func testDeps(tb testing.TB, cfg *handlers.Config, deps handlers.Deps) handlers.Deps {
	tb.Helper()
	if cfg.StripeWebhookSecret == "" {
		cfg.StripeWebhookSecret = rand.Text()
	}
	if deps.Checkout == nil {
		deps.Checkout = payments.NewBuiltin(cfg.BaseURL, cfg.StripeWebhookSecret)
		if cfg.StripeConnectWebhookSecret == "" {
			cfg.StripeConnectWebhookSecret = rand.Text()
		}
	}
	if deps.Live == nil {
		hub := live.New(discardLogger())
		tb.Cleanup(func() { hub.Close() })
		deps.Live = hub
	}
	if deps.Metrics == nil {
		deps.Metrics = metrics.New()
	}
	if deps.Log == nil {
		deps.Log = discardLogger()
	}
	if deps.Now == nil {
		deps.Now = now
	}
	return deps
}

// forEachDialect runs test as a parallel subtest on every database available.
func forEachDialect(t *testing.T, test func(t *testing.T, dialect store.Dialect)) {
	t.Helper()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			test(t, dialect)
		})
	}
}

// newClient returns a browser-like client: it keeps cookies and does not
// follow redirects, so tests see every 303.
func newClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// response is an HTTP response with its body read.
type response struct {
	*http.Response
	HTML string
}

// location is the response's Location header.
func (r *response) location() string { return r.Header.Get("Location") }

// reqOption changes a request before it is sent.
type reqOption func(*http.Request)

// htmx makes a request look like HTMX's.
func htmx(r *http.Request) { r.Header.Set("HX-Request", "true") }

// withHeader sets a request header.
func withHeader(name, value string) reqOption {
	return func(r *http.Request) { r.Header.Set(name, value) }
}

// url resolves a path on the bundle's server; absolute URLs pass unchanged.
func (b *testBundle) url(path string) string {
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		return path
	}
	return b.server.URL + path
}

// do sends a request and reads the whole response.
func (b *testBundle) do(t *testing.T, c *http.Client, method, path string, body io.Reader, opts ...reqOption) *response {
	t.Helper()
	req, err := http.NewRequest(method, b.url(path), body)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, opt := range opts {
		opt(req)
	}
	res, err := c.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b2, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return &response{Response: res, HTML: string(b2)}
}

// get fetches a page.
func (b *testBundle) get(t *testing.T, c *http.Client, path string, opts ...reqOption) *response {
	t.Helper()
	return b.do(t, c, http.MethodGet, path, nil, opts...)
}

// postForm posts a form.
func (b *testBundle) postForm(t *testing.T, c *http.Client, path string, form url.Values, opts ...reqOption) *response {
	t.Helper()
	return b.do(t, c, http.MethodPost, path, strings.NewReader(form.Encode()), opts...)
}

// signUp creates an account and returns a client signed in to it.
func (b *testBundle) signUp(t *testing.T, email string) *http.Client {
	t.Helper()
	c := newClient(t)
	res := b.postForm(t, c, "/signup", url.Values{"email": {email}, "password": {password}})
	requireStatus(t, res, http.StatusSeeOther)
	return c
}

// signIn signs a client in.
func (b *testBundle) signIn(t *testing.T, c *http.Client, email string, opts ...reqOption) *response {
	t.Helper()
	return b.postForm(t, c, "/signin", url.Values{"email": {email}, "password": {password}}, opts...)
}

// signInTo is the sign-in page that requireUser sends a signed-out visitor
// to on the way to next.
func signInTo(next string) string { return "/signin?next=" + url.QueryEscape(next) }

// signInThrough signs a client in as a browser does after being sent to sign
// in by res: it opens the sign-in page and posts its form, which carries the
// return address and the ticket being bought, if any.
func (b *testBundle) signInThrough(t *testing.T, c *http.Client, res *response, email string) *response {
	t.Helper()
	requireStatus(t, res, http.StatusSeeOther)
	page := b.get(t, c, res.location())
	requireStatus(t, page, http.StatusOK)
	form := url.Values{"email": {email}, "password": {password}}
	for _, name := range []string{"next", "buy"} {
		if v, ok := doc(page.HTML).Find(`input#` + name + `[type="hidden"][name="` + name + `"]`).Attr("value"); ok {
			form.Set(name, v)
		}
	}
	return b.postForm(t, c, "/signin", form)
}

// userID returns the id of the account with the email.
func (b *testBundle) userID(t *testing.T, email string) int64 {
	t.Helper()
	u, err := b.store.UserByEmail(t.Context(), strings.ToLower(email))
	require.NoError(t, err)
	return u.ID
}

// listTicket lists a ticket through the form and returns its id.
func (b *testBundle) listTicket(t *testing.T, c *http.Client, title, price string) int64 {
	t.Helper()
	res := b.postForm(t, c, "/tickets", url.Values{"title": {title}, "price": {price}})
	requireStatus(t, res, http.StatusSeeOther)
	return idFromLocation(t, res, "/tickets/")
}

// buy posts the Buy form for a ticket.
func (b *testBundle) buy(t *testing.T, c *http.Client, ticketID int64, opts ...reqOption) *response {
	t.Helper()
	return b.postForm(t, c, "/orders", url.Values{"ticket_id": {strconv.FormatInt(ticketID, 10)}}, opts...)
}

// buyOK buys a ticket and returns the new order's id.
func (b *testBundle) buyOK(t *testing.T, c *http.Client, ticketID int64) int64 {
	t.Helper()
	res := b.buy(t, c, ticketID)
	requireStatus(t, res, http.StatusSeeOther)
	return idFromLocation(t, res, "/orders/")
}

// listing returns the ids of the listings a home page offers, in order: for
// each event with tickets on sale, its cheapest listing.
func (b *testBundle) listing(t *testing.T, path string) []int64 {
	t.Helper()
	res := b.get(t, newClient(t), path)
	requireStatus(t, res, http.StatusOK)
	return listingIDs(t, res.HTML)
}

// listedTicket is an offer of the home page: the cheapest listing of an
// event with tickets on sale.
type listedTicket struct {
	ID    int64  // the listing's
	Title string // the event's name
	Price string // as shown, e.g. "$30.00"
}

// shownPrice is a price as pages show it in the default locale, to a client
// that sends no Accept-Language: "$1,250.00".
var shownPrice = regexp.MustCompile(`\$[\d,]+\.\d\d`)

// listingTickets reads the offers of a home page (or its #listing fragment),
// in order. An event with nothing on sale offers nothing.
func listingTickets(t *testing.T, page string) []listedTicket {
	t.Helper()
	tickets := []listedTicket{}
	for _, e := range homeEvents(t, page) {
		if e.Listing != 0 {
			tickets = append(tickets, listedTicket{ID: e.Listing, Title: e.Name, Price: shownPrice.FindString(e.Offer)})
		}
	}
	return tickets
}

// listingIDs returns the ids of the listings a home page offers, in order.
func listingIDs(t *testing.T, page string) []int64 {
	t.Helper()
	ids := []int64{}
	for _, tk := range listingTickets(t, page) {
		ids = append(ids, tk.ID)
	}
	return ids
}

// doc parses a page or a fragment of one.
func doc(page string) *goquery.Document {
	d, err := goquery.NewDocumentFromReader(strings.NewReader(page))
	if err != nil {
		panic(err) // reading a string cannot fail
	}
	return d
}

// pathID reads the id from a path of the form prefix+id.
func pathID(path, prefix string) (int64, bool) {
	rest, ok := strings.CutPrefix(path, prefix)
	if !ok || rest == "" || strings.TrimLeft(rest, "0123456789") != "" {
		return 0, false
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	return id, err == nil
}

// text returns the text of an HTML fragment: no tags, entities decoded,
// white space collapsed.
func text(fragment string) string {
	return textOf(doc(fragment).Selection)
}

// textOf returns the text of a selection as text does: each tag counts as
// white space, so the words of neighbouring elements do not run together.
func textOf(s *goquery.Selection) string {
	var words []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			words = append(words, strings.FieldsFunc(n.Data, isSpace)...)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	for _, n := range s.Nodes {
		walk(n)
	}
	return strings.Join(words, " ")
}

// isSpace is HTML's white space.
func isSpace(r rune) bool { return strings.ContainsRune(" \t\n\f\r", r) }

// idFromLocation reads the id from a redirect to prefix+id.
func idFromLocation(t *testing.T, res *response, prefix string) int64 {
	t.Helper()
	loc := res.location()
	require.True(t, strings.HasPrefix(loc, prefix), "Location %q, want %s{id}", loc, prefix)
	id, err := strconv.ParseInt(strings.TrimPrefix(loc, prefix), 10, 64)
	require.NoError(t, err, "Location %q", loc)
	return id
}

// requireStatus checks a response's status, showing the page when it differs.
func requireStatus(t *testing.T, res *response, want int) {
	t.Helper()
	require.Equal(t, want, res.StatusCode, "%s %s answered %d, want %d; body:\n%s",
		res.Request.Method, res.Request.URL, res.StatusCode, want, res.HTML)
}

// requireRedirect checks a 303 to location.
func requireRedirect(t *testing.T, res *response, location string) {
	t.Helper()
	requireStatus(t, res, http.StatusSeeOther)
	require.Equal(t, location, res.location())
}

// requireFullPage checks that a response is a whole HTML page.
func requireFullPage(t *testing.T, res *response) {
	t.Helper()
	toks := tokens(res.HTML)
	require.True(t, hasTag(toks, html.StartTagToken, "html"), "no <html> in:\n%s", res.HTML)
	require.True(t, hasTag(toks, html.EndTagToken, "html"), "no </html> in:\n%s", res.HTML)
}

// requireFragment checks that a response is a bare fragment starting with
// the given element, not a whole page. start is the element's start tag,
// e.g. `<section id="listing"`; the fragment's first element must have its
// name and at least its attributes, in any order.
func requireFragment(t *testing.T, res *response, start string) {
	t.Helper()
	toks := tokens(res.HTML)
	require.False(t, hasTag(toks, html.StartTagToken, "html"), "a fragment has no <html>:\n%s", res.HTML)
	require.False(t, hasTag(toks, html.StartTagToken, "body"), "a fragment has no <body>:\n%s", res.HTML)
	require.Zero(t, doc(res.HTML).Find(`[aria-label="Main"]`).Length(), "no site navigation in a fragment")

	if !strings.HasSuffix(start, ">") {
		start += ">"
	}
	want := tokens(start)
	require.NotEmpty(t, want, "start %q", start)
	require.Equal(t, html.StartTagToken, want[0].Type, "start %q is not a start tag", start)
	var first html.Token
	for _, tok := range toks {
		if tok.Type != html.TextToken || strings.TrimSpace(tok.Data) != "" {
			first = tok
			break
		}
	}
	require.True(t, first.Type == html.StartTagToken && first.Data == want[0].Data, "fragment should start with %s:\n%s", start, res.HTML)
	for _, a := range want[0].Attr {
		require.Contains(t, first.Attr, a, "fragment should start with %s:\n%s", start, res.HTML)
	}
}

// tokens reads a page as HTML tokens, as they are written.
func tokens(page string) []html.Token {
	z := html.NewTokenizer(strings.NewReader(page))
	var toks []html.Token
	for z.Next() != html.ErrorToken {
		toks = append(toks, z.Token())
	}
	return toks
}

// hasTag reports whether tokens include a start or end tag of the name.
func hasTag(toks []html.Token, typ html.TokenType, name string) bool {
	for _, tok := range toks {
		if tok.Type == typ && tok.Data == name {
			return true
		}
	}
	return false
}

// requireSignedInAs checks that a page's header names the signed-in user.
func requireSignedInAs(t *testing.T, page, email string) {
	t.Helper()
	d := doc(page)
	require.Contains(t, signedInAs(d), email, "not signed in as %s:\n%s", email, page)
	require.Zero(t, signInLinks(d).Length(), "a signed-in page offers to sign in:\n%s", page)
}

// requireSignedOut checks that a page's header offers to sign in.
func requireSignedOut(t *testing.T, page string) {
	t.Helper()
	d := doc(page)
	require.NotZero(t, signInLinks(d).Length(), "no Sign in link in:\n%s", page)
	require.NotContains(t, textOf(d.Selection), "Signed in as")
}

// signedInAs returns the emails a page names as signed in: "Signed in as
// <strong>email</strong>".
func signedInAs(d *goquery.Document) []string {
	var emails []string
	d.Find("strong").Each(func(_ int, s *goquery.Selection) {
		prev := s.Nodes[0].PrevSibling
		if prev != nil && prev.Type == html.TextNode && strings.HasSuffix(prev.Data, "Signed in as ") {
			emails = append(emails, s.Text())
		}
	})
	return emails
}

// signInLinks returns a page's "Sign in" links to the sign-in page.
func signInLinks(d *goquery.Document) *goquery.Selection {
	return d.Find(`a[href="/signin"]`).FilterFunction(func(_ int, a *goquery.Selection) bool {
		return textOf(a) == "Sign in"
	})
}

// input returns the form field with the id, failing when there is none.
func input(t *testing.T, page, id string) *goquery.Selection {
	t.Helper()
	field := doc(page).Find(`input[id="` + id + `"]`).First()
	require.NotZero(t, field.Length(), "no %s field in:\n%s", id, page)
	return field
}

// requireFieldError checks that a form field is marked invalid and that its
// message is shown beside it.
func requireFieldError(t *testing.T, page, field, message string) {
	t.Helper()
	in := input(t, page, field)
	require.Equal(t, "true", in.AttrOr("aria-invalid", ""), "aria-invalid of field %s", field)
	require.Equal(t, field+"-error", in.AttrOr("aria-describedby", ""), "aria-describedby of field %s", field)
	msg := doc(page).Find(`small.field-error[id="` + field + `-error"]`)
	require.NotZero(t, msg.Length(), "no message for field %s in:\n%s", field, page)
	require.Equal(t, message, msg.Text(), "message for field %s", field)
}

// requireFieldOK checks that a form field is not marked invalid.
func requireFieldOK(t *testing.T, page, field string) {
	t.Helper()
	_, invalid := input(t, page, field).Attr("aria-invalid")
	require.False(t, invalid, "field %s is marked invalid", field)
	require.Zero(t, doc(page).Find(`[id="`+field+`-error"]`).Length(), "field %s has a message", field)
}

// requireFieldValue checks the value a form field shows.
func requireFieldValue(t *testing.T, page, field, value string) {
	t.Helper()
	in := input(t, page, field)
	got, ok := in.Attr("value")
	require.True(t, ok, "field %s has no value", field)
	require.Equal(t, value, got, "value of field %s", field)
}

// alertMessage returns the text of a page's role="alert" message.
func alertMessage(t *testing.T, page string) string {
	t.Helper()
	alert := doc(page).Find(`p.field-error[role="alert"]`).First()
	require.NotZero(t, alert.Length(), "no alert in:\n%s", page)
	return alert.Text()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// sessionCookie returns the session cookie a response sets, or nil.
func sessionCookie(res *response) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == "eventhive_session" {
			return c
		}
	}
	return nil
}

// requireElement checks that the CSS selector matches an element of a page
// or fragment, and returns every match. msgAndArgs say why, as for require.
func requireElement(t *testing.T, page, selector string, msgAndArgs ...any) *goquery.Selection {
	t.Helper()
	found := doc(page).Find(selector)
	require.NotZero(t, found.Length(), "no %s in:\n%s%s", selector, page, because(msgAndArgs))
	return found
}

// requireNoElement checks that the CSS selector matches no element of a page.
func requireNoElement(t *testing.T, page, selector string, msgAndArgs ...any) {
	t.Helper()
	found := doc(page).Find(selector)
	require.Zero(t, found.Length(), "%d of %s in:\n%s%s", found.Length(), selector, page, because(msgAndArgs))
}

// requireElementText checks that an element the CSS selector matches reads
// text, as textOf reads it, and returns the elements that do.
func requireElementText(t *testing.T, page, selector, text string, msgAndArgs ...any) *goquery.Selection {
	t.Helper()
	found := requireElement(t, page, selector, msgAndArgs...)
	match := found.FilterFunction(func(_ int, s *goquery.Selection) bool { return textOf(s) == text })
	require.NotZero(t, match.Length(), "no %s reads %q; they read %q%s", selector, text, texts(found), because(msgAndArgs))
	return match
}

// texts returns the text of each element of a selection, as textOf reads it.
func texts(s *goquery.Selection) []string {
	list := []string{}
	s.Each(func(_ int, e *goquery.Selection) { list = append(list, textOf(e)) })
	return list
}

// because formats a require-style message, a format and its arguments, to
// end a failure message with; none gives "".
func because(msgAndArgs []any) string {
	if len(msgAndArgs) == 0 {
		return ""
	}
	format, ok := msgAndArgs[0].(string)
	if !ok {
		return "\n" + fmt.Sprint(msgAndArgs...)
	}
	return "\n" + fmt.Sprintf(format, msgAndArgs[1:]...)
}

// sessionRows counts the sessions stored.
func (b *testBundle) sessionRows(t *testing.T) int {
	t.Helper()
	var n int
	require.NoError(t, b.db.Read.QueryRowContext(t.Context(), `SELECT count(*) FROM sessions`).Scan(&n))
	return n
}
