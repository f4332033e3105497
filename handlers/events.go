package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/templates"
)

// eventsPerPage is the length of a page of the home page's events.
const eventsPerPage = 20

// dateLayout is a date input's value.
const dateLayout = "2006-01-02"

// Bounds of the home page's search; the words past the last are left out.
const (
	maxSearchRunes = 200
	maxSearchWords = 10
)

// eventFilter is what the home page lists: events whose name, venue, city or
// listing notes have the words of Query, starting from the day From to the
// day To, both included, in the default time zone, in the order Sort. The
// search and the dates are kept as typed; a search too long, or a date that
// cannot be read, is explained beside its field, and the date left out of
// the search.
type eventFilter struct {
	Query, From, To                string
	Sort                           store.EventSort // "" for the default order
	QueryError, FromError, ToError string
	query                          store.EventQuery
}

func readEventFilter(v url.Values, zone *time.Location) eventFilter {
	f := eventFilter{From: formText(v, "from"), To: formText(v, "to")}
	f.Query, f.query.Search, f.QueryError = readSearch(v.Get("q"))
	f.Sort = readSort(v.Get("sort"), f.Searching())
	f.query.Sort = f.Sort
	var from, to time.Time
	from, f.FromError = parseDay(f.From, zone)
	to, f.ToError = parseDay(f.To, zone)
	if f.ToError == "" && f.FromError == "" && !from.IsZero() && !to.IsZero() && to.Before(from) {
		f.ToError = "Enter a date on or after the first date."
	}
	if f.FromError == "" {
		f.query.From = from
	}
	if f.ToError == "" && !to.IsZero() {
		f.query.To = to.AddDate(0, 0, 1) // the store's range ends before To
	}
	return f
}

// readSearch reads the search box: the query as typed, cut to
// maxSearchRunes, and the words searched for, the first maxSearchWords of
// it; with a message when either bound left something out.
func readSearch(typed string) (query, search, problem string) {
	query, cut := cutRunes(cleanSearch(typed), maxSearchRunes)
	words := store.SearchWords(query)
	if len(words) > maxSearchWords {
		words, cut = words[:maxSearchWords], true
	}
	search = strings.Join(words, " ")
	if cut {
		problem = fmt.Sprintf("Only the first %d words (and %d characters) are searched for.", maxSearchWords, maxSearchRunes)
	}
	return query, search, problem
}

// readSort reads the order chosen, keeping "" for the default one: by
// relevance when searching, else by date.
func readSort(s string, searching bool) store.EventSort {
	switch sort := store.EventSort(s); sort {
	case store.SortPrice:
		return sort
	case store.SortDate:
		if searching {
			return sort
		}
	}
	return ""
}

// parseDay reads a date as the start of that day in zone; "" is no date.
func parseDay(s string, zone *time.Location) (time.Time, string) {
	if s == "" {
		return time.Time{}, ""
	}
	day, err := time.ParseInLocation(dateLayout, s, zone)
	if err != nil {
		return time.Time{}, "Enter a date like 2026-12-31."
	}
	return day, ""
}

// Searching reports whether the search has words to look for.
func (f eventFilter) Searching() bool { return f.query.Search != "" }

// sortChoice is an order the home page offers.
type sortChoice struct {
	Value    store.EventSort
	Label    string
	Selected bool
}

// Sorts are the orders to choose from, the default first: relevance when
// searching, else date.
func (f eventFilter) Sorts() []sortChoice {
	choices := []sortChoice{{Label: "Date"}}
	if f.Searching() {
		choices = []sortChoice{{Label: "Relevance"}, {Value: store.SortDate, Label: "Date"}}
	}
	choices = append(choices, sortChoice{Value: store.SortPrice, Label: "Price"})
	for i := range choices {
		choices[i].Selected = choices[i].Value == f.Sort
	}
	return choices
}

// valid reports whether every date could be read.
func (f eventFilter) valid() bool { return f.FromError == "" && f.ToError == "" }

// Dated reports whether the filter names a date, valid or not: the page
// then shows the date fields open.
func (f eventFilter) Dated() bool { return f.From != "" || f.To != "" }

