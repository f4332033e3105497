package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// newTransport returns the load generator's HTTP transport: keep-alive
// connections to 127.0.0.1, as many as there are workers.
func newTransport(conns int) *http.Transport {
	return &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
}

// client is an HTTP client that does not follow redirects: a purchase is
// measured up to its 303, not the page after it.
type client struct {
	base string
	hc   *http.Client
}

func newClient(base string, conns int) *client {
	return &client{base: base, hc: &http.Client{
		Transport:     newTransport(conns),
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// response is what the load generator keeps of a response.
type response struct {
	status   int
	location string
	cookie   string // the session cookie it set, if any
	body     string // only when asked for
}

// do sends a request with the session cookie (if any) and reads the whole
// body, so that the connection is reused.
func (c *client) do(ctx context.Context, method, path, cookie string, form url.Values, header http.Header, body string, keepBody bool) (response, error) {
	var rd io.Reader
	switch {
	case form != nil:
		rd = strings.NewReader(form.Encode())
	case body != "":
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return response{}, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if cookie != "" {
		req.Header.Set("Cookie", sessionCookie+"="+cookie)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	r := response{status: resp.StatusCode, location: resp.Header.Get("Location")}
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie {
			r.cookie = ck.Value
		}
	}
	if keepBody {
		b, err := io.ReadAll(resp.Body)
		r.body = string(b)
		return r, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return r, err
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
