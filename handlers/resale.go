package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/eventhive/eventhive/live"
	"github.com/eventhive/eventhive/money"
	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/templates"
)

// ResaleForm is the form that lists a ticket one holds for sale again, kept
// as typed.
type ResaleForm struct {
	Price  string
	Note   string
	Errors ResaleErrors

	price int64 // once valid
}

// ResaleErrors are the messages beside the resale form's fields.
type ResaleErrors struct{ Price, Note string }

// Any reports whether there is a message to show.
func (e ResaleErrors) Any() bool { return e != ResaleErrors{} }

type resalePage struct {
	Page
	Ticket   store.OwnedTicket
	Form     ResaleForm
	Currency string
	// MaxPrice is the highest price the resale cap allows, if Capped.
	MaxPrice int64
	Capped   bool
	Cap      string
	// Started: the event has started, and the ticket can no longer be sold.
	Started bool
	// Error is a refusal of the whole form, shown above it.
	Error string
}

func (h *Handler) resalePage(r *http.Request, t store.OwnedTicket, form ResaleForm) resalePage {
	p := h.page(r, "Sell your ticket to "+t.Event.Name)
	data := resalePage{Page: p, Ticket: t, Form: form, Currency: strings.ToUpper(t.Currency), Started: t.Event.Started(p.Now)}
	data.MaxPrice, data.Capped = h.cfg.ResaleCap.Max(t.FaceValue)
	if data.Capped {
		data.Cap = h.cfg.ResaleCap.String()
	}
	return data
}

// ownedTicket loads the ticket named in the URL that the signed-in user
// holds; any other is 404.
func (h *Handler) ownedTicket(w http.ResponseWriter, r *http.Request) (store.OwnedTicket, bool) {
	id := positiveID(chi.URLParam(r, "ticketID"))
	if id == 0 {
		h.notFound(w, r)
		return store.OwnedTicket{}, false
	}
	t, err := h.store.OwnedTicket(r.Context(), currentUser(r).ID, id)
	if err != nil {
		h.storeError(w, r, err)
		return store.OwnedTicket{}, false
	}
	return t, true
}

// resaleForm shows the form that lists a ticket one holds for sale again, at
// its face value and with its note to begin with.
func (h *Handler) resaleForm(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	t, ok := h.ownedTicket(w, r)
	if !ok {
		return
	}
	data := h.resalePage(r, t, ResaleForm{Price: money.Format(t.FaceValue), Note: t.Note})
	h.render(w, r, http.StatusOK, templates.ResaleForm, data)
}

// resell lists a ticket the user holds for sale again and leads to the new
// listing, or shows the form with what is wrong: beside a field (422), or
// above the form when the ticket is listed already or its event started
// (409).
func (h *Handler) resell(w http.ResponseWriter, r *http.Request) {
	t, ok := h.ownedTicket(w, r)
	if !ok || !h.parseForm(w, r) {
		return
	}
	rules := h.listingRules()
	form := ResaleForm{Price: formText(r.PostForm, "price"), Note: formText(r.PostForm, "note")}
	form.check(t.FaceValue, rules)
	status, refused := http.StatusUnprocessableEntity, ""
	if !form.Errors.Any() {
		l, err := h.store.ResellTickets(r.Context(), currentUser(r).ID, store.Resale{TicketIDs: []int64{t.TicketID},
			Price: form.price, Note: form.Note}, rules.now)
		var over *store.PriceCapError
		ref, known := refusalFor(reselling, facts{err: err, now: rules.now})
		switch {
		case err == nil:
			h.live.Publish(live.Event{TicketID: l.ID})
			h.sessions.Put(r.Context(), sessionFlash, onSale(l.Quantity))
			redirect(w, r, ticketPath(l.ID))
			return
		case known:
			status, refused = ref.status, ref.message
			// As it is now: with the listing made of it meanwhile.
			if t, ok = h.ownedTicket(w, r); !ok {
				return
			}
		case errors.As(err, &over):
			form.Errors.Price = capProblem(over.Max, rules)
		default:
			h.storeError(w, r, err)
			return
		}
	}
	data := h.resalePage(r, t, form)
	data.Error = refused
	h.render(w, r, status, templates.ResaleForm, data)
}

// check reads the price, at most the resale cap over the ticket's face
// value, and the note.
func (f *ResaleForm) check(faceValue int64, rules listingRules) {
	var err error
	if f.price, err = money.ParsePrice(f.Price); err != nil {
		f.Errors.Price = sentence(err.Error())
	} else if most, capped := rules.cap.Max(faceValue); capped && f.price > most {
		f.Errors.Price = capProblem(most, rules)
	}
	f.Errors.Note = optionalText("note", f.Note, maxNote)
}
