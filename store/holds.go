package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// lockBuyer makes a buyer's CreateOrder calls take turns, so that the count
// of their holds in checkHolds cannot be raced. On PostgreSQL it locks the
// buyer's users row until the transaction ends (FOR NO KEY UPDATE, which the
// foreign-key checks of other inserts do not wait for); on SQLite the one
// write connection already runs write transactions one at a time.
func (s *Store) lockBuyer(ctx context.Context, tx *sql.Tx, buyerID int64) error {
	if s.maxHolds == 0 || s.db.Dialect != Postgres {
		return nil
	}
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE`, buyerID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("lock buyer: %w", err)
	}
	return nil
}

// checkHolds refuses, with ErrTooManyHolds, an order that would give its
// buyer more than maxHolds tickets in unexpired pending orders. It runs after
// the new order's row is inserted, in the same transaction, so it counts that
// order too, and a refusal rolls it back.
func (s *Store) checkHolds(ctx context.Context, tx *sql.Tx, buyerID int64, now time.Time) error {
	if s.maxHolds == 0 {
		return nil
	}
	var holds int
	err := tx.QueryRowContext(ctx, `
		SELECT coalesce(sum(quantity), 0) FROM orders WHERE buyer_id = $1 AND status = 'pending' AND expires_at > $2`,
		buyerID, ms(now)).Scan(&holds)
	if err != nil {
		return fmt.Errorf("count holds: %w", err)
	}
	if holds > s.maxHolds {
		return ErrTooManyHolds
	}
	return nil
}

// Cooldown makes a buyer who lets holds lapse wait before holding again: a
// hold that ends unpaid (cancelled by its buyer, or ended at expires_at)
// kept a ticket from everyone else for nothing. Once After such lapses have
// ended within Window, each further hold waits First after the latest lapse,
// twice as long per lapse beyond After, at most Max. Paid orders never count.
type Cooldown struct {
	After  int
	First  time.Duration
	Max    time.Duration
	Window time.Duration
}

// DefaultCooldown lets a buyer cancel or miss two holds in a day freely; the
// third makes them wait a minute, then 2, 4, 8 ... up to an hour. The window
// is a day, longer than the longest wait, so a hoarder who has reached an
// hour's wait stays there instead of starting afresh.
var DefaultCooldown = Cooldown{After: 3, First: time.Minute, Max: time.Hour, Window: 24 * time.Hour}

func (c Cooldown) off() bool { return c.After <= 0 || c.First <= 0 || c.Window <= 0 }

// wait is how long a buyer with n lapses in the window waits after the
// latest one.
func (c Cooldown) wait(n int) time.Duration {
	if n < c.After {
		return 0
	}
	d := c.First
	for range n - c.After {
		if d >= c.Max {
			break
		}
		d *= 2
	}
	return min(d, max(c.Max, c.First))
}

// ErrCoolingDown means the buyer has let too many holds lapse lately and
// must wait before holding another ticket. CreateOrder returns it inside a
// *CooldownError, which says until when.
var ErrCoolingDown = errors.New("buyer is cooling down after unpaid holds")

// CooldownError is ErrCoolingDown with the instant the wait ends.
type CooldownError struct {
	Until time.Time
}

func (e *CooldownError) Error() string {
	return fmt.Sprintf("%v until %s", ErrCoolingDown, e.Until.Format(time.RFC3339))
}

func (e *CooldownError) Unwrap() error { return ErrCoolingDown }

// lapseAt is when an unpaid order's hold ended: when its buyer cancelled it,
// else at expires_at (the expiry job may record it later than that).
const lapseAt = `CASE WHEN status = 'cancelled' AND cancelled_at < expires_at THEN cancelled_at ELSE expires_at END`

// checkCooldown refuses, with a *CooldownError, an order from a buyer who is
// cooling down at now. It counts in the database, in CreateOrder's
// transaction, so that every app instance sees the same lapses. A lapse is
// a cancelled order, or a pending one past its expires_at whose job has not
// run yet; an order paid late is paid and does not count.
func (s *Store) checkCooldown(ctx context.Context, tx *sql.Tx, buyerID int64, now time.Time) error {
	c := s.cooldown
	if c.off() {
		return nil
	}
	since := now.Add(-c.Window)
	var n int
	var latest sql.NullInt64
	err := tx.QueryRowContext(ctx, `
		SELECT count(*), max(`+lapseAt+`) FROM orders
		WHERE buyer_id = $1 AND expires_at > $2
		  AND (status = 'cancelled' OR (status = 'pending' AND expires_at <= $3))
		  AND `+lapseAt+` > $2`,
		buyerID, ms(since), ms(now)).Scan(&n, &latest)
	if err != nil {
		return fmt.Errorf("count lapsed holds: %w", err)
	}
	if !latest.Valid {
		return nil
	}
	if until := fromMS(latest.Int64).Add(c.wait(n)); until.After(now) {
		return &CooldownError{Until: until}
	}
	return nil
}

// WithHoldCooldown makes CreateOrder refuse, with a *CooldownError, a buyer
// who has let holds lapse as c describes. The zero Cooldown, the default,
// never refuses.
func WithHoldCooldown(c Cooldown) Option {
	return func(s *Store) { s.cooldown = c }
}

// HoldCooldown is the cool-down CreateOrder applies.
func (s *Store) HoldCooldown() Cooldown { return s.cooldown }
