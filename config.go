package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/eventhive/eventhive/mail"
	"github.com/eventhive/eventhive/money"
	"github.com/eventhive/eventhive/store"
)

// config is EventHive's configuration, read from the environment. Every value
// has a default that works on a developer's machine.
type config struct {
	Port        int
	DatabaseURL string
	BaseURL     string
	OrderHold   time.Duration
	Currency    string

	// Stripe. Without a secret key the app uses its built-in checkout and
	// payouts.
	StripeSecretKey     string
	StripeWebhookSecret string
	// StripeConnectWebhookSecret verifies the Connect endpoint's events
	// (account.updated), which Stripe signs with that endpoint's own secret.
	StripeConnectWebhookSecret string
	StripeAPIURL               string // where stripe-go sends API calls; empty for Stripe itself

	AdminEmails []string // accounts that may open /admin once confirmed, in store.NormalizeEmail's form

	MaxHoldsPerBuyer  int  // tickets one buyer may hold at once; 0: no limit
	TrustProxyHeaders bool // client addresses from Fly-Client-IP / X-Forwarded-For
	MetricsPort       int  // serves /metrics on its own port when not 0
	MaxLiveStreams    int  // event streams (pages with live updates) open at once; 0: the handlers' default

	ResaleCap       money.Cap      // how far over face value a ticket may be listed
	DefaultTimeZone *time.Location // the zone a new event is in unless its creator picks another

	// PassSigningKey signs EventHive passes; nil: the key the database
	// keeps, made at first start.
	PassSigningKey ed25519.PrivateKey
	// SMTP is where mail goes (SMTP_URL), from MailFrom (MAIL_FROM); with
	// neither, messages are written to the log.
	SMTP     *mail.SMTP
	MailFrom string

	// Payouts is the platform's fee (PLATFORM_FEE_PERCENT) and how long
	// after an event its sellers are paid (PAYOUT_DELAY).
	Payouts store.PayoutTerms
}

// loadConfig reads the configuration. A bad value is an error naming it.
func loadConfig(getenv func(string) string) (config, error) {
	cfg := config{
		Port:        8080,
		DatabaseURL: "eventhive.db",
		OrderHold:   time.Minute,
		Currency:    "usd",

		MaxHoldsPerBuyer: 4,
		DefaultTimeZone:  time.UTC,
		Payouts:          store.DefaultPayoutTerms,
	}
	if v := getenv("PORT"); v != "" {
		port, err := strconv.Atoi(v)
		if err != nil || port < 1 || port > 65535 {
			return cfg, fmt.Errorf("PORT=%q: want a port number from 1 to 65535", v)
		}
		cfg.Port = port
	}
	if v := getenv("DATABASE_URL"); v != "" {
		cfg.DatabaseURL = v
	}
	cfg.BaseURL = fmt.Sprintf("http://localhost:%d", cfg.Port)
	if v := getenv("BASE_URL"); v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return cfg, fmt.Errorf("BASE_URL=%q: want an absolute http or https URL with no path, like https://eventhive.example", v)
		}
		cfg.BaseURL = u.Scheme + "://" + u.Host
	}
	if v := getenv("ORDER_HOLD"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > 24*time.Hour {
			return cfg, fmt.Errorf("ORDER_HOLD=%q: want a Go duration from 1s to 24h, like 1m or 90s", v)
		}
		cfg.OrderHold = d
	}
	if v := getenv("CURRENCY"); v != "" {
		if !isCurrencyCode(v) {
			return cfg, fmt.Errorf("CURRENCY=%q: want a three-letter ISO 4217 code, like usd", v)
		}
		cfg.Currency = strings.ToLower(v)
	}
	cfg.StripeSecretKey = getenv("STRIPE_SECRET_KEY")
	cfg.StripeWebhookSecret = getenv("STRIPE_WEBHOOK_SECRET")
	if cfg.StripeSecretKey != "" && cfg.StripeWebhookSecret == "" {
		return cfg, fmt.Errorf("STRIPE_WEBHOOK_SECRET is empty: with STRIPE_SECRET_KEY set it must be the signing secret (whsec_...) of the webhook endpoint")
	}
	cfg.StripeConnectWebhookSecret = getenv("STRIPE_CONNECT_WEBHOOK_SECRET")
	if cfg.StripeSecretKey != "" && cfg.StripeConnectWebhookSecret == "" {
		return cfg, fmt.Errorf("STRIPE_CONNECT_WEBHOOK_SECRET is empty: with STRIPE_SECRET_KEY set it must be the signing secret (whsec_...) of the Connect webhook endpoint, /webhooks/stripe/connect")
	}
	if v := getenv("STRIPE_API_URL"); v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return cfg, fmt.Errorf("STRIPE_API_URL=%q: want an absolute http or https URL", v)
		}
		cfg.StripeAPIURL = strings.TrimSuffix(v, "/")
	}
	for _, v := range strings.Split(getenv("ADMIN_EMAILS"), ",") {
		if strings.TrimSpace(v) == "" {
			continue
		}
		// The same normal form as sign-up's, compared exactly.
		email, err := store.NormalizeEmail(v)
		if err != nil {
			return cfg, fmt.Errorf("ADMIN_EMAILS: %q: %w; want a comma-separated list like ops@example.com,ada@example.com", strings.TrimSpace(v), err)
		}
		cfg.AdminEmails = append(cfg.AdminEmails, email)
	}
	if v := getenv("MAX_HOLDS_PER_BUYER"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1000 {
			return cfg, fmt.Errorf("MAX_HOLDS_PER_BUYER=%q: want a number from 0 (no limit) to 1000", v)
		}
		cfg.MaxHoldsPerBuyer = n
	}
	if v := getenv("MAX_LIVE_STREAMS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1_000_000 {
			return cfg, fmt.Errorf("MAX_LIVE_STREAMS=%q: want a number from 1 to 1000000", v)
		}
		cfg.MaxLiveStreams = n
	}
	if v := getenv("TRUST_PROXY_HEADERS"); v != "" {
		trust, err := strconv.ParseBool(v)
		if err != nil {
			return cfg, fmt.Errorf("TRUST_PROXY_HEADERS=%q: want true or false", v)
		}
		cfg.TrustProxyHeaders = trust
	}
	if v := getenv("METRICS_PORT"); v != "" {
		port, err := strconv.Atoi(v)
		if err != nil || port < 1 || port > 65535 || port == cfg.Port {
			return cfg, fmt.Errorf("METRICS_PORT=%q: want a port number from 1 to 65535 other than PORT", v)
		}
		cfg.MetricsPort = port
	}
	if v := getenv("RESALE_CAP_PERCENT"); v != "" {
		c, err := money.ParseCap(v)
		if err != nil {
			return cfg, fmt.Errorf("RESALE_CAP_PERCENT=%q: %w", v, err)
		}
		cfg.ResaleCap = c
	}
	if v := getenv("DEFAULT_TIME_ZONE"); v != "" {
		// "Local" would be whatever zone the server happens to be in.
		loc, err := time.LoadLocation(v)
		if err != nil || v == "Local" {
			return cfg, fmt.Errorf("DEFAULT_TIME_ZONE=%q: want an IANA time zone name, like Europe/Paris or UTC", v)
		}
		cfg.DefaultTimeZone = loc
	}
	if v := getenv("PASS_SIGNING_KEY"); v != "" {
		key, err := parsePassKey(v)
		if err != nil {
			// The value is a secret: not repeated in the message.
			return cfg, fmt.Errorf("PASS_SIGNING_KEY: %w; want the base64 of an Ed25519 key: its 32-byte seed, or the 64-byte private key", err)
		}
		cfg.PassSigningKey = key
	}
	if v := getenv("PLATFORM_FEE_PERCENT"); v != "" {
		bp, err := parseBasisPoints(v)
		if err != nil {
			return cfg, fmt.Errorf("PLATFORM_FEE_PERCENT=%q: want a percentage from 0 to 100 with at most two decimals, like 5 or 2.5", v)
		}
		cfg.Payouts.FeeBasisPoints = bp
	}
	if v := getenv("PAYOUT_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > 90*24*time.Hour {
			return cfg, fmt.Errorf("PAYOUT_DELAY=%q: want a Go duration from 0s to 2160h (90 days), like 48h", v)
		}
		cfg.Payouts.Delay = d
	}
	return cfg, loadMailConfig(getenv, &cfg)
}

