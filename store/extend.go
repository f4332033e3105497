package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/eventhive/eventhive/internal/bounded"
)

// ExtendWindow is how long before a hold ends its buyer may extend it.
const ExtendWindow = 20 * time.Second

// Why ExtendHold refuses, besides ErrNotFound, ErrNotPending and
// ErrEventStarted. ErrTooEarly comes inside a *TooEarlyError.
var (
	ErrTooEarly        = errors.New("hold cannot be extended yet")
	ErrAlreadyExtended = errors.New("hold was extended already")
	ErrContended       = errors.New("another buyer tried for the tickets during the hold")
)

// TooEarlyError is ErrTooEarly with the instant from which the hold may be
// extended.
type TooEarlyError struct {
	From time.Time
}

func (e *TooEarlyError) Error() string {
	return fmt.Sprintf("%v: possible from %s", ErrTooEarly, e.From.Format(time.RFC3339))
}

func (e *TooEarlyError) Unwrap() error { return ErrTooEarly }

// Extension is whether, when and by how much the buyer of an order may
// extend its hold: once, in the ExtendWindow before the hold ends, by the
// hold's own length.
type Extension struct {
	From  time.Time // the window opens
	Until time.Time // the hold ends
	By    time.Duration
	// pending is whether the order is pending.
	pending bool
	// never is why the running hold can never be extended, or nil.
	never error
}

// Check says why the hold cannot be extended at now, or nil if it can.
func (x Extension) Check(now time.Time) error {
	switch {
	case !x.pending || !now.Before(x.Until):
		return ErrNotPending
	case x.never != nil:
		return x.never
	case now.Before(x.From):
		return &TooEarlyError{From: x.From}
	}
	return nil
}

// Offered reports whether the hold can be extended at now or later.
func (x Extension) Offered(now time.Time) bool {
	err := x.Check(now)
	return err == nil || errors.Is(err, ErrTooEarly)
}

// HoldExtension says whether, when and by how much the buyer may extend
// their order's hold at now. Someone else's order is ErrNotFound.
func (s *Store) HoldExtension(ctx context.Context, orderID, buyerID int64, now time.Time) (Extension, error) {
	return extension(ctx, s.reader(ctx), "", orderID, buyerID, now)
}

// ExtendHold extends the hold of the buyer's pending order by its own length,
// once, in the ExtendWindow before it ends, unless another buyer has tried
// for its tickets meanwhile: the order's end and its tickets' claims move
// together. The order's expiry job, due at the old end, finds the hold
// running and snoozes until the new end (see ExpireOrder), so no job is
// added: a second one would expire the order, and its checkout session,
// twice. Refusals: ErrNotFound (someone else's order), ErrNotPending (paid,
// cancelled or ended), *TooEarlyError, ErrAlreadyExtended, ErrContended,
// ErrEventStarted.
func (s *Store) ExtendHold(ctx context.Context, orderID, buyerID int64, now time.Time) (Order, error) {
	lock := ""
	if s.db.Dialect == Postgres {
		// Payments, expiries and contention notes wait for the extension,
		// or it for them.
		lock = " FOR NO KEY UPDATE OF o"
	}
	err := s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		x, err := extension(ctx, tx, lock, orderID, buyerID, now)
		if err != nil {
			return err
		}
		if err := x.Check(now); err != nil {
			return err
		}
		ends := ms(x.Until.Add(x.By))
		if _, err := tx.ExecContext(ctx, `
			UPDATE orders SET expires_at = $1, extended_at = $2, updated_at = $2 WHERE id = $3`,
			ends, ms(now), orderID); err != nil {
			return fmt.Errorf("extend order: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE tickets SET claim_expires_at = $1 WHERE claim_order_id = $2 AND claim_expires_at IS NOT NULL`,
			ends, orderID); err != nil {
			return fmt.Errorf("extend claims: %w", err)
		}
		return nil
	})
	if err != nil {
		return Order{}, err
	}
	return s.order(ctx, s.reader(ctx), orderID)
}

