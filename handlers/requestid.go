package handlers

import (
	"context"
	"crypto/rand"
	"net/http"

	"github.com/go-chi/chi/v5/middleware"
)

// maxRequestIDLen bounds a request id taken from a client.
const maxRequestIDLen = 64

// requestID gives every request an id, kept in its context (read it with
// middleware.GetReqID, as chi's own middleware stores it) and sent back as
// X-Request-Id. A client's X-Request-Id is taken when it is short and plain,
// so that a proxy's id still ties its logs to ours; anything else could
// forge or bloat our log lines, and is replaced by a random id. Unlike
// chi's, a made id does not name the host.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !plainRequestID(id) {
			id = rand.Text()
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), middleware.RequestIDKey, id)))
	})
}

// plainRequestID reports whether id is 1 to maxRequestIDLen characters of
// A-Z, a-z, 0-9, '.', '_' and '-'.
func plainRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}
