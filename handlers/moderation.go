package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/eventhive/eventhive/live"
	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/templates"
)

// moderationRoutes are the operator's moderation pages, under /admin behind
// requireAdmin: events to edit, hide, show and merge, accounts to suspend and
// reinstate, and the log of what operators did. Every change is a POST; a
// suspension and a merge are confirmed on a page of their own first.
func (h *Handler) moderationRoutes(r chi.Router) {
	r.Get("/events", h.adminEvents)
	r.Get("/events/{id}", h.adminEvent)
	r.Post("/events/{id}", h.adminUpdateEvent)
	r.Post("/events/{id}/hide", h.adminHideEvent)
	r.Post("/events/{id}/show", h.adminShowEvent)
	r.Get("/events/{id}/merge", h.adminMergePage)
	r.Post("/events/{id}/merge", h.adminMergeEvents)
	r.Get("/users", h.adminUsers)
	r.Get("/users/{id}/suspension", h.adminSuspendPage)
	r.Post("/users/{id}/suspend", h.adminSuspendUser)
	r.Post("/users/{id}/reinstate", h.adminReinstateUser)
	r.Get("/log", h.adminLog)
}

// adminPageSize is the length of a page of the operator's lists.
const adminPageSize = 50

// moderationLogSize is how many of the latest actions the log page shows.
const moderationLogSize = 200

// adminList is the search and paging of an operator's list.
type adminList struct {
	Query   string
	PrevURL string
	NextURL string

	path   string
	number int
}

// adminListOf reads the search (q) and the page number (page) of a list at
// path.
func adminListOf(r *http.Request, path string) adminList {
	number, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || number < 1 || number > 1_000_000 {
		number = 1
	}
	return adminList{Query: searchText(r.URL.Query().Get("q")), path: path, number: number}
}

// offset is the first row of the page; the store is asked for one row more
// than a page, which tells whether there is a next page.
func (l adminList) offset() int { return (l.number - 1) * adminPageSize }

// paged links the pages before and after, given how many rows the store
// returned, and returns how many of them to show.
func (l *adminList) paged(rows int) int {
	if l.number > 1 {
		l.PrevURL = l.url(l.number - 1)
	}
	if rows > adminPageSize {
		l.NextURL = l.url(l.number + 1)
		return adminPageSize
	}
	return rows
}

func (l adminList) url(number int) string {
	v := url.Values{}
	if l.Query != "" {
		v.Set("q", l.Query)
	}
	if number > 1 {
		v.Set("page", strconv.Itoa(number))
	}
	if len(v) == 0 {
		return l.path
	}
	return l.path + "?" + v.Encode()
}

type adminEventsPage struct {
	Page
	adminList
	Events []store.ModeratedEvent
}

// adminEvents lists every event, hidden and merged ones included, newest
// first, searched by name, venue or city.
func (h *Handler) adminEvents(w http.ResponseWriter, r *http.Request) {
	list := adminListOf(r, "/admin/events")
	events, err := h.store.EventsForModeration(r.Context(), list.Query, adminPageSize+1, list.offset())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	events = events[:list.paged(len(events))]
	h.render(w, r, http.StatusOK, templates.AdminEvents, adminEventsPage{Page: h.page(r, "Events"), adminList: list, Events: events})
}

// AdminEventForm is the operator's form that edits an event; its fields are
// those of a new event on the form that lists tickets.
type AdminEventForm struct {
	Name     string
	Venue    string
	City     string
	StartsAt string // YYYY-MM-DDTHH:MM in the event's zone; empty: to be announced
	TimeZone string
	Errors   AdminEventErrors

	event store.NewEvent // once valid
}

// AdminEventErrors are the messages shown beside the event form's fields.
type AdminEventErrors struct {
	Name, Venue, City, StartsAt, TimeZone string
}

// Any reports whether there is a message to show.
func (e AdminEventErrors) Any() bool { return e != AdminEventErrors{} }

// adminEventFormOf is the form filled in with the event as it is.
func adminEventFormOf(e store.Event) AdminEventForm {
	f := AdminEventForm{Name: e.Name, Venue: e.Venue, City: e.City, TimeZone: e.TimeZone}
	if !e.StartsAt.IsZero() {
		f.StartsAt = e.StartsAt.In(e.Location()).Format(localMinute)
	}
	return f
}

