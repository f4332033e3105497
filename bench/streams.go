package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/eventhive/eventhive/store"
)

// streamsResult is phase (f): open live pages on one big event's listing
// while buyers rush its tickets.
type streamsResult struct {
	dialect            store.Dialect
	pages              string // what the viewers have open: "event" or "listing" pages
	noise              string
	asked, open        int
	refused, failed    int
	rssBefore, rssOpen int64 // the app's resident memory without and with the streams open
	heapBefore         int64 // the app's Go heap in use, after a collection
	heapOpen           int64
	gauge              string          // eventhive_live_streams_open as /metrics said
	tickets            int             // on sale in each rush
	alone, beside      *stats          // buyers' POST /orders with no page open, and with the streams open
	sales              int             // holds made in the rush beside the streams
	bytes, messages    int64           // received by all viewers during that rush
	reconnects         int64           // viewers that had to open their stream again
	lag                []time.Duration // per sale: its buyer's answer to the last viewer shown it
	missed             int             // sales some viewer was never shown
	delivery           buckets         // the app's eventhive_live_delivery_seconds over that rush
}

// raiseFileLimit lets this process, and the app it starts, hold up to n
// open files, as far as the hard limit allows (raising that needs
// privileges a container may not have). It returns the limit now.
func raiseFileLimit(n uint64) (int, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur < n {
		lim.Cur = min(n, lim.Max)
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, fmt.Errorf("raise the open files limit to %d: %w", lim.Cur, err)
		}
	}
	return int(lim.Cur), nil
}

