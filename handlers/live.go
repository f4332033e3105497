package handlers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/eventhive/eventhive/live"
	"github.com/eventhive/eventhive/money"
	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/templates"
)

// Live is the hub that carries change events to open pages: *live.Hub.
type Live interface {
	Publish(e live.Event)
	Subscribe(ctx context.Context) (<-chan live.Event, func())
	SubscribeElsewhere(ctx context.Context) (<-chan live.Event, func())
	Listening() bool
}

// Stream timing.
const (
	// keepaliveEvery is how often every stream sends a comment, so that
	// proxies (Fly's closes a connection idle for 60 s) and browsers do not
	// take it for dead.
	keepaliveEvery = 25 * time.Second
	// coalesceWindow is the shortest time between two messages of one
	// topic: changes that arrive sooner are sent as one message at its end,
	// so a rush of sales costs each topic a few renderings a second at most,
	// however many pages show it. It is longer while sending a message to
	// all of them takes longer (live.busyShare).
	coalesceWindow = 250 * time.Millisecond
)

// DefaultMaxLiveStreams is how many event streams one process holds open
// unless configured otherwise (MAX_LIVE_STREAMS). A stream taken over from
// the server costs 1.2 to 3 KB of memory (BENCHMARKS.md, "Live pages at
// on-sale scale"): 20,000 are 24 to 60 MB, and as many file descriptors.
const DefaultMaxLiveStreams = 20_000

// streamRetryAfter is the Retry-After, in seconds, of a stream refused
// because too many are open.
const streamRetryAfter = 30

// openStream answers r with an event stream of the topic (see
// live.Streams.Open), or says why it cannot: past the cap, 503 with
// Retry-After, so that the buy path is never starved; the page still works.
// The topic's renderings read from the live pages' pool (store.ForLivePages),
// so that buyers' requests do not hold them up.
func (h *Handler) openStream(w http.ResponseWriter, r *http.Request, key live.Topic, feed live.Feed) {
	if render := feed.Render; render != nil {
		feed.Render = func(ctx context.Context, last any) (live.Rendering, error) {
			return render(store.ForLivePages(ctx), last)
		}
	}
	err := h.streams.Open(w, r, key, feed)
	switch {
	case errors.Is(err, live.ErrTooManyStreams):
		w.Header().Set("Retry-After", strconv.Itoa(streamRetryAfter))
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "Too many pages are open for live updates right now. This page still works: reload it to see what changed.",
			http.StatusServiceUnavailable)
	case err != nil:
		h.serverError(w, r, err)
	}
}

// liveListings streams a "tickets" event whenever a ticket is listed,
// edited, held, released or sold anywhere. Pages whose lists are personal
// (the home page's search, a seller's own tickets) re-fetch themselves on
// it. The stream tells nothing private: only that something changed.
func (h *Handler) liveListings(w http.ResponseWriter, r *http.Request) {
	h.openStream(w, r, live.Topic{Name: "tickets"}, live.Feed{Concerns: live.Event.ConcernsTickets})
}

// eventLive streams an event's listings as any signed-out reader sees them,
// in the reader's locale: rendered once a coalescing window for every page
// that shows them. When only counts changed (tickets held, sold, released),
// the message is a "counts" event, "id free sold" for each listing whose
// counts changed, comma-separated, which app.js writes into the page; when anything else changed (a listing added,
// edited, withdrawn, sales closed), it is a "listings" event with the whole
// list, which replaces the page's. A stream is sent the whole list when it
// opens unless its Last-Event-ID says it has the latest. A seller's page
// uses /live instead: it shows their own listings as theirs.
func (h *Handler) eventLive(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		h.notFound(w, r)
		return
	}
	e, err := h.store.Event(r.Context(), id)
	switch {
	case err != nil:
		h.storeError(w, r, err)
		return
	case e.MergedInto != 0, !e.HiddenAt.IsZero():
		// A hidden event's page is for operators, whose pages re-fetch.
		h.notFound(w, r)
		return
	}
	loc := readerLocale(r)
	h.openStream(w, r, live.Topic{Name: "listings", ID: id, Variant: loc.String()}, live.Feed{
		Concerns: live.Event.ConcernsTickets,
		Render: func(ctx context.Context, last any) (live.Rendering, error) {
			return h.renderEventListings(ctx, id, loc, last)
		},
	})
}

// listingsShown is what an event's listings showed when last rendered.
type listingsShown struct {
	// shape is all that only a whole rendering can change.
	shape string
	// counts are, by listing, its entry in a "counts" event: what app.js
	// can change in place.
	counts map[int64]string
}

// countsSince returns the "counts" event that brings a page that shows
// older up to what now shows: the counts of each listing whose counts
// changed, nil when none did. ok is false when only the whole list can
// (older is no listingsShown, or of another shape).
func (now listingsShown) countsSince(older any, listings []eventListing) (update []byte, ok bool) {
	before, ok := older.(listingsShown)
	if !ok || before.shape != now.shape {
		return nil, false
	}
	for _, l := range listings {
		if c := now.counts[l.ID]; c != before.counts[l.ID] {
			if update != nil {
				update = append(update, ',')
			}
			update = append(update, c...)
		}
	}
	return update, true
}

