package handlers

import (
	"net/http"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/templates"
)

type myTicketsPage struct {
	Page
	Tickets []myTicket
}

// myTicket is one line of a seller's list.
type myTicket struct {
	store.SellerListing
	availability
	// Editable is whether the seller may change the ticket now: while it
	// is for sale or withdrawn, not while held or once sold.
	Editable bool
}

// myTickets lists every ticket the signed-in user listed, with its state:
// for sale, held until when, sold (when, and for how much) or withdrawn. The page
// re-fetches its list when tickets change.
func (h *Handler) myTickets(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	list, err := h.store.SellerListings(r.Context(), currentUser(r).ID, h.now())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data := myTicketsPage{Page: h.page(r, "My tickets")}
	for _, t := range list {
		state := t.State(data.Now)
		editable := state == store.ForSale || state == store.Withdrawn
		data.Tickets = append(data.Tickets, myTicket{SellerListing: t, availability: availabilityOf(state), Editable: editable})
	}
	h.render(w, r, http.StatusOK, templates.MyTicketsList, data)
}
