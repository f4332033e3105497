package live

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Streams serves the server-sent event streams of one process. Every stream
// shows a topic (what its page shows live), and every stream of a topic gets
// the same bytes: a change is turned into a message once per topic, at most
// once per coalescing window, however many pages show it.
//
// A stream of HTTP/1.1 is taken over from the server once its headers are
// sent: no goroutine, buffer or timer of its own waits for it, only its
// connection and a few bytes of bookkeeping. One goroutine writes each
// message to every connection of its topic without waiting for any; a
// connection that cannot take a message at once has fallen behind and is
// closed, and its browser reconnects and is sent the latest message. One
// shared ticker sends the keep-alive comments, another looks for readers
// that left. Streams that cannot be taken over (HTTP/2) keep their
// handler's goroutine and get the same messages.
type Streams struct {
	log    *slog.Logger
	max    int
	window time.Duration
	prefix string // makes the message ids of this process its own

	open    atomic.Int64
	refused atomic.Int64
	// changes counts the events heard, so that a stream that joins its
	// topic can tell whether one came while its headers went out.
	changes atomic.Uint64
	mu      sync.Mutex
	topics  map[Topic]*topic
	closed  bool

	paceMu sync.Mutex
	owed   time.Time // until when the topics' writes so far are paid for (pace)

	delivered func(delay time.Duration)
}

// Topic is what a stream shows. Pages that show the same topic get the same
// messages.
type Topic struct {
	// Name is the name of the stream's events ("tickets", "order",
	// "checkins", "listings").
	Name string
	// ID is the order or event shown, or 0.
	ID int64
	// Variant tells renderings of the same thing apart, such as the locale
	// prices are written in.
	Variant string
}

// Feed says which events concern a topic and what its messages carry.
type Feed struct {
	Concerns func(Event) bool
	// Render returns what the topic shows now, given the State of its last
	// rendering (nil the first time). Without Render a message only says
	// "changed", and the page fetches what it shows.
	Render func(ctx context.Context, last any) (Rendering, error)
}

// Rendering is what a rendered topic shows, written for any reader
// (nothing private, nothing personal).
type Rendering struct {
	// HTML replaces what a page shows, as an event named after the topic. A
	// stream is sent the latest when it opens, unless its Last-Event-ID
	// says it has it; every stream is sent it when Update is nil.
	HTML []byte
	// Update, when not nil, brings a page that shows the last rendering up
	// to date in fewer bytes, as an event named UpdateName.
	Update     []byte
	UpdateName string
	// Same says that nothing changed since the last rendering: nothing is
	// sent.
	Same bool
	// State is what the next Render is given as last.
	State any
}

// StreamsConfig sets up Streams.
type StreamsConfig struct {
	// Max is how many streams may be open at once; past it a new one is
	// answered 503 with Retry-After.
	Max int
	// Window is the shortest time between two messages of a topic: changes
	// that arrive sooner go out as one message at its end.
	Window time.Duration
	// Keepalive is how often every stream gets a comment, so that proxies
	// and browsers do not take an idle stream for dead, and so that a
	// stream whose reader left is noticed.
	Keepalive time.Duration
	// Done ends every stream when closed (the app is shutting down).
	Done <-chan struct{}
	// Delivered, if set, is told of every message that carries a change,
	// once every stream of its topic has been sent it: how long after the
	// first change it carries was heard.
	Delivered func(delay time.Duration)
}

// Subscriber is where Streams hears of changes: a *Hub.
type Subscriber interface {
	Subscribe(ctx context.Context) (<-chan Event, func())
}

// streamsWithin returns how many streams a process that may open limit
// files can hold and still accept everything else: every stream is a
// connection, and a process out of descriptors accepts no buyer either.
// Zero: no limit known.
func streamsWithin(limit int) int {
	if limit <= 0 {
		return 0
	}
	return limit - min(fdReserve, limit/2)
}

// fdReserve is how many file descriptors are kept for all but the streams:
// the requests in flight (buyers among them), the database, files.
const fdReserve = 1024

// reconnectAfter is how long a browser waits before reopening a stream that
// ended, in milliseconds (the SSE "retry" field).
const reconnectAfter = 1000

