package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/templates"
)

type myTicketsPage struct {
	Page
	// Held are the tickets the user holds; the page shows them above the
	// ones they sell. An HTMX request, which re-fetches the list they sell,
	// goes without them.
	Held    []heldTicket
	Tickets []myTicket
}

// heldTicket is a ticket the user holds, with its e-ticket file.
type heldTicket struct {
	store.OwnedTicket
	// File is the ticket within its order, with its file if the seller
	// attached it; nil for an event with EventHive passes.
	File *store.FileSlot
	// PassCode is the ticket's EventHive pass, for an event that checks
	// tickets in with them; empty otherwise.
	PassCode string
	// Sellable: the event has not started, so the holder may sell it on.
	Sellable bool
}

// myTicket is one line of a seller's list.
type myTicket struct {
	store.SellerListing
	availability
	// Editable is whether the seller may change the ticket now: while it
	// is for sale or withdrawn, not while held or once sold.
	Editable bool
}

// myTickets lists the tickets the signed-in user holds, then every ticket
// they listed, with its state: for sale, held until when, sold (when, and
// for how much) or withdrawn. The page re-fetches the list they sell when
// tickets change.
func (h *Handler) myTickets(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	user := currentUser(r).ID
	list, err := h.store.SellerListings(r.Context(), user, h.now())
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
	if !isHTMX(r) {
		if data.Held, err = h.ticketsHeldBy(r.Context(), user, data.Now); err != nil {
			h.serverError(w, r, err)
			return
		}
	}
	h.render(w, r, http.StatusOK, templates.MyTicketsList, data)
}

// ticketsHeldBy lists the tickets a person holds, with their files or passes.
func (h *Handler) ticketsHeldBy(ctx context.Context, ownerID int64, now time.Time) ([]heldTicket, error) {
	owned, err := h.store.OwnedTickets(ctx, ownerID)
	if err != nil {
		return nil, err
	}
	files := map[int64]*store.FileSlot{} // by ticket id
	orders := map[int64]bool{}
	held := make([]heldTicket, 0, len(owned))
	for _, t := range owned {
		if !orders[t.OrderID] {
			orders[t.OrderID] = true
			slots, err := h.store.OrderFiles(ctx, t.OrderID)
			if err != nil {
				return nil, err
			}
			for i := range slots {
				files[slots[i].TicketID] = &slots[i]
			}
		}
		ticket := heldTicket{OwnedTicket: t, File: files[t.TicketID], Sellable: !t.Event.Started(now)}
		if t.Event.CheckinWithEventHive {
			pass, err := h.store.SignPass(ctx, store.Pass{EventID: t.Event.ID, RootID: t.RootID, Generation: t.Generation, OrderID: t.OrderID})
			if err != nil {
				return nil, err
			}
			ticket.PassCode = pass.Code()
		}
		held = append(held, ticket)
	}
	return held, nil
}
