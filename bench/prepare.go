package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/eventhive/eventhive/store"
)

// A load generator of one's own (wrk) against an app someone else started:
// -prepare lists tickets and signs buyers in, in that app's database and
// through its HTTP, and writes a wrk script whose every request is one
// buyer's ask; -tally then reads what the database holds against what wrk's
// buyers were told.

// prepared is what -prepare leaves for -tally, in dir/prepared.json.
type prepared struct {
	Database string `json:"database"` // the app's DATABASE_URL
	Seller   int64  `json:"seller"`   // whose listings are asked for
	Tickets  int    `json:"tickets"`  // in those listings
	Asks     int    `json:"asks"`
}

// prepare readies, in the database at dbURL that the app at appURL uses,
// either the rush (with holds 0: one listing of o.rush.tickets tickets, and
// o.rush.buyers buyers each asking once for 1 to maxAsk of them) or (a)'s
// holds (holds listings of a ticket each, asked for by holds/maxAsk buyers,
// maxAsk each, every ask by another buyer than the one before). It signs
// the buyers in through the app and writes into dir the asks (asks.txt), a
// wrk script (wrk.lua) and prepared.json, and prints to w how to run wrk.
func prepare(ctx context.Context, w io.Writer, o options, holds int, appURL, dbURL, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	st, err := openStore(ctx, dbURL)
	if err != nil {
		return err
	}
	db := st.DB()
	defer db.Close()
	tag := strconv.FormatInt(time.Now().UnixMilli(), 36)
	seller, err := st.CreateUser(ctx, "seller-"+tag+"@bench.example", "x", time.Now().UTC())
	if err != nil {
		return err
	}
	p := prepared{Database: dbURL, Seller: seller.ID}
	var listings []int64
	buyers := o.rush.buyers
	if holds > 0 {
		p.Tickets = holds
		buyers = (holds + maxAsk - 1) / maxAsk
		progress("listing %d tickets, one a listing", holds)
		listings, err = createTickets(ctx, st, seller, holds, "Held "+tag)
	} else {
		p.Tickets = o.rush.tickets
		var l store.Listing
		l, err = bigListing(ctx, st, seller, "The rush "+tag, o.rush.tickets)
		listings = []int64{l.ID}
	}
	if err != nil {
		return err
	}
	bs, err := seedBuyers(ctx, db, buyers, "load-"+tag+"-")
	if err != nil {
		return err
	}
	progress("signing in %d buyers at %s", len(bs), appURL)
	if err := signIn(ctx, newClient(appURL, 16), bs); err != nil {
		return fmt.Errorf("%w (the app must be started with TRUST_PROXY_HEADERS=true: each buyer signs in from an X-Forwarded-For address of its own)", err)
	}
	// Each line of asks.txt is one request: a buyer's session cookie, the
	// listing and how many of its tickets.
	var asks strings.Builder
	ask := func(cookie string, listing int64, quantity int) {
		fmt.Fprintf(&asks, "%s %d %d\n", cookie, listing, quantity)
		p.Asks++
	}
	if holds > 0 {
		for i, l := range listings {
			ask(bs[i%len(bs)].cookie, l, 1)
		}
	} else {
		for _, b := range bs {
			ask(b.cookie, listings[0], 1+rand.IntN(maxAsk))
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "asks.txt"), []byte(asks.String()), 0o600); err != nil {
		return err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	script := strings.NewReplacer("{{dir}}", abs, "{{cookie}}", sessionCookie).Replace(wrkScript)
	if err := os.WriteFile(filepath.Join(dir, "wrk.lua"), []byte(script), 0o644); err != nil {
		return err
	}
	meta, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "prepared.json"), meta, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(w, `%d tickets in %d listing(s); %d asks by %d buyers signed in.
One instance:
  wrk -t2 -c500 -d60s --timeout 30s --latency -s %[5]s/wrk.lua %[6]s -- 2
Two instances, the asks split between them:
  wrk -t1 -c250 -d60s --timeout 30s --latency -s %[5]s/wrk.lua URL1 -- 1 0 2 &
  wrk -t1 -c250 -d60s --timeout 30s --latency -s %[5]s/wrk.lua URL2 -- 1 1 2
Then: go run ./bench -tally %[5]s
`, p.Tickets, len(listings), p.Asks, len(bs), abs, appURL)
	return nil
}

