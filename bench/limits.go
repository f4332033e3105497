package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/eventhive/eventhive/handlers"
	"github.com/eventhive/eventhive/live"
	"github.com/eventhive/eventhive/metrics"
	"github.com/eventhive/eventhive/payments"
	"github.com/eventhive/eventhive/store"
)

// storeLimits runs the store's BenchmarkCreateOrder on the dialect (on
// PostgreSQL at pgURL) and returns claims/s by "dialect/river" and
// "dialect/no_river", the benchmark process's CPU µs a claim by
// "dialect/river/cpu" and "dialect/no_river/cpu", and PostgreSQL's by
// "postgres/river/database". It is a Go benchmark because measuring the
// claim without River's insert needs the store's internals
// (store/export_test.go).
func storeLimits(ctx context.Context, dialect store.Dialect, pgURL string) (map[string]float64, error) {
	root, err := moduleDir()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "^BenchmarkCreateOrder$/^"+string(dialect)+"$",
		"-benchtime", "5000x", "-count", "1", "./store")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "TEST_DATABASE_URL="+pgURL)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go test -bench: %w\n%s", err, out.String())
	}
	limits := parseClaimLimits(bytes.NewReader(out.Bytes()))
	if len(limits) == 0 {
		return nil, fmt.Errorf("no results from go test -bench:\n%s", out.String())
	}
	return limits, nil
}

// parseClaimLimits reads BenchmarkCreateOrder's results from go test's
// output, as storeLimits returns them.
func parseClaimLimits(out io.Reader) map[string]float64 {
	line := regexp.MustCompile(`^BenchmarkCreateOrder/(\w+/\w+)-\d+\s+\d+\s+(.*)$`)
	metric := regexp.MustCompile(`([\d.]+) (\S+)`)
	key := map[string]string{"claims/s": "", "cpu-µs/claim": "/cpu", "pg-cpu-µs/claim": "/database",
		"switches/claim": "/switches", "pg-switches/claim": "/database-switches"}
	limits := map[string]float64{}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		for _, v := range metric.FindAllStringSubmatch(m[2], -1) {
			if suffix, ok := key[v[2]]; ok {
				limits[m[1]+suffix], _ = strconv.ParseFloat(v[1], 64)
			}
		}
	}
	return limits
}

// noopLimits serves, in this process, the app's own handlers (handlers.New,
// Routes) on a fresh database of the dialect, with one more route behind the
// same router and middleware that does nothing, and measures it: GET by
// signed-out visitors at 64 connections (the listing's setting), and POST
// by the rush's signed-in buyers (the rush's setting, sessions and the
// signed-in user loaded as for POST /orders).
func noopLimits(ctx context.Context, dir string, dialect store.Dialect, pgURL string, o options) (get, post *stats, err error) {
	db, err := newDatabase(ctx, dialect, dir, "noop", pgURL)
	if err != nil {
		return nil, nil, err
	}
	defer db.drop()
	st, err := openStore(ctx, db.url)
	if err != nil {
		return nil, nil, err
	}
	sdb := st.DB()
	defer sdb.Close()
	if err := sdb.Migrate(ctx); err != nil {
		return nil, nil, err
	}
	logs, err := os.Create(filepath.Join(dir, "noop-"+string(dialect)+".log"))
	if err != nil {
		return nil, nil, err
	}
	defer logs.Close()
	log := slog.New(handlers.WithRequestIDs(slog.NewJSONHandler(logs, nil)))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	base := "http://" + ln.Addr().String()
	// The hub main would give the app: on PostgreSQL, one that listens, so
	// that the handlers keep sessions and users in memory as the app's do.
	hub := live.New(log)
	if dialect == store.Postgres {
		if hub, err = live.NewPostgres(ctx, sdb.Write, db.url, log); err != nil {
			ln.Close()
			return nil, nil, err
		}
	}
	defer hub.Close()
	done := make(chan struct{}) // closed before the database, as main does
	defer close(done)
	h, err := handlers.New(handlers.Config{
		BaseURL: base, OrderHold: time.Hour, Currency: "usd", StripeWebhookSecret: webhookSecret, TrustProxyHeaders: true,
		StripeConnectWebhookSecret: rand.Text(), Done: done,
	}, handlers.Deps{
		Store: st, Checkout: payments.NewBuiltin(base, webhookSecret), Live: hub, Metrics: metrics.New(),
		Log: log, Now: func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		ln.Close()
		return nil, nil, err
	}
	noop := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	}
	srv := &http.Server{Handler: h.Routes(func(r chi.Router) {
		r.Get("/bench/noop", noop)
		r.Post("/bench/noop", noop)
	})}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()

	_, buyers, err := seedUsers(ctx, st, o.buyers)
	if err != nil {
		return nil, nil, err
	}
	c := newClient(base, o.buyers+10)
	if err := signIn(ctx, c, buyers); err != nil {
		return nil, nil, err
	}

	gc := newClient(base, 64)
	get = closedLoop(ctx, 64, 10_000_000, o.noop, func(ctx context.Context, _, _ int) (int, error) {
		resp, err := gc.do(ctx, http.MethodGet, "/bench/noop", "", nil, nil, "", false)
		return resp.status, err
	})
	post = closedLoop(ctx, len(buyers), 10_000_000, o.noop, func(ctx context.Context, w, _ int) (int, error) {
		resp, err := c.do(ctx, http.MethodPost, "/bench/noop", buyers[w].cookie, nil, nil, "", false)
		return resp.status, err
	})
	return get, post, nil
}
