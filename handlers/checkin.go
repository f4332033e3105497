package handlers

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/eventhive/eventhive/live"
	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/templates"
)

// checkinPage is an event's door: the scan form, the answer to the last
// scan, the counts, and for the organizer the helpers they named.
type checkinPage struct {
	Page
	Door   store.Door
	Counts store.CheckinCounts
	// Answer is the answer to the scan just made, or nil.
	Answer *checkinAnswer
	Scan   scanForm
	// Helpers and HelperForm: the organizer's only.
	Helpers    []string
	HelperForm helperForm
}

// scanForm is the form a pass's code is typed or scanned into. Each form
// carries a new nonce: sent again, it gets the same answer.
type scanForm struct {
	Nonce string
	Error string
}

// helperForm names a helper by email.
type helperForm struct {
	Email string
	Error string
}

// checkinAnswer is a door's answer as the page shows it: large, coloured
// by Kind (valid, warning or refused) and read out.
type checkinAnswer struct {
	Answer   store.CheckinAnswer
	Kind     string
	Headline string
	Detail   string
}

// describeScan puts the door's answer into words, times in the event's zone.
func describeScan(r store.CheckinResult, e store.Event) *checkinAnswer {
	a := &checkinAnswer{Answer: r.Answer, Kind: "refused"}
	switch r.Answer {
	case store.CheckedIn:
		a.Kind, a.Headline, a.Detail = "valid", "Valid", "Checked in now: let them in."
	case store.AlreadyCheckedIn:
		a.Kind, a.Headline = "warning", "Already checked in"
		a.Detail = fmt.Sprintf("This pass was checked in at %s by %s.", r.At.In(e.Location()).Format("15:04"), r.By)
	case store.PassResold:
		a.Headline, a.Detail = "Void: resold", "Its holder resold this ticket: the new holder has the valid pass."
	case store.PassOtherEvent:
		a.Headline, a.Detail = "Another event", "This pass is for another event."
	case store.PassNotPaid:
		a.Headline, a.Detail = "Not paid", "This ticket is not paid for: its sale never went through or was refunded."
	default:
		a.Headline, a.Detail = "Unknown code", "This is not an EventHive pass: mistyped, altered or forged."
	}
	return a
}

// door loads the door of the event in the URL for the signed-in user: its
// organizer's or a helper's. Anyone else gets 404.
func (h *Handler) door(w http.ResponseWriter, r *http.Request) (store.Door, bool) {
	id, ok := pathID(r)
	if !ok {
		h.notFound(w, r)
		return store.Door{}, false
	}
	door, err := h.store.DoorFor(r.Context(), id, *currentUser(r))
	if err != nil {
		h.storeError(w, r, err)
		return store.Door{}, false
	}
	return door, true
}

// checkinData is the door's page, with a new nonce for the next scan.
func (h *Handler) checkinData(r *http.Request, door store.Door) (checkinPage, error) {
	data := checkinPage{Page: h.page(r, "Door: "+door.Event.Name), Door: door, Scan: scanForm{Nonce: rand.Text()}}
	var err error
	if data.Counts, err = h.store.CheckinCounts(r.Context(), door.Event.ID); err != nil {
		return checkinPage{}, err
	}
	if door.Organizer {
		data.Helpers, err = h.store.CheckinHelpers(r.Context(), door.Event.ID)
	}
	return data, err
}

// showDoor shows the door; to HTMX, which refreshes them, the counts alone.
func (h *Handler) showDoor(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	door, ok := h.door(w, r)
	if !ok {
		return
	}
	data, err := h.checkinData(r, door)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, templates.CheckinCounts, data)
}

