package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
	"golang.org/x/crypto/bcrypt"

	"github.com/eventhive/eventhive/store"
)

const (
	password      = "bench password"
	webhookSecret = "whsec_eventhive_bench"
)

// buyer is a signed-in user of the load generator.
type buyer struct {
	id     int64
	email  string
	cookie string
}

// runSuite starts the app on a fresh database of the dialect and runs the
// phases against it.
func runSuite(ctx context.Context, o options, bin, dir string, dialect store.Dialect, pgURL string) (*report, error) {
	r := &report{dialect: dialect, opts: o, loadBefore: loadAverage()}
	db, err := newDatabase(ctx, dialect, dir, "app", pgURL)
	if err != nil {
		return nil, err
	}
	defer db.drop()

	progress("%s: starting the app", dialect)
	a, err := startApp(bin, db, filepath.Join(dir, "app-"+string(dialect)+".log"), o.profile != "",
		"ORDER_HOLD=1h", "STRIPE_WEBHOOK_SECRET="+webhookSecret, "STRIPE_SECRET_KEY=", "TRUST_PROXY_HEADERS=true")
	if err != nil {
		return nil, err
	}
	defer a.stop()
	r.rssIdle, _ = procStatus(a.cmd.Process.Pid, "VmRSS")

	st, err := openStore(ctx, db.url)
	if err != nil {
		return nil, err
	}
	defer st.DB().Close()
	seller, buyers, err := seedUsers(ctx, st, o.buyers)
	if err != nil {
		return nil, err
	}
	c := newClient(a.url, o.buyers+10)
	progress("%s: signing in %d buyers", dialect, len(buyers))
	if err := signIn(ctx, c, buyers); err != nil {
		return nil, err
	}

	progress("%s: (b) listing", dialect)
	stopProfile := a.profile(o.profile, string(dialect)+"-listing")
	meter := cpuMeter{appPID: a.cmd.Process.Pid, database: dialect == store.Postgres}
	r.listing, err = listing(ctx, c, st, seller, o, meter)
	stopProfile()
	if err != nil {
		return nil, err
	}

	progress("%s: (a) rush", dialect)
	rss := sampleRSS(a.cmd.Process.Pid)
	r.rush, err = rush(ctx, c, st, seller, buyers, o)
	if err != nil {
		rss.Max()
		return nil, err
	}
	if err == nil {
		progress("%s: (a) holds, a ticket each", dialect)
		stopProfile := a.profile(o.profile, string(dialect)+"-holds")
		r.own, err = sustained(ctx, c, st, seller, buyers, o, meter)
		stopProfile()
	}
	if err == nil {
		progress("%s: (a) one hot ticket", dialect)
		r.hot, err = hotTicket(ctx, c, st, seller, buyers)
	}
	r.rssRush = rss.Max()
	if err != nil {
		return nil, err
	}

	progress("%s: (c) webhooks", dialect)
	if r.webhooks, err = webhooks(ctx, c, st, o); err != nil {
		return nil, err
	}

	progress("%s: (d) expiry of %d holds ending together, %s after they start", dialect, o.expiries, o.hold)
	if r.expiry, err = expiry(ctx, st, seller, buyers, o); err != nil {
		return nil, err
	}
	r.rssPeak, _ = procStatus(a.cmd.Process.Pid, "VmHWM")

	progress("%s: (e) a handler that does nothing, behind the same router and middleware", dialect)
	if r.noopGet, r.noopPost, err = noopLimits(ctx, dir, dialect, pgURL, o); err != nil {
		return nil, err
	}
	r.loadAfter = loadAverage()
	return r, nil
}