// ErrTooManyStreams refuses a stream past the cap (StreamsConfig.Max): the
// page still works, and a reload shows what changed.
var ErrTooManyStreams = errors.New("too many live pages are open")

// NewStreams returns the streams of a process, fed by hub's events until
// cfg.Done is closed or hub closes.
func NewStreams(hub Subscriber, log *slog.Logger, cfg StreamsConfig) *Streams {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	limit := fileLimit()
	if most := streamsWithin(limit); most > 0 && (cfg.Max <= 0 || cfg.Max > most) {
		log.Warn("live: fewer streams than asked, for the open files limit (ulimit -n) leaves room for the rest",
			"max_live_streams", cfg.Max, "open_files_limit", limit, "streams", most)
		cfg.Max = most
	}
	s := &Streams{
		log: log, max: cfg.Max, window: cfg.Window, prefix: hex.EncodeToString(b) + "-",
		topics: map[Topic]*topic{}, delivered: cfg.Delivered,
	}
	events, unsubscribe := hub.Subscribe(context.Background())
	go func() {
		defer unsubscribe()
		defer s.closeAll()
		keepalive := time.NewTicker(cfg.Keepalive)
		defer keepalive.Stop()
		check := time.NewTicker(leftCheckEvery)
		defer check.Stop()
		for {
			select {
			case <-cfg.Done:
				return
			case e, ok := <-events:
				if !ok {
					return
				}
				s.changed(e)
			case <-keepalive.C:
				for _, t := range s.snapshot() {
					t.broadcast(keepaliveMessage)
				}
			case <-check.C:
				for _, t := range s.snapshot() {
					t.dropLeft()
				}
			}
		}
	}()
	return s
}

// Open answers r with an event stream of the topic. It returns at once for
// a stream it could take over from the server, else when the stream ends.
// It returns an error, having written nothing, when the stream cannot be
// opened: ErrTooManyStreams past the cap, which the caller answers.
func (s *Streams) Open(w http.ResponseWriter, r *http.Request, key Topic, feed Feed) error {
	hdr := w.Header()
	if r.Method == http.MethodHead {
		// The headers alone: a stream would hold the connection, which the
		// client means to reuse.
		hdr.Set("Content-Type", "text/event-stream")
		hdr.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		return nil
	}
	if n := s.open.Add(1); s.max > 0 && n > int64(s.max) {
		s.open.Add(-1)
		s.refused.Add(1)
		return ErrTooManyStreams
	}
	counted := true
	defer func() {
		if counted {
			s.open.Add(-1)
		}
	}()
	rc := http.NewResponseController(w)
	// The server's write timeout is meant for ordinary responses: without
	// this it would cut every stream that is not taken over.
	if err := rc.SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return fmt.Errorf("event stream: clear the write deadline: %w", err)
	}
	heard := s.changes.Load() // the stream hears of what comes after
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Accel-Buffering", "no") // no proxy buffering
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprintf(w, "retry: %d\n: %s\n\n", reconnectAfter, key.Name); err != nil {
		return nil
	}
	if err := rc.Flush(); err != nil {
		// A middleware's response writer that can neither flush nor unwrap
		// would make every stream useless: say so.
		s.log.ErrorContext(r.Context(), "event stream cannot flush", "err", err)
		return nil
	}
	lastID := r.Header.Get("Last-Event-ID")
	if conn, rw, err := rc.Hijack(); err == nil {
		counted = false // the connection's sink counts it from here
		// The server's buffers go with the handler: nothing was read
		// ahead that matters (an event stream's client sends nothing more)
		// and the writer is empty since Flush.
		_ = rw
		s.join(key, feed, newConnSink(s, conn, r.ProtoAtLeast(1, 1)), lastID, heard)
		return nil
	}
	// HTTP/2, or a writer that cannot be taken over: the handler's goroutine
	// writes what the topic sends.
	sk := &chanSink{s: s, ch: make(chan *message, 4), gone: make(chan struct{})}
	counted = false
	s.join(key, feed, sk, lastID, heard)
	defer s.leave(key, sk)
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-sk.gone:
			return nil
		case m := <-sk.ch:
			if _, err := w.Write(m.raw); err != nil {
				return nil
			}
			if rc.Flush() != nil {
				return nil
			}
		}
	}
}

