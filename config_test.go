package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
)

// mapEnv returns a getenv func that reads from env; unset names give "".
func mapEnv(env map[string]string) func(string) string {
	return func(name string) string { return env[name] }
}

func TestLoadConfig(t *testing.T) {
	t.Parallel()

	t.Run("Defaults", func(t *testing.T) {
		t.Parallel()
		cfg, err := loadConfig(mapEnv(nil))
		require.NoError(t, err)
		require.Equal(t, config{
			Port:        8080,
			DatabaseURL: "eventhive.db",
			BaseURL:     "http://localhost:8080",
			OrderHold:   time.Minute,
			Currency:    "usd",

			MaxHoldsPerBuyer: 4,
			DefaultTimeZone:  time.UTC,
			Payouts:          store.DefaultPayoutTerms,
		}, cfg)
		require.Equal(t, "20% over face value", cfg.ResaleCap.String())
	})

	t.Run("PortChangesDefaultBaseURL", func(t *testing.T) {
		t.Parallel()
		cfg, err := loadConfig(mapEnv(map[string]string{"PORT": "9000"}))
		require.NoError(t, err)
		require.Equal(t, 9000, cfg.Port)
		require.Equal(t, "http://localhost:9000", cfg.BaseURL)
	})

	t.Run("BaseURLOverridesPort", func(t *testing.T) {
		t.Parallel()
		cfg, err := loadConfig(mapEnv(map[string]string{"PORT": "9000", "BASE_URL": "https://tickets.example"}))
		require.NoError(t, err)
		require.Equal(t, 9000, cfg.Port)
		require.Equal(t, "https://tickets.example", cfg.BaseURL)
	})

	t.Run("GoodValues", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name  string
			env   map[string]string
			check func(t *testing.T, cfg config)
		}{
			{"PortLowest", map[string]string{"PORT": "1"}, func(t *testing.T, cfg config) {
				require.Equal(t, 1, cfg.Port)
			}},
			{"PortHighest", map[string]string{"PORT": "65535"}, func(t *testing.T, cfg config) {
				require.Equal(t, 65535, cfg.Port)
			}},
			{"DatabaseURL", map[string]string{"DATABASE_URL": "postgres://u@db/eventhive"}, func(t *testing.T, cfg config) {
				require.Equal(t, "postgres://u@db/eventhive", cfg.DatabaseURL)
			}},
			{"BaseURLTrailingSlashTrimmed", map[string]string{"BASE_URL": "https://tickets.example/"}, func(t *testing.T, cfg config) {
				require.Equal(t, "https://tickets.example", cfg.BaseURL)
			}},
			{"BaseURLWithPort", map[string]string{"BASE_URL": "http://localhost:3000"}, func(t *testing.T, cfg config) {
				require.Equal(t, "http://localhost:3000", cfg.BaseURL)
			}},
			{"OrderHoldSeconds", map[string]string{"ORDER_HOLD": "90s"}, func(t *testing.T, cfg config) {
				require.Equal(t, 90*time.Second, cfg.OrderHold)
			}},
			{"OrderHoldLowest", map[string]string{"ORDER_HOLD": "1s"}, func(t *testing.T, cfg config) {
				require.Equal(t, time.Second, cfg.OrderHold)
			}},
			{"OrderHoldHighest", map[string]string{"ORDER_HOLD": "24h"}, func(t *testing.T, cfg config) {
				require.Equal(t, 24*time.Hour, cfg.OrderHold)
			}},
			{"CurrencyUpperCaseLowered", map[string]string{"CURRENCY": "EUR"}, func(t *testing.T, cfg config) {
				require.Equal(t, "eur", cfg.Currency)
			}},
			{"CurrencyMixedCaseLowered", map[string]string{"CURRENCY": "gBp"}, func(t *testing.T, cfg config) {
				require.Equal(t, "gbp", cfg.Currency)
			}},
			{"MaxHoldsNoLimit", map[string]string{"MAX_HOLDS_PER_BUYER": "0"}, func(t *testing.T, cfg config) {
				require.Zero(t, cfg.MaxHoldsPerBuyer)
			}},
			{"MaxHoldsTwo", map[string]string{"MAX_HOLDS_PER_BUYER": "2"}, func(t *testing.T, cfg config) {
				require.Equal(t, 2, cfg.MaxHoldsPerBuyer)
			}},
			{"MaxLiveStreams", map[string]string{"MAX_LIVE_STREAMS": "5000"}, func(t *testing.T, cfg config) {
				require.Equal(t, 5000, cfg.MaxLiveStreams)
			}},
			{"ResaleCapFaceValue", map[string]string{"RESALE_CAP_PERCENT": "0"}, func(t *testing.T, cfg config) {
				require.Equal(t, "face value", cfg.ResaleCap.String())
				limit, ok := cfg.ResaleCap.Max(1999)
				require.True(t, ok)
				require.Equal(t, int64(1999), limit)
			}},
			{"ResaleCapPercent", map[string]string{"RESALE_CAP_PERCENT": "50"}, func(t *testing.T, cfg config) {
				limit, ok := cfg.ResaleCap.Max(1999)
				require.True(t, ok)
				require.Equal(t, int64(2998), limit)
			}},
			{"ResaleCapHighest", map[string]string{"RESALE_CAP_PERCENT": "1000"}, func(t *testing.T, cfg config) {
				require.Equal(t, "1000% over face value", cfg.ResaleCap.String())
			}},
			{"ResaleCapNone", map[string]string{"RESALE_CAP_PERCENT": "none"}, func(t *testing.T, cfg config) {
				_, ok := cfg.ResaleCap.Max(1999)
				require.False(t, ok)
			}},
			{"TimeZone", map[string]string{"DEFAULT_TIME_ZONE": "Europe/Paris"}, func(t *testing.T, cfg config) {
				require.Equal(t, "Europe/Paris", cfg.DefaultTimeZone.String())
				summer := time.Date(2026, time.July, 1, 12, 0, 0, 0, time.UTC).In(cfg.DefaultTimeZone)
				require.Equal(t, "CEST", summer.Format("MST"))
			}},
			{"TimeZoneThreeParts", map[string]string{"DEFAULT_TIME_ZONE": "America/Argentina/Buenos_Aires"}, func(t *testing.T, cfg config) {
				require.Equal(t, "America/Argentina/Buenos_Aires", cfg.DefaultTimeZone.String())
			}},
			{"TimeZoneUTC", map[string]string{"DEFAULT_TIME_ZONE": "UTC"}, func(t *testing.T, cfg config) {
				require.Equal(t, time.UTC, cfg.DefaultTimeZone)
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				cfg, err := loadConfig(mapEnv(tt.env))
				require.NoError(t, err)
				tt.check(t, cfg)
			})
		}
	})

	t.Run("BadValues", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name  string
			key   string
			value string
		}{
			{"PortNotANumber", "PORT", "abc"},
			{"PortZero", "PORT", "0"},
			{"PortNegative", "PORT", "-1"},
			{"PortTooHigh", "PORT", "70000"},
			{"BaseURLNotHTTP", "BASE_URL", "ftp://x"},
			{"BaseURLNotAURL", "BASE_URL", "not-a-url"},
			{"BaseURLWithPath", "BASE_URL", "https://x/path"},
			{"BaseURLNoHost", "BASE_URL", "https://"},
			{"BaseURLUnparsable", "BASE_URL", "http://[::1"},
			{"OrderHoldNotADuration", "ORDER_HOLD", "abc"},
			{"OrderHoldNoUnit", "ORDER_HOLD", "60"},
			{"OrderHoldZero", "ORDER_HOLD", "0s"},
			{"OrderHoldUnderASecond", "ORDER_HOLD", "500ms"},
			{"OrderHoldNegative", "ORDER_HOLD", "-1m"},
			{"OrderHoldOverADay", "ORDER_HOLD", "48h"},
			{"CurrencyTooShort", "CURRENCY", "us"},
			{"CurrencyTooLong", "CURRENCY", "usdd"},
			{"CurrencyNotALetter", "CURRENCY", "u$d"},
			{"CurrencyDigit", "CURRENCY", "us1"},
			{"CurrencyNonASCIILetters", "CURRENCY", "üs"},
			{"MaxHoldsNegative", "MAX_HOLDS_PER_BUYER", "-1"},
			{"MaxLiveStreamsZero", "MAX_LIVE_STREAMS", "0"},
			{"MaxLiveStreamsNotANumber", "MAX_LIVE_STREAMS", "many"},
			{"ResaleCapNotANumber", "RESALE_CAP_PERCENT", "abc"},
			{"ResaleCapNegative", "RESALE_CAP_PERCENT", "-1"},
			{"ResaleCapTooHigh", "RESALE_CAP_PERCENT", "1001"},
			{"ResaleCapPercentSign", "RESALE_CAP_PERCENT", "20%"},
			{"ResaleCapFraction", "RESALE_CAP_PERCENT", "12.5"},
			{"ResaleCapSpace", "RESALE_CAP_PERCENT", " 20"},
			{"TimeZoneUnknown", "DEFAULT_TIME_ZONE", "Mars/Olympus_Mons"},
			{"TimeZoneOffset", "DEFAULT_TIME_ZONE", "+01:00"},
			{"TimeZoneLocal", "DEFAULT_TIME_ZONE", "Local"},
			{"TimeZonePath", "DEFAULT_TIME_ZONE", "/etc/localtime"},
			{"TimeZoneDotDot", "DEFAULT_TIME_ZONE", "../zoneinfo/UTC"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				_, err := loadConfig(mapEnv(map[string]string{tt.key: tt.value}))
				require.Error(t, err, "%s=%q", tt.key, tt.value)
				require.Contains(t, err.Error(), tt.key+"=")
			})
		}
	})

	t.Run("MessagesNameTheAllowedForms", func(t *testing.T) {
		t.Parallel()
		_, err := loadConfig(mapEnv(map[string]string{"RESALE_CAP_PERCENT": "lots"}))
		require.EqualError(t, err, `RESALE_CAP_PERCENT="lots": want a whole percentage from 0 (at most face value) to 1000, or none (no cap)`)
		_, err = loadConfig(mapEnv(map[string]string{"DEFAULT_TIME_ZONE": "Paris"}))
		require.EqualError(t, err, `DEFAULT_TIME_ZONE="Paris": want an IANA time zone name, like Europe/Paris or UTC`)
	})

	t.Run("AdminEmails", func(t *testing.T) {
		t.Parallel()
		cfg, err := loadConfig(mapEnv(map[string]string{"ADMIN_EMAILS": " Ops@Example.COM, ,ada@bu\u0308cher.example "}))
		require.NoError(t, err)
		require.Equal(t, []string{"ops@example.com", "ada@bücher.example"}, cfg.AdminEmails)

		for _, v := range []string{"opſ@example.com", "ops@example.com,op\u212a@example.com", "ops", "Ops <ops@example.com>"} {
			_, err := loadConfig(mapEnv(map[string]string{"ADMIN_EMAILS": v}))
			require.ErrorContains(t, err, "ADMIN_EMAILS", "ADMIN_EMAILS=%q", v)
		}
	})

	t.Run("CurrencyKelvinSign", func(t *testing.T) {
		t.Parallel()
		_, err := loadConfig(mapEnv(map[string]string{"CURRENCY": "\u212a"}))
		require.ErrorContains(t, err, "CURRENCY=")
	})

	t.Run("BaseURLUpperCaseScheme", func(t *testing.T) {
		t.Parallel()
		cfg, err := loadConfig(mapEnv(map[string]string{"BASE_URL": "HTTPS://tickets.example"}))
		require.NoError(t, err)
		require.Equal(t, "https://tickets.example", cfg.BaseURL)
	})

	t.Run("BaseURLQueryFragmentUserinfo", func(t *testing.T) {
		t.Parallel()
		for _, v := range []string{"https://x?a=b", "https://x/?a=b", "https://x#f", "https://u:p@x"} {
			_, err := loadConfig(mapEnv(map[string]string{"BASE_URL": v}))
			require.ErrorContains(t, err, "BASE_URL=", "BASE_URL=%q", v)
		}
	})
}

