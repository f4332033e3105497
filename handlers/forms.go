package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/eventhive/eventhive/money"
	"github.com/eventhive/eventhive/store"
)

// maxFormBytes bounds every form body; the largest field is a 200-character
// note.
const maxFormBytes = 16 << 10

// parseForm reads a form body of bounded size. It reports false, having
// answered the request, when the body is unreadable.
func (h *Handler) parseForm(w http.ResponseWriter, r *http.Request) bool {
	return h.parseFormUpTo(w, r, maxFormBytes)
}

// parseFormUpTo is parseForm for a form of at most limit bytes.
func (h *Handler) parseFormUpTo(w http.ResponseWriter, r *http.Request, limit int64) bool {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	err := r.ParseForm()
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		h.renderError(w, r, http.StatusRequestEntityTooLarge, "Form too large",
			"The form was larger than EventHive accepts. Please go back and shorten what you entered.")
		return false
	case err != nil:
		h.renderError(w, r, http.StatusBadRequest, "Bad request", "The form could not be read. Please go back and try again.")
		return false
	}
	return true
}

// AccountForm is the sign-up and sign-in form.
type AccountForm struct {
	Email    string
	Password string
	Errors   AccountErrors
}

// AccountErrors are the messages an account form shows: one beside each
// field, and Form above the whole form.
type AccountErrors struct {
	Form, Email, Password string
}

// Any reports whether there is a message to show.
func (e AccountErrors) Any() bool { return e != AccountErrors{} }

func readAccountForm(r *http.Request) AccountForm {
	email := strings.TrimSpace(r.PostFormValue("email"))
	if normal, err := store.NormalizeEmail(email); err == nil {
		email = normal
	}
	return AccountForm{
		Email:    email,
		Password: r.PostFormValue("password"),
	}
}

// validateSignup checks a new account's email and password.
func (f *AccountForm) validateSignup() {
	f.Errors.Email = emailProblem(f.Email)
	f.Errors.Password = passwordProblem(f.Password)
}

// passwordProblem says what is wrong with a new password, or returns "".
func passwordProblem(password string) string {
	switch {
	case utf8.RuneCountInString(password) < 8:
		return "Use at least 8 characters."
	case len(password) > 72:
		return "Use at most 72 bytes (bcrypt's limit)."
	}
	return ""
}

// emailProblem says what is wrong with an email address, or returns "" when
// it is one an account can have (see store.NormalizeEmail).
func emailProblem(email string) string {
	_, err := store.NormalizeEmail(email)
	switch {
	case email == "":
		return "Enter your email address."
	case errors.Is(err, store.ErrEmailLocalPart):
		return "Use only plain ASCII letters, digits and punctuation before the @, with no accents or other alphabets."
	case err != nil:
		return "Enter a valid email address, like name@example.com."
	}
	return ""
}

// Limits of a listing's free-text fields, in characters.
const (
	maxEventText = 120 // an event's name, venue or city
	maxNote      = 200
)

// TicketForm is the form that lists tickets, under an event picked from the
// upcoming ones or a new one, and that edits a listing. Its fields are kept
// as typed, so that a form with errors shows them again.
type TicketForm struct {
	// EventID is the event picked; "" for a new event, which EventName,
	// Venue, City, StartsAt and TimeZone describe.
	EventID   string
	EventName string
	Venue     string
	City      string
	StartsAt  string // YYYY-MM-DDTHH:MM, local to TimeZone; "" for a date to be announced
	TimeZone  string // an IANA name
	// CheckinWithEventHive: the new event's tickets are EventHive passes,
	// checked in at the door by their seller, its organizer.
	CheckinWithEventHive bool

	Price     string
	FaceValue string // "" for a new listing: at face value
	Quantity  string
	Note      string
	Together  bool

	Errors TicketErrors

	listing store.NewListing // once valid
}

// TicketErrors are the messages shown beside the ticket form's fields.
type TicketErrors struct {
	EventID, EventName, Venue, City, StartsAt, TimeZone string
	Price, FaceValue, Quantity, Note, Together          string
}

// Any reports whether there is a message to show.
func (e TicketErrors) Any() bool { return e != TicketErrors{} }

// listingRules are what a listing's fields are checked against besides their
// own format.
type listingRules struct {
	now      time.Time
	zone     *time.Location // a new event's, unless the form names another
	maxHolds int            // tickets one buyer may hold at once; 0: no limit
	cap      money.Cap
	currency string
}

func (h *Handler) listingRules() listingRules {
	return listingRules{now: h.now(), zone: h.cfg.DefaultTimeZone, maxHolds: h.store.MaxHolds(),
		cap: h.cfg.ResaleCap, currency: h.cfg.Currency}
}

