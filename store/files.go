package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// E-tickets from other ticketing systems: the seller of a seat's first
// listing attaches one file to it, and the file goes with the seat. Who may
// read it follows who holds the seat (Holding): its first seller until it is
// sold, then only its holder.

// Errors of e-ticket files.
var (
	// ErrDuplicateFile means the same content is attached to another seat:
	// each e-ticket can be sold once.
	ErrDuplicateFile = errors.New("this file is already attached to another ticket")
	// ErrPassesEvent means the event checks tickets in with EventHive
	// passes: its tickets have no files.
	ErrPassesEvent = errors.New("the event's tickets are EventHive passes, not files")
)

// MaxFileBytes is the size of the largest e-ticket file.
const MaxFileBytes = 5 << 20

// FileInfo describes the file attached to a seat; its zero value is no file.
type FileInfo struct {
	ContentType string
	Size        int64
	UploadedAt  time.Time // when the first file was attached
	ReplacedAt  time.Time // when it was last replaced; zero if never
}

// Attached reports whether there is a file.
func (f FileInfo) Attached() bool { return f.Size > 0 }

// TicketFile is a seat's file with its content.
type TicketFile struct {
	FileInfo
	SeatID  int64
	SHA256  string // hex
	Content []byte
}

// FileSlot is one ticket of a listing or of an order, as its file goes.
type FileSlot struct {
	N        int // 1, 2, … in ticket id order within the listing or order
	TicketID int64
	SeatID   int64
	// Sold: a buyer paid for this ticket row. Once it is sold its file
	// may be attached but no longer replaced.
	Sold bool
	// Held: the order's buyer still holds it, not having resold it since
	// (order slots only).
	Held bool
	File FileInfo
}