// renderEventListings renders an event's listings as a signed-out reader
// sees them, and what changed since last (a listingsShown, or nil).
func (h *Handler) renderEventListings(ctx context.Context, id int64, loc *money.Locale, last any) (live.Rendering, error) {
	e, err := h.store.Event(ctx, id)
	if err != nil {
		return live.Rendering{}, err
	}
	data, err := h.eventListings(ctx, eventPage{Page: Page{Now: h.now()}, Event: e})
	if err != nil {
		return live.Rendering{}, err
	}
	now := listingsShown{counts: make(map[int64]string, len(data.Listings))}
	var shape strings.Builder
	fmt.Fprintf(&shape, "%t %t %s\n", data.Closed, data.Shared, e.UpdatedAt)
	for _, l := range data.Listings {
		fmt.Fprintf(&shape, "%d %d %d %s %d %t %q", l.ID, l.Price, l.FaceValue, l.Currency, l.Quantity, l.Together, l.Note)
		switch l.Is.State {
		case store.ForSale, store.Held, store.Sold:
			// The state follows from the counts, and what one may buy
			// from the state, together and the hold limit, which the
			// page has: app.js works them out.
			now.counts[l.ID] = fmt.Sprintf("%d %d %d", l.ID, l.Free, l.Sold)
		default:
			fmt.Fprintf(&shape, " %s", l.Is.State)
		}
		shape.WriteByte('\n')
	}
	now.shape = shape.String()

	r := live.Rendering{State: now, UpdateName: "counts", Since: func(older any) []byte {
		update, _ := now.countsSince(older, data.Listings)
		return update
	}}
	if update, ok := now.countsSince(last, data.Listings); ok && update == nil {
		r.Same = true
		return r, nil
	}
	var buf bytes.Buffer
	if err := h.views.In(loc).Render(&buf, templates.EventListings, data); err != nil {
		return live.Rendering{}, err
	}
	r.HTML = buf.Bytes()
	return r, nil
}

// homeLive streams the list of events everyone sees first on the home page
// (no search, the first page), in the reader's locale: rendered once a
// coalescing window for every page that shows it, as an "events" event that
// replaces the page's list, and only when it changed. A stream is sent the
// list when it opens unless its Last-Event-ID says it has the latest. A
// search or another page of the list uses /live instead and fetches itself.
func (h *Handler) homeLive(w http.ResponseWriter, r *http.Request) {
	loc := readerLocale(r)
	h.openStream(w, r, live.Topic{Name: "events", Variant: loc.String()}, live.Feed{
		Concerns: live.Event.ConcernsTickets,
		Render: func(ctx context.Context, last any) (live.Rendering, error) {
			return h.renderHomeEvents(ctx, loc, last)
		},
	})
}

// renderHomeEvents renders the home page's first list of events; Same when
// it is what last (the bytes of the previous rendering) says.
func (h *Handler) renderHomeEvents(ctx context.Context, loc *money.Locale, last any) (live.Rendering, error) {
	data, err := h.homeEvents(ctx, Page{Now: h.now()}, readEventFilter(url.Values{}, h.cfg.DefaultTimeZone), 1)
	if err != nil {
		return live.Rendering{}, err
	}
	return renderShared(h.views.In(loc), templates.HomeEvents, data, last)
}

// renderShared renders a view that a topic sends whole; Same when it is
// what last (the bytes of the previous rendering) says.
func renderShared(views *templates.Set, view templates.View, data any, last any) (live.Rendering, error) {
	var buf bytes.Buffer
	if err := views.Render(&buf, view, data); err != nil {
		return live.Rendering{}, err
	}
	if before, ok := last.([]byte); ok && bytes.Equal(before, buf.Bytes()) {
		return live.Rendering{Same: true, State: before}, nil
	}
	return live.Rendering{HTML: buf.Bytes(), State: buf.Bytes()}, nil
}

// ticketLive streams a listing's buy box as any signed-out reader sees it, in
// the reader's locale: rendered once a coalescing window for every page that
// shows it, as a "buy" event that replaces the page's box, and only when it
// changed. A stream is sent the box when it opens unless its Last-Event-ID
// says it has the latest. The seller's page and a holder's use /live
// instead: they show the listing as theirs.
func (h *Handler) ticketLive(w http.ResponseWriter, r *http.Request) {
	t, ok := h.ticket(w, r)
	if !ok {
		return
	}
	if !t.Event.HiddenAt.IsZero() {
		// A hidden event's listing is for its seller and operators,
		// whose pages re-fetch.
		h.notFound(w, r)
		return
	}
	id, loc := t.ID, readerLocale(r)
	h.openStream(w, r, live.Topic{Name: "buy", ID: id, Variant: loc.String()}, live.Feed{
		Concerns: func(e live.Event) bool { return e.ConcernsListing(id) },
		Render: func(ctx context.Context, last any) (live.Rendering, error) {
			return h.renderBuyBox(ctx, id, loc, last)
		},
	})
}

// renderBuyBox renders a listing's buy box as a signed-out reader sees it.
func (h *Handler) renderBuyBox(ctx context.Context, id int64, loc *money.Locale, last any) (live.Rendering, error) {
	now := h.now()
	t, err := h.store.Listing(ctx, id, now)
	if err != nil {
		return live.Rendering{}, err
	}
	data := h.buyBox(Page{Now: now}, t)
	data.Shared = true
	return renderShared(h.views.In(loc), templates.TicketBuy, data, last)
}

// orderLive streams an "order" event whenever the signed-in buyer's order
// named in the URL changes state; anyone else's order is 404.
func (h *Handler) orderLive(w http.ResponseWriter, r *http.Request) {
	o, ok := h.order(w, r)
	if !ok {
		return
	}
	id := o.ID
	h.openStream(w, r, live.Topic{Name: "order", ID: id}, live.Feed{
		Concerns: func(e live.Event) bool { return e.ConcernsOrder(id) },
	})
}
