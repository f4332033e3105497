package handlers

import (
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/templates"
)

// Default limits on asking for password reset links: each sends a message,
// so they are low, but a person who mistypes or loses a message or two can
// ask again.
var (
	// DefaultPasswordResetsPerIP limits requests per client address,
	// whatever emails they name.
	DefaultPasswordResetsPerIP = Limit{N: 20, Per: time.Hour}
	// DefaultPasswordResetsPerEmail limits requests per email, whether or
	// not an account has it, so that the limit tells nothing either.
	DefaultPasswordResetsPerEmail = Limit{N: 5, Per: time.Hour}
)

func resetIPKey(ip string) string       { return "reset-ip:" + ip }
func resetEmailKey(email string) string { return "reset-email:" + cutEmail(email) }

type forgotPage struct {
	Page
	Form AccountForm
	// Sent: the request was taken. The page says the same whether or not
	// an account has the address.
	Sent bool
}

// PasswordForm is the form that sets a new password: after a reset link
// (Password alone) or on the account's page (Current too).
type PasswordForm struct {
	Current  string
	Password string
	Errors   PasswordErrors
}

// PasswordErrors are the messages of a password form: beside each field,
// and Form above the whole form.
type PasswordErrors struct {
	Form, Current, Password string
}

type resetPage struct {
	Page
	Token string
	Form  PasswordForm
	// Gone says why the link does not work; "" while it does.
	Gone string
}

type accountPasswordPage struct {
	Page
	Form PasswordForm
}

func (h *Handler) forgotPasswordPage(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, templates.PasswordForgot, forgotPage{Page: h.page(r, "Forgot your password?")})
}

// forgotPassword sends a reset link to the account with the email, if there
// is one, and gives the same answer either way.
func (h *Handler) forgotPassword(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	p := forgotPage{Page: h.page(r, "Forgot your password?"), Form: readAccountForm(r)}
	if p.Form.Errors.Email = emailProblem(p.Form.Email); p.Form.Errors.Email != "" {
		h.render(w, r, http.StatusUnprocessableEntity, templates.PasswordForgot, p)
		return
	}
	ip := h.clientIP(r)
	if wait, _ := h.throttle.take(h.now(),
		limitedKey{resetIPKey(ip), h.cfg.PasswordResetsPerIP},
		limitedKey{resetEmailKey(p.Form.Email), h.cfg.PasswordResetsPerEmail}); wait > 0 {
		h.log.WarnContext(r.Context(), "password reset throttled", "ip", ip, "retry_after", wait.String())
		p.Form.Errors.Form = "Too many requests for a reset link. Try again in " + minutes(wait) + "."
		setRetryAfter(w, wait)
		h.render(w, r, http.StatusTooManyRequests, templates.PasswordForgot, p)
		return
	}
	err := h.store.RequestPasswordReset(r.Context(), p.Form.Email, h.resetLink, h.now())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		h.serverError(w, r, err)
		return
	}
	p.Sent = true
	h.render(w, r, http.StatusOK, templates.PasswordForgot, p)
}

// resetLink is the address of the page a reset token opens.
func (h *Handler) resetLink(token string) string {
	return h.cfg.BaseURL + "/password/reset/" + token
}

// resetPasswordPage shows the form a reset link leads to, or why the link
// does not work.
func (h *Handler) resetPasswordPage(w http.ResponseWriter, r *http.Request) {
	token := chi.URLParam(r, "token")
	if err := h.store.CheckPasswordReset(r.Context(), token, h.now()); err != nil {
		h.resetGone(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, http.StatusOK, templates.PasswordReset, resetPage{Page: h.page(r, "Choose a new password"), Token: token})
}

// resetPassword sets the new password a reset link's form sends, ends every
// session of the account and sends the visitor to sign in with it.
func (h *Handler) resetPassword(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	token := chi.URLParam(r, "token")
	p := resetPage{Page: h.page(r, "Choose a new password"), Token: token,
		Form: PasswordForm{Password: r.PostFormValue("password")}}
	if p.Form.Errors.Password = passwordProblem(p.Form.Password); p.Form.Errors.Password != "" {
		h.render(w, r, http.StatusUnprocessableEntity, templates.PasswordReset, p)
		return
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(p.Form.Password), h.cfg.PasswordCost)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if _, err := h.store.ResetPassword(r.Context(), token, string(hash), h.now()); err != nil {
		h.resetGone(w, r, err)
		return
	}
	h.sessions.Put(r.Context(), sessionFlash, "Your password is changed, and every session of your account has ended. Sign in with your new password.")
	redirect(w, r, "/signin")
}

// resetGone answers a reset link that does not work: 404 for one that never
// did, 410 for one used or expired, each offering to ask for another.
func (h *Handler) resetGone(w http.ResponseWriter, r *http.Request, err error) {
	p := resetPage{Page: h.page(r, "This link no longer works")}
	status := http.StatusGone
	switch {
	case errors.Is(err, store.ErrNotFound):
		status = http.StatusNotFound
		p.Gone = "This password reset link is not one of ours. Check that you copied all of it, or ask for a new one."
	case errors.Is(err, store.ErrTokenUsed):
		p.Gone = "This password reset link has been used already: each link works once."
	case errors.Is(err, store.ErrTokenExpired):
		p.Gone = "This password reset link has expired: each link works for an hour."
	default:
		h.serverError(w, r, err)
		return
	}
	h.render(w, r, status, templates.PasswordReset, p)
}

func (h *Handler) accountPasswordPage(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, templates.AccountPassword, accountPasswordPage{Page: h.page(r, "Change your password")})
}

// changePassword sets a signed-in person's new password once they have
// given their current one, and ends their other sessions: this one moves
// to the account's new session epoch, under a new token.
func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request) {
	if !h.parseForm(w, r) {
		return
	}
	user := currentUser(r)
	p := accountPasswordPage{Page: h.page(r, "Change your password"),
		Form: PasswordForm{Current: r.PostFormValue("current_password"), Password: r.PostFormValue("password")}}
	// Guessing the current password from a session left open is held to
	// the sign-in limit per account.
	if wait, _ := h.throttle.take(h.now(), limitedKey{signInsEmailKey(user.Email), h.cfg.SignInsPerEmail}); wait > 0 {
		p.Form.Errors.Form = "Too many attempts for this account. Try again in " + minutes(wait) + "."
		setRetryAfter(w, wait)
		h.render(w, r, http.StatusTooManyRequests, templates.AccountPassword, p)
		return
	}
	if bcrypt.CompareHashAndPassword([]byte(user.PasswordHash), []byte(p.Form.Current)) != nil {
		p.Form.Errors.Current = "That is not your current password."
	}
	p.Form.Errors.Password = passwordProblem(p.Form.Password)
	if p.Form.Errors != (PasswordErrors{}) {
		h.render(w, r, http.StatusUnprocessableEntity, templates.AccountPassword, p)
		return
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(p.Form.Password), h.cfg.PasswordCost)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	changed, err := h.store.ChangePassword(r.Context(), user.ID, string(hash), h.now())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if err := h.sessions.RenewToken(r.Context()); err != nil {
		h.serverError(w, r, err)
		return
	}
	h.sessions.Put(r.Context(), sessionEpoch, changed.SessionEpoch)
	h.sessions.Put(r.Context(), sessionFlash, "Your password is changed. Your other sessions have ended; this one stays signed in.")
	redirect(w, r, "/")
}
