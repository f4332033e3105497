package live

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
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
// shows a topic (what its page shows live), and the streams of a topic share
// its messages: a change is turned into a message once per topic, at most
// once per coalescing window, however many pages show it.
//
// A stream of HTTP/1.1 is taken over from the server once its headers are
// sent: no goroutine, buffer or timer of its own waits for it, only its
// connection and a few bytes of bookkeeping. One goroutine a topic writes
// to its connections without waiting for any, each sent what brings it up
// to the newest message (see topic); a connection that cannot take a
// message at once has fallen behind and is closed, and its browser
// reconnects and is sent the latest message. One
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
	// says it has it, and whenever Since cannot bring it up to date.
	HTML []byte
	// Since, when not nil, returns what brings a page that shows the
	// rendering whose State was older up to date in fewer bytes, as an
	// event named UpdateName, or nil when only HTML can. It is asked for
	// the last rendering and for the few before it, so that a stream that
	// missed messages (a rendering came while the app wrote to the others)
	// is sent one update instead of the whole.
	Since      func(older any) []byte
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
					t.keepAlive()
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
		t = &topic{s: s, key: key, feed: feed, sinks: map[sink]int{}}
		s.topics[key] = t
	}
	t.mu.Lock()
	s.mu.Unlock()
	t.add(sk)
	// Sent under the lock a write holds: a message that follows the latest
	// rendering cannot overtake it.
	sent := true
	cur := t.cur.Load()
	if cur != nil {
		sk.setSeen(cur.seq)
	}
	switch {
	case feed.Render != nil && cur != nil && cur.whole.id != lastID:
		sent = sk.send(cur.whole)
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
	if !t.remove(sk) {
		return
	}
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
		for _, sk := range t.order {
			sk.close()
		}
		t.sinks, t.order = nil, nil
		t.count.Store(0)
		t.mu.Unlock()
		delete(s.topics, key)
	}
}

// topic is the state of one topic: its streams, its latest message, and its
// coalescing window.
//
// Rendering and writing take turns no longer: a topic renders at most once a
// window, whenever changes came, and when a write begins while changes wait
// for the window to end; its writes bring its streams up to date, one after
// another in a fixed order, at most once per pace. A write
// that reaches a stream sends it the newest message there is at that moment,
// so that a rendering made while a write is under way reaches the streams
// the write has not reached yet in that same write, and the others in the
// next. With thousands of streams, where one write takes longer than the
// window, that spares the last stream a whole write and a wait.
type topic struct {
	s    *Streams
	key  Topic
	feed Feed

	// cur is the latest message, which writes read without a lock.
	cur atomic.Pointer[latest]

	mu    sync.Mutex // guards the streams
	sinks map[sink]int
	order []sink    // the streams, in the order writes reach them; sinks holds their index
	sent  time.Time // when the last write (not a keep-alive) began
	// count is len(order), for the rendering's timer, which must not wait
	// for mu: a write holds it for as long as it takes.
	count atomic.Int64

	fmu     sync.Mutex // guards the rendering's window and the writes' turn
	window  bool       // a rendering began less than a window ago
	pending bool       // a change arrived during the window
	// heard is when the first change not yet rendered was heard (zero:
	// none), for Delivered; unsent holds it, by rendering, until every
	// stream has been sent that rendering.
	heard     time.Time
	unsent    []heardAt
	writing   bool      // a write is under way or waits for its turn
	restUntil time.Time // when the next write may begin (pace)

	rmu    sync.Mutex // one rendering at a time; guards what follows
	seq    uint64
	recent []seqState // the last renderings' States, oldest first
}

// seqState is the State of a rendering.
type seqState struct {
	seq   uint64
	state any
}

// latest is a topic's latest message.
type latest struct {
	seq   uint64
	whole *message
	// from holds, by the seq of the message a stream has, what brings it up
	// to seq in fewer bytes. A stream with another seq is sent whole.
	from map[uint64]*message
}

// heardAt is when the first change a rendering carries was heard.
type heardAt struct {
	seq   uint64
	heard time.Time
}

// catchUpMost is how many renderings behind a stream may be and still be
// sent an update rather than the whole.
const catchUpMost = 8

func (t *topic) add(sk sink) {
	t.sinks[sk] = len(t.order)
	t.order = append(t.order, sk)
	t.count.Store(int64(len(t.order)))
}

func (t *topic) remove(sk sink) bool {
	i, ok := t.sinks[sk]
	if !ok {
		return false
	}
	last := len(t.order) - 1
	t.order[i] = t.order[last]
	t.sinks[t.order[i]] = i
	t.order[last] = nil
	t.order = t.order[:last]
	delete(t.sinks, sk)
	t.count.Store(int64(len(t.order)))
	return true
}

