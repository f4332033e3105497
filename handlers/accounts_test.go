package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/handlers"
	"github.com/eventhive/eventhive/store"
)

func TestAccounts(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		t.Run("SignUp", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			c := newClient(t)

			res := b.postForm(t, c, "/signup", url.Values{"email": {"Foo@X.com"}, "password": {password}})
			requireRedirect(t, res, "/")
			home := b.get(t, c, "/")
			requireStatus(t, home, http.StatusOK)
			requireSignedInAs(t, home.HTML, "foo@x.com")
			require.Contains(t, home.HTML, "Welcome to EventHive!")

			u, err := b.store.UserByEmail(t.Context(), "foo@x.com")
			require.NoError(t, err)
			require.Equal(t, "foo@x.com", u.Email, "email stored lower-cased")
			require.NotEqual(t, password, u.PasswordHash, "password stored hashed")
		})

		t.Run("EmailUniqueIgnoringCase", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			b.signUp(t, "Foo@X.com")

			for _, email := range []string{"foo@x.com", "FOO@X.COM"} {
				c := newClient(t)
				res := b.postForm(t, c, "/signup", url.Values{"email": {email}, "password": {"another password"}})
				requireStatus(t, res, http.StatusUnprocessableEntity)
				requireFullPage(t, res)
				requireFieldError(t, res.HTML, "email", "An account with this email already exists. Sign in instead?")
				requireFieldValue(t, res.HTML, "email", strings.ToLower(email))
				require.Nil(t, sessionCookie(res), "a refused sign-up starts no session")
			}

			// The first password still works, whatever the case of the email.
			c := newClient(t)
			requireRedirect(t, b.signIn(t, c, "FOO@x.Com"), "/")
			requireSignedInAs(t, b.get(t, c, "/").HTML, "foo@x.com")
		})

		t.Run("InvalidSignUp", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			tests := []struct {
				name, email, password, field, message string
			}{
				{"EmptyEmail", "", password, "email", "Enter your email address."},
				{"NoAt", "nope", password, "email", "Enter a valid email address, like name@example.com."},
				{"NoDotInDomain", "a@b", password, "email", "Enter a valid email address, like name@example.com."},
				{"SpaceInEmail", "a b@c.com", password, "email", "Enter a valid email address, like name@example.com."},
				{"EmptyPassword", "short@example.com", "", "password", "Use at least 8 characters."},
				{"ShortPassword", "short@example.com", "1234567", "password", "Use at least 8 characters."},
				{"PasswordOverBcryptLimit", "long@example.com", strings.Repeat("p", 73), "password", "Use at most 72 bytes (bcrypt's limit)."},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					c := newClient(t)
					res := b.postForm(t, c, "/signup", url.Values{"email": {tt.email}, "password": {tt.password}})
					requireStatus(t, res, http.StatusUnprocessableEntity)
					requireFullPage(t, res)
					requireElement(t, res.HTML, "form#signup-form")
					requireFieldError(t, res.HTML, tt.field, tt.message)
					requireFieldValue(t, res.HTML, "email", tt.email)
					if tt.field == "email" {
						requireFieldOK(t, res.HTML, "password")
					} else {
						requireFieldOK(t, res.HTML, "email")
					}
					require.NotContains(t, res.HTML, `value="`+tt.password+`"`, "the password is never echoed")
					requireSignedOut(t, res.HTML)
				})
			}
			_, err := b.store.UserByEmail(t.Context(), "short@example.com")
			require.ErrorIs(t, err, store.ErrNotFound, "invalid input creates no account")

			// Exactly eight characters is enough.
			c := newClient(t)
			res := b.postForm(t, c, "/signup", url.Values{"email": {"eight@example.com"}, "password": {"12345678"}})
			requireRedirect(t, res, "/")
		})

		t.Run("SignIn", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			b.signUp(t, "ann@example.com")

			c := newClient(t)
			requireRedirect(t, b.signIn(t, c, "ann@example.com"), "/")
			requireSignedInAs(t, b.get(t, c, "/").HTML, "ann@example.com")

			// The email is trimmed and compared without regard to case.
			c = newClient(t)
			requireRedirect(t, b.signIn(t, c, "  Ann@Example.COM "), "/")
			requireSignedInAs(t, b.get(t, c, "/").HTML, "ann@example.com")
		})

		t.Run("ConcurrentSignUpsMakeOneAccount", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			const n = 10
			statuses := make([]int, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				email := "Same@Example.com"
				if i%2 == 1 {
					email = "same@example.com"
				}
				wg.Go(func() {
					form := url.Values{"email": {email}, "password": {password}}
					res, err := newClient(t).PostForm(b.url("/signup"), form)
					if err != nil {
						errs[i] = err
						return
					}
					res.Body.Close()
					statuses[i] = res.StatusCode
				})
			}
			wg.Wait()
			counts := map[int]int{}
			for i, status := range statuses {
				require.NoError(t, errs[i])
				counts[status]++
			}
			require.Equal(t, map[int]int{http.StatusSeeOther: 1, http.StatusUnprocessableEntity: n - 1}, counts)
		})

		t.Run("SignInRefusedWithOneMessage", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			b.signUp(t, "ann@example.com")

			c := newClient(t)
			wrong := b.postForm(t, c, "/signin", url.Values{"email": {"ann@example.com"}, "password": {"not the password"}})
			requireStatus(t, wrong, http.StatusUnprocessableEntity)
			requireFullPage(t, wrong)
			requireElement(t, wrong.HTML, "form#signin-form")
			requireFieldValue(t, wrong.HTML, "email", "ann@example.com")
			require.NotContains(t, wrong.HTML, "not the password")
			requireSignedOut(t, wrong.HTML)

			unknown := b.postForm(t, c, "/signin", url.Values{"email": {"nobody@example.com"}, "password": {"not the password"}})
			requireStatus(t, unknown, http.StatusUnprocessableEntity)
			requireFieldValue(t, unknown.HTML, "email", "nobody@example.com")

			message := alertMessage(t, wrong.HTML)
			require.Equal(t, "That email and password do not match an account.", message)
			require.Equal(t, message, alertMessage(t, unknown.HTML), "the same message for a wrong password and an unknown email")

			requireSignedOut(t, b.get(t, c, "/").HTML)
		})

		t.Run("SignOut", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			c := b.signUp(t, "ann@example.com")

			res := b.postForm(t, c, "/signout", nil)
			requireRedirect(t, res, "/")
			home := b.get(t, c, "/")
			requireSignedOut(t, home.HTML)
			require.Contains(t, home.HTML, "You are signed out.")
			requireRedirect(t, b.get(t, c, "/orders"), signInTo("/orders"))
		})

		t.Run("SessionCookie", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			res := b.postForm(t, newClient(t), "/signup", url.Values{"email": {"ann@example.com"}, "password": {password}})
			requireStatus(t, res, http.StatusSeeOther)
			cookie := sessionCookie(res)
			require.NotNil(t, cookie, "sign-up sets the session cookie")
			require.True(t, cookie.HttpOnly, "HttpOnly")
			require.Equal(t, http.SameSiteLaxMode, cookie.SameSite, "SameSite=Lax")
			require.False(t, cookie.Secure, "not Secure when BASE_URL is http")
			require.Equal(t, "/", cookie.Path)

			// The same app served at an https BASE_URL marks it Secure.
			secure := b.serve(t, func(cfg *handlers.Config) { cfg.BaseURL = "https://eventhive.example" })
			res = b.postForm(t, newClient(t), secure.URL+"/signup", url.Values{"email": {"bob@example.com"}, "password": {password}})
			requireStatus(t, res, http.StatusSeeOther)
			cookie = sessionCookie(res)
			require.NotNil(t, cookie)
			require.True(t, cookie.Secure, "Secure when BASE_URL is https")
			require.True(t, cookie.HttpOnly)
			require.Equal(t, http.SameSiteLaxMode, cookie.SameSite)
			require.Contains(t, res.Header.Get("Set-Cookie"), "; Secure")
		})

		t.Run("SessionTokenRenewed", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			b.signUp(t, "ann@example.com")

			// A signed-out visitor gets no session when asked to sign in.
			c := newClient(t)
			res := b.get(t, c, "/orders")
			requireRedirect(t, res, signInTo("/orders"))
			require.Nil(t, sessionCookie(res))

			res = b.signIn(t, c, "ann@example.com")
			requireStatus(t, res, http.StatusSeeOther)
			signedIn := sessionCookie(res)
			require.NotNil(t, signedIn, "sign-in sets a new session cookie")

			res = b.postForm(t, c, "/signout", nil)
			requireStatus(t, res, http.StatusSeeOther)
			signedOut := sessionCookie(res)
			require.NotNil(t, signedOut, "sign-out sets a new session cookie")
			require.NotEqual(t, signedIn.Value, signedOut.Value, "the token changes at sign-out")

			// The signed-in token is worthless after sign-out (a token planted
			// before sign-in: TestSessionFixation).
			replay := newClient(t)
			res = b.get(t, replay, "/", withHeader("Cookie", signedIn.Name+"="+signedIn.Value))
			requireSignedOut(t, res.HTML)
		})

		t.Run("SessionSurvivesRestart", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			c := b.signUp(t, "ann@example.com")
			b.server.Close()

			// A new process on the same database: the browser's cookie still
			// signs it in (the jar sends it to the new port on the same host).
			b.server = b.serve(t, nil)
			res := b.get(t, c, "/")
			requireStatus(t, res, http.StatusOK)
			requireSignedInAs(t, res.HTML, "ann@example.com")
			requireStatus(t, b.get(t, c, "/orders"), http.StatusOK)
		})
	})
}

