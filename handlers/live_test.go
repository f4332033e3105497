package handlers_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/handlers"
	"github.com/eventhive/eventhive/live"
	"github.com/eventhive/eventhive/metrics"
	"github.com/eventhive/eventhive/payments"
	"github.com/eventhive/eventhive/static"
	"github.com/eventhive/eventhive/store"
)

// liveBundle is a bundle whose handlers and workers share one hub, as main
// wires them, so that the jobs' events reach the streams too.
type liveBundle struct {
	*testBundle
	hub     *live.Hub
	metrics *metrics.Metrics
	done    chan struct{} // closing it is the app shutting down
}

// liveOpts changes what setupLive starts.
type liveOpts struct {
	noWorkers bool // do not start River: no job runs until startWorkers
	// serverTimeouts sets the server's read and write timeouts, as main's
	// http.Server has them; zero leaves them off.
	serverTimeouts time.Duration
	maxStreams     int // MaxLiveStreams; zero: the default
}

func setupLive(t *testing.T, dialect store.Dialect, opts liveOpts) *liveBundle {
	t.Helper()
	hub := live.New(discardLogger())
	t.Cleanup(func() { hub.Close() })
	b := &liveBundle{
		testBundle: setupWith(t, dialect, bundleOpts{noWorkers: opts.noWorkers, stripe: payments.NewBuiltin("", "unused"), live: hub}),
		hub:        hub,
		metrics:    metrics.New(),
		done:       make(chan struct{}),
	}

	srv, cfg := b.unstarted(t)
	srv.Config.ReadTimeout = opts.serverTimeouts
	srv.Config.WriteTimeout = opts.serverTimeouts
	cfg.Done = b.done
	cfg.MaxLiveStreams = opts.maxStreams
	h := newHandler(t, cfg, handlers.Deps{Store: b.store, Live: b.hub, Metrics: b.metrics, Now: b.clock.Now})
	srv.Config.Handler = h.Routes()
	srv.Start()
	// Streams still open at the end would keep Close waiting: end them as
	// main does at shutdown. Cleanups run last-registered first.
	t.Cleanup(srv.Close)
	t.Cleanup(b.shutdown)
	b.server = srv
	return b
}

// openStreams reads the gauge of open streams from the app's metrics, as an
// operator would.
func (b *liveBundle) openStreams(t *testing.T) int {
	t.Helper()
	return openStreamsGauge(t, b.metrics)
}

// openStreamsGauge reads eventhive_live_streams_open from m.
func openStreamsGauge(t *testing.T, m *metrics.Metrics) int {
	t.Helper()
	return int(metricValue(t, m, "eventhive_live_streams_open"))
}

// metricValue reads the sample named (with its labels, if any) from m.
func metricValue(t *testing.T, m *metrics.Metrics, name string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for line := range strings.Lines(rec.Body.String()) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			n, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err)
			return n
		}
	}
	t.Fatalf("no %s in the metrics", name)
	return 0
}

// shutdown ends every stream, as main does when the app stops.
func (b *liveBundle) shutdown() {
	select {
	case <-b.done:
	default:
		close(b.done)
	}
}

// stream is an open event stream.
type stream struct {
	res      *http.Response
	messages chan sseMessage // in order; closed when the stream ends
	cancel   context.CancelFunc
}

// sseMessage is one message of a stream.
type sseMessage struct {
	Name, ID, Data string
}

// openStream opens an event stream and checks that it is one.
func (b *liveBundle) openStream(t *testing.T, c *http.Client, path string, opts ...reqOption) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.url(path), nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/event-stream")
	for _, opt := range opts {
		opt(req)
	}
	streaming := *c
	streaming.Timeout = 0 // a stream lasts
	res, err := streaming.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { res.Body.Close() })
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
	require.Equal(t, "no-store", res.Header.Get("Cache-Control"))

	s := &stream{res: res, messages: make(chan sseMessage, 100), cancel: cancel}
	go func() {
		defer close(s.messages)
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(nil, 1<<20)
		var m sseMessage
		var data []string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if m.Name != "" {
					m.Data = strings.Join(data, "\n")
					s.messages <- m
				}
				m, data = sseMessage{}, nil
			case strings.HasPrefix(line, "event: "):
				m.Name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "id: "):
				m.ID = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "data: "):
				data = append(data, strings.TrimPrefix(line, "data: "))
			}
		}
	}()
	return s
}

// next waits for the stream's next event and returns its name.
func (s *stream) next(t *testing.T) string {
	t.Helper()
	return s.nextMessage(t).Name
}

