package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/eventhive/eventhive/internal/bounded"
)

// OrderStatus is the stored status of an order.
type OrderStatus string

// The stored statuses. An order is "expired" when it is pending past its
// expires_at, or was cancelled at or after it (see Order.State).
const (
	Pending   OrderStatus = "pending"
	Paid      OrderStatus = "paid"
	Cancelled OrderStatus = "cancelled"
	Expired   OrderStatus = "expired"
	Refunded  OrderStatus = "refunded"
)

// Order is a buyer's claim on tickets of one listing.
type Order struct {
	ID                int64
	BuyerID           int64
	ListingID         int64
	Quantity          int // tickets
	EventName         string
	Status            OrderStatus
	Amount            int64 // minor units of Currency, for all of its tickets
	Currency          string
	ExpiresAt         time.Time
	CheckoutSessionID string
	// PaymentStatus is the status of the order's latest payment, if any.
	PaymentStatus PaymentStatus
	CancelledAt   time.Time
	PaidAt        time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// State is the order's status as people see it at now: a pending order whose
// hold has ended is expired even before its expiry job has run, and an order
// cancelled when its hold ended (rather than by its buyer) is expired too. An
// order whose payment was refunded, or is being refunded, is refunded.
func (o Order) State(now time.Time) OrderStatus {
	switch {
	case o.PaymentStatus.Refund():
		return Refunded
	case o.Status == Pending && !now.Before(o.ExpiresAt):
		return Expired
	case o.Status == Cancelled && !o.CancelledAt.Before(o.ExpiresAt):
		return Expired
	default:
		return o.Status
	}
}

// Payable reports whether the buyer may still pay the order at now: it is
// pending and its hold has not ended.
func (o Order) Payable(now time.Time) bool { return o.State(now) == Pending }

const orderColumns = `o.id, o.buyer_id, o.listing_id, o.quantity, e.name, o.status, o.amount, o.currency, o.expires_at,
	o.checkout_session_id, o.cancelled_at, o.paid_at, o.created_at, o.updated_at,
	(SELECT p.status FROM payments p WHERE p.order_id = o.id ORDER BY p.id DESC LIMIT 1)`

const orderFrom = ` FROM orders o JOIN listings l ON l.id = o.listing_id JOIN events e ON e.id = l.event_id `

func scanOrder(row rowScanner) (Order, error) {
	var o Order
	var session, payment sql.NullString
	var expires, created, updated int64
	var cancelled, paid sql.NullInt64
	err := row.Scan(&o.ID, &o.BuyerID, &o.ListingID, &o.Quantity, &o.EventName, &o.Status, &o.Amount, &o.Currency, &expires,
		&session, &cancelled, &paid, &created, &updated, &payment)
	if errors.Is(err, sql.ErrNoRows) {
		return Order{}, ErrNotFound
	}
	o.CheckoutSessionID = session.String
	o.PaymentStatus = PaymentStatus(payment.String)
	o.ExpiresAt, o.CreatedAt, o.UpdatedAt = fromMS(expires), fromMS(created), fromMS(updated)
	o.CancelledAt, o.PaidAt = fromNullMS(cancelled), fromNullMS(paid)
	return o, err
}

// CreateOrder claims quantity tickets of a listing for a buyer until
// now+hold and schedules the hold's end, all in one transaction: all of the
// tickets or none. The claim is a single UPDATE of free tickets' rows (on
// PostgreSQL it skips rows other buyers are claiming), so however many buyers
// race, a listing never sells more tickets than it has. A refusal of the
// listing is a *Refusal, which carries the listing as read and says why:
// ErrOwnTicket, ErrSold, ErrHeld, ErrNotEnoughLeft, ErrTogether,
// ErrWithdrawn, ErrOffSale, ErrEventStarted, ErrNotFound. A listing that
// does not exist is ErrNotFound, and one whose read allows what the claim
// found gone ErrChanged. A buyer who would hold more than MaxHolds tickets
// gets ErrTooManyHolds, and one who has let too many holds lapse lately a
// *CooldownError (ErrCoolingDown).
func (s *Store) CreateOrder(ctx context.Context, buyerID, listingID int64, quantity int, now time.Time, hold time.Duration) (Order, error) {
	o, err := s.claimOrRefuse(ctx, buyerID, listingID, quantity, now, now.Add(hold))
	if _, refused := errors.AsType[*Refusal](err); refused || errors.Is(err, ErrChanged) {
		s.refusals.note(listingID, now)
		return Order{}, s.refused(ctx, buyerID, listingID, now, err)
	}
	if err != nil {
		return Order{}, err
	}
	s.observer.HoldCreated()
	return o, nil
}

// claimOrRefuse claims quantity tickets of the listing for the buyer until
// expires, or says why not: a *Refusal, ErrChanged, or another error.
func (s *Store) claimOrRefuse(ctx context.Context, buyerID, listingID int64, quantity int, now, expires time.Time) (Order, error) {
	// While a listing's claims are being refused (see refusalMemo), refuse
	// at once what it plainly cannot give, from the listing as last read to
	// refuse or else through the read pool: in a sell-out most attempts are
	// for tickets just taken, and each would otherwise wait its turn for the
	// one SQLite write connection, or take two round trips on PostgreSQL,
	// only to fail. This only ever refuses (ErrChanged from it means the
	// listing as read allows the claim); the claim below decides. A listing
	// whose claims succeed is claimed without it.
	if s.refusals.recent(listingID, now) {
		l, kept := s.refusals.listing(listingID, s.changes(), now)
		var err error
		if !kept {
			l, err = s.readToRefuse(ctx, listingID, now)
		}
		if why := whyNotClaimable(l, err, buyerID, quantity, now); !errors.Is(why, ErrChanged) {
			return Order{}, why // a *Refusal or the read's error
		}
	}
	claim := s.holdSQLite
	if s.db.Dialect == Postgres {
		claim = s.holdPostgres
	}
	o, err := claim(ctx, buyerID, listingID, quantity, now, expires)
	if errors.Is(err, errNotClaimable) {
		l, readErr := s.readToRefuse(ctx, listingID, now)
		return Order{}, whyNotClaimable(l, readErr, buyerID, quantity, now)
	}
	return o, err
}

// readToRefuse reads the listing to say why a claim of it is refused, and
// keeps what it read for the refusals that follow (refusalMemo.listing)
// while the Store hears of every change made to the database
// (HearsEveryChange).
func (s *Store) readToRefuse(ctx context.Context, listingID int64, now time.Time) (Listing, error) {
	// Counted before the read: a change that finishes from here on moves
	// the count, whatever the read saw.
	changes := s.changes()
	l, err := s.Listing(ctx, listingID, now)
	if err == nil && s.HearsEveryChange() {
		s.refusals.keep(l, changes)
	}
	return l, err
}

// refusalMemo remembers, per listing, when this process last refused a
// claim of it, so that CreateOrder reads the listing before claiming only
// while its claims are being refused: in a sell-out nearly all attempts are,
// and the read spares each a claim, while a listing whose claims succeed is
// claimed without it. It also keeps the listing as last read to refuse a
// claim, which the refusals that follow take instead of reading it again
// while nothing it counts can have changed: in a sell-out that read was most
// of what each refused attempt asked of the database (BENCHMARKS.md, 5 Dec).
type refusalMemo struct {
	mu      sync.Mutex
	refused map[int64]int64       // listing id → Unix ms
	read    map[int64]readListing // listing id → as last read to refuse a claim
}

// readListing is a listing as read, and the Store's change count (changes)
// taken just before the read.
type readListing struct {
	listing Listing
	changes uint64
}

// refusalMemoFor is how long a refusal keeps CreateOrder reading first, and
// how long a kept listing is taken at most: it bounds what a change the
// Store does not hear of (one made by hand) hides.
const refusalMemoFor = time.Second

// note records that a claim of the listing was refused at now.
func (m *refusalMemo) note(listingID int64, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.refused == nil {
		m.refused = map[int64]int64{}
	}
	bounded.Put(m.refused, listingID, ms(now), contentionMemoMax)
}

// recent reports whether a claim of the listing was refused within
// refusalMemoFor of now.
func (m *refusalMemo) recent(listingID int64, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	at, ok := m.refused[listingID]
	return ok && ms(now)-at < refusalMemoFor.Milliseconds()
}

// keep keeps l, read after the Store's change count was changes.
func (m *refusalMemo) keep(l Listing, changes uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.read == nil {
		m.read = map[int64]readListing{}
	}
	bounded.Put(m.read, l.ID, readListing{listing: l, changes: changes}, contentionMemoMax)
}

// listing returns the kept listing as a read at now would find it, if
// nothing it counts can have changed since it was read: the Store's change
// count is still changes, and no hold of the listing has ended by now (its
// NextRelease), which frees tickets without a write. The event's start needs
// no read: a listing's State takes it from now.
func (m *refusalMemo) listing(listingID int64, changes uint64, now time.Time) (Listing, bool) {
	m.mu.Lock()
	r, ok := m.read[listingID]
	m.mu.Unlock()
	l := r.listing
	if !ok || r.changes != changes || now.Before(l.AsOf) || now.Sub(l.AsOf) >= refusalMemoFor ||
		(!l.NextRelease.IsZero() && !now.Before(l.NextRelease)) {
		return Listing{}, false
	}
	l.AsOf = now
	return l, true
}

// insertOrder is the INSERT of a buyer's ($1) order of $2 tickets of
// listing $5 held until $3, at $4 (now), which inserts nothing unless the
// listing is on sale to them in that quantity.
var insertOrder = `
	INSERT INTO orders (buyer_id, listing_id, quantity, status, amount, currency, expires_at, created_at, updated_at)
	SELECT $1, l.id, $2, 'pending', l.price * CAST($2 AS INTEGER), l.currency, $3, $4, $4` + listingFrom + `
	WHERE l.id = $5 AND l.seller_id <> $1 AND ` + listingOpen + ` AND ` + eventOpen("$4") + `
	  AND (NOT l.together OR l.quantity = $2)`

// freeTickets selects, of listing $5, the first $2 tickets free at $4, with
// lock appended.
func freeTickets(lock string) string {
	return `SELECT k.id FROM tickets k WHERE k.listing_id = $5 AND ` + unclaimed("k", "$4") + ` ORDER BY k.id LIMIT $2 ` + lock
}

// holdSQLite is CreateOrder's claim on SQLite: it inserts the order, claims
// the tickets, and checks the buyer's holds.
func (s *Store) holdSQLite(ctx context.Context, buyerID, listingID int64, quantity int, now, expires time.Time) (Order, error) {
	var order Order
	err := s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		err := tx.QueryRowContext(ctx, insertOrder+returningOrder,
			buyerID, quantity, ms(expires), ms(now), listingID).Scan(&order.ID, &order.Amount, &order.Currency, &order.EventName)
		if errors.Is(err, sql.ErrNoRows) {
			return errNotClaimable
		}
		if err != nil {
			return fmt.Errorf("insert order: %w", err)
		}
		res, err := tx.ExecContext(ctx, `
			UPDATE tickets SET claim_order_id = $1, claim_expires_at = $3
			WHERE id IN (`+freeTickets("")+`)`,
			order.ID, quantity, ms(expires), ms(now), listingID)
		if err != nil {
			return fmt.Errorf("claim tickets: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != int64(quantity) {
			return errors.Join(errNotClaimable, err)
		}
		// After the tickets, so that a listing's refusal comes before the
		// buyer's, as on PostgreSQL.
		if err := s.checkBuyer(ctx, tx.Tx, buyerID, now); err != nil {
			return err
		}
		tx.insertJob(ExpireOrderArgs{OrderID: order.ID}, &river.InsertOpts{ScheduledAt: expires})
		return nil
	})
	if err != nil {
		return Order{}, err
	}
	// The rest is what the INSERT wrote: the order is returned without a
	// read, and the write connection spends no time scanning it.
	order.BuyerID, order.ListingID, order.Quantity, order.Status = buyerID, listingID, quantity, Pending
	order.ExpiresAt, order.CreatedAt = fromMS(ms(expires)), fromMS(ms(now))
	order.UpdatedAt = order.CreatedAt
	return order, nil
}

