package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/eventhive/eventhive/live"
	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/templates"
)

// availability is what a page shows of a ticket's state: the state in words,
// and one flag per state for the template to decide on.
type availability struct {
	State     store.ListingState
	ForSale   bool
	Held      bool
	Sold      bool
	Withdrawn bool
	Ended     bool // the event has started: sales are closed
	OffSale   bool // an operator took it off sale
}

func availabilityOf(state store.ListingState) availability {
	return availability{State: state, ForSale: state == store.ForSale, Held: state == store.Held, Sold: state == store.Sold,
		Withdrawn: state == store.Withdrawn, Ended: state == store.Ended, OffSale: state == store.OffSale}
}

type ticketPage struct {
	Page
	availability
	Ticket   store.Listing
	IsSeller bool
	Hold     string
	Error    string
	// Quantities are how many tickets the viewer may buy at once; Quantity
	// is the one chosen.
	Quantities quantities
	Quantity   int
	// Mine is the viewer's own order that holds tickets of the listing, if
	// they hold some, with the time its hold has left.
	Mine     *store.Order
	MineLeft string
	// Files are the seller's e-ticket files of the listing's tickets; nil
	// for anyone else, and for an event with EventHive passes.
	Files *fileUploads
	// Shared is set when the buy box is what any signed-out reader sees
	// (the viewer is neither the seller nor holding tickets of the listing,
	// whose event is not hidden): the page then takes the rendering every
	// such page shares from /tickets/{id}/live, instead of fetching its box
	// again whenever tickets change anywhere.
	Shared bool
}

// ticketPage is the data of t's page for the viewer, who may be holding some
// of its tickets.
func (h *Handler) ticketPage(r *http.Request, t store.Listing) (ticketPage, error) {
	return h.ticketPageLooking(r, t, true)
}

// ticketPageLooking is ticketPage, which looks for the viewer's own hold of
// t's tickets only if lookForMine: a caller that has just found they hold
// none spares the read.
func (h *Handler) ticketPageLooking(r *http.Request, t store.Listing, lookForMine bool) (ticketPage, error) {
	data := h.buyBox(h.page(r, t.Title()), t)
	if data.IsSeller {
		var err error
		if data.Files, err = h.fileUploads(r.Context(), t, data.Now); err != nil {
			return data, err
		}
	}
	data.Shared = t.Event.HiddenAt.IsZero() && !data.IsSeller
	if !lookForMine || data.User == nil || data.IsSeller || t.Held() == 0 {
		return data, nil
	}
	// Some tickets are held: by the viewer, among others?
	o, err := h.store.HeldBy(r.Context(), t.ID, data.User.ID, data.Now)
	switch {
	case err == nil:
		data.Mine, data.MineLeft = &o, formatClock(o.ExpiresAt.Sub(data.Now))
		data.Shared = false
	case !errors.Is(err, store.ErrNotFound):
		return data, err
	}
	return data, nil
}

// buyBox is what t's buy box shows p's reader before anything of their own
// (their hold, their files) is added: what any reader who is not its seller
// sees.
func (h *Handler) buyBox(p Page, t store.Listing) ticketPage {
	data := ticketPage{
		Page:         p,
		Ticket:       t,
		availability: availabilityOf(t.State(p.Now)),
		IsSeller:     p.User != nil && p.User.ID == t.SellerID,
		Hold:         formatDuration(h.cfg.OrderHold),
		Quantity:     1,
	}
	if !data.IsSeller {
		data.Quantities = quantitiesOf(t, p.Now, h.store.MaxHolds())
	}
	return data
}

// noStore keeps a page out of the browser's caches, the back/forward cache
// included: what it shows of tickets' availability is stale as soon as
// someone buys, so going Back must fetch it again.
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
}

func (h *Handler) showTicket(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	t, ok := h.ticket(w, r)
	if !ok {
		return
	}
	// An event an operator hid is not shown, but to them and its sellers.
	if u := currentUser(r); !t.Event.HiddenAt.IsZero() && (u == nil || u.ID != t.SellerID) && !h.isAdmin(u) {
		h.notFound(w, r)
		return
	}
	data, err := h.ticketPage(r, t)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, templates.TicketBuy, data)
}

// ticket loads the ticket named in the URL, answering 404 when there is none.
func (h *Handler) ticket(w http.ResponseWriter, r *http.Request) (store.Listing, bool) {
	id, ok := pathID(r)
	if !ok {
		h.notFound(w, r)
		return store.Listing{}, false
	}
	t, err := h.store.Listing(r.Context(), id, h.now())
	if err != nil {
		h.storeError(w, r, err)
		return store.Listing{}, false
	}
	return t, true
}