// nextMessage waits for the stream's next message.
func (s *stream) nextMessage(t *testing.T) sseMessage {
	t.Helper()
	select {
	case m, ok := <-s.messages:
		require.True(t, ok, "the stream ended")
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no event on the stream")
		return sseMessage{}
	}
}

// settle waits for the stream's next message and takes the others that come
// within two coalescing windows, which must have its name, and returns that
// name: changes close together go out as one message or as several.
func (s *stream) settle(t *testing.T) string {
	t.Helper()
	name := s.next(t)
	for {
		select {
		case m, ok := <-s.messages:
			require.True(t, ok, "the stream ended")
			require.Equal(t, name, m.Name)
		case <-time.After(2 * handlers.CoalesceWindow):
			return name
		}
	}
}

// requireQuiet checks that the stream sends no event for a while.
func (s *stream) requireQuiet(t *testing.T) {
	t.Helper()
	select {
	case m, ok := <-s.messages:
		if ok {
			t.Fatalf("unexpected event %q", m.Name)
		}
		t.Fatal("the stream ended")
	case <-time.After(500 * time.Millisecond):
	}
}

// requireEnded checks that the server ended the stream.
func (s *stream) requireEnded(t *testing.T) {
	t.Helper()
	for {
		select {
		case _, ok := <-s.messages:
			if !ok {
				return
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the stream did not end")
		}
	}
}

// pay pays an order through the built-in checkout, as its buyer would.
func (b *liveBundle) pay(t *testing.T, c *http.Client, orderID int64) {
	t.Helper()
	res := b.postForm(t, c, "/orders/"+itoa(orderID)+"/pay", url.Values{})
	requireStatus(t, res, http.StatusSeeOther)
	checkout := res.location()
	require.Contains(t, checkout, "/checkout/")
	res = b.postForm(t, c, checkout+"/pay", url.Values{})
	requireRedirect(t, res, "/orders/"+itoa(orderID))
}

func TestLiveListings(t *testing.T) {
	t.Parallel()

	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		t.Run("StreamTellsOfEveryChangeToTickets", func(t *testing.T) {
			t.Parallel()
			b := setupLive(t, dialect, liveOpts{})
			events := b.openStream(t, newClient(t), "/live") // no account needed
			seller := b.signUp(t, "seller@example.com")
			buyer := b.signUp(t, "buyer@example.com")

			ticketID := b.listTicket(t, seller, "Opera", "30.00")
			require.Equal(t, "tickets", events.next(t), "listed")
			res := b.postForm(t, seller, "/tickets/"+itoa(ticketID), url.Values{"title": {"Opera gala"}, "price": {"35.00"}})
			requireStatus(t, res, http.StatusSeeOther)
			require.Equal(t, "tickets", events.next(t), "edited")
			orderID := b.buyOK(t, buyer, ticketID)
			require.Equal(t, "tickets", events.next(t), "held")
			res = b.postForm(t, buyer, "/orders/"+itoa(orderID)+"/cancel", url.Values{})
			requireStatus(t, res, http.StatusSeeOther)
			require.Equal(t, "tickets", events.next(t), "released")
			orderID = b.buyOK(t, buyer, ticketID)
			require.Equal(t, "tickets", events.next(t), "held again")
			b.pay(t, buyer, orderID)
			require.Equal(t, "tickets", events.next(t), "sold, when the payment job has run")
			require.Equal(t, []int64{}, b.listing(t, "/"), "and the listing no longer shows it")
		})

		t.Run("ExpiryReleasesLive", func(t *testing.T) {
			t.Parallel()
			b := setupLive(t, dialect, liveOpts{noWorkers: true})
			seller := b.signUp(t, "seller@example.com")
			buyer := b.signUp(t, "buyer@example.com")
			ticketID := b.listTicket(t, seller, "Opera", "30.00")
			b.buyOK(t, buyer, ticketID)

			events := b.openStream(t, newClient(t), "/live")
			b.endHold()
			b.startWorkers(t)
			require.Equal(t, "tickets", events.next(t), "the hold ended and the job released the ticket")
			require.Equal(t, []int64{ticketID}, b.listing(t, "/"))
		})

		t.Run("FailedChangesTellNothing", func(t *testing.T) {
			t.Parallel()
			b := setupLive(t, dialect, liveOpts{})
			seller := b.signUp(t, "seller@example.com")
			events := b.openStream(t, newClient(t), "/live")
			// The listing's own change first: heard after the stream opened,
			// it would otherwise be taken for one of the failed changes'.
			ticketID := b.listTicket(t, seller, "Opera", "30.00")
			require.Equal(t, "tickets", events.settle(t))

			requireStatus(t, b.buy(t, seller, ticketID), http.StatusConflict) // own ticket
			res := b.postForm(t, seller, "/tickets", url.Values{"title": {""}, "price": {"x"}})
			requireStatus(t, res, http.StatusUnprocessableEntity)
			events.requireQuiet(t)
		})

		t.Run("ARushIsCoalesced", func(t *testing.T) {
			t.Parallel()
			b := setupLive(t, dialect, liveOpts{})
			events := b.openStream(t, newClient(t), "/live")
			// One change first, so that the stream has joined its topic,
			// then two windows' quiet: settle takes what that change sent,
			// one message or two (the stream may join as it is published,
			// and be told of it both ways).
			b.hub.Publish(live.Event{TicketID: 100})
			require.Equal(t, "tickets", events.settle(t))
			// 20 changes over most of a window.
			start := time.Now()
			for i := range 20 {
				b.hub.Publish(live.Event{TicketID: int64(i + 1)})
				time.Sleep(handlers.CoalesceWindow / 25)
			}
			took := time.Since(start)
			require.Equal(t, "tickets", events.next(t), "the first event goes out at once")
			// The rest went with it, when they came before its write
			// began, or follow as one message at the window's end; a rush
			// that took longer than a window to arrive (a machine that
			// froze meanwhile) may take one more message a window.
			more := 0
			for quiet := false; !quiet; {
				select {
				case m, ok := <-events.messages:
					require.True(t, ok, "the stream ended")
					require.Equal(t, "tickets", m.Name)
					more++
				case <-time.After(4 * handlers.CoalesceWindow):
					quiet = true
				}
			}
			require.LessOrEqual(t, more, 1+int(took/handlers.CoalesceWindow), "20 changes in %v", took)
		})

		t.Run("UnreadStreamsDoNotHoldUpBuyers", func(t *testing.T) {
			t.Parallel()
			b := setupLive(t, dialect, liveOpts{})
			for range 3 {
				b.openStream(t, newClient(t), "/live") // never read
			}
			seller := b.signUp(t, "seller@example.com")
			buyer := b.signUp(t, "buyer@example.com")
			start := time.Now()
			for range 20 {
				b.buyOK(t, buyer, b.listTicket(t, seller, "Opera", "30.00"))
				b.hub.Publish(live.Any)
			}
			require.Less(t, time.Since(start), 20*time.Second)
		})

		t.Run("StreamOutlivesTheServerTimeouts", func(t *testing.T) {
			t.Parallel()
			b := setupLive(t, dialect, liveOpts{serverTimeouts: 300 * time.Millisecond})
			events := b.openStream(t, newClient(t), "/live")
			time.Sleep(time.Second)
			b.hub.Publish(live.Event{TicketID: 1})
			require.Equal(t, "tickets", events.next(t))
		})

		t.Run("StreamEndsWhenTheClientLeaves", func(t *testing.T) {
			t.Parallel()
			b := setupLive(t, dialect, liveOpts{})
			events := b.openStream(t, newClient(t), "/live")
			require.Eventually(t, func() bool { return b.openStreams(t) == 1 }, 5*time.Second, 10*time.Millisecond)
			events.cancel()
			require.Eventually(t, func() bool { return b.openStreams(t) == 0 }, 5*time.Second, 10*time.Millisecond)
		})

		t.Run("OldPathsNoLongerStream", func(t *testing.T) {
			t.Parallel()
			b := setupLive(t, dialect, liveOpts{})
			seller := b.signUp(t, "seller@example.com")
			buyer := b.signUp(t, "buyer@example.com")
			orderID := b.buyOK(t, buyer, b.listTicket(t, seller, "Opera", "30.00"))

			// /events is left for the events tickets are for. A stream here
			// would hold the response open until the client's timeout.
			for _, path := range []string{"/events", "/orders/" + itoa(orderID) + "/events"} {
				res := b.get(t, buyer, path, withHeader("Accept", "text/event-stream"))
				requireStatus(t, res, http.StatusNotFound)
				require.True(t, strings.HasPrefix(res.Header.Get("Content-Type"), "text/html"), "%s: %q", path, res.Header.Get("Content-Type"))
			}
			require.Zero(t, b.openStreams(t))
		})

		t.Run("StreamEndsWhenTheAppStops", func(t *testing.T) {
			t.Parallel()
			b := setupLive(t, dialect, liveOpts{})
			events := b.openStream(t, newClient(t), "/live")
			b.shutdown()
			events.requireEnded(t)
			require.Eventually(t, func() bool { return b.openStreams(t) == 0 }, 5*time.Second, 10*time.Millisecond)
		})
	})
}

