package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/eventhive/eventhive/store"
)

// An attempt is what the user tried when the store refused it: the same
// error reads differently when buying a ticket and when editing it.
type attempt int

const (
	anyAttempt  attempt = iota // what every page answers the same way
	buying                     // holding a ticket (CreateOrder)
	editing                    // changing a ticket one sells
	withdrawing                // taking a ticket one sells off sale
	cancelling                 // cancelling one's order
	paying                     // starting to pay one's order
	checkingOut                // paying at the built-in checkout
	extending                  // asking for more time on one's hold
	signingUp
	signingIn  // with the right password
	moderating // an operator changing an event or an account
	merging    // an operator merging a duplicate event into another
	attaching  // attaching an e-ticket file to a ticket one sells
	reselling  // listing a ticket one holds for sale again
	reporting  // reporting a problem with one's paid order
	deciding   // an operator deciding a problem, or refunding an order
)

// A refusal is the answer to a domain error: its status, the sentence shown
// to the user and, for a 429, how long to wait.
type refusal struct {
	status  int
	title   string // of the page, when the handler shows no page of its own
	message string
	wait    time.Duration
}

// facts are what a sentence that depends on data is built from.
type facts struct {
	err      error
	now      time.Time
	order    store.Order   // the order acted on, if any
	listing  store.Listing // the listing acted on, as it is now, if any
	held     int           // tickets the buyer holds
	maxHolds int
}

type rule struct {
	err error
	refusal
	// describe, when set, builds the message from the facts.
	describe func(facts) string
}