// returningOrder ends an INSERT INTO orders with the columns of the new
// order that its caller does not know: its id, amount, currency and event.
const returningOrder = ` RETURNING id, amount, currency,
	(SELECT e.name FROM listings l JOIN events e ON e.id = l.event_id WHERE l.id = orders.listing_id)`

var errNotClaimable = errors.New("tickets not claimable")

// A Refusal is CreateOrder's refusal to hold tickets: Err says why (ErrHeld,
// ErrSold, …) and Listing is the listing as the store read it to decide, so
// that a caller showing the buyer the listing with the reason needs no read
// of its own, and shows what the reason was drawn from.
type Refusal struct {
	Err     error
	Listing Listing
}

func (r *Refusal) Error() string { return r.Err.Error() }
func (r *Refusal) Unwrap() error { return r.Err }

// whyNotClaimable says why the buyer cannot claim quantity tickets of l, the
// listing as read at now, or returns err, the read's error: a *Refusal, or
// ErrChanged when the listing as read would allow the claim (which, after a
// claim that failed, means it changed meanwhile).
func whyNotClaimable(l Listing, err error, buyerID int64, quantity int, now time.Time) error {
	if err != nil {
		return err
	}
	if err := notClaimable(l, buyerID, quantity, now); err != nil {
		return &Refusal{Err: err, Listing: l}
	}
	return ErrChanged
}