func TestOrderLive(t *testing.T) {
	t.Parallel()

	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		t.Run("PaymentReachesTheOrderPage", func(t *testing.T) {
			t.Parallel()
			b := setupLive(t, dialect, liveOpts{})
			seller := b.signUp(t, "seller@example.com")
			buyer := b.signUp(t, "buyer@example.com")
			orderID := b.buyOK(t, buyer, b.listTicket(t, seller, "Opera", "30.00"))
			otherOrder := b.buyOK(t, buyer, b.listTicket(t, seller, "Ballet", "20.00"))

			page := b.get(t, buyer, "/orders/"+itoa(orderID))
			requireStatus(t, page, http.StatusOK)
			requireElement(t, page.HTML, `[hx-ext="sse"][sse-connect="/orders/`+itoa(orderID)+`/live"]`)
			requireElement(t, page.HTML, `article#order[hx-trigger="sse:order, sse-open, countdown-expired"]`)

			events := b.openStream(t, buyer, "/orders/"+itoa(orderID)+"/live")
			b.pay(t, buyer, otherOrder)
			require.Eventually(t, func() bool {
				o, err := b.store.Order(t.Context(), otherOrder, b.userID(t, "buyer@example.com"))
				return err == nil && o.Status == store.Paid
			}, 10*time.Second, 20*time.Millisecond)
			b.hub.Publish(live.Event{TicketID: 99})
			events.requireQuiet(t) // other orders and tickets are not this page's business

			b.pay(t, buyer, orderID)
			require.Equal(t, "order", events.next(t))
			fragment := b.get(t, buyer, "/orders/"+itoa(orderID), htmx)
			requireFragment(t, fragment, `<article id="order"`)
			require.Equal(t, "paid", orderState(t, fragment.HTML))
			require.Contains(t, fragment.HTML, `data-status-message="Order #`+itoa(orderID)+` is paid."`)
			require.NotContains(t, fragment.HTML, "data-expires-at", "no countdown once paid")
		})

		t.Run("ExpiryReachesTheOrderPage", func(t *testing.T) {
			t.Parallel()
			b := setupLive(t, dialect, liveOpts{noWorkers: true})
			seller := b.signUp(t, "seller@example.com")
			buyer := b.signUp(t, "buyer@example.com")
			orderID := b.buyOK(t, buyer, b.listTicket(t, seller, "Opera", "30.00"))
			events := b.openStream(t, buyer, "/orders/"+itoa(orderID)+"/live")
			b.endHold()
			b.startWorkers(t)
			require.Equal(t, "order", events.next(t))
			require.Equal(t, "expired", orderState(t, b.get(t, buyer, "/orders/"+itoa(orderID), htmx).HTML))
		})

		t.Run("OnlyTheBuyerMayListen", func(t *testing.T) {
			t.Parallel()
			b := setupLive(t, dialect, liveOpts{})
			seller := b.signUp(t, "seller@example.com")
			buyer := b.signUp(t, "buyer@example.com")
			orderID := b.buyOK(t, buyer, b.listTicket(t, seller, "Opera", "30.00"))
			path := "/orders/" + itoa(orderID) + "/live"

			requireStatus(t, b.get(t, seller, path), http.StatusNotFound)
			requireStatus(t, b.get(t, seller, "/orders/999999/live"), http.StatusNotFound)
			requireRedirect(t, b.get(t, newClient(t), path), signInTo(path))
		})
	})
}