// AttachFile attaches content to the n-th ticket (1-based, in id order) of
// the seller's listing, or replaces the file it has. Only the listing the
// seat was first listed in takes files: a resale's ticket keeps the seat's
// file. A file may be attached until the event starts (ErrEventStarted) and
// replaced while the ticket is unsold (ErrSold); content already on another
// seat is ErrDuplicateFile, and an event with EventHive passes
// ErrPassesEvent. Anything else the seller may not change is ErrNotFound.
func (s *Store) AttachFile(ctx context.Context, sellerID, listingID int64, n int, content []byte, contentType string,
	now time.Time) error {
	if len(content) == 0 || len(content) > MaxFileBytes {
		return fmt.Errorf("attach a file of %d bytes: want 1 to %d", len(content), MaxFileBytes)
	}
	if n < 1 || n > MaxQuantity {
		return ErrNotFound
	}
	sum := sha256.Sum256(content)
	return s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		seatID, uploadedAt, err := s.uploadSeat(ctx, tx.Tx, sellerID, listingID, n, now)
		if err != nil {
			return err
		}
		replacedAt := sql.NullInt64{}
		if _, err := tx.ExecContext(ctx, `DELETE FROM ticket_files WHERE ticket_id = $1`, seatID); err != nil {
			return fmt.Errorf("replace file: %w", err)
		}
		if uploadedAt.Valid {
			replacedAt = nullMS(now)
		} else {
			uploadedAt = nullMS(now)
		}
		// The unique index on sha256 decides between two seats racing for
		// the same content.
		res, err := tx.ExecContext(ctx, `
			INSERT INTO ticket_files (ticket_id, content, content_type, size, sha256, uploaded_by, uploaded_at, replaced_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
			seatID, content, contentType, len(content), hex.EncodeToString(sum[:]), sellerID, uploadedAt, replacedAt)
		if err != nil {
			return fmt.Errorf("attach file: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errors.Join(ErrDuplicateFile, err)
		}
		return nil
	})
}

// uploadSeat finds the seat of the n-th ticket of the seller's listing, if
// its file may be attached or replaced now, with when its file was first
// attached (NULL if it has none). On PostgreSQL it locks the ticket, so that
// a sale waits for the replacement or the replacement sees the sale.
func (s *Store) uploadSeat(ctx context.Context, tx *sql.Tx, sellerID, listingID int64, n int, now time.Time) (
	seatID int64, uploadedAt sql.NullInt64, err error) {
	lock := ""
	if s.db.Dialect == Postgres {
		lock = " FOR UPDATE OF k"
	}
	var resale, passes, started, sold bool
	var seller int64
	err = tx.QueryRowContext(ctx, `
		SELECT k.id, k.resale_of IS NOT NULL, l.seller_id, e.checkin_with_eventhive,
		       e.starts_at IS NOT NULL AND e.starts_at <= $3, k.claim_order_id IS NOT NULL AND k.claim_expires_at IS NULL,
		       (SELECT f.uploaded_at FROM ticket_files f WHERE f.ticket_id = k.id)
		FROM tickets k JOIN listings l ON l.id = k.listing_id JOIN events e ON e.id = l.event_id
		WHERE k.listing_id = $1 ORDER BY k.id LIMIT 1 OFFSET $2`+lock, listingID, n-1, ms(now)).
		Scan(&seatID, &resale, &seller, &passes, &started, &sold, &uploadedAt)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, uploadedAt, ErrNotFound
	case err != nil:
		return 0, uploadedAt, fmt.Errorf("find the ticket: %w", err)
	case seller != sellerID || resale:
		return 0, uploadedAt, ErrNotFound
	case passes:
		return 0, uploadedAt, ErrPassesEvent
	case started:
		return 0, uploadedAt, ErrEventStarted
	case sold && uploadedAt.Valid:
		return 0, uploadedAt, ErrSold
	}
	return seatID, uploadedAt, nil
}

// ListingFile reads the file of the n-th ticket of a listing for the viewer:
// the seat's first seller until the seat is sold, then its holder. Anyone
// else, and a seat without a file, is ErrNotFound.
func (s *Store) ListingFile(ctx context.Context, viewerID, listingID int64, n int) (TicketFile, error) {
	if n < 1 {
		return TicketFile{}, ErrNotFound
	}
	var seatID int64
	err := s.reader(ctx).QueryRowContext(ctx, `
		SELECT coalesce(k.root_id, k.id) FROM tickets k WHERE k.listing_id = $1 ORDER BY k.id LIMIT 1 OFFSET $2`,
		listingID, n-1).Scan(&seatID)
	if err != nil {
		return TicketFile{}, notFound(err)
	}
	return s.seatFile(ctx, viewerID, seatID)
}

// OrderFile reads the file of the n-th ticket of the buyer's paid order, for
// as long as they hold it. Anyone else, and a seat without a file, is
// ErrNotFound.
func (s *Store) OrderFile(ctx context.Context, buyerID, orderID int64, n int) (TicketFile, error) {
	if n < 1 {
		return TicketFile{}, ErrNotFound
	}
	var seatID int64
	err := s.reader(ctx).QueryRowContext(ctx, `
		SELECT coalesce(k.root_id, k.id) FROM tickets k JOIN orders o ON o.id = k.claim_order_id
		WHERE o.id = $1 AND o.buyer_id = $2 AND o.status = 'paid' AND k.claim_expires_at IS NULL
		ORDER BY k.id LIMIT 1 OFFSET $3`, orderID, buyerID, n-1).Scan(&seatID)
	if err != nil {
		return TicketFile{}, notFound(err)
	}
	return s.seatFile(ctx, buyerID, seatID)
}

// notFound turns "no row" into ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// seatFile reads a seat's file for the viewer, if they are its reader.
func (s *Store) seatFile(ctx context.Context, viewerID, seatID int64) (TicketFile, error) {
	reader, err := s.fileReader(ctx, seatID)
	if err != nil {
		return TicketFile{}, err
	}
	if reader != viewerID {
		return TicketFile{}, ErrNotFound
	}
	f := TicketFile{SeatID: seatID}
	var uploaded int64
	var replaced sql.NullInt64
	err = s.reader(ctx).QueryRowContext(ctx, `
		SELECT content, content_type, size, sha256, uploaded_at, replaced_at FROM ticket_files WHERE ticket_id = $1`,
		seatID).Scan(&f.Content, &f.ContentType, &f.Size, &f.SHA256, &uploaded, &replaced)
	if err != nil {
		return TicketFile{}, notFound(err)
	}
	f.UploadedAt, f.ReplacedAt = fromMS(uploaded), fromNullMS(replaced)
	return f, nil
}

// fileReader is who may read a seat's file: its holder once it is sold,
// else the seller of its first listing.
func (s *Store) fileReader(ctx context.Context, seatID int64) (int64, error) {
	h, err := s.Holding(ctx, seatID)
	if !errors.Is(err, ErrNotFound) {
		return h.HolderID, err
	}
	var seller int64
	err = s.reader(ctx).QueryRowContext(ctx, `
		SELECT l.seller_id FROM tickets k JOIN listings l ON l.id = k.listing_id WHERE k.id = $1`, seatID).Scan(&seller)
	return seller, notFound(err)
}

// fileSlotColumns are a FileSlot's columns from tickets k, its seat's file f
// and, for Held, its order o.
const fileSlotColumns = `k.id, coalesce(k.root_id, k.id), k.claim_order_id IS NOT NULL AND k.claim_expires_at IS NULL,
	f.content_type, f.size, f.uploaded_at, f.replaced_at`

const fileSlotFrom = ` FROM tickets k JOIN listings l ON l.id = k.listing_id JOIN events e ON e.id = l.event_id
	LEFT JOIN ticket_files f ON f.ticket_id = coalesce(k.root_id, k.id) `

// ListingFiles lists the tickets of a listing with their seats' files, in
// ticket order. An event with EventHive passes has no files: its listings
// have no slots.
func (s *Store) ListingFiles(ctx context.Context, listingID int64) ([]FileSlot, error) {
	return s.fileSlots(ctx, `SELECT `+fileSlotColumns+`, FALSE`+fileSlotFrom+`
		WHERE k.listing_id = $1 AND NOT e.checkin_with_eventhive ORDER BY k.id`, listingID)
}

// OrderFiles lists the tickets of a paid order with their seats' files, in
// ticket order, each saying whether its buyer still holds it. An event with
// EventHive passes has no files: its orders have no slots.
func (s *Store) OrderFiles(ctx context.Context, orderID int64) ([]FileSlot, error) {
	return s.fileSlots(ctx, `SELECT `+fileSlotColumns+`, `+owned+fileSlotFrom+`JOIN orders o ON o.id = k.claim_order_id
		WHERE o.id = $1 AND o.status = 'paid' AND k.claim_expires_at IS NULL AND NOT e.checkin_with_eventhive
		ORDER BY k.id`, orderID)
}

func (s *Store) fileSlots(ctx context.Context, query string, args ...any) ([]FileSlot, error) {
	rows, err := s.reader(ctx).QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var slots []FileSlot
	for rows.Next() {
		slot := FileSlot{N: len(slots) + 1}
		var contentType sql.NullString
		var size, uploaded, replaced sql.NullInt64
		if err := rows.Scan(&slot.TicketID, &slot.SeatID, &slot.Sold, &contentType, &size, &uploaded, &replaced,
			&slot.Held); err != nil {
			return nil, err
		}
		slot.File = FileInfo{ContentType: contentType.String, Size: size.Int64, UploadedAt: fromNullMS(uploaded),
			ReplacedAt: fromNullMS(replaced)}
		slots = append(slots, slot)
	}
	return slots, rows.Err()
}