// extension reads what the buyer may do about their order's hold at now;
// lock is appended to the query.
func extension(ctx context.Context, db querier, lock string, orderID, buyerID int64, now time.Time) (Extension, error) {
	var status OrderStatus
	var created, expires int64
	var extended, contended, started bool
	err := db.QueryRowContext(ctx, `
		SELECT o.status, o.created_at, o.expires_at, o.extended_at IS NOT NULL, o.contended_at IS NOT NULL,
		       e.starts_at IS NOT NULL AND e.starts_at <= $3`+orderFrom+`
		WHERE o.id = $1 AND o.buyer_id = $2`+lock, orderID, buyerID, ms(now)).
		Scan(&status, &created, &expires, &extended, &contended, &started)
	if errors.Is(err, sql.ErrNoRows) {
		return Extension{}, ErrNotFound
	}
	if err != nil {
		return Extension{}, fmt.Errorf("read hold: %w", err)
	}
	x := Extension{Until: fromMS(expires), By: fromMS(expires).Sub(fromMS(created)), pending: status == Pending}
	x.From = x.Until.Add(-ExtendWindow)
	switch {
	case extended:
		x.never = ErrAlreadyExtended
	case contended:
		x.never = ErrContended
	case started:
		x.never = ErrEventStarted
	}
	return x, nil
}

// contentionMemo remembers, per listing, the latest order noted as
// contended by this process, so that a rush of refused buyers writes the
// note once instead of once each.
type contentionMemo struct {
	mu    sync.Mutex
	noted map[int64]int64 // listing id → order id
}

// contentionMemoMax bounds the memo (and refusalMemo); past it a listing
// taken at random is forgotten (bounded.Put), and the database's
// contended_at still spares most writes.
const contentionMemoMax = 4096

// claim reports whether the caller should note orders up to orderID of the
// listing as contended: no one in this process has yet.
func (m *contentionMemo) claim(listingID, orderID int64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.noted[listingID] >= orderID {
		return false
	}
	if m.noted == nil {
		m.noted = map[int64]int64{}
	}
	bounded.Put(m.noted, listingID, orderID, contentionMemoMax)
	return true
}

// forget undoes a claim whose note failed, so that a later refusal retries.
func (m *contentionMemo) forget(listingID, orderID int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.noted[listingID] == orderID {
		delete(m.noted, listingID)
	}
}

// refused returns err, CreateOrder's refusal of buyerID for listingID at
// now. When the tickets were held (ErrHeld, ErrNotEnoughLeft) it first notes,
// on the orders holding them, that another buyer tried for them, which
// rules out extending those holds.
func (s *Store) refused(ctx context.Context, buyerID, listingID int64, now time.Time, err error) error {
	if errors.Is(err, ErrHeld) || errors.Is(err, ErrNotEnoughLeft) {
		s.noteContention(ctx, buyerID, listingID, now)
	}
	return err
}

// uncontended is the SQL condition, on orders, for "holds tickets of listing
// $2 at $3, is not buyer $1's, and has no note of contention yet": a
// buyer's own attempts do not contend their hold. It starts from the orders
// not noted yet (orders_uncontended_idx), not from the listing's holds,
// which in a sell-out are thousands, all of them noted after the first
// refusal. Each order's tickets are then read by tickets_order_idx, in a
// subquery run per order (its latest claim end; "+ 0" so that no other
// index serves the max): as a join, with statistics from before a rush (no
// ticket held), PostgreSQL scanned every running hold for each order
// instead, which took seconds a refusal.
const uncontended = `listing_id = $2 AND contended_at IS NULL AND buyer_id <> $1 AND (
	SELECT max(k.claim_expires_at + 0) FROM tickets k WHERE k.claim_order_id = orders.id) > $3`

// noteContention notes that buyerID was refused the tickets of listingID at
// now on the orders holding them. It writes only when the read pool finds an
// order without the note, and once per order in this process: a rush of
// refused buyers costs one small write per hold, not one per attempt. A
// note that fails is not the refused buyer's concern, and is not reported:
// the hold merely stays extendable, and the next refusal tries again.
func (s *Store) noteContention(ctx context.Context, buyerID, listingID int64, now time.Time) {
	var latest sql.NullInt64
	// max(id + 0): with max(id), PostgreSQL may walk the primary key from
	// the newest order down, all of them when no order is found.
	err := s.reader(ctx).QueryRowContext(ctx, `SELECT max(id + 0) FROM orders WHERE `+uncontended,
		buyerID, listingID, ms(now)).Scan(&latest)
	if err != nil || !latest.Valid || !s.contention.claim(listingID, latest.Int64) {
		return
	}
	err = s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		_, err := tx.ExecContext(ctx, `UPDATE orders SET contended_at = $3 WHERE `+uncontended,
			buyerID, listingID, ms(now))
		return err
	})
	if err != nil {
		s.contention.forget(listingID, latest.Int64)
	}
}
