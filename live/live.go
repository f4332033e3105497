// Package live tells open pages that something they show has changed: a
// ticket was listed, edited, held, released or sold, or an order changed
// state. An event carries no state of its own, only what changed. Streams
// (streams.go) turns events into messages for the pages' event streams:
// once per topic for every page that shows it, either the topic rendered
// anew or only "changed", on which a page fetches what it shows again.
//
// A Hub fans events out to its subscribers. With one process (SQLite) the hub
// is in-process. With PostgreSQL, Publish sends the event through NOTIFY and
// every process's hub LISTENs on one connection of its own, so an event
// published by one instance reaches the viewers of every instance.
//
// Publishers never wait for subscribers: a subscriber that falls behind has
// its backlog replaced by a single Any event, which says that anything may
// have changed.
package live

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// Event says what changed.
type Event struct {
	// TicketID is a ticket that was listed, edited, held, released or sold;
	// 0 when the publisher does not know which one.
	TicketID int64 `json:"ticket_id,omitempty"`
	// OrderID is an order whose state changed, or 0.
	OrderID int64 `json:"order_id,omitempty"`
	// CheckinEventID is an event whose door checked a pass in, or 0.
	CheckinEventID int64 `json:"checkin_event_id,omitempty"`
	// Users says that a user's account changed, and Session names a
	// session that was written or deleted by its SessionKey. PostgreSQL's
	// triggers on the users and sessions tables send them (see migration
	// 0019), for the processes that keep users and sessions in memory.
	Users   bool   `json:"users,omitempty"`
	Session string `json:"session,omitempty"`
}

// Any is the event a subscriber gets in place of events it may have missed,
// because it fell behind or because the hub lost its database connection for
// a while: anything may have changed.
var Any = Event{}

// ConcernsOrder reports whether the event may change the order with the id.
func (e Event) ConcernsOrder(id int64) bool { return e.OrderID == id || e == Any }

// ConcernsCheckins reports whether the event may change the check-in counts
// of the event with the id.
func (e Event) ConcernsCheckins(eventID int64) bool { return e.CheckinEventID == eventID || e == Any }

// ConcernsTickets reports whether the event may change what tickets are on
// sale: all but a check-in at a door and a change of accounts may.
func (e Event) ConcernsTickets() bool { return e.CheckinEventID == 0 && !e.Users && e.Session == "" }

// SessionKey is how a Session event names the session of token: the hex of
// its SHA-256, so that notifications, which any connection to the database
// may hear, never carry a token that signs someone in.
func SessionKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// ConcernsListing reports whether the event may change the listing with the
// id: one of its own, or one whose publisher does not know which listing
// changed (an order that expired or was paid).
func (e Event) ConcernsListing(id int64) bool {
	return e.ConcernsTickets() && (e.TicketID == id || e.TicketID == 0)
}

// Channel is the PostgreSQL notification channel of an app whose tables live
// in the public schema; an app in another schema uses Channel+"_"+schema, so
// that apps sharing a database do not hear each other.
const Channel = "eventhive_live"

// maxChannelLen is the longest identifier PostgreSQL keeps, in bytes.
const maxChannelLen = 63

// channelName is the channel of the hubs whose tables are in schema:
// Channel, and the schema's name unless it is public. PostgreSQL cuts a
// longer name than it keeps in LISTEN, at the last whole character within
// maxChannelLen, but refuses it in pg_notify: it is cut here the same way,
// as the database's live_channel cuts it for the triggers' notifications.
func channelName(schema string) string {
	name := Channel
	if schema != "public" {
		name += "_" + schema
	}
	if len(name) <= maxChannelLen {
		return name
	}
	n := maxChannelLen
	for !utf8.RuneStart(name[n]) {
		n--
	}
	return name[:n]
}

// subscriberBuffer is how many events a subscriber may fall behind before its
// backlog is replaced by Any.
const subscriberBuffer = 16

// publishTimeout bounds a NOTIFY.
const publishTimeout = 5 * time.Second

// Events waiting to be notified to other processes: at most notifyBatch in
// one statement, and at most notifyBacklog waiting, past which they are
// replaced by one Any.
const (
	notifyBatch   = 256
	notifyBacklog = 4096
)

// Hub fans events out to subscribers. Its methods are safe for concurrent
// use.
type Hub struct {
	log *slog.Logger
	// id names this hub in its notifications, so that it can tell its
	// own from other processes' (see SubscribeElsewhere).
	id string

	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool

	// PostgreSQL only.
	db      *sql.DB
	url     string
	channel string
	// outbox holds the events published here until the notifier sends
	// them to the other processes; overflowed says some did not fit.
	outbox     chan Event
	overflowed atomic.Bool
	listening  atomic.Bool // the listening connection is open
	ping       ping
	stop       context.CancelFunc
	done       sync.WaitGroup
}

