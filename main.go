// Command eventhive is a ticket marketplace: people list tickets, others buy
// them, and each purchase holds its ticket for a short payment window. One
// process serves the HTML pages, runs the background jobs and keeps the data
// in SQLite (the default) or PostgreSQL.
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
	// The binary carries the zone database, so that events' time zones work
	// on machines and images that have none.
	_ "time/tzdata"

	"github.com/riverqueue/river"

	"github.com/eventhive/eventhive/handlers"
	"github.com/eventhive/eventhive/jobs"
	"github.com/eventhive/eventhive/live"
	"github.com/eventhive/eventhive/mail"
	"github.com/eventhive/eventhive/metrics"
	"github.com/eventhive/eventhive/payments"
	"github.com/eventhive/eventhive/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "eventhive:", err)
		os.Exit(1)
	}
}

// run starts EventHive and serves until ctx is cancelled, then shuts down:
// it stops taking requests, lets those in flight finish, stops the job
// workers and closes the database. With arguments it runs a subcommand
// instead: move-to-postgres, or admin confirm.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "move-to-postgres" {
		return runMove(ctx, args[1:], getenv, stdout)
	}
	if len(args) > 0 && args[0] == "admin" {
		return runAdmin(ctx, args[1:], getenv, stdout)
	}
	if len(args) > 0 {
		return fmt.Errorf("unknown arguments %q: eventhive is configured through the environment (see README)", args)
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := slog.New(handlers.WithRequestIDs(newLogger(stdout).Handler()))

	db, err := openMigrated(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	m := metrics.New()
	st, err := store.New(db, store.WithMaxHolds(cfg.MaxHoldsPerBuyer), store.WithHoldCooldown(store.DefaultCooldown),
		store.WithPriceCap(cfg.ResaleCap.Max), store.WithObserver(m), store.WithMailHost(urlHost(cfg.BaseURL)),
		store.WithPayoutTerms(cfg.Payouts))
	if err != nil {
		return err
	}
	if err := st.LoadPassKey(ctx, cfg.PassSigningKey); err != nil {
		return fmt.Errorf("pass signing key: %w", err)
	}
	hub, err := newHub(ctx, db, cfg.DatabaseURL, log.With("component", "live"))
	if err != nil {
		return err
	}
	defer hub.Close()

	now := func() time.Time { return time.Now().UTC() }
	checkout, webhookSecret, connectSecret := newCheckout(cfg, now)
	sender, err := newSender(cfg, log.With("component", "mail"))
	if err != nil {
		return err
	}
	workers, err := jobs.NewClient(db.RiverDriver(), jobs.Deps{Store: st, Stripe: checkout, Now: now, Live: hub, Mail: sender, BaseURL: cfg.BaseURL},
		log.With("component", "river"))
	if err != nil {
		return fmt.Errorf("river: %w", err)
	}
	m.ObserveJobs(ctx, workers)
	jobsUI, err := handlers.NewJobsUI(ctx, db.RiverDriver(), log.With("component", "riverui"))
	if err != nil {
		return err
	}
	h, err := handlers.New(handlers.Config{
		BaseURL:                    cfg.BaseURL,
		OrderHold:                  cfg.OrderHold,
		Currency:                   cfg.Currency,
		StripeWebhookSecret:        webhookSecret,
		StripeConnectWebhookSecret: connectSecret,
		AdminEmails:                cfg.AdminEmails,
		JobsUI:                     jobsUI,
		MailToLog:                  cfg.SMTP == nil,
		TrustProxyHeaders:          cfg.TrustProxyHeaders,
		ResaleCap:                  cfg.ResaleCap,
		DefaultTimeZone:            cfg.DefaultTimeZone,
		Done:                       ctx.Done(), // ends the event streams, which Shutdown would wait for
		MaxLiveStreams:             cfg.MaxLiveStreams,
	}, handlers.Deps{Store: st, Checkout: checkout, Live: hub, Metrics: m, Log: log, Now: now})
	if err != nil {
		return err
	}

	srv := &http.Server{
		Addr:              ":" + strconv.Itoa(cfg.Port),
		Handler:           h.Routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		return err
	}

	if err := workers.Start(ctx); err != nil {
		ln.Close()
		return fmt.Errorf("start jobs: %w", err)
	}
	log.Info("eventhive started", "url", cfg.BaseURL, "addr", ln.Addr().String(),
		"database", string(db.Dialect), "order_hold", cfg.OrderHold.String(), "stripe", cfg.StripeSecretKey != "",
		"smtp", cfg.SMTP != nil)

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	if cfg.MetricsPort != 0 {
		// Metrics and profiles get a port of their own, which fly.toml
		// scrapes and does not publish: they are for the operator, not the
		// internet.
		metricsSrv := &http.Server{Addr: ":" + strconv.Itoa(cfg.MetricsPort), Handler: operatorRoutes(m), ReadHeaderTimeout: 5 * time.Second}
		go func() { serveErr <- metricsSrv.ListenAndServe() }()
		defer metricsSrv.Close()
	}

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if err := stopWorkers(workers); err != nil {
		log.Error("stop jobs", "err", err)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	log.Info("stopped")
	return err
}

// stopWorkers lets running jobs finish for a while, then cancels them; a
// cancelled job is retried after restart.
func stopWorkers(workers *river.Client[*sql.Tx]) error {
	soft, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := workers.Stop(soft); err == nil {
		return nil
	}
	hard, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return workers.StopAndCancel(hard)
}

// newHub returns the hub that tells open pages of changes: in-process on
// SQLite, shared by every instance through LISTEN/NOTIFY on PostgreSQL.
func newHub(ctx context.Context, db *store.DB, url string, log *slog.Logger) (*live.Hub, error) {
	if db.Dialect == store.Postgres {
		return live.NewPostgres(ctx, db.Write, url, log)
	}
	return live.New(log), nil
}

// checkout is a payment provider: Stripe, or the built-in checkout and
// payouts.
type checkout interface {
	handlers.Checkout
	handlers.Connect
	jobs.Stripe
}

// newCheckout returns Stripe when a secret key is configured, and otherwise
// the built-in checkout and payouts, with random webhook secrets for the
// platform's and the Connect endpoint unless they are set. It returns those
// secrets.
func newCheckout(cfg config, now func() time.Time) (c checkout, webhookSecret, connectSecret string) {
	if cfg.StripeSecretKey != "" {
		return payments.NewStripe(cfg.StripeSecretKey, cfg.StripeAPIURL, now), cfg.StripeWebhookSecret, cfg.StripeConnectWebhookSecret
	}
	webhookSecret, connectSecret = cfg.StripeWebhookSecret, cfg.StripeConnectWebhookSecret
	if webhookSecret == "" {
		webhookSecret = rand.Text()
	}
	if connectSecret == "" {
		connectSecret = rand.Text()
	}
	return payments.NewBuiltin(cfg.BaseURL, webhookSecret), webhookSecret, connectSecret
}

// newSender sends mail through the SMTP server configured, or else writes
// it to the log.
func newSender(cfg config, log *slog.Logger) (mail.Sender, error) {
	if cfg.SMTP == nil {
		return mail.LogSender{Log: log}, nil
	}
	return mail.NewSMTPSender(*cfg.SMTP, cfg.MailFrom)
}

// urlHost is the host of an absolute URL, without its port.
func urlHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// newLogger logs text to a terminal and JSON anywhere else.
func newLogger(w io.Writer) *slog.Logger {
	if f, ok := w.(*os.File); ok {
		if info, err := f.Stat(); err == nil && info.Mode()&os.ModeCharDevice != 0 {
			return slog.New(slog.NewTextHandler(w, nil))
		}
	}
	return slog.New(slog.NewJSONHandler(w, nil))
}

// operatorRoutes serves the operator's port: Prometheus metrics at /metrics
// and Go's profiles under /debug/pprof/ (go tool pprof reads them).
func operatorRoutes(m *metrics.Metrics) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// openMigrated opens the database at url and brings its tables up to date.
func openMigrated(ctx context.Context, url string) (*store.DB, error) {
	db, err := store.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return db, nil
}