// Count returns how many streams are open, counting one whose reader left
// without a word until the check for pages that left notices (every
// leftCheckEvery).
func (s *Streams) Count() int { return int(s.open.Load()) }

// Max returns how many streams may be open at once (0: no limit).
func (s *Streams) Max() int { return s.max }

// Refused returns how many streams were refused because Max were open.
func (s *Streams) Refused() int64 { return s.refused.Load() }

// join adds a sink to its topic, creating the topic if it is the first. A
// stream of a rendered topic is sent the latest rendering at once unless it
// says (Last-Event-ID) that it has it: a page that reconnects, or that was
// rendered while a change was on its way, is brought up to date.
func (s *Streams) join(key Topic, feed Feed, sk sink, lastID string, heard uint64) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		sk.close()
		return
	}
	t, ok := s.topics[key]
	if !ok {
		t = &topic{s: s, key: key, feed: feed, sinks: map[sink]struct{}{}}
		s.topics[key] = t
	}
	t.mu.Lock()
	s.mu.Unlock()
	t.sinks[sk] = struct{}{}
	// Sent under the lock broadcast holds: a message that follows the
	// latest rendering cannot overtake it.
	sent := true
	switch {
	case feed.Render != nil && t.latest != nil && t.latest.id != lastID:
		sent = sk.send(t.latest)
	case feed.Render == nil && s.changes.Load() != heard:
		// A change came between the request and now, which the topic
		// may not have sent this stream: its page fetches itself again.
		sent = sk.send(changedMessage(key))
	}
	t.mu.Unlock()
	switch {
	case !sent:
		s.leave(key, sk)
	case !ok && feed.Render != nil:
		// The first reader: render now, so that the readers to come have
		// something to be sent at once.
		t.changed(time.Time{})
	}
}

// leave removes a sink from its topic, and the topic when it was the last.
func (s *Streams) leave(key Topic, sk sink) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.topics[key]
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.sinks[sk]; !ok {
		return
	}
	delete(t.sinks, sk)
	sk.close()
	if len(t.sinks) == 0 {
		delete(s.topics, key)
	}
}

// changed tells every topic e concerns. It counts e first: a stream that
// joins a topic after the snapshot below finds the count moved (see join).
func (s *Streams) changed(e Event) {
	s.changes.Add(1)
	heard := time.Now()
	for _, t := range s.snapshot() {
		if t.feed.Concerns(e) {
			t.changed(heard)
		}
	}
}

func (s *Streams) snapshot() []*topic {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := make([]*topic, 0, len(s.topics))
	for _, t := range s.topics {
		ts = append(ts, t)
	}
	return ts
}

func (s *Streams) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for key, t := range s.topics {
		t.mu.Lock()
		for sk := range t.sinks {
			sk.close()
		}
		t.sinks = nil
		t.mu.Unlock()
		delete(s.topics, key)
	}
}

// topic is the state of one topic: its streams, its latest rendering, and
// its coalescing window.
type topic struct {
	s    *Streams
	key  Topic
	feed Feed

	mu      sync.Mutex
	sinks   map[sink]struct{}
	latest  *message // the latest rendering, whole (rendered topics only)
	seq     uint64
	state   any       // the State of the latest rendering; fire's alone
	sent    time.Time // when the last message (not a keep-alive) went out
	window  bool      // a message went out less than a window ago
	pending bool      // a change arrived during the window
	// heard is when the first change not yet in a message was heard (zero:
	// none), for Delivered.
	heard time.Time
}

// changed sends a message now, or at the end of the window under way, for
// a change heard at heard (zero for the first rendering, which carries
// none).
func (t *topic) changed(heard time.Time) {
	t.mu.Lock()
	if t.heard.IsZero() {
		t.heard = heard
	}
	if t.window {
		t.pending = true
		t.mu.Unlock()
		return
	}
	t.window = true
	t.mu.Unlock()
	go t.fire()
}

