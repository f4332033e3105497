package money

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// validPrices are inputs ParsePrice accepts, with the minor units they give.
var validPrices = []struct {
	name string
	in   string
	want int64
}{
	{"WholeNumber", "30", 3000},
	{"OneDecimal", "30.5", 3050},
	{"TwoDecimals", "30.50", 3050},
	{"SurroundingSpace", " 7.05 ", 705},
	{"TabsAndNewlines", "\t7.05\n", 705},
	{"OneCent", "0.01", 1},
	{"Maximum", "100000", MaxPrice},
	{"MaximumWithDecimals", "100000.00", MaxPrice},
	{"LeadingZeros", "007.10", 710},
	{"ManyLeadingZeros", "0000000000000000000000001", 100},
	{"NoWholePart", ".5", 50},
	{"NoWholePartTwoDecimals", ".05", 5},
	{"TrailingPoint", "5.", 500},
	{"JustUnderMaximum", "99999.99", MaxPrice - 1},

	// A decimal comma: the only separator, with one or two digits after it.
	{"DecimalCommaTwoDigits", "20,00", 2000},
	{"DecimalCommaOneDigit", "20,5", 2050},
	{"DecimalCommaNoWholePart", ",5", 50},
	// Grouping in thousands, with the other separator as decimal.
	{"GroupedCommasDecimalPoint", "1,000.00", 100000},
	{"GroupedPointsDecimalComma", "1.000,00", 100000},
	{"GroupedCommasOneDecimal", "1,250.5", 125050},
	{"GroupedCommasTrailingPoint", "1,000.", 100000},
	{"GroupedAtMaximum", "100.000,00", MaxPrice},
	// A lone comma followed by three digits groups thousands.
	{"LoneCommaThreeDigits", "1,000", 100000},
	{"LoneCommaThreeDigitsNotZeros", "20,001", 2000100},
	{"LoneCommaAtMaximum", "100,000", MaxPrice},
	// One currency symbol or three-letter code, before or after, spaced or not.
	{"DollarBefore", "$20", 2000},
	{"EuroAfterSpace", "20 €", 2000},
	{"EuroAfterNoBreakSpace", "20\u00a0€", 2000},
	{"EuroAfter", "20€", 2000},
	{"EuroBefore", "€20", 2000},
	{"PoundBeforeSpace", "£ 7.05", 705},
	{"RupeeBefore", "₹1,250", 125000},
	{"CodeBefore", "USD 20", 2000},
	{"CodeBeforeNoSpace", "USD20", 2000},
	{"CodeAfterLowerCase", "20 usd", 2000},
	{"AnyCode", "CHF 20,50", 2050},
	{"SymbolWithGroupingAndDecimalComma", "1.250,50 €", 125050},
}

// invalidPrices are inputs ParsePrice rejects, with the sentinel error each
// must give.
var invalidPrices = []struct {
	name string
	in   string
	want error
}{
	{"Empty", "", ErrEmpty},
	{"OnlySpace", "   ", ErrEmpty},
	{"Zero", "0", ErrNotPos},
	{"ZeroWithDecimals", "0.00", ErrNotPos},
	{"ZeroNoWholePart", ".0", ErrNotPos},
	{"Negative", "-5", ErrNotPos},
	{"NegativeWithDecimals", "-5.50", ErrNotPos},
	{"Letters", "abc", ErrFormat},
	{"Exponent", "1e309", ErrFormat},
	{"SmallExponent", "1e2", ErrFormat},
	{"ThreeDecimals", "1.234", ErrDecimals},
	{"ThreeDecimalsTrailingZero", "1.230", ErrDecimals},
	{"OneCentOverMaximum", "100000.01", ErrTooHigh},
	{"OneOverMaximum", "100001", ErrTooHigh},
	{"SevenDigits", "1000000", ErrTooHigh},
	{"OverflowsInt64", "99999999999999999999999", ErrTooHigh},
	{"NaN", "NaN", ErrFormat},
	{"Inf", "Inf", ErrFormat},
	{"Infinity", "Infinity", ErrFormat},
	{"Hex", "0x10", ErrFormat},
	{"PlusSign", "+5", ErrFormat},
	{"ArabicIndicDigit", "٣", ErrFormat},
	{"FullwidthDigit", "５", ErrFormat},
	{"InnerSpace", "1 000", ErrFormat},
	{"PointOnly", ".", ErrFormat},
	{"TwoPoints", "1.2.3", ErrFormat},
	{"Underscore", "1_000", ErrFormat},
	{"InvalidUTF8", "\xff", ErrFormat},
	{"ExponentThousands", "5e3", ErrFormat},
	{"DoubleMinus", "--5", ErrFormat},
	{"MinusOnly", "-", ErrFormat},
	{"MinusLetters", "-abc", ErrFormat},
	{"NegativeWithSymbol", "-$5", ErrNotPos},
	{"NegativeAfterSymbol", "$-5", ErrFormat},
	{"ZeroWithSymbol", "€0", ErrNotPos},
	{"DecimalCommaZero", "0,00", ErrNotPos},

	// Separators that are neither a decimal nor groups of three.
	{"CommaGroupsOfOne", "1,2,3", ErrFormat},
	{"PointGroupsOfTwo", "20.00.00", ErrFormat},
	{"CommaGroupsOfTwo", "1,000,00", ErrFormat},
	{"DecimalBeforeGroup", "1.5,000", ErrFormat},
	{"GroupStartsWithZero", "0,500", ErrFormat},
	{"FirstGroupTooLong", "1000,000.00", ErrFormat},
	{"SeparatorsOnly", ".,", ErrFormat},
	{"CommaOnly", ",", ErrFormat},
	{"TrailingComma", "5,", ErrFormat},
	{"TwoDecimalSeparators", "1,000.00.5", ErrFormat},
	{"DecimalCommaFourDigits", "20,0001", ErrDecimals},
	{"GroupedThreeDecimals", "1,000.001", ErrDecimals},
	{"GroupedThreeDecimalsComma", "1.000,001", ErrDecimals},
	{"LonePointThreeDigits", "1.000", ErrDecimals},
	{"GroupedOverMaximum", "1,000,000", ErrTooHigh},
	{"PointGroupedOverMaximum", "1.000.000", ErrTooHigh},
	{"GroupedCentOverMaximum", "100,000.01", ErrTooHigh},

	// At most one currency, and only at either end.
	{"TwoSymbols", "$$20", ErrFormat},
	{"SymbolAndCode", "$20 USD", ErrFormat},
	{"SymbolBothEnds", "€20€", ErrFormat},
	{"SymbolOnly", "$", ErrFormat},
	{"CodeOnly", "USD", ErrFormat},
	{"TwoLetterCode", "US 20", ErrFormat},
	{"FourLetterCode", "USDX 20", ErrFormat},
	{"CurrencyWords", "20 US dollars", ErrFormat},
	{"SymbolInside", "20$50", ErrFormat},
}