func TestSignedOut(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		seller := b.signUp(t, "seller@example.com")
		ticketID := b.listTicket(t, seller, "Jazz night", "30")
		buyer := b.signUp(t, "buyer@example.com")
		orderID := b.buyOK(t, buyer, ticketID)
		ticketPath := "/tickets/" + itoa(ticketID)
		forSalePath := "/tickets/" + itoa(b.listTicket(t, seller, "Rock show", "20"))
		orderPath := "/orders/" + itoa(orderID)

		t.Run("SentToSignIn", func(t *testing.T) {
			tests := []struct{ method, path string }{
				{http.MethodGet, "/tickets/new"},
				{http.MethodGet, "/orders"},
				{http.MethodGet, orderPath},
				{http.MethodGet, ticketPath + "/edit"},
				{http.MethodPost, "/tickets"},
				{http.MethodPost, "/orders"},
				{http.MethodPost, orderPath + "/cancel"},
				{http.MethodPost, ticketPath},
			}
			for _, tt := range tests {
				c := newClient(t)
				form := url.Values{"title": {"Changed"}, "price": {"1"}, "ticket_id": {itoa(ticketID)}}
				var res *response
				if tt.method == http.MethodGet {
					res = b.get(t, c, tt.path)
				} else {
					res = b.postForm(t, c, tt.path, form)
				}
				want := signInTo(tt.path)
				switch {
				case tt.path == "/orders" && tt.method == http.MethodPost:
					want = signInToBuy("/", ticketID) // no Referer
				case tt.method != http.MethodGet:
					want = signInTo("/") // no Referer
				}
				requireRedirect(t, res, want)
				signin := b.get(t, c, res.location())
				requireSignedOut(t, signin.HTML)
				require.Contains(t, signin.HTML, "Please sign in to continue.", "%s %s", tt.method, tt.path)
			}

			// Nothing changed.
			tk, err := b.store.Listing(t.Context(), ticketID, time.Now())
			require.NoError(t, err)
			require.Equal(t, "Jazz night", tk.Title())
			require.Equal(t, int64(3000), tk.Price)
			o, err := b.store.Order(t.Context(), orderID, b.userID(t, "buyer@example.com"))
			require.NoError(t, err)
			require.Equal(t, store.Pending, o.Status)
			tickets, err := b.store.SellerListings(t.Context(), b.userID(t, "seller@example.com"), time.Now())
			require.NoError(t, err)
			require.Len(t, tickets, 2)
		})

		t.Run("BackAfterSignIn", func(t *testing.T) {
			for _, tt := range []struct{ email, path string }{
				{"seller@example.com", "/tickets/new"},
				{"buyer@example.com", "/orders"},
				{"buyer@example.com", orderPath},
				{"seller@example.com", forSalePath + "/edit"},
				{"seller@example.com", "/tickets/new?from=header"},
			} {
				c := newClient(t)
				res := b.get(t, c, tt.path)
				requireRedirect(t, res, signInTo(tt.path))
				requireRedirect(t, b.signInThrough(t, c, res, tt.email), tt.path)
				res = b.get(t, c, tt.path)
				requireStatus(t, res, http.StatusOK)
				requireSignedInAs(t, res.HTML, tt.email)
			}
		})

		t.Run("FormPostedBackToItsPage", func(t *testing.T) {
			// A Buy form posted while signed out comes back to the ticket's page.
			c := newClient(t)
			res := b.postForm(t, c, "/orders", url.Values{"ticket_id": {itoa(ticketID)}},
				withHeader("Referer", b.url(ticketPath)))
			requireRedirect(t, res, signInToBuy(ticketPath, ticketID))
			// The seller's own ticket: its page says so (TestResumePurchase).
			requireRedirect(t, b.signInThrough(t, c, res, "seller@example.com"), ticketPath)
		})

		t.Run("SignInWithoutDetourGoesHome", func(t *testing.T) {
			c := newClient(t)
			requireRedirect(t, b.signIn(t, c, "buyer@example.com"), "/")
		})
	})
}

