package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/eventhive/eventhive/store"
)

// The on-sale rush the product exists for: one listing of many tickets, far
// more signed-in buyers, each asking for 1 to maxAsk tickets at once.
type bigRushOptions struct {
	buyers  int // signed-in buyers
	tickets int // the listing's tickets
	conns   int // requests in flight at once
}

// maxAsk is the most tickets a buyer asks for: the app's default
// MAX_HOLDS_PER_BUYER.
const maxAsk = 4

// bigRush is one run of the rush on one or more app instances.
type bigRush struct {
	instances int
	buyers    int
	tickets   int
	posts     *stats        // every POST /orders
	elapsed   time.Duration // from the start to the last answer
	soldOut   time.Duration // from the start to the answer that held the last ticket; 0 if some are left
	asked     int           // tickets asked for, first asks
	held      int           // tickets held, as the buyers were told (303s)
	holders   int           // buyers told they hold tickets
	refused   int           // buyers refused with 409 but for "only n left": sold out
	errors    int           // answers other than 303 and 409, and transport errors
	claimed   int           // tickets of the listing claimed, in the database
	ordered   int           // tickets in the listing's pending orders, in the database
	mismatch  int           // buyers whose orders in the database differ from what they were told
	rss       int64         // highest resident memory of an instance meanwhile
}

// heldPerSecond is tickets held per second until the listing sold out (or
// until the last answer, if it did not).
func (r *bigRush) heldPerSecond() float64 {
	d := r.soldOut
	if d == 0 {
		d = r.elapsed
	}
	return float64(r.held) / d.Seconds()
}

// runBigRush starts the app on a fresh database of the dialect, signs in
// the buyers and runs the rush; on PostgreSQL it then starts a second
// instance on the same database and runs it again, the buyers alternating
// between the two, on a fresh listing (the first rush's orders are marked
// paid straight in the database, so that they count neither as holds nor as
// lapses). It returns the runs done, also with an error.
func runBigRush(ctx context.Context, o options, bin, dir string, dialect store.Dialect, pgURL string) ([]*bigRush, error) {
	db, err := newDatabase(ctx, dialect, dir, "rush", pgURL)
	if err != nil {
		return nil, err
	}
	defer db.drop()
	env := []string{"ORDER_HOLD=1h", "STRIPE_WEBHOOK_SECRET=" + webhookSecret, "STRIPE_SECRET_KEY=", "TRUST_PROXY_HEADERS=true"}
	start := func(n int) (*app, error) {
		return startApp(bin, db, filepath.Join(dir, fmt.Sprintf("rush-%s-%d.log", dialect, n)), false, env...)
	}
	first, err := start(1)
	if err != nil {
		return nil, err
	}
	defer first.stop()
	st, err := openStore(ctx, db.url)
	if err != nil {
		return nil, err
	}
	defer st.DB().Close()
	progress("%s: rush: %d buyers", dialect, o.rush.buyers)
	buyers, err := seedBuyers(ctx, st.DB(), o.rush.buyers, "rush-")
	if err != nil {
		return nil, err
	}
	seller, err := st.CreateUser(ctx, "rush-seller@bench.example", "x", time.Now().UTC())
	if err != nil {
		return nil, err
	}
	c := newClient(first.url, o.rush.conns+10)
	if err := signIn(ctx, c, buyers); err != nil {
		return nil, err
	}

	progress("%s: rush: %d buyers for %d tickets, one instance", dialect, len(buyers), o.rush.tickets)
	one, err := rushOnce(ctx, st, seller, buyers, []*app{first}, o.rush)
	if err != nil {
		return nil, err
	}
	runs := []*bigRush{one}
	if dialect != store.Postgres {
		return runs, nil
	}
	if _, err := st.DB().Write.ExecContext(ctx, `UPDATE orders SET status = 'paid', paid_at = $1 WHERE status = 'pending'`,
		time.Now().UnixMilli()); err != nil {
		return nil, err
	}
	second, err := start(2)
	if err != nil {
		return runs, err
	}
	defer second.stop()
	progress("%s: rush: %d buyers for %d tickets, two instances", dialect, len(buyers), o.rush.tickets)
	two, err := rushOnce(ctx, st, seller, buyers, []*app{first, second}, o.rush)
	if err != nil {
		return runs, err
	}
	return append(runs, two), nil
}