func readAdminEventForm(r *http.Request) AdminEventForm {
	f := AdminEventForm{
		Name:     strings.TrimSpace(r.PostFormValue("event_name")),
		Venue:    strings.TrimSpace(r.PostFormValue("venue")),
		City:     strings.TrimSpace(r.PostFormValue("city")),
		StartsAt: strings.TrimSpace(r.PostFormValue("starts_at")),
		TimeZone: strings.TrimSpace(r.PostFormValue("time_zone")),
	}
	f.Errors.Name = textProblem("name", f.Name, 120)
	f.Errors.Venue = optionalText("venue", f.Venue, 120)
	f.Errors.City = optionalText("city", f.City, 120)
	loc, ok := loadZone(f.TimeZone)
	if !ok {
		f.Errors.TimeZone = "Enter an IANA time zone, like Europe/Paris or America/New_York."
	}
	var starts time.Time
	starts, f.Errors.StartsAt = localStart(f.StartsAt, loc)
	f.event = store.NewEvent{Name: f.Name, Venue: f.Venue, City: f.City, StartsAt: starts, TimeZone: f.TimeZone}
	return f
}

type adminEventPage struct {
	Page
	Event store.Event
	// MergedInto is the event this one was merged into, if it was.
	MergedInto *store.Event
	Form       AdminEventForm
	Error      string
}

// adminEventInPath loads the event named in the URL, hidden or merged,
// answering 404 when there is none.
func (h *Handler) adminEventInPath(w http.ResponseWriter, r *http.Request) (store.Event, bool) {
	id, ok := pathID(r)
	if !ok {
		h.notFound(w, r)
		return store.Event{}, false
	}
	e, err := h.store.Event(r.Context(), id)
	if err != nil {
		h.storeError(w, r, err)
		return store.Event{}, false
	}
	return e, true
}

// renderAdminEvent shows an event's page with the form and message given.
func (h *Handler) renderAdminEvent(w http.ResponseWriter, r *http.Request, status int, e store.Event, form AdminEventForm, message string) {
	data := adminEventPage{Page: h.page(r, "Event #"+strconv.FormatInt(e.ID, 10)), Event: e, Form: form, Error: message}
	if e.MergedInto != 0 {
		into, err := h.store.Event(r.Context(), e.MergedInto)
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		data.MergedInto = &into
	}
	h.render(w, r, status, templates.AdminEvent, data)
}

// adminEvent shows an event to the operator: its form, its state and what
// may be done to it.
func (h *Handler) adminEvent(w http.ResponseWriter, r *http.Request) {
	e, ok := h.adminEventInPath(w, r)
	if !ok {
		return
	}
	h.renderAdminEvent(w, r, http.StatusOK, e, adminEventFormOf(e), "")
}

func (h *Handler) adminUpdateEvent(w http.ResponseWriter, r *http.Request) {
	e, ok := h.adminEventInPath(w, r)
	if !ok || !h.parseForm(w, r) {
		return
	}
	form := readAdminEventForm(r)
	if form.Errors.Any() {
		h.renderAdminEvent(w, r, http.StatusUnprocessableEntity, e, form, "")
		return
	}
	if _, err := h.store.UpdateEvent(r.Context(), currentUser(r).ID, e.ID, form.event, h.now()); err != nil {
		h.refuseModeration(w, r, err, func(message string, status int) { h.renderAdminEvent(w, r, status, e, form, message) })
		return
	}
	h.live.Publish(live.Any)
	h.sessions.Put(r.Context(), sessionFlash, "Your changes to “"+form.Name+"” are saved.")
	redirect(w, r, adminEventPath(e.ID))
}

func (h *Handler) adminHideEvent(w http.ResponseWriter, r *http.Request) {
	h.setEventHidden(w, r, true)
}

func (h *Handler) adminShowEvent(w http.ResponseWriter, r *http.Request) {
	h.setEventHidden(w, r, false)
}

// setEventHidden hides or shows the event named in the URL.
func (h *Handler) setEventHidden(w http.ResponseWriter, r *http.Request, hide bool) {
	e, ok := h.adminEventInPath(w, r)
	if !ok || !h.parseForm(w, r) {
		return
	}
	change, flash := h.store.ShowEvent, "“"+e.Name+"” is shown again: its listings are back on sale."
	if hide {
		change, flash = h.store.HideEvent, "“"+e.Name+"” is hidden: it left the home page and search, and its listings cannot be bought."
	}
	if err := change(r.Context(), currentUser(r).ID, e.ID, h.now()); err != nil {
		h.refuseModeration(w, r, err, func(message string, status int) {
			h.renderAdminEvent(w, r, status, e, adminEventFormOf(e), message)
		})
		return
	}
	h.live.Publish(live.Any)
	h.sessions.Put(r.Context(), sessionFlash, flash)
	redirect(w, r, adminEventPath(e.ID))
}