// seedUsers creates a seller and n buyers straight in the database. Their
// password hash has bcrypt's lowest cost, so that signing them in (a real
// sign-in over HTTP) does not take minutes; the app accepts any bcrypt hash.
func seedUsers(ctx context.Context, st *store.Store, n int) (store.User, []*buyer, error) {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		return store.User{}, nil, err
	}
	now := time.Now().UTC()
	seller, err := st.CreateUser(ctx, "seller@bench.example", string(hash), now)
	if err != nil {
		return store.User{}, nil, err
	}
	buyers := make([]*buyer, n)
	for i := range buyers {
		email := fmt.Sprintf("buyer-%d@bench.example", i)
		u, err := st.CreateUser(ctx, email, string(hash), now)
		if err != nil {
			return store.User{}, nil, err
		}
		buyers[i] = &buyer{id: u.ID, email: email}
	}
	return seller, buyers, nil
}

// signIn signs every buyer in over HTTP and keeps their session cookies.
func signIn(ctx context.Context, c *client, buyers []*buyer) error {
	var next atomic.Int64
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(buyers) {
					return
				}
				b := buyers[i]
				// Each buyer signs in from an address of its own, as a
				// proxy in front of the app says (TRUST_PROXY_HEADERS):
				// the app limits sign-ins per address.
				ip := http.Header{"X-Forwarded-For": {fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)}}
				resp, err := c.do(ctx, http.MethodPost, "/signin", "", url.Values{"email": {b.email}, "password": {password}}, ip, "", false)
				if err == nil && (resp.status != http.StatusSeeOther || resp.cookie == "") {
					err = fmt.Errorf("sign-in of %s: status %d", b.email, resp.status)
				}
				if err != nil {
					errs <- err
					return
				}
				b.cookie = resp.cookie
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// createTickets lists n tickets for the seller straight in the database.
func createTickets(ctx context.Context, st *store.Store, seller store.User, n int, title string) ([]int64, error) {
	ids := make([]int64, n)
	now := time.Now().UTC()
	for i := range ids {
		t, err := st.CreateListing(ctx, seller.ID, store.Single(fmt.Sprintf("%s %d", title, i+1), 2500+int64(i%50)*100, "usd"), now)
		if err != nil {
			return nil, err
		}
		ids[i] = t.ID
	}
	// Statistics of the new rows, as a database that has run for minutes
	// has them.
	return ids, st.DB().Analyze(ctx)
}

// listing measures GET / by signed-out visitors with exactly 100 tickets
// for sale, at 64 connections, and the CPU it takes.
func listing(ctx context.Context, c *client, st *store.Store, seller store.User, o options, meter cpuMeter) (*stats, error) {
	if _, err := createTickets(ctx, st, seller, 100, "Listing ticket"); err != nil {
		return nil, err
	}
	forSale, err := st.ListingsForSale(ctx, time.Now().UTC(), "", 1000, 0)
	if err != nil {
		return nil, err
	}
	if len(forSale) != 100 {
		return nil, fmt.Errorf("%d tickets for sale, want 100", len(forSale))
	}
	lc := newClient(c.base, 64)
	before := meter.now()
	s := closedLoop(ctx, 64, 1_000_000, o.listing, func(ctx context.Context, _, _ int) (int, error) {
		resp, err := lc.do(ctx, http.MethodGet, "/", "", nil, nil, "", false)
		return resp.status, err
	})
	s.cpu = meter.now().since(before)
	return s, nil
}

// rushResult is the rush over several rounds of fresh tickets.
type rushResult struct {
	attempts *stats // every POST /orders
	holds    int    // 303s: a buyer holds a ticket
	tickets  int
	elapsed  time.Duration // sum of the rounds' durations
	oversold int           // tickets with more than one live order, in the database
	lost     int           // holds confirmed to a buyer but not in the database, or the reverse
	errors   int           // answers other than 303 and 409, and transport errors
}

func (r *rushResult) holdsPerSecond() float64 { return float64(r.holds) / r.elapsed.Seconds() }

