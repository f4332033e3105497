package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/eventhive/eventhive/live"
	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/templates"
)

// createOrder holds quantity tickets (1 unless the form says) of the
// listing ticket_id for the buyer, or shows the listing's page saying why
// not.
func (h *Handler) createOrder(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	listingID := positiveID(r.PostFormValue("ticket_id"))
	if listingID == 0 {
		h.notFound(w, r)
		return
	}
	buyerID, now := currentUser(r).ID, h.now()
	quantity, problem := parseQuantity(formText(r.PostForm, "quantity"))
	ref := refusal{status: http.StatusUnprocessableEntity, message: problem}
	var t store.Listing
	lookForMine := true
	if problem == "" {
		order, err := h.hold(r, buyerID, listingID, quantity, now)
		if err == nil {
			redirect(w, r, orderPath(order.ID))
			return
		}
		// hold says another buyer holds the tickets only once it has
		// found that this one holds none.
		lookForMine = !errors.Is(err, store.ErrHeld)
		if ref, t, err = h.buyingRefusal(r.Context(), err, buyerID, listingID, now); err != nil {
			h.storeError(w, r, err)
			return
		}
	} else {
		var err error
		if t, err = h.store.Listing(r.Context(), listingID, now); err != nil {
			h.storeError(w, r, err)
			return
		}
	}
	data, err := h.ticketPageLooking(r, t, lookForMine)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data.Error = ref.message
	if slices.Contains(data.Quantities, quantity) {
		data.Quantity = quantity
	}
	if ref.wait > 0 {
		setRetryAfter(w, ref.wait)
	}
	h.render(w, r, ref.status, templates.TicketBuy, data)
}

// buyingRefusal is what to tell a buyer whose attempt to hold tickets of a
// listing the store refused with err, from the listing as the store read it
// to refuse (or as it is now, when the store's error carries none) and the
// buyer's holds, and that listing. An error the buying rules do not know is
// returned as it is.
func (h *Handler) buyingRefusal(ctx context.Context, err error, buyerID, listingID int64, now time.Time) (refusal, store.Listing, error) {
	f := facts{err: err, now: now, maxHolds: h.store.MaxHolds()}
	if _, known := refusalFor(buying, f); !known {
		return refusal{}, store.Listing{}, err
	}
	var readErr error
	if refused, ok := errors.AsType[*store.Refusal](err); ok {
		f.listing = refused.Listing
	} else if f.listing, readErr = h.store.Listing(ctx, listingID, now); readErr != nil {
		return refusal{}, store.Listing{}, readErr
	}
	if errors.Is(err, store.ErrTooManyHolds) {
		if f.held, readErr = h.heldTickets(ctx, buyerID, now); readErr != nil {
			return refusal{}, store.Listing{}, readErr
		}
	}
	ref, _ := refusalFor(buying, f)
	return ref, f.listing, nil
}

// heldTickets counts the tickets the buyer's running holds keep.
func (h *Handler) heldTickets(ctx context.Context, buyerID int64, now time.Time) (int, error) {
	orders, err := h.store.OrdersByBuyer(ctx, buyerID)
	if err != nil {
		return 0, err
	}
	held := 0
	for _, o := range orders {
		if o.State(now) == store.Pending {
			held += o.Quantity
		}
	}
	return held, nil
}

// hold gives the buyer an order that holds quantity tickets of the listing: a
// new one, or, when every ticket left is held, the one they already hold
// some with (pressing Buy again, say after going Back, leads to it rather
// than to "another buyer is holding this"). Its errors are CreateOrder's.
func (h *Handler) hold(r *http.Request, buyerID, listingID int64, quantity int, now time.Time) (store.Order, error) {
	order, err := h.store.CreateOrder(r.Context(), buyerID, listingID, quantity, now, h.cfg.OrderHold)
	if err == nil {
		// No page of the new order is open yet, so the event names the
		// listing alone: in a rush for one listing, the holds that wait
		// for the same NOTIFY then go to the other instances as one.
		h.live.Publish(live.Event{TicketID: listingID})
		return order, nil
	}
	if !errors.Is(err, store.ErrHeld) {
		return store.Order{}, err
	}
	mine, mineErr := h.store.HeldBy(r.Context(), listingID, buyerID, now)
	switch {
	case mineErr == nil:
		return mine, nil
	case errors.Is(mineErr, store.ErrNotFound):
		return store.Order{}, err
	default:
		return store.Order{}, mineErr
	}
}