// url is the home page showing the filter's events, at page number.
func (f eventFilter) url(number int) string {
	v := url.Values{}
	if f.Query != "" {
		v.Set("q", f.Query)
	}
	if f.From != "" && f.FromError == "" {
		v.Set("from", f.From)
	}
	if f.To != "" && f.ToError == "" {
		v.Set("to", f.To)
	}
	if f.Sort != "" {
		v.Set("sort", string(f.Sort))
	}
	if number > 1 {
		v.Set("page", strconv.Itoa(number))
	}
	if len(v) == 0 {
		return "/"
	}
	return "/?" + v.Encode()
}

type homePage struct {
	Page
	Filter     eventFilter
	Events     []store.EventSummary
	PageNumber int
	URL        string // this page's own address, which it re-fetches when tickets change
	PrevURL    string
	NextURL    string
	// Shared is set for the list everyone sees first (no search, the first
	// page): the page then takes the rendering every such page shares from
	// /events/live, instead of fetching its list again when tickets change.
	Shared bool
}

// home lists the upcoming events, soonest first, with how many tickets are on
// sale for each and from what price.
func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	filter := readEventFilter(r.URL.Query(), h.cfg.DefaultTimeZone)
	number, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || number < 1 || number > 1_000_000 {
		number = 1
	}
	// Everyone signed out sees the same page in their locale, so it is kept
	// (see listingCache) unless there is a message for them to see once, or a
	// date they typed wrong.
	key := listingKey{url: filter.url(number), fragment: isHTMX(r), locale: readerLocale(r), inlineCSS: !isHTMX(r) && inlineCSS(r)}
	now := h.now()
	cached := currentUser(r) == nil && !h.sessions.Exists(r.Context(), sessionFlash) && filter.valid()
	var version store.ListingVersion
	if cached {
		if version, err = h.store.ListingVersion(r.Context(), now); err != nil {
			h.serverError(w, r, err)
			return
		}
	}
	if cached {
		if page, ok := h.listing.get(key, version); ok {
			h.rememberCSS(w, r)
			page.write(w, r, http.StatusOK)
			return
		}
	}
	data, err := h.homeEvents(r.Context(), h.page(r, "Upcoming events"), filter, number)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	body, ok := h.renderBody(w, r, templates.HomeListing, data)
	if !ok {
		return
	}
	h.rememberCSS(w, r)
	if cached {
		page := &keptPage{plain: body}
		h.listing.put(key, version, page)
		page.write(w, r, http.StatusOK)
		return
	}
	writeHTML(w, r, http.StatusOK, body)
}

// homeEvents is the home page's list of the filter's events at page number.
func (h *Handler) homeEvents(ctx context.Context, p Page, filter eventFilter, number int) (homePage, error) {
	// One extra row tells whether there is a next page.
	events, err := h.store.UpcomingEvents(ctx, p.Now, filter.query, eventsPerPage+1, (number-1)*eventsPerPage)
	if err != nil {
		return homePage{}, err
	}
	data := homePage{Page: p, Filter: filter, Events: events, PageNumber: number, URL: filter.url(number)}
	if len(events) > eventsPerPage {
		data.Events = events[:eventsPerPage]
		data.NextURL = filter.url(number + 1)
	}
	if number > 1 {
		data.PrevURL = filter.url(number - 1)
	}
	data.Shared = data.URL == "/"
	return data, nil
}

type eventPage struct {
	Page
	Event    store.Event
	Listings []eventListing
	Closed   bool // the event has started: sales are closed
	Hold     string
	MaxHolds int // tickets one buyer may hold at once; 0: no limit
	Alert    alertForm
	// Shared is set when the listings are what any signed-out reader sees
	// (none is the reader's own, the event is not hidden): the page then
	// takes the rendering that every such page shares from
	// /events/{id}/live, instead of fetching its listings again when
	// tickets change.
	Shared bool
}

// alertForm is the "tell me when tickets are listed" form as sent back.
type alertForm struct {
	MaxPrice string
	Error    string
}

// eventListing is one listing of an event's page.
type eventListing struct {
	store.Listing
	Is         availability // named: Listing has methods Held and State too
	Mine       bool         // the viewer's own listing
	Quantities quantities   // how many tickets the viewer may buy at once
}