// checkIn answers the pass whose code was typed or scanned (field code),
// under the scan's nonce (field nonce; a scan without one is a new scan).
// The answer is the door's page; to HTMX, the answer and a new form.
func (h *Handler) checkIn(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	door, ok := h.door(w, r)
	if !ok || !h.parseForm(w, r) {
		return
	}
	code, nonce := formText(r.PostForm, "code"), formText(r.PostForm, "nonce")
	if !validNonce(nonce) {
		nonce = rand.Text()
	}
	status, problem := http.StatusOK, ""
	var answer *checkinAnswer
	if code == "" {
		status, problem = http.StatusUnprocessableEntity, "Enter the code written under the pass’s QR code, or scan it."
	} else {
		result, err := h.store.CheckIn(r.Context(), store.Scan{EventID: door.Event.ID, By: currentUser(r).ID, Code: code, Nonce: nonce}, h.now())
		switch {
		case errors.Is(err, store.ErrNonceUsed):
			status, problem = http.StatusConflict, "This scan could not be told apart from another one: scan the pass again."
		case err != nil:
			h.serverError(w, r, err)
			return
		default:
			answer = describeScan(result, door.Event)
			if result.Answer == store.CheckedIn {
				h.live.Publish(live.Event{CheckinEventID: door.Event.ID})
			}
		}
	}
	data, err := h.checkinData(r, door)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data.Answer, data.Scan.Error = answer, problem
	h.render(w, r, status, templates.CheckinScanned, data)
}

// validNonce reports whether a scan's nonce is one to keep: 8 to 64 letters,
// digits, '-' or '_'.
func validNonce(nonce string) bool {
	return len(nonce) >= 8 && len(nonce) <= 64 && strings.Trim(nonce,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == ""
}

// checkinLive streams a "checkins" event whenever the door of the event in
// the URL checks a pass in, for the counts to refresh themselves.
func (h *Handler) checkinLive(w http.ResponseWriter, r *http.Request) {
	door, ok := h.door(w, r)
	if !ok {
		return
	}
	id := door.Event.ID
	h.openStream(w, r, live.Topic{Name: "checkins", ID: id}, live.Feed{
		Concerns: func(e live.Event) bool { return e.ConcernsCheckins(id) },
	})
}

// organizerDoor is door for the organizer alone: helpers get 404 too.
func (h *Handler) organizerDoor(w http.ResponseWriter, r *http.Request) (store.Door, bool) {
	door, ok := h.door(w, r)
	if ok && !door.Organizer {
		h.notFound(w, r)
		return store.Door{}, false
	}
	return door, ok
}

// addCheckinHelper lets the organizer name a helper by email.
func (h *Handler) addCheckinHelper(w http.ResponseWriter, r *http.Request) {
	door, ok := h.organizerDoor(w, r)
	if !ok || !h.parseForm(w, r) {
		return
	}
	typed := formText(r.PostForm, "email")
	email, err := store.NormalizeEmail(typed)
	if err != nil {
		data, err := h.checkinData(r, door)
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		data.HelperForm = helperForm{Email: typed, Error: "Enter the helper’s email address, like name@example.com."}
		h.renderMain(w, r, http.StatusUnprocessableEntity, templates.Checkin, data)
		return
	}
	if err := h.store.AddCheckinHelper(r.Context(), door.Event.ID, email, h.now()); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.sessions.Put(r.Context(), sessionFlash, "Whoever signs in as "+email+" may now check passes in here.")
	redirect(w, r, checkinPath(door.Event.ID))
}

// removeCheckinHelper ends a helper's access to the door.
func (h *Handler) removeCheckinHelper(w http.ResponseWriter, r *http.Request) {
	door, ok := h.organizerDoor(w, r)
	if !ok || !h.parseForm(w, r) {
		return
	}
	email := formText(r.PostForm, "email")
	if err := h.store.RemoveCheckinHelper(r.Context(), door.Event.ID, email); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.sessions.Put(r.Context(), sessionFlash, email+" may no longer check passes in here.")
	redirect(w, r, checkinPath(door.Event.ID))
}

func checkinPath(eventID int64) string { return eventPath(eventID) + "/checkin" }
