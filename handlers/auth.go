package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/eventhive/eventhive/store"
)

// Session keys.
const (
	sessionUserID   = "user_id"
	sessionReturnTo = "return_to"
	sessionFlash    = "flash"
)

type userKey struct{}

// currentUser returns the signed-in user, or nil.
func currentUser(r *http.Request) *store.User {
	u, _ := r.Context().Value(userKey{}).(*store.User)
	return u
}

// loadUser puts the signed-in user, if any, in the request's context.
func (h *Handler) loadUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := h.sessions.GetInt64(r.Context(), sessionUserID)
		if id == 0 {
			next.ServeHTTP(w, r)
			return
		}
		u, err := h.store.UserByID(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) {
			// The account is gone; forget it.
			h.sessions.Remove(r.Context(), sessionUserID)
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

// requireUser sends signed-out visitors to sign in, remembering where they
// were going so that signing in brings them back.
func (h *Handler) requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if currentUser(r) != nil {
			next.ServeHTTP(w, r)
			return
		}
		returnTo := r.URL.RequestURI()
		if r.Method != http.MethodGet {
			// A form posted while signed out: come back to the page it was on.
			returnTo = localPath(r.Referer(), r.Host)
		}
		h.sessions.Put(r.Context(), sessionReturnTo, returnTo)
		h.sessions.Put(r.Context(), sessionFlash, "Please sign in to continue.")
		redirect(w, r, "/signin")
	})
}

// localPath returns the path and query of a URL on this host, or "/" for
// anything else, so that a return address can never lead off the site.
func localPath(raw, host string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Host != "" && u.Host != host) || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return u.RequestURI()
}
