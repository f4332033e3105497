// Package money parses and formats prices held as integer minor units
// (cents), so no amount ever passes through floating point.
package money

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxPrice is the highest price a ticket may have: 100000.00.
const MaxPrice = 100000_00

// Errors returned by ParsePrice, worded to be shown beside a form field.
var (
	ErrEmpty    = errors.New("enter a price")
	ErrFormat   = errors.New("enter a price like 30, 30.50, 30,50 or $1,250.00")
	ErrDecimals = errors.New("use at most two decimal places")
	ErrNotPos   = errors.New("the price must be more than 0")
	ErrTooHigh  = errors.New("the price must be at most 100000.00")
)

// ParsePrice reads a price as people type it into minor units: "30",
// "30.5", "30,50" (a decimal comma), "1,250.00" or "1.250,00" (grouped in
// thousands), with one currency symbol or three-letter code before or after
// it ("$30", "30 €", "EUR 30"). Whichever currency is named, the amount is
// taken as is. A single comma followed by exactly three digits groups
// thousands: "1,000" is one thousand. No sign, exponent or other grouping.
func ParsePrice(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, ErrEmpty
	}
	unsigned, negative := strings.CutPrefix(s, "-")
	amount, err := parseAmount(withoutCurrency(unsigned))
	switch {
	case negative && !errors.Is(err, ErrFormat):
		return 0, ErrNotPos
	case err != nil:
		return 0, err
	case amount <= 0:
		return 0, ErrNotPos
	}
	return amount, nil
}

// withoutCurrency removes one currency symbol or three-letter code, and the
// spaces beside it, from the start or else the end of s.
func withoutCurrency(s string) string {
	first, firstSize := utf8.DecodeRuneInString(s)
	last, lastSize := utf8.DecodeLastRuneInString(s)
	leading := len(s) - len(strings.TrimLeftFunc(s, isASCIILetter))
	trailing := len(s) - len(strings.TrimRightFunc(s, isASCIILetter))
	switch {
	case unicode.Is(unicode.Sc, first):
		s = s[firstSize:]
	case leading == 3:
		s = s[3:]
	case unicode.Is(unicode.Sc, last):
		s = s[:len(s)-lastSize]
	case trailing == 3:
		s = s[:len(s)-3]
	}
	return strings.TrimSpace(s)
}

// parseAmount reads a decimal number of digits, points and commas (see
// ParsePrice) into minor units. It returns ErrFormat, ErrDecimals or
// ErrTooHigh.
func parseAmount(s string) (int64, error) {
	// A comma is decimal only with digits after it: "5," is not "5.".
	if strings.Trim(s, "0123456789.,") != "" || strings.HasSuffix(s, ",") {
		return 0, ErrFormat
	}
	whole, frac := splitDecimal(s)
	whole, ok := ungroup(whole)
	if !ok || (whole == "" && frac == "") {
		return 0, ErrFormat
	}
	if len(frac) > 2 {
		return 0, ErrDecimals
	}
	// Anything longer than this is over the maximum; checking first keeps
	// the conversion below from overflowing.
	if len(strings.TrimLeft(whole, "0")) > 6 {
		return 0, ErrTooHigh
	}
	units, _ := strconv.ParseInt("0"+whole, 10, 64)
	cents, _ := strconv.ParseInt((frac + "00")[:2], 10, 64)
	if amount := units*100 + cents; amount <= MaxPrice {
		return amount, nil
	}
	return 0, ErrTooHigh
}

// splitDecimal splits s, made of digits, points and commas, at its decimal
// separator: the last point or comma, unless that kind occurs more than
// once ("1,000,000") or it is a lone comma with exactly three digits after
// it ("1,000"), which group thousands instead.
func splitDecimal(s string) (whole, frac string) {
	i := strings.LastIndexAny(s, ".,")
	switch {
	case i < 0,
		strings.Count(s, s[i:i+1]) > 1,
		s[i] == ',' && !strings.Contains(s, ".") && len(s)-i-1 == 3:
		return s, ""
	}
	return s[:i], s[i+1:]
}

// ungroup removes the thousands separators, all points or all commas, from
// a whole number: "1,250" is "1250". It reports false unless the groups are
// one to three digits not starting with 0, then three digits each.
func ungroup(s string) (string, bool) {
	if !strings.ContainsAny(s, ".,") {
		return s, true
	}
	sep := "."
	if strings.Contains(s, ",") {
		sep = ","
	}
	groups := strings.Split(s, sep)
	if first := groups[0]; first == "" || len(first) > 3 || first[0] == '0' || !digits(first) {
		return "", false
	}
	for _, g := range groups[1:] {
		if len(g) != 3 || !digits(g) {
			return "", false
		}
	}
	return strings.Join(groups, ""), true
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func isASCIILetter(r rune) bool {
	return ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')
}

// Format writes minor units with two decimals: 3050 is "30.50".
func Format(amount int64) string {
	sign, magnitude := "", uint64(amount)
	if amount < 0 {
		// Negating in uint64 also works for math.MinInt64.
		sign, magnitude = "-", -magnitude
	}
	return fmt.Sprintf("%s%d.%02d", sign, magnitude/100, magnitude%100)
}