// rush runs rounds in which every buyer starts at the same instant and
// tries tickets in random order (skipping those it has seen taken, as a
// listing kept live would) until it holds one or none is left. After each
// round the database is checked and the holds are cancelled, so that no
// buyer reaches the app's limit of holds per buyer.
func rush(ctx context.Context, c *client, st *store.Store, seller store.User, buyers []*buyer, o options) (*rushResult, error) {
	res := &rushResult{attempts: newStats()}
	for round := range o.rounds {
		tickets, err := createTickets(ctx, st, seller, o.tickets, fmt.Sprintf("Rush %d ticket", round+1))
		if err != nil {
			return nil, err
		}
		s, wins, elapsed := race(ctx, c, buyers, tickets, 50)
		res.attempts.merge(s)
		res.elapsed += elapsed
		res.tickets += len(tickets)
		res.errors += s.errors + s.unexpected(http.StatusSeeOther, http.StatusConflict)
		if err := checkRound(ctx, st, tickets, wins, res); err != nil {
			return nil, err
		}
	}
	res.attempts.elapsed = res.elapsed
	return res, nil
}

// win is a hold confirmed to a buyer: a 303 to its order.
type win struct {
	buyer   *buyer
	orderID int64
}

// race lets buyers race for tickets, each trying at most maxTries of them
// (with one try each, every buyer tries, even a ticket seen taken).
// It returns the attempts, the wins by ticket and the time from the start
// until the last buyer finished.
func race(ctx context.Context, c *client, buyers []*buyer, tickets []int64, maxTries int) (*stats, map[int64][]win, time.Duration) {
	return raceFor(ctx, c, buyers, tickets, maxTries, false)
}

