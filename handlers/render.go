package handlers

import (
	"bytes"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/eventhive/eventhive/money"
	"github.com/eventhive/eventhive/static"
	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/templates"
)

// Page is the data every page shares; each page's data embeds it.
type Page struct {
	Title string
	User  *store.User // nil when signed out
	Flash string
	Now   time.Time
	// Path is the requested URL's path: the nav marks the link to it as
	// the current page.
	Path string
	// InlineCSS puts the CSS in the page (see inlineCSS).
	InlineCSS bool
}

// page fills the shared page data for a request.
func (h *Handler) page(r *http.Request, title string) Page {
	// A HEAD request shows nobody the flash: it stays for the next page.
	flash := h.sessions.GetString
	if r.Method != http.MethodHead {
		flash = h.sessions.PopString
	}
	p := h.basePage(r, title)
	p.Flash, p.Path = flash(r.Context(), sessionFlash), r.URL.Path
	return p
}

// basePage is what every page shows, error pages included: they have no
// flash (an error can happen outside the session middleware) and no path
// (they look the same wherever they are, so an operator's URL answers as
// any unknown one does).
func (h *Handler) basePage(r *http.Request, title string) Page {
	return Page{Title: title, User: currentUser(r), Now: h.now(), InlineCSS: inlineCSS(r)}
}

// isHTMX reports whether a request came from HTMX and wants a fragment. A
// history-restore request wants the whole page.
func isHTMX(r *http.Request) bool {
	return r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-History-Restore-Request") != "true"
}

// render writes view with status when HTMX asked for it, else its whole page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, view templates.View, data any) {
	if body, ok := h.renderBody(w, r, view, data); ok {
		h.rememberCSS(w, r)
		writeHTML(w, r, status, body)
	}
}

// renderBody renders what render would write. When rendering fails it
// answers 500 itself and returns false.
func (h *Handler) renderBody(w http.ResponseWriter, r *http.Request, view templates.View, data any) ([]byte, bool) {
	if !isHTMX(r) {
		view = view.Page()
	}
	var buf bytes.Buffer
	if err := h.views.In(readerLocale(r)).Render(&buf, view, data); err != nil {
		h.log.ErrorContext(r.Context(), "render", "err", err, "view", view.String())
		http.Error(w, "Something went wrong on our side. Please try again in a moment.", http.StatusInternalServerError)
		return nil, false
	}
	return buf.Bytes(), true
}

// readerLocale is the locale prices are written in for r's reader.
func readerLocale(r *http.Request) *money.Locale {
	return money.Match(r.Header.Get("Accept-Language"))
}

// writeHTML writes a rendered page or fragment, compressed when r accepts it
// and it is big enough (see compressBody). Whatever the answer, it varies by
// HX-Request, Accept-Encoding and Accept-Language.
func writeHTML(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	body, z := compressBody(r, body)
	defer z.release()
	writeBody(w, status, body, z.encoding())
}

// writeBody writes a page or fragment, in encoding enc, with its headers.
func writeBody(w http.ResponseWriter, status int, body []byte, enc static.Encoding) {
	h := w.Header()
	h.Add("Vary", "HX-Request")
	h.Add("Vary", "Accept-Encoding")
	h.Add("Vary", "Accept-Language") // prices are written in the reader's locale
	h.Set("Content-Type", "text/html; charset=utf-8")
	if enc != static.Identity {
		h.Set("Content-Encoding", string(enc))
	}
	// Known in advance, so the response is not chunked.
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// renderMain writes a whole page with status; to an HTMX request, whatever
// element it targeted, it sends the page's main content to replace #main.
func (h *Handler) renderMain(w http.ResponseWriter, r *http.Request, status int, page templates.View, data any) {
	if isHTMX(r) {
		w.Header().Set("HX-Retarget", "#main")
		w.Header().Set("HX-Reswap", "innerHTML")
	}
	h.render(w, r, status, page.Content(), data)
}

// redirect answers a successful POST: 303 to url, or for HTMX an HX-Redirect
// so the browser loads url as a whole page.
func redirect(w http.ResponseWriter, r *http.Request, url string) {
	if isHTMX(r) {
		w.Header().Set("HX-Redirect", url)
		w.WriteHeader(http.StatusOK)
		return
	}
	http.Redirect(w, r, url, http.StatusSeeOther)
}

type errorPage struct {
	Page
	Message string
}

// renderError shows a plain page with a title and a message.
func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, status int, title, message string) {
	data := errorPage{Page: h.basePage(r, title), Message: message}
	h.renderMain(w, r, status, templates.Error, data)
}

func (h *Handler) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	h.renderError(w, r, http.StatusMethodNotAllowed, "Method not allowed", "That action is not available here.")
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.storeError(w, r, store.ErrNotFound)
}

// serverError logs err in full and shows the user a plain page. When the
// database cannot be reached the answer is 503 (see unavailable), not 500.
func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, err error) {
	if store.Unavailable(err) {
		h.unavailable(w, r, err)
		return
	}
	h.log.ErrorContext(r.Context(), "request failed", "err", err, "method", logMethod(r), "path", logPath(r))
	h.renderError(w, r, http.StatusInternalServerError, "Something went wrong",
		"Something went wrong on our side. Please try again in a moment.")
}

func (h *Handler) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				h.serverError(w, r, fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