// notClaimable says why the buyer cannot claim quantity tickets of l at now,
// or nil if they may.
func notClaimable(l Listing, buyerID int64, quantity int, now time.Time) error {
	state := l.State(now)
	switch {
	case l.SellerID == buyerID:
		return ErrOwnTicket
	case state == Sold:
		return ErrSold
	case state == Ended:
		return ErrEventStarted
	case state == OffSale && !l.Event.Listed():
		return ErrNotFound
	case state == OffSale:
		return ErrOffSale
	case state == Withdrawn:
		return ErrWithdrawn
	case l.Together && quantity != l.Quantity:
		return ErrTogether
	case state == Held:
		return ErrHeld
	case quantity > l.Free:
		return ErrNotEnoughLeft
	}
	return nil
}

// Order finds a buyer's order. Someone else's order is ErrNotFound.
func (s *Store) Order(ctx context.Context, id, buyerID int64) (Order, error) {
	o, err := s.order(ctx, s.reader(ctx), id)
	if err == nil && o.BuyerID != buyerID {
		return Order{}, ErrNotFound
	}
	return o, err
}

func (s *Store) order(ctx context.Context, db *sql.DB, id int64) (Order, error) {
	return scanOrder(db.QueryRowContext(ctx, `SELECT `+orderColumns+orderFrom+`WHERE o.id = $1`, id))
}

