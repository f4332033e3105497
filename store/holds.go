package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river"
)

// lockBuyerSQL makes a buyer's claims on PostgreSQL take turns, so that the
// count of their holds cannot be raced: it locks the buyer's users row until
// the transaction ends (FOR NO KEY UPDATE, which the foreign-key checks of
// other inserts do not wait for). SQLite needs none: its one write
// connection runs write transactions one at a time.
const lockBuyerSQL = `SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE`

// checkBuyer refuses an order that would give its buyer more than maxHolds
// tickets in unexpired pending orders (ErrTooManyHolds), or from a buyer who
// is cooling down at now (a *CooldownError, see cooldownAt), with one
// statement. It runs after the new order's row is inserted, in the same
// transaction, so it counts that order too, and a refusal rolls it back.
func (s *Store) checkBuyer(ctx context.Context, tx *sql.Tx, buyerID int64, now time.Time) error {
	if s.maxHolds == 0 && s.cooldown.off() {
		return nil
	}
	var holds, n int
	var latest sql.NullInt64
	err := tx.QueryRowContext(ctx, checkBuyerSQL, buyerID, ms(now), ms(s.lapsesSince(now))).Scan(&holds, &n, &latest)
	if err != nil {
		return fmt.Errorf("count holds: %w", err)
	}
	if err := s.tooManyHolds(holds); err != nil {
		return err
	}
	return s.cooldownAt(n, latest, now)
}

// checkBuyerSQL counts a buyer's holds and lapses (checkBuyer) on SQLite:
// buyer $1, now $2, lapses since $3.
var checkBuyerSQL = `SELECT ` + heldBy("$2") + `, ` + lapses("$2", "$3") + ` ` + buyerOrdersSince("$1", "$3")

// buyerOrdersSince is the FROM and WHERE of heldBy and lapses: the orders of
// one buyer ending after since, which is at most now (lapsesSince). Only
// those can hold tickets or count as lapses, and orders_buyer_expires_idx
// finds them without reading the buyer's older orders.
func buyerOrdersSince(buyer, since string) string {
	return `FROM orders WHERE buyer_id = ` + buyer + ` AND expires_at > ` + since
}

// lapsesSince is when the lapses that count at now began: the cool-down's
// window before now, and never after now.
func (s *Store) lapsesSince(now time.Time) time.Time {
	return now.Add(-max(s.cooldown.Window, 0))
}

// heldBy is the SQL expression, on orders of one buyer, for the tickets their
// unexpired pending orders hold at now.
func heldBy(now string) string {
	return `coalesce(sum(quantity) FILTER (WHERE status = 'pending' AND expires_at > ` + now + `), 0)`
}

// tooManyHolds refuses, with ErrTooManyHolds, a buyer who would hold holds
// tickets.
func (s *Store) tooManyHolds(holds int) error {
	if s.maxHolds > 0 && holds > s.maxHolds {
		return ErrTooManyHolds
	}
	return nil
}

// holdPostgres is CreateOrder's claim on PostgreSQL, in two round trips
// (see claimPostgres): the buyer's lock (see lockBuyerSQL) and one statement
// that inserts the order, claims its tickets, counts the buyer's holds and
// lapses and writes the order's expiry job, sent together; then COMMIT. The
// lock must be a statement of its own: a statement reads from a snapshot
// taken when it starts, and the counts must see what the buyer's previous
// claim, which the lock waited for, committed. The new order is not in the
// statement's own snapshot, so its quantity is added to the holds counted.
//
// Tickets are claimed as they are locked, skipping those another buyer's
// transaction has locked, so that buyers racing for one listing claim
// different tickets at once instead of queueing on the same rows. A claim
// that falls short that way is rolled back and tried again waiting for those
// transactions: the tickets they lock may come free if they roll back, and a
// refusal must be told from what they committed. The retry holds no ticket
// locks of the first try and locks in id order, so it cannot deadlock with
// another claim. A claim short of the tickets free even counting those
// locked (in a sold-out rush, every late buyer's) is refused without it.
func (s *Store) holdPostgres(ctx context.Context, buyerID, listingID int64, quantity int, now, expires time.Time) (Order, error) {
	o, err := s.claimPostgres(ctx, buyerID, listingID, quantity, now, expires, "SKIP LOCKED")
	if errors.Is(err, errShortClaim) {
		// The listing's read counts the tickets that claims in flight lock as
		// free: when even they are too few, waiting cannot give more.
		l, readErr := s.readToRefuse(ctx, listingID, now)
		if why := whyNotClaimable(l, readErr, buyerID, quantity, now); !errors.Is(why, ErrChanged) {
			return Order{}, why // a *Refusal or the read's error: claimOrRefuse need not read again
		}
		o, err = s.claimPostgres(ctx, buyerID, listingID, quantity, now, expires, "")
	}
	if errors.Is(err, errShortClaim) {
		return Order{}, errNotClaimable
	}
	return o, err
}