// pathID reads the {id} URL parameter: a positive integer.
func pathID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	return id, err == nil && id > 0
}

type ticketFormPage struct {
	Page
	Ticket      store.Listing // the listing edited; zero for new tickets
	Form        TicketForm
	Action      string
	Currency    string
	Cap         string // the resale cap in words; "" for none
	MaxQuantity int
	// For new tickets: the event search, the upcoming events it found
	// (Picked, the one picked, first), and the time zones to suggest.
	Find    string
	Matches []store.Event
	Picked  int64
	Zones   []string
	// For an edit: how many tickets buyers hold or bought. Their face value
	// and whether they are sold together then stay as they are, and there
	// must be at least as many tickets.
	Claimed int
}

func (h *Handler) ticketFormPage(r *http.Request, title string, form TicketForm) ticketFormPage {
	data := ticketFormPage{Page: h.page(r, title), Form: form, Action: "/tickets", Currency: strings.ToUpper(h.cfg.Currency),
		MaxQuantity: store.MaxQuantity}
	if _, capped := h.cfg.ResaleCap.Max(0); capped {
		data.Cap = h.cfg.ResaleCap.String()
	}
	return data
}

// newTicketFormPage is the form that lists new tickets, offering the
// upcoming events that match find.
func (h *Handler) newTicketFormPage(r *http.Request, form TicketForm, find string) (ticketFormPage, error) {
	data := h.ticketFormPage(r, "Sell tickets", form)
	data.Find, data.Picked, data.Zones = find, positiveID(form.EventID), commonZones
	var err error
	data.Matches, err = h.pickerEvents(r.Context(), find, data.Picked, data.Now)
	return data, err
}

// editTicketFormPage is the form that edits listing t.
func (h *Handler) editTicketFormPage(r *http.Request, t store.Listing, form TicketForm) ticketFormPage {
	data := h.ticketFormPage(r, "Edit "+t.Title(), form)
	data.Ticket, data.Action, data.Claimed = t, ticketPath(t.ID), t.Quantity-t.Free
	return data
}

func ticketPath(id int64) string { return "/tickets/" + strconv.FormatInt(id, 10) }

// newTicketPage shows the form that lists tickets: empty, with the event of
// event_id picked, or as its Find button sent it, with the events found.
func (h *Handler) newTicketPage(w http.ResponseWriter, r *http.Request) {
	h.showNewTicketForm(w, r, templates.TicketFormFields)
}

// eventPicker answers the sell form's event search as the user types: the
// upcoming events that match, as choices of the form. Without HTMX it is the
// whole form, as newTicketPage shows it.
func (h *Handler) eventPicker(w http.ResponseWriter, r *http.Request) {
	h.showNewTicketForm(w, r, templates.TicketFormPicker)
}

// showNewTicketForm renders view of the form that lists tickets, filled in
// from the URL's query.
func (h *Handler) showNewTicketForm(w http.ResponseWriter, r *http.Request, view templates.View) {
	rules := h.listingRules()
	query := r.URL.Query()
	form := readTicketForm(query, rules)
	if form.EventID != "" {
		form.checkEvent(rules)
		if err := h.checkPickedEvent(r.Context(), &form, rules.now); err != nil {
			h.serverError(w, r, err)
			return
		}
	}
	data, err := h.newTicketFormPage(r, form, searchText(query.Get("q")))
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, view, data)
}

func (h *Handler) createTicket(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	rules := h.listingRules()
	form := readTicketForm(r.PostForm, rules)
	form.checkNew(rules)
	if err := h.checkPickedEvent(r.Context(), &form, rules.now); err != nil {
		h.serverError(w, r, err)
		return
	}
	if !form.Errors.Any() {
		t, err := h.store.CreateListing(r.Context(), currentUser(r).ID, form.listing, rules.now)
		if err == nil {
			h.live.Publish(live.Event{TicketID: t.ID})
			h.sessions.Put(r.Context(), sessionFlash, onSale(t.Quantity))
			redirect(w, r, ticketPath(t.ID))
			return
		}
		if !form.storeRefused(err, rules) {
			h.serverError(w, r, err)
			return
		}
	}
	data, err := h.newTicketFormPage(r, form, searchText(r.PostFormValue("q")))
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, http.StatusUnprocessableEntity, templates.TicketFormFields, data)
}

// onSale is the message that new tickets are on sale.
func onSale(quantity int) string {
	if quantity == 1 {
		return "Your ticket is on sale."
	}
	return "Your " + ticketCount(quantity) + " are on sale."
}

