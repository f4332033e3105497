package handlers

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/eventhive/eventhive/payments"
	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/templates"
)

// payOrder starts paying a pending order: it creates the checkout session and
// sends the buyer there.
func (h *Handler) payOrder(w http.ResponseWriter, r *http.Request) {
	o, ok := h.order(w, r)
	if !ok {
		return
	}
	if !o.Payable(h.now()) {
		h.refuseOrder(w, r, paying, store.ErrNotPending, o)
		return
	}
	orderURL := h.cfg.BaseURL + "/orders/" + strconv.FormatInt(o.ID, 10)
	session, err := h.checkout.CreateSession(r.Context(), payments.CheckoutRequest{
		OrderID:    o.ID,
		Title:      o.EventName,
		Amount:     o.Amount,
		Currency:   o.Currency,
		SuccessURL: orderURL + "?checkout=done",
		CancelURL:  orderURL,
	})
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	err = h.store.SetCheckoutSession(r.Context(), o.ID, o.BuyerID, session.ID, h.now())
	if err != nil {
		h.refuseOrder(w, r, paying, err, o)
		return
	}
	redirect(w, r, session.URL)
}

// refuseOrder answers err, met while the buyer attempted something with
// order o: the order page saying why when the table knows err for the
// attempt, else storeError's answer.
func (h *Handler) refuseOrder(w http.ResponseWriter, r *http.Request, a attempt, err error, o store.Order) {
	ref, ok := refusalFor(a, facts{err: err, now: h.now(), order: o})
	if !ok {
		h.storeError(w, r, err)
		return
	}
	data, err := h.orderPage(r, o)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data.Error = ref.message
	h.renderMain(w, r, ref.status, templates.Order, data)
}

type paymentsPage struct {
	Page
	Payments []store.Payment
}

func (h *Handler) listPayments(w http.ResponseWriter, r *http.Request) {
	list, err := h.store.PaymentsByBuyer(r.Context(), currentUser(r).ID)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, templates.Payments, paymentsPage{Page: h.page(r, "My payments"), Payments: list})
}

type checkoutPage struct {
	Page
	orderState
	SessionID string
	Order     store.Order
	TimeLeft  string
	// Again is, for an order that ended unpaid, what became of its ticket.
	Again *buyAgain
	// Extend offers more time on a running hold, or is nil.
	Extend *extendOffer
}

// checkoutOrder loads the signed-in buyer's order of the built-in checkout
// session in the URL; anything else is 404.
func (h *Handler) checkoutOrder(w http.ResponseWriter, r *http.Request) (string, store.Order, bool) {
	id := chi.URLParam(r, "session")
	if !strings.HasPrefix(id, payments.BuiltinSessionPrefix) {
		h.notFound(w, r)
		return "", store.Order{}, false
	}
	o, err := h.store.OrderBySession(r.Context(), id, currentUser(r).ID)
	if err != nil {
		h.storeError(w, r, err)
		return "", store.Order{}, false
	}
	return id, o, true
}

func (h *Handler) checkoutPage(w http.ResponseWriter, r *http.Request) {
	id, o, ok := h.checkoutOrder(w, r)
	if !ok {
		return
	}
	noStore(w)
	p := h.page(r, "Checkout")
	data := checkoutPage{
		Page:       p,
		orderState: orderStateOf(o.State(p.Now)),
		SessionID:  id,
		Order:      o,
		TimeLeft:   formatClock(o.ExpiresAt.Sub(p.Now)),
	}
	var err error
	if data.Expired || data.Cancelled {
		if data.Again, err = h.buyAgain(r, o, p.Now); err != nil {
			h.serverError(w, r, err)
			return
		}
	}
	if data.Extend, err = h.extendOffer(r, o, p.Now); err != nil {
		h.serverError(w, r, err)
		return
	}
	if data.Extend != nil {
		data.Extend.FromCheckout = true
	}
	h.render(w, r, http.StatusOK, templates.CheckoutDetail, data)
}

// checkoutPay pays a built-in checkout session: it signs the event Stripe
// would send and hands it to the webhook's own code.
func (h *Handler) checkoutPay(w http.ResponseWriter, r *http.Request) {
	id, o, ok := h.checkoutOrder(w, r)
	if !ok {
		return
	}
	if !o.Payable(h.now()) {
		h.refuseOrder(w, r, checkingOut, store.ErrNotPending, o)
		return
	}
	payload, signature, err := h.builtin.CompletedEvent(id, payments.CheckoutRequest{
		OrderID: o.ID, Title: o.EventName, Amount: o.Amount, Currency: o.Currency,
	}, h.now())
	if err == nil {
		err = h.receiveStripeEvent(r.Context(), h.platformEvents, payload, signature)
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.sessions.Put(r.Context(), sessionFlash, "Payment received. Your order is being confirmed.")
	redirect(w, r, "/orders/"+strconv.FormatInt(o.ID, 10))
}
