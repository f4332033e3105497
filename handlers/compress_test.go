package handlers_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/static"
	"github.com/eventhive/eventhive/store"
)

// TestCompression: pages, fragments, error pages and static files come
// compressed with brotli or gzip, with Vary: Accept-Encoding and their own
// Content-Length, to a client that accepts either, and exactly as before to
// one that accepts neither; the live-update stream is never compressed and
// still streams.
func TestCompression(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		seller := b.signUp(t, "seller@example.com")
		// Enough tickets for the listing fragment to be worth gzipping.
		for i := range 12 {
			b.listTicket(t, seller, "Opera, row "+strconv.Itoa(i+1), "30")
		}
		// Go's client asks for gzip and decodes it unseen unless told not
		// to: this one shows the bytes as sent.
		raw := newClient(t)
		raw.Transport = &http.Transport{DisableCompression: true}
		// Nor does it keep cookies: every page is a first visit's, the same
		// whichever the encoding.
		raw.Jar = nil
		// What Chromium sends: it gets brotli.
		browser := withHeader("Accept-Encoding", "gzip, deflate, br, zstd")
		gzipOnly := withHeader("Accept-Encoding", "gzip")

		requireCompressed := func(t *testing.T, path string, opts ...reqOption) {
			t.Helper()
			plain := b.get(t, raw, path, opts...)
			require.Empty(t, plain.Header.Get("Content-Encoding"), path)
			require.Contains(t, plain.Header.Values("Vary"), "Accept-Encoding", path)
			require.Equal(t, strconv.Itoa(len(plain.HTML)), plain.Header.Get("Content-Length"), path)

			for enc, accept := range map[string]reqOption{"br": browser, "gzip": gzipOnly} {
				packed := b.get(t, raw, path, append(opts, accept)...)
				require.Equal(t, plain.StatusCode, packed.StatusCode, path)
				require.Equal(t, enc, packed.Header.Get("Content-Encoding"), path)
				require.Contains(t, packed.Header.Values("Vary"), "Accept-Encoding", path)
				require.Equal(t, strconv.Itoa(len(packed.HTML)), packed.Header.Get("Content-Length"), path)
				require.Less(t, len(packed.HTML), len(plain.HTML), path)
				require.Equal(t, plain.HTML, decode(t, enc, packed.HTML), path)
				for _, name := range []string{"Content-Type", "HX-Retarget", "HX-Reswap", "Cache-Control"} {
					require.Equal(t, plain.Header.Get(name), packed.Header.Get(name), "%s: %s", path, name)
				}
			}
		}

		t.Run("Pages", func(t *testing.T) {
			requireCompressed(t, "/")
			requireCompressed(t, "/signin")
			requireCompressed(t, "/?q=opera")
		})

		t.Run("KeptListing", func(t *testing.T) {
			// The signed-out listing is kept rendered (on SQLite): whichever
			// kind of client asks first, each kind gets its own encoding of
			// the same page, again and again.
			b.listTicket(t, seller, "Opera, a new row", "30")
			br := b.get(t, raw, "/", browser)
			gz := b.get(t, raw, "/", gzipOnly)
			plain := b.get(t, raw, "/")
			brAgain := b.get(t, raw, "/", browser)
			gzAgain := b.get(t, raw, "/", gzipOnly)
			require.Equal(t, "br", br.Header.Get("Content-Encoding"))
			require.Equal(t, "gzip", gz.Header.Get("Content-Encoding"))
			require.Empty(t, plain.Header.Get("Content-Encoding"))
			require.Contains(t, plain.HTML, "Opera, a new row")
			require.Equal(t, plain.HTML, decode(t, "br", br.HTML))
			require.Equal(t, plain.HTML, decode(t, "gzip", gz.HTML))
			require.Equal(t, br.HTML, brAgain.HTML)
			require.Equal(t, gz.HTML, gzAgain.HTML)
			require.Equal(t, strconv.Itoa(len(brAgain.HTML)), brAgain.Header.Get("Content-Length"))
			require.Equal(t, strconv.Itoa(len(gzAgain.HTML)), gzAgain.Header.Get("Content-Length"))
		})

		t.Run("Fragment", func(t *testing.T) {
			requireCompressed(t, "/", htmx)
		})

		t.Run("ErrorPage", func(t *testing.T) {
			requireCompressed(t, "/no/such/page")
		})

		t.Run("StaticFile", func(t *testing.T) {
			requireCompressed(t, static.Path("vendor/htmx.min.js"))
			data, err := os.ReadFile("../static/app.css")
			require.NoError(t, err)
			res := b.get(t, raw, static.Path("app.css"), browser)
			require.Equal(t, "br", res.Header.Get("Content-Encoding"))
			require.Equal(t, string(data), decode(t, "br", res.HTML))
		})

		t.Run("RefusedOrNotAsked", func(t *testing.T) {
			for _, ae := range []string{"", "identity", "gzip;q=0", "zstd", "*;q=0", "identity;q=1, gzip;q=0.5, br;q=0.5"} {
				opts := []reqOption{}
				if ae != "" {
					opts = append(opts, withHeader("Accept-Encoding", ae))
				}
				for _, path := range []string{"/", static.Path("app.js")} {
					res := b.get(t, raw, path, opts...)
					requireStatus(t, res, http.StatusOK)
					require.Empty(t, res.Header.Get("Content-Encoding"), "%s, Accept-Encoding: %s", path, ae)
					require.Contains(t, res.Header.Values("Vary"), "Accept-Encoding", "%s, Accept-Encoding: %s", path, ae)
					require.Equal(t, strconv.Itoa(len(res.HTML)), res.Header.Get("Content-Length"), path)
				}
			}
			// HTMX's own Vary stays.
			require.Contains(t, b.get(t, raw, "/", browser).Header.Values("Vary"), "HX-Request")
		})

		t.Run("Head", func(t *testing.T) {
			for _, path := range []string{"/", "/signin", static.Path("base.css")} {
				get := b.get(t, raw, path, browser)
				head := b.do(t, raw, http.MethodHead, path, nil, browser)
				requireStatus(t, head, http.StatusOK)
				require.Empty(t, head.HTML, path)
				require.Equal(t, "br", head.Header.Get("Content-Encoding"), path)
				require.Equal(t, get.Header.Get("Content-Length"), head.Header.Get("Content-Length"), path)
				require.Contains(t, head.Header.Values("Vary"), "Accept-Encoding", path)
			}
		})

		t.Run("SmallResponsesStayPlain", func(t *testing.T) {
			res := b.get(t, raw, "/healthz", browser)
			requireStatus(t, res, http.StatusOK)
			require.Empty(t, res.Header.Get("Content-Encoding"))
			require.Equal(t, "ok\n", res.HTML)

			// An error fragment, retargeted to #main, is a few hundred bytes.
			res = b.get(t, raw, "/tickets/999999", htmx, browser)
			requireStatus(t, res, http.StatusNotFound)
			require.Empty(t, res.Header.Get("Content-Encoding"))
			require.Contains(t, res.Header.Values("Vary"), "Accept-Encoding")
			require.Equal(t, "#main", res.Header.Get("HX-Retarget"))
			require.Equal(t, strconv.Itoa(len(res.HTML)), res.Header.Get("Content-Length"))
			require.Less(t, len(res.HTML), 1024)
		})

		t.Run("LiveStreamIsNotCompressed", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.url("/live"), nil)
			require.NoError(t, err)
			req.Header.Set("Accept", "text/event-stream")
			req.Header.Set("Accept-Encoding", "gzip, br")
			// A stream buffered by a compressor would make Scan wait: the
			// timeout turns that into a failure.
			c := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 10 * time.Second}
			res, err := c.Do(req)
			require.NoError(t, err)
			defer res.Body.Close()
			require.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
			require.Empty(t, res.Header.Get("Content-Encoding"))

			// It streams: an event arrives while the response goes on.
			lines := bufio.NewScanner(res.Body)
			require.True(t, lines.Scan())
			require.True(t, strings.HasPrefix(lines.Text(), "retry: "), lines.Text())
			b.listTicket(t, seller, "Late show", "25")
			for lines.Scan() && lines.Text() != "event: tickets" {
			}
			require.Equal(t, "event: tickets", lines.Text())
		})
	})
}

// decode decodes a body sent with Content-Encoding enc.
func decode(t *testing.T, enc, body string) string {
	t.Helper()
	var r io.Reader
	switch enc {
	case "br":
		r = brotli.NewReader(strings.NewReader(body))
	case "gzip":
		zr, err := gzip.NewReader(strings.NewReader(body))
		require.NoError(t, err)
		r = zr
	default:
		t.Fatalf("unknown Content-Encoding %q", enc)
	}
	data, err := io.ReadAll(r)
	require.NoError(t, err)
	return string(data)
}