// errShortClaim is a claim on PostgreSQL that found fewer free tickets than
// asked for.
var errShortClaim = errors.New("fewer tickets claimed than asked for")

// claimPostgres is one try of holdPostgres. It runs on the pool's pgx
// connection itself, which sends BEGIN, the lock and the claim in one
// pipeline and reads their answers together: through database/sql each is a
// round trip, and with River's insert and COMMIT a claim took five, each
// costing the Go process as much CPU as the database spends on the
// statement. The claim writes its expiry job itself (see insertExpiryJob),
// which spares River's insert its round trip.
func (s *Store) claimPostgres(ctx context.Context, buyerID, listingID int64, quantity int, now, expires time.Time, wait string) (Order, error) {
	conn, err := s.db.Write.Conn(ctx)
	if err != nil {
		return Order{}, fmt.Errorf("claim: %w", err)
	}
	defer conn.Close()
	var o Order
	unchanged := false
	err = conn.Raw(func(driverConn any) error {
		c := driverConn.(*stdlib.Conn).Conn()
		var err error
		o, err = s.claimOn(ctx, c, buyerID, listingID, quantity, now, expires, wait)
		err, unchanged = endTx(ctx, c, err)
		return err
	})
	if !unchanged {
		s.wrote()
	}
	return o, err
}

func (s *Store) claimOn(ctx context.Context, c *pgx.Conn, buyerID, listingID int64, quantity int, now, expires time.Time, wait string) (Order, error) {
	o := Order{BuyerID: buyerID, ListingID: listingID, Quantity: quantity, Status: Pending,
		ExpiresAt: fromMS(ms(expires)), CreatedAt: fromMS(ms(now)), UpdatedAt: fromMS(ms(now))}
	batch := &pgx.Batch{}
	batch.Queue(`BEGIN`)
	if s.maxHolds > 0 {
		batch.Queue(lockBuyerSQL, buyerID)
	}
	batch.Queue(`
		WITH o AS (`+insertOrder+`
			RETURNING id, amount, currency
		), claimed AS (
			UPDATE tickets SET claim_order_id = o.id, claim_expires_at = $3 FROM o
			WHERE tickets.id IN (`+freeTickets("FOR UPDATE "+wait)+`)
			RETURNING tickets.id
		), job AS (`+insertExpiryJob("o", "$7")+`)
		SELECT o.id, o.amount, o.currency, e.name, (SELECT count(*) FROM claimed), h.*
		FROM o JOIN listings l ON l.id = $5 JOIN events e ON e.id = l.event_id,
		     (SELECT `+heldBy("$4")+`, `+lapses("$4", "$6")+` `+buyerOrdersSince("$1", "$6")+`) h`,
		buyerID, quantity, ms(expires), ms(now), listingID, ms(s.lapsesSince(now)), o.ExpiresAt)
	results := c.SendBatch(ctx, batch)
	defer results.Close()
	if _, err := results.Exec(); err != nil {
		return Order{}, fmt.Errorf("begin: %w", err)
	}
	if s.maxHolds > 0 {
		var id int64
		err := results.QueryRow().Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return Order{}, ErrNotFound
		}
		if err != nil {
			return Order{}, fmt.Errorf("lock buyer: %w", err)
		}
	}
	var claimed, holds, lapsedHolds int
	var latest sql.NullInt64
	err := results.QueryRow().Scan(&o.ID, &o.Amount, &o.Currency, &o.EventName, &claimed, &holds, &lapsedHolds, &latest)
	if errors.Is(err, pgx.ErrNoRows) {
		return Order{}, errNotClaimable
	}
	if err != nil {
		return Order{}, fmt.Errorf("claim: %w", err)
	}
	// A listing that cannot give what is asked says why first, as
	// claimOrRefuse's read before the claim would have.
	if claimed != quantity {
		return Order{}, errShortClaim
	}
	if err := s.tooManyHolds(holds + quantity); err != nil {
		return Order{}, err
	}
	if err := s.cooldownAt(lapsedHolds, latest, now); err != nil {
		return Order{}, err
	}
	return o, results.Close()
}