// changed renders the topic now, or at the end of the window under way, for
// a change heard at heard (zero for the first rendering, which carries
// none).
func (t *topic) changed(heard time.Time) {
	t.fmu.Lock()
	if t.heard.IsZero() {
		t.heard = heard
	}
	if t.window {
		t.pending = true
		t.fmu.Unlock()
		return
	}
	t.window = true
	t.fmu.Unlock()
	go t.fire()
}

// busyShare bounds the time the topics spend sending: every write that took
// d to reach its streams adds busyShare*d to a wait shared by all topics
// (pace). On a machine short of CPU for thousands of streams, pages are then
// updated less often rather than buyers served late, whether the streams
// show one topic or many. A half: with 19,000 pages of one event open during
// a rush (bench (f)), the last page was updated some 200 ms sooner than with
// a whole in each of five pairs of runs, and the buyers' p99 did not move
// beyond the runs' spread (BENCHMARKS.md).
const busyShare = 0.5

// pace returns how long a topic that has just (at now) taken d to write to
// its streams waits before its next write: until the writes of every topic
// so far are paid for, busyShare*d each. One topic alone waits busyShare*d;
// many small topics, which write quickly each, wait for each other's writes
// too. The wait has no floor of a window: every write follows a rendering
// that the window paces (fire's; the one a write begins with is sent by
// that write), so a topic writes no more often than the window lets it
// render whatever the wait, and a slow write (one to 19,000 pages takes longer than a window) should
// not wait longer than its share.
func (s *Streams) pace(now time.Time, d time.Duration) time.Duration {
	s.paceMu.Lock()
	defer s.paceMu.Unlock()
	if s.owed.Before(now) {
		s.owed = now
	}
	s.owed = s.owed.Add(time.Duration(busyShare * float64(d)))
	return s.owed.Sub(now)
}

// fire renders the topic, has its streams written to, and opens a window,
// at whose end it fires again if more changes came.
func (t *topic) fire() {
	err := t.publish()
	time.AfterFunc(t.s.window, func() {
		t.fmu.Lock()
		// A failed rendering is tried again; a topic nobody reads any more
		// stops.
		again := (t.pending || err != nil) && t.count.Load() > 0
		t.pending, t.window = false, again
		t.fmu.Unlock()
		if again {
			t.fire()
		}
	})
}

// publish renders the topic and makes the rendering its latest message, to
// be written to its streams.
func (t *topic) publish() error {
	t.rmu.Lock()
	defer t.rmu.Unlock()
	// What the rendering below reads includes every change heard so far.
	t.fmu.Lock()
	heard := t.heard
	t.heard = time.Time{}
	t.fmu.Unlock()
	l, err := t.render()
	switch {
	case err != nil:
		t.s.log.Error("live: render", "err", err, "topic", t.key.Name, "id", t.key.ID)
		t.fmu.Lock()
		if !heard.IsZero() && (t.heard.IsZero() || heard.Before(t.heard)) {
			t.heard = heard // the next try carries them
		}
		t.fmu.Unlock()
	case l != nil:
		t.cur.Store(l)
		t.fmu.Lock()
		if !heard.IsZero() {
			t.unsent = append(t.unsent, heardAt{l.seq, heard})
		}
		t.fmu.Unlock()
		t.startWriting()
	}
	return err
}

// render returns the topic's message now: nil when nothing changed.
func (t *topic) render() (*latest, error) {
	if t.feed.Render == nil {
		t.seq++
		return &latest{seq: t.seq, whole: changedMessage(t.key)}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), renderTimeout)
	defer cancel()
	var last any
	if n := len(t.recent); n > 0 {
		last = t.recent[n-1].state
	}
	r, err := t.feed.Render(ctx, last)
	if err != nil || r.Same {
		return nil, err
	}
	t.seq++
	id := t.s.prefix + strconv.FormatUint(t.seq, 10)
	l := &latest{seq: t.seq, whole: newEvent(id, t.key.Name, r.HTML)}
	if r.Since != nil {
		l.from = make(map[uint64]*message, len(t.recent))
		for _, older := range t.recent {
			if u := r.Since(older.state); u != nil {
				l.from[older.seq] = newEvent(id, r.UpdateName, u)
			}
		}
	}
	if len(t.recent) == catchUpMost {
		t.recent = append(t.recent[:0], t.recent[1:]...)
	}
	t.recent = append(t.recent, seqState{t.seq, r.State})
	return l, nil
}

// startWriting has the topic's streams written to, at once or when the pace
// lets it, unless a write is under way: that one sends the new message too.
func (t *topic) startWriting() {
	t.fmu.Lock()
	if t.writing {
		t.fmu.Unlock()
		return
	}
	t.writing = true
	wait := time.Until(t.restUntil)
	t.fmu.Unlock()
	if wait > 0 {
		time.AfterFunc(wait, t.write)
		return
	}
	go t.write()
}

