package handlers

import (
	"net/http"
	"time"

	"github.com/eventhive/eventhive/static"
)

// cssCookie tells that the visitor's browser holds the site's stylesheets:
// its value is the version (static.StylesheetVersion) a page gave it.
const cssCookie = "eventhive_css"

// inlineCSS reports whether a whole page for r carries the site's CSS in a
// <style> element rather than linking the files: on a first visit, or when
// the CSS has changed since, a slow phone paints a round trip sooner. The
// page also has the browser prefetch the files, so that the next pages link
// them from its cache (see rememberCSS). The answer to a form never carries
// it: the page the form was on gave the browser the files, and a buyer
// refused in an on-sale rush would otherwise be sent the whole CSS again.
func inlineCSS(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	c, err := r.Cookie(cssCookie)
	return err != nil || c.Value != static.StylesheetVersion()
}

// rememberCSS sets cssCookie on the answer to r when it is a whole page that
// carries the CSS (see inlineCSS).
func (h *Handler) rememberCSS(w http.ResponseWriter, r *http.Request) {
	if isHTMX(r) || !inlineCSS(r) {
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     cssCookie,
		Value:    static.StylesheetVersion(),
		Path:     "/",
		MaxAge:   int((365 * 24 * time.Hour).Seconds()), // as long as the files are cached
		HttpOnly: true,
		Secure:   h.sessions.Cookie.Secure,
		SameSite: http.SameSiteLaxMode,
	})
}
