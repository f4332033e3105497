package money

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// DefaultCapPercent is how far over face value a resale price may go unless
// configured otherwise.
const DefaultCapPercent = 20

// MaxCapPercent is the most over face value that a Cap may allow.
const MaxCapPercent = 1000

// ErrCap is ParseCap's error, worded for the configuration that sets a cap.
var ErrCap = errors.New("want a whole percentage from 0 (at most face value) to 1000, or none (no cap)")

// Cap limits a resale price to a percentage over the ticket's face value, or
// not at all. The zero Cap is the default: DefaultCapPercent over face value.
type Cap struct {
	kind    capKind
	percent int64 // over face value, with capPercent
}

type capKind int

const (
	capDefault capKind = iota
	capPercent
	capNone
)

// ParseCap reads a cap: a whole percentage over face value from 0 to
// MaxCapPercent ("0": at most face value), or "none" for no cap.
func ParseCap(s string) (Cap, error) {
	if strings.EqualFold(s, "none") {
		return Cap{kind: capNone}, nil
	}
	if s == "" || !digits(s) {
		return Cap{}, ErrCap
	}
	percent, err := strconv.ParseInt(s, 10, 64)
	if err != nil || percent > MaxCapPercent {
		return Cap{}, ErrCap
	}
	return Cap{kind: capPercent, percent: percent}, nil
}

// overFace is the percentage over face value the cap allows; ok is false
// when there is no cap.
func (c Cap) overFace() (percent int64, ok bool) {
	switch c.kind {
	case capNone:
		return 0, false
	case capPercent:
		return c.percent, true
	}
	return DefaultCapPercent, true
}

// Max is the highest price allowed for a ticket of the given face value,
// both in minor units: the face value plus the cap's percentage of it,
// rounded down to the minor unit, and never more than MaxPrice. ok is false
// when there is no cap.
func (c Cap) Max(face int64) (limit int64, ok bool) {
	percent, ok := c.overFace()
	if !ok {
		return 0, false
	}
	// Within 0..MaxPrice the product below cannot overflow, and a face
	// value over MaxPrice allows MaxPrice all the same.
	face = min(max(face, 0), MaxPrice)
	return min(face*(100+percent)/100, MaxPrice), true
}

// String describes the cap for pages and messages: "20% over face value",
// "face value" or "no cap".
func (c Cap) String() string {
	percent, ok := c.overFace()
	switch {
	case !ok:
		return "no cap"
	case percent == 0:
		return "face value"
	}
	return fmt.Sprintf("%d%% over face value", percent)
}