func orderPath(id int64) string { return "/orders/" + strconv.FormatInt(id, 10) }

type ordersPage struct {
	Page
	Orders []store.Order
}

func (h *Handler) listOrders(w http.ResponseWriter, r *http.Request) {
	orders, err := h.store.OrdersByBuyer(r.Context(), currentUser(r).ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, templates.Orders, ordersPage{Page: h.page(r, "My orders"), Orders: orders})
}

type orderPage struct {
	Page
	orderState
	Order    store.Order
	TimeLeft string
	Payments []store.Payment
	Error    string
	// Again is, for an order that ended unpaid, what became of its ticket.
	Again *buyAgain
	// Extend offers more time on a running hold, or is nil.
	Extend *extendOffer
	// Files are a paid order's tickets with their e-ticket files.
	Files []store.FileSlot
	// Passes are a paid order's EventHive passes, if its event has them.
	Passes []store.OrderPass
	// Guarantee is a paid order's buyer guarantee (see report.go), or nil.
	Guarantee *guarantee
}

// buyAgain is what a buyer whose order ended unpaid may do about its
// tickets: buy as many again, or up to what is left, while the listing is
// for sale; else see that someone holds them or they are sold, or follow the
// order they since took some with.
type buyAgain struct {
	availability
	Ticket store.Listing
	Hold   string
	// Mine is the buyer's own later order that holds tickets of the
	// listing, or 0.
	Mine int64
	// Ordered is how many tickets the order was for; Quantities how many
	// the buyer may buy at once now.
	Ordered    int
	Quantities quantities
}

// Same reports whether the buyer may buy as many tickets as they ordered.
func (a buyAgain) Same() bool { return slices.Contains(a.Quantities, a.Ordered) }

// Total is what as many tickets as were ordered cost now.
func (a buyAgain) Total() int64 { return a.Ticket.Price * int64(a.Ordered) }

// orderState is what a page shows of an order's state: the state in words,
// and one flag per state for the template to decide on.
type orderState struct {
	State                              store.OrderStatus
	CanPay                             bool // pending, and the hold has not ended
	Expired, Cancelled, Paid, Refunded bool
}

func orderStateOf(state store.OrderStatus) orderState {
	return orderState{
		State:     state,
		CanPay:    state == store.Pending,
		Expired:   state == store.Expired,
		Cancelled: state == store.Cancelled,
		Paid:      state == store.Paid,
		Refunded:  state == store.Refunded,
	}
}

func (h *Handler) orderPage(r *http.Request, o store.Order) (orderPage, error) {
	p := h.page(r, fmt.Sprintf("Order #%d", o.ID))
	list, err := h.store.PaymentsForOrder(r.Context(), o.ID)
	if err != nil {
		return orderPage{}, err
	}
	data := orderPage{
		Page:       p,
		orderState: orderStateOf(o.State(p.Now)),
		Order:      o,
		TimeLeft:   formatClock(o.ExpiresAt.Sub(p.Now)),
		Payments:   list,
	}
	if data.Expired || data.Cancelled {
		if data.Again, err = h.buyAgain(r, o, p.Now); err != nil {
			return orderPage{}, err
		}
	}
	if data.Extend, err = h.extendOffer(r, o, p.Now); err != nil {
		return orderPage{}, err
	}
	if data.Paid {
		if data.Files, err = h.store.OrderFiles(r.Context(), o.ID); err != nil {
			return orderPage{}, err
		}
		if data.Passes, err = h.store.OrderPasses(r.Context(), o.ID); err != nil {
			return orderPage{}, err
		}
	}
	if data.Paid || data.Refunded {
		if data.Guarantee, err = h.orderGuarantee(r, o, p.Now); err != nil {
			return orderPage{}, err
		}
	}
	return data, nil
}