// readTicketForm reads the form that lists tickets: posted, or sent by its
// Find button to search for the event.
func readTicketForm(v url.Values, rules listingRules) TicketForm {
	f := TicketForm{
		EventID:   formText(v, "event_id"),
		EventName: formText(v, "event_name"),
		Venue:     formText(v, "venue"),
		City:      formText(v, "city"),
		StartsAt:  formText(v, "starts_at"),
		TimeZone:  formText(v, "time_zone"),
		Price:     formText(v, "price"),
		FaceValue: formText(v, "face_value"),
		Quantity:  formText(v, "quantity"),
		Note:      noteOf(v),
		Together:  checked(v, "together"),

		CheckinWithEventHive: checked(v, "checkin_with_eventhive"),
	}
	if f.TimeZone == "" {
		f.TimeZone = rules.zone.String()
	}
	if f.Quantity == "" {
		f.Quantity = "1"
	}
	if f.EventID == "" && f.EventName+f.Venue+f.City+f.StartsAt == "" && !v.Has("note") {
		// Wave 1's form, a title and a price: the title names a new
		// event, its date to be announced.
		f.EventName, f.Note = f.Note, ""
	}
	return f
}

// editForm is the form that edits l, filled in with what it is now.
func editForm(l store.Listing) TicketForm {
	return TicketForm{Price: money.Format(l.Price), FaceValue: money.Format(l.FaceValue),
		Quantity: strconv.Itoa(l.Quantity), Note: l.Note, Together: l.Together}
}

// readListingEdit reads the edit of listing l. A field left out keeps what
// it was, so that a script may change the price alone.
func readListingEdit(v url.Values, l store.Listing) TicketForm {
	f := editForm(l)
	f.Price = formText(v, "price")
	if face := formText(v, "face_value"); face != "" {
		f.FaceValue = face
	}
	if quantity := formText(v, "quantity"); quantity != "" {
		f.Quantity = quantity
	}
	if v.Has("note") || v.Has("title") {
		f.Note = noteOf(v)
	}
	if v.Has("together") {
		f.Together = checked(v, "together")
	}
	return f
}

// formText is a form field's value without surrounding space.
func formText(v url.Values, name string) string { return strings.TrimSpace(v.Get(name)) }

// noteOf reads the note, which wave 1's form called the title.
func noteOf(v url.Values) string {
	if v.Has("note") {
		return formText(v, "note")
	}
	return formText(v, "title")
}

// checked reports whether a checkbox is ticked. The form sends a hidden "0"
// before it, so that an edit can tell unticked from left out.
func checked(v url.Values, name string) bool {
	return slices.ContainsFunc(v[name], func(s string) bool {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "1", "on", "true", "yes":
			return true
		}
		return false
	})
}

// checkNew checks the fields of new tickets. An event picked by id is
// checked against the store by the handler.
func (f *TicketForm) checkNew(rules listingRules) {
	f.checkEvent(rules)
	f.checkOffer(rules)
	f.listing.Currency = rules.currency
}

func (f *TicketForm) checkEvent(rules listingRules) {
	if f.EventID != "" {
		if f.listing.EventID = positiveID(f.EventID); f.listing.EventID == 0 {
			f.Errors.EventID = "Pick an event from the list."
		}
		return
	}
	e := store.NewEvent{Name: f.EventName, Venue: f.Venue, City: f.City, CheckinWithEventHive: f.CheckinWithEventHive}
	if f.EventName == "" {
		f.Errors.EventName = "Enter the event’s name, or pick an event above."
	} else {
		f.Errors.EventName = textProblem("name", f.EventName, maxEventText)
	}
	f.Errors.Venue = optionalText("venue", f.Venue, maxEventText)
	f.Errors.City = optionalText("city", f.City, maxEventText)
	loc, ok := loadZone(f.TimeZone)
	if !ok {
		f.Errors.TimeZone = "Enter a time zone from the list, such as Europe/Paris."
	} else if f.StartsAt != "" {
		e.StartsAt, f.Errors.StartsAt = parseStart(f.StartsAt, loc, rules.now)
	}
	e.TimeZone = loc.String()
	f.listing.Event = e
}