// seedBuyers creates n buyers with one statement, emails prefix + n +
// "@bench.example", each with the same lowest-cost bcrypt hash of the
// benchmark's password.
func seedBuyers(ctx context.Context, db *store.DB, n int, prefix string) ([]*buyer, error) {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		return nil, err
	}
	if _, err := db.Write.ExecContext(ctx, `
		WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < $1)
		INSERT INTO users (email, password_hash, created_at)
		SELECT $4 || n || '@bench.example', $2, $3 FROM g`, n, string(hash), time.Now().UnixMilli(), prefix); err != nil {
		return nil, fmt.Errorf("seed buyers: %w", err)
	}
	rows, err := db.Read.QueryContext(ctx, `SELECT id, email FROM users WHERE email LIKE $1 || '%@bench.example' ORDER BY id`, prefix)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var buyers []*buyer
	for rows.Next() {
		b := &buyer{}
		if err := rows.Scan(&b.id, &b.email); err != nil {
			return nil, err
		}
		buyers = append(buyers, b)
	}
	return buyers, rows.Err()
}

// onlyLeft finds how many tickets are left in the page of a 409 that says
// fewer are left than asked for.
var onlyLeft = regexp.MustCompile(`Only (\d+) left`)

// rushOnce lists the tickets under one listing and lets every buyer, in a
// random order with conns requests in flight, ask for 1 to maxAsk of them
// through the instances in turn. A buyer told that fewer are left asks for
// those; any other 409 is "sold out" (or held by others, which at the end of
// a rush with hour-long holds is the same). Then it compares what
// the buyers were told with the database.
func rushOnce(ctx context.Context, st *store.Store, seller store.User, buyers []*buyer, apps []*app, o bigRushOptions) (*bigRush, error) {
	l, err := bigListing(ctx, st, seller, fmt.Sprintf("The rush on %d", len(apps)), o.tickets)
	if err != nil {
		return nil, err
	}
	clients := make([]*client, len(apps))
	samplers := make([]*rssSampler, len(apps))
	for i, a := range apps {
		clients[i] = newClient(a.url, o.conns)
		samplers[i] = sampleRSS(a.cmd.Process.Pid)
	}
	r := &bigRush{instances: len(apps), buyers: len(buyers), tickets: o.tickets, posts: newStats()}
	told := make([]int, len(buyers)) // tickets each buyer was told they hold
	order := rand.Perm(len(buyers))
	var next, held atomic.Int64
	var soldOut atomic.Int64 // ns from t0
	var mu sync.Mutex
	var wg sync.WaitGroup
	t0 := time.Now()
	for range o.conns {
		wg.Go(func() {
			own := newStats()
			var asked, errs, refused int
			for {
				i := int(next.Add(1)) - 1
				if i >= len(order) || ctx.Err() != nil {
					break
				}
				bi := order[i]
				c := clients[bi%len(clients)]
				q := 1 + rand.IntN(maxAsk)
				asked += q
				for {
					t := time.Now()
					resp, err := c.do(ctx, http.MethodPost, "/orders", buyers[bi].cookie,
						url.Values{"ticket_id": {strconv.FormatInt(l.ID, 10)}, "quantity": {strconv.Itoa(q)}}, nil, "", true)
					own.add(time.Since(t), resp.status, err)
					if err == nil && resp.status == http.StatusSeeOther {
						told[bi] = q
						if held.Add(int64(q)) == int64(o.tickets) {
							soldOut.Store(int64(time.Since(t0)))
						}
						break
					}
					// "Only 2 left: choose 2 or fewer.": as a buyer would.
					if m := onlyLeft.FindStringSubmatch(resp.body); err == nil && resp.status == http.StatusConflict && m != nil {
						if left, _ := strconv.Atoi(m[1]); left >= 1 && left < q {
							q = left
							continue
						}
					}
					if err == nil && resp.status == http.StatusConflict {
						refused++
					} else {
						errs++
					}
					break
				}
			}
			mu.Lock()
			r.posts.merge(own)
			r.asked += asked
			r.errors += errs
			r.refused += refused
			mu.Unlock()
		})
	}
	wg.Wait()
	r.elapsed = time.Since(t0)
	r.posts.elapsed = r.elapsed
	r.soldOut = time.Duration(soldOut.Load())
	for _, s := range samplers {
		r.rss = max(r.rss, s.Max())
	}
	for _, q := range told {
		if q > 0 {
			r.holders++
			r.held += q
		}
	}
	return r, checkBigRush(ctx, st.DB(), l.ID, buyers, told, r)
}