// busyShare bounds the time the topics spend sending: every message that
// took d to write to its streams adds busyShare*d to a wait shared by all
// topics (pace). On a machine short of CPU for thousands of streams, pages
// are then updated less often rather than buyers served late, whether the
// streams show one topic or many. A half: with 19,000 pages of one event
// open during a rush (bench (f)), the last page was updated some 200 ms
// sooner than with a whole in each of five pairs of runs, and the buyers'
// p99 did not move beyond the runs' spread (BENCHMARKS.md).
const busyShare = 0.5

// pace returns how long a topic that has just (at now) taken d to send a
// message waits before its next one: at least the window, and until the
// writes of every topic so far are paid for, busyShare*d each. One topic
// alone waits max(window, busyShare*d); many small topics, which write
// quickly each, wait for each other's writes too.
func (s *Streams) pace(now time.Time, d time.Duration) time.Duration {
	s.paceMu.Lock()
	defer s.paceMu.Unlock()
	if s.owed.Before(now) {
		s.owed = now
	}
	s.owed = s.owed.Add(time.Duration(busyShare * float64(d)))
	return max(s.window, s.owed.Sub(now))
}

// fire sends the topic's message and opens a window, at whose end it fires
// again if more changes came.
func (t *topic) fire() {
	// What the rendering below reads includes every change heard so far.
	t.mu.Lock()
	heard := t.heard
	t.heard = time.Time{}
	t.mu.Unlock()
	m, err := t.message()
	start := time.Now()
	switch {
	case err != nil:
		t.s.log.Error("live: render", "err", err, "topic", t.key.Name, "id", t.key.ID)
		t.mu.Lock()
		if !heard.IsZero() && (t.heard.IsZero() || heard.Before(t.heard)) {
			t.heard = heard // the next try carries them
		}
		t.mu.Unlock()
	case m != nil:
		t.broadcast(m)
		if t.s.delivered != nil && !heard.IsZero() {
			t.s.delivered(time.Since(heard))
		}
	}
	time.AfterFunc(t.s.pace(time.Now(), time.Since(start)), func() {
		t.mu.Lock()
		// A failed rendering is tried again; a topic nobody reads any more
		// stops.
		again := (t.pending || err != nil) && len(t.sinks) > 0
		t.pending, t.window = false, again
		t.mu.Unlock()
		if again {
			t.fire()
		}
	})
}

// message is what the topic sends now: nil when nothing changed.
func (t *topic) message() (*message, error) {
	if t.feed.Render == nil {
		return changedMessage(t.key), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), renderTimeout)
	defer cancel()
	// Only fire renders, one at a time: state needs no lock.
	r, err := t.feed.Render(ctx, t.state)
	if err != nil || r.Same {
		return nil, err
	}
	t.state = r.State
	t.mu.Lock()
	t.seq++
	id := t.s.prefix + strconv.FormatUint(t.seq, 10)
	t.mu.Unlock()
	whole := newEvent(id, t.key.Name, r.HTML)
	t.mu.Lock()
	t.latest = whole
	t.mu.Unlock()
	if r.Update != nil {
		return newEvent(id, r.UpdateName, r.Update), nil
	}
	return whole, nil
}

// changedMessage tells the pages of a topic that is not rendered to fetch
// themselves again.
func changedMessage(key Topic) *message {
	return newMessage("event: " + key.Name + "\ndata: changed\n\n")
}

// newEvent frames data as an event with an id and a name: one data field a
// line, since a field cannot hold a line break.
func newEvent(id, name string, data []byte) *message {
	b := make([]byte, 0, len(data)+len(data)/16+64)
	b = append(b, "id: "+id+"\nevent: "+name+"\n"...)
	for line := range splitLines(data) {
		b = append(b, "data: "...)
		b = append(b, line...)
		b = append(b, '\n')
	}
	b = append(b, '\n')
	m := newMessage(string(b))
	m.id = id
	return m
}

// renderTimeout bounds a rendering's database work.
const renderTimeout = 5 * time.Second

// broadcast writes m to every stream of the topic, and drops those that
// cannot take it.
func (t *topic) broadcast(m *message) {
	var gone []sink
	t.mu.Lock()
	if m != keepaliveMessage {
		t.sent = time.Now()
	}
	if len(t.sinks) < parallelFrom {
		for sk := range t.sinks {
			if !sk.send(m) {
				gone = append(gone, sk)
			}
		}
	} else {
		gone = sendAll(t.sinks, m)
	}
	t.mu.Unlock()
	for _, sk := range gone {
		t.s.leave(t.key, sk)
	}
}