// runStreams starts its own app on a fresh database of the dialect and
// measures it with o.streams pages open on one event.
func runStreams(ctx context.Context, o options, bin, dir string, dialect store.Dialect, pgURL string) (*streamsResult, error) {
	// Every page is a connection here and in the app, each process holding
	// at most its open-file limit; the app keeps 1,024 for the rest and
	// refuses streams past that (503).
	limit, err := raiseFileLimit(uint64(o.streams + 1_000))
	if err != nil {
		return nil, err
	}
	if o.streams > limit-1_000 {
		progress("%s: (f) the open files limit (ulimit -Hn) is %d: %d pages instead of %d", dialect, limit, limit-1_000, o.streams)
		o.streams = limit - 1_000
	}
	if o.streamPages != "event" && o.streamPages != "listing" && o.streamPages != "home" {
		return nil, fmt.Errorf("-stream-pages %q: event, listing or home", o.streamPages)
	}
	r := &streamsResult{dialect: dialect, pages: o.streamPages, asked: o.streams, tickets: o.streamTickets}
	progress("%s: (f) noise", dialect)
	r.noise = noise()
	db, err := newDatabase(ctx, dialect, dir, "streams", pgURL)
	if err != nil {
		return nil, err
	}
	defer db.drop()
	a, err := startApp(bin, db, filepath.Join(dir, "app-streams-"+string(dialect)+".log"), true,
		"ORDER_HOLD=1h", "STRIPE_WEBHOOK_SECRET="+webhookSecret, "STRIPE_SECRET_KEY=",
		"TRUST_PROXY_HEADERS=true", "MAX_LIVE_STREAMS="+strconv.Itoa(o.streams+100))
	if err != nil {
		return nil, err
	}
	defer a.stop()

	st, err := openStore(ctx, db.url)
	if err != nil {
		return nil, err
	}
	defer st.DB().Close()
	progress("%s: (f) seeding %d buyers", dialect, o.streamBuyers)
	seller, buyers, err := seedUsers(ctx, st, o.streamBuyers)
	if err != nil {
		return nil, err
	}
	c := newClient(a.url, 256)
	progress("%s: (f) signing them in", dialect)
	if err := signIn(ctx, c, buyers); err != nil {
		return nil, err
	}
	alone, err := bigEvent(ctx, st, seller, "Big night without viewers", o.streamTickets)
	if err != nil {
		return nil, err
	}
	watched, err := bigEvent(ctx, st, seller, "Big night", o.streamTickets)
	if err != nil {
		return nil, err
	}

	// Before the rush: its garbage, freed but not yet given back to the
	// system, would otherwise be counted before and not after (the
	// resident figure then counts what the rush keeps as the pages'; an
	// upper bound).
	r.rssBefore, r.heapBefore = a.memory()
	progress("%s: (f) rush with no page open: %d buyers, %d tickets", dialect, len(buyers), o.streamTickets)
	r.alone, _ = rushEvent(ctx, c, buyers, alone)

	// Each group of viewers watches one page; a sale is shown on its
	// group's page: the event's or the home page's list (one group), or its
	// listing's.
	paths := []string{"/events/" + strconv.FormatInt(watched[0].Event.ID, 10) + "/live"}
	groupOf := func(int) int { return 0 }
	switch o.streamPages {
	case "home":
		paths = []string{"/events/live"}
	case "listing":
		paths = paths[:0]
		for _, l := range watched {
			paths = append(paths, "/tickets/"+strconv.FormatInt(l.ID, 10)+"/live")
		}
		groupOf = func(listing int) int { return listing }
	}
	progress("%s: (f) opening %d live %s pages of /events/%d (%d listings)", dialect, o.streams, o.streamPages, watched[0].Event.ID, len(watched))
	v := openViewers(ctx, a.url, paths, o.streams, watched)
	defer v.close()
	r.open, r.refused, r.failed = v.counts()
	time.Sleep(2 * time.Second) // the first rendering reaches every page
	r.rssOpen, r.heapOpen = a.memory()
	r.gauge = a.metric("eventhive_live_streams_open")

	progress("%s: (f) rush beside %d open pages", dialect, r.open)
	deliveredBefore := a.buckets("eventhive_live_delivery_seconds")
	v.startCounting()
	var sold []sale
	stopProfile := a.profile(o.profile, string(dialect)+"-streams")
	r.beside, sold = rushEvent(ctx, c, buyers, watched)
	stopProfile()
	r.sales = len(sold)
	time.Sleep(2 * time.Second) // the last change reaches every page
	r.bytes, r.messages, r.reconnects = v.stopCounting()
	r.delivery = a.buckets("eventhive_live_delivery_seconds").minus(deliveredBefore)
	// The app closes the streams first, so that the closed connections
	// wait out TIME_WAIT on its side, not on ports of this machine's
	// ephemeral range that the next app may be given.
	v.closing.Store(true)
	a.stop()
	v.close()
	groups := make([][]time.Time, len(paths))
	tickets := make([]int, len(paths))
	for _, sl := range sold {
		g := groupOf(sl.listing)
		groups[g] = append(groups[g], sl.at)
	}
	for i, l := range watched {
		tickets[groupOf(i)] += l.Quantity
	}
	r.lag, r.missed = v.lags(groups, tickets)
	return r, nil
}

// bigEvent lists tickets for a new event, in listings of 20 (the most a
// listing may have) at prices that differ, straight in the database.
func bigEvent(ctx context.Context, st *store.Store, seller store.User, name string, tickets int) ([]store.Listing, error) {
	var ls []store.Listing
	now := time.Now().UTC()
	for i := 0; tickets > 0; i++ {
		n := min(tickets, store.MaxQuantity)
		nl := store.NewListing{Price: 5000 + int64(i%50)*100, FaceValue: 5000, Currency: "usd", Quantity: n}
		if len(ls) == 0 {
			nl.Event = store.NewEvent{Name: name, StartsAt: now.Add(30 * 24 * time.Hour).Truncate(time.Minute), TimeZone: "UTC"}
		} else {
			nl.EventID = ls[0].Event.ID
		}
		l, err := st.CreateListing(ctx, seller.ID, nl, now)
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		tickets -= n
	}
	return ls, st.DB().Analyze(ctx)
}

// sale is a hold a buyer was told of: when, and of which listing (its
// index).
type sale struct {
	at      time.Time
	listing int
}

