package handlers_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/handlers"
	"github.com/eventhive/eventhive/store"
)

// fakeClock is a clock a test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: now()} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// throttled is a handler of its own, with its own counts and clock, on the
// bundle's database.
type throttled struct {
	b       *testBundle
	clock   *fakeClock
	server  *httptest.Server
	handler *handlers.Handler
}

// serveThrottled starts a handler on the bundle's store whose clock the
// test moves; configure may change its configuration.
func (b *testBundle) serveThrottled(t *testing.T, configure func(*handlers.Config)) *throttled {
	t.Helper()
	clock := newFakeClock()
	srv, cfg := b.unstarted(t)
	t.Cleanup(srv.Close)
	if configure != nil {
		configure(&cfg)
	}
	h := newHandler(t, cfg, handlers.Deps{Store: b.store, Now: clock.now})
	srv.Config.Handler = h.Routes()
	srv.Start()
	return &throttled{b: b, clock: clock, server: srv, handler: h}
}

// signIn posts the sign-in form from a new browser.
func (th *throttled) signIn(t *testing.T, email, pw string, opts ...reqOption) *response {
	t.Helper()
	return th.b.postForm(t, newClient(t), th.server.URL+"/signin", url.Values{"email": {email}, "password": {pw}}, opts...)
}

// signUp posts the sign-up form from a new browser.
func (th *throttled) signUp(t *testing.T, email string, opts ...reqOption) *response {
	t.Helper()
	return th.b.postForm(t, newClient(t), th.server.URL+"/signup", url.Values{"email": {email}, "password": {password}}, opts...)
}

// buy posts the buy form for a ticket.
func (th *throttled) buy(t *testing.T, c *http.Client, ticketID int64, opts ...reqOption) *response {
	t.Helper()
	return th.b.postForm(t, c, th.server.URL+"/orders", url.Values{"ticket_id": {itoa(ticketID)}}, opts...)
}

// requireRefused checks an ordinary failed sign-in.
func requireRefused(t *testing.T, res *response) {
	t.Helper()
	requireStatus(t, res, http.StatusUnprocessableEntity)
	require.Equal(t, "That email and password do not match an account.", alertMessage(t, res.HTML))
}

// requireThrottled checks a 429 sign-in: the form again with the message,
// Retry-After in seconds, and no session.
func requireThrottled(t *testing.T, res *response, message, retryAfter string) {
	t.Helper()
	requireStatus(t, res, http.StatusTooManyRequests)
	requireElement(t, res.HTML, "form#signin-form")
	require.Equal(t, message, alertMessage(t, res.HTML))
	require.Equal(t, retryAfter, res.Header.Get("Retry-After"))
	require.Nil(t, sessionCookie(res), "a throttled sign-in starts no session")
}

// from makes a request come from addr through a trusted proxy.
func from(addr string) reqOption { return withHeader("Fly-Client-IP", addr) }

func trustProxy(cfg *handlers.Config) { cfg.TrustProxyHeaders = true }

// failuresOnly turns off the limits on sign-ins that succeed, for tests of
// the limits on failures, then applies configure.
func failuresOnly(configure func(*handlers.Config)) func(*handlers.Config) {
	return func(cfg *handlers.Config) {
		cfg.SignInsPerIP, cfg.SignInsPerEmail = handlers.NoLimit, handlers.NoLimit
		if configure != nil {
			configure(cfg)
		}
	}
}

