package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/store/storetest"
)

// TestMain lets a test start this test binary as the app itself, so that
// process tests can kill it like any server.
func TestMain(m *testing.M) {
	if os.Getenv("EVENTHIVE_TEST_RUN_APP") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// app is a running EventHive process.
type app struct {
	t    *testing.T
	cmd  *exec.Cmd
	url  string
	logs *strings.Builder
}

// startApp runs the app on databaseURL with the given order hold, and any
// more environment, and waits until it answers.
func startApp(t *testing.T, databaseURL string, hold time.Duration, env ...string) *app {
	t.Helper()
	port := freePort(t)
	logs := &strings.Builder{}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(),
		"EVENTHIVE_TEST_RUN_APP=1",
		fmt.Sprintf("PORT=%d", port),
		"DATABASE_URL="+databaseURL,
		"ORDER_HOLD="+hold.String(),
	)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	a := &app{t: t, cmd: cmd, url: fmt.Sprintf("http://127.0.0.1:%d", port), logs: logs}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	require.Eventually(t, func() bool {
		resp, err := http.Get(a.url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 20*time.Second, 50*time.Millisecond, "app did not start: %s", logs)
	return a
}

// freePort returns a TCP port on 127.0.0.1 that nothing listens on, below
// the kernel's ephemeral range (net.ipv4.ip_local_port_range, 32768 and up
// by default). A port from that range (":0") is free only until the next
// outgoing connection of a test running in parallel takes it as its own,
// before the app could listen on it.
func freePort(t *testing.T) int {
	t.Helper()
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 20000 {
				low = n
			}
		}
	}
	for range 100 {
		port := 20000 + rand.IntN(low-20000)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatal("no free port below the ephemeral range")
	return 0
}

// user is a browser with its own cookies.
type user struct {
	t      *testing.T
	client *http.Client
}

func newUser(t *testing.T) *user {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &user{t: t, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (u *user) post(url string, form url.Values) (*http.Response, string) {
	resp, err := u.client.PostForm(url, form)
	require.NoError(u.t, err)
	return resp, readBody(u.t, resp)
}

func (u *user) get(url string) (*http.Response, string) {
	resp, err := u.client.Get(url)
	require.NoError(u.t, err)
	return resp, readBody(u.t, resp)
}

func readBody(t *testing.T, resp *http.Response) string {
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func (u *user) signUp(a *app, email string) {
	resp, _ := u.post(a.url+"/signup", url.Values{"email": {email}, "password": {"correct horse"}})
	require.Equal(u.t, http.StatusSeeOther, resp.StatusCode)
}

// listTickets lists n tickets titled "prefix i" for the user, and returns
// their ids.
func (u *user) listTickets(a *app, prefix string, n int) []string {
	var ids []string
	for i := range n {
		resp, _ := u.post(a.url+"/tickets", url.Values{"title": {fmt.Sprintf("%s %d", prefix, i)}, "price": {"10"}})
		require.Equal(u.t, http.StatusSeeOther, resp.StatusCode)
		ids = append(ids, strings.TrimPrefix(resp.Header.Get("Location"), "/tickets/"))
	}
	return ids
}

// TestRestartAfterKill kills the app with SIGKILL while a buyer holds a
// ticket, and restarts it after the hold has ended: at once the hold shows as
// expired and the ticket is for sale, the buyer is still signed in, and the
// expiry job then records the cancellation.
func TestRestartAfterKill(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			databaseURL := storetest.URL(t, dialect)
			const hold = 2 * time.Second
			first := startApp(t, databaseURL, hold)

			seller, buyer, other := newUser(t), newUser(t), newUser(t)
			seller.signUp(first, "seller@example.com")
			resp, _ := seller.post(first.url+"/tickets", url.Values{"title": {"Kill -9 Live"}, "price": {"42"}})
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			ticketURL := resp.Header.Get("Location")
			ticketID := strings.TrimPrefix(ticketURL, "/tickets/")

			buyer.signUp(first, "buyer@example.com")
			resp, _ = buyer.post(first.url+"/orders", url.Values{"ticket_id": {ticketID}})
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			orderURL := resp.Header.Get("Location")
			held := time.Now()
			_, listing := other.get(first.url + "/")
			// The home page lists the event, but offers no ticket of it.
			offer := `href="` + ticketURL + `"`
			require.Contains(t, listing, "Kill -9 Live")
			require.NotContains(t, listing, offer, "a held ticket is not offered")

			require.NoError(t, first.cmd.Process.Signal(syscall.SIGKILL))
			_ = first.cmd.Wait()
			time.Sleep(time.Until(held.Add(hold)))

			second := startApp(t, databaseURL, hold)
			_, listing = other.get(second.url + "/")
			require.Contains(t, listing, offer, "the ticket is for sale as soon as the app is back")
			resp, page := buyer.get(second.url + orderURL)
			require.Equal(t, http.StatusOK, resp.StatusCode, "the buyer's session survived the crash")
			require.Contains(t, page, `badge-expired`)

			other.signUp(second, "other@example.com")
			resp, _ = other.post(second.url+"/orders", url.Values{"ticket_id": {ticketID}})
			require.Equal(t, http.StatusSeeOther, resp.StatusCode, "another buyer takes the ticket at once")

			db, err := store.Open(context.Background(), databaseURL)
			require.NoError(t, err)
			defer db.Close()
			var orderID int64
			_, err = fmt.Sscanf(orderURL, "/orders/%d", &orderID)
			require.NoError(t, err)
			// The dead process's River leadership must lapse (about 15 s)
			// before the new one schedules jobs; reads never wait for that.
			require.Eventually(t, func() bool {
				var status string
				err := db.Read.QueryRow(`SELECT status FROM orders WHERE id = $1`, orderID).Scan(&status)
				return err == nil && status == "cancelled"
			}, 60*time.Second, 100*time.Millisecond, "the expiry job ran after the restart")
		})
	}
}

// TestGracefulShutdown sends SIGTERM: the app finishes, exits 0 and says so.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	a := startApp(t, storetest.URL(t, store.SQLite), time.Minute)
	require.NoError(t, a.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, a.cmd.Wait())
	require.Regexp(t, regexp.MustCompile(`"msg":"stopped"`), a.logs.String())
}