type subscriber struct {
	ch        chan Event
	elsewhere bool // only events other processes published
}

// notice is an event as a notification carries it, with the hub that
// published it.
type notice struct {
	Event
	Origin string `json:"origin"`
}

// New returns an in-process hub: events published reach this process's
// subscribers only.
func New(log *slog.Logger) *Hub {
	return &Hub{log: log, id: rand.Text(), subs: map[*subscriber]struct{}{}}
}

// NewPostgres returns a hub shared by every process on the PostgreSQL
// database at url. Events published reach this process's subscribers at
// once and the other processes' through NOTIFY, sent through db in batches
// by a goroutine of the hub's. The hub listens on a connection of its own,
// which it reopens with backoff whenever it breaks, and then tells its
// subscribers with Any that they may have missed events. It returns once
// that connection listens, so that no event published after it returns is
// missed. Close stops listening.
func NewPostgres(ctx context.Context, db *sql.DB, url string, log *slog.Logger) (*Hub, error) {
	return newPostgres(ctx, db, url, log, ping{every: pingEvery, timeout: pingTimeout})
}

func newPostgres(ctx context.Context, db *sql.DB, url string, log *slog.Logger, p ping) (*Hub, error) {
	h := New(log)
	h.ping = p
	h.db, h.url, h.outbox = db, url, make(chan Event, notifyBacklog)
	var schema string
	if err := db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return nil, fmt.Errorf("live: current schema: %w", err)
	}
	h.channel = channelName(schema)
	conn, err := h.listen(ctx)
	if err != nil {
		return nil, err
	}
	h.listening.Store(true)
	runCtx, stop := context.WithCancel(context.Background())
	h.stop = stop
	h.done.Go(func() { h.run(runCtx, conn) })
	h.done.Go(func() { h.notifier(runCtx) })
	return h, nil
}

// Publish tells every subscriber, in this process or (on PostgreSQL) in any
// process, about e. Call it after the change has committed. It does not
// wait for the database: this process's subscribers are told at once, the
// other processes' by the notifier a moment later. A failure to notify is
// logged, not returned: the change itself has happened, and pages catch up
// with the next event or reconnect.
func (h *Hub) Publish(e Event) {
	h.fanOut(e, true)
	if h.outbox == nil {
		return
	}
	select {
	case h.outbox <- e:
	default:
		h.overflowed.Store(true)
	}
}

// notifier sends the events published here to the other processes until
// ctx ends: all those waiting, in one statement, so that a rush of sales
// costs a round trip per batch rather than one per sale.
func (h *Hub) notifier(ctx context.Context) {
	for {
		var batch []Event
		select {
		case <-ctx.Done():
			return
		case e := <-h.outbox:
			batch = append(batch, e)
		}
	more:
		for len(batch) < notifyBatch {
			select {
			case e := <-h.outbox:
				batch = append(batch, e)
			default:
				break more
			}
		}
		if h.overflowed.Swap(false) {
			batch = []Event{Any}
		}
		h.notify(ctx, batch)
	}
}

// notify sends events, each once, as notifications of this hub.
func (h *Hub) notify(ctx context.Context, events []Event) {
	payloads := make([]string, 0, len(events))
	seen := make(map[Event]bool, len(events))
	for _, e := range events {
		if seen[e] {
			continue
		}
		seen[e] = true
		payload, err := json.Marshal(notice{Event: e, Origin: h.id})
		if err != nil {
			h.log.Error("live: encode event", "err", err)
			continue
		}
		payloads = append(payloads, string(payload))
	}
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	if _, err := h.db.ExecContext(ctx, `SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS n(p, i) ORDER BY i`,
		h.channel, payloads); err != nil && ctx.Err() == nil {
		h.log.Warn("live: publish", "err", err, "events", len(payloads))
	}
}

// Listening reports whether the hub hears other processes' events at this
// moment: a PostgreSQL hub while its listening connection is open (a
// connection lost without a word counts as open until a ping tells, within
// pingEvery and pingTimeout), an in-process hub never. A process that keeps
// in memory what other processes change may keep it only while the hub
// listens, and must drop it on Any, which the hub sends when it stops
// listening and again when it listens again.
func (h *Hub) Listening() bool { return h.listening.Load() }

// Subscribe returns a channel of events and a function that ends the
// subscription; ending ctx ends it too. The channel is closed when the
// subscription ends or the hub closes. Events published before Subscribe
// returns may or may not arrive.
func (h *Hub) Subscribe(ctx context.Context) (<-chan Event, func()) {
	return h.subscribe(ctx, false)
}

