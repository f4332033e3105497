package handlers

import (
	"errors"
	"net/http"

	"golang.org/x/crypto/bcrypt"

	"github.com/eventhive/eventhive/store"
)

type accountPage struct {
	Page
	Form AccountForm
}

func (h *Handler) signupPage(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "signup", "", accountPage{Page: h.page(r, "Sign up"), Form: AccountForm{}})
}

func (h *Handler) signup(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	form := readAccountForm(r)
	form.validateSignup()
	if len(form.Errors) > 0 {
		h.render(w, r, http.StatusUnprocessableEntity, "signup", "signup-form", accountPage{Page: h.page(r, "Sign up"), Form: form})
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
	user, err := h.store.CreateUser(r.Context(), form.Email, string(hash), h.now())
	if errors.Is(err, store.ErrEmailTaken) {
		form.Errors["email"] = "An account with this email already exists. Sign in instead?"
		h.render(w, r, http.StatusUnprocessableEntity, "signup", "signup-form", accountPage{Page: h.page(r, "Sign up"), Form: form})
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	h.startSession(w, r, user, "Welcome to EventHive! Your account is ready.")
}

func (h *Handler) signinPage(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "signin", "", accountPage{Page: h.page(r, "Sign in"), Form: AccountForm{}})
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
		form.Errors["form"] = "That email and password do not match an account."
		form.Password = ""
		h.render(w, r, http.StatusUnprocessableEntity, "signin", "signin-form", accountPage{Page: h.page(r, "Sign in"), Form: form})
		return
	}
	h.signedIn(r, form, at)
	h.startSession(w, r, user, "")
}

// startSession signs a user in on a fresh session token, so a token planted
// before sign-in is worthless, and sends them where they were going.
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, user store.User, flash string) {
	if err := h.sessions.RenewToken(r.Context()); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.sessions.Put(r.Context(), sessionUserID, user.ID)
	if flash != "" {
		h.sessions.Put(r.Context(), sessionFlash, flash)
	}
	returnTo := h.sessions.PopString(r.Context(), sessionReturnTo)
	if returnTo == "" {
		returnTo = "/"
	}
	redirect(w, r, localPath(returnTo, r.Host))
}

func (h *Handler) signout(w http.ResponseWriter, r *http.Request) {
	if err := h.sessions.RenewToken(r.Context()); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.sessions.Remove(r.Context(), sessionUserID)
	h.sessions.Put(r.Context(), sessionFlash, "You are signed out.")
	redirect(w, r, "/")
}