// refusals is the one table from domain errors to status and message. A
// handler looks up what the user attempted and shows the message on its own
// page; any other error goes to storeError, which answers the rules of
// anyAttempt with a plain page and anything else with a 500.
var refusals = map[attempt][]rule{
	anyAttempt: {
		{err: store.ErrNotFound, refusal: refusal{status: http.StatusNotFound, title: "Not found",
			message: nothingHere}},
		{err: store.ErrNotOwner, refusal: refusal{status: http.StatusNotFound, title: "Not found",
			message: nothingHere}},
	},
	buying: {
		{err: store.ErrOwnTicket, refusal: refusal{status: http.StatusConflict,
			message: "This is your own ticket: you cannot buy it."}},
		{err: store.ErrHeld, refusal: refusal{status: http.StatusConflict}, describe: func(f facts) string {
			if f.listing.Quantity > 1 {
				return "Other buyers are holding every ticket left right now. If they do not pay in time, they come back on sale."
			}
			return "Another buyer is holding this ticket right now. If they do not pay in time, it comes back on sale."
		}},
		{err: store.ErrSold, refusal: refusal{status: http.StatusConflict}, describe: func(f facts) string {
			if f.listing.Quantity > 1 {
				return "Sorry, these tickets have just sold out."
			}
			return "Sorry, this ticket has just been sold."
		}},
		{err: store.ErrNotEnoughLeft, refusal: refusal{status: http.StatusConflict}, describe: notEnoughLeft},
		{err: store.ErrTogether, refusal: refusal{status: http.StatusConflict}, describe: func(f facts) string {
			n := f.listing.Quantity
			return fmt.Sprintf("These %d tickets are sold together: buy all %d or none.", n, n)
		}},
		{err: store.ErrEventStarted, refusal: refusal{status: http.StatusConflict, message: salesClosed}},
		{err: store.ErrChanged, refusal: refusal{status: http.StatusConflict,
			message: "The seller changed this ticket as you were buying it. Check the price and try again."}},
		{err: store.ErrWithdrawn, refusal: refusal{status: http.StatusConflict,
			message: "The seller has withdrawn this ticket."}},
		{err: store.ErrOffSale, refusal: refusal{status: http.StatusConflict,
			message: "This listing is no longer on sale."}},
		{err: store.ErrTooManyHolds, refusal: refusal{status: http.StatusConflict},
			describe: func(f facts) string { return holdLimitReason(f.maxHolds, f.held) }},
		{err: store.ErrCoolingDown, refusal: refusal{status: http.StatusTooManyRequests}, describe: coolingDown},
		{err: store.ErrEventStarted, refusal: refusal{status: http.StatusConflict, message: salesClosed}},
	},
	editing: {
		{err: store.ErrSold, refusal: refusal{status: http.StatusConflict,
			message: "This ticket is sold and can no longer be edited."}},
		{err: store.ErrEventStarted, refusal: refusal{status: http.StatusConflict, message: salesClosed}},
		{err: store.ErrTicketsClaimed, refusal: refusal{status: http.StatusConflict}, describe: func(f facts) string {
			claimed := f.listing.Quantity - f.listing.Free
			return fmt.Sprintf("Buyers hold or bought %s of this listing, so its face value and whether it is sold together "+
				"stay as they are, and it keeps at least %d tickets. Check your changes and try again.", ticketCount(claimed), claimed)
		}},
	},
	withdrawing: {
		{err: store.ErrHeld, refusal: refusal{status: http.StatusConflict,
			message: "This ticket cannot be withdrawn while a buyer holds it. If they do not pay in time, you can withdraw it then."}},
		{err: store.ErrSold, refusal: refusal{status: http.StatusConflict,
			message: "This ticket is sold and can no longer be withdrawn."}},
		{err: store.ErrEventStarted, refusal: refusal{status: http.StatusConflict, message: salesClosed}},
	},
	cancelling: {
		{err: store.ErrNotPending, refusal: refusal{status: http.StatusConflict},
			describe: func(f facts) string {
				return "This order can no longer be cancelled: it is " + string(f.order.State(f.now)) + "."
			}},
	},
	paying: {
		{err: store.ErrNotPending, refusal: refusal{status: http.StatusConflict},
			describe: func(f facts) string {
				if state := f.order.State(f.now); state != store.Pending {
					return "This order can no longer be paid: it is " + string(state) + "."
				}
				// The order was pending when loaded; the store found it
				// no longer was.
				return "This order can no longer be paid: its hold has ended."
			}},
	},
	checkingOut: {
		{err: store.ErrNotPending, refusal: refusal{status: http.StatusConflict,
			message: "This checkout has expired: the hold ended before payment, so nothing was charged."}},
	},
	extending: {
		{err: store.ErrNotPending, refusal: refusal{status: http.StatusConflict},
			describe: func(f facts) string {
				if state := f.order.State(f.now); state != store.Pending {
					return "This hold can no longer be extended: the order is " + string(state) + "."
				}
				return "This hold can no longer be extended: it has ended."
			}},
		{err: store.ErrTooEarly, refusal: refusal{status: http.StatusConflict}, describe: tooEarly},
		{err: store.ErrAlreadyExtended, refusal: refusal{status: http.StatusConflict,
			message: "This hold has been extended once already: it cannot be extended again."}},
		{err: store.ErrContended, refusal: refusal{status: http.StatusConflict,
			message: "This hold cannot be extended: another buyer is waiting for these tickets."}},
		{err: store.ErrEventStarted, refusal: refusal{status: http.StatusConflict, message: salesClosed}},
	},
	signingUp: {
		{err: store.ErrEmailTaken, refusal: refusal{status: http.StatusUnprocessableEntity,
			message: "An account with this email already exists. Sign in instead?"}},
	},
	signingIn: {
		{err: store.ErrSuspended, refusal: refusal{status: http.StatusForbidden,
			message: "This account is suspended. Write to the operator of EventHive if you think this is a mistake."}},
	},
	moderating: {
		{err: store.ErrMerged, refusal: refusal{status: http.StatusConflict,
			message: "This event was merged into another: change that one instead."}},
		{err: store.ErrSuspendSelf, refusal: refusal{status: http.StatusConflict,
			message: "You cannot suspend your own account."}},
		{err: store.ErrOperator, refusal: refusal{status: http.StatusConflict,
			message: "This is a confirmed operator's account: it cannot be suspended from the console."}},
	},
	merging: {
		{err: store.ErrNotFound, refusal: refusal{status: http.StatusUnprocessableEntity,
			message: "There is no event with this number."}},
		{err: store.ErrMergeIntoItself, refusal: refusal{status: http.StatusUnprocessableEntity,
			message: "An event cannot be merged into itself: choose the event it duplicates."}},
		{err: store.ErrTargetMerged, refusal: refusal{status: http.StatusUnprocessableEntity,
			message: "That event was itself merged into another: choose that one."}},
		{err: store.ErrTargetHidden, refusal: refusal{status: http.StatusUnprocessableEntity,
			message: "That event is hidden: show it first, or choose another."}},
		{err: store.ErrEventStarted, refusal: refusal{status: http.StatusUnprocessableEntity,
			message: "That event has started: its sales are closed, so listings cannot move into it."}},
	},
	attaching: {
		{err: store.ErrDuplicateFile, refusal: refusal{status: http.StatusUnprocessableEntity,
			message: "This file is already attached to another ticket: each e-ticket can be sold once."}},
		{err: store.ErrSold, refusal: refusal{status: http.StatusConflict,
			message: "This ticket is sold: its buyer has this file, so it can no longer be replaced."}},
		{err: store.ErrEventStarted, refusal: refusal{status: http.StatusConflict,
			message: "The event has started: files can no longer be attached."}},
		{err: store.ErrPassesEvent, refusal: refusal{status: http.StatusConflict, message: passesNoFiles}},
	},
	reselling: {
		{err: store.ErrAlreadyListed, refusal: refusal{status: http.StatusConflict,
			message: "You have listed this ticket for sale already: change or withdraw that listing instead."}},
		{err: store.ErrEventStarted, refusal: refusal{status: http.StatusConflict,
			message: "The event has started: sales closed then, and this ticket can no longer be sold."}},
	},
	reporting: {
		{err: store.ErrProblemNote, refusal: refusal{status: http.StatusUnprocessableEntity,
			message: "Say what went wrong, in at most 2,000 characters."}},
		{err: store.ErrProblemReported, refusal: refusal{status: http.StatusConflict,
			message: "You have already reported a problem with this order: EventHive is looking into it."}},
		{err: store.ErrNoProblemToReport, refusal: refusal{status: http.StatusConflict,
			message: "A problem can no longer be reported here: the money for this order has already gone to the seller, or back to you."}},
	},
	deciding: {
		{err: store.ErrNoOpenProblem, refusal: refusal{status: http.StatusConflict,
			message: "This order has no problem waiting for a decision: it was decided already."}},
		{err: store.ErrNothingToRefund, refusal: refusal{status: http.StatusConflict,
			message: "This order is refunded already, or its refund is under way."}},
	},
}

