package mail

import (
	"context"
	"fmt"
	"net"
	netmail "net/mail"
	"net/url"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTP is where SMTPSender delivers, as SMTP_URL names it.
type SMTP struct {
	Host     string
	Port     int
	Username string // "" for no authentication
	Password string
	// ImplicitTLS is smtps://: TLS from the first byte. Otherwise the
	// connection begins in plain text and STARTTLS is required, except to a
	// server on this machine (a test server such as mailpit), where it is
	// used if offered.
	ImplicitTLS bool
}

// ParseSMTPURL reads SMTP_URL: smtp://user:pass@host:port (STARTTLS; port
// 587 by default) or smtps://user:pass@host:port (implicit TLS; port 465).
// The user and password are optional.
func ParseSMTPURL(raw string) (SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return SMTP{}, fmt.Errorf("want smtp://user:password@host:port (STARTTLS) or smtps://… (implicit TLS)")
	}
	s := SMTP{Host: u.Hostname(), Port: 587, ImplicitTLS: u.Scheme == "smtps"}
	if s.ImplicitTLS {
		s.Port = 465
	}
	if p := u.Port(); p != "" {
		if s.Port, err = strconv.Atoi(p); err != nil || s.Port < 1 || s.Port > 65535 {
			return SMTP{}, fmt.Errorf("port %q: want a number from 1 to 65535", p)
		}
	}
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	return s, nil
}

// loopback reports whether the host is this machine.
func (s SMTP) loopback() bool {
	if s.Host == "localhost" {
		return true
	}
	ip := net.ParseIP(s.Host)
	return ip != nil && ip.IsLoopback()
}

// SMTPSender sends messages through an SMTP server, one connection per
// message (messages are few; a job sends one).
type SMTPSender struct {
	server SMTP
	from   string
}

// NewSMTPSender returns a sender through server, whose messages come from
// from (MAIL_FROM: an address, with or without a name).
func NewSMTPSender(server SMTP, from string) (*SMTPSender, error) {
	if _, err := netmail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("from address %q: %w", from, err)
	}
	return &SMTPSender{server: server, from: from}, nil
}

// sendTimeout bounds connecting and each exchange with the server.
const sendTimeout = 20 * time.Second

// Send delivers m. An error leaves it to the caller to try again; the
// Message-ID stays m.ID.
func (s *SMTPSender) Send(ctx context.Context, m Message) error {
	msg := gomail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return fmt.Errorf("from: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("to: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(m.ID)
	msg.SetDate()
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	for name, value := range m.Headers {
		msg.SetGenHeader(gomail.Header(name), value)
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)

	client, err := gomail.NewClient(s.server.Host, s.options()...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("send mail to %s:%d: %w", s.server.Host, s.server.Port, err)
	}
	return nil
}

func (s *SMTPSender) options() []gomail.Option {
	opts := []gomail.Option{gomail.WithPort(s.server.Port), gomail.WithTimeout(sendTimeout)}
	switch {
	case s.server.ImplicitTLS:
		opts = append(opts, gomail.WithSSL())
	case s.server.loopback():
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.server.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.server.Username), gomail.WithPassword(s.server.Password))
	}
	return opts
}