// HeldBy finds the buyer's latest order that holds tickets of the listing
// at now: pending, its hold not ended, and its tickets' claim. Anything else,
// someone else's hold included, is ErrNotFound.
func (s *Store) HeldBy(ctx context.Context, listingID, buyerID int64, now time.Time) (Order, error) {
	return scanOrder(s.reader(ctx).QueryRowContext(ctx, `SELECT `+orderColumns+orderFrom+`
		WHERE o.listing_id = $1 AND o.buyer_id = $2 AND o.status = 'pending' AND o.expires_at > $3
		  AND EXISTS (SELECT 1 FROM tickets k WHERE k.claim_order_id = o.id)
		ORDER BY o.id DESC LIMIT 1`, listingID, buyerID, ms(now)))
}

// OrdersByBuyer lists a buyer's orders, newest first.
func (s *Store) OrdersByBuyer(ctx context.Context, buyerID int64) ([]Order, error) {
	rows, err := s.reader(ctx).QueryContext(ctx,
		`SELECT `+orderColumns+orderFrom+`WHERE o.buyer_id = $1 ORDER BY o.id DESC`, buyerID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var orders []Order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, err
		}
		orders = append(orders, o)
	}
	return orders, rows.Err()
}

// CancelOrder lets a buyer give up a pending order before its hold ends; the
// ticket goes back on sale at once. An order with a checkout session gets, in
// the same transaction, an expiry job due now, which expires the session as
// the hold's end would, so that it can no longer be paid. Someone else's
// order is ErrNotFound; an order no longer pending (or whose hold has ended)
// is ErrNotPending.
func (s *Store) CancelOrder(ctx context.Context, id, buyerID int64, now time.Time) error {
	err := s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		var session sql.NullString
		err := tx.QueryRowContext(ctx, `
			UPDATE orders SET status = 'cancelled', cancelled_at = $1, updated_at = $1
			WHERE id = $2 AND buyer_id = $3 AND status = 'pending' AND expires_at > $1
			RETURNING checkout_session_id`, ms(now), id, buyerID).Scan(&session)
		if errors.Is(err, sql.ErrNoRows) {
			return errNotPending
		}
		if err != nil {
			return err
		}
		if session.Valid {
			tx.insertJob(ExpireOrderArgs{OrderID: id}, nil)
		}
		if err := releaseClaim(ctx, tx.Tx, id); err != nil {
			return err
		}
		return s.queueAlertsForOrder(ctx, tx, id, now)
	})
	if errors.Is(err, errNotPending) {
		if _, err := s.Order(ctx, id, buyerID); err != nil {
			return err
		}
		return ErrNotPending
	}
	return err
}