func TestThrottle(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		b.signUp(t, "ann@example.com")
		b.signUp(t, "bob@example.com")
		const perAccount = "Too many failed sign-ins for this account. Try again in 15 minutes."
		const perNetwork = "Too many failed sign-ins from your network. Try again in 15 minutes."

		t.Run("FailedSignInsPerAccount", func(t *testing.T) {
			t.Parallel()
			th := b.serveThrottled(t, failuresOnly(func(cfg *handlers.Config) { cfg.SignInFailuresPerIP = handlers.NoLimit }))
			for range 10 {
				requireRefused(t, th.signIn(t, "ann@example.com", "wrong password"))
			}
			// Even the right password waits now.
			requireThrottled(t, th.signIn(t, "ann@example.com", password), perAccount, "900")
			res := th.signIn(t, "ANN@example.com ", "wrong password", htmx)
			requireStatus(t, res, http.StatusTooManyRequests)
			requireFragment(t, res, `<form id="signin-form"`)
			// Other accounts are not affected.
			requireStatus(t, th.signIn(t, "bob@example.com", password), http.StatusSeeOther)

			th.clock.advance(15*time.Minute - time.Second)
			requireThrottled(t, th.signIn(t, "ann@example.com", password),
				"Too many failed sign-ins for this account. Try again in 1 minute.", "1")
			th.clock.advance(time.Second)
			requireStatus(t, th.signIn(t, "ann@example.com", password), http.StatusSeeOther)
		})

		t.Run("UnknownEmailsLikeKnownOnes", func(t *testing.T) {
			// The limit counts any email, so its answers tell nothing about
			// which accounts exist.
			t.Parallel()
			th := b.serveThrottled(t, failuresOnly(func(cfg *handlers.Config) { cfg.SignInFailuresPerIP = handlers.NoLimit }))
			for _, email := range []string{"ann@example.com", "nobody@example.com"} {
				for range 10 {
					requireRefused(t, th.signIn(t, email, "wrong password"))
				}
				requireThrottled(t, th.signIn(t, email, "wrong password"), perAccount, "900")
			}
		})

		t.Run("SuccessClearsAccountFailures", func(t *testing.T) {
			t.Parallel()
			th := b.serveThrottled(t, failuresOnly(nil))
			for range 9 {
				requireRefused(t, th.signIn(t, "ann@example.com", "wrong password"))
			}
			requireStatus(t, th.signIn(t, "ann@example.com", password), http.StatusSeeOther)
			for range 10 {
				requireRefused(t, th.signIn(t, "ann@example.com", "wrong password"))
			}
			requireThrottled(t, th.signIn(t, "ann@example.com", password), perAccount, "900")
		})

		t.Run("ParallelGuessesCounted", func(t *testing.T) {
			// Attempts are counted before the password is checked, so a
			// burst of parallel guesses gets no more than the limit. The
			// ten the limit lets through each get a turn to check the
			// password at once, as in ParallelCorrectSignIns: one after the
			// other they can outlast passwordWait under -race.
			t.Parallel()
			th := b.serveThrottled(t, failuresOnly(func(cfg *handlers.Config) {
				cfg.SignInFailuresPerIP = handlers.NoLimit
				cfg.PasswordChecks = handlers.DefaultSignInFailuresPerEmail.N
			}))
			statuses := map[int]int{}
			var mu sync.Mutex
			var wg sync.WaitGroup
			for range 30 {
				wg.Go(func() {
					res := th.signIn(t, "bob@example.com", "wrong password")
					mu.Lock()
					defer mu.Unlock()
					statuses[res.StatusCode]++
				})
			}
			wg.Wait()
			require.Equal(t, map[int]int{http.StatusUnprocessableEntity: 10, http.StatusTooManyRequests: 20}, statuses)
		})

		t.Run("FailedSignInsPerAddress", func(t *testing.T) {
			// Credential stuffing: one guess for each of many accounts.
			t.Parallel()
			th := b.serveThrottled(t, failuresOnly(trustProxy))
			for i := range 30 {
				requireRefused(t, th.signIn(t, fmt.Sprintf("victim%d@example.com", i), "password123", from("203.0.113.7")))
			}
			requireThrottled(t, th.signIn(t, "ann@example.com", password, from("203.0.113.7")), perNetwork, "900")
			// Another address, and the account itself from there, are fine.
			requireStatus(t, th.signIn(t, "ann@example.com", password, from("203.0.113.8")), http.StatusSeeOther)
			th.clock.advance(15 * time.Minute)
			requireStatus(t, th.signIn(t, "ann@example.com", password, from("203.0.113.7")), http.StatusSeeOther)
		})

		t.Run("SuccessesAreNotFailures", func(t *testing.T) {
			// A venue's or an office's many people behind one address.
			t.Parallel()
			th := b.serveThrottled(t, func(cfg *handlers.Config) {
				cfg.SignInsPerIP, cfg.SignInsPerEmail = handlers.NoLimit, handlers.NoLimit
			})
			for range 40 {
				requireStatus(t, th.signIn(t, "ann@example.com", password), http.StatusSeeOther)
			}
			for i := range 29 {
				requireRefused(t, th.signIn(t, fmt.Sprintf("nobody%d@example.com", i), password))
				requireStatus(t, th.signIn(t, "bob@example.com", password), http.StatusSeeOther)
				th.clock.advance(time.Second)
			}
		})

		t.Run("SignInsPerAddress", func(t *testing.T) {
			// Correct passwords too: each sign-in costs a bcrypt comparison.
			t.Parallel()
			// The per-email limit is lower: lift it to reach the address's.
			th := b.serveThrottled(t, func(cfg *handlers.Config) {
				trustProxy(cfg)
				cfg.SignInsPerEmail = handlers.NoLimit
			})
			addr := from("203.0.113.20")
			for i := range handlers.DefaultSignInsPerIP.N {
				email := "ann@example.com"
				if i%2 == 1 {
					email = "bob@example.com"
				}
				requireStatus(t, th.signIn(t, email, password, addr), http.StatusSeeOther)
			}
			const perNetwork = "Too many sign-ins from your network. Try again in 1 minute."
			requireThrottled(t, th.signIn(t, "bob@example.com", password, addr), perNetwork, "60")
			requireThrottled(t, th.signIn(t, "carl@example.com", "wrong password", addr), perNetwork, "60")
			// Another address is not affected.
			requireStatus(t, th.signIn(t, "ann@example.com", password, from("203.0.113.21")), http.StatusSeeOther)

			th.clock.advance(time.Minute - time.Second)
			requireThrottled(t, th.signIn(t, "bob@example.com", password, addr), perNetwork, "1")
			th.clock.advance(time.Second)
			requireStatus(t, th.signIn(t, "bob@example.com", password, addr), http.StatusSeeOther)
		})

		t.Run("SignInsPerAccount", func(t *testing.T) {
			// One account signed in to from many addresses.
			t.Parallel()
			th := b.serveThrottled(t, trustProxy)
			for i := range handlers.DefaultSignInsPerEmail.N {
				requireStatus(t, th.signIn(t, "ann@example.com", password, from(fmt.Sprintf("198.51.100.%d", i))), http.StatusSeeOther)
			}
			requireThrottled(t, th.signIn(t, "ann@example.com", password, from("198.51.100.200")),
				"Too many sign-ins for this account. Try again in 1 minute.", "60")
			requireStatus(t, th.signIn(t, "bob@example.com", password, from("198.51.100.200")), http.StatusSeeOther)
			th.clock.advance(time.Minute)
			requireStatus(t, th.signIn(t, "ann@example.com", password, from("198.51.100.200")), http.StatusSeeOther)
		})

		t.Run("ParallelCorrectSignIns", func(t *testing.T) {
			// The attack as it was run: 120 correct sign-ins at once. The
			// ten the account's limit lets through each get a turn to check
			// the password at once: on a loaded machine under -race, ten
			// bcrypt checks one after the other outlast passwordWait, and
			// the gate (tested below) would refuse some of them.
			t.Parallel()
			th := b.serveThrottled(t, func(cfg *handlers.Config) { cfg.PasswordChecks = handlers.DefaultSignInsPerEmail.N })
			statuses := map[int]int{}
			var mu sync.Mutex
			var wg sync.WaitGroup
			for range 120 {
				wg.Go(func() {
					res := th.signIn(t, "ann@example.com", password)
					mu.Lock()
					defer mu.Unlock()
					statuses[res.StatusCode]++
				})
			}
			wg.Wait()
			require.Equal(t, map[int]int{http.StatusSeeOther: 10, http.StatusTooManyRequests: 110}, statuses)
		})

		t.Run("TooManyPasswordChecksAtOnce", func(t *testing.T) {
			// Every turn to check a password, and the queue for one, taken
			// (by sign-ins from many addresses): the next is told to come
			// back, and is not counted against its address.
			t.Parallel()
			th := b.serveThrottled(t, func(cfg *handlers.Config) { cfg.SignInsPerEmail = handlers.NoLimit })
			release := th.handler.FillPasswordChecks()
			for range 3 {
				requireThrottled(t, th.signIn(t, "ann@example.com", password),
					"Too many people are signing in right now. Try again in a few seconds.", "1")
			}
			release()
			for range handlers.DefaultSignInsPerIP.N {
				requireStatus(t, th.signIn(t, "ann@example.com", password), http.StatusSeeOther)
			}
			requireStatus(t, th.signIn(t, "ann@example.com", password), http.StatusTooManyRequests)
		})

		t.Run("SpoofedProxyHeadersIgnored", func(t *testing.T) {
			// Without TrustProxyHeaders the connection's address counts,
			// whatever headers the client writes.
			t.Parallel()
			th := b.serveThrottled(t, failuresOnly(nil))
			for i := range 30 {
				addr := fmt.Sprintf("198.51.100.%d", i)
				requireRefused(t, th.signIn(t, fmt.Sprintf("victim%d@example.com", i), "password123",
					from(addr), withHeader("X-Forwarded-For", addr)))
			}
			requireThrottled(t, th.signIn(t, "ann@example.com", password, from("192.0.2.1"),
				withHeader("X-Forwarded-For", "192.0.2.1")), perNetwork, "900")
		})

		t.Run("ProxyHeaders", func(t *testing.T) {
			t.Parallel()
			th := b.serveThrottled(t, failuresOnly(trustProxy))
			// Only the last X-Forwarded-For entry, the proxy's, counts: the
			// client writes the ones before it.
			for i := range 30 {
				requireRefused(t, th.signIn(t, fmt.Sprintf("victim%d@example.com", i), "password123",
					withHeader("X-Forwarded-For", fmt.Sprintf("10.0.0.%d, 198.51.100.1", i))))
			}
			requireThrottled(t, th.signIn(t, "ann@example.com", password,
				withHeader("X-Forwarded-For", "10.9.9.9, 198.51.100.1")), perNetwork, "900")
			requireStatus(t, th.signIn(t, "ann@example.com", password,
				withHeader("X-Forwarded-For", "198.51.100.1, 198.51.100.2")), http.StatusSeeOther)

			// An IPv6 client counts as its /64.
			for i := range 30 {
				requireRefused(t, th.signIn(t, fmt.Sprintf("victim%d@example.com", i), "password123",
					from(fmt.Sprintf("2001:db8:1:2::%x", i+1))))
			}
			requireThrottled(t, th.signIn(t, "ann@example.com", password, from("2001:db8:1:2:ffff::1")), perNetwork, "900")
			requireStatus(t, th.signIn(t, "ann@example.com", password, from("2001:db8:1:3::1")), http.StatusSeeOther)
		})

		t.Run("SignUpsPerAddress", func(t *testing.T) {
			t.Parallel()
			th := b.serveThrottled(t, trustProxy)
			// Forms with mistakes do not count.
			for range 5 {
				requireStatus(t, th.signUp(t, "not an email", from("203.0.113.9")), http.StatusUnprocessableEntity)
			}
			// Sign-ups refused because the email is taken do count: they
			// tell whether an account exists.
			for i := range handlers.DefaultSignUpsPerIP.N {
				email := fmt.Sprintf("%s-%d@example.com", dialect, i)
				want := http.StatusSeeOther
				if i%10 == 0 {
					email, want = "ann@example.com", http.StatusUnprocessableEntity
				}
				requireStatus(t, th.signUp(t, email, from("203.0.113.9")), want)
			}
			res := th.signUp(t, "one-too-many@example.com", from("203.0.113.9"))
			requireStatus(t, res, http.StatusTooManyRequests)
			require.Equal(t, "Too many sign-ups from your network. Try again in 60 minutes.", alertMessage(t, res.HTML))
			require.Equal(t, "3600", res.Header.Get("Retry-After"))
			require.Nil(t, sessionCookie(res))
			_, err := b.store.UserByEmail(t.Context(), "one-too-many@example.com")
			require.ErrorIs(t, err, store.ErrNotFound)

			requireStatus(t, th.signUp(t, "elsewhere@example.com", from("203.0.113.10")), http.StatusSeeOther)
			th.clock.advance(time.Hour)
			requireStatus(t, th.signUp(t, "one-too-many@example.com", from("203.0.113.9")), http.StatusSeeOther)
		})

		t.Run("ConfiguredLimits", func(t *testing.T) {
			t.Parallel()
			th := b.serveThrottled(t, func(cfg *handlers.Config) {
				failuresOnly(nil)(cfg)
				cfg.SignInFailuresPerEmail = handlers.Limit{N: 3, Per: time.Minute}
				cfg.SignUpsPerIP = handlers.Limit{N: 1, Per: 10 * time.Minute}
			})
			for range 3 {
				requireRefused(t, th.signIn(t, "bob@example.com", "wrong password"))
			}
			requireThrottled(t, th.signIn(t, "bob@example.com", password),
				"Too many failed sign-ins for this account. Try again in 1 minute.", "60")
			requireStatus(t, th.signUp(t, string(dialect)+"-configured@example.com"), http.StatusSeeOther)
			requireStatus(t, th.signUp(t, string(dialect)+"-configured2@example.com"), http.StatusTooManyRequests)

			off := b.serveThrottled(t, noLimits)
			for range 50 {
				requireRefused(t, off.signIn(t, "bob@example.com", "wrong password"))
			}
			requireStatus(t, off.signIn(t, "bob@example.com", password), http.StatusSeeOther)
		})
	})
}
