package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
)

func TestSecurity(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		t.Run("CrossOriginPostsRefused", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			id := b.listTicket(t, seller, "Opera", "30")
			buyer := b.signUp(t, "buyer@example.com")
			held := b.listTicket(t, seller, "Ballet", "20")
			orderID := b.buyOK(t, buyer, held)

			foreign := []struct {
				name string
				opt  reqOption
			}{
				{"SecFetchSiteCrossSite", withHeader("Sec-Fetch-Site", "cross-site")},
				{"SecFetchSiteSameSite", withHeader("Sec-Fetch-Site", "same-site")},
				{"ForeignOrigin", withHeader("Origin", "http://evil.example")},
			}
			for _, f := range foreign {
				t.Run(f.name, func(t *testing.T) {
					for _, tt := range []struct {
						client *http.Client
						path   string
						form   url.Values
					}{
						{seller, "/tickets", url.Values{"title": {"Forged"}, "price": {"1"}}},
						{seller, "/tickets/" + itoa(id), url.Values{"title": {"Forged"}, "price": {"1"}}},
						{buyer, "/orders", url.Values{"ticket_id": {itoa(id)}}},
						{buyer, "/orders/" + itoa(orderID) + "/cancel", nil},
						{buyer, "/signout", nil},
						{newClient(t), "/signin", url.Values{"email": {"seller@example.com"}, "password": {password}}},
						{newClient(t), "/signup", url.Values{"email": {"forged@example.com"}, "password": {password}}},
					} {
						res := b.postForm(t, tt.client, tt.path, tt.form, f.opt)
						requireStatus(t, res, http.StatusForbidden)
						require.Nil(t, sessionCookie(res), "POST %s: a refused request touches no session", tt.path)
					}

					// Nothing changed.
					requireTicket(t, b, id, "Opera", "", 3000)
					tickets, err := b.store.SellerListings(t.Context(), b.userID(t, "seller@example.com"), time.Now())
					require.NoError(t, err)
					require.Len(t, tickets, 2)
					requireNoOrders(t, b, "seller@example.com")
					orders, err := b.store.OrdersByBuyer(t.Context(), b.userID(t, "buyer@example.com"))
					require.NoError(t, err)
					require.Len(t, orders, 1)
					require.Equal(t, store.Pending, orders[0].Status)
					require.Equal(t, []int64{id}, b.listing(t, "/"))
					requireSignedInAs(t, b.get(t, buyer, "/").HTML, "buyer@example.com")
					_, err = b.store.UserByEmail(t.Context(), "forged@example.com")
					require.ErrorIs(t, err, store.ErrNotFound)
				})
			}

			t.Run("SameOriginAllowed", func(t *testing.T) {
				res := b.postForm(t, seller, "/tickets", url.Values{"title": {"Same origin"}, "price": {"1"}},
					withHeader("Sec-Fetch-Site", "same-origin"))
				requireStatus(t, res, http.StatusSeeOther)
				res = b.postForm(t, seller, "/tickets", url.Values{"title": {"Own origin"}, "price": {"1"}},
					withHeader("Origin", b.server.URL))
				requireStatus(t, res, http.StatusSeeOther)
				res = b.postForm(t, seller, "/tickets", url.Values{"title": {"Typed URL"}, "price": {"1"}},
					withHeader("Sec-Fetch-Site", "none"))
				requireStatus(t, res, http.StatusSeeOther)
			})
		})

		t.Run("NoOpenRedirectAfterSignIn", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			b.signUp(t, "ann@example.com")
			for _, referer := range []string{
				"http://evil.example/phish",
				"https://evil.example/",
				"//evil.example/phish",
				"javascript:alert(1)",
				"not a url",
			} {
				c := newClient(t)
				res := b.postForm(t, c, "/orders", url.Values{"ticket_id": {"1"}}, withHeader("Referer", referer))
				requireRedirect(t, res, signInTo("/"))
				res = b.signInThrough(t, c, res, "ann@example.com")
				requireStatus(t, res, http.StatusSeeOther)
				loc, err := url.Parse(res.location())
				require.NoError(t, err)
				require.Empty(t, loc.Host, "Referer %q led to %q", referer, res.location())
				require.Empty(t, loc.Scheme, "Referer %q led to %q", referer, res.location())
				require.NotRegexp(t, `^(//|/\\)`, res.location(), "Referer %q", referer)
			}
		})

		t.Run("BadBytesRefusedNotFailed", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			bad := []string{"a\x00@example.com", "seller@example.com\x00", "a\x1b@example.com"}

			for _, email := range bad {
				res := b.postForm(t, newClient(t), "/signup", url.Values{"email": {email}, "password": {password}})
				requireStatus(t, res, http.StatusUnprocessableEntity)
				require.Contains(t, res.HTML, `id="email-error"`)
			}
			for _, title := range []string{"\xff\xfe", "Jazz\x00night", "Jazz\x1bnight"} {
				// Wave 1's title names the new event.
				res := b.postForm(t, seller, "/tickets", url.Values{"title": {title}, "price": {"10"}})
				requireStatus(t, res, http.StatusUnprocessableEntity)
				requireFieldError(t, res.HTML, "event_name", "The name contains characters that are not valid text.")
			}
			for _, q := range []string{"%00", "%FF", "jazz%00", strings.Repeat("x", 5000)} {
				res := b.get(t, newClient(t), "/?q="+q)
				requireStatus(t, res, http.StatusOK)
			}
			requireNoTickets(t, b, "seller@example.com")
		})

		// Once a 500 on PostgreSQL: the sign-in looked up an unvalidated
		// email, and PostgreSQL refuses NUL in text.
		t.Run("SignInWithControlCharacters", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			b.signUp(t, "ann@example.com")
			for _, email := range []string{"a\x00@example.com", "ann@example.com\x00", "a\x1b@example.com"} {
				res := b.postForm(t, newClient(t), "/signin", url.Values{"email": {email}, "password": {password}})
				requireStatus(t, res, http.StatusUnprocessableEntity)
				require.Equal(t, "That email and password do not match an account.", alertMessage(t, res.HTML))
			}
		})

		// Once accepted as the account \uFFFD@example.com: the email was
		// lower-cased, which replaces invalid bytes, before it was validated.
		t.Run("InvalidUTF8EmailRefused", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			res := b.postForm(t, newClient(t), "/signup", url.Values{"email": {"\xff@example.com"}, "password": {password}})
			requireStatus(t, res, http.StatusUnprocessableEntity)
			requireFieldError(t, res.HTML, "email", "Enter a valid email address, like name@example.com.")
			_, err := b.store.UserByEmail(t.Context(), "\uFFFD@example.com")
			require.ErrorIs(t, err, store.ErrNotFound)
		})

		t.Run("Routes", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			ann := b.signUp(t, "ann@example.com")

			t.Run("Healthz", func(t *testing.T) {
				res := b.get(t, newClient(t), "/healthz")
				requireStatus(t, res, http.StatusOK)
				require.Equal(t, "ok\n", res.HTML)
				require.Nil(t, sessionCookie(res))
			})

			t.Run("UnknownPath", func(t *testing.T) {
				for _, path := range []string{"/nope", "/orders/1/nope", "/static/nope.css"} {
					requireStatus(t, b.get(t, newClient(t), path), http.StatusNotFound)
				}
				res := b.get(t, newClient(t), "/nope")
				requireNotFound(t, res)
				requireSignedOut(t, res.HTML)
				res = b.get(t, ann, "/no/such/page")
				requireNotFound(t, res)
				requireSignedInAs(t, res.HTML, "ann@example.com")
			})

			t.Run("MethodNotAllowed", func(t *testing.T) {
				for _, tt := range []struct{ method, path string }{
					{http.MethodGet, "/signout"},
					{http.MethodGet, "/orders/1/cancel"},
					{http.MethodPut, "/tickets/1"},
					{http.MethodDelete, "/orders/1"},
					{http.MethodPost, "/"},
				} {
					res := b.do(t, ann, tt.method, tt.path, nil)
					requireStatus(t, res, http.StatusMethodNotAllowed)
					requireFullPage(t, res)
					requireElementText(t, res.HTML, "h1", "Method not allowed", "%s %s", tt.method, tt.path)
				}
				requireSignedInAs(t, b.get(t, ann, "/").HTML, "ann@example.com")
			})
		})
	})
}
