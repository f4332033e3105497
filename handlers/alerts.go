package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/eventhive/eventhive/money"
	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/templates"
)

// createAlert sets the signed-in person's alert for an event, with the
// highest price they would pay for a ticket (optional). A price that does
// not read is refused beside its field on the event page.
func (h *Handler) createAlert(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok || !h.parseForm(w, r) {
		if !ok {
			h.notFound(w, r)
		}
		return
	}
	e, err := h.store.Event(r.Context(), id)
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	raw := strings.TrimSpace(r.PostForm.Get("max_price"))
	var maxPrice int64
	if raw != "" {
		if maxPrice, err = money.ParsePrice(raw); err != nil || maxPrice <= 0 {
			h.renderEvent(w, r, e, http.StatusUnprocessableEntity, alertForm{MaxPrice: raw,
				Error: "Enter the highest price you would pay for a ticket, such as 40 or 40.50, or leave it empty for any price."})
			return
		}
	}
	if err := h.store.SetAlert(r.Context(), currentUser(r).ID, e.ID, maxPrice, h.now()); err != nil {
		h.storeError(w, r, err)
		return
	}
	msg := "We will email you when tickets for “" + e.Name + "” are listed"
	if maxPrice > 0 {
		msg += " at " + money.Format(maxPrice) + " or less"
	}
	h.sessions.Put(r.Context(), sessionFlash, msg+".")
	redirect(w, r, eventPath(e.ID))
}

// alertsPage lists one's alerts.
type alertsPage struct {
	Page
	Alerts []store.Alert
}

func (h *Handler) listAlerts(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	p := h.page(r, "Your alerts")
	alerts, err := h.store.Alerts(r.Context(), p.User.ID, p.Now)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, templates.Alerts, alertsPage{Page: p, Alerts: alerts})
}

// deleteAlert deletes one of one's alerts; anyone else's is not found.
func (h *Handler) deleteAlert(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok || !h.parseForm(w, r) {
		if !ok {
			h.notFound(w, r)
		}
		return
	}
	if err := h.store.DeleteAlert(r.Context(), id, currentUser(r).ID); err != nil {
		h.storeError(w, r, err)
		return
	}
	h.sessions.Put(r.Context(), sessionFlash, "The alert is deleted.")
	redirect(w, r, "/alerts")
}

// unsubscribePage confirms stopping an alert from the link in its message.
type unsubscribePage struct {
	Page
	Alert store.Alert
	Token string
	Done  bool
}

// confirmUnsubscribe shows what the link would stop, and a button to stop
// it: a GET changes nothing, as mail scanners follow links.
func (h *Handler) confirmUnsubscribe(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	token := chi.URLParam(r, "token")
	a, err := h.store.AlertByToken(r.Context(), token)
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, templates.Unsubscribe, unsubscribePage{Page: h.page(r, "Stop this alert"), Alert: a, Token: token})
}

// unsubscribe stops the alert whose message carried the token: the button
// of the page above, or a mail client's one-click POST (RFC 8058), which
// comes without a session.
func (h *Handler) unsubscribe(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	token := chi.URLParam(r, "token")
	a, err := h.store.AlertByToken(r.Context(), token)
	if err == nil {
		err = h.store.Unsubscribe(r.Context(), token)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		h.serverError(w, r, err)
		return
	}
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, templates.Unsubscribe, unsubscribePage{Page: h.page(r, "Alert stopped"), Alert: a, Done: true})
}
