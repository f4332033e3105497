package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/eventhive/eventhive/live"
	"github.com/eventhive/eventhive/payments"
	"github.com/eventhive/eventhive/store"
)

// extendOffer is a page's offer of more time on a running hold, for people
// who need it (WCAG 2.2.1): a button in the hold's last
// store.ExtendWindow, once per order, while no other buyer has tried for
// its tickets.
type extendOffer struct {
	OrderID int64
	Adds    string // the time it adds, for people: "1 minute"
	// Hidden is set before the window opens: static/app.js shows the offer
	// when the countdown reaches RevealAt seconds; without JavaScript a
	// reload in the window shows it.
	Hidden   bool
	RevealAt int
	// FromCheckout is set on the built-in checkout page, which the
	// extension then returns to.
	FromCheckout bool
}

// extendOffer is the offer of more time on o's hold at now, or nil when the
// hold cannot be extended now or later.
func (h *Handler) extendOffer(r *http.Request, o store.Order, now time.Time) (*extendOffer, error) {
	if !o.Payable(now) {
		return nil, nil
	}
	x, err := h.store.HoldExtension(r.Context(), o.ID, o.BuyerID, now)
	if err != nil || !x.Offered(now) {
		return nil, err
	}
	return &extendOffer{
		OrderID:  o.ID,
		Adds:     formatDuration(x.By),
		Hidden:   now.Before(x.From),
		RevealAt: int(store.ExtendWindow / time.Second),
	}, nil
}

// extendOrder extends the buyer's hold on their order, once, in its last
// seconds, and goes back to the page the buyer pressed it on.
func (h *Handler) extendOrder(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	o, ok := h.order(w, r)
	if !ok {
		return
	}
	extended, err := h.store.ExtendHold(r.Context(), o.ID, o.BuyerID, h.now())
	if err != nil {
		h.refuseOrder(w, r, extending, err, o)
		return
	}
	h.live.Publish(live.Event{TicketID: o.ListingID, OrderID: o.ID})
	h.sessions.Put(r.Context(), sessionFlash,
		"Your hold is extended: you have "+formatDuration(extended.ExpiresAt.Sub(o.ExpiresAt))+" more to pay.")
	back := orderPath(o.ID)
	if r.PostFormValue("from") == "checkout" && h.builtin != nil &&
		strings.HasPrefix(extended.CheckoutSessionID, payments.BuiltinSessionPrefix) {
		back = "/checkout/" + extended.CheckoutSessionID
	}
	redirect(w, r, back)
}

// tooEarly says from when a hold may be extended.
func tooEarly(f facts) string {
	const when = "You can ask for more time in the last %d seconds of the hold"
	window := int(store.ExtendWindow / time.Second)
	var early *store.TooEarlyError
	if !errors.As(f.err, &early) {
		return fmt.Sprintf(when+".", window)
	}
	return fmt.Sprintf(when+": from %s, in %s.", window, early.From.Format("15:04:05 UTC"),
		waitText(early.From.Sub(f.now)))
}

// waitText writes a short wait for people, rounded up: "1 second", "40
// seconds", "3 minutes".
func waitText(d time.Duration) string {
	if d >= time.Minute {
		return minutes(d)
	}
	if n := (d + time.Second - 1) / time.Second; n > 1 {
		return fmt.Sprintf("%d seconds", n)
	}
	return "1 second"
}