// ownTicket loads the signed-in seller's ticket named in the URL; anyone
// else's ticket is 404.
func (h *Handler) ownTicket(w http.ResponseWriter, r *http.Request) (store.Listing, bool) {
	t, ok := h.ticket(w, r)
	if !ok {
		return t, false
	}
	if t.SellerID != currentUser(r).ID {
		h.notFound(w, r)
		return t, false
	}
	return t, true
}

// editable loads the signed-in seller's listing named in the URL if it can
// still be edited: not sold out, and its event not started. Else it answers
// why not.
func (h *Handler) editable(w http.ResponseWriter, r *http.Request) (store.Listing, bool) {
	t, ok := h.ownTicket(w, r)
	if !ok {
		return t, false
	}
	switch t.State(h.now()) {
	case store.Sold:
		h.refuseTicket(w, r, editing, store.ErrSold, t)
		return t, false
	case store.Ended:
		h.refuseTicket(w, r, editing, store.ErrEventStarted, t)
		return t, false
	}
	return t, true
}

func (h *Handler) editTicketPage(w http.ResponseWriter, r *http.Request) {
	t, ok := h.editable(w, r)
	if !ok {
		return
	}
	h.render(w, r, http.StatusOK, templates.TicketForm, h.editTicketFormPage(r, t, editForm(t)))
}

func (h *Handler) updateTicket(w http.ResponseWriter, r *http.Request) {
	t, ok := h.editable(w, r)
	if !ok || !h.parseForm(w, r) {
		return
	}
	rules := h.listingRules()
	form := readListingEdit(r.PostForm, t)
	form.checkOffer(rules)
	form.checkClaimed(t)
	if !form.Errors.Any() {
		_, err := h.store.UpdateListing(r.Context(), t.ID, t.SellerID, form.edit(), rules.now)
		if err == nil {
			h.live.Publish(live.Event{TicketID: t.ID})
			h.sessions.Put(r.Context(), sessionFlash, "Your changes are saved.")
			redirect(w, r, ticketPath(t.ID))
			return
		}
		if !form.overCap(err, rules) {
			h.refuseTicket(w, r, editing, err, t)
			return
		}
	}
	h.render(w, r, http.StatusUnprocessableEntity, templates.TicketFormFields, h.editTicketFormPage(r, t, form))
}

// withdrawTicket takes the seller's ticket off sale, if no buyer holds it
// and it is not sold: the store decides that in the same statement that
// withdraws it, against any buyer racing for the ticket.
func (h *Handler) withdrawTicket(w http.ResponseWriter, r *http.Request) {
	t, ok := h.ownTicket(w, r)
	if !ok || !h.parseForm(w, r) {
		return
	}
	if _, err := h.store.WithdrawListing(r.Context(), t.ID, t.SellerID, h.now()); err != nil {
		h.refuseTicket(w, r, withdrawing, err, t)
		return
	}
	h.live.Publish(live.Event{TicketID: t.ID})
	h.sessions.Put(r.Context(), sessionFlash, "“"+t.Title()+"” is withdrawn: buyers no longer find it, and cannot buy it until you put it back on sale.")
	redirect(w, r, "/my/tickets")
}

// relistTicket puts the seller's withdrawn ticket back on sale.
func (h *Handler) relistTicket(w http.ResponseWriter, r *http.Request) {
	t, ok := h.ownTicket(w, r)
	if !ok || !h.parseForm(w, r) {
		return
	}
	if _, err := h.store.RelistListing(r.Context(), t.ID, t.SellerID, h.now()); err != nil {
		h.storeError(w, r, err)
		return
	}
	h.live.Publish(live.Event{TicketID: t.ID})
	h.sessions.Put(r.Context(), sessionFlash, "“"+t.Title()+"” is back on sale.")
	redirect(w, r, "/my/tickets")
}

// refuseTicket answers err, met while the user attempted something with
// ticket t: the ticket page saying why when the table knows err for the
// attempt, else storeError's answer.
func (h *Handler) refuseTicket(w http.ResponseWriter, r *http.Request, a attempt, err error, t store.Listing) {
	now := h.now()
	// What the listing is now tells why, better than what it was.
	t, readErr := h.store.Listing(r.Context(), t.ID, now)
	if readErr != nil {
		h.storeError(w, r, readErr)
		return
	}
	ref, ok := refusalFor(a, facts{err: err, now: now, listing: t})
	if !ok {
		h.storeError(w, r, err)
		return
	}
	data, err := h.ticketPage(r, t)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data.Error = ref.message
	h.renderMain(w, r, ref.status, templates.Ticket, data)
}