func TestLivePages(t *testing.T) {
	t.Parallel()

	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		t.Run("LayoutLoadsTheSSEExtension", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			res := b.get(t, newClient(t), "/")
			requireElement(t, res.HTML, `script[defer][src="`+static.Path("vendor/sse.min.js")+`"]`)
			// After htmx, which it extends.
			scripts := requireElement(t, res.HTML, "script[src]").Map(func(_ int, s *goquery.Selection) string { return s.AttrOr("src", "") })
			htmxAt := slices.Index(scripts, static.Path("vendor/htmx.min.js"))
			require.NotEqual(t, -1, htmxAt, "htmx is loaded: %q", scripts)
			require.Less(t, htmxAt, slices.Index(scripts, static.Path("vendor/sse.min.js")), "scripts %q", scripts)
		})

		t.Run("ListingRefetchesItsOwnSearchAndPage", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			for range 21 {
				b.listTicket(t, seller, "Opera", "30.00")
			}
			res := b.get(t, newClient(t), "/?q=opera&page=2")
			requireElement(t, res.HTML, `div[hx-ext="sse"][sse-connect="/live"]`)
			requireElement(t, res.HTML, `section#listing[aria-label="Events"][hx-get="/?page=2&q=opera"][hx-trigger="sse:tickets, sse:events, sse-reconnected"]:not([sse-swap])`)
			fragment := b.get(t, newClient(t), "/?q=opera&page=2", htmx)
			requireFragment(t, fragment, `<section id="listing"`)
			requireElement(t, fragment.HTML, `section#listing[hx-get="/?page=2&q=opera"]`, "the re-fetched listing keeps its address")
			require.Contains(t, fragment.Header.Values("Vary"), "HX-Request")
		})

		t.Run("HistoryRestoreGetsWholePages", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			b.listTicket(t, seller, "Opera", "30.00")
			for _, path := range []string{"/", "/my/tickets"} {
				res := b.get(t, seller, path, htmx, withHeader("HX-History-Restore-Request", "true"))
				requireStatus(t, res, http.StatusOK)
				requireFullPage(t, res)
			}
		})
	})
}

