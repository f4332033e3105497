// Package handlers is EventHive's HTTP layer: it parses and validates input,
// calls the store and renders pages or the HTMX fragments inside them. It
// holds no SQL and no business rules of its own beyond input validation.
package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"golang.org/x/crypto/bcrypt"

	"github.com/eventhive/eventhive/live"
	"github.com/eventhive/eventhive/metrics"
	"github.com/eventhive/eventhive/money"
	"github.com/eventhive/eventhive/payments"
	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/templates"
)

// Config is what the handlers need from the app's configuration.
type Config struct {
	BaseURL   string        // absolute URL of the app, e.g. http://localhost:8080
	OrderHold time.Duration // how long an order holds its ticket
	Currency  string        // ISO code of every price, lower case

	// StripeWebhookSecret verifies webhook signatures: Stripe's, or the
	// built-in checkout's. Required.
	StripeWebhookSecret string
	// StripeConnectWebhookSecret verifies the events of the Connect webhook
	// endpoint (/webhooks/stripe/connect), which Stripe signs with a secret
	// of its own. Required with Stripe; with the built-in stand-in, which
	// signs its own events, empty takes a random secret.
	StripeConnectWebhookSecret string

	// AdminEmails are the accounts that may open the operator console under
	// /admin once confirmed on the server (store.ConfirmAdmin). New brings
	// them to store.NormalizeEmail's form; they are then compared exactly.
	// Everyone else gets 404 there.
	AdminEmails []string
	// MailToLog says that no SMTP server is configured: the jobs write
	// messages to the log (the mail page under /admin says so).
	MailToLog bool
	// JobsUI is River's UI (see NewJobsUI), served to admins at /admin/jobs.
	// Nil leaves it out.
	JobsUI http.Handler

	// Done is closed when the app shuts down. Event streams end then:
	// http.Server.Shutdown waits for them but does not end them. Nil: they
	// end only when their clients leave. The deletion of expired sessions
	// every five minutes stops then too (nil: never).
	Done <-chan struct{}

	// MaxLiveStreams is how many event streams may be open at once; past
	// it a page gets 503 with Retry-After and works without live updates.
	// Zero: DefaultMaxLiveStreams.
	MaxLiveStreams int

	// PasswordCost is the bcrypt cost of new password hashes; 0 means
	// bcrypt.DefaultCost. Tests lower it to run faster.
	PasswordCost int

	// Throttles on signing in and up, counted per client address and per
	// email in this process's memory. A zero Limit takes the default
	// (DefaultSignInFailuresPerEmail and so on); NoLimit turns one off.
	SignInFailuresPerEmail Limit
	SignInFailuresPerIP    Limit
	SignUpsPerIP           Limit
	// SignInsPerIP and SignInsPerEmail limit sign-in attempts, successful
	// or not, as the failure limits above do.
	SignInsPerIP    Limit
	SignInsPerEmail Limit
	// PasswordResetsPerIP and PasswordResetsPerEmail limit requests for a
	// password reset link, in the same way.
	PasswordResetsPerIP    Limit
	PasswordResetsPerEmail Limit
	// PasswordChecks is how many sign-ins' passwords are checked at once
	// (bcrypt, one core each); 0 means half the CPUs, at least one. More
	// wait briefly, then get 429.
	PasswordChecks int
	// TrustProxyHeaders takes a client's address from the Fly-Client-IP or
	// X-Forwarded-For header that a proxy in front of the app sets. Leave it
	// off when clients connect directly: they could write those headers.
	TrustProxyHeaders bool

	// ResaleCap caps prices over face value; the zero Cap allows money.DefaultCapPercent.
	ResaleCap money.Cap
	// DefaultTimeZone is the zone of a new event unless its creator picks one; nil is UTC.
	DefaultTimeZone *time.Location
}

// Deps are the parts of the app the handlers work with. New needs every one:
// main wires them, and so do the tests' helpers.
type Deps struct {
	Store *store.Store
	// Checkout creates checkout sessions: Stripe's, or the built-in
	// checkout's (*payments.Builtin), whose pages this package then serves.
	// It onboards sellers too: it must implement Connect.
	Checkout Checkout
	// Live carries "tickets changed" and "order changed" events to open
	// pages through the event streams (see live.go).
	Live Live
	// Metrics counts requests and webhook events and serves /metrics.
	Metrics *metrics.Metrics
	Log     *slog.Logger
	// Now is the clock.
	Now func() time.Time
}

// check names the first dependency missing.
func (d Deps) check() error {
	missing := ""
	switch {
	case d.Store == nil:
		missing = "store"
	case d.Checkout == nil:
		missing = "checkout"
	case d.Live == nil:
		missing = "live hub"
	case d.Metrics == nil:
		missing = "metrics"
	case d.Log == nil:
		missing = "logger"
	case d.Now == nil:
		missing = "clock"
	default:
		return nil
	}
	return fmt.Errorf("handlers: no %s", missing)
}

// Handler serves every page. Its methods are the routes' handlers.
type Handler struct {
	cfg      Config
	store    *store.Store
	sessions *scs.SessionManager
	views    *templates.Set
	log      *slog.Logger
	now      func() time.Time

	checkout Checkout
	connect  Connect
	accounts AccountReader // nil with the built-in stand-in
	live     Live
	streams  *live.Streams // the open event streams, fed by live
	metrics  *metrics.Metrics
	builtin  *payments.Builtin // nil with Stripe
	throttle *throttle         // counts sign-in and sign-up attempts
	listing  *listingCache     // the signed-out listing, where the store can tell it is stale
	// passwords bounds how many sign-in passwords are checked at once.
	passwords *passwordGate

	// platformEvents and connectEvents are the webhook endpoints: the
	// platform account's, and the connected accounts'.
	platformEvents, connectEvents webhookEndpoint

	// dummyHash is compared against when a sign-in names an unknown email,
	// so that it takes as long to refuse as a wrong password.
	dummyHash []byte
}