// wrkScript is the wrk script -prepare writes. Its arguments (after --) are
// wrk's thread count and, to split the asks between several wrk processes,
// this one's part and the number of parts. Each request is the next of the
// thread's asks (every threads × parts-th line of asks.txt). Once they are
// all sent, a connection waits, and the thread stops when the last answer
// has come; wrk itself runs for its -d, so its requests/s is over -d, and
// -tally's figures are the ones to read. Each thread writes to
// told-PART-THREAD.txt when it sent its first request and each answer: when
// it came (µs since 1970, from gettimeofday through LuaJIT's FFI), its
// status and its Location. A buyer told that fewer are left does not ask
// again: wrk does not say which request a response answers.
const wrkScript = `-- Written by go run ./bench -prepare.
-- wrk -t T -c C -d 60s -s wrk.lua URL -- T [PART PARTS]
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_usec; } eventhive_timeval;
int gettimeofday(eventhive_timeval *tv, void *tz);
]]
local tv = ffi.new("eventhive_timeval")
local function now()
  ffi.C.gettimeofday(tv, nil)
  return string.format("%.0f", tonumber(tv.tv_sec) * 1000000 + tonumber(tv.tv_usec))
end

local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  local threads = tonumber(args[1]) or 1
  local part, parts = tonumber(args[2]) or 0, tonumber(args[3]) or 1
  asks = {}
  for line in io.lines("{{dir}}/asks.txt") do
    local cookie, listing, quantity = line:match("(%S+) (%S+) (%S+)")
    asks[#asks + 1] = {cookie, "ticket_id=" .. listing .. "&quantity=" .. quantity}
  end
  stride = threads * parts
  nextAsk = id * parts + part + 1
  unclaimed = 0 -- this thread's asks no connection has claimed yet
  for i = nextAsk, #asks, stride do unclaimed = unclaimed + 1 end
  sent, answered = 0, 0
  -- wrk calls the first thread's request() once before the run, to see
  -- what it returns, and never sends that request.
  verifying = id == 0
  told = io.open("{{dir}}/told-" .. part .. "-" .. id .. ".txt", "w")
end

-- wrk asks for the delay before each request of a connection: none if it
-- claims one of the asks left, else longer than any run, so that the
-- request is never sent.
function delay()
  if unclaimed == 0 then
    return 3600000
  end
  unclaimed = unclaimed - 1
  return 0
end

function request()
  if verifying then
    verifying = false
    return wrk.format("GET", "/healthz")
  end
  if sent == 0 then
    told:write("start ", now(), "\n")
  end
  local a = asks[nextAsk]
  nextAsk = nextAsk + stride
  sent = sent + 1
  return wrk.format("POST", "/orders",
    {["Content-Type"] = "application/x-www-form-urlencoded", ["Cookie"] = "{{cookie}}=" .. a[1]}, a[2])
end

function response(status, headers, body)
  answered = answered + 1
  told:write(now(), " ", status, " ", headers["Location"] or "-", "\n")
  if unclaimed == 0 and answered == sent then
    told:flush()
    wrk.thread:stop()
  end
end
`

