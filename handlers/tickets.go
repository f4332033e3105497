package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/eventhive/eventhive/live"
	"github.com/eventhive/eventhive/money"
	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/templates"
)

// ticketsPerPage is the length of a listing page.
const ticketsPerPage = 20

type listingPage struct {
	Page
	Tickets    []store.Listing
	Query      string
	PageNumber int
	URL        string // this page's own address, which it re-fetches when tickets change
	PrevURL    string
	NextURL    string
}

func (h *Handler) listTickets(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	query := searchText(r.URL.Query().Get("q"))
	number, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || number < 1 || number > 1_000_000 {
		number = 1
	}
	// Everyone signed out sees the same page, so it is kept (see
	// listingCache) unless there is a message for them to see once.
	key := listingKey{url: listingURL(query, number), fragment: isHTMX(r)}
	now := h.now()
	cached := currentUser(r) == nil && !h.sessions.Exists(r.Context(), sessionFlash)
	var version store.ListingVersion
	if cached {
		if version, cached, err = h.store.ListingVersion(r.Context(), now); err != nil {
			h.serverError(w, r, err)
			return
		}
	}
	if cached {
		if page, ok := h.listing.get(key, version); ok {
			page.write(w, r, http.StatusOK)
			return
		}
	}
	// One extra row tells whether there is a next page.
	tickets, err := h.store.ListingsForSale(r.Context(), now, query, ticketsPerPage+1, (number-1)*ticketsPerPage)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data := listingPage{Page: h.page(r, "Tickets for sale"), Tickets: tickets, Query: query, PageNumber: number, URL: key.url}
	if len(tickets) > ticketsPerPage {
		data.Tickets = tickets[:ticketsPerPage]
		data.NextURL = listingURL(query, number+1)
	}
	if number > 1 {
		data.PrevURL = listingURL(query, number-1)
	}
	body, ok := h.renderBody(w, r, templates.HomeListing, data)
	if !ok {
		return
	}
	if cached {
		page := &keptPage{plain: body}
		h.listing.put(key, version, page)
		page.write(w, r, http.StatusOK)
		return
	}
	writeHTML(w, r, http.StatusOK, body)
}

func listingURL(query string, page int) string {
	v := url.Values{}
	if query != "" {
		v.Set("q", query)
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	if len(v) == 0 {
		return "/"
	}
	return "/?" + v.Encode()
}

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
	// Mine is the viewer's own order that holds the ticket, if they hold
	// it, with the time its hold has left.
	Mine     *store.Order
	MineLeft string
}

// ticketPage is the data of t's page for the viewer, who may be holding it.
func (h *Handler) ticketPage(r *http.Request, t store.Listing) (ticketPage, error) {
	p := h.page(r, t.Title())
	data := ticketPage{
		Page:         p,
		Ticket:       t,
		availability: availabilityOf(t.State(p.Now)),
		IsSeller:     p.User != nil && p.User.ID == t.SellerID,
		Hold:         formatHold(h.cfg.OrderHold),
	}
	if data.Held && p.User != nil && !data.IsSeller {
		// Held: by the viewer, among others?
		o, err := h.store.HeldBy(r.Context(), t.ID, p.User.ID, p.Now)
		switch {
		case err == nil:
			data.Mine, data.MineLeft = &o, formatClock(o.ExpiresAt.Sub(p.Now))
		case !errors.Is(err, store.ErrNotFound):
			return data, err
		}
	}
	return data, nil
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
	Ticket   store.Listing // zero for a new ticket
	Form     TicketForm
	Action   string
	Currency string
}

func (h *Handler) ticketFormPage(r *http.Request, t store.Listing, form TicketForm) ticketFormPage {
	title, action := "Sell a ticket", "/tickets"
	if t.ID != 0 {
		title, action = "Edit "+t.Title(), "/tickets/"+strconv.FormatInt(t.ID, 10)
	}
	return ticketFormPage{Page: h.page(r, title), Ticket: t, Form: form, Action: action, Currency: strings.ToUpper(h.cfg.Currency)}
}

func (h *Handler) newTicketPage(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, templates.TicketForm, h.ticketFormPage(r, store.Listing{}, TicketForm{}))
}

func (h *Handler) createTicket(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	form := readTicketForm(r)
	if form.Errors.Any() {
		h.render(w, r, http.StatusUnprocessableEntity, templates.TicketFormFields, h.ticketFormPage(r, store.Listing{}, form))
		return
	}
	t, err := h.store.CreateListing(r.Context(), currentUser(r).ID, store.Single(form.Title, form.price, h.cfg.Currency), h.now())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.publish(r, live.Event{TicketID: t.ID})
	h.sessions.Put(r.Context(), sessionFlash, "Your ticket is on sale.")
	redirect(w, r, "/tickets/"+strconv.FormatInt(t.ID, 10))
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

func (h *Handler) editTicketPage(w http.ResponseWriter, r *http.Request) {
	t, ok := h.ownTicket(w, r)
	if !ok {
		return
	}
	switch t.State(h.now()) {
	case store.Held:
		h.refuseTicket(w, r, editing, store.ErrHeld, t)
		return
	case store.Sold:
		h.refuseTicket(w, r, editing, store.ErrSold, t)
		return
	}
	form := TicketForm{Title: t.Note, Price: money.Format(t.Price)}
	h.render(w, r, http.StatusOK, templates.TicketForm, h.ticketFormPage(r, t, form))
}

func (h *Handler) updateTicket(w http.ResponseWriter, r *http.Request) {
	t, ok := h.ownTicket(w, r)
	if !ok || !h.parseForm(w, r) {
		return
	}
	form := readTicketForm(r)
	if form.Errors.Any() {
		h.render(w, r, http.StatusUnprocessableEntity, templates.TicketFormFields, h.ticketFormPage(r, t, form))
		return
	}
	if _, err := h.store.UpdateListing(r.Context(), t.ID, t.SellerID, store.ListingEdit{Note: form.Title, Price: form.price, FaceValue: t.FaceValue, Quantity: t.Quantity, Together: t.Together}, h.now()); err != nil {
		h.refuseTicket(w, r, editing, err, t)
		return
	}
	h.publish(r, live.Event{TicketID: t.ID})
	h.sessions.Put(r.Context(), sessionFlash, "Your changes are saved.")
	redirect(w, r, "/tickets/"+strconv.FormatInt(t.ID, 10))
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
	h.publish(r, live.Event{TicketID: t.ID})
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
	h.publish(r, live.Event{TicketID: t.ID})
	h.sessions.Put(r.Context(), sessionFlash, "“"+t.Title()+"” is back on sale.")
	redirect(w, r, "/my/tickets")
}

// refuseTicket answers err, met while the user attempted something with
// ticket t: the ticket page saying why when the table knows err for the
// attempt, else storeError's answer.
func (h *Handler) refuseTicket(w http.ResponseWriter, r *http.Request, a attempt, err error, t store.Listing) {
	ref, ok := refusalFor(a, facts{err: err, now: h.now()})
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
