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
// buyer more than maxHolds unexpired pending orders. It runs after the new
// order's row is inserted, in the same transaction, so it counts that order
// too, and a refusal rolls it back.
func (s *Store) checkHolds(ctx context.Context, tx *sql.Tx, buyerID int64, now time.Time) error {
	if s.maxHolds == 0 {
		return nil
	}
	var holds int
	err := tx.QueryRowContext(ctx, `
		SELECT count(*) FROM orders WHERE buyer_id = $1 AND status = 'pending' AND expires_at > $2`,
		buyerID, ms(now)).Scan(&holds)
	if err != nil {
		return fmt.Errorf("count holds: %w", err)
	}
	if holds > s.maxHolds {
		return ErrTooManyHolds
	}
	return nil
}
