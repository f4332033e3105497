// Package mail renders EventHive's messages from their templates and sends
// them: through an SMTP server (SMTPSender), or, with none configured, into
// the app's log (LogSender). It knows nothing of the outbox: the send_mail
// job (package jobs) reads a message there, renders it here and sends it.
package mail

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"log/slog"
	"path"
	"strings"
	texttemplate "text/template"
)

// Each kind of message has two templates, templates/KIND.txt (whose
// "subject" template is the subject) and templates/KIND.html.
//
//go:embed templates/*.txt templates/*.html
var files embed.FS

// kind is the parsed templates of one kind of message.
type kind struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// kinds are the templates of every kind, parsed when the program starts: a
// broken template stops it there.
var kinds = mustParse()

func mustParse() map[string]kind {
	names, err := fs.Glob(files, "templates/*.txt")
	if err != nil {
		panic(err)
	}
	parsed := map[string]kind{}
	for _, name := range names {
		k := strings.TrimSuffix(path.Base(name), ".txt")
		text := texttemplate.Must(texttemplate.New(path.Base(name)).Option("missingkey=error").ParseFS(files, name))
		if text.Lookup("subject") == nil {
			panic(fmt.Sprintf("mail template %s has no subject", name))
		}
		html := htmltemplate.Must(htmltemplate.New(k+".html").Option("missingkey=error").ParseFS(files, "templates/"+k+".html"))
		parsed[k] = kind{text: text, html: html}
	}
	return parsed
}

// Content is a rendered message.
type Content struct {
	Subject string
	Text    string
	HTML    string
	// Headers are extra header fields, such as List-Unsubscribe.
	Headers map[string]string
}

// Render renders a message of a kind with its data.
func Render(kindName string, data map[string]any) (Content, error) {
	return RenderAt("", kindName, data)
}

// RenderAt renders a message of a kind with its data for the app at
// baseURL (BASE_URL, such as https://tickets.example): the store keeps
// links as paths, and the templates write {{.BaseURL}}{{.Path}}. Data with
// an "Unsubscribe" path gets RFC 8058 one-click unsubscribe headers.
func RenderAt(baseURL, kindName string, data map[string]any) (Content, error) {
	data = withBaseURL(baseURL, data)
	k, ok := kinds[kindName]
	if !ok {
		return Content{}, fmt.Errorf("no mail templates for %q", kindName)
	}
	var subject, text, html bytes.Buffer
	if err := k.text.ExecuteTemplate(&subject, "subject", data); err != nil {
		return Content{}, err
	}
	if err := k.text.Execute(&text, data); err != nil {
		return Content{}, err
	}
	if err := k.html.Execute(&html, data); err != nil {
		return Content{}, err
	}
	return Content{
		Subject: strings.Join(strings.Fields(subject.String()), " "),
		Text:    strings.TrimSpace(text.String()) + "\n",
		HTML:    html.String(),
		Headers: unsubscribeHeaders(baseURL, data),
	}, nil
}

// withBaseURL is a copy of data with "BaseURL" set.
func withBaseURL(baseURL string, data map[string]any) map[string]any {
	all := make(map[string]any, len(data)+1)
	for k, v := range data {
		all[k] = v
	}
	all["BaseURL"] = strings.TrimRight(baseURL, "/")
	return all
}

// unsubscribeHeaders are the List-Unsubscribe headers (RFC 8058) of a
// message whose data has an "Unsubscribe" path, else none.
func unsubscribeHeaders(baseURL string, data map[string]any) map[string]string {
	path, ok := data["Unsubscribe"].(string)
	if !ok || path == "" {
		return nil
	}
	return map[string]string{
		"List-Unsubscribe":      "<" + strings.TrimRight(baseURL, "/") + path + ">",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
	}
}

// Message is a message ready to send.
type Message struct {
	// ID is the Message-ID without its angle brackets: the same on every
	// attempt to send the message, so that a repeat is recognisable.
	ID string
	To string
	Content
}

// Sender sends messages.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// LogSender writes each message, links and all, to the log instead of
// sending it: what a developer without an SMTP server sees.
type LogSender struct {
	Log *slog.Logger
}

// Send logs the message.
func (s LogSender) Send(ctx context.Context, m Message) error {
	s.Log.InfoContext(ctx, "mail not sent (no SMTP_URL): logged instead",
		"to", m.To, "subject", m.Subject, "message_id", m.ID, "text", m.Text)
	return nil
}
