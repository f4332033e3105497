package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/eventhive/eventhive/money"
	"github.com/eventhive/eventhive/store"
)

// maxFormBytes bounds every form body; the largest field is a 120-character
// title.
const maxFormBytes = 16 << 10

// parseForm reads a form body of bounded size. It reports false, having
// answered the request, when the body is unreadable.
func (h *Handler) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
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
	switch {
	case utf8.RuneCountInString(f.Password) < 8:
		f.Errors.Password = "Use at least 8 characters."
	case len(f.Password) > 72:
		f.Errors.Password = "Use at most 72 bytes (bcrypt's limit)."
	}
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

// TicketForm is the form that lists or edits a ticket.
type TicketForm struct {
	Title  string
	Price  string
	Errors TicketErrors

	price int64 // minor units, once valid
}

// TicketErrors are the messages shown beside the ticket form's fields.
type TicketErrors struct {
	Title, Price string
}

// Any reports whether there is a message to show.
func (e TicketErrors) Any() bool { return e != TicketErrors{} }

func readTicketForm(r *http.Request) TicketForm {
	f := TicketForm{
		Title: strings.TrimSpace(r.PostFormValue("title")),
		Price: strings.TrimSpace(r.PostFormValue("price")),
	}
	f.Errors.Title = textProblem("title", f.Title, 120)
	price, err := money.ParsePrice(f.Price)
	if err != nil {
		f.Errors.Price = sentence(err.Error())
	}
	f.price = price
	return f
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
	q = strings.ToValidUTF8(q, "")
	q = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, q)
	if runes := []rune(strings.TrimSpace(q)); len(runes) > 100 {
		return string(runes[:100])
	}
	return strings.TrimSpace(q)
}

// sentence capitalises a lowercase error message and ends it with a period.
func sentence(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:] + "."
}