func TestParsePrice(t *testing.T) {
	t.Parallel()

	t.Run("Valid", func(t *testing.T) {
		t.Parallel()
		for _, tt := range validPrices {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				got, err := ParsePrice(tt.in)
				require.NoError(t, err, "ParsePrice(%q)", tt.in)
				require.Equal(t, tt.want, got, "ParsePrice(%q)", tt.in)
			})
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		t.Parallel()
		for _, tt := range invalidPrices {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				got, err := ParsePrice(tt.in)
				require.ErrorIs(t, err, tt.want, "ParsePrice(%q)", tt.in)
				require.Zero(t, got, "ParsePrice(%q)", tt.in)
			})
		}
	})
}

func TestFormat(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		in   int64
		want string
	}{
		{"Zero", 0, "0.00"},
		{"OneCent", 1, "0.01"},
		{"FiveCents", 5, "0.05"},
		{"TenCents", 10, "0.10"},
		{"WholeAmount", 3000, "30.00"},
		{"WithCents", 3050, "30.50"},
		{"Maximum", MaxPrice, "100000.00"},
		{"Negative", -150, "-1.50"},
		{"NegativeUnderOne", -5, "-0.05"},
		{"MaxInt64", math.MaxInt64, "92233720368547758.07"},
		{"MinInt64PlusOne", math.MinInt64 + 1, "-92233720368547758.07"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, Format(tt.in))
		})
	}

	t.Run("MinInt64", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, "-92233720368547758.08", Format(math.MinInt64))
	})
}

func TestFormatParsePriceRoundTrip(t *testing.T) {
	t.Parallel()

	for _, v := range []int64{1, 5, 10, 99, 100, 101, 3050, 99999, MaxPrice - 1, MaxPrice} {
		got, err := ParsePrice(Format(v))
		require.NoError(t, err, "ParsePrice(Format(%d)) with Format giving %q", v, Format(v))
		require.Equal(t, v, got, "ParsePrice(Format(%d))", v)
	}
}

func FuzzParsePrice(f *testing.F) {
	for _, tt := range validPrices {
		f.Add(tt.in)
	}
	for _, tt := range invalidPrices {
		f.Add(tt.in)
	}
	sentinels := []error{ErrEmpty, ErrFormat, ErrDecimals, ErrNotPos, ErrTooHigh}

	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParsePrice(s)
		if err != nil {
			require.Zero(t, v, "ParsePrice(%q) returned a value with its error", s)
			known := false
			for _, sentinel := range sentinels {
				if errors.Is(err, sentinel) {
					known = true
					break
				}
			}
			require.True(t, known, "ParsePrice(%q) returned unexpected error %v", s, err)
			return
		}
		require.GreaterOrEqual(t, v, int64(1), "ParsePrice(%q)", s)
		require.LessOrEqual(t, v, int64(MaxPrice), "ParsePrice(%q)", s)
		back, err := ParsePrice(Format(v))
		require.NoError(t, err, "ParsePrice(Format(%d)) with Format giving %q", v, Format(v))
		require.Equal(t, v, back, "round trip of %q through Format %q", s, Format(v))
	})
}
