package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/templates"
)

type accountPage struct {
	Page
	Form AccountForm
	// Next is where signing in or up leads: a local path, or "" for home.
	Next string
	// Buy is the ticket the visitor pressed Buy on before being sent to
	// sign in, or 0: signing in or up holds it for them (resumePurchase).
	// BuyTicket is that ticket, for the page to name; Quantity how many of
	// its tickets, when more than one.
	Buy       int64
	BuyTicket *store.Listing
	Quantity  int
}

// Query is the page's query string, "" or starting with "?": what the link
// between the sign-in and sign-up pages carries along.
func (p accountPage) Query() string {
	v := url.Values{}
	if p.Next != "" {
		v.Set("next", p.Next)
	}
	if p.Buy != 0 {
		v.Set("buy", strconv.FormatInt(p.Buy, 10))
	}
	if p.Quantity > 1 {
		v.Set("quantity", strconv.Itoa(p.Quantity))
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// accountData returns the data of the sign-in or sign-up page, which leads
// to the form's or the URL's next address.
func (h *Handler) accountData(r *http.Request, title string, form AccountForm) accountPage {
	p := accountPage{Page: h.page(r, title), Form: form, Buy: positiveID(r.FormValue("buy"))}
	if p.Buy != 0 {
		p.Quantity = purchaseQuantity(r.FormValue("quantity"))
	}
	if next := r.FormValue("next"); next != "" {
		p.Next = localPath(next)
	}
	return p
}

// accountPage is the sign-in or sign-up page as a GET shows it: naming the
// ticket the visitor is about to buy, if any (a ticket that does not exist
// is dropped), and saying hint to a visitor sent here by requireUser.
func (h *Handler) accountPage(w http.ResponseWriter, r *http.Request, view templates.View, title, hint string) {
	p := h.accountData(r, title, AccountForm{})
	if r.URL.Query().Has("next") && p.Flash == "" {
		p.Flash = hint
	}
	if p.Buy != 0 {
		t, err := h.store.Listing(r.Context(), p.Buy, h.now())
		switch {
		case err == nil:
			p.BuyTicket = &t
		case errors.Is(err, store.ErrNotFound):
			p.Buy = 0
		default:
			h.serverError(w, r, err)
			return
		}
	}
	h.render(w, r, http.StatusOK, view, p)
}

func (h *Handler) signupPage(w http.ResponseWriter, r *http.Request) {
	h.accountPage(w, r, templates.SignUp, "Sign up", "")
}

func (h *Handler) signup(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	form := readAccountForm(r)
	form.validateSignup()
	if form.Errors.Any() {
		h.render(w, r, http.StatusUnprocessableEntity, templates.SignUpForm, h.accountData(r, "Sign up", form))
		return
	}
	if !h.allowSignUp(w, r, form) {
		return
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(form.Password), h.cfg.PasswordCost)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	user, err := h.store.SignUp(r.Context(), form.Email, string(hash), h.now())
	if ref, ok := refusalFor(signingUp, facts{err: err}); ok {
		form.Errors.Email = ref.message
		h.render(w, r, ref.status, templates.SignUpForm, h.accountData(r, "Sign up", form))
		return
	}
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	h.startSession(w, r, user, "Welcome to EventHive! Your account is ready.")
}

type verifyPage struct {
	Page
	// Gone says why the link does not work; "" once the address is
	// verified.
	Gone string
}

// verifyEmail marks the address a verification link was sent to as
// verified, signed in or out, or says why the link does not work.
func (h *Handler) verifyEmail(w http.ResponseWriter, r *http.Request) {
	verified, err := h.store.VerifyEmail(r.Context(), chi.URLParam(r, "token"), h.now())
	p := verifyPage{Page: h.page(r, "Email address confirmed")}
	status := http.StatusGone
	switch {
	case err == nil:
		status = http.StatusOK
		if p.User != nil && p.User.ID == verified.ID {
			p.User = &verified // no banner on this page
		}
	case errors.Is(err, store.ErrNotFound):
		status = http.StatusNotFound
		p.Gone = "This confirmation link is not one of ours. Check that you copied all of it."
	case errors.Is(err, store.ErrTokenUsed):
		p.Gone = "This confirmation link has been used already: each link works once."
	case errors.Is(err, store.ErrTokenExpired):
		p.Gone = "This confirmation link has expired: each link works for 48 hours."
	default:
		h.serverError(w, r, err)
		return
	}
	if p.Gone != "" {
		p.Title = "This link no longer works"
	}
	h.render(w, r, status, templates.VerifyEmail, p)
}

// resendVerification mails the signed-in person a new verification link,
// at most store.VerificationsPerHour an hour, and says how it went.
func (h *Handler) resendVerification(w http.ResponseWriter, r *http.Request) {
	flash := "We sent a new link to " + currentUser(r).Email + "."
	switch err := h.store.ResendVerification(r.Context(), currentUser(r).ID, h.now()); {
	case errors.Is(err, store.ErrAlreadyVerified):
		flash = "Your email address is already confirmed."
	case errors.Is(err, store.ErrTooManyVerifications):
		flash = "We have sent you " + strconv.Itoa(store.VerificationsPerHour) +
			" links in the last hour. Please look for them, or try again later."
	case err != nil:
		h.serverError(w, r, err)
		return
	}
	h.sessions.Put(r.Context(), sessionFlash, flash)
	redirect(w, r, localPath(r.FormValue("next")))
}

func (h *Handler) signinPage(w http.ResponseWriter, r *http.Request) {
	h.accountPage(w, r, templates.SignIn, "Sign in", "Please sign in to continue.")
}

func (h *Handler) signin(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	form := readAccountForm(r)
	at, done, ok := h.allowSignIn(w, r, form)
	if !ok {
		return
	}
	defer done()
	// An email no account can have (PostgreSQL would refuse some, such as
	// one with NUL) is not looked up, but is refused in the same time.
	user, err := store.User{}, store.ErrNotFound
	if emailProblem(form.Email) == "" {
		user, err = h.store.UserByEmail(r.Context(), form.Email)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		h.signInUncounted(r, form, at)
		h.serverError(w, r, err)
		return
	}
	hash := h.dummyHash
	if err == nil {
		hash = []byte(user.PasswordHash)
	}
	// Compare even for an unknown email, and give one message for both.
	if bcrypt.CompareHashAndPassword(hash, []byte(form.Password)) != nil || err != nil {
		form.Errors.Form = "That email and password do not match an account."
		form.Password = ""
		h.render(w, r, http.StatusUnprocessableEntity, templates.SignInForm, h.accountData(r, "Sign in", form))
		return
	}
	h.signedIn(r, form, at)
	// Only now, with the right password, does the page tell that the
	// account is suspended.
	if ref, refused := refusalFor(signingIn, facts{err: user.CanSignIn()}); refused {
		form.Errors.Form = ref.message
		form.Password = ""
		h.render(w, r, ref.status, templates.SignInForm, h.accountData(r, "Sign in", form))
		return
	}
	h.startSession(w, r, user, "")
}

// startSession signs a user in on a fresh session token, so a token planted
// before sign-in is worthless, and sends them where they were going (the
// form's next address).
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, user store.User, flash string) {
	if err := h.sessions.RenewToken(r.Context()); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.sessions.Put(r.Context(), sessionUserID, user.ID)
	h.sessions.Put(r.Context(), sessionEpoch, user.SessionEpoch)
	if buy := positiveID(r.FormValue("buy")); buy != 0 {
		h.resumePurchase(w, r, user, buy, purchaseQuantity(r.FormValue("quantity")), flash)
		return
	}
	if flash != "" {
		h.sessions.Put(r.Context(), sessionFlash, flash)
	}
	redirect(w, r, localPath(r.FormValue("next")))
}

// resumePurchase continues, once the visitor has signed in or up, the
// purchase of quantity tickets of a listing they began signed out: it holds
// them and shows the order, or shows the listing's page saying why it cannot
// (flash goes first). It runs only on the sign-in and sign-up POSTs, never
// on a GET.
func (h *Handler) resumePurchase(w http.ResponseWriter, r *http.Request, user store.User, listingID int64, quantity int, flash string) {
	now := h.now()
	order, err := h.hold(r, user.ID, listingID, quantity, now)
	to := orderPath(order.ID)
	if err != nil {
		ref, _, refErr := h.buyingRefusal(r.Context(), err, user.ID, listingID, now)
		switch {
		case errors.Is(refErr, store.ErrNotFound):
			// No such ticket: go where the visitor was going.
			to = localPath(r.FormValue("next"))
		case refErr != nil:
			h.serverError(w, r, refErr)
			return
		default:
			flash = strings.TrimSpace(flash + " " + ref.message)
			to = ticketPath(listingID)
		}
	}
	if flash != "" {
		h.sessions.Put(r.Context(), sessionFlash, flash)
	}
	redirect(w, r, to)
}

func (h *Handler) signout(w http.ResponseWriter, r *http.Request) {
	if currentUser(r) == nil {
		// Nobody to sign out: keep no session for a signed-out visitor.
		redirect(w, r, "/")
		return
	}
	h.endSession(w, r, "You are signed out.")
}

// signoutEverywhere ends every session of the account, on every device,
// this one included.
func (h *Handler) signoutEverywhere(w http.ResponseWriter, r *http.Request) {
	if err := h.store.EndSessions(r.Context(), currentUser(r).ID); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.endSession(w, r, "You are signed out on every device.")
}

// endSession signs this session out under a new token and goes home, where
// flash says so.
func (h *Handler) endSession(w http.ResponseWriter, r *http.Request, flash string) {
	if err := h.sessions.RenewToken(r.Context()); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.sessions.Remove(r.Context(), sessionUserID)
	h.sessions.Remove(r.Context(), sessionEpoch)
	h.sessions.Put(r.Context(), sessionFlash, flash)
	redirect(w, r, "/")
}