// buyAgain says what became of the tickets of o, which ended unpaid.
func (h *Handler) buyAgain(r *http.Request, o store.Order, now time.Time) (*buyAgain, error) {
	t, err := h.store.Listing(r.Context(), o.ListingID, now)
	if err != nil {
		return nil, err
	}
	again := &buyAgain{availability: availabilityOf(t.State(now)), Ticket: t, Hold: formatDuration(h.cfg.OrderHold),
		Ordered: o.Quantity}
	// Does the buyer hold some of them again, in a later order?
	switch mine, err := h.store.HeldBy(r.Context(), t.ID, o.BuyerID, now); {
	case err == nil:
		again.Mine = mine.ID
	case errors.Is(err, store.ErrNotFound):
		again.Quantities = quantitiesOf(t, now, h.store.MaxHolds())
	default:
		return nil, err
	}
	return again, nil
}

// order loads the signed-in buyer's order named in the URL; anyone else's
// order is 404.
func (h *Handler) order(w http.ResponseWriter, r *http.Request) (store.Order, bool) {
	id, ok := pathID(r)
	if !ok {
		h.notFound(w, r)
		return store.Order{}, false
	}
	o, err := h.store.Order(r.Context(), id, currentUser(r).ID)
	if err != nil {
		h.storeError(w, r, err)
		return store.Order{}, false
	}
	return o, true
}

func (h *Handler) showOrder(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	o, ok := h.order(w, r)
	if !ok {
		return
	}
	data, err := h.orderPage(r, o)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, templates.OrderDetail, data)
}

type cancelPage struct {
	Page
	orderState
	Order store.Order
}

// confirmCancel asks the buyer whether to cancel their order; the form it
// shows posts to cancelOrder.
func (h *Handler) confirmCancel(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	o, ok := h.order(w, r)
	if !ok {
		return
	}
	p := h.page(r, fmt.Sprintf("Cancel order #%d", o.ID))
	h.render(w, r, http.StatusOK, templates.OrderCancel, cancelPage{Page: p, orderState: orderStateOf(o.State(p.Now)), Order: o})
}

func (h *Handler) cancelOrder(w http.ResponseWriter, r *http.Request) {
	o, ok := h.order(w, r)
	if !ok {
		return
	}
	if err := h.store.CancelOrder(r.Context(), o.ID, o.BuyerID, h.now()); err != nil {
		h.refuseOrder(w, r, cancelling, err, o)
		return
	}
	h.live.Publish(live.Event{TicketID: o.ListingID, OrderID: o.ID})
	h.sessions.Put(r.Context(), sessionFlash, "Your order is cancelled and the ticket is back on sale.")
	redirect(w, r, orderPath(o.ID))
}

// holdLimitReason says why a buyer who holds held tickets cannot hold as
// many more as they asked for, when the limit is limit.
func holdLimitReason(limit, held int) string {
	switch {
	case held < limit:
		return fmt.Sprintf("You may hold at most %d tickets at once and you hold %d: choose %d or fewer, or pay for or cancel an order first.",
			limit, held, limit-held)
	case limit == 1:
		return "You already hold a ticket: pay or cancel it first."
	}
	return fmt.Sprintf("You already hold %d tickets: pay or cancel one first.", limit)
}

// formatClock writes a duration as mm:ss, rounding up so that a hold never
// shows 00:00 while it is still running.
func formatClock(d time.Duration) string {
	if d <= 0 {
		return "00:00"
	}
	s := int((d + time.Second - 1) / time.Second)
	return fmt.Sprintf("%02d:%02d", s/60, s%60)
}
