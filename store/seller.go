package store

import (
	"context"
	"database/sql"
	"time"
)

// SellerTicket is a ticket as its seller sees it on their own list: its state
// comes from Ticket.State, and a sold ticket carries its sale.
type SellerTicket struct {
	Ticket
	// SoldAt is when the buyer paid; zero unless the ticket is sold.
	SoldAt time.Time
	// SoldAmount is what the buyer paid, in minor units of SoldCurrency; 0
	// unless the ticket is sold.
	SoldAmount   int64
	SoldCurrency string
}

// SellerTickets lists every ticket a seller listed, newest first, with the
// sale of each one sold. It tells nothing about the buyers.
func (s *Store) SellerTickets(ctx context.Context, sellerID int64) ([]SellerTicket, error) {
	rows, err := s.db.Read.QueryContext(ctx, `
		SELECT t.id, t.seller_id, t.title, t.price, t.currency, t.claim_order_id, t.claim_expires_at, t.withdrawn_at,
		       t.created_at, t.updated_at, o.paid_at, o.amount, o.currency
		FROM tickets t
		LEFT JOIN orders o ON o.id = t.claim_order_id AND t.claim_expires_at IS NULL AND o.status = 'paid'
		WHERE t.seller_id = $1
		ORDER BY t.id DESC`, sellerID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []SellerTicket
	for rows.Next() {
		var paidAt, amount sql.NullInt64
		var currency sql.NullString
		t, err := scanTicket(withExtra{rows, []any{&paidAt, &amount, &currency}})
		if err != nil {
			return nil, err
		}
		list = append(list, SellerTicket{
			Ticket:       t,
			SoldAt:       fromNullMS(paidAt),
			SoldAmount:   amount.Int64,
			SoldCurrency: currency.String,
		})
	}
	return list, rows.Err()
}

// withExtra scans a ticket row that has more columns after the ticket's own
// into extra.
type withExtra struct {
	row   rowScanner
	extra []any
}

func (w withExtra) Scan(dest ...any) error { return w.row.Scan(append(dest, w.extra...)...) }