// rushEvent has every buyer try once, 256 at a time, to hold one ticket of
// one of the event's listings (buyer i the listing i modulo their number).
// It returns the latencies and, in order, when each successful buyer had
// its answer: by then its hold had committed.
func rushEvent(ctx context.Context, c *client, buyers []*buyer, listings []store.Listing) (*stats, []sale) {
	var mu sync.Mutex
	var sold []sale
	s := closedLoop(ctx, 256, len(buyers), 10*time.Minute, func(ctx context.Context, _, i int) (int, error) {
		id := listings[i%len(listings)].ID
		resp, err := c.do(ctx, http.MethodPost, "/orders", buyers[i].cookie,
			url.Values{"ticket_id": {strconv.FormatInt(id, 10)}, "quantity": {"1"}}, nil, "", false)
		if err == nil && resp.status == http.StatusSeeOther {
			now := time.Now()
			mu.Lock()
			sold = append(sold, sale{at: now, listing: i % len(listings)})
			mu.Unlock()
		}
		return resp.status, err
	})
	slices.SortFunc(sold, func(a, b sale) int { return a.at.Compare(b.at) })
	return s, sold
}

// memory returns the app's resident memory and, after a collection (asked
// for through pprof), its Go heap in use.
func (a *app) memory() (rss, heap int64) {
	if resp, err := http.Get(a.operator + "/debug/pprof/heap?gc=1"); err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	heapText := a.metric("go_memstats_heap_inuse_bytes")
	h, _ := strconv.ParseFloat(heapText, 64)
	rss, _ = procStatus(a.cmd.Process.Pid, "VmRSS")
	return rss, int64(h)
}

// metric returns a metric's value as the app's /metrics writes it.
func (a *app) metric(name string) string {
	resp, err := http.Get(a.operator + "/metrics")
	if err != nil {
		return "?"
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return v
		}
	}
	return "?"
}

// buckets are a Prometheus histogram's cumulative counts, by upper bound
// ("le"), in the order /metrics writes them (ascending, +Inf last).
type buckets struct {
	le    []string
	count []float64
}

// buckets reads the histogram named from the app's /metrics.
func (a *app) buckets(name string) buckets {
	var b buckets
	resp, err := http.Get(a.operator + "/metrics")
	if err != nil {
		return b
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), name+`_bucket{le="`)
		if !ok {
			continue
		}
		le, value, ok := strings.Cut(rest, `"} `)
		n, err := strconv.ParseFloat(value, 64)
		if ok && err == nil {
			b.le, b.count = append(b.le, le), append(b.count, n)
		}
	}
	return b
}

// minus is what was counted since before.
func (b buckets) minus(before buckets) buckets {
	d := buckets{le: b.le, count: slices.Clone(b.count)}
	for i := range d.count {
		if i < len(before.count) {
			d.count[i] -= before.count[i]
		}
	}
	return d
}

// quantile returns the upper bound of the bucket the q-quantile falls in.
func (b buckets) quantile(q float64) string {
	if len(b.count) == 0 || b.count[len(b.count)-1] == 0 {
		return "?"
	}
	for i, c := range b.count {
		if c >= q*b.count[len(b.count)-1] {
			return b.le[i] + " s"
		}
	}
	return "?"
}

// viewers are open live pages, each a connection of its own that reads its
// stream as a browser would and notes when it was shown which count.
type viewers struct {
	base       string
	paths      []string // viewer i opens paths[i % len(paths)], the page of its group
	mu         sync.Mutex
	conns      []net.Conn
	open       atomic.Int64
	refused    atomic.Int64
	failed     atomic.Int64
	counting   atomic.Bool
	bytes      atomic.Int64
	messages   atomic.Int64
	reconnects atomic.Int64
	seen       [][]shown // per viewer, in order
	first      int64     // the id of the event's first listing: the others follow it
	listings   int
	event      int64 // the event's id, whose card the home page's list shows
	closing    atomic.Bool
	wg         sync.WaitGroup
}