// write brings every stream up to date, once more after the pace's wait
// for as long as a rendering comes during a write.
func (t *topic) write() {
	for {
		// Changes that wait for the window to end are rendered now, so
		// that the write starts with the newest there is.
		t.fmu.Lock()
		waiting := t.pending
		t.pending = false
		t.fmu.Unlock()
		if waiting && t.publish() != nil {
			t.changed(time.Time{}) // tried again when the window lets it
		}
		start := time.Now()
		oldest := t.pass()
		now := time.Now()
		rest := t.s.pace(now, now.Sub(start))
		t.fmu.Lock()
		t.restUntil = now.Add(rest)
		var delivered []time.Duration
		for len(t.unsent) > 0 && t.unsent[0].seq <= oldest {
			delivered = append(delivered, now.Sub(t.unsent[0].heard))
			t.unsent = t.unsent[1:]
		}
		done := oldest >= t.cur.Load().seq
		if done {
			t.writing = false
		}
		t.fmu.Unlock()
		if t.s.delivered != nil {
			for _, d := range delivered {
				t.s.delivered(d)
			}
		}
		if done {
			return
		}
		time.Sleep(rest)
	}
}

// pass sends every stream of the topic that lacks the latest message what
// brings it up to date, drops those that cannot take it, and returns the
// oldest seq a stream has after it (the greatest there is when none is left).
func (t *topic) pass() uint64 {
	t.mu.Lock()
	t.sent = time.Now()
	oldest := uint64(math.MaxUint64)
	var mu sync.Mutex
	gone := inParts(t.order, func(part []sink) []sink {
		gone, o := t.catchUp(part)
		mu.Lock()
		oldest = min(oldest, o)
		mu.Unlock()
		return gone
	})
	t.mu.Unlock()
	for _, sk := range gone {
		t.s.leave(t.key, sk)
	}
	return oldest
}

// inParts runs write on parts of sinks that keep their order, from as many
// goroutines as there are cores once there are parallelFrom sinks, and
// returns the sinks that write says could not take what it sent.
func inParts(sinks []sink, write func(part []sink) (gone []sink)) []sink {
	n := runtime.GOMAXPROCS(0)
	if len(sinks) < parallelFrom || n == 1 {
		return write(sinks)
	}
	goneOf := make([][]sink, n)
	var wg sync.WaitGroup
	for p := range n {
		part := sinks[p*len(sinks)/n : (p+1)*len(sinks)/n]
		wg.Go(func() { goneOf[p] = write(part) })
	}
	wg.Wait()
	return slices.Concat(goneOf...)
}

// parallelFrom is how many streams a topic has before its writes are made
// from as many goroutines as there are cores.
const parallelFrom = 2000

// catchUp sends each of sinks what brings it up to the latest message when
// its turn comes, and returns those that could not take it and the oldest
// seq the others have.
func (t *topic) catchUp(sinks []sink) (gone []sink, oldest uint64) {
	oldest = math.MaxUint64
	for _, sk := range sinks {
		l := t.cur.Load()
		if seen := sk.seen(); seen != l.seq {
			m := l.from[seen]
			if m == nil {
				m = l.whole
			}
			if !sk.send(m) {
				gone = append(gone, sk)
				continue
			}
			sk.setSeen(l.seq)
		}
		oldest = min(oldest, sk.seen())
	}
	return gone, oldest
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

// keepAlive writes a keep-alive comment to every stream of the topic, and
// drops those that cannot take it.
func (t *topic) keepAlive() {
	t.mu.Lock()
	gone := inParts(t.order, func(part []sink) (gone []sink) {
		for _, sk := range part {
			if !sk.send(keepaliveMessage) {
				gone = append(gone, sk)
			}
		}
		return gone
	})
	t.mu.Unlock()
	for _, sk := range gone {
		t.s.leave(t.key, sk)
	}
}

// dropLeft drops the streams whose reader has left. A topic that wrote
// since the last check is skipped: a write to a connection whose reader
// left fails by the second message, at no cost of its own.
func (t *topic) dropLeft() {
	var gone []sink
	t.mu.Lock()
	if time.Since(t.sent) < leftCheckEvery {
		t.mu.Unlock()
		return
	}
	for _, sk := range t.order {
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
	// seen and setSeen keep the seq of the latest message the stream was
	// sent (its topic's lock guards them).
	seen() uint64
	setSeen(seq uint64)
}

// progress is what a sink keeps of its topic's messages.
type progress struct{ seq uint64 }

func (p *progress) seen() uint64       { return p.seq }
func (p *progress) setSeen(seq uint64) { p.seq = seq }

// connSink is a stream taken over from the server: its connection alone.
type connSink struct {
	progress
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
	progress
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
