package handlers

import (
	"errors"
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

// FieldErrors maps a form field's name to the message shown beside it.
type FieldErrors map[string]string

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
	Errors   FieldErrors
}

func readAccountForm(r *http.Request) AccountForm {
	email := strings.TrimSpace(r.PostFormValue("email"))
	if normal, err := store.NormalizeEmail(email); err == nil {
		email = normal
	}
	return AccountForm{
		Email:    email,
		Password: r.PostFormValue("password"),
		Errors:   FieldErrors{},
	}
}

// validateSignup checks a new account's email and password.
func (f *AccountForm) validateSignup() {
	f.validateEmail()
	switch {
	case utf8.RuneCountInString(f.Password) < 8:
		f.Errors["password"] = "Use at least 8 characters."
	case len(f.Password) > 72:
		f.Errors["password"] = "Use at most 72 bytes (bcrypt's limit)."
	}
}

func (f *AccountForm) validateEmail() {
	if problem := emailProblem(f.Email); problem != "" {
		f.Errors["email"] = problem
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
	Errors FieldErrors

	price int64 // minor units, once valid
}

func readTicketForm(r *http.Request) TicketForm {
	f := TicketForm{
		Title:  strings.TrimSpace(r.PostFormValue("title")),
		Price:  strings.TrimSpace(r.PostFormValue("price")),
		Errors: FieldErrors{},
	}
	switch n := utf8.RuneCountInString(f.Title); {
	case !utf8.ValidString(f.Title) || strings.ContainsFunc(f.Title, unicode.IsControl):
		f.Errors["title"] = "The title contains characters that are not valid text."
	case n == 0:
		f.Errors["title"] = "Enter a title."
	case n > 120:
		f.Errors["title"] = "Use at most 120 characters."
	}
	price, err := money.ParsePrice(f.Price)
	if err != nil {
		f.Errors["price"] = sentence(err.Error())
	}
	f.price = price
	return f
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
