// Package money parses and formats prices held as integer minor units
// (cents), so no amount ever passes through floating point.
package money

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxPrice is the highest price a ticket may have: 100000.00.
const MaxPrice = 100000_00

// Errors returned by ParsePrice, worded to be shown beside a form field.
var (
	ErrEmpty    = errors.New("enter a price")
	ErrFormat   = errors.New("enter a price like 30 or 30.00")
	ErrDecimals = errors.New("use at most two decimal places")
	ErrNotPos   = errors.New("the price must be more than 0")
	ErrTooHigh  = errors.New("the price must be at most 100000.00")
)

// ParsePrice reads a price such as "30", "30.5" or "30.50" into minor units.
// It accepts only digits with an optional decimal point: no sign, exponent,
// grouping or currency symbol.
func ParsePrice(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, ErrEmpty
	}
	whole, frac, hasPoint := strings.Cut(s, ".")
	if strings.HasPrefix(s, "-") {
		return 0, ErrNotPos
	}
	if !digits(whole) || (hasPoint && !digits(frac)) || (whole == "" && frac == "") {
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
	amount := units*100 + cents
	switch {
	case amount <= 0:
		return 0, ErrNotPos
	case amount > MaxPrice:
		return 0, ErrTooHigh
	}
	return amount, nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
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