// TestSignedInPagesWriteNoSession: a signed-in page view leaves its session
// as stored, until the stored idle deadline lags by more than an hour; then
// the next request moves it. However many people are signed in: nothing of
// the sort is kept per session between requests.
func TestSignedInPagesWriteNoSession(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		c := b.signUp(t, "ann@example.com")
		stored := func() time.Time {
			t.Helper()
			var token string
			require.NoError(t, b.db.Read.QueryRowContext(t.Context(), `SELECT token FROM sessions`).Scan(&token))
			data, expiry, found, err := b.store.FindSession(t.Context(), token)
			require.NoError(t, err)
			require.True(t, found)
			require.NotEmpty(t, data)
			return expiry
		}
		requireStatus(t, b.get(t, c, "/"), http.StatusOK) // shows, and so removes, the sign-up's flash
		first := stored()
		require.WithinDuration(t, time.Now().Add(7*24*time.Hour), first, time.Minute, "the idle deadline, as stored")

		for range 3 {
			requireStatus(t, b.get(t, c, "/orders"), http.StatusOK)
		}
		require.Equal(t, first, stored(), "page views wrote the session")

		// Stored two hours earlier, as if the last write were that old;
		// and the app restarted since, as it keeps sessions in memory on
		// SQLite, where no one else writes them.
		q := `UPDATE sessions SET expiry = expiry - 2.0 / 24`
		if dialect == store.Postgres {
			q = `UPDATE sessions SET expiry = expiry - interval '2 hours'`
		}
		_, err := b.db.Write.ExecContext(t.Context(), q)
		require.NoError(t, err)
		b.server = b.serve(t, nil)
		requireStatus(t, b.get(t, c, "/orders"), http.StatusOK)
		require.WithinDuration(t, time.Now().Add(7*24*time.Hour), stored(), time.Minute, "the deadline moved on")
	})
}