// bigListing lists n tickets under one listing. The app lets a seller list
// at most store.MaxQuantity tickets at once (and the database checks
// listings.quantity); the rest are added as ticket rows of the same
// listing straight in the database, which is all a claim looks at.
func bigListing(ctx context.Context, st *store.Store, seller store.User, name string, n int) (store.Listing, error) {
	first := min(n, store.MaxQuantity)
	l, err := st.CreateListing(ctx, seller.ID, store.NewListing{
		Event: store.NewEvent{Name: name, TimeZone: "UTC"}, Price: 5000, FaceValue: 5000, Currency: "usd", Quantity: first,
	}, time.Now().UTC())
	if err == nil && n > first {
		_, err = st.DB().Write.ExecContext(ctx, `
			WITH RECURSIVE seq (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < CAST($2 AS INTEGER))
			INSERT INTO tickets (listing_id) SELECT CAST($1 AS BIGINT) FROM seq`, l.ID, n-first)
	}
	if err != nil {
		return l, err
	}
	return l, st.DB().Analyze(ctx)
}

// checkBigRush reads the listing's claimed tickets and its buyers' pending
// orders from the database.
func checkBigRush(ctx context.Context, db *store.DB, listingID int64, buyers []*buyer, told []int, r *bigRush) error {
	if err := db.Read.QueryRowContext(ctx, `SELECT count(*) FROM tickets WHERE listing_id = $1 AND claim_order_id IS NOT NULL`,
		listingID).Scan(&r.claimed); err != nil {
		return err
	}
	rows, err := db.Read.QueryContext(ctx, `SELECT buyer_id, sum(quantity) FROM orders WHERE listing_id = $1 AND status = 'pending' GROUP BY buyer_id`, listingID)
	if err != nil {
		return err
	}
	defer rows.Close()
	inDB := map[int64]int{}
	for rows.Next() {
		var buyer int64
		var n int
		if err := rows.Scan(&buyer, &n); err != nil {
			return err
		}
		inDB[buyer] = n
		r.ordered += n
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i, b := range buyers {
		if inDB[b.id] != told[i] {
			r.mismatch++
		}
	}
	return nil
}

// printBigRush prints the rushes of one dialect.
func printBigRush(w io.Writer, runs []*bigRush) {
	if len(runs) == 0 {
		return
	}
	row := func(what, figure, target string) { fmt.Fprintf(w, "%-42s %-46s %s\n", what, figure, target) }
	for _, r := range runs {
		row(fmt.Sprintf("(g) rush, %d instance(s): %d buyers, %d tickets", r.instances, r.buyers, r.tickets),
			fmt.Sprintf("%.0f tickets held/s (sold out in %.1f s)", r.heldPerSecond(), r.soldOut.Seconds()), "")
		row("    POST /orders", fmt.Sprintf("%d, %.0f/s, %s", r.posts.n(), r.posts.rate(), r.posts.latencyText()), "")
		row("    asked, held (told), claimed, ordered (DB)", fmt.Sprintf("%d, %d, %d, %d", r.asked, r.held, r.claimed, r.ordered),
			fmt.Sprintf("held = claimed = ordered ≤ %d", r.tickets))
		row("    buyers holding, told sold out, errors", fmt.Sprintf("%d, %d, %d (sum %d)", r.holders, r.refused, r.errors,
			r.holders+r.refused+r.errors), fmt.Sprintf("sum %d, errors 0", r.buyers))
		row("    buyers told ≠ database", fmt.Sprint(r.mismatch), "0")
		row("    resident memory, peak of an instance", mb(r.rss), "")
	}
	if len(runs) == 2 && runs[0].heldPerSecond() > 0 {
		row("    two instances / one", fmt.Sprintf("%.2f", runs[1].heldPerSecond()/runs[0].heldPerSecond()), "")
	}
	fmt.Fprintln(w)
}

// addRushFlags declares the rush's flags.
func addRushFlags(o *bigRushOptions) {
	flag.IntVar(&o.buyers, "rush-buyers", 20000, "signed-in buyers in the rush for one listing (0 skips it)")
	flag.IntVar(&o.tickets, "rush-tickets", 5000, "tickets of the rush's listing")
	flag.IntVar(&o.conns, "rush-conns", 500, "requests in flight at once in the rush")
}