func TestMyTickets(t *testing.T) {
	t.Parallel()

	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		t.Run("ShowsEachStateAndEditLinksOnlyWhereAllowed", func(t *testing.T) {
			t.Parallel()
			b := setupLive(t, dialect, liveOpts{})
			seller := b.signUp(t, "seller@example.com")
			buyer := b.signUp(t, "buyer@example.com")
			forSale := b.listTicket(t, seller, "Jazz night", "12.50")
			held := b.listTicket(t, seller, "Ballet", "20.00")
			sold := b.listTicket(t, seller, "Opera", "30.00")
			b.buyOK(t, buyer, held)
			b.pay(t, buyer, b.buyOK(t, buyer, sold))
			require.Eventually(t, func() bool {
				tk, err := b.store.Listing(t.Context(), sold, time.Now())
				return err == nil && tk.State(b.clock.Now()) == store.Sold
			}, 10*time.Second, 20*time.Millisecond)

			page := b.get(t, seller, "/my/tickets")
			requireStatus(t, page, http.StatusOK)
			requireFullPage(t, page)
			requireElementText(t, page.HTML, `header a[href="/my/tickets"]`, "My tickets", "the header links here")
			requireElement(t, page.HTML, `[hx-ext="sse"][sse-connect="/live"]`)
			items := myTicketItems(t, page.HTML)
			require.Equal(t, []int64{sold, held, forSale}, ids(items), "newest first")

			require.Equal(t, "for sale", items[2].state)
			require.Contains(t, items[2].text, "Jazz night $12.50")
			require.Equal(t, []string{"/tickets/" + itoa(forSale) + "/edit"}, items[2].editLinks)

			require.Equal(t, "held", items[1].state)
			require.Regexp(t, `Held by a buyer until \d+ \w+ \d{4} \d\d:\d\d UTC`, items[1].text)
			require.Empty(t, items[1].editLinks, "no editing while held")

			require.Equal(t, "sold", items[0].state)
			require.Regexp(t, `Sold on \d+ \w+ \d{4} \d\d:\d\d UTC for \$30\.00`, items[0].text)
			require.Empty(t, items[0].editLinks, "no editing once sold")

			fragment := b.get(t, seller, "/my/tickets", htmx)
			requireFragment(t, fragment, `<section id="my-tickets"`)
			require.Len(t, myTicketItems(t, fragment.HTML), 3)
		})

		t.Run("OthersSeeOnlyTheirOwn", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			b.listTicket(t, seller, "Opera", "30.00")
			other := b.signUp(t, "other@example.com")
			mine := b.listTicket(t, other, "Ballet", "20.00")

			page := b.get(t, other, "/my/tickets")
			requireStatus(t, page, http.StatusOK)
			require.Equal(t, []int64{mine}, ids(myTicketItems(t, page.HTML)))
			require.NotContains(t, page.HTML, "Opera")

			fresh := b.signUp(t, "fresh@example.com")
			page = b.get(t, fresh, "/my/tickets")
			require.Empty(t, myTicketItems(t, page.HTML))
			require.Contains(t, page.HTML, "You have not listed any tickets yet.")
		})

		t.Run("NeedsAnAccount", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			requireRedirect(t, b.get(t, newClient(t), "/my/tickets"), signInTo("/my/tickets"))
		})
	})
}

// myTicketItem is one ticket on the "My tickets" page.
type myTicketItem struct {
	id        int64
	state     string
	text      string
	editLinks []string
}

// editPath is the path of a ticket's edit page.
var editPath = regexp.MustCompile(`^/tickets/\d+/edit$`)

