package handlers_test

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/handlers"
	"github.com/eventhive/eventhive/mail"
	"github.com/eventhive/eventhive/mail/mailtest"
	"github.com/eventhive/eventhive/store"
)

// mailSetup starts EventHive with its mail sent through mailpit when it runs
// (always under CI), and else written to the log: the messages are then read
// from the outbox.
func mailSetup(t *testing.T, dialect store.Dialect) (*testBundle, *mailtest.Mailpit) {
	t.Helper()
	pit := mailtest.Available(t)
	opts := bundleOpts{}
	if pit != nil {
		opts.mail = pit.Sender(t, "EventHive <tickets@eventhive.test>")
	}
	return setupWith(t, dialect, opts), pit
}

// newAddress is an email address no other test uses, as mailpit is shared.
func newAddress() string { return strings.ToLower(rand.Text()) + "@example.com" }

var resetLinkPattern = regexp.MustCompile(`http://\S+/password/reset/[A-Za-z0-9_-]+`)

// mailedResetLink waits for the reset message to the address to be sent and
// returns the link it carries, as read in mailpit (or in the outbox).
func (b *testBundle) mailedResetLink(t *testing.T, pit *mailtest.Mailpit, to string) string {
	t.Helper()
	var sent store.OutboxMail
	require.Eventually(t, func() bool {
		all, err := b.store.RecentMail(t.Context(), 100)
		require.NoError(t, err)
		for _, m := range all {
			if m.To == to && m.Kind == store.MailPasswordReset && m.Sent() {
				sent = m
				return true
			}
		}
		return false
	}, 20*time.Second, 20*time.Millisecond, "no message sent to %s", to)
	text := ""
	if pit != nil {
		// Sign-up sent the address its verification message too.
		var got []mailtest.Summary
		for _, m := range pit.To(t, to) {
			if m.Subject == "Reset your EventHive password" {
				got = append(got, m)
			}
		}
		require.Len(t, got, 1)
		require.Equal(t, sent.MessageID, got[0].MessageID)
		text = pit.Message(t, got[0].ID).Text
	} else {
		c, err := mail.Render(sent.Kind, sent.Data)
		require.NoError(t, err)
		text = c.Text
	}
	link := resetLinkPattern.FindString(text)
	require.NotEmpty(t, link, "no reset link in:\n%s", text)
	return link
}

// forgot asks for a reset link for the email, and checks the answer that
// every address gets.
func (b *testBundle) forgot(t *testing.T, c *http.Client, email string) *response {
	t.Helper()
	res := b.postForm(t, c, "/password/forgot", url.Values{"email": {email}})
	requireStatus(t, res, http.StatusOK)
	requireElement(t, res.HTML, "#reset-sent")
	return res
}

// requireSessionEnded checks that a client's session is no longer signed in.
func (b *testBundle) requireSessionEnded(t *testing.T, c *http.Client) {
	t.Helper()
	requireRedirect(t, b.get(t, c, "/orders"), signInTo("/orders"))
}

