package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/eventhive/eventhive/store"
)

// Session keys.
const (
	sessionUserID = "user_id"
	// sessionEpoch is the account's session epoch when the session signed
	// in; the session ends when the account's moves on (store.EndSessions).
	sessionEpoch = "session_epoch"
	sessionFlash = "flash"
)

type userKey struct{}

// currentUser returns the signed-in user, or nil.
func currentUser(r *http.Request) *store.User {
	u, _ := r.Context().Value(userKey{}).(*store.User)
	return u
}

// loadUser puts the signed-in user, if any, in the request's context. A
// session whose account is gone, or was signed out everywhere since the
// session began, is destroyed.
func (h *Handler) loadUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := h.sessions.GetInt64(r.Context(), sessionUserID)
		if id == 0 {
			next.ServeHTTP(w, r)
			return
		}
		var u store.User
		var err error
		if p := prefetchedUser(r.Context()); p != nil && p.ID == id {
			u = *p // read from the database along with the session
		} else {
			u, err = h.store.UserByID(r.Context(), id)
			if err == nil && slices.Contains(h.cfg.AdminEmails, u.Email) && !h.isAdmin(&u) {
				// The operator may have confirmed this account on the
				// server (eventhive admin confirm) a moment ago, from
				// another process, which the users the store keeps in
				// memory do not show.
				u, err = h.store.UserByIDFromDatabase(r.Context(), id)
			}
		}
		if errors.Is(err, store.ErrNotFound) || (err == nil && u.SessionEpoch != h.sessions.GetInt64(r.Context(), sessionEpoch)) {
			if err := h.sessions.Destroy(r.Context()); err != nil {
				h.serverError(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, &u)))
	})
}

// requireUser sends signed-out visitors to sign in. Where they were going
// travels in the sign-in URL (signInURL), not in a session: a signed-out
// request writes nothing.
func (h *Handler) requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if currentUser(r) != nil {
			next.ServeHTTP(w, r)
			return
		}
		returnTo := r.URL.RequestURI()
		var buy int64
		var quantity int
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			// A form posted while signed out (Buy): come back to the page
			// it was on, and buy the tickets once signed in.
			returnTo = refererPath(r.Referer(), r.Host)
			if r.URL.Path == "/orders" {
				var err error
				if buy, quantity, err = h.intendedPurchase(r); err != nil {
					h.serverError(w, r, err)
					return
				}
			}
		}
		to := signInURL(returnTo)
		if buy != 0 {
			to += "&buy=" + strconv.FormatInt(buy, 10)
		}
		if quantity > 1 {
			to += "&quantity=" + strconv.Itoa(quantity)
		}
		redirect(w, r, to)
	})
}

// intendedPurchase is the listing a Buy form posted while signed out was
// for, if its ticket_id names one, and how many of its tickets; else 0.
func (h *Handler) intendedPurchase(r *http.Request) (int64, int, error) {
	// limitBodies bounds the body.
	if r.ParseForm() != nil {
		return 0, 0, nil
	}
	id := positiveID(r.PostFormValue("ticket_id"))
	if id == 0 {
		return 0, 0, nil
	}
	if _, err := h.store.Listing(r.Context(), id, h.now()); errors.Is(err, store.ErrNotFound) {
		return 0, 0, nil
	} else if err != nil {
		return 0, 0, err
	}
	return id, purchaseQuantity(r.PostFormValue("quantity")), nil
}

// purchaseQuantity reads how many tickets a purchase put off by signing in
// is for: 1 unless a valid number says otherwise.
func purchaseQuantity(s string) int {
	if n, problem := parseQuantity(strings.TrimSpace(s)); problem == "" {
		return n
	}
	return 1
}

// positiveID reads an id: a positive integer, else 0.
func positiveID(s string) int64 {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0
	}
	return id
}

// maxReturnTo bounds a return address; a longer one is dropped.
const maxReturnTo = 512

// signInURL is the sign-in page that brings the visitor back to returnTo
// afterwards, or home if returnTo is not a safe local address.
func signInURL(returnTo string) string {
	return "/signin?next=" + url.QueryEscape(localPath(returnTo))
}

// localPath returns next if it is a path on this site, of at most
// maxReturnTo bytes of printable ASCII, and "/" otherwise, so that a return
// address can never lead off the site: no scheme or host, no "//" (another
// host to a browser), no backslash (which browsers read as a slash) and no
// control characters (which browsers drop, joining what surrounds them).
func localPath(next string) string {
	if next == "" || len(next) > maxReturnTo || next[0] != '/' || strings.HasPrefix(next, "//") ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x21 || r > 0x7e || r == '\\' }) {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	return next
}

// refererPath returns the path and query of a Referer on this host, as a
// return address, or "/" for anything else.
func refererPath(referer, host string) string {
	u, err := url.Parse(referer)
	if err != nil || (u.Host != "" && u.Host != host) {
		return "/"
	}
	return localPath(u.RequestURI())
}
