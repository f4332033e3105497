package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// client is the load generator's HTTP/1.1 client: keep-alive connections
// to the app, each carrying one request at a time, written and read by the
// goroutine that sends it. net/http's Transport hands every request to two
// goroutines of its connection, and on a 2-core machine the load
// generator's CPU is taken from the app it measures (BENCHMARKS.md, 5 Dec).
// It does not follow redirects: a purchase is measured up to its 303, not
// the page after it.
type client struct {
	base string // http://host:port
	host string
	idle chan *clientConn
}

// clientConn is a connection to the app and its buffers.
type clientConn struct {
	net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

// newClient returns a client of base (http://host:port) that keeps up to
// conns idle connections.
func newClient(base string, conns int) *client {
	return &client{base: base, host: strings.TrimPrefix(base, "http://"), idle: make(chan *clientConn, conns)}
}

// conn returns an idle connection, or else a new one, and whether it was
// idle.
func (c *client) conn() (_ *clientConn, idle bool, _ error) {
	select {
	case cc := <-c.idle:
		return cc, true, nil
	default:
	}
	nc, err := net.DialTimeout("tcp", c.host, 5*time.Second)
	if err != nil {
		return nil, false, err
	}
	return &clientConn{Conn: nc, r: bufio.NewReader(nc), w: bufio.NewWriter(nc)}, false, nil
}

// keep returns cc to the idle connections, or closes it when there are
// enough.
func (c *client) keep(cc *clientConn) {
	select {
	case c.idle <- cc:
	default:
		cc.Close()
	}
}

// response is what the load generator keeps of a response.
type response struct {
	status   int
	location string
	cookie   string // the session cookie it set, if any
	body     string // only when asked for
}

// do sends a request with the session cookie (if any) and reads the whole
// response, within 30 s or until ctx ends. A connection is reused unless
// the request failed or the app closes it. A request on an idle connection
// that the app had closed (it closes those idle for long), which it
// therefore never read, is sent again on a new one.
func (c *client) do(ctx context.Context, method, path, cookie string, form url.Values, header http.Header, body string, keepBody bool) (response, error) {
	if form != nil {
		body = form.Encode()
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := ctx.Err(); err != nil {
			return response{}, err
		}
		cc, idle, err := c.conn()
		if err != nil {
			return response{}, err
		}
		_ = cc.SetDeadline(deadline)
		stop := context.AfterFunc(ctx, func() { _ = cc.SetDeadline(time.Unix(1, 0)) })
		r, closing, err := cc.exchange(c.host, method, path, cookie, form != nil, header, body, keepBody)
		if !stop() {
			// ctx ended meanwhile and may have cut the exchange short: the
			// caller gets ctx's error, never a timeout of its own.
			cc.Close()
			return response{}, ctx.Err()
		}
		if err != nil || closing {
			cc.Close()
			if idle && closedUnread(err) {
				continue
			}
			return r, err
		}
		c.keep(cc)
		return r, nil
	}
}

// closedUnread reports whether err says the app had closed the connection
// before any of the response came: a connection it closed while idle.
func closedUnread(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// exchange writes one request and reads its response, and reports whether
// the app closes the connection after it.
func (cc *clientConn) exchange(host, method, path, cookie string, isForm bool, header http.Header, body string, keepBody bool) (_ response, closing bool, _ error) {
	w := cc.w
	w.WriteString(method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\n")
	if isForm {
		w.WriteString("Content-Type: application/x-www-form-urlencoded\r\n")
	}
	for k, vs := range header {
		for _, v := range vs {
			w.WriteString(k + ": " + v + "\r\n")
		}
	}
	if cookie != "" {
		w.WriteString("Cookie: " + sessionCookie + "=" + cookie + "\r\n")
	}
	if body != "" || method != http.MethodGet {
		w.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
	}
	w.WriteString("\r\n" + body)
	if err := w.Flush(); err != nil {
		return response{}, true, err
	}
	// Peek tells a connection closed before the response (io.EOF) from one
	// closed within it (io.ErrUnexpectedEOF, from ReadResponse).
	if _, err := cc.r.Peek(1); err != nil {
		return response{}, true, err
	}
	resp, err := http.ReadResponse(cc.r, nil)
	if err != nil {
		return response{}, true, err
	}
	defer resp.Body.Close()
	r := response{status: resp.StatusCode, location: resp.Header.Get("Location")}
	// The session cookie's value alone: resp.Cookies() would parse every
	// attribute, Expires's date too, of a cookie the app sets on every
	// response, and that cost the load generator 6 µs a hold (5 Dec).
	for _, line := range resp.Header["Set-Cookie"] {
		if v, ok := strings.CutPrefix(line, sessionCookie+"="); ok {
			r.cookie, _, _ = strings.Cut(v, ";")
		}
	}
	if keepBody {
		b, err := io.ReadAll(resp.Body)
		r.body = string(b)
		return r, resp.Close, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return r, resp.Close, err
}

// sessionCookie is the name of the app's session cookie.
const sessionCookie = "eventhive_session"

// stats are the results of a batch of requests.
type stats struct {
	latencies []time.Duration
	statuses  map[int]int
	errors    int // transport errors
	elapsed   time.Duration
	cpu       cpuUse // used while measuring; zero when not measured
}

func newStats() *stats { return &stats{statuses: map[int]int{}} }

func (s *stats) add(d time.Duration, status int, err error) {
	s.latencies = append(s.latencies, d)
	if err != nil {
		s.errors++
		return
	}
	s.statuses[status]++
}

func (s *stats) merge(o *stats) {
	s.latencies = append(s.latencies, o.latencies...)
	for k, v := range o.statuses {
		s.statuses[k] += v
	}
	s.errors += o.errors
}

func (s *stats) n() int { return len(s.latencies) }

// rate is requests per second over the elapsed time.
func (s *stats) rate() float64 { return float64(s.n()) / s.elapsed.Seconds() }

// pct returns the p-th percentile latency (0 < p ≤ 100).
func (s *stats) pct(p float64) time.Duration {
	if len(s.latencies) == 0 {
		return 0
	}
	l := slices.Clone(s.latencies)
	slices.Sort(l)
	i := int(float64(len(l))*p/100+0.5) - 1
	return l[min(max(i, 0), len(l)-1)]
}

// unexpected counts responses that are neither in ok nor transport errors.
func (s *stats) unexpected(ok ...int) int {
	n := 0
	for status, count := range s.statuses {
		if !slices.Contains(ok, status) {
			n += count
		}
	}
	return n
}

func (s *stats) latencyText() string {
	return fmt.Sprintf("p50 %s, p99 %s, max %s", ms(s.pct(50)), ms(s.pct(99)), ms(s.pct(100)))
}

// closedLoop runs workers goroutines, each sending one request after
// another, until n requests have been sent or d has passed, whichever comes
// first.
func closedLoop(ctx context.Context, workers, n int, d time.Duration, send func(ctx context.Context, worker, i int) (int, error)) *stats {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var mu sync.Mutex
	next := 0
	total := newStats()
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			own := newStats()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n || ctx.Err() != nil {
					break
				}
				t := time.Now()
				status, err := send(ctx, w, i)
				if ctx.Err() != nil {
					break // cut off by the deadline: not a result
				}
				own.add(time.Since(t), status, err)
			}
			mu.Lock()
			total.merge(own)
			mu.Unlock()
		})
	}
	wg.Wait()
	total.elapsed = time.Since(start)
	return total
}

// ms formats a duration in milliseconds.
func ms(d time.Duration) string {
	switch {
	case d >= 100*time.Millisecond:
		return fmt.Sprintf("%.0f ms", d.Seconds()*1000)
	default:
		return fmt.Sprintf("%.1f ms", d.Seconds()*1000)
	}
}