func TestPasswordReset(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b, pit := mailSetup(t, dialect)

		t.Run("ForgotMailResetAndOldSessionsDead", func(t *testing.T) {
			t.Parallel()
			email := newAddress()
			laptop := b.signUp(t, email)
			phone := newClient(t)
			requireStatus(t, b.signIn(t, phone, email), http.StatusSeeOther)

			visitor := newClient(t)
			page := b.get(t, visitor, "/signin")
			requireElement(t, page.HTML, `a[href="/password/forgot"]`)
			requireElement(t, b.get(t, visitor, "/password/forgot").HTML, `form#forgot-form input[name="email"]`)
			b.forgot(t, visitor, strings.ToUpper(email))
			link := b.mailedResetLink(t, pit, email)
			require.True(t, strings.HasPrefix(link, b.server.URL+"/password/reset/"), link)

			form := b.get(t, visitor, link)
			requireStatus(t, form, http.StatusOK)
			require.Equal(t, "no-store", form.Header.Get("Cache-Control"))
			requireElement(t, form.HTML, "form#reset-form")
			short := b.postForm(t, visitor, link, url.Values{"password": {"short"}})
			requireStatus(t, short, http.StatusUnprocessableEntity)
			requireFieldError(t, short.HTML, "password", "Use at least 8 characters.")

			const newPassword = "a brand new secret"
			requireRedirect(t, b.postForm(t, visitor, link, url.Values{"password": {newPassword}}), "/signin")
			b.requireSessionEnded(t, laptop)
			b.requireSessionEnded(t, phone)

			old := b.signIn(t, newClient(t), email)
			requireStatus(t, old, http.StatusUnprocessableEntity)
			requireStatus(t, b.postForm(t, newClient(t), "/signin", url.Values{"email": {email}, "password": {newPassword}}),
				http.StatusSeeOther)

			// The link works once.
			for _, res := range []*response{
				b.get(t, visitor, link),
				b.postForm(t, visitor, link, url.Values{"password": {"yet another secret"}}),
			} {
				requireStatus(t, res, http.StatusGone)
				requireElement(t, res.HTML, "#reset-gone")
				requireElement(t, res.HTML, `a[href="/password/forgot"]`)
			}
			requireStatus(t, b.postForm(t, newClient(t), "/signin", url.Values{"email": {email}, "password": {newPassword}}),
				http.StatusSeeOther)
		})

		t.Run("UnknownEmailSameAnswerNoMail", func(t *testing.T) {
			t.Parallel()
			known, unknown := newAddress(), newAddress()
			b.signUp(t, known)
			answer := func(email string) string {
				res := b.forgot(t, newClient(t), email)
				return strings.ReplaceAll(textOf(doc(res.HTML).Find("main").First()), email, "EMAIL")
			}
			require.Equal(t, answer(known), answer(unknown))
			b.mailedResetLink(t, pit, known)

			all, err := b.store.RecentMail(t.Context(), 1000)
			require.NoError(t, err)
			for _, m := range all {
				require.NotEqual(t, unknown, m.To)
			}
			if pit != nil {
				require.Empty(t, pit.To(t, unknown))
			}
		})

		t.Run("UnknownTokenRefused", func(t *testing.T) {
			t.Parallel()
			res := b.get(t, newClient(t), "/password/reset/not-a-token")
			requireStatus(t, res, http.StatusNotFound)
			requireElement(t, res.HTML, `a[href="/password/forgot"]`)
			requireStatus(t, b.postForm(t, newClient(t), "/password/reset/not-a-token",
				url.Values{"password": {"a brand new secret"}}), http.StatusNotFound)
		})

		t.Run("BadEmailRefusedBesideTheField", func(t *testing.T) {
			t.Parallel()
			res := b.postForm(t, newClient(t), "/password/forgot", url.Values{"email": {"not an address"}})
			requireStatus(t, res, http.StatusUnprocessableEntity)
			requireFieldError(t, res.HTML, "email", "Enter a valid email address, like name@example.com.")
		})

		t.Run("ThrottledPerEmailAlikeForEveryAddress", func(t *testing.T) {
			t.Parallel()
			known, unknown := newAddress(), newAddress()
			b.signUp(t, known)
			for _, email := range []string{known, unknown} {
				for range handlers.DefaultPasswordResetsPerEmail.N {
					b.forgot(t, newClient(t), email)
				}
				res := b.postForm(t, newClient(t), "/password/forgot", url.Values{"email": {email}})
				requireStatus(t, res, http.StatusTooManyRequests)
				require.NotEmpty(t, res.Header.Get("Retry-After"))
				require.Contains(t, res.HTML, "Too many requests for a reset link.")
			}
		})
	})
}

