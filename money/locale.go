package money

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"
)

// A Locale writes prices as readers of one language and region do: "$45.00",
// "£45.00", "45,00 €", "CHF 45.00". Match picks one for a request.
type Locale struct {
	tag     language.Tag
	printer *message.Printer
	decimal string   // the decimal separator
	group   string   // the separator of thousands
	symbols sync.Map // ISO 4217 code, as given -> the currency's symbol
	before  bool     // the currency symbol comes before the amount
	spaced  bool     // a space always separates symbol and amount
}

// nbsp keeps a symbol on the same line as its amount.
const nbsp = "\u00a0"

// Where each supported locale puts the currency symbol, from CLDR's currency
// patterns: golang.org/x/text has the symbols and the digit grouping, but
// not these patterns.
const (
	symbolFirst       = iota // "¤#,##0.00": $45.00
	symbolFirstSpaced        // "¤ #,##0.00": € 45,00
	symbolLastSpaced         // "#,##0.00 ¤": 45,00 €
)

// supported are the locales prices are written in, the first the default.
// A reader whose languages match none of them gets the first.
var supported = []struct {
	tag     string
	pattern int
}{
	{"en-US", symbolFirst},
	{"en-GB", symbolFirst},
	{"en-CA", symbolFirst},
	{"de", symbolLastSpaced},
	{"de-CH", symbolFirstSpaced},
	{"fr", symbolLastSpaced},
	{"fr-CA", symbolLastSpaced},
	{"es", symbolLastSpaced},
	{"it", symbolLastSpaced},
	{"nl", symbolFirstSpaced},
	{"pt", symbolFirstSpaced}, // Brazilian
	{"pt-PT", symbolLastSpaced},
	{"nb", symbolLastSpaced},
	{"sv", symbolLastSpaced},
	{"da", symbolLastSpaced},
	{"fi", symbolLastSpaced},
	{"pl", symbolLastSpaced},
}

var (
	locales = newLocales()
	matcher = newMatcher()
)

func newLocales() []*Locale {
	all := make([]*Locale, len(supported))
	for i, s := range supported {
		tag := language.MustParse(s.tag)
		p := message.NewPrinter(tag)
		all[i] = &Locale{
			tag:     tag,
			printer: p,
			decimal: decimalSeparator(p),
			group:   groupSeparator(p),
			before:  s.pattern != symbolLastSpaced,
			spaced:  s.pattern != symbolFirst,
		}
	}
	return all
}

func newMatcher() language.Matcher {
	tags := make([]language.Tag, len(locales))
	for i, l := range locales {
		tags[i] = l.tag
	}
	return language.NewMatcher(tags)
}

// decimalSeparator reads the separator p writes before decimals. x/text
// formats decimals only from floats, and no amount passes through a float,
// so the separator is read once from a fixed number instead.
func decimalSeparator(p *message.Printer) string {
	return strings.Trim(p.Sprint(number.Decimal(1.5, number.Scale(1))), "15")
}

// groupSeparator reads the separator p writes between thousands. Grouping by
// hand with it takes a fraction of the time x/text takes per number, and
// gives the same digits in every supported locale (see the tests).
func groupSeparator(p *message.Printer) string {
	return strings.Trim(p.Sprint(number.Decimal(1000)), "10")
}

// Locales are the supported locales, the default first.
func Locales() []*Locale { return locales }

// Default is the locale of a reader whose languages are not supported.
func Default() *Locale { return locales[0] }

// Match picks the supported locale that best fits an Accept-Language
// header; Default when none does or the header does not parse.
func Match(acceptLanguage string) *Locale {
	if l, ok := matched.Load(acceptLanguage); ok {
		return l.(*Locale)
	}
	l := match(acceptLanguage)
	if matchedCount.Add(1) <= maxMatched {
		matched.Store(acceptLanguage, l)
	}
	return l
}

// matched keeps Match's answers: matching takes several microseconds, a
// tenth of serving a kept page, and readers send few distinct headers. Past
// maxMatched headers, new ones are matched each time.
var (
	matched      sync.Map // Accept-Language -> *Locale
	matchedCount atomic.Int64
)

const maxMatched = 1000

func match(acceptLanguage string) *Locale {
	prefs, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil {
		return Default()
	}
	_, i, _ := matcher.Match(prefs...)
	return locales[i]
}

// String is the locale's BCP 47 tag, like "de-CH".
func (l *Locale) String() string { return l.tag.String() }

// Price writes minor units of a currency, named by its ISO 4217 code in any
// case: 4500 "usd" is "$45.00" in en-US and "45,00 $" in German. Every
// currency is written with two decimals, as the amounts are kept. A code
// x/text does not know is written as is, in capitals.
func (l *Locale) Price(amount int64, code string) string {
	sign, magnitude := "", uint64(amount)
	if amount < 0 {
		sign, magnitude = "-", -magnitude
	}
	digits := l.grouped(magnitude/100) + l.decimal + fmt.Sprintf("%02d", magnitude%100)
	symbol := l.symbol(code)
	if l.before {
		edge, _ := utf8.DecodeLastRuneInString(symbol)
		return sign + symbol + l.space(edge) + digits
	}
	edge, _ := utf8.DecodeRuneInString(symbol)
	return sign + digits + l.space(edge) + symbol
}

// grouped writes n with the locale's separator between thousands.
func (l *Locale) grouped(n uint64) string {
	s := strconv.FormatUint(n, 10)
	var b strings.Builder
	for i, d := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(l.group)
		}
		b.WriteRune(d)
	}
	return b.String()
}

// symbol is the currency's symbol for the locale's readers: "$" or "US$"
// for usd, "kr" for nok in Norwegian.
func (l *Locale) symbol(code string) string {
	if s, ok := l.symbols.Load(code); ok {
		return s.(string)
	}
	unit, err := currency.ParseISO(code)
	if err != nil {
		return strings.ToUpper(code) // not kept: any three letters may come
	}
	s := l.printer.Sprint(currency.Symbol(unit))
	l.symbols.Store(code, s)
	return s
}

// space separates a symbol from the digits, given the symbol's character
// next to them: always in patterns with a space, and, as CLDR's currency
// spacing has it, whenever that character is a letter rather than a sign:
// "NOK 45.00", but "US$45.00".
func (l *Locale) space(edge rune) string {
	if l.spaced || !unicode.IsSymbol(edge) {
		return nbsp
	}
	return ""
}
