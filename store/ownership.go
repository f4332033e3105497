package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// A seat's history is a chain of ticket rows: the row first listed, then one
// row per resale (resale_of names the row it was bought as). They share a
// root (the first row's id) and count their generation from 0. The buyer of
// the chain's latest sold row holds the seat; every earlier buyer's access
// has ended.

// Errors of resale.
var (
	// ErrNotOwner means the person does not hold the ticket (any more).
	ErrNotOwner = errors.New("the ticket is not yours")
	// ErrAlreadyListed means the owner already listed the ticket for
	// resale; they may edit, withdraw or relist that listing.
	ErrAlreadyListed = errors.New("the ticket is already listed for resale")
	// ErrMixedTickets means tickets resold together must be of one listing.
	ErrMixedTickets = errors.New("tickets resold together must come from one listing")
)

// OwnedTicket is a ticket a person holds: bought, paid, and not resold since.
type OwnedTicket struct {
	TicketID   int64 // the row the holder bought
	RootID     int64 // the seat: the first row of its history
	Generation int   // 0 when bought from the first seller, +1 per resale
	OrderID    int64
	PaidAt     time.Time
	ListingID  int64 // the listing it was bought from
	Note       string
	FaceValue  int64
	Currency   string
	Event      Event
	// ResaleListingID is the listing the holder made of it to sell it on,
	// or 0; while that listing is unsold the ticket is still theirs.
	ResaleListingID int64
}

// owned is the SQL condition that ticket row k is sold to the buyer of the
// paid order o and not resold since.
const owned = `k.claim_expires_at IS NULL AND o.status = 'paid' AND NOT EXISTS (
	SELECT 1 FROM tickets r WHERE r.resale_of = k.id AND r.claim_order_id IS NOT NULL AND r.claim_expires_at IS NULL)`

const ownedColumns = `k.id, coalesce(k.root_id, k.id), k.generation, o.id, o.paid_at, l.id, l.note, l.face_value, l.currency,
	coalesce((SELECT r.listing_id FROM tickets r WHERE r.resale_of = k.id), 0), ` + eventColumns

const ownedFrom = ` FROM tickets k JOIN orders o ON o.id = k.claim_order_id JOIN listings l ON l.id = k.listing_id
	JOIN events e ON e.id = l.event_id `

func scanOwned(row rowScanner) (OwnedTicket, error) {
	var t OwnedTicket
	var paid sql.NullInt64
	var starts, hidden, merged sql.NullInt64
	var created, updated int64
	dest := []any{&t.TicketID, &t.RootID, &t.Generation, &t.OrderID, &paid, &t.ListingID, &t.Note, &t.FaceValue,
		&t.Currency, &t.ResaleListingID}
	dest = append(dest, eventDest(&t.Event, &starts, &hidden, &merged, &created, &updated)...)
	if err := row.Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return OwnedTicket{}, ErrNotOwner
		}
		return OwnedTicket{}, err
	}
	t.PaidAt = fromNullMS(paid)
	t.Event.StartsAt, t.Event.HiddenAt, t.Event.MergedInto = fromNullMS(starts), fromNullMS(hidden), merged.Int64
	t.Event.CreatedAt, t.Event.UpdatedAt = fromMS(created), fromMS(updated)
	return t, nil
}

