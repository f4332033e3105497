package money

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/message"
	"golang.org/x/text/number"
)

func TestMatch(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct {
		acceptLanguage string
		want           string
	}{
		{"", "en-US"},
		{"*", "en-US"},
		{"en", "en-US"},
		{"en-US,en;q=0.9", "en-US"},
		{"en-GB,en;q=0.9", "en-GB"},
		{"en-AU", "en-GB"}, // CLDR's English outside the US is closer to British
		{"de", "de"},
		{"de-DE,de;q=0.9,en;q=0.8", "de"},
		{"de-AT", "de"},
		{"de-CH", "de-CH"},
		{"fr", "fr"},
		{"fr-BE", "fr"},
		{"fr-CA", "fr-CA"},
		{"nb-NO", "nb"},
		{"no", "nb"},
		{"pt-BR", "pt"},
		{"pt-PT", "pt-PT"},
		{"ja", "en-US"},                    // not supported
		{"ja,de;q=0.5", "de"},              // the best supported one
		{"en;q=0.1,fr;q=0.9", "fr"},        // by weight, not order
		{"de-DE,!!bad", "en-US"},           // does not parse
		{"en-US;q=0.9,de;q=nope", "en-US"}, // does not parse
	} {
		t.Run(tc.acceptLanguage, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, Match(tc.acceptLanguage).String())
			require.Equal(t, tc.want, Match(tc.acceptLanguage).String(), "kept")
		})
	}

	t.Run("PastTheKeptHeaders", func(t *testing.T) {
		t.Parallel()
		for i := range maxMatched + 10 {
			require.Equal(t, "nl", Match(fmt.Sprintf("nl-x-%d", i)).String())
		}
	})
}

func TestLocalePrice(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct {
		locale string
		amount int64
		code   string
		want   string
	}{
		{"en-US", 4500, "usd", "$45.00"},
		{"en-US", 4500, "EUR", "€45.00"},
		{"en-US", 123456789, "usd", "$1,234,567.89"},
		{"en-US", 5, "usd", "$0.05"},
		{"en-US", 0, "usd", "$0.00"},
		{"en-US", -4500, "usd", "-$45.00"},
		{"en-US", 4500, "nok", "NOK\u00a045.00"}, // a letter beside the digits: spaced
		{"en-US", 4500, "xyz", "XYZ\u00a045.00"}, // not a currency x/text knows
		{"en-GB", 4500, "gbp", "£45.00"},
		{"en-GB", 4500, "usd", "US$45.00"},
		{"en-CA", 4500, "cad", "$45.00"},
		{"de", 4500, "eur", "45,00\u00a0€"},
		{"de", 123456789, "eur", "1.234.567,89\u00a0€"},
		{"de", -4500, "eur", "-45,00\u00a0€"},
		{"de", 4500, "usd", "45,00\u00a0$"},
		{"de-CH", 123456, "chf", "CHF\u00a01’234.56"},
		{"fr", 4500, "eur", "45,00\u00a0€"},
		{"fr", 123456, "eur", "1\u00a0234,56\u00a0€"},
		{"fr", 4500, "usd", "45,00\u00a0$US"},
		{"nl", 4500, "eur", "€\u00a045,00"},
		{"pt", 4500, "brl", "R$\u00a045,00"},
		{"nb", 4500, "nok", "45,00\u00a0kr"},
		{"sv", 4500, "sek", "45,00\u00a0kr"},
		{"pl", 4500, "pln", "45,00\u00a0zł"},
	} {
		t.Run(tc.locale+"/"+tc.want, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, Match(tc.locale).Price(tc.amount, tc.code))
		})
	}

	t.Run("MinInt64", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, "-$92,233,720,368,547,758.08", Default().Price(math.MinInt64, "usd"))
	})
}

// TestGroupingAsXText checks that the digits Price groups by hand are the
// ones x/text writes, in every supported locale.
func TestGroupingAsXText(t *testing.T) {
	t.Parallel()

	for _, l := range Locales() {
		p := message.NewPrinter(l.tag)
		for _, n := range []uint64{0, 7, 999, 1000, 12345, 999999, 1000000, 123456789012, math.MaxUint64} {
			require.Equal(t, p.Sprint(number.Decimal(n)), l.grouped(n), "%s %d", l, n)
		}
	}
}

func BenchmarkLocalePrice(b *testing.B) {
	de := Match("de")
	for b.Loop() {
		de.Price(123456, "eur")
	}
}

func BenchmarkMatch(b *testing.B) {
	for b.Loop() {
		Match("de-DE,de;q=0.9,en-US;q=0.8,en;q=0.7")
	}
}