// showEvent shows an event and its listings, cheapest first. A hidden event
// is 404, except to operators; a merged one leads to the event it was merged
// into.
func (h *Handler) showEvent(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	id, ok := pathID(r)
	if !ok {
		h.notFound(w, r)
		return
	}
	e, err := h.store.Event(r.Context(), id)
	switch {
	case err != nil:
		h.storeError(w, r, err)
		return
	case e.MergedInto != 0:
		http.Redirect(w, r, eventPath(e.MergedInto), http.StatusMovedPermanently)
		return
	case !e.HiddenAt.IsZero() && !h.isAdmin(currentUser(r)):
		h.notFound(w, r)
		return
	}
	h.renderEvent(w, r, e, http.StatusOK, alertForm{})
}

// renderEvent renders an event's page with its alert form as given.
func (h *Handler) renderEvent(w http.ResponseWriter, r *http.Request, e store.Event, status int, alert alertForm) {
	data, err := h.eventListings(r.Context(), eventPage{Page: h.page(r, e.Name), Event: e, Alert: alert})
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, status, templates.EventListings, data)
}

// eventListings adds the event's listings to its page, as the page's reader
// (signed out when data.User is nil) sees them.
func (h *Handler) eventListings(ctx context.Context, data eventPage) (eventPage, error) {
	listings, err := h.store.EventListings(ctx, data.Event.ID, data.Now)
	if err != nil {
		return data, err
	}
	data.Closed, data.Hold, data.MaxHolds = data.Event.Started(data.Now), formatDuration(h.cfg.OrderHold), h.store.MaxHolds()
	data.Shared = data.Event.HiddenAt.IsZero()
	for _, l := range listings {
		mine := data.User != nil && data.User.ID == l.SellerID
		el := eventListing{Listing: l, Is: availabilityOf(l.State(data.Now)), Mine: mine}
		if !mine {
			el.Quantities = quantitiesOf(l, data.Now, data.MaxHolds)
		}
		data.Shared = data.Shared && !mine
		data.Listings = append(data.Listings, el)
	}
	return data, nil
}

func eventPath(id int64) string { return "/events/" + strconv.FormatInt(id, 10) }

// quantities are how many tickets a buyer may choose to buy at once.
type quantities []int

// Only is the one quantity there is to choose, or 0 when there are several
// (or none).
func (q quantities) Only() int {
	if len(q) != 1 {
		return 0
	}
	return q[0]
}

// Most is the largest quantity, or 0 when there is none.
func (q quantities) Most() int {
	if len(q) == 0 {
		return 0
	}
	return q[len(q)-1]
}

// quantitiesOf are the quantities a buyer may choose of l at now: all of its
// free tickets if it is sold together, else 1 up to what is free and the
// hold limit allows; none when it is not for sale.
func quantitiesOf(l store.Listing, now time.Time, maxHolds int) quantities {
	least, most := l.Buyable(now)
	if most == 0 {
		return nil
	}
	if maxHolds > 0 && !l.Together {
		most = min(most, maxHolds)
	}
	choices := make(quantities, 0, most-least+1)
	for n := least; n <= most; n++ {
		choices = append(choices, n)
	}
	return choices
}

// pickerSize is how many events the sell form's picker offers at once.
const pickerSize = 8

// pickerEvents are the upcoming events matching find, soonest first, with
// the event picked first if it is listed and not among them.
func (h *Handler) pickerEvents(ctx context.Context, find string, picked int64, now time.Time) ([]store.Event, error) {
	found, err := h.store.UpcomingEvents(ctx, now, store.EventQuery{Search: find}, pickerSize, 0)
	if err != nil {
		return nil, err
	}
	var events []store.Event
	for _, es := range found {
		if es.ID == picked {
			picked = 0
		}
		events = append(events, es.Event)
	}
	if picked == 0 {
		return events, nil
	}
	e, err := h.store.Event(ctx, picked)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return events, nil
	case err != nil:
		return nil, err
	case !e.Listed() || e.Started(now):
		return events, nil
	}
	return append([]store.Event{e}, events...), nil
}

// checkPickedEvent checks that the event picked for new tickets is listed and
// has not started, saying why beside the picker when it is not.
func (h *Handler) checkPickedEvent(ctx context.Context, form *TicketForm, now time.Time) error {
	if form.listing.EventID == 0 {
		return nil
	}
	e, err := h.store.Event(ctx, form.listing.EventID)
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && !e.Listed()):
		form.Errors.EventID = eventNotListed
	case err != nil:
		return err
	case e.Started(now):
		form.Errors.EventID = eventStarted
	}
	return nil
}
