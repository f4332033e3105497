package handlers

import (
	"net/http"
	"strconv"
)

// retryAfter is how long, in seconds, a 503 asks the client to wait.
const retryAfter = 5

// unavailable answers a request that failed because the database could not
// be reached (see store.Unavailable): 503 with Retry-After and a plain page.
// Nothing needs restarting: database/sql reconnects by itself when the
// database is back.
func (h *Handler) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	h.log.WarnContext(r.Context(), "database unavailable", "err", err, "method", logMethod(r), "path", logPath(r))
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	w.Header().Set("Cache-Control", "no-store")
	h.renderError(w, r, http.StatusServiceUnavailable, "Briefly unavailable",
		"EventHive is briefly unavailable, try again in a moment.")
}
