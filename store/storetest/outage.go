package storetest

import (
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
)

// Outage stands between the app and a PostgreSQL server and can take the
// server away: Down cuts every connection and refuses new ones, as a server
// that is restarting does; Silence keeps connections open but lets no byte
// through, as a network that drops packets without a word does; Up lets
// connections through again. A test opens its store on URL.
type Outage struct {
	t      testing.TB
	target string // the server's host:port
	addr   string // where the app connects
	URL    string // the database URL through the outage

	silent atomic.Bool

	mu    sync.Mutex
	ln    net.Listener // nil while down
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

// NewOutage starts an Outage, up, in front of the server of databaseURL (a
// postgres:// URL). It is stopped at cleanup.
func NewOutage(t testing.TB, databaseURL string) *Outage {
	t.Helper()
	u, err := url.Parse(databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), "5432")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &Outage{t: t, target: target, addr: ln.Addr().String(), conns: map[net.Conn]bool{}}
	u.Host = o.addr
	o.URL = u.String()
	o.serve(ln)
	t.Cleanup(func() {
		o.Down()
		o.wg.Wait()
	})
	return o
}

// Down closes every connection through the outage and stops listening, so
// that new connections are refused.
func (o *Outage) Down() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ln != nil {
		o.ln.Close()
		o.ln = nil
	}
	for c := range o.conns {
		c.Close()
	}
	clear(o.conns)
}

// Silence drops every byte sent either way from now on, until Up.
func (o *Outage) Silence() { o.silent.Store(true) }

// Up lets bytes through again, and listens again on the same address after
// Down.
func (o *Outage) Up() {
	o.t.Helper()
	o.silent.Store(false)
	o.mu.Lock()
	listening := o.ln != nil
	o.mu.Unlock()
	if listening {
		return
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		o.t.Fatalf("outage: listen again on %s: %v", o.addr, err)
	}
	o.serve(ln)
}

func (o *Outage) serve(ln net.Listener) {
	o.mu.Lock()
	o.ln = ln
	o.mu.Unlock()
	o.wg.Go(func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return // closed by Down
			}
			server, err := net.Dial("tcp", o.target)
			if err != nil {
				client.Close()
				continue
			}
			if !o.track(ln, client, server) {
				continue
			}
			o.wg.Go(func() { o.pipe(client, server) })
			o.wg.Go(func() { o.pipe(server, client) })
		}
	})
}

// track remembers a connection pair, unless the outage went down meanwhile.
func (o *Outage) track(ln net.Listener, client, server net.Conn) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ln != ln {
		client.Close()
		server.Close()
		return false
	}
	o.conns[client], o.conns[server] = true, true
	return true
}

func (o *Outage) pipe(dst, src net.Conn) {
	// Until either side closes, or Down.
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !o.silent.Load() {
			if _, err := dst.Write(buf[:n]); err != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	dst.Close()
	src.Close()
	o.mu.Lock()
	delete(o.conns, dst)
	delete(o.conns, src)
	o.mu.Unlock()
}