// raceFor is race; with own, buyer i tries only ticket i, so nobody collides.
func raceFor(ctx context.Context, c *client, buyers []*buyer, tickets []int64, maxTries int, own bool) (*stats, map[int64][]win, time.Duration) {
	taken := make([]atomic.Bool, len(tickets))
	var mu sync.Mutex
	all := newStats()
	wins := map[int64][]win{}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for bi, b := range buyers {
		wg.Go(func() {
			mine := newStats()
			defer func() { mu.Lock(); all.merge(mine); mu.Unlock() }()
			<-start
			free := make([]int, 0, len(tickets))
			for range maxTries {
				free = free[:0]
				for i := range tickets {
					if !taken[i].Load() || maxTries == 1 {
						free = append(free, i)
					}
				}
				if len(free) == 0 {
					return
				}
				i := free[rand.IntN(len(free))]
				if own {
					i = bi % len(tickets)
				}
				t := time.Now()
				resp, err := c.do(ctx, http.MethodPost, "/orders", b.cookie,
					url.Values{"ticket_id": {strconv.FormatInt(tickets[i], 10)}}, nil, "", false)
				mine.add(time.Since(t), resp.status, err)
				switch {
				case err != nil:
					return
				case resp.status == http.StatusSeeOther:
					taken[i].Store(true)
					id, _ := strconv.ParseInt(strings.TrimPrefix(resp.location, "/orders/"), 10, 64)
					mu.Lock()
					wins[tickets[i]] = append(wins[tickets[i]], win{buyer: b, orderID: id})
					mu.Unlock()
					return
				case resp.status == http.StatusConflict:
					taken[i].Store(true)
				default:
					return
				}
			}
		})
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	return all, wins, time.Since(t0)
}

// checkRound compares the holds confirmed to buyers with the live orders in
// the database, counts oversold tickets, then ends the round's holds.
func checkRound(ctx context.Context, st *store.Store, tickets []int64, wins map[int64][]win, res *rushResult) error {
	now := time.Now().UTC()
	live, err := liveOrders(ctx, st, tickets, now)
	if err != nil {
		return err
	}
	for _, t := range tickets {
		w := wins[t]
		res.holds += len(w)
		if len(w) > 1 || len(live[t]) > 1 {
			res.oversold++
		}
		if len(w) != len(live[t]) || (len(w) == 1 && w[0].orderID != live[t][0]) {
			res.lost++
		}
		// Marked paid straight in the database: a hold its buyer cancels
		// counts towards the app's cool-down, which would refuse the
		// buyers after a few rounds.
		for _, w := range w {
			if _, err := st.DB().Write.ExecContext(ctx, `UPDATE orders SET status = 'paid', paid_at = $1 WHERE id = $2`,
				now.UnixMilli(), w.orderID); err != nil {
				return fmt.Errorf("end order %d: %w", w.orderID, err)
			}
		}
	}
	return nil
}

// liveOrders reads, straight from the database, the orders that claim each
// ticket (a listing of one) at now: paid, or pending and unexpired. A ticket
// with more than one is oversold.
func liveOrders(ctx context.Context, st *store.Store, tickets []int64, now time.Time) (map[int64][]int64, error) {
	rows, err := st.DB().Read.QueryContext(ctx, `
		SELECT listing_id, id FROM orders
		WHERE listing_id >= $1 AND listing_id <= $2 AND (status = 'paid' OR (status = 'pending' AND expires_at > $3))`,
		tickets[0], tickets[len(tickets)-1], now.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	live := map[int64][]int64{}
	for rows.Next() {
		var ticket, order int64
		if err := rows.Scan(&ticket, &order); err != nil {
			return nil, err
		}
		live[ticket] = append(live[ticket], order)
	}
	return live, rows.Err()
}

// sustained measures holds without contention, to compare with the
// store's claim: in each round every buyer buys a ticket of its own, all at
// the same instant. The CPU is measured over the rounds alone, without the
// work between them. Every round's tickets are listed before the first: the
// ANALYZE after a seeding makes each of the app's connections rebuild its
// caches of the tables and plan its statements again, which the round of
// 500 holds that follows pays for (50 to 86 µs of PostgreSQL's CPU a hold,
// BENCHMARKS.md), and which a rush in production does not meet every
// quarter of a second.
func sustained(ctx context.Context, c *client, st *store.Store, seller store.User, buyers []*buyer, o options, meter cpuMeter) (*rushResult, error) {
	res := &rushResult{attempts: newStats()}
	rounds := make([][]int64, o.rounds)
	for round := range rounds {
		var err error
		if rounds[round], err = createTickets(ctx, st, seller, len(buyers), fmt.Sprintf("Own %d ticket", round+1)); err != nil {
			return nil, err
		}
	}
	for _, tickets := range rounds {
		before := meter.now()
		s, wins, elapsed := raceFor(ctx, c, buyers, tickets, 1, true)
		res.attempts.cpu = res.attempts.cpu.plus(meter.now().since(before))
		res.attempts.merge(s)
		res.elapsed += elapsed
		res.tickets += len(tickets)
		res.errors += s.errors + s.unexpected(http.StatusSeeOther)
		if err := checkRound(ctx, st, tickets, wins, res); err != nil {
			return nil, err
		}
	}
	res.attempts.elapsed = res.elapsed
	return res, nil
}

// hotTicket sends every buyer at one ticket at the same instant, once.
func hotTicket(ctx context.Context, c *client, st *store.Store, seller store.User, buyers []*buyer) (*rushResult, error) {
	tickets, err := createTickets(ctx, st, seller, 1, "Hot ticket")
	if err != nil {
		return nil, err
	}
	res := &rushResult{tickets: 1}
	s, wins, elapsed := race(ctx, c, buyers, tickets, 1)
	s.elapsed = elapsed
	res.attempts, res.elapsed = s, elapsed
	res.errors = s.errors + s.unexpected(http.StatusSeeOther, http.StatusConflict)
	return res, checkRound(ctx, st, tickets, wins, res)
}

// webhookResult is the webhook intake.
type webhookResult struct {
	requests   *stats
	distinct   int
	duplicates int
	stored     int           // events in the database afterwards
	processed  int           // of which processed by their River jobs
	processing time.Duration // from the first delivery until the last was processed
}

// webhooks posts correctly signed checkout.session.expired events (which
// the app stores and enqueues; their processing changes nothing), with a
// quarter as many repeats of them mixed in, at 32 connections.
func webhooks(ctx context.Context, c *client, st *store.Store, o options) (*webhookResult, error) {
	now := time.Now()
	type delivery struct{ payload, signature string }
	events := make([]delivery, o.webhooks)
	for i := range events {
		session, _ := json.Marshal(map[string]any{"id": fmt.Sprintf("cs_bench_%d", i), "object": "checkout.session", "status": "expired"})
		payload, err := json.Marshal(stripe.Event{
			ID: fmt.Sprintf("evt_bench_%d", i), Object: "event", Type: stripe.EventTypeCheckoutSessionExpired,
			APIVersion: stripe.APIVersion, Created: now.Unix(), Data: &stripe.EventData{Raw: session},
		})
		if err != nil {
			return nil, err
		}
		signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: webhookSecret, Timestamp: now})
		events[i] = delivery{string(payload), signed.Header}
	}
	// Every fifth delivery repeats an event delivered before it.
	var sequence []delivery
	for i, e := range events {
		sequence = append(sequence, e)
		if i%4 == 3 {
			sequence = append(sequence, events[rand.IntN(i+1)])
		}
	}
	wc := newClient(c.base, 32)
	start := time.Now()
	s := closedLoop(ctx, 32, len(sequence), 2*time.Minute, func(ctx context.Context, _, i int) (int, error) {
		d := sequence[i]
		resp, err := wc.do(ctx, http.MethodPost, "/webhooks/stripe", "", nil,
			http.Header{"Stripe-Signature": {d.signature}, "Content-Type": {"application/json"}}, d.payload, false)
		return resp.status, err
	})
	res := &webhookResult{requests: s, distinct: len(events), duplicates: len(sequence) - len(events)}
	err := st.DB().Read.QueryRowContext(ctx, `SELECT count(*) FROM stripe_events WHERE id LIKE 'evt_bench_%'`).Scan(&res.stored)
	if err != nil {
		return nil, err
	}
	// River works the events' jobs meanwhile and after: wait for the last,
	// so that the next phase starts with an empty queue.
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		err := st.DB().Read.QueryRowContext(ctx,
			`SELECT count(*) FROM stripe_events WHERE id LIKE 'evt_bench_%' AND processed_at IS NOT NULL`).Scan(&res.processed)
		if err != nil {
			return nil, err
		}
		if res.processed >= res.stored {
			break
		}
	}
	res.processing = time.Since(start)
	return res, nil
}