// refuseModeration answers err, met while an operator changed something:
// show(message, status) when the table knows err, else storeError's answer.
func (h *Handler) refuseModeration(w http.ResponseWriter, r *http.Request, err error, show func(message string, status int)) {
	ref, ok := refusalFor(moderating, facts{err: err, now: h.now()})
	if !ok {
		h.storeError(w, r, err)
		return
	}
	show(ref.message, ref.status)
}

func adminEventPath(id int64) string { return "/admin/events/" + strconv.FormatInt(id, 10) }

type adminMergePage struct {
	Page
	Event store.Event // the duplicate
	// Into is the event chosen to merge it into, once it may be: the page
	// then asks to confirm.
	Into      *store.Event
	IntoID    string // as typed
	IntoError string
	Error     string // why the duplicate cannot be merged at all
	Query     string
	// Candidates are the upcoming events that match Query.
	Candidates []store.EventSummary
}

// mergeCandidates is how many events a search on the merge page offers.
const mergeCandidates = 20

// adminMergePage is where the operator chooses the event a duplicate is to
// be merged into, by number (into) or from a search (q), and then confirms.
func (h *Handler) adminMergePage(w http.ResponseWriter, r *http.Request) {
	e, ok := h.adminEventInPath(w, r)
	if !ok {
		return
	}
	data := adminMergePage{Page: h.page(r, "Merge “"+e.Name+"”"), Event: e,
		Query: searchText(r.URL.Query().Get("q")), IntoID: strings.TrimSpace(r.URL.Query().Get("into"))}
	if data.Query != "" {
		found, err := h.store.UpcomingEvents(r.Context(), data.Now, store.EventQuery{Search: data.Query}, mergeCandidates+1, 0)
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		for _, c := range found {
			if c.ID != e.ID && len(data.Candidates) < mergeCandidates {
				data.Candidates = append(data.Candidates, c)
			}
		}
	}
	if data.IntoID == "" {
		h.renderMerge(w, r, nil, data)
		return
	}
	intoID := typedEventNumber(data.IntoID)
	if intoID == 0 {
		h.renderMerge(w, r, errNotEventNumber, data)
		return
	}
	into, err := h.store.MergeTarget(r.Context(), e.ID, intoID, data.Now)
	if err == nil {
		data.Into = &into
	}
	h.renderMerge(w, r, err, data)
}

// typedEventNumber reads an event's number as the operator types it, 12 or
// #12; 0 if it is none.
func typedEventNumber(s string) int64 { return positiveID(strings.TrimPrefix(s, "#")) }

var errNotEventNumber = errors.New("not an event number")

// renderMerge shows the merge page, saying why err refuses the merge: beside
// the target's field, or for the whole page when the duplicate itself
// cannot be merged.
func (h *Handler) renderMerge(w http.ResponseWriter, r *http.Request, err error, data adminMergePage) {
	status := http.StatusOK
	if ref, ok := refusalFor(merging, facts{err: err, now: data.Now}); ok {
		status, data.IntoError = ref.status, ref.message
	} else if ref, ok := refusalFor(moderating, facts{err: err, now: data.Now}); ok {
		status, data.Error = ref.status, ref.message
	} else if errors.Is(err, errNotEventNumber) {
		status, data.IntoError = http.StatusUnprocessableEntity, "Enter the number of an event, like 12."
	} else if err != nil {
		h.serverError(w, r, err)
		return
	}
	if data.Event.MergedInto != 0 && data.Error == "" {
		data.Error = "This event was merged into event #" + strconv.FormatInt(data.Event.MergedInto, 10) + " already."
	}
	h.render(w, r, status, templates.AdminEventMerge, data)
}

func (h *Handler) adminMergeEvents(w http.ResponseWriter, r *http.Request) {
	e, ok := h.adminEventInPath(w, r)
	if !ok || !h.parseForm(w, r) {
		return
	}
	typed := strings.TrimSpace(r.PostFormValue("into"))
	intoID := typedEventNumber(typed)
	err := errNotEventNumber
	moved := 0
	if intoID != 0 {
		moved, err = h.store.MergeEvents(r.Context(), currentUser(r).ID, e.ID, intoID, h.now())
	}
	if err != nil {
		h.renderMerge(w, r, err, adminMergePage{Page: h.page(r, "Merge “"+e.Name+"”"), Event: e, IntoID: typed})
		return
	}
	h.live.Publish(live.Any)
	h.sessions.Put(r.Context(), sessionFlash, "“"+e.Name+"” is merged into this event: "+listingsMoved(moved)+".")
	redirect(w, r, adminEventPath(intoID))
}