// OwnedTickets lists the tickets a person holds, the soonest event first
// (those to be announced last), then in the order they were bought.
func (s *Store) OwnedTickets(ctx context.Context, ownerID int64) ([]OwnedTicket, error) {
	rows, err := s.reader(ctx).QueryContext(ctx, `SELECT `+ownedColumns+ownedFrom+`
		WHERE o.buyer_id = $1 AND `+owned+`
		ORDER BY e.starts_at IS NULL, e.starts_at, o.id, k.id`, ownerID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []OwnedTicket
	for rows.Next() {
		t, err := scanOwned(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, t)
	}
	return list, rows.Err()
}

// OwnedTicket finds a ticket row the person holds; any other is ErrNotOwner.
func (s *Store) OwnedTicket(ctx context.Context, ownerID, ticketID int64) (OwnedTicket, error) {
	return scanOwned(s.reader(ctx).QueryRowContext(ctx, `SELECT `+ownedColumns+ownedFrom+`
		WHERE k.id = $1 AND o.buyer_id = $2 AND `+owned, ticketID, ownerID))
}

// Holding is who holds a seat now.
type Holding struct {
	TicketID   int64 // the seat's latest sold row
	RootID     int64
	Generation int
	HolderID   int64 // its buyer
	OrderID    int64
	EventID    int64
}

// Holding finds who holds the seat whose history starts at rootID: the buyer
// of its latest sold row. A seat never sold (or whose sale was refunded) is
// ErrNotFound.
func (s *Store) Holding(ctx context.Context, rootID int64) (Holding, error) {
	var h Holding
	err := s.reader(ctx).QueryRowContext(ctx, `
		SELECT k.id, coalesce(k.root_id, k.id), k.generation, o.buyer_id, o.id, l.event_id
		FROM tickets k JOIN orders o ON o.id = k.claim_order_id JOIN listings l ON l.id = k.listing_id
		WHERE (k.id = $1 OR k.root_id = $1) AND k.claim_expires_at IS NULL AND o.status = 'paid'
		ORDER BY k.generation DESC LIMIT 1`, rootID).
		Scan(&h.TicketID, &h.RootID, &h.Generation, &h.HolderID, &h.OrderID, &h.EventID)
	if errors.Is(err, sql.ErrNoRows) {
		return Holding{}, ErrNotFound
	}
	return h, err
}

// Resale is what an owner asks for the tickets they sell on.
type Resale struct {
	TicketIDs []int64 // rows the owner holds, of one listing
	Price     int64   // per ticket, capped over the face value they were listed with
	Note      string
}

// ResellTickets lists tickets a person holds for sale again, under the same
// event and face value, in one transaction: a new listing whose ticket rows
// continue each seat's history. The tickets stay the owner's until the
// resale is paid. Tickets the person does not hold are ErrNotOwner; one
// listed for resale already ErrAlreadyListed; an event that has started
// ErrEventStarted; a price over the cap a *PriceCapError.
func (s *Store) ResellTickets(ctx context.Context, ownerID int64, r Resale, now time.Time) (Listing, error) {
	if len(r.TicketIDs) == 0 || len(r.TicketIDs) > MaxQuantity {
		return Listing{}, fmt.Errorf("resell %d tickets: want 1 to %d", len(r.TicketIDs), MaxQuantity)
	}
	var id int64
	err := s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		var first OwnedTicket
		for i, ticketID := range r.TicketIDs {
			t, err := scanOwned(tx.QueryRowContext(ctx, `SELECT `+ownedColumns+ownedFrom+`
				WHERE k.id = $1 AND o.buyer_id = $2 AND `+owned, ticketID, ownerID))
			switch {
			case err != nil:
				return err
			case t.ResaleListingID != 0:
				return ErrAlreadyListed
			case i == 0:
				first = t
			case t.ListingID != first.ListingID:
				return ErrMixedTickets
			}
		}
		if err := s.openEvent(ctx, tx.Tx, first.Event.ID, now); err != nil {
			return err
		}
		if err := s.checkPrice(r.Price, first.FaceValue); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `
			INSERT INTO listings (seller_id, event_id, note, price, face_value, currency, quantity, together, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, FALSE, $8, $8) RETURNING id`,
			ownerID, first.Event.ID, r.Note, r.Price, first.FaceValue, first.Currency, len(r.TicketIDs), ms(now)).Scan(&id)
		if err != nil {
			return fmt.Errorf("insert resale listing: %w", err)
		}
		for _, ticketID := range r.TicketIDs {
			// The unique index on resale_of decides a race between two
			// resales of one ticket.
			res, err := tx.ExecContext(ctx, `
				INSERT INTO tickets (listing_id, resale_of, root_id, generation)
				SELECT $1, k.id, coalesce(k.root_id, k.id), k.generation + 1 FROM tickets k WHERE k.id = $2
				ON CONFLICT (resale_of) DO NOTHING`, id, ticketID)
			if err != nil {
				return fmt.Errorf("insert resale ticket: %w", err)
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				return errors.Join(ErrAlreadyListed, err)
			}
		}
		return nil
	})
	if err != nil {
		return Listing{}, err
	}
	return s.listingIn(ctx, s.db.Write, id, now)
}