// expiryResult is the time from expires_at to the stored cancellation of
// holds that all end at the same instant.
type expiryResult struct {
	holds     int
	created   time.Duration // how long creating them took
	cancelled int
	late      []time.Duration
}

// expiry creates holds through the store (so that they share one expires_at
// to the millisecond; over HTTP each gets its own now), waits for them to
// end, and reads when each cancellation was stored.
func expiry(ctx context.Context, st *store.Store, seller store.User, buyers []*buyer, o options) (*expiryResult, error) {
	tickets, err := createTickets(ctx, st, seller, o.expiries, "Expiring ticket")
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	expires := now.Add(o.hold)
	res := &expiryResult{holds: len(tickets)}
	t0 := time.Now()
	for i, t := range tickets {
		if _, err := st.CreateOrder(ctx, buyers[i%len(buyers)].id, t, 1, now, o.hold); err != nil {
			return nil, fmt.Errorf("hold %d: %w", i, err)
		}
	}
	res.created = time.Since(t0)
	if res.created > o.hold/2 {
		return nil, fmt.Errorf("creating the holds took %s: use a longer -hold", res.created)
	}
	count := func() (int, error) {
		var n int
		err := st.DB().Read.QueryRowContext(ctx,
			`SELECT count(*) FROM orders WHERE expires_at = $1 AND status = 'cancelled'`, expires.UnixMilli()).Scan(&n)
		return n, err
	}
	time.Sleep(time.Until(expires))
	deadline := expires.Add(time.Minute)
	for {
		n, err := count()
		if err != nil {
			return nil, err
		}
		res.cancelled = n
		if n == res.holds || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	rows, err := st.DB().Read.QueryContext(ctx,
		`SELECT cancelled_at - expires_at FROM orders WHERE expires_at = $1 AND status = 'cancelled'`, expires.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var late int64
		if err := rows.Scan(&late); err != nil {
			return nil, err
		}
		res.late = append(res.late, time.Duration(late)*time.Millisecond)
	}
	return res, rows.Err()
}