func myTicketItems(t *testing.T, page string) []myTicketItem {
	t.Helper()
	section := doc(page).Find("section#my-tickets").First()
	require.NotZero(t, section.Length(), "no ticket list in:\n%s", page)
	items := []myTicketItem{}
	section.Find(`li[id^="my-ticket-"]`).Each(func(_ int, li *goquery.Selection) {
		id, ok := pathID(li.AttrOr("id", ""), "my-ticket-")
		if !ok {
			return
		}
		state, ok := li.Attr("data-state")
		require.True(t, ok, "ticket %d has no data-state", id)
		item := myTicketItem{id: id, state: state, text: textOf(li)}
		li.Find("[href]").Each(func(_ int, a *goquery.Selection) {
			if href := a.AttrOr("href", ""); editPath.MatchString(href) {
				item.editLinks = append(item.editLinks, href)
			}
		})
		items = append(items, item)
	})
	return items
}

func ids(items []myTicketItem) []int64 {
	out := []int64{}
	for _, it := range items {
		out = append(out, it.id)
	}
	return out
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	require.NoError(t, err)
	return n
}

// leftOf reads "N of M left" from a rendering of an event's listings.
var leftOf = regexp.MustCompile(`class="left">(\d+ of \d+) left<`)

func TestEventLive(t *testing.T) {
	t.Parallel()

	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		t.Run("EveryReaderGetsTheSameRendering", func(t *testing.T) {
			t.Parallel()
			b := setupLive(t, dialect, liveOpts{})
			b.signUp(t, "seller@example.com")
			l := b.listUnderNewEvent(t, "seller@example.com", "Arena", 10)
			buyer := b.signUp(t, "buyer@example.com")
			path := "/events/" + itoa(l.Event.ID) + "/live"

			// The page itself says where its listings come from.
			page := b.get(t, newClient(t), "/events/"+itoa(l.Event.ID))
			// The element around the listings, which stays in the page,
			// takes the stream's messages.
			requireElement(t, page.HTML, `div[hx-ext="sse"][sse-connect="`+path+`"][sse-swap="listings"][hx-swap="innerHTML"][hx-trigger="sse:counts"] > section#event-listings:not([sse-swap])`)

			first, second := b.openStream(t, newClient(t), path), b.openStream(t, newClient(t), path)
			opening := first.nextMessage(t)
			require.Equal(t, "listings", opening.Name, "the latest rendering, at once")
			require.Equal(t, opening, second.nextMessage(t))
			require.Equal(t, "10 of 10", leftOf.FindStringSubmatch(opening.Data)[1])
			require.Contains(t, opening.Data, `<section id="event-listings"`)
			require.True(t, strings.HasPrefix(strings.TrimSpace(opening.Data), `<section id="event-listings"`), "the listings, to replace the page's: %s", opening.Data)

			// Tickets held: only counts changed, and only they are sent,
			// as "id free sold".
			b.buyN(t, buyer, l.ID, 3)
			change := first.nextMessage(t)
			require.Equal(t, "counts", change.Name)
			require.Equal(t, itoa(l.ID)+" 7 0", change.Data)
			require.NotEqual(t, opening.ID, change.ID)
			require.Equal(t, change, second.nextMessage(t), "the same bytes for every reader")
			// The operator sees how long after the hold every page was
			// sent it; the opening rendering carried no change.
			require.Eventually(t, func() bool {
				return metricValue(t, b.metrics, "eventhive_live_delivery_seconds_count") == 1
			}, 5*time.Second, 10*time.Millisecond)
			require.Greater(t, metricValue(t, b.metrics, "eventhive_live_delivery_seconds_sum"), 0.0)
			require.Less(t, metricValue(t, b.metrics, "eventhive_live_delivery_seconds_sum"), 5.0)

			// A reader who has the latest is sent nothing when it
			// reconnects; one who missed it is sent the whole list at once.
			uptodate := b.openStream(t, newClient(t), path, withHeader("Last-Event-ID", change.ID))
			behind := b.openStream(t, newClient(t), path, withHeader("Last-Event-ID", opening.ID))
			whole := behind.nextMessage(t)
			require.Equal(t, "listings", whole.Name)
			require.Equal(t, change.ID, whole.ID)
			require.Equal(t, "7 of 10", leftOf.FindStringSubmatch(whole.Data)[1])
			uptodate.requireQuiet(t)

			// A new listing changes the list: the whole of it is sent.
			other := b.signUp(t, "other@example.com")
			b.sellOK(t, other, url.Values{"event_id": {itoa(l.Event.ID)}, "price": {"15"}, "face_value": {"15"}})
			list := first.nextMessage(t)
			require.Equal(t, "listings", list.Name)
			require.Len(t, leftOf.FindAllString(list.Data, -1), 2)
			require.Equal(t, list, second.nextMessage(t))
			require.NotContains(t, list.Data, "other@example.com")
		})

		t.Run("RenderedWhileBuyersHoldEveryConnection", func(t *testing.T) {
			t.Parallel()
			b := setupLive(t, dialect, liveOpts{})
			b.signUp(t, "seller@example.com")
			l := b.listUnderNewEvent(t, "seller@example.com", "Arena", 10)
			page := b.openStream(t, newClient(t), "/events/"+itoa(l.Event.ID)+"/live")
			require.Equal(t, "listings", page.nextMessage(t).Name)

			// The price changes behind the app's back; then, as in a rush,
			// requests take every connection the app writes and reads
			// with, and the change is heard.
			_, err := b.db.Write.ExecContext(t.Context(), `UPDATE listings SET price = 4321 WHERE id = $1`, l.ID)
			require.NoError(t, err)
			for range b.db.Write.Stats().MaxOpenConnections {
				conn, err := b.db.Write.Conn(t.Context())
				require.NoError(t, err)
				t.Cleanup(func() { conn.Close() })
			}
			b.hub.Publish(live.Event{TicketID: l.ID})

			// The page is still sent the new rendering.
			list := page.nextMessage(t)
			require.Equal(t, "listings", list.Name)
			require.Contains(t, list.Data, "43.21")
		})

		t.Run("SellersPagesFetchTheirOwn", func(t *testing.T) {
			t.Parallel()
			b := setupLive(t, dialect, liveOpts{})
			seller := b.signUp(t, "seller@example.com")
			l := b.listUnderNewEvent(t, "seller@example.com", "Arena", 10)
			page := b.get(t, seller, "/events/"+itoa(l.Event.ID))
			requireElement(t, page.HTML, `div[hx-ext="sse"][sse-connect="/live"] > section#event-listings[hx-trigger="sse:tickets, sse-reconnected"]`)
		})

		t.Run("NoStreamForAnEventNobodyMaySee", func(t *testing.T) {
			t.Parallel()
			b := setupLive(t, dialect, liveOpts{})
			res := b.get(t, newClient(t), "/events/9999/live", withHeader("Accept", "text/event-stream"))
			requireStatus(t, res, http.StatusNotFound)
			require.Zero(t, b.openStreams(t))
		})

		t.Run("PastTheLimitStreamsAreRefusedAndBuyersServed", func(t *testing.T) {
			t.Parallel()
			b := setupLive(t, dialect, liveOpts{maxStreams: 2})
			b.signUp(t, "seller@example.com")
			l := b.listUnderNewEvent(t, "seller@example.com", "Arena", 10)
			buyer := b.signUp(t, "buyer@example.com")
			b.openStream(t, newClient(t), "/live")
			b.openStream(t, newClient(t), "/events/"+itoa(l.Event.ID)+"/live")
			require.Equal(t, 2, b.openStreams(t))

			res := b.get(t, newClient(t), "/live", withHeader("Accept", "text/event-stream"))
			requireStatus(t, res, http.StatusServiceUnavailable)
			require.Equal(t, "30", res.Header.Get("Retry-After"))
			require.Contains(t, res.HTML, "reload it")
			require.Equal(t, 2, b.openStreams(t), "the refused stream is not counted")
			b.buyN(t, buyer, l.ID, 1)
		})
	})
}