// shown is a count of tickets left that a viewer was shown, and when.
type shown struct {
	at   time.Time
	left int
}

func openViewers(ctx context.Context, base string, paths []string, n int, listings []store.Listing) *viewers {
	v := &viewers{base: strings.TrimPrefix(base, "http://"), paths: paths, seen: make([][]shown, n),
		first: listings[0].ID, listings: len(listings), event: listings[0].Event.ID}
	ready := make(chan struct{}, n)
	sem := make(chan struct{}, 200) // connections being opened at once
	for i := range n {
		sem <- struct{}{}
		v.wg.Go(func() { v.view(ctx, i, sem, ready) })
	}
	for range n {
		<-ready
	}
	return v
}

// view opens viewer i's stream and reads it until the benchmark ends,
// opening it again when the app closes it.
func (v *viewers) view(ctx context.Context, i int, sem chan struct{}, ready chan struct{}) {
	first := true
	lastID := ""
	p := &page{left: make([]int32, v.listings), total: -1}
	for !v.closing.Load() && ctx.Err() == nil {
		conn, br, err := v.dial(i, lastID)
		if first {
			<-sem
			ready <- struct{}{}
			first = false
		} else if v.counting.Load() {
			v.reconnects.Add(1)
		}
		if err != nil {
			if isRefused(err) {
				v.refused.Add(1)
			} else {
				v.failed.Add(1)
			}
			return
		}
		v.open.Add(1)
		lastID = v.read(i, conn, br, p)
		v.open.Add(-1)
		if v.closing.Load() {
			return
		}
	}
}

type statusError int

func (e statusError) Error() string { return "status " + strconv.Itoa(int(e)) }

func isRefused(err error) bool {
	e, ok := err.(statusError)
	return ok && e == http.StatusServiceUnavailable
}

// dial opens a stream: from one of four loopback addresses, so that 20,000
// connections do not run out of ports.
func (v *viewers) dial(i int, lastID string) (net.Conn, *bufio.Reader, error) {
	d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%4))}}
	conn, err := d.Dial("tcp", v.base)
	if err != nil {
		return nil, nil, err
	}
	req := "GET " + v.paths[i%len(v.paths)] + " HTTP/1.1\r\nHost: " + v.base + "\r\nAccept: text/event-stream\r\n"
	if lastID != "" {
		req += "Last-Event-ID: " + lastID + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		conn.Close()
		return nil, nil, err
	}
	br := bufio.NewReaderSize(conn, 4096)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		conn.Close()
		return nil, nil, statusError(resp.StatusCode)
	}
	v.mu.Lock()
	v.conns = append(v.conns, conn)
	v.mu.Unlock()
	return conn, bufio.NewReaderSize(httputil.NewChunkedReader(br), 4096), nil
}

// page is what one viewer's page shows: tickets left by listing, and in
// all (-1 until its first message).
type page struct {
	left  []int32
	total int
}

func (p *page) set(v *viewers, id int64, left int) {
	i := id - v.first
	if i < 0 || i >= int64(len(p.left)) {
		return
	}
	p.total += left - int(p.left[i])
	p.left[i] = int32(left)
}

var (
	listingMark = []byte(`<li id="listing-`)
	leftMark    = []byte(`class="left">`)
	eventMark   = []byte(`<li id="event-`)
	offerMark   = []byte(`<p class="offer">`)
	linkEnd     = []byte(`">`)
)