// parseBasisPoints reads a percentage from 0 to 100 with at most two
// decimals ("5", "2.5", "12.25") in hundredths of a percent.
func parseBasisPoints(v string) (int64, error) {
	whole, frac, _ := strings.Cut(strings.TrimSpace(v), ".")
	if whole == "" || len(frac) > 2 {
		return 0, errors.New("not a percentage")
	}
	n, err := strconv.ParseUint(whole+(frac + "00")[:2], 10, 32)
	if err != nil || n > 10000 { // ParseUint refuses signs
		return 0, errors.New("not a percentage")
	}
	return int64(n), nil
}

// loadMailConfig reads SMTP_URL and MAIL_FROM: both, or neither.
func loadMailConfig(getenv func(string) string, cfg *config) error {
	rawURL, from := getenv("SMTP_URL"), getenv("MAIL_FROM")
	switch {
	case rawURL == "" && from == "":
		return nil
	case rawURL == "":
		return fmt.Errorf("MAIL_FROM is set but SMTP_URL is not: set both to send mail, or neither to write it to the log")
	case from == "":
		return fmt.Errorf("SMTP_URL is set but MAIL_FROM is not: want the address mail comes from, like EventHive <tickets@eventhive.example>")
	}
	server, err := mail.ParseSMTPURL(rawURL)
	if err != nil {
		// The URL may hold a password: name the variable, not its value.
		return fmt.Errorf("SMTP_URL: %w", err)
	}
	if _, err := netmail.ParseAddress(from); err != nil {
		return fmt.Errorf("MAIL_FROM=%q: want an address like tickets@eventhive.example or EventHive <tickets@eventhive.example>", from)
	}
	cfg.SMTP, cfg.MailFrom = &server, from
	return nil
}

// parsePassKey reads an Ed25519 private key from base64 (standard or URL
// alphabet, padded or not): a 32-byte seed, or a 64-byte private key (seed,
// then public key) whose halves agree.
func parsePassKey(v string) (ed25519.PrivateKey, error) {
	v = strings.TrimRight(strings.TrimSpace(v), "=")
	raw, err := base64.RawStdEncoding.DecodeString(v)
	if err != nil {
		if raw, err = base64.RawURLEncoding.DecodeString(v); err != nil {
			return nil, errors.New("not base64")
		}
	}
	switch len(raw) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(raw), nil
	case ed25519.PrivateKeySize:
		key := ed25519.NewKeyFromSeed(raw[:ed25519.SeedSize])
		if !key.Equal(ed25519.PrivateKey(raw)) {
			return nil, errors.New("its public half is not the seed's")
		}
		return key, nil
	}
	return nil, fmt.Errorf("%d bytes", len(raw))
}

// isCurrencyCode reports whether s looks like an ISO 4217 code: three ASCII
// letters.
func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := range len(s) {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}