// TestOperatorPort checks that metrics and profiles are served on
// METRICS_PORT only, never on the public port.
func TestOperatorPort(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	a := startApp(t, storetest.URL(t, store.SQLite), time.Minute, fmt.Sprintf("METRICS_PORT=%d", port))
	visitor := newUser(t)
	visitor.get(a.url + "/")
	operator := fmt.Sprintf("http://127.0.0.1:%d", port)

	// A request is counted once its handler has returned, which may be a
	// moment after its visitor has read the answer.
	require.Eventually(t, func() bool {
		resp, body := visitor.get(operator + "/metrics")
		return resp.StatusCode == http.StatusOK &&
			strings.Contains(body, `eventhive_http_request_duration_seconds_count{code="200",method="GET",route="/"} 1`)
	}, 5*time.Second, 10*time.Millisecond)
	resp, body := visitor.get(operator + "/debug/pprof/")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, "goroutine")
	resp, body = visitor.get(operator + "/debug/pprof/profile?seconds=1")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotEmpty(t, body)

	for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/profile?seconds=1"} {
		resp, _ := visitor.get(a.url + path)
		require.Equal(t, http.StatusNotFound, resp.StatusCode, "%s on the public port", path)
	}
}

// TestBadConfigurationStopsStartUp checks that run refuses a bad value and
// names it.
func TestBadConfigurationStopsStartUp(t *testing.T) {
	t.Parallel()
	env := map[string]string{"ORDER_HOLD": "soon"}
	err := run(context.Background(), nil, func(k string) string { return env[k] }, io.Discard)
	require.ErrorContains(t, err, "ORDER_HOLD")
}
