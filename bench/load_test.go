package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestClientExchanges sends the load generator's requests to a net/http
// server: a form with a cookie that gets a 303 and a new cookie, a header
// and a chunked body, requests on connections the server closed while idle, which are
// sent again on new ones, and one that ctx ends before its answer. Requests
// share connections when one at a time is sent.
func TestClientExchanges(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/orders":
			ck, err := r.Cookie(sessionCookie)
			if r.Method != http.MethodPost || err != nil || ck.Value != "abc" || r.PostFormValue("ticket_id") != "7" {
				http.Error(w, "bad request", http.StatusBadRequest)
				return
			}
			http.SetCookie(w, &http.Cookie{Name: "other", Value: "xyz"})
			http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "def", Path: "/", HttpOnly: true,
				Expires: time.Now().Add(time.Hour), MaxAge: 3600, SameSite: http.SameSiteLaxMode})
			http.Redirect(w, r, "/orders/1", http.StatusSeeOther)
		case "/slow":
			<-r.Context().Done() // until the client gives up
		case "/big":
			if r.Header.Get("X-Test") != "yes" {
				http.Error(w, "no X-Test header", http.StatusBadRequest)
				return
			}
			for range 100 {
				io.WriteString(w, strings.Repeat("x", 1000))
				w.(http.Flusher).Flush() // chunked
			}
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := newClient(srv.URL, 4)
	ctx := context.Background()

	for range 3 {
		r, err := c.do(ctx, http.MethodPost, "/orders", "abc", url.Values{"ticket_id": {"7"}}, nil, "", false)
		if err != nil || r.status != http.StatusSeeOther || r.location != "/orders/1" || r.cookie != "def" {
			t.Fatalf("POST /orders: %+v, %v", r, err)
		}
	}
	r, err := c.do(ctx, http.MethodGet, "/big", "", nil, http.Header{"X-Test": {"yes"}}, "", true)
	if err != nil || r.status != http.StatusOK || len(r.body) != 100_000 {
		t.Fatalf("GET /big: status %d, %d bytes, %v", r.status, len(r.body), err)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 4 requests one after the other, want 1", n)
	}

	srv.CloseClientConnections()
	r, err = c.do(ctx, http.MethodPost, "/orders", "abc", url.Values{"ticket_id": {"7"}}, nil, "", false)
	if err != nil || r.status != http.StatusSeeOther {
		t.Fatalf("POST /orders after the server closed the idle connection: %+v, %v", r, err)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}

	ctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := c.do(ctx, http.MethodGet, "/slow", "", nil, nil, "", false); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("GET /slow until ctx's deadline: %v, want %v", err, context.DeadlineExceeded)
	}
}
