package handlers_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/handlers"
	"github.com/eventhive/eventhive/static"
	"github.com/eventhive/eventhive/store"
)

// TestHead: HEAD is answered wherever GET is, with GET's status and headers
// and no body; a page that needs sign-in redirects as GET does, and a live-update
// stream answers at once instead of holding the connection.
func TestHead(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		seller := b.signUp(t, "seller@example.com")
		id := b.listTicket(t, seller, "Opera", "30")
		// One connection: a request left running on it would stall the next.
		c := newClient(t)
		c.Transport = &http.Transport{MaxConnsPerHost: 1}
		// A returning visitor's browser, which holds the CSS: its pages
		// stay the same from one request to the next.
		b.get(t, c, "/")

		requireSameAsGet := func(t *testing.T, c *http.Client, path string, status int) {
			t.Helper()
			get := b.get(t, c, path)
			head := b.do(t, c, http.MethodHead, path, nil)
			requireStatus(t, get, status)
			requireStatus(t, head, status)
			require.Empty(t, head.HTML, "HEAD %s has a body", path)
			require.Equal(t, get.Header.Get("Content-Type"), head.Header.Get("Content-Type"), "HEAD %s", path)
			require.Equal(t, get.Header.Get("Location"), head.Header.Get("Location"), "HEAD %s", path)
			require.NotEmpty(t, head.Header.Get("Content-Security-Policy"), "HEAD %s", path)
			if cl := head.Header.Get("Content-Length"); cl != "" {
				require.Equal(t, strconv.Itoa(len(get.HTML)), cl, "HEAD %s", path)
			}
		}

		t.Run("PublicPages", func(t *testing.T) {
			for _, path := range []string{"/", "/?q=opera", "/signin", "/signup", "/tickets/" + itoa(id), "/healthz"} {
				requireSameAsGet(t, c, path, http.StatusOK)
			}
			head := b.do(t, c, http.MethodHead, "/", nil)
			require.NotEmpty(t, head.Header.Get("Content-Length"), "a page's length is known in advance")
		})

		t.Run("StaticFile", func(t *testing.T) {
			requireSameAsGet(t, c, static.Path("app.css"), http.StatusOK)
		})

		t.Run("NotFound", func(t *testing.T) {
			requireSameAsGet(t, c, "/no/such/page", http.StatusNotFound)
			requireSameAsGet(t, c, "/tickets/999999", http.StatusNotFound)
			requireSameAsGet(t, c, "/admin/payments", http.StatusNotFound)
		})

		t.Run("SignInOnlyRedirects", func(t *testing.T) {
			for _, path := range []string{"/my/tickets", "/tickets/new", "/orders", "/payments"} {
				res := b.do(t, newClient(t), http.MethodHead, path, nil)
				requireRedirect(t, res, signInTo(path))
				require.Empty(t, res.HTML)
			}
		})

		t.Run("SignedIn", func(t *testing.T) {
			seller.Transport = &http.Transport{MaxConnsPerHost: 1}
			b.get(t, seller, "/") // shows the flash message left by listing the ticket
			for _, path := range []string{"/my/tickets", "/tickets/new", "/tickets/" + itoa(id) + "/edit", "/orders"} {
				requireSameAsGet(t, seller, path, http.StatusOK)
			}
		})

		t.Run("FlashKeptForTheNextPage", func(t *testing.T) {
			// Nobody sees a HEAD's body, so it must not use up the message.
			c := b.signUp(t, "flash@example.com")
			requireRedirect(t, b.postForm(t, c, "/signout", nil), "/")
			requireStatus(t, b.do(t, c, http.MethodHead, "/", nil), http.StatusOK)
			require.Contains(t, b.get(t, c, "/").HTML, "You are signed out.")
		})

		t.Run("PostOnlyRoute", func(t *testing.T) {
			res := b.do(t, c, http.MethodHead, "/signout", nil)
			requireStatus(t, res, http.StatusMethodNotAllowed)
		})

		t.Run("LiveStream", func(t *testing.T) {
			// Should the stream go on, shutting down ends it, so that the
			// test fails instead of hanging.
			done := make(chan struct{})
			srv := b.serve(t, func(cfg *handlers.Config) { cfg.Done = done })
			t.Cleanup(func() { close(done) })
			c := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}, Timeout: 5 * time.Second}
			res := b.do(t, c, http.MethodHead, srv.URL+"/live", nil)
			requireStatus(t, res, http.StatusOK)
			require.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
			require.Empty(t, res.HTML)
			// The same connection serves the next request: the stream
			// handler has returned. Were it still running, it would never
			// read this request nor notice the client leave.
			next, err := c.Get(srv.URL + "/healthz")
			require.NoError(t, err)
			require.NoError(t, next.Body.Close())
			require.Equal(t, http.StatusOK, next.StatusCode)
		})
	})
}
