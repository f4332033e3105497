package handlers_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/handlers"
	"github.com/eventhive/eventhive/store"
)

// logLines receives each record a JSON slog handler writes (one Write per
// record), so that a test can wait for a request's log line.
type logLines chan []byte

func (c logLines) Write(p []byte) (int, error) {
	c <- bytes.Clone(p)
	return len(p), nil
}

// serveLogged starts a handler on the bundle's store whose log, as main
// sets it up, goes to the returned channel.
func serveLogged(t *testing.T, b *testBundle) (*httptest.Server, logLines) {
	t.Helper()
	lines := make(logLines, 1000)
	srv, cfg := b.unstarted(t)
	t.Cleanup(srv.Close)
	log := slog.New(handlers.WithRequestIDs(slog.NewJSONHandler(lines, nil)))
	h := newHandler(t, cfg, handlers.Deps{Store: b.store, Log: log, Now: b.clock.Now})
	srv.Config.Handler = h.Routes()
	srv.Start()
	return srv, lines
}

// requestLine waits for the "request" log line of the request with the id
// and returns it whole and parsed.
func requestLine(t *testing.T, lines logLines, id string) (string, map[string]any) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case line := <-lines:
			var rec map[string]any
			require.NoError(t, json.Unmarshal(line, &rec), "%s", line)
			if rec["msg"] == "request" && rec["request_id"] == id {
				return string(line), rec
			}
		case <-timeout:
			t.Fatalf("no request log line with id %q", id)
		}
	}
}

// madeID is the form of an id the app makes: 128 random bits in base32.
var madeID = regexp.MustCompile(`^[A-Z2-7]{26}$`)

// TestRequestIDs: a client's X-Request-Id is kept only when short and plain;
// any other is replaced by a random id that does not name the host. The
// response and the request's log line carry the same id.
func TestRequestIDs(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	srv, lines := serveLogged(t, b)
	hostname, err := os.Hostname()
	require.NoError(t, err)
	send := func(t *testing.T, clientID string, set bool) string {
		t.Helper()
		opts := []reqOption{}
		if set {
			opts = append(opts, withHeader("X-Request-Id", clientID))
		}
		res := b.get(t, newClient(t), srv.URL+"/", opts...)
		requireStatus(t, res, http.StatusOK)
		require.Len(t, res.Header.Values("X-Request-Id"), 1)
		id := res.Header.Get("X-Request-Id")
		_, rec := requestLine(t, lines, id)
		require.Equal(t, "/", rec["path"])
		return id
	}

	t.Run("PlainKept", func(t *testing.T) {
		for _, id := range []string{"a", "abc-123", "Proxy_ID.42-x", strings.Repeat("a", 64),
			"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._"} {
			require.Equal(t, id, send(t, id, true))
		}
	})

	t.Run("OddReplaced", func(t *testing.T) {
		for _, id := range []string{
			strings.Repeat("a", 65),
			strings.Repeat("x", 64<<10),
			"has space",
			"a/b",
			"id;admin=1",
			`"quoted"`,
			"<script>alert(1)</script>",
			"tab\there",
			"héllo",
			"\u202Eevil",
			"request_id=forged",
			"",
		} {
			got := send(t, id, true)
			require.NotEqual(t, id, got)
			require.Regexp(t, madeID, got, "client sent %q", id)
		}
	})

	t.Run("MadeIDsRandomWithoutHostname", func(t *testing.T) {
		seen := map[string]bool{}
		for range 20 {
			id := send(t, "", false)
			// chi's ids were hostname/random-000001. (A short host name may
			// turn up in 26 random letters by chance: the form is the test.)
			require.Regexp(t, madeID, id)
			require.NotContains(t, id, hostname+"/")
			require.False(t, seen[id], "id %q made twice", id)
			seen[id] = true
		}
	})
}

// TestRequestLogBounded: a log line repeats at most the first 256 bytes of a
// path and 16 of a method, cut between characters and marked, however long
// the client made them.
func TestRequestLogBounded(t *testing.T) {
	t.Parallel()
	b := setup(t, store.SQLite)
	srv, lines := serveLogged(t, b)
	const marker = "…[truncated]"

	for _, tt := range []struct {
		name, method, path string
		status             int
	}{
		{"MegabytePath", http.MethodGet, "/" + strings.Repeat("a", 1<<20), http.StatusNotFound},
		{"MultibytePath", http.MethodGet, "/" + strings.Repeat("é", 100<<10), http.StatusNotFound},
		{"LongMethod", strings.Repeat("M", 64<<10), "/", http.StatusMethodNotAllowed},
		{"ShortKept", "PROPFIND", "/tickets/1", http.StatusMethodNotAllowed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := b.do(t, newClient(t), tt.method, srv.URL+tt.path, nil)
			requireStatus(t, res, tt.status)
			line, rec := requestLine(t, lines, res.Header.Get("X-Request-Id"))
			require.Less(t, len(line), 1024, "log line: %s", line)
			for _, f := range []struct {
				field, sent string
				max         int
			}{{"method", tt.method, 16}, {"path", tt.path, 256}} {
				logged, _ := rec[f.field].(string)
				require.True(t, utf8.ValidString(logged) && !strings.ContainsRune(logged, utf8.RuneError), "%s %q", f.field, logged)
				if len(f.sent) <= f.max {
					require.Equal(t, f.sent, logged)
					continue
				}
				require.True(t, strings.HasSuffix(logged, marker), "%s %q", f.field, logged)
				kept := strings.TrimSuffix(logged, marker)
				require.LessOrEqual(t, len(kept), f.max)
				require.Greater(t, len(kept), f.max-utf8.UTFMax)
				require.True(t, strings.HasPrefix(f.sent, kept))
			}
		})
	}
}
