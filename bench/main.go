// Command bench measures EventHive on this machine, as figures beside this
// machine's limits. Run it from the module's top directory:
//
//	go run ./bench
//
// It builds the app, starts it (the real binary, configured as in
// production but for a long ORDER_HOLD) on a fresh temporary SQLite
// database, and measures against 127.0.0.1, with bounded request counts and
// durations:
//
//	(a) the rush, over HTTP (POST /orders): 500 signed-in buyers each
//	    buying a ticket of their own at the same instant (holds/s to
//	    compare with the store's claim), racing for 200 tickets (several
//	    rounds), and for one hot ticket: holds/s, latency, errors, tickets
//	    oversold (checked in the database), and the app's resident memory
//	    meanwhile;
//	(b) the listing: GET / with 100 tickets for sale at 64 connections;
//	(c) webhook intake: correctly signed events, duplicates mixed in;
//	(d) expiry: 1,000 holds ending at the same instant, from expires_at to
//	    the stored cancellation;
//	(e) the limits: the store's claim transaction without HTTP, with and
//	    without River's insert (BenchmarkCreateOrder in store/, run by
//	    `go test`), and a handler that does nothing behind the same router
//	    and middleware.
//
// Then the same on PostgreSQL when TEST_DATABASE_URL is set. Figures are
// printed beside their limits and targets; nothing here fails on a figure.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"time"

	"github.com/eventhive/eventhive/store"
)

type options struct {
	rounds      int           // rush rounds of 200 tickets
	buyers      int           // signed-in buyers
	tickets     int           // tickets per rush round
	listing     time.Duration // how long the listing is measured
	webhooks    int           // distinct webhook events
	expiries    int           // holds ending at the same instant
	hold        time.Duration // their hold
	noop        time.Duration // how long each do-nothing measurement runs
	keep        bool          // keep the temporary directory
	app         string        // a binary to run instead of building one
	profile     string        // a directory for the app's CPU profiles, per phase
	skipLimits  bool
	onlyDialect string

	streams       int            // (f) live pages open on one event; 0: no phase (f)
	streamBuyers  int            // buyers rushing its tickets
	streamTickets int            // its tickets
	streamPages   string         // the viewers' pages: the event's ("event"), its listings' ("listing") or the home page ("home")
	onlyStreams   bool           // run phase (f) alone
	rush          bigRushOptions // (g), in rush.go
}