// checkOffer checks the price, face value, quantity, note and sell-together
// flag, new or edited.
func (f *TicketForm) checkOffer(rules listingRules) {
	var err error
	if f.listing.Price, err = money.ParsePrice(f.Price); err != nil {
		f.Errors.Price = sentence(err.Error())
	}
	face := f.FaceValue
	if face == "" {
		face = f.Price
	}
	if f.listing.FaceValue, err = money.ParsePrice(face); err != nil && f.FaceValue != "" {
		f.Errors.FaceValue = sentence(strings.Replace(err.Error(), "price", "face value", 1))
	}
	f.listing.Quantity, f.Errors.Quantity = parseQuantity(f.Quantity)
	f.Errors.Note = optionalText("note", f.Note, maxNote)
	f.listing.Note, f.listing.Together = f.Note, f.Together
	if f.Together && rules.maxHolds > 0 && f.listing.Quantity > rules.maxHolds {
		f.Errors.Together = fmt.Sprintf("A buyer may hold at most %d tickets at once, so at most %d can be sold together.",
			rules.maxHolds, rules.maxHolds)
	}
	if f.Errors.Price == "" && f.Errors.FaceValue == "" {
		if most, capped := rules.cap.Max(f.listing.FaceValue); capped && f.listing.Price > most {
			f.Errors.Price = capProblem(most, rules)
		}
	}
}

// checkClaimed refuses an edit of l that would change what buyers hold or
// bought: its face value, whether it is sold together, or fewer tickets than
// they have.
func (f *TicketForm) checkClaimed(l store.Listing) {
	claimed := l.Quantity - l.Free
	if claimed == 0 {
		return
	}
	if f.Errors.FaceValue == "" && f.listing.FaceValue != l.FaceValue {
		f.Errors.FaceValue = "Buyers hold or bought some of these tickets, so their face value stays as it is."
	}
	if f.Together != l.Together {
		f.Errors.Together = "Buyers hold or bought some of these tickets, so this stays as it is."
	}
	if f.Errors.Quantity == "" && f.listing.Quantity < claimed {
		f.Errors.Quantity = fmt.Sprintf("Buyers hold or bought %s: keep at least %d.", ticketCount(claimed), claimed)
	}
}

// edit is the valid form as an edit of a listing.
func (f *TicketForm) edit() store.ListingEdit {
	n := f.listing
	return store.ListingEdit{Price: n.Price, FaceValue: n.FaceValue, Quantity: n.Quantity, Note: n.Note, Together: n.Together}
}

// storeRefused shows beside its field a refusal of the store that the form's
// checks could not foresee: a cap the store applies, or an event that
// closed or left the market meanwhile. It reports false for any other error.
func (f *TicketForm) storeRefused(err error, rules listingRules) bool {
	switch {
	case f.overCap(err, rules):
	case errors.Is(err, store.ErrEventStarted) && f.EventID != "":
		f.Errors.EventID = eventStarted
	case errors.Is(err, store.ErrEventStarted):
		f.Errors.StartsAt = startInPast
	case errors.Is(err, store.ErrNotFound) && f.EventID != "":
		f.Errors.EventID = eventNotListed
	default:
		return false
	}
	return true
}

// overCap shows beside the price the store's refusal of a price over its
// cap, reporting false for any other error.
func (f *TicketForm) overCap(err error, rules listingRules) bool {
	var over *store.PriceCapError
	if !errors.As(err, &over) {
		return false
	}
	f.Errors.Price = capProblem(over.Max, rules)
	return true
}

// Messages about the event of new tickets.
const (
	eventStarted   = "This event has started: its sales are closed. Pick another."
	eventNotListed = "This event is no longer listed. Pick another."
	startInPast    = "Enter a start in the future: sales close when the event starts."
)

// capProblem names the highest price the resale cap allows, and the cap.
func capProblem(most int64, rules listingRules) string {
	words := ""
	if _, capped := rules.cap.Max(0); capped {
		words = " (" + rules.cap.String() + ")"
	}
	return fmt.Sprintf("The highest price allowed is %s %s%s.", money.Format(most), strings.ToUpper(rules.currency), words)
}

// parseQuantity reads how many tickets: 1 when empty.
func parseQuantity(s string) (int, string) {
	if s == "" {
		return 1, ""
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > store.MaxQuantity {
		return 0, fmt.Sprintf("Choose from 1 to %d tickets.", store.MaxQuantity)
	}
	return n, ""
}

// localMinute is how a datetime-local input writes an event's local start;
// some browsers add seconds.
const localMinute = "2006-01-02T15:04"

// localStart reads a start typed as local time in loc; empty is "to be
// announced", the zero time. A time that the zone skips (clocks go forward)
// is refused rather than moved.
func localStart(s string, loc *time.Location) (time.Time, string) {
	if s == "" {
		return time.Time{}, ""
	}
	t, err := time.ParseInLocation(localMinute, s, loc)
	if err != nil {
		if t, err = time.ParseInLocation(localMinute+":05", s, loc); err != nil {
			return time.Time{}, "Enter the start as date and time, like 2030-06-21T20:00, or leave it empty if the date is to be announced."
		}
	}
	if !strings.HasPrefix(s, t.Format(localMinute)) {
		return time.Time{}, "This time does not exist in " + loc.String() + ": the clocks skip it."
	}
	return t, ""
}

// parseStart reads a new event's start, local to loc; it must be after now.
func parseStart(s string, loc *time.Location, now time.Time) (time.Time, string) {
	t, problem := localStart(s, loc)
	if problem == "" && !t.IsZero() && !t.After(now) {
		return time.Time{}, startInPast
	}
	return t, problem
}

// loadZone loads an event's time zone by its IANA name. It refuses "Local"
// (the server's zone, not an event's) and names of characters no zone has,
// before asking the zone database.
func loadZone(name string) (*time.Location, bool) {
	if name == "" || name == "Local" || len(name) > 64 || strings.ContainsFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/_+-", r))
	}) {
		return time.UTC, false
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC, false
	}
	return loc, true
}