var errNotPending = errors.New("order not pending")

// releaseClaim puts back on sale the tickets an order holds (not those it
// bought).
func releaseClaim(ctx context.Context, tx *sql.Tx, orderID int64) error {
	_, err := tx.ExecContext(ctx, `
		UPDATE tickets SET claim_order_id = NULL, claim_expires_at = NULL
		WHERE claim_order_id = $1 AND claim_expires_at IS NOT NULL`, orderID)
	if err != nil {
		return fmt.Errorf("release claim: %w", err)
	}
	return nil
}

// ExpireOrder implements jobs.Store: it cancels a pending order whose hold
// has ended at now and releases its ticket. It returns the order's checkout
// session whenever the order ended unpaid, so that the session is expired even
// when the buyer cancelled the order first; a cancelled order's session is
// returned at once, without waiting for the hold's end.
func (s *Store) ExpireOrder(ctx context.Context, id int64, now time.Time) (endsAt time.Time, sessionID string, err error) {
	err = s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		var expires int64
		var status OrderStatus
		var session sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT status, expires_at, checkout_session_id FROM orders WHERE id = $1`, id).
			Scan(&status, &expires, &session)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil // nothing to expire
		case err != nil:
			return err
		case status == Paid:
			return nil
		case status == Cancelled:
			// A sweep that cancelled it may have skipped tickets locked
			// then (SKIP LOCKED): they are released now.
			sessionID = session.String
			return releaseClaim(ctx, tx.Tx, id)
		case now.Before(fromMS(expires)):
			endsAt = fromMS(expires)
			return nil
		}
		sessionID = session.String
		if status != Pending {
			return nil
		}
		res, err := tx.ExecContext(ctx, `
			UPDATE orders SET status = 'cancelled', cancelled_at = $1, updated_at = $1
			WHERE id = $2 AND status = 'pending' AND expires_at <= $1`, ms(now), id)
		if err != nil {
			return err
		}
		// On PostgreSQL a payment or an extension may have committed since
		// the SELECT: then the order is paid and the ticket sold under the
		// same order id, or the hold runs on, and must stay so.
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return err
		}
		if err := releaseClaim(ctx, tx.Tx, id); err != nil {
			return err
		}
		if err := s.queueAlertsForOrder(ctx, tx, id, now); err != nil {
			return err
		}
		return s.sweepExpired(ctx, tx, now)
	})
	return endsAt, sessionID, err
}

// sweepMax bounds how many other ended holds one expiry records.
const sweepMax = 1000

// sweepExpired records, along with one hold's end, the end of every other
// hold that has ended by now (up to sweepMax): holds taken in the same
// second of a rush end in the same second, and on SQLite, where every
// write takes its turn on one connection, one transaction for them all is
// far quicker than one each. The alerts for their listings are queued here
// too; their own jobs still run, find the order cancelled, and do the rest
// (the checkout session, live pages).
// A ticket whose hold has ended still names its order in claim_order_id
// until the hold's end is recorded, so the ended holds are found through
// tickets_claim_idx. On PostgreSQL see sweepPostgres.
func (s *Store) sweepExpired(ctx context.Context, tx *writeTx, now time.Time) error {
	if s.db.Dialect == Postgres {
		return s.sweepPostgres(ctx, tx, now)
	}
	listings, err := queryIDs(ctx, tx.Tx, `
		UPDATE orders SET status = 'cancelled', cancelled_at = $1, updated_at = $1
		WHERE status = 'pending' AND expires_at <= $1 AND id IN (
			SELECT claim_order_id FROM tickets WHERE claim_expires_at <= $1 ORDER BY claim_expires_at LIMIT $2)
		RETURNING listing_id`,
		ms(now), sweepMax)
	if err != nil {
		return fmt.Errorf("sweep orders: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `
		UPDATE tickets SET claim_order_id = NULL, claim_expires_at = NULL
		WHERE claim_expires_at <= $1
		  AND EXISTS (SELECT 1 FROM orders o WHERE o.id = tickets.claim_order_id AND o.status = 'cancelled')`,
		ms(now)); err != nil {
		return fmt.Errorf("sweep claims: %w", err)
	}
	return s.queueAlertsForListings(ctx, tx, listings, now)
}
