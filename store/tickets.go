package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// TicketState says whether a ticket can be bought.
type TicketState string

// ErrWithdrawn means the seller has taken the ticket off sale.
var ErrWithdrawn = errors.New("ticket is withdrawn by its seller")

// The states of a ticket.
const (
	ForSale   TicketState = "for sale"
	Held      TicketState = "held"
	Sold      TicketState = "sold"
	Withdrawn TicketState = "withdrawn"
)

// Ticket is a ticket listed for sale by its seller.
type Ticket struct {
	ID        int64
	SellerID  int64
	Title     string
	Price     int64 // minor units of Currency
	Currency  string
	CreatedAt time.Time
	UpdatedAt time.Time

	// ClaimOrderID is the order that holds or bought the ticket, or 0.
	ClaimOrderID int64
	// ClaimExpiresAt is when a hold ends; zero for a sale.
	ClaimExpiresAt time.Time
	// WithdrawnAt is when the seller took the ticket off sale; zero while
	// it is listed.
	WithdrawnAt time.Time
}

// State is the ticket's state at now. A hold that has run out leaves the
// ticket for sale (or withdrawn) even before its expiry job has recorded the
// cancellation.
func (t Ticket) State(now time.Time) TicketState {
	switch {
	case t.ClaimOrderID != 0 && t.ClaimExpiresAt.IsZero():
		return Sold
	case t.ClaimOrderID != 0 && now.Before(t.ClaimExpiresAt):
		return Held
	case !t.WithdrawnAt.IsZero():
		return Withdrawn
	default:
		return ForSale
	}
}

// unclaimed is the SQL condition for "no live claim at $now": neither held
// nor sold. now must be bound to the placeholder given.
func unclaimed(nowParam string) string {
	return `(claim_order_id IS NULL OR claim_expires_at <= ` + nowParam + `)`
}

// claimable is the SQL condition for "for sale at $now": unclaimed and not
// withdrawn; it must match Ticket.State. now must be bound to the
// placeholder given.
func claimable(nowParam string) string {
	return `(` + unclaimed(nowParam) + ` AND withdrawn_at IS NULL)`
}

const ticketColumns = `id, seller_id, title, price, currency, claim_order_id, claim_expires_at, withdrawn_at, created_at, updated_at`

type rowScanner interface{ Scan(dest ...any) error }

func scanTicket(row rowScanner) (Ticket, error) {
	var t Ticket
	var claimOrder, claimExpires, withdrawn sql.NullInt64
	var created, updated int64
	err := row.Scan(&t.ID, &t.SellerID, &t.Title, &t.Price, &t.Currency, &claimOrder, &claimExpires, &withdrawn, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Ticket{}, ErrNotFound
	}
	t.ClaimOrderID = claimOrder.Int64
	t.ClaimExpiresAt = fromNullMS(claimExpires)
	t.WithdrawnAt = fromNullMS(withdrawn)
	t.CreatedAt, t.UpdatedAt = fromMS(created), fromMS(updated)
	return t, err
}

// CreateTicket lists a ticket for sale.
func (s *Store) CreateTicket(ctx context.Context, sellerID int64, title string, price int64, currency string, now time.Time) (Ticket, error) {
	defer s.wrote()
	return scanTicket(s.db.Write.QueryRowContext(ctx, `
		INSERT INTO tickets (seller_id, title, price, currency, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $5)
		RETURNING `+ticketColumns, sellerID, title, price, currency, ms(now)))
}