func main() {
	var o options
	flag.IntVar(&o.rounds, "rounds", 5, "rush rounds, each with fresh tickets")
	flag.IntVar(&o.buyers, "buyers", 500, "signed-in buyers in the rush")
	flag.IntVar(&o.tickets, "tickets", 200, "tickets per rush round")
	flag.DurationVar(&o.listing, "listing", 5*time.Second, "how long to measure the listing")
	flag.IntVar(&o.webhooks, "webhooks", 4000, "distinct webhook events (a quarter as many duplicates are added)")
	flag.IntVar(&o.expiries, "expiries", 1000, "holds ending at the same instant")
	flag.DurationVar(&o.hold, "hold", 20*time.Second, "hold of the expiring orders")
	flag.DurationVar(&o.noop, "noop", 3*time.Second, "how long each do-nothing handler measurement runs")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (databases, app logs)")
	flag.StringVar(&o.app, "app", "", "run this eventhive binary instead of building one")
	flag.StringVar(&o.profile, "profile", "", "record the app's CPU profile during the holds and the listing into this directory")
	flag.BoolVar(&o.skipLimits, "skip-store-limits", false, "do not run the store's Go benchmarks")
	flag.StringVar(&o.onlyDialect, "dialect", "", "run only sqlite or postgres")
	flag.IntVar(&o.streams, "streams", 20_000, "(f) live pages open on one event's listing (0: skip the phase)")
	flag.IntVar(&o.streamBuyers, "stream-buyers", 20_000, "(f) buyers rushing that event's tickets")
	flag.IntVar(&o.streamTickets, "stream-tickets", 5_000, "(f) that event's tickets")
	flag.StringVar(&o.streamPages, "stream-pages", "event", "(f) the pages open: the event's (event), its listings' (listing, spread evenly over them) or the home page's first list (home)")
	flag.BoolVar(&o.onlyStreams, "only-streams", false, "run only (f), the live pages")
	addRushFlags(&o.rush)
	prepareApp := flag.String("prepare", "", "instead of the benchmark: prepare the rush (-rush-buyers, -rush-tickets) or holds (-prepare-holds) for wrk against the app already running at this URL, started with TRUST_PROXY_HEADERS=true")
	prepareHolds := flag.Int("prepare-holds", 0, "with -prepare: instead of the rush, this many tickets a listing each, asked for by a quarter as many buyers")
	prepareDB := flag.String("prepare-db", "eventhive.db", "with -prepare: that app's DATABASE_URL")
	prepareDir := flag.String("prepare-dir", "rush", "with -prepare: where the wrk script, its asks and what -tally reads go")
	tallyDir := flag.String("tally", "", "instead of the benchmark: compare the database of a rush made with -prepare (this directory) with what wrk's buyers were told")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	switch {
	case *prepareApp != "":
		err = prepare(ctx, os.Stdout, o, *prepareHolds, *prepareApp, *prepareDB, *prepareDir)
	case *tallyDir != "":
		err = tally(ctx, os.Stdout, *tallyDir)
	default:
		err = run(ctx, o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	dir, err := os.MkdirTemp("", "eventhive-bench-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Println("keeping", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	fmt.Println("noise:", noise())
	printMachine()
	if o.profile != "" {
		if err := os.MkdirAll(o.profile, 0o755); err != nil {
			return err
		}
	}

	bin := o.app
	if bin == "" {
		progress("building the app")
		if bin, err = buildApp(dir); err != nil {
			return err
		}
	}

	pgURL := os.Getenv("TEST_DATABASE_URL")
	dialects := []store.Dialect{store.SQLite}
	if pgURL != "" {
		dialects = append(dialects, store.Postgres)
	}
	if o.onlyDialect != "" {
		dialects = []store.Dialect{store.Dialect(o.onlyDialect)}
	}

	var reports []*report
	var streamReports []*streamsResult
	rushes := map[store.Dialect][]*bigRush{}
	for _, dialect := range dialects {
		if o.streams > 0 {
			sr, err := runStreams(ctx, o, bin, dir, dialect, pgURL)
			if err != nil {
				return fmt.Errorf("%s: live pages: %w", dialect, err)
			}
			sr.print(os.Stdout) // now, and again with the rest at the end
			streamReports = append(streamReports, sr)
		}
		if o.onlyStreams {
			continue
		}
		// Measured just before the suite, not once for every dialect
		// first: on these VMs the CPU a claim moves by up to 45 % between
		// runs two minutes apart, in every process at once (BENCHMARKS.md,
		// 5 Dec), and (a)'s ratio should compare figures the machine gave
		// at the same speed.
		limits := map[string]float64{}
		if !o.skipLimits {
			progress("%s: store limits: go test -bench BenchmarkCreateOrder/%s ./store", dialect, dialect)
			if limits, err = storeLimits(ctx, dialect, pgURL); err != nil {
				return err
			}
		}
		r, err := runSuite(ctx, o, bin, dir, dialect, pgURL)
		if err != nil {
			return fmt.Errorf("%s: %w", dialect, err)
		}
		r.claimRiver = limits[string(dialect)+"/river"]
		r.claimNoRiver = limits[string(dialect)+"/no_river"]
		r.claimCPU = limits[string(dialect)+"/river/cpu"]
		r.claimDatabaseCPU = limits[string(dialect)+"/river/database"]
		r.claimSwitches = limits[string(dialect)+"/river/switches"]
		r.claimDatabaseSwitches = limits[string(dialect)+"/river/database-switches"]
		reports = append(reports, r)
		if o.rush.buyers > 0 {
			if rushes[dialect], err = runBigRush(ctx, o, bin, dir, dialect, pgURL); err != nil {
				progress("%s: rush: %v", dialect, err)
			}
		}
	}
	fmt.Println()
	for _, r := range reports {
		r.print(os.Stdout)
		printBigRush(os.Stdout, rushes[r.dialect])
	}
	for _, r := range streamReports {
		r.print(os.Stdout)
	}
	return nil
}

// printMachine prints what the figures were measured on.
func printMachine() {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if name, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
				model = strings.TrimSpace(value)
				break
			}
		}
	}
	fmt.Printf("machine: %d CPUs (%s), GOMAXPROCS %d, %s %s/%s, load average %s\n",
		runtime.NumCPU(), model, runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH, loadAverage())
}

// loadAverage is the 1-minute load average: other work on the machine
// makes every figure lower.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