// TestSignedOutKeepsNoSession: signed-out requests to pages that need an
// account (once with a ~1 MB return address each) write no session, and the
// sign-in URL they are sent to stays short.
func TestSignedOutKeepsNoSession(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		b.signUp(t, "ann@example.com")
		before := b.sessionRows(t)

		huge := "/orders?q=" + strings.Repeat("x", 512<<10)
		for i := range 20 {
			c := newClient(t)
			var res *response
			if i%2 == 0 {
				res = b.get(t, c, huge)
			} else {
				res = b.postForm(t, c, "/orders", url.Values{"ticket_id": {"1"}}, withHeader("Referer", b.url(huge)))
			}
			requireRedirect(t, res, signInTo("/"))
			require.Nil(t, sessionCookie(res))
			// The sign-in page, sent there, writes nothing either.
			page := b.get(t, c, res.location())
			requireStatus(t, page, http.StatusOK)
			require.Contains(t, page.HTML, "Please sign in to continue.")
			require.Nil(t, sessionCookie(page))
		}
		// Signing out while signed out keeps nothing either.
		requireRedirect(t, b.postForm(t, newClient(t), "/signout", nil), "/")
		require.Equal(t, before, b.sessionRows(t), "signed-out requests wrote sessions")

		// A return address up to the limit is kept whole.
		long := "/orders?q=" + strings.Repeat("x", 512-len("/orders?q="))
		c := newClient(t)
		res := b.get(t, c, long)
		requireRedirect(t, res, signInTo(long))
		requireRedirect(t, b.signInThrough(t, c, res, "ann@example.com"), long)
	})
}