// Checkout creates the checkout session where a buyer pays an order.
type Checkout interface {
	CreateSession(ctx context.Context, req payments.CheckoutRequest) (payments.Session, error)
}

// New returns a Handler. It parses the templates, so a broken one fails here.
// Zero settings in cfg take their documented defaults; every dependency in
// deps is required.
func New(cfg Config, deps Deps) (*Handler, error) {
	if err := deps.check(); err != nil {
		return nil, err
	}
	if cfg.StripeWebhookSecret == "" {
		return nil, errors.New("handlers: no webhook secret")
	}
	views, err := templates.Load()
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	if cfg.PasswordCost == 0 {
		cfg.PasswordCost = bcrypt.DefaultCost
	}
	if cfg.MaxLiveStreams <= 0 {
		cfg.MaxLiveStreams = DefaultMaxLiveStreams
	}
	if cfg.DefaultTimeZone == nil {
		cfg.DefaultTimeZone = time.UTC
	}
	admins := make([]string, 0, len(cfg.AdminEmails))
	for _, email := range cfg.AdminEmails {
		normal, err := store.NormalizeEmail(email)
		if err != nil {
			return nil, fmt.Errorf("admin email %q: %w", email, err)
		}
		admins = append(admins, normal)
	}
	cfg.AdminEmails = admins
	cfg.SignInFailuresPerEmail = cfg.SignInFailuresPerEmail.orDefault(DefaultSignInFailuresPerEmail)
	cfg.SignInFailuresPerIP = cfg.SignInFailuresPerIP.orDefault(DefaultSignInFailuresPerIP)
	cfg.SignUpsPerIP = cfg.SignUpsPerIP.orDefault(DefaultSignUpsPerIP)
	cfg.SignInsPerIP = cfg.SignInsPerIP.orDefault(DefaultSignInsPerIP)
	cfg.SignInsPerEmail = cfg.SignInsPerEmail.orDefault(DefaultSignInsPerEmail)
	cfg.PasswordResetsPerIP = cfg.PasswordResetsPerIP.orDefault(DefaultPasswordResetsPerIP)
	cfg.PasswordResetsPerEmail = cfg.PasswordResetsPerEmail.orDefault(DefaultPasswordResetsPerEmail)
	if cfg.PasswordChecks <= 0 {
		cfg.PasswordChecks = max(1, runtime.GOMAXPROCS(0)/2)
	}
	dummyHash, err := bcrypt.GenerateFromPassword([]byte("not anyone's password"), cfg.PasswordCost)
	if err != nil {
		return nil, err
	}
	builtin, _ := deps.Checkout.(*payments.Builtin)
	connect, ok := deps.Checkout.(Connect)
	if !ok {
		return nil, fmt.Errorf("handlers: checkout %T cannot onboard sellers (Connect)", deps.Checkout)
	}
	accounts, _ := deps.Checkout.(AccountReader)
	if cfg.StripeConnectWebhookSecret == "" {
		return nil, errors.New("handlers: no Connect webhook secret")
	}
	sessions := newSessionStore(deps.Store, sessionCodec{}, cfg.Done)
	h := &Handler{
		cfg:       cfg,
		store:     deps.Store,
		sessions:  newSessionManager(sessions, strings.HasPrefix(cfg.BaseURL, "https://")),
		views:     views,
		log:       deps.Log,
		now:       deps.Now,
		checkout:  deps.Checkout,
		connect:   connect,
		accounts:  accounts,
		live:      deps.Live,
		metrics:   deps.Metrics,
		builtin:   builtin,
		throttle:  newThrottle(),
		listing:   newListingCache(),
		passwords: newPasswordGate(cfg.PasswordChecks, passwordQueue),
		dummyHash: dummyHash,
	}
	h.platformEvents = webhookEndpoint{secret: cfg.StripeWebhookSecret, handled: payments.HandledEventTypes}
	h.connectEvents = webhookEndpoint{secret: cfg.StripeConnectWebhookSecret, handled: payments.HandledConnectEventTypes}
	h.streams = live.NewStreams(deps.Live, deps.Log.With("component", "live"), live.StreamsConfig{
		Max: cfg.MaxLiveStreams, Window: coalesceWindow, Keepalive: keepaliveEvery, Done: cfg.Done,
		Delivered: deps.Metrics.LiveDelivered,
	})
	deps.Metrics.ObserveStreams(h.streams)
	// Other instances (on PostgreSQL) change what is on sale, users and
	// sessions too: what this one keeps of them hears of it through the hub,
	// which tells no other process's changes when there is only this one.
	followChanges(deps.Store, sessions, deps.Live)
	// A session that cannot be loaded or saved (the database is down) gets
	// the app's own answer, not scs's bare 500.
	h.sessions.ErrorFunc = h.serverError
	return h, nil
}

// newSessionManager keeps sessions in the database, through store, so they
// survive restarts. Cookies are Secure when the app is served over https.
func newSessionManager(store *sessionStore, secure bool) *scs.SessionManager {
	sessions := scs.New()
	sessions.Codec = store.codec
	sessions.Store = store
	sessions.Lifetime = 14 * 24 * time.Hour
	sessions.IdleTimeout = 7 * 24 * time.Hour
	sessions.Cookie.Name = "eventhive_session"
	sessions.Cookie.HttpOnly = true
	sessions.Cookie.SameSite = http.SameSiteLaxMode
	sessions.Cookie.Secure = secure
	return sessions
}