// number reads the digits at the start of b.
func number(b []byte) int {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// read reads one stream's messages until it ends, as the page would apply
// them: a "listings" message replaces every count, a "counts" message
// changes some, a "buy" message (a listing's page) says its listing's, an
// "events" message (the home page) the event's on its card. It returns the
// id of the last message. It allocates nothing per message: with 20,000
// viewers on the app's machine, the readers' own work would otherwise be
// most of what the lag measures.
func (v *viewers) read(i int, conn net.Conn, br *bufio.Reader, p *page) (lastID string) {
	defer conn.Close()
	var id []byte
	defer func() { lastID = string(id) }()
	var name eventName
	var listing int64 // the listing being read in a "listings" message, the event in an "events" one
	for {
		line, err := br.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
		if v.counting.Load() {
			v.bytes.Add(int64(len(line)))
		}
		field, value, _ := bytes.Cut(line, []byte(": "))
		switch {
		case len(line) == 1: // the end of a message
			if name != none {
				if v.counting.Load() {
					v.messages.Add(1)
				}
				v.seen[i] = append(v.seen[i], shown{at: time.Now(), left: p.total})
			}
			name = none
		case string(field) == "id":
			id = append(id[:0], bytes.TrimSpace(value)...)
		case string(field) == "event":
			name = nameOf(bytes.TrimSpace(value))
			if name == listingsEvent {
				clear(p.left)
				p.total = 0
			}
		case string(field) != "data":
		case name == countsEvent:
			p.setCounts(v, value)
		case name == eventsEvent:
			// The home page's list: the event's card says "N tickets
			// from", "1 ticket from" or "No tickets for sale".
			if j := bytes.Index(line, eventMark); j >= 0 {
				listing = int64(number(line[j+len(eventMark):]))
			}
			if j := bytes.Index(line, offerMark); j >= 0 && listing == v.event {
				rest := line[j+len(offerMark):]
				p.total = 0
				if k := bytes.Index(rest, linkEnd); bytes.HasPrefix(rest, []byte("<a ")) && k >= 0 {
					p.total = number(rest[k+len(linkEnd):])
				}
			}
		case name == buyEvent:
			// A listing page's box: "N of M left".
			if j := bytes.Index(line, leftMark); j >= 0 {
				p.total = number(line[j+len(leftMark):])
			}
		case name == listingsEvent:
			if j := bytes.Index(line, listingMark); j >= 0 {
				listing = int64(number(line[j+len(listingMark):]))
			}
			if j := bytes.Index(line, leftMark); j >= 0 {
				p.set(v, listing, number(line[j+len(leftMark):]))
			}
		}
	}
}

// eventName is the name of a message the viewers read.
type eventName int

const (
	none eventName = iota // a comment, or a name the viewers ignore
	listingsEvent
	countsEvent
	eventsEvent
	buyEvent
)

func nameOf(b []byte) eventName {
	switch string(b) {
	case "listings":
		return listingsEvent
	case "counts":
		return countsEvent
	case "events":
		return eventsEvent
	case "buy":
		return buyEvent
	}
	return none
}

// setCounts applies a "counts" message's data: "id free sold,id free sold,...".
func (p *page) setCounts(v *viewers, data []byte) {
	var f [3]int
	n, inNumber := 0, false
	for _, c := range data {
		switch {
		case c >= '0' && c <= '9':
			if n < len(f) {
				f[n] = f[n]*10 + int(c-'0')
			}
			inNumber = true
			continue
		case inNumber:
			n++
			inNumber = false
		}
		if c == ',' || c == '\n' {
			if n == len(f) {
				p.set(v, int64(f[0]), f[1])
			}
			f, n = [3]int{}, 0
		}
	}
}

func (v *viewers) counts() (open, refused, failed int) {
	return int(v.open.Load()), int(v.refused.Load()), int(v.failed.Load())
}

func (v *viewers) startCounting() { v.counting.Store(true) }

func (v *viewers) stopCounting() (bytes, messages, reconnects int64) {
	v.counting.Store(false)
	return v.bytes.Load(), v.messages.Load(), v.reconnects.Load()
}

// lags returns, for the k-th sale of each group of viewers (sold[g][k-1],
// sorted), the time from its buyer's answer to when the group's last viewer
// was shown at most tickets[g]-k left: by that answer, at least k holds of
// the group's had committed. Viewer i is in group i modulo the number of
// groups. missed counts the sales some open viewer of their group was never
// shown.
func (v *viewers) lags(sold [][]time.Time, tickets []int) (lag []time.Duration, missed int) {
	for g := range sold {
		last := make([]time.Time, len(sold[g])+1) // by k
		seenBy := make([]int, len(sold[g])+1)
		viewers := 0
		for i := g; i < len(v.seen); i += len(sold) {
			seen := v.seen[i]
			if len(seen) == 0 {
				continue
			}
			viewers++
			k := 1
			for _, s := range seen {
				for ; k <= len(sold[g]) && s.left <= tickets[g]-k; k++ {
					if s.at.After(last[k]) {
						last[k] = s.at
					}
					seenBy[k]++
				}
			}
		}
		for k := 1; k <= len(sold[g]); k++ {
			if seenBy[k] < viewers {
				missed++
				continue
			}
			lag = append(lag, last[k].Sub(sold[g][k-1]))
		}
	}
	slices.Sort(lag)
	return lag, missed
}

func (v *viewers) close() {
	v.closing.Store(true)
	v.mu.Lock()
	for _, c := range v.conns {
		c.Close()
	}
	v.mu.Unlock()
	v.wg.Wait()
}

func (r *streamsResult) print(w io.Writer) {
	fmt.Fprintf(w, "\n== %s: (f) live pages: %d %s pages open on one event while %d buyers rush its %d tickets ==\n",
		r.dialect, r.open, r.pages, r.alone.n(), r.tickets)
	fmt.Fprintf(w, "noise: %s\n", r.noise)
	fmt.Fprintf(w, "streams: %d asked, %d open, %d refused (503), %d failed; /metrics eventhive_live_streams_open %s\n",
		r.asked, r.open, r.refused, r.failed, r.gauge)
	if r.open > 0 {
		fmt.Fprintf(w, "app memory: resident %s -> %s (at most %.1f KB per open page; goal <= 10 KB), Go heap in use %s -> %s (%.1f KB per page)\n",
			mb(r.rssBefore), mb(r.rssOpen), float64(r.rssOpen-r.rssBefore)/float64(r.open)/1024,
			mb(r.heapBefore), mb(r.heapOpen), float64(r.heapOpen-r.heapBefore)/float64(r.open)/1024)
	}
	fmt.Fprintf(w, "buyers alone:       %d tries, %d held, %s\n", r.alone.n(), r.alone.statuses[http.StatusSeeOther], r.alone.latencyText())
	fmt.Fprintf(w, "buyers beside them: %d tries, %d held, %s (p99 %.2fx of alone; goal <= 1.5x)\n",
		r.beside.n(), r.sales, r.beside.latencyText(), r.beside.pct(99).Seconds()/max(r.alone.pct(99).Seconds(), 1e-9))
	if r.sales > 0 {
		fmt.Fprintf(w, "sent to viewers: %d messages, %s (%.0f bytes and %.2f messages per sale, to all viewers; %.0f bytes per sale per viewer); viewer requests: %d reconnections (%.3f per sale)\n",
			r.messages, mb(r.bytes), float64(r.bytes)/float64(r.sales), float64(r.messages)/float64(r.sales),
			float64(r.bytes)/float64(r.sales)/float64(max(r.open, 1)), r.reconnects, float64(r.reconnects)/float64(r.sales))
	}
	if len(r.lag) > 0 {
		fmt.Fprintf(w, "sale (buyer's answer) to the last viewer shown it: p50 %s, p99 %s, max %s over %d sales (goal p99 <= 1 s); %d sales some viewer never saw\n",
			ms(r.lag[len(r.lag)/2]), ms(r.lag[min(len(r.lag)-1, len(r.lag)*99/100)]), ms(r.lag[len(r.lag)-1]), len(r.lag), r.missed)
	}
	if n := len(r.delivery.count); n > 0 {
		fmt.Fprintf(w, "the app's part (/metrics eventhive_live_delivery_seconds: change heard to the topic's last page written): p50 <= %s, p99 <= %s over %.0f messages\n",
			r.delivery.quantile(0.5), r.delivery.quantile(0.99), r.delivery.count[n-1])
	}
}