// parallelFrom is how many streams a topic has before its messages are
// written from as many goroutines as there are cores.
const parallelFrom = 2000

// sendAll sends m to every sink from as many goroutines as there are
// cores, and returns the sinks that could not take it.
func sendAll(sinks map[sink]struct{}, m *message) []sink {
	n := runtime.GOMAXPROCS(0)
	parts := make([][]sink, n)
	i := 0
	for sk := range sinks {
		parts[i%n] = append(parts[i%n], sk)
		i++
	}
	gone := make([][]sink, n)
	var wg sync.WaitGroup
	for p := range parts {
		wg.Go(func() {
			for _, sk := range parts[p] {
				if !sk.send(m) {
					gone[p] = append(gone[p], sk)
				}
			}
		})
	}
	wg.Wait()
	return slices.Concat(gone...)
}

// dropLeft drops the streams whose reader has left. A topic that sent a
// message since the last check is skipped: a write to a connection whose
// reader left fails by the second message, at no cost of its own.
func (t *topic) dropLeft() {
	var gone []sink
	t.mu.Lock()
	if time.Since(t.sent) < leftCheckEvery {
		t.mu.Unlock()
		return
	}
	for sk := range t.sinks {
		if sk.left() {
			gone = append(gone, sk)
		}
	}
	t.mu.Unlock()
	for _, sk := range gone {
		t.s.leave(t.key, sk)
	}
}

// leftCheckEvery is how often every stream taken over from the server is
// checked for a reader that left (a peek, no write): a page that closes is
// no longer counted within this time.
const leftCheckEvery = 2 * time.Second

// splitLines yields the lines of b without their ends: an SSE data field
// cannot hold a line break.
func splitLines(b []byte) func(yield func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for len(b) > 0 {
			i := 0
			for i < len(b) && b[i] != '\n' && b[i] != '\r' {
				i++
			}
			if !yield(b[:i]) {
				return
			}
			if i < len(b) && b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n' {
				i++
			}
			b = b[min(i+1, len(b)):]
		}
	}
}

// message is one message, framed once for every kind of stream.
type message struct {
	id    string // rendered messages only
	raw   []byte // as the server writes it
	chunk []byte // as an HTTP/1.1 chunk, for streams taken over
}

func newMessage(s string) *message {
	return &message{raw: []byte(s), chunk: fmt.Appendf(nil, "%x\r\n%s\r\n", len(s), s)}
}

var keepaliveMessage = newMessage(": keepalive\n\n")

// sink is one open stream.
type sink interface {
	// send passes m on without waiting; false means the stream is gone or
	// has fallen behind, and must be closed.
	send(m *message) bool
	// left reports whether the reader has gone.
	left() bool
	close()
}

// connSink is a stream taken over from the server: its connection alone.
type connSink struct {
	s       *Streams
	conn    net.Conn
	chunked bool
	once    sync.Once
}

func newConnSink(s *Streams, conn net.Conn, chunked bool) *connSink {
	return &connSink{s: s, conn: conn, chunked: chunked}
}

func (c *connSink) send(m *message) bool {
	if c.chunked {
		return writeNow(c.conn, m.chunk)
	}
	return writeNow(c.conn, m.raw)
}

func (c *connSink) left() bool { return left(c.conn) }

func (c *connSink) close() {
	c.once.Do(func() {
		_ = c.conn.Close()
		c.s.open.Add(-1)
	})
}

// chanSink is a stream whose handler writes what it is sent.
type chanSink struct {
	s    *Streams
	ch   chan *message
	gone chan struct{}
	once sync.Once
}

func (c *chanSink) send(m *message) bool {
	select {
	case c.ch <- m:
		return true
	default:
		return false
	}
}

// left is false: the handler notices itself when its reader goes.
func (c *chanSink) left() bool { return false }

func (c *chanSink) close() {
	c.once.Do(func() {
		close(c.gone)
		c.s.open.Add(-1)
	})
}