// nothingHere is the message of a 404.
const nothingHere = "There is nothing here. It may have been removed, or it belongs to someone else."

// salesClosed is the refusal of anything that would change what is on sale
// for an event that has started.
const salesClosed = "The event has started: sales closed then, and these tickets can no longer be bought or changed."

// refusalFor looks f.err up among the rules of the attempt. It reports false
// for an error they do not know: the handler then calls storeError.
func refusalFor(a attempt, f facts) (refusal, bool) {
	for _, rule := range refusals[a] {
		if !errors.Is(f.err, rule.err) {
			continue
		}
		ref := rule.refusal
		if rule.describe != nil {
			ref.message = rule.describe(f)
		}
		var cooling *store.CooldownError
		if errors.As(f.err, &cooling) {
			ref.wait = cooling.Until.Sub(f.now)
		}
		return ref, true
	}
	return refusal{}, false
}

// notEnoughLeft says how many tickets are left, fewer than the buyer asked
// for.
func notEnoughLeft(f facts) string {
	left := f.listing.Free
	if left == 0 {
		return "Sorry, other buyers have just taken the last of these tickets."
	}
	return fmt.Sprintf("Only %d left: choose %d or fewer.", left, left)
}

// coolingDown says until when a buyer who let several holds end unpaid must
// wait.
func coolingDown(f facts) string {
	var cooling *store.CooldownError
	if !errors.As(f.err, &cooling) {
		return "You have let several holds end unpaid lately, so you must wait before holding a ticket again."
	}
	return "You have let several holds end unpaid lately, so you must wait before holding a ticket again: you may buy from " +
		cooling.Until.Format("2 Jan 2006 15:04:05 UTC") + ", in " + minutes(cooling.Until.Sub(f.now)) + "."
}

// storeError answers an error of anyAttempt with a plain page; anything else
// is a 500, logged in full.
func (h *Handler) storeError(w http.ResponseWriter, r *http.Request, err error) {
	ref, ok := refusalFor(anyAttempt, facts{err: err, now: h.now()})
	if !ok {
		h.serverError(w, r, err)
		return
	}
	if ref.wait > 0 {
		setRetryAfter(w, ref.wait)
	}
	h.renderError(w, r, ref.status, ref.title, ref.message)
}