// tally compares the database of a -prepare'd run with what wrk's buyers
// were told, and prints the rates.
func tally(ctx context.Context, w io.Writer, dir string) error {
	raw, err := os.ReadFile(filepath.Join(dir, "prepared.json"))
	if err != nil {
		return err
	}
	var p prepared
	if err := json.Unmarshal(raw, &p); err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(dir, "told-*.txt"))
	if err != nil {
		return err
	}
	var a answers
	for _, name := range files {
		if err := a.read(name); err != nil {
			return err
		}
	}
	db, err := store.Open(ctx, p.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	const sellers = `listing_id IN (SELECT id FROM listings WHERE seller_id = $1)`
	var claimed int
	if err := db.Read.QueryRowContext(ctx, `SELECT count(*) FROM tickets WHERE claim_order_id IS NOT NULL AND `+sellers,
		p.Seller).Scan(&claimed); err != nil {
		return err
	}
	rows, err := db.Read.QueryContext(ctx, `SELECT id, quantity FROM orders WHERE status = 'pending' AND `+sellers, p.Seller)
	if err != nil {
		return err
	}
	defer rows.Close()
	var held, orders, untold int
	inDB := map[int64]bool{}
	for rows.Next() {
		var id int64
		var q int
		if err := rows.Scan(&id, &q); err != nil {
			return err
		}
		inDB[id] = true
		orders++
		held += q
		if a.told[id] != 1 {
			untold++
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var phantom int
	for id := range a.told {
		if !inDB[id] {
			phantom++
		}
	}
	fmt.Fprintf(w, "%d tickets; %d asks, %d answered (303: %d, 409: %d, other: %d)\n",
		p.Tickets, p.Asks, a.n, a.statuses[303], a.statuses[409], a.n-a.statuses[303]-a.statuses[409])
	fmt.Fprintf(w, "held: %d tickets in %d orders; tickets claimed: %d (want held = claimed ≤ %d)\n", held, orders, claimed, p.Tickets)
	fmt.Fprintf(w, "orders not told exactly once: %d; told but not held: %d (want 0, 0)\n", untold, phantom)
	if run := a.last.Sub(a.first); run > 0 {
		fmt.Fprintf(w, "first request to last answer: %.2f s, %.0f answers/s\n", run.Seconds(), float64(a.n)/run.Seconds())
	}
	if toLast := a.lastHold.Sub(a.first); toLast > 0 {
		fmt.Fprintf(w, "first request to last hold: %.2f s, %.0f tickets held/s\n", toLast.Seconds(), float64(held)/toLast.Seconds())
	}
	if a.n != p.Asks || held != claimed || held > p.Tickets || untold > 0 || phantom > 0 {
		return fmt.Errorf("asks unanswered, or the database and what the buyers were told disagree")
	}
	return nil
}

// answers are what the wrk script wrote of its requests and their answers.
type answers struct {
	n                     int
	statuses              map[int]int
	told                  map[int64]int // order id → 303s naming it
	first, last, lastHold time.Time     // first request, last answer, last 303
}

// read adds the lines of a told file: "start µs" when its thread sent its
// first request, "µs status location" for each answer.
func (a *answers) read(name string) error {
	if a.told == nil {
		a.told, a.statuses = map[int64]int{}, map[int]int{}
	}
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	bad := func() error {
		return fmt.Errorf("%s: %q is neither \"start µs\" nor \"µs status location\"", name, sc.Text())
	}
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 && fields[0] == "start" {
			at, err := micros(fields[1])
			if err != nil {
				return bad()
			}
			if a.first.IsZero() || at.Before(a.first) {
				a.first = at
			}
			continue
		}
		if len(fields) != 3 {
			return bad()
		}
		at, err := micros(fields[0])
		status, err2 := strconv.Atoi(fields[1])
		if err != nil || err2 != nil {
			return bad()
		}
		a.n++
		a.statuses[status]++
		if at.After(a.last) {
			a.last = at
		}
		if status == 303 {
			id, err := strconv.ParseInt(strings.TrimPrefix(fields[2], "/orders/"), 10, 64)
			if err != nil {
				return bad()
			}
			a.told[id]++
			if at.After(a.lastHold) {
				a.lastHold = at
			}
		}
	}
	return sc.Err()
}

// micros parses microseconds since 1970.
func micros(s string) (time.Time, error) {
	us, err := strconv.ParseInt(s, 10, 64)
	return time.UnixMicro(us), err
}