// TestReturnAddress tries to lead a visitor off the site through the return
// address the sign-in and sign-up forms carry.
func TestReturnAddress(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		// One account signs in twice for each address tried.
		b := setupWith(t, dialect, bundleOpts{configure: func(cfg *handlers.Config) { cfg.SignInsPerEmail = handlers.NoLimit }})
		b.signUp(t, "ann@example.com")
		for _, tt := range []struct{ next, want string }{
			{"/orders", "/orders"},
			{"/tickets/new?from=header", "/tickets/new?from=header"},
			{"//evil.example/phish", "/"},
			{"/\\evil.example", "/"},
			{"\\\\evil.example", "/"},
			{"/\t/evil.example", "/"},
			{"/\r\n/evil.example", "/"},
			{"https://evil.example/", "/"},
			{"http:/evil.example", "/"},
			{"javascript:alert(1)", "/"},
			{"evil.example", "/"},
			{"/" + strings.Repeat("a", 512), "/"},
			{"/caf\u00e9", "/"},
		} {
			// The page keeps only a safe address in its form.
			page := b.get(t, newClient(t), "/signin?next="+url.QueryEscape(tt.next))
			requireStatus(t, page, http.StatusOK)
			requireFieldValue(t, page.HTML, "next", tt.want)

			res := b.postForm(t, newClient(t), "/signin",
				url.Values{"email": {"ann@example.com"}, "password": {password}, "next": {tt.next}})
			requireRedirect(t, res, tt.want)
			res = b.postForm(t, newClient(t), "/signin",
				url.Values{"email": {"ann@example.com"}, "password": {password}, "next": {tt.next}}, htmx)
			require.Equal(t, tt.want, res.Header.Get("HX-Redirect"), "next %q", tt.next)
		}

		t.Run("SignUpHonoursNext", func(t *testing.T) {
			c := newClient(t)
			res := b.get(t, c, "/tickets/new")
			requireRedirect(t, res, signInTo("/tickets/new"))
			// "Create an account" on the sign-in page keeps the address.
			signin := b.get(t, c, res.location())
			requireElementText(t, signin.HTML, `a[href="/signup?next=%2Ftickets%2Fnew"]`, "Create an account")
			signup := b.get(t, c, "/signup?next=%2Ftickets%2Fnew")
			requireFieldValue(t, signup.HTML, "next", "/tickets/new")
			res = b.postForm(t, c, "/signup", url.Values{"email": {"bob@example.com"}, "password": {password}, "next": {"/tickets/new"}})
			requireRedirect(t, res, "/tickets/new")
			requireSignedInAs(t, b.get(t, c, "/tickets/new").HTML, "bob@example.com")
		})
	})
}

// TestSignOutEverywhere: signing out everywhere on one device ends the
// account's sessions on every other, and leaves other accounts alone.
func TestSignOutEverywhere(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		phone := b.signUp(t, "ann@example.com")
		laptop := newClient(t)
		requireRedirect(t, b.signIn(t, laptop, "ann@example.com"), "/")
		bob := b.signUp(t, "bob@example.com")

		home := b.get(t, laptop, "/")
		requireSignedInAs(t, home.HTML, "ann@example.com")
		requireElement(t, home.HTML, `form[method="post"][action="/signout/everywhere"] button[type="submit"]`)

		// Another site cannot do it for her.
		res := b.postForm(t, phone, "/signout/everywhere", nil, withHeader("Origin", "https://evil.example"))
		requireStatus(t, res, http.StatusForbidden)
		requireSignedInAs(t, b.get(t, laptop, "/").HTML, "ann@example.com")

		res = b.postForm(t, phone, "/signout/everywhere", nil)
		requireRedirect(t, res, "/")
		home = b.get(t, phone, "/")
		requireSignedOut(t, home.HTML)
		require.Contains(t, home.HTML, "You are signed out on every device.")

		// The laptop is signed out on its next request.
		requireRedirect(t, b.get(t, laptop, "/orders"), signInTo("/orders"))
		requireSignedOut(t, b.get(t, laptop, "/").HTML)
		requireSignedInAs(t, b.get(t, bob, "/").HTML, "bob@example.com")

		// Signing in again works, on both.
		for _, c := range []*http.Client{phone, laptop} {
			requireRedirect(t, b.signIn(t, c, "ann@example.com"), "/")
			requireStatus(t, b.get(t, c, "/orders"), http.StatusOK)
		}
		// A signed-out visitor is sent to sign in, and nothing changes.
		res = b.postForm(t, newClient(t), "/signout/everywhere", nil)
		requireRedirect(t, res, signInTo("/"))
		requireStatus(t, b.get(t, phone, "/orders"), http.StatusOK)
	})
}
