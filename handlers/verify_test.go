package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/mail"
	"github.com/eventhive/eventhive/store"
)

// verifyLinks returns the paths of the verification links queued for the
// address, newest first, read from the outbox; each message's text carries
// its link.
func (b *testBundle) verifyLinks(t *testing.T, to string) []string {
	t.Helper()
	all, err := b.store.RecentMail(t.Context(), 1000)
	require.NoError(t, err)
	var links []string
	for _, m := range all {
		if m.To != to || m.Kind != store.MailVerifyEmail {
			continue
		}
		path := m.Data["Path"].(string)
		require.True(t, strings.HasPrefix(path, "/account/verify/"), path)
		c, err := mail.RenderAt("http://tickets.test", m.Kind, m.Data)
		require.NoError(t, err)
		require.Contains(t, c.Text, "http://tickets.test"+path)
		links = append(links, path)
	}
	return links
}

const verifyBanner = "#verify-banner"

func TestEmailVerification(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)

		t.Run("LinkVerifiesOnce", func(t *testing.T) {
			t.Parallel()
			c := b.signUp(t, "new@example.com")
			requireElementText(t, b.get(t, c, "/").HTML, verifyBanner,
				"Please confirm your email address: we sent a link to new@example.com. Send it again")
			links := b.verifyLinks(t, "new@example.com")
			require.Len(t, links, 1, "sign-up sends one message")

			// The link works signed out too.
			res := b.get(t, newClient(t), links[0])
			requireStatus(t, res, http.StatusOK)
			requireElement(t, res.HTML, "#verified")
			requireNoElement(t, b.get(t, c, "/").HTML, verifyBanner)

			again := b.get(t, c, links[0])
			requireStatus(t, again, http.StatusGone)
			requireElementText(t, again.HTML, "#verify-gone",
				"This confirmation link has been used already: each link works once.")
		})

		t.Run("UnknownLinkRefused", func(t *testing.T) {
			t.Parallel()
			c := b.signUp(t, "unknown-link@example.com")
			res := b.get(t, c, "/account/verify/"+strings.Repeat("A", 43))
			requireStatus(t, res, http.StatusNotFound)
			requireElement(t, res.HTML, "#verify-gone")
			requireElement(t, res.HTML, "#verify-resend", "offers a new link")
			requireElement(t, b.get(t, c, "/").HTML, verifyBanner)
		})

		t.Run("ResendThrottled", func(t *testing.T) {
			t.Parallel()
			c := b.signUp(t, "resend@example.com")
			resend := func() string {
				res := b.postForm(t, c, "/account/verify/resend", url.Values{"next": {"/orders"}})
				requireRedirect(t, res, "/orders")
				return textOf(doc(b.get(t, c, "/orders").HTML).Find(".flash"))
			}
			require.Equal(t, "We sent a new link to resend@example.com.", resend())
			require.Equal(t, "We sent a new link to resend@example.com.", resend())
			require.Equal(t, "We have sent you 3 links in the last hour. Please look for them, or try again later.", resend())
			links := b.verifyLinks(t, "resend@example.com")
			require.Len(t, links, 3)

			// Any of them works, once; then there is nothing to resend.
			requireStatus(t, b.get(t, c, links[2]), http.StatusOK)
			require.Equal(t, "Your email address is already confirmed.", resend())
			require.Len(t, b.verifyLinks(t, "resend@example.com"), 3)
		})

		t.Run("ResendNeedsSignIn", func(t *testing.T) {
			t.Parallel()
			res := b.postForm(t, newClient(t), "/account/verify/resend", nil)
			requireStatus(t, res, http.StatusSeeOther)
			require.True(t, strings.HasPrefix(res.location(), "/signin"), res.location())
		})
	})
}

func TestEmailVerificationExpires(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		c := b.signUp(t, "late@example.com")
		links := b.verifyLinks(t, "late@example.com")
		require.Len(t, links, 1)

		b.clock.Advance(store.EmailVerificationTTL)
		res := b.get(t, c, links[0])
		requireStatus(t, res, http.StatusGone)
		requireElementText(t, res.HTML, "#verify-gone",
			"This confirmation link has expired: each link works for 48 hours.")
		requireElement(t, res.HTML, "#verify-resend", "offers a new link")
		requireElement(t, b.get(t, c, "/").HTML, verifyBanner)

		// A new link, sent an hour or more after the others, works.
		require.Equal(t, http.StatusSeeOther, b.postForm(t, c, "/account/verify/resend", nil).StatusCode)
		links = b.verifyLinks(t, "late@example.com")
		require.Len(t, links, 2)
		requireStatus(t, b.get(t, c, links[0]), http.StatusOK)
		requireNoElement(t, b.get(t, c, "/").HTML, verifyBanner)
	})
}

// An address in ADMIN_EMAILS gets operator rights once verified by its
// link, without the server-side confirm command; unverified and
// unconfirmed, it gets the same 404 as anyone.
func TestAdminByVerifiedAddress(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := adminSetup(t, dialect)
		admin := b.signUp(t, adminEmail)
		stranger := b.signUp(t, "stranger@example.com")
		for _, path := range adminPaths {
			requireStatus(t, b.get(t, admin, path), http.StatusNotFound)
		}

		// A verified address that ADMIN_EMAILS does not list is nobody.
		requireStatus(t, b.get(t, stranger, b.verifyLinks(t, "stranger@example.com")[0]), http.StatusOK)
		requireStatus(t, b.get(t, stranger, "/admin"), http.StatusNotFound)

		links := b.verifyLinks(t, adminEmail)
		require.Len(t, links, 1)
		requireStatus(t, b.get(t, admin, links[0]), http.StatusOK)
		requireStatus(t, b.get(t, admin, "/admin"), http.StatusOK)
		requireStatus(t, b.get(t, admin, "/admin/mail"), http.StatusOK)
	})
}
