// Package handlers is EventHive's HTTP layer: it parses and validates input,
// calls the store and renders pages or the HTMX fragments inside them. It
// holds no SQL and no business rules of its own beyond input validation.
package handlers

import (
	"log/slog"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/templates"
)

// Config is what the handlers need from the app's configuration.
type Config struct {
	BaseURL   string        // absolute URL of the app, e.g. http://localhost:8080
	OrderHold time.Duration // how long an order holds its ticket
	Currency  string        // ISO code of every price, lower case
}

// Handler serves every page. Its methods are the routes' handlers.
type Handler struct {
	cfg      Config
	store    *store.Store
	sessions *scs.SessionManager
	views    *templates.Set
	log      *slog.Logger
	now      func() time.Time
}

// New returns a Handler. now is the clock; tests pass their own.
func New(cfg Config, st *store.Store, sessions *scs.SessionManager, views *templates.Set, log *slog.Logger, now func() time.Time) *Handler {
	return &Handler{cfg: cfg, store: st, sessions: sessions, views: views, log: log, now: now}
}