// Ticket finds a ticket by id.
func (s *Store) Ticket(ctx context.Context, id int64) (Ticket, error) {
	return scanTicket(s.db.Read.QueryRowContext(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE id = $1`, id))
}

// TicketsForSale lists the tickets for sale at now, newest first, whose title
// contains search (case-insensitively; empty matches all).
func (s *Store) TicketsForSale(ctx context.Context, now time.Time, search string, limit, offset int) ([]Ticket, error) {
	pattern := "%" + likeEscaper.Replace(strings.ToLower(search)) + "%"
	return s.tickets(ctx, `
		SELECT `+ticketColumns+` FROM tickets
		WHERE `+claimable("$1")+` AND lower(title) LIKE $2 ESCAPE '\'
		ORDER BY id DESC LIMIT $3 OFFSET $4`, ms(now), pattern, limit, offset)
}

// NextHoldEnd is when the first hold still running at now ends, or the zero
// time when no ticket is held. Until then, and as long as Writes stays the
// same, TicketsForSale gives the same answer.
func (s *Store) NextHoldEnd(ctx context.Context, now time.Time) (time.Time, error) {
	var end sql.NullInt64
	err := s.db.Read.QueryRowContext(ctx,
		`SELECT MIN(claim_expires_at) FROM tickets WHERE claim_expires_at > $1`, ms(now)).Scan(&end)
	return fromNullMS(end), err
}

// TicketsBySeller lists every ticket a seller listed, newest first.
func (s *Store) TicketsBySeller(ctx context.Context, sellerID int64) ([]Ticket, error) {
	return s.tickets(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE seller_id = $1 ORDER BY id DESC`, sellerID)
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func (s *Store) tickets(ctx context.Context, query string, args ...any) ([]Ticket, error) {
	rows, err := s.db.Read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var tickets []Ticket
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, err
		}
		tickets = append(tickets, t)
	}
	return tickets, rows.Err()
}

// UpdateTicket changes the title and price of a seller's own ticket, for sale
// or withdrawn. It fails with ErrNotFound for someone else's ticket, and with
// ErrHeld or ErrSold while a buyer holds it or after it is sold.
func (s *Store) UpdateTicket(ctx context.Context, id, sellerID int64, title string, price int64, now time.Time) (Ticket, error) {
	defer s.wrote()
	t, err := scanTicket(s.db.Write.QueryRowContext(ctx, `
		UPDATE tickets SET title = $1, price = $2, updated_at = $3
		WHERE id = $4 AND seller_id = $5 AND `+unclaimed("$3")+`
		RETURNING `+ticketColumns, title, price, ms(now), id, sellerID))
	if errors.Is(err, ErrNotFound) {
		return Ticket{}, s.whyNotEditable(ctx, id, sellerID, now)
	}
	return t, err
}

// WithdrawTicket takes a seller's own ticket off sale. The one conditional
// UPDATE decides against a concurrent buyer: of a withdrawal and a claim
// racing, exactly one wins. It fails with ErrNotFound for someone else's
// ticket, and with ErrHeld or ErrSold while a buyer holds it or after it is
// sold. Withdrawing a withdrawn ticket changes nothing.
func (s *Store) WithdrawTicket(ctx context.Context, id, sellerID int64, now time.Time) (Ticket, error) {
	var t Ticket
	err := s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		var err error
		t, err = scanTicket(tx.QueryRowContext(ctx, `
			UPDATE tickets SET withdrawn_at = COALESCE(withdrawn_at, $1), updated_at = $1
			WHERE id = $2 AND seller_id = $3 AND `+unclaimed("$1")+`
			RETURNING `+ticketColumns, ms(now), id, sellerID))
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return Ticket{}, s.whyNotEditable(ctx, id, sellerID, now)
	}
	return t, err
}

// RelistTicket puts a seller's own withdrawn ticket back on sale; a ticket
// not withdrawn stays as it is. Someone else's ticket is ErrNotFound.
func (s *Store) RelistTicket(ctx context.Context, id, sellerID int64, now time.Time) (Ticket, error) {
	var t Ticket
	err := s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		var err error
		t, err = scanTicket(tx.QueryRowContext(ctx, `
			UPDATE tickets SET withdrawn_at = NULL, updated_at = $1
			WHERE id = $2 AND seller_id = $3
			RETURNING `+ticketColumns, ms(now), id, sellerID))
		return err
	})
	return t, err
}

func (s *Store) whyNotEditable(ctx context.Context, id, sellerID int64, now time.Time) error {
	t, err := s.Ticket(ctx, id)
	switch {
	case err != nil:
		return err
	case t.SellerID != sellerID:
		return ErrNotFound
	case t.State(now) == Sold:
		return ErrSold
	default:
		return ErrHeld
	}
}