func TestPayoutConfig(t *testing.T) {
	cfg, err := loadConfig(mapEnv(map[string]string{"PLATFORM_FEE_PERCENT": "2.5", "PAYOUT_DELAY": "90s"}))
	require.NoError(t, err)
	assert.Equal(t, int64(250), cfg.Payouts.FeeBasisPoints)
	assert.Equal(t, 90*time.Second, cfg.Payouts.Delay)

	for _, bad := range []string{"-1", "101", "2.555", "five", ".5", "+5", "1e2"} {
		_, err := loadConfig(mapEnv(map[string]string{"PLATFORM_FEE_PERCENT": bad}))
		assert.ErrorContains(t, err, "PLATFORM_FEE_PERCENT", bad)
	}
	for _, bad := range []string{"-1s", "2d", "91d", "forever"} {
		_, err := loadConfig(mapEnv(map[string]string{"PAYOUT_DELAY": bad}))
		assert.ErrorContains(t, err, "PAYOUT_DELAY", bad)
	}
	_, err = loadConfig(mapEnv(map[string]string{"STRIPE_SECRET_KEY": "sk_test_1", "STRIPE_WEBHOOK_SECRET": "whsec_1"}))
	assert.ErrorContains(t, err, "STRIPE_CONNECT_WEBHOOK_SECRET")
}