// TestTicketLive checks a listing page's buy box: rendered once for every
// reader who is neither its seller nor holding its tickets, sent when it
// changed, and only for that listing.
func TestTicketLive(t *testing.T) {
	t.Parallel()

	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		t.Run("EveryReaderGetsTheSameBox", func(t *testing.T) {
			t.Parallel()
			b := setupLive(t, dialect, liveOpts{})
			seller := b.signUp(t, "seller@example.com")
			l := b.listUnderNewEvent(t, "seller@example.com", "Arena", 3)
			buyer := b.signUp(t, "buyer@example.com")
			page, path := "/tickets/"+itoa(l.ID), "/tickets/"+itoa(l.ID)+"/live"

			// Signed out or in, a reader's page takes its box from the
			// listing's stream; the seller's fetches its own.
			for _, c := range []*http.Client{newClient(t), b.signUp(t, "viewer@example.com")} {
				requireElement(t, b.get(t, c, page).HTML,
					`div[hx-ext="sse"][sse-connect="`+path+`"][sse-swap="buy"][hx-swap="innerHTML"] > div#buy:not([hx-get])`)
			}
			requireElement(t, b.get(t, seller, page).HTML, `div[hx-ext="sse"][sse-connect="/live"] > div#buy[hx-get="`+page+`"]`)

			first, second := b.openStream(t, newClient(t), path), b.openStream(t, newClient(t), path)
			opening := first.nextMessage(t)
			require.Equal(t, "buy", opening.Name, "the latest rendering, at once")
			require.Equal(t, opening, second.nextMessage(t))
			require.Equal(t, "3 of 3", leftOf.FindStringSubmatch(opening.Data)[1])
			require.True(t, strings.HasPrefix(strings.TrimSpace(opening.Data), `<div id="buy"`), "the box, to replace the page's: %s", opening.Data)

			b.buyN(t, buyer, l.ID, 2)
			change := first.nextMessage(t)
			require.Equal(t, "buy", change.Name)
			require.Equal(t, "1 of 3", leftOf.FindStringSubmatch(change.Data)[1])
			require.Equal(t, change, second.nextMessage(t), "the same bytes for every reader")
			require.NotContains(t, change.Data, "your-hold")

			// The holder's page shows their hold, and fetches its own box.
			requireElement(t, b.get(t, buyer, page).HTML, `div[hx-ext="sse"][sse-connect="/live"] > div#buy[hx-get] #your-hold`)

			// A reader who has the latest is sent nothing when it
			// reconnects; nor are the readers when another listing changes.
			uptodate := b.openStream(t, newClient(t), path, withHeader("Last-Event-ID", change.ID))
			other := b.listUnderNewEvent(t, "seller@example.com", "Other", 1)
			b.buyN(t, b.signUp(t, "third@example.com"), other.ID, 1)
			uptodate.requireQuiet(t)
			first.requireQuiet(t)
		})

		t.Run("NoStreamForAListingNobodyMaySee", func(t *testing.T) {
			t.Parallel()
			b := setupLive(t, dialect, liveOpts{})
			b.signUp(t, "seller@example.com")
			l := b.listUnderNewEvent(t, "seller@example.com", "Arena", 3)
			require.NoError(t, b.store.HideEvent(t.Context(), b.userID(t, "seller@example.com"), l.Event.ID, b.clock.Now()))
			for _, path := range []string{"/tickets/9999/live", "/tickets/" + itoa(l.ID) + "/live"} {
				res := b.get(t, newClient(t), path, withHeader("Accept", "text/event-stream"))
				requireStatus(t, res, http.StatusNotFound)
			}
			require.Zero(t, b.openStreams(t))
		})
	})
}