// TestPasswordResetExpired moves its own bundle's clock an hour on: the link
// is refused, and nothing changed.
func TestPasswordResetExpired(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b, pit := mailSetup(t, dialect)
		email := newAddress()
		signedIn := b.signUp(t, email)
		b.forgot(t, newClient(t), email)
		link := b.mailedResetLink(t, pit, email)
		requireStatus(t, b.get(t, newClient(t), link), http.StatusOK)

		b.clock.Advance(store.PasswordResetTTL)
		requireStatus(t, b.get(t, newClient(t), link), http.StatusGone)
		res := b.postForm(t, newClient(t), link, url.Values{"password": {"a brand new secret"}})
		requireStatus(t, res, http.StatusGone)
		require.Contains(t, res.HTML, "expired")
		requireStatus(t, b.get(t, signedIn, "/orders"), http.StatusOK)
		requireStatus(t, b.signIn(t, newClient(t), email), http.StatusSeeOther)
	})
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := setup(t, dialect)
		email := newAddress()
		here := b.signUp(t, email)
		elsewhere := newClient(t)
		requireStatus(t, b.signIn(t, elsewhere, email), http.StatusSeeOther)

		requireRedirect(t, b.get(t, newClient(t), "/account/password"), signInTo("/account/password"))
		requireElement(t, b.get(t, here, "/account/password").HTML, "form#password-form")

		const newPassword = "a brand new secret"
		wrong := b.postForm(t, here, "/account/password",
			url.Values{"current_password": {"not my password"}, "password": {newPassword}})
		requireStatus(t, wrong, http.StatusUnprocessableEntity)
		requireFieldError(t, wrong.HTML, "current_password", "That is not your current password.")
		requireStatus(t, b.get(t, elsewhere, "/orders"), http.StatusOK)
		requireStatus(t, b.signIn(t, newClient(t), email), http.StatusSeeOther)

		short := b.postForm(t, here, "/account/password", url.Values{"current_password": {password}, "password": {"short"}})
		requireStatus(t, short, http.StatusUnprocessableEntity)
		requireFieldError(t, short.HTML, "password", "Use at least 8 characters.")

		requireRedirect(t, b.postForm(t, here, "/account/password",
			url.Values{"current_password": {password}, "password": {newPassword}}), "/")
		page := b.get(t, here, "/orders")
		requireStatus(t, page, http.StatusOK)
		requireSignedInAs(t, page.HTML, email)
		b.requireSessionEnded(t, elsewhere)
		requireStatus(t, b.signIn(t, newClient(t), email), http.StatusUnprocessableEntity)
		requireStatus(t, b.postForm(t, newClient(t), "/signin", url.Values{"email": {email}, "password": {newPassword}}),
			http.StatusSeeOther)
	})
}

// TestAdminMail shows the operator the outbox: the reset message, its
// recipient, subject and text with the link, not sent yet as no worker runs.
// (Everyone else gets 404 there: see adminPaths.)
func TestAdminMail(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		b := adminSetup(t, dialect)
		admin := b.signUp(t, adminEmail)
		b.confirmOperator(t, adminEmail)
		email := newAddress()
		b.signUp(t, email)
		b.forgot(t, newClient(t), email)

		res := b.get(t, admin, "/admin/mail")
		requireStatus(t, res, http.StatusOK)
		require.Equal(t, "no-store", res.Header.Get("Cache-Control"))
		// The two sign-ups queued verification messages too.
		msg := requireElement(t, res.HTML, "article[id^=mail-]").FilterFunction(func(_ int, m *goquery.Selection) bool {
			return strings.Contains(textOf(m.Find("header")), "Reset your EventHive password")
		})
		require.Equal(t, 1, msg.Length())
		require.Equal(t, email, textOf(msg.Find(".mail-to")))
		require.Contains(t, textOf(msg.Find("header")), "not sent yet")
		require.Regexp(t, resetLinkPattern, msg.Find("pre.mail-text").Text())
	})
}
