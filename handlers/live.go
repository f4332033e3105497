package handlers

import (
	"bytes"
	"context"
	"net/http"
	"time"

	"github.com/eventhive/eventhive/live"
	"github.com/eventhive/eventhive/money"
	"github.com/eventhive/eventhive/templates"
)

// Live is the hub that carries change events to open pages: *live.Hub.
type Live interface {
	Publish(ctx context.Context, e live.Event)
	Subscribe(ctx context.Context) (<-chan live.Event, func())
}

// Stream timing.
const (
	// keepaliveEvery is how often every stream sends a comment, so that
	// proxies and browsers do not take it for dead, and so that the app
	// notices a stream whose page left (its second write fails).
	keepaliveEvery = 25 * time.Second
	// coalesceWindow is the shortest time between two messages of one
	// topic: changes that arrive sooner are sent as one message at its end,
	// so a rush of sales costs each topic a few renderings a second at most,
	// however many pages show it.
	coalesceWindow = 250 * time.Millisecond
)

// DefaultMaxLiveStreams is how many event streams one process holds open
// unless configured otherwise (MAX_LIVE_STREAMS). A stream taken over from
// the server costs about 1.5 KB of memory (BENCHMARKS.md, "Live pages"):
// 20,000 are some 30 MB, and as many file descriptors.
const DefaultMaxLiveStreams = 20_000

// publish tells open pages about a change that has committed.
func (h *Handler) publish(r *http.Request, e live.Event) {
	h.live.Publish(r.Context(), e)
}

// liveListings streams a "tickets" event whenever a ticket is listed,
// edited, held, released or sold anywhere. Pages whose lists are personal
// (the home page's search, a seller's own tickets) re-fetch themselves on
// it. The stream tells nothing private: only that something changed.
func (h *Handler) liveListings(w http.ResponseWriter, r *http.Request) {
	h.streams.Open(w, r, live.Topic{Name: "tickets"}, live.Feed{Concerns: live.Event.ConcernsTickets})
}

// eventLive streams the event's listings, rendered for any signed-out
// reader in the reader's locale, as a "listings" event whenever a ticket
// changes: one rendering a coalescing window for every page that shows it.
// A seller's own page uses /live instead (it shows their listings as
// theirs). A stream is sent the latest rendering when it opens unless its
// Last-Event-ID says it has it.
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
	h.streams.Open(w, r, live.Topic{Name: "listings", ID: id, Variant: loc.String()}, live.Feed{
		Concerns: live.Event.ConcernsTickets,
		Render:   func(ctx context.Context) ([]byte, error) { return h.renderEventListings(ctx, id, loc) },
	})
}

// renderEventListings renders an event's listings as a signed-out reader
// sees them.
func (h *Handler) renderEventListings(ctx context.Context, id int64, loc *money.Locale) ([]byte, error) {
	e, err := h.store.Event(ctx, id)
	if err != nil {
		return nil, err
	}
	data, err := h.eventListings(ctx, eventPage{Page: Page{Now: h.now()}, Event: e})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := h.views.In(loc).Render(&buf, templates.EventListings, data); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// orderLive streams an "order" event whenever the signed-in buyer's order
// named in the URL changes state; anyone else's order is 404.
func (h *Handler) orderLive(w http.ResponseWriter, r *http.Request) {
	o, ok := h.order(w, r)
	if !ok {
		return
	}
	id := o.ID
	h.streams.Open(w, r, live.Topic{Name: "order", ID: id}, live.Feed{
		Concerns: func(e live.Event) bool { return e.ConcernsOrder(id) },
	})
}
