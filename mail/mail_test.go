package mail_test

import (
	"bytes"
	"crypto/rand"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/mail"
	"github.com/eventhive/eventhive/mail/mailtest"
)

func TestRenderPasswordReset(t *testing.T) {
	c, err := mail.Render("password_reset", map[string]any{"Link": "http://x.test/password/reset/a<b"})
	require.NoError(t, err)
	require.Equal(t, "Reset your EventHive password", c.Subject)
	require.Contains(t, c.Text, "http://x.test/password/reset/a<b\n")
	require.Contains(t, c.HTML, `href="http://x.test/password/reset/a%3cb"`, "HTML is escaped")

	_, err = mail.Render("password_reset", map[string]any{})
	require.Error(t, err, "missing data is an error, not an empty link")
	_, err = mail.Render("no_such_kind", nil)
	require.Error(t, err)
}

func TestParseSMTPURL(t *testing.T) {
	s, err := mail.ParseSMTPURL("smtp://ada:p%40ss@mail.example:2525")
	require.NoError(t, err)
	require.Equal(t, mail.SMTP{Host: "mail.example", Port: 2525, Username: "ada", Password: "p@ss"}, s)
	s, err = mail.ParseSMTPURL("smtp://mail.example")
	require.NoError(t, err)
	require.Equal(t, 587, s.Port)
	s, err = mail.ParseSMTPURL("smtps://mail.example")
	require.NoError(t, err)
	require.Equal(t, mail.SMTP{Host: "mail.example", Port: 465, ImplicitTLS: true}, s)
	for _, bad := range []string{"", "mail.example", "http://mail.example", "smtp://", "smtp://h:0", "smtp://h:x", "smtp://h/path"} {
		_, err := mail.ParseSMTPURL(bad)
		require.Error(t, err, bad)
	}
}

func TestLogSenderWritesTheLink(t *testing.T) {
	var buf bytes.Buffer
	s := mail.LogSender{Log: slog.New(slog.NewTextHandler(&buf, nil))}
	c, err := mail.Render("password_reset", map[string]any{"Link": "http://x.test/password/reset/tok"})
	require.NoError(t, err)
	require.NoError(t, s.Send(t.Context(), mail.Message{ID: "outbox-1.2@x.test", To: "ada@example.com", Content: c}))
	require.Contains(t, buf.String(), "http://x.test/password/reset/tok")
	require.Contains(t, buf.String(), "ada@example.com")
}

func TestSMTPSenderThroughMailpit(t *testing.T) {
	pit := mailtest.Require(t)
	to := strings.ToLower(rand.Text()) + "@example.com"
	c, err := mail.Render("password_reset", map[string]any{"Link": "http://x.test/password/reset/tok"})
	require.NoError(t, err)
	sender := pit.Sender(t, "EventHive <tickets@eventhive.test>")
	msg := mail.Message{ID: "outbox-1.1700000000000@eventhive.test", To: to, Content: c}
	require.NoError(t, sender.Send(t.Context(), msg))

	got := pit.To(t, to)
	require.Len(t, got, 1)
	require.Equal(t, msg.ID, got[0].MessageID)
	require.Equal(t, "Reset your EventHive password", got[0].Subject)
	whole := pit.Message(t, got[0].ID)
	require.Contains(t, whole.Text, "http://x.test/password/reset/tok")
	require.Contains(t, whole.HTML, `href="http://x.test/password/reset/tok"`)
	headers := pit.Headers(t, got[0].ID)
	require.Equal(t, []string{"<" + msg.ID + ">"}, headers["Message-Id"])
}

func TestRenderAtPrefixesLinksAndAddsUnsubscribeHeaders(t *testing.T) {
	c, err := mail.RenderAt("https://tickets.example/", "refunded", map[string]any{
		"Event": "Night Show", "Amount": "5.00 USD", "Reason": "the order was already paid", "Path": "/orders/7"})
	require.NoError(t, err)
	require.Contains(t, c.Text, "https://tickets.example/orders/7\n")
	require.Contains(t, c.Text, "Why: the order was already paid.")
	require.Empty(t, c.Headers, "no list, no unsubscribe headers")

	c, err = mail.RenderAt("https://tickets.example", "refunded", map[string]any{
		"Event": "x", "Amount": "x", "Reason": "x", "Path": "/orders/7", "Unsubscribe": "/alerts/unsubscribe/tok"})
	require.NoError(t, err)
	require.Equal(t, map[string]string{
		"List-Unsubscribe":      "<https://tickets.example/alerts/unsubscribe/tok>",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
	}, c.Headers)
}