func listingsMoved(n int) string {
	if n == 1 {
		return "1 listing moved"
	}
	return strconv.Itoa(n) + " listings moved"
}

type adminUsersPage struct {
	Page
	adminList
	Users []store.ModeratedUser
}

// adminUsers lists accounts, newest first, searched by email.
func (h *Handler) adminUsers(w http.ResponseWriter, r *http.Request) {
	list := adminListOf(r, "/admin/users")
	users, err := h.store.UsersForModeration(r.Context(), list.Query, adminPageSize+1, list.offset())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	users = users[:list.paged(len(users))]
	h.render(w, r, http.StatusOK, templates.AdminUsers, adminUsersPage{Page: h.page(r, "Users"), adminList: list, Users: users})
}

type adminSuspendPage struct {
	Page
	Target      store.User
	Reason      string
	ReasonError string
	// Refusal says why the account cannot be suspended; the page then has
	// no form.
	Refusal string
}

// maxReasonRunes bounds the reason for a suspension.
const maxReasonRunes = 500

// adminUserInPath loads the account named in the URL, answering 404 when
// there is none.
func (h *Handler) adminUserInPath(w http.ResponseWriter, r *http.Request) (store.User, bool) {
	id, ok := pathID(r)
	if !ok {
		h.notFound(w, r)
		return store.User{}, false
	}
	u, err := h.store.UserByID(r.Context(), id)
	if err != nil {
		h.storeError(w, r, err)
		return store.User{}, false
	}
	return u, true
}

// adminSuspendPage asks the operator to confirm a suspension, and why.
func (h *Handler) adminSuspendPage(w http.ResponseWriter, r *http.Request) {
	u, ok := h.adminUserInPath(w, r)
	if !ok {
		return
	}
	data := adminSuspendPage{Page: h.page(r, "Suspend "+u.Email), Target: u}
	if ref, refused := refusalFor(moderating, facts{err: u.CanBeSuspendedBy(currentUser(r).ID)}); refused {
		data.Refusal = ref.message
	}
	h.render(w, r, http.StatusOK, templates.AdminSuspend, data)
}

func (h *Handler) adminSuspendUser(w http.ResponseWriter, r *http.Request) {
	u, ok := h.adminUserInPath(w, r)
	if !ok || !h.parseForm(w, r) {
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	refuse := func(status int, data adminSuspendPage) {
		data.Page, data.Target, data.Reason = h.page(r, "Suspend "+u.Email), u, reason
		h.render(w, r, status, templates.AdminSuspend, data)
	}
	if problem := textProblem("reason", reason, maxReasonRunes); problem != "" {
		refuse(http.StatusUnprocessableEntity, adminSuspendPage{ReasonError: problem})
		return
	}
	released, err := h.store.SuspendUser(r.Context(), currentUser(r).ID, u.ID, reason, h.now())
	if err != nil {
		h.refuseModeration(w, r, err, func(message string, status int) {
			refuse(status, adminSuspendPage{Refusal: message})
		})
		return
	}
	h.live.Publish(live.Any)
	h.sessions.Put(r.Context(), sessionFlash, u.Email+" is suspended: signed out everywhere, their listings off sale, "+
		holdsReleased(released)+".")
	redirect(w, r, adminUserPath(u.Email))
}

func holdsReleased(n int) string {
	if n == 1 {
		return "1 hold released"
	}
	return strconv.Itoa(n) + " holds released"
}

func (h *Handler) adminReinstateUser(w http.ResponseWriter, r *http.Request) {
	u, ok := h.adminUserInPath(w, r)
	if !ok || !h.parseForm(w, r) {
		return
	}
	if err := h.store.ReinstateUser(r.Context(), currentUser(r).ID, u.ID, h.now()); err != nil {
		h.storeError(w, r, err)
		return
	}
	h.live.Publish(live.Any)
	h.sessions.Put(r.Context(), sessionFlash, u.Email+" is reinstated: they may sign in again, and their listings are back on sale.")
	redirect(w, r, adminUserPath(u.Email))
}

// adminUserPath is the users page searched for one account.
func adminUserPath(email string) string { return "/admin/users?q=" + url.QueryEscape(email) }

type adminLogPage struct {
	Page
	Log []store.ModerationEntry
}

// adminLog shows who did what, and when, newest first.
func (h *Handler) adminLog(w http.ResponseWriter, r *http.Request) {
	log, err := h.store.ModerationLog(r.Context(), moderationLogSize)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, templates.AdminLog, adminLogPage{Page: h.page(r, "Moderation log"), Log: log})
}