// commonZones are the time zones the form suggests; any other IANA name may
// be typed.
var commonZones = []string{
	"UTC", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Brussels", "Europe/Amsterdam",
	"Europe/Berlin", "Europe/Madrid", "Europe/Rome", "Europe/Oslo", "Europe/Stockholm", "Europe/Warsaw",
	"Europe/Athens", "Europe/Helsinki", "Europe/Istanbul", "America/New_York", "America/Chicago", "America/Denver",
	"America/Los_Angeles", "America/Toronto", "America/Mexico_City", "America/Sao_Paulo",
	"America/Argentina/Buenos_Aires", "Africa/Lagos", "Africa/Johannesburg", "Asia/Dubai", "Asia/Kolkata",
	"Asia/Singapore", "Asia/Shanghai", "Asia/Seoul", "Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland",
}

// optionalText is textProblem for a field that may be left empty.
func optionalText(field, s string, maxRunes int) string {
	if s == "" {
		return ""
	}
	return textProblem(field, s, maxRunes)
}

// ticketCount writes a number of tickets: "1 ticket", "3 tickets".
func ticketCount(n int) string {
	if n == 1 {
		return "1 ticket"
	}
	return strconv.Itoa(n) + " tickets"
}

// textProblem says what is wrong with the trimmed value of a free-text
// field (a title, a name, a note), or returns "" when it may be stored.
// field names it in the messages; maxRunes bounds its length. Besides
// invalid bytes and control characters it refuses bidirectional controls
// anywhere, which reorder the text around them (a title could then read as
// something else), and text with nothing visible in it (U+200B, U+3164 and
// the like), which would make a blank listing.
func textProblem(field, s string, maxRunes int) string {
	switch {
	case !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl):
		return "The " + field + " contains characters that are not valid text."
	case strings.ContainsFunc(s, isBidiControl):
		return "The " + field + " contains invisible characters that change the direction of text. Please remove them."
	case s == "":
		return "Enter a " + field + "."
	case !strings.ContainsFunc(s, isVisible):
		return "The " + field + " has no visible characters."
	case utf8.RuneCountInString(s) > maxRunes:
		return fmt.Sprintf("Use at most %d characters.", maxRunes)
	}
	return ""
}

// isBidiControl reports U+061C, U+200E, U+200F, U+202A–U+202E and
// U+2066–U+2069.
func isBidiControl(r rune) bool { return unicode.Is(unicode.Bidi_Control, r) }

// isVisible reports whether a character shows on its own: not white space,
// not a format or control character, not a combining mark or variation
// selector (nothing without a base), not one of the default-ignorable
// fillers (U+115F, U+3164, U+FFA0 and so on) nor the blank braille pattern.
func isVisible(r rune) bool {
	return !unicode.IsSpace(r) && r != '\u2800' &&
		!unicode.In(r, unicode.Zs, unicode.Cc, unicode.Cf, unicode.Mn, unicode.Me,
			unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)
}

// searchText cleans a search query: valid UTF-8 without control characters,
// at most 100 characters.
func searchText(q string) string {
	q, _ = cutRunes(cleanSearch(q), 100)
	return q
}

// cleanSearch is a search query as valid UTF-8 without control characters
// nor surrounding space.
func cleanSearch(q string) string {
	q = strings.ToValidUTF8(q, "")
	q = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, q)
	return strings.TrimSpace(q)
}

// cutRunes keeps the first n characters of s, without trailing space, and
// reports whether it cut any.
func cutRunes(s string, n int) (string, bool) {
	if runes := []rune(s); len(runes) > n {
		return strings.TrimSpace(string(runes[:n])), true
	}
	return s, false
}

// sentence capitalises a lowercase error message and ends it with a period.
func sentence(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:] + "."
}