// TestHomeLive checks the list of events everyone sees first: rendered once
// for every reader, sent when it changed.
func TestHomeLive(t *testing.T) {
	t.Parallel()

	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setupLive(t, dialect, liveOpts{})
		seller := b.signUp(t, "seller@example.com")
		l := b.listUnderNewEvent(t, "seller@example.com", "Arena", 3)
		buyer := b.signUp(t, "buyer@example.com")

		// Signed out or in, the first list takes what /events/live sends; a
		// search fetches its own.
		for _, c := range []*http.Client{newClient(t), seller} {
			requireElement(t, b.get(t, c, "/").HTML,
				`div[hx-ext="sse"][sse-connect="/events/live"] > section#listing[sse-swap="events"][hx-swap="outerHTML"]`)
		}
		requireElement(t, b.get(t, newClient(t), "/?q=arena").HTML, `div[hx-ext="sse"][sse-connect="/live"] > section#listing:not([sse-swap])`)

		first, second := b.openStream(t, newClient(t), "/events/live"), b.openStream(t, newClient(t), "/events/live")
		opening := first.nextMessage(t)
		require.Equal(t, "events", opening.Name, "the latest rendering, at once")
		require.Equal(t, opening, second.nextMessage(t))
		require.Contains(t, opening.Data, `sse-swap="events"`, "what replaces the list goes on taking what the stream sends")
		require.Contains(t, opening.Data, `3 tickets from <span class="price">$20.00</span>`)

		b.buyN(t, buyer, l.ID, 2)
		change := first.nextMessage(t)
		require.Equal(t, "events", change.Name)
		require.Contains(t, change.Data, `1 ticket from <span class="price">$20.00</span>`)
		require.Equal(t, change, second.nextMessage(t), "the same bytes for every reader")

		// A change that the list does not show sends nothing.
		b.hub.Publish(live.Any)
		first.requireQuiet(t)
	})
}
