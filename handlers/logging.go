package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5/middleware"
)

// logRequests logs every request once it is answered.
func (h *Handler) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		h.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", logMethod(r)), slog.String("path", logPath(r)),
			slog.Int("status", ww.Status()), slog.Duration("duration", time.Since(start)))
	})
}

// How much of a request's method and path a log line repeats: a client
// chooses both, up to the header limit (1 MB) in length.
const (
	maxLoggedMethod = 16
	maxLoggedPath   = 256
)

// logMethod is a request's method for a log line.
func logMethod(r *http.Request) string { return clip(r.Method, maxLoggedMethod) }

// logPath is a request's path for a log line.
func logPath(r *http.Request) string { return clip(r.URL.Path, maxLoggedPath) }

// truncated marks a value that clip cut.
const truncated = "…[truncated]"

// clip returns s when it has at most n bytes, else its first n bytes or
// fewer, cut between characters, marked as truncated.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for i := 1; i < utf8.UTFMax && cut > 0 && !utf8.RuneStart(s[cut]); i++ {
		cut--
	}
	return s[:cut] + truncated
}

// WithRequestIDs wraps a slog handler so that every record logged with a
// request's context carries the request's id (the X-Request-Id of its
// response) as request_id, whichever code logs it.
func WithRequestIDs(h slog.Handler) slog.Handler { return requestIDHandler{h} }

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, rec slog.Record) error {
	if id := middleware.GetReqID(ctx); id != "" && !hasAttr(rec, "request_id") {
		rec.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, rec)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

func hasAttr(rec slog.Record, key string) bool {
	found := false
	rec.Attrs(func(a slog.Attr) bool {
		found = a.Key == key
		return !found
	})
	return found
}
