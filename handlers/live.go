package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/eventhive/eventhive/live"
)

// Live is the hub that carries change events to open pages: *live.Hub.
type Live interface {
	Publish(ctx context.Context, e live.Event)
	Subscribe(ctx context.Context) (<-chan live.Event, func())
}

// Stream timing.
const (
	// keepaliveEvery is how often an idle stream sends a comment, so that
	// proxies and browsers do not take it for dead.
	keepaliveEvery = 25 * time.Second
	// coalesceWindow is the shortest time between two messages of one
	// stream: changes that arrive sooner are sent as one message at its end,
	// so a rush of sales costs each open page a few fetches a second at most.
	coalesceWindow = 250 * time.Millisecond
	// reconnectAfter is how long a browser waits before reopening a stream
	// that ended, in milliseconds (the SSE "retry" field).
	reconnectAfter = 1000
)

// publish tells open pages about a change that has committed.
func (h *Handler) publish(r *http.Request, e live.Event) {
	h.live.Publish(r.Context(), e)
}

// liveListings streams a "tickets" event whenever a ticket is listed,
// edited, held, released or sold anywhere. Listing pages re-fetch themselves
// on it. The stream tells nothing private: only that something changed.
func (h *Handler) liveListings(w http.ResponseWriter, r *http.Request) {
	h.stream(w, r, "tickets", live.Event.ConcernsTickets)
}

// orderLive streams an "order" event whenever the signed-in buyer's order
// named in the URL changes state; anyone else's order is 404.
func (h *Handler) orderLive(w http.ResponseWriter, r *http.Request) {
	o, ok := h.order(w, r)
	if !ok {
		return
	}
	h.stream(w, r, "order", func(e live.Event) bool { return e.ConcernsOrder(o.ID) })
}

// stream answers with a text/event-stream that sends an event named name for
// every hub event wanted accepts, at most one per coalesceWindow. It touches
// no database while it waits: an idle stream costs a goroutine and a
// connection. It ends when the client leaves, the hub closes or the app
// shuts down (Config.Done).
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, name string, wanted func(live.Event) bool) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Accel-Buffering", "no") // no proxy buffering
	if r.Method == http.MethodHead {
		// The headers alone: a stream would hold the connection, which the
		// client means to reuse.
		w.WriteHeader(http.StatusOK)
		return
	}
	rc := http.NewResponseController(w)
	// The server's write timeout is meant for ordinary responses: without
	// this it would cut every stream. (Once a request is read, the server
	// clears the read deadline by itself.)
	if err := rc.SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		h.serverError(w, r, fmt.Errorf("event stream: %w", err))
		return
	}
	ctx := r.Context()
	changes, unsubscribe := h.live.Subscribe(ctx)
	defer unsubscribe()

	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprintf(w, "retry: %d\n: %s\n\n", reconnectAfter, name); err != nil {
		return
	}
	if err := rc.Flush(); err != nil {
		// A middleware's response writer that can neither flush nor unwrap
		// would make every stream useless: say so.
		h.log.ErrorContext(ctx, "event stream cannot flush", "err", err)
		return
	}

	keepalive := time.NewTicker(keepaliveEvery)
	defer keepalive.Stop()
	var (
		quiet   <-chan time.Time // open while messages must wait
		pending bool             // an event arrived while quiet
	)
	send := func(msg string) bool {
		if _, err := fmt.Fprint(w, msg); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	message := "event: " + name + "\ndata: changed\n\n"
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.cfg.Done:
			return
		case e, ok := <-changes:
			if !ok {
				return // the hub closed
			}
			if !wanted(e) {
				continue
			}
			if quiet != nil {
				pending = true
				continue
			}
			if !send(message) {
				return
			}
			quiet = time.After(coalesceWindow)
		case <-quiet:
			quiet = nil
			if pending {
				pending = false
				if !send(message) {
					return
				}
				quiet = time.After(coalesceWindow)
			}
		case <-keepalive.C:
			if !send(": keepalive\n\n") {
				return
			}
		}
	}
}