// SubscribeElsewhere is Subscribe for the events other processes on the
// same PostgreSQL published (and Any when some may have been missed): on
// an in-process hub it hears nothing.
func (h *Hub) SubscribeElsewhere(ctx context.Context) (<-chan Event, func()) {
	return h.subscribe(ctx, true)
}

func (h *Hub) subscribe(ctx context.Context, elsewhere bool) (<-chan Event, func()) {
	s := &subscriber{ch: make(chan Event, subscriberBuffer), elsewhere: elsewhere}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		close(s.ch)
		return s.ch, func() {}
	}
	h.subs[s] = struct{}{}
	h.mu.Unlock()

	var once sync.Once
	unsubscribe := func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			if _, ok := h.subs[s]; ok {
				delete(h.subs, s)
				close(s.ch)
			}
		})
	}
	stop := context.AfterFunc(ctx, unsubscribe)
	return s.ch, func() {
		stop()
		unsubscribe()
	}
}

// Subscribers returns how many subscriptions are open.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// fanOut delivers e, published by this process if local, to every
// subscriber that wants it, without waiting for any. A subscriber whose
// buffer is full has its backlog replaced by Any.
func (h *Hub) fanOut(e Event, local bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if local && s.elsewhere {
			continue
		}
		select {
		case s.ch <- e:
			continue
		default:
		}
		// Full: the subscriber will hear of a change anyway; make sure it
		// cannot miss which one by collapsing its backlog into Any. Only
		// fanOut sends, under h.mu, so after draining there is room.
	drain:
		for {
			select {
			case <-s.ch:
			default:
				break drain
			}
		}
		s.ch <- Any
	}
}

// Close ends every subscription and, on PostgreSQL, stops listening.
func (h *Hub) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	for s := range h.subs {
		delete(h.subs, s)
		close(s.ch)
	}
	h.mu.Unlock()
	if h.stop != nil {
		h.stop()
		h.done.Wait()
	}
	return nil
}

// listen opens the hub's own connection and LISTENs on its channel, within
// the ping's timeout: a network that drops packets would otherwise hold a
// connection attempt forever.
func (h *Hub) listen(ctx context.Context) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, h.ping.timeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, h.url)
	if err != nil {
		return nil, fmt.Errorf("live: connect: %w", err)
	}
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{h.channel}.Sanitize()); err != nil {
		_ = conn.Close(context.Background())
		return nil, fmt.Errorf("live: listen: %w", err)
	}
	return conn, nil
}

// Reconnection backoff: it doubles from minBackoff up to maxBackoff.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 10 * time.Second
)

// pingEvery is how long the listening connection may stay silent before it
// is checked, so that a connection lost without a word is noticed, and
// pingTimeout how long the check, or opening the connection, may take.
// Processes that keep users and sessions rely on hearing of changes
// (Listening): a connection that died silently is noticed within their sum.
const (
	pingEvery   = 10 * time.Second
	pingTimeout = 5 * time.Second
)

// ping is when to check the listening connection.
type ping struct{ every, timeout time.Duration }

// run relays notifications to subscribers until ctx ends, reopening the
// connection when it breaks.
func (h *Hub) run(ctx context.Context, conn *pgx.Conn) {
	backoff := minBackoff
	for {
		if conn != nil {
			err := h.relay(ctx, conn)
			h.listening.Store(false)
			_ = conn.Close(context.Background())
			conn = nil
			if ctx.Err() != nil {
				return
			}
			h.log.Warn("live: lost the listening connection", "err", err)
			// What is kept on the strength of hearing every change is
			// dropped now, not only once the hub listens again: by then a
			// request could read it before the Any of the reconnection.
			h.fanOut(Any, false)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		var err error
		conn, err = h.listen(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			h.log.Warn("live: reconnect", "err", err, "retry_in", backoff.String())
			backoff = min(backoff*2, maxBackoff)
			continue
		}
		backoff = minBackoff
		h.log.Info("live: listening again")
		h.listening.Store(true)
		// Whatever was published while nobody listened is lost.
		h.fanOut(Any, false)
	}
}

// relay waits for notifications on conn and fans them out, until conn fails
// or ctx ends.
func (h *Hub) relay(ctx context.Context, conn *pgx.Conn) error {
	for {
		waitCtx, cancel := context.WithTimeout(ctx, h.ping.every)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil:
			var e notice
			if err := json.Unmarshal([]byte(n.Payload), &e); err != nil {
				h.log.Warn("live: bad notification", "err", err, "payload", n.Payload)
				e = notice{Event: Any}
			}
			if e.Origin != h.id { // this process's were told at Publish
				h.fanOut(e.Event, false)
			}
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			pingCtx, cancel := context.WithTimeout(ctx, h.ping.timeout)
			err := conn.Ping(pingCtx)
			cancel()
			if err != nil {
				return err
			}
		default:
			return err
		}
	}
}
