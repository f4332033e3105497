// Package mailtest reads the messages a test sent through a real SMTP
// server: mailpit, which .ci/run starts (MAILPIT_URL for its API,
// TEST_SMTP_URL for its SMTP port).
package mailtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/eventhive/eventhive/mail"
)

// Mailpit is a running mailpit.
type Mailpit struct {
	API  string    // its HTTP API, e.g. http://127.0.0.1:8025
	SMTP mail.SMTP // its SMTP port
}

// Available returns the mailpit that MAILPIT_URL and TEST_SMTP_URL name,
// or nil when they are unset: then the test should use the log sender. Under
// CI (CI set) their absence fails the test, as CI always runs mailpit.
func Available(t testing.TB) *Mailpit {
	t.Helper()
	api, smtpURL := os.Getenv("MAILPIT_URL"), os.Getenv("TEST_SMTP_URL")
	if api == "" || smtpURL == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("MAILPIT_URL and TEST_SMTP_URL are not set: CI must run mailpit (see .ci/run)")
		}
		return nil
	}
	server, err := mail.ParseSMTPURL(smtpURL)
	if err != nil {
		t.Fatalf("TEST_SMTP_URL: %v", err)
	}
	return &Mailpit{API: api, SMTP: server}
}

// Require is Available, skipping the test without mailpit outside CI.
func Require(t testing.TB) *Mailpit {
	t.Helper()
	m := Available(t)
	if m == nil {
		t.Skip("MAILPIT_URL and TEST_SMTP_URL are not set: start mailpit to run this test (see .ci/run)")
	}
	return m
}

// Sender returns a sender through the mailpit, from the address from.
func (m *Mailpit) Sender(t testing.TB, from string) *mail.SMTPSender {
	t.Helper()
	s, err := mail.NewSMTPSender(m.SMTP, from)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Summary is a message as mailpit lists it.
type Summary struct {
	ID        string
	MessageID string // without angle brackets
	Subject   string
}

// Message is a whole message as mailpit gives it.
type Message struct {
	ID        string
	MessageID string
	Subject   string
	Text      string
	HTML      string
}

// To lists the messages mailpit holds for the address, newest first.
// Tests send to addresses of their own, so mailpit can be shared.
func (m *Mailpit) To(t testing.TB, address string) []Summary {
	t.Helper()
	var found struct{ Messages []Summary }
	m.get(t, "/api/v1/search?query="+url.QueryEscape(`to:"`+address+`"`), &found)
	return found.Messages
}

// Message reads a message whole.
func (m *Mailpit) Message(t testing.TB, id string) Message {
	t.Helper()
	var msg Message
	m.get(t, "/api/v1/message/"+url.PathEscape(id), &msg)
	return msg
}

// Headers reads a message's headers.
func (m *Mailpit) Headers(t testing.TB, id string) map[string][]string {
	t.Helper()
	var headers map[string][]string
	m.get(t, "/api/v1/message/"+url.PathEscape(id)+"/headers", &headers)
	return headers
}

var client = &http.Client{Timeout: 10 * time.Second}

func (m *Mailpit) get(t testing.TB, path string, into any) {
	t.Helper()
	res, err := client.Get(m.API + path)
	if err != nil {
		t.Fatalf("mailpit: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("mailpit: GET %s: %s", path, res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(into); err != nil {
		t.Fatalf("mailpit: GET %s: %v", path, err)
	}
}