// endTx commits the transaction open on c when err is nil, else rolls it
// back, and returns err or the commit's error, and whether the transaction
// surely changed nothing: it was rolled back. A connection whose transaction
// could not be ended is given up (driver.ErrBadConn), so that no lock it
// holds outlives the claim in the pool.
func endTx(ctx context.Context, c *pgx.Conn, err error) (_ error, unchanged bool) {
	end := "COMMIT"
	if err != nil {
		end = "ROLLBACK"
	}
	tag, endErr := c.Exec(ctx, end)
	if endErr == nil && tag.String() != end {
		// COMMIT rolls back a transaction one of its statements failed in.
		endErr = fmt.Errorf("%s ended the transaction with %s", end, tag)
	}
	if c.PgConn().TxStatus() != 'I' {
		endErr = errors.Join(endErr, driver.ErrBadConn)
	}
	switch {
	case err != nil && endErr == nil:
		return err, true
	case err != nil:
		return errors.Join(err, endErr), false
	case endErr != nil:
		return fmt.Errorf("commit: %w", endErr), false
	}
	return nil, false
}

// insertExpiryJob is the INSERT, for a data-modifying WITH, of the River job
// that ends the hold of the order selected by from (a WITH query with its
// id) at scheduledAt (a timestamptz): the row River's own insert of
// ExpireOrderArgs writes, with River's defaults for a job with no insert
// options (TestClaimWritesRiversExpiryJob compares them). River's other
// clients (Python, Ruby) insert their jobs with SQL of their own in the same
// way.
func insertExpiryJob(from, scheduledAt string) string {
	return `INSERT INTO river_job (args, kind, max_attempts, priority, queue, scheduled_at, state)
		SELECT jsonb_build_object('order_id', ` + from + `.id), '` + ExpireOrderArgs{}.Kind() + `', ` +
		strconv.Itoa(river.MaxAttemptsDefault) + `, ` + strconv.Itoa(river.PriorityDefault) + `, '` + river.QueueDefault + `', ` +
		scheduledAt + `, 'scheduled' FROM ` + from
}

// sweepPostgres is sweepExpired on PostgreSQL. Expiries run there side by
// side, up to River's workers at once, but each is a transaction of several
// round trips, and a thousand holds that end together would be recorded over
// most of a second; one statement records them all within the first job.
// It takes only the orders and tickets no other transaction has locked
// (SKIP LOCKED), so it never waits: a sweep in another instance, a payment or
// a claim keeps what it locked, and the orders' own jobs do the rest. Within
// this process one sweep runs at a time; the others would find nothing left.
func (s *Store) sweepPostgres(ctx context.Context, tx *writeTx, now time.Time) error {
	if !s.sweeping.CompareAndSwap(false, true) {
		return nil
	}
	defer s.sweeping.Store(false)
	listings, err := queryIDs(ctx, tx.Tx, `
		WITH cancelled AS (
			UPDATE orders SET status = 'cancelled', cancelled_at = $1, updated_at = $1
			WHERE id IN (
				SELECT o.id FROM orders o
				WHERE o.status = 'pending' AND o.expires_at <= $1 AND o.id IN (
					-- Pending ones only: a ticket a sweep skipped still names
					-- its cancelled order until that order's own job runs.
					SELECT k.claim_order_id FROM tickets k JOIN orders p ON p.id = k.claim_order_id
					WHERE k.claim_expires_at <= $1 AND p.status = 'pending' ORDER BY k.claim_expires_at LIMIT $2)
				FOR UPDATE SKIP LOCKED)
			RETURNING id, listing_id
		), released AS (
			-- Run, as every data-modifying WITH is, though nothing reads it.
			UPDATE tickets SET claim_order_id = NULL, claim_expires_at = NULL
			WHERE id IN (
				SELECT k.id FROM tickets k WHERE k.claim_order_id IN (SELECT id FROM cancelled) AND k.claim_expires_at IS NOT NULL
				FOR UPDATE SKIP LOCKED)
			RETURNING 1
		)
		SELECT DISTINCT listing_id FROM cancelled`,
		ms(now), sweepMax)
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	return s.queueAlertsForListings(ctx, tx, listings, now)
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

// lapses is the SQL expressions, on orders of one buyer, for the count and
// the latest end of their lapses at now since since (see cooldownAt).
func lapses(now, since string) string {
	lapsed := `expires_at > ` + since + ` AND (status = 'cancelled' OR (status = 'pending' AND expires_at <= ` + now + `))
		AND ` + lapseAt + ` > ` + since
	return `count(*) FILTER (WHERE ` + lapsed + `), max(` + lapseAt + `) FILTER (WHERE ` + lapsed + `)`
}

// cooldownAt refuses, with a *CooldownError, a buyer with n lapses, the
// latest ending at latest, who is cooling down at now. Lapses are counted in
// the database, in CreateOrder's transaction, so that every app instance
// sees the same lapses. A lapse is a cancelled order, or a pending one past
// its expires_at whose job has not run yet; an order paid late is paid and
// does not count.
func (s *Store) cooldownAt(n int, latest sql.NullInt64, now time.Time) error {
	if s.cooldown.off() || !latest.Valid {
		return nil
	}
	if until := fromMS(latest.Int64).Add(s.cooldown.wait(n)); until.After(now) {
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
