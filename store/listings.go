package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ListingState says whether a listing's tickets can be bought.
type ListingState string

// Errors about listings, besides the shared ones in store.go.
var (
	// ErrWithdrawn means the seller has taken the listing off sale.
	ErrWithdrawn = errors.New("listing is withdrawn by its seller")
	// ErrOffSale means the listing is off the market for a reason that is
	// not its seller's doing: an operator hid its event or suspended its
	// seller.
	ErrOffSale = errors.New("listing is no longer on sale")
	// ErrNotEnoughLeft means fewer tickets are free than the buyer asked for.
	ErrNotEnoughLeft = errors.New("not enough tickets left")
	// ErrTogether means the listing is sold together: all of its tickets or
	// none.
	ErrTogether = errors.New("listing is sold together")
	// ErrTicketsClaimed means an edit would change what buyers hold or
	// bought: the face value, the sell-together flag, or fewer tickets than
	// are held and sold.
	ErrTicketsClaimed = errors.New("some tickets are held or sold")
)

// PriceCapError refuses a price above the resale cap: Max is the highest
// price allowed for the listing's face value.
type PriceCapError struct{ Max int64 }

func (e *PriceCapError) Error() string { return fmt.Sprintf("price over the resale cap of %d", e.Max) }

// MaxQuantity is the most tickets one listing carries.
const MaxQuantity = 20

// The states of a listing.
const (
	ForSale   ListingState = "for sale"
	Held      ListingState = "held"      // every ticket left is held by buyers
	Sold      ListingState = "sold"      // every ticket is sold
	Withdrawn ListingState = "withdrawn" // by its seller
	Ended     ListingState = "ended"     // its event has started: sales are closed
	OffSale   ListingState = "off sale"  // an operator hid the event or suspended the seller
)

// Listing is a seller's offer of one or more tickets of one event, at one
// price each. Each ticket is claimed on its own, so an order may take some
// of them; a listing sold together is claimed all at once.
type Listing struct {
	ID        int64
	SellerID  int64
	Event     Event
	Note      string // section, row, seats: anything the seller adds
	Price     int64  // per ticket, minor units of Currency
	FaceValue int64  // what one ticket cost originally, fees included
	Currency  string
	Quantity  int  // tickets in the listing
	Together  bool // all of them or none
	CreatedAt time.Time
	UpdatedAt time.Time
	// WithdrawnAt is when the seller took the listing off sale; zero while
	// it is listed.
	WithdrawnAt time.Time
	// SellerSuspended: an operator suspended the seller.
	SellerSuspended bool

	// What the tickets were at the time the listing was read (AsOf).
	AsOf time.Time
	Free int // neither held nor sold
	Sold int
	// NextRelease is when the first running hold ends, or zero.
	NextRelease time.Time
}

// Held is how many tickets buyers hold at the time the listing was read.
func (l Listing) Held() int { return l.Quantity - l.Free - l.Sold }

// Title names what the listing sells, for lists and receipts.
func (l Listing) Title() string { return l.Event.Name }

// State is the listing's state at now, which is the time it was read at (its
// counts are as of then). A hold that has run out frees its tickets even
// before its expiry job has recorded the cancellation.
func (l Listing) State(now time.Time) ListingState {
	switch {
	case l.Sold == l.Quantity:
		return Sold
	case l.Event.Started(now):
		return Ended
	case !l.Event.Listed() || l.SellerSuspended:
		return OffSale
	case !l.WithdrawnAt.IsZero():
		return Withdrawn
	case l.Free == 0 || (l.Together && l.Free < l.Quantity):
		return Held
	default:
		return ForSale
	}
}

// Buyable is how many tickets a buyer may take at once at now: all of them
// for a listing sold together, else 1 to Free; 0 when none.
func (l Listing) Buyable(now time.Time) (min, max int) {
	switch {
	case l.State(now) != ForSale:
		return 0, 0
	case l.Together:
		return l.Free, l.Free
	default:
		return 1, l.Free
	}
}

// unclaimed is the SQL condition for "no live claim at now" on the tickets
// row named alias: neither held nor sold. now must be bound to the
// placeholder given.
func unclaimed(alias, nowParam string) string {
	return `(` + alias + `.claim_order_id IS NULL OR ` + alias + `.claim_expires_at <= ` + nowParam + `)`
}

// listingOpen is the SQL condition, on listings l, that neither its seller
// nor an operator has taken it off sale. It must match Listing.State.
const listingOpen = `(l.withdrawn_at IS NULL AND NOT EXISTS (
	SELECT 1 FROM users s WHERE s.id = l.seller_id AND s.suspended_at IS NOT NULL))`

// eventOpen is the SQL condition, on events e, for "sales open at now":
// listed and not started. It must match Event.Started and Event.Listed.
func eventOpen(nowParam string) string {
	return `(e.hidden_at IS NULL AND e.merged_into IS NULL AND (e.starts_at IS NULL OR e.starts_at > ` + nowParam + `))`
}

// listingColumns are a listing's columns with its event's and its tickets'
// counts at now, from listingFrom, all three read from
// tickets_listing_claim_idx alone.
//
// The unclaimed tickets (see unclaimed) are counted as two ranges of it:
// those with neither a claim end nor an order, and those whose claim has
// ended (an order is only ever cleared with its claim end). So the count
// reads no held ticket, and none at all in a sell-out, where each of
// thousands of refused attempts reads the listing to say why.
//
// The sold tickets are counted among the listing's tickets with no claim
// end: with claim_order_id IS NOT NULL in the WHERE, PostgreSQL planned that
// count through tickets_order_idx whenever its statistics were from before
// the tickets were sold (none claimed, so that index's rows looked few), and
// then read every claimed ticket of every listing for each listing: a
// rendering of an event's 250 listings took a second in an on-sale rush.
func listingColumns(nowParam string) string {
	return `l.id, l.seller_id, l.note, l.price, l.face_value, l.currency, l.quantity, l.together, l.withdrawn_at,
	l.created_at, l.updated_at, (SELECT s.suspended_at IS NOT NULL FROM users s WHERE s.id = l.seller_id), ` + eventColumns + `,
	(SELECT count(*) FROM tickets k WHERE k.listing_id = l.id AND k.claim_expires_at IS NULL AND k.claim_order_id IS NULL) +
	(SELECT count(*) FROM tickets k WHERE k.listing_id = l.id AND k.claim_expires_at <= ` + nowParam + `),
	(SELECT count(k.claim_order_id) FROM tickets k WHERE k.listing_id = l.id AND k.claim_expires_at IS NULL),
	(SELECT min(k.claim_expires_at) FROM tickets k WHERE k.listing_id = l.id AND k.claim_expires_at > ` + nowParam + `)`
}

const listingFrom = ` FROM listings l JOIN events e ON e.id = l.event_id `

type rowScanner interface{ Scan(dest ...any) error }

func scanListing(row rowScanner, now time.Time, extra ...any) (Listing, error) {
	var l Listing
	var withdrawn, starts, hidden, merged, release sql.NullInt64
	var created, updated, eventCreated, eventUpdated int64
	dest := []any{&l.ID, &l.SellerID, &l.Note, &l.Price, &l.FaceValue, &l.Currency, &l.Quantity, &l.Together, &withdrawn,
		&created, &updated, &l.SellerSuspended}
	dest = append(dest, eventDest(&l.Event, &starts, &hidden, &merged, &eventCreated, &eventUpdated)...)
	dest = append(dest, &l.Free, &l.Sold, &release)
	err := row.Scan(append(dest, extra...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return Listing{}, ErrNotFound
	}
	l.WithdrawnAt = fromNullMS(withdrawn)
	l.CreatedAt, l.UpdatedAt = fromMS(created), fromMS(updated)
	l.Event.StartsAt, l.Event.HiddenAt, l.Event.MergedInto = fromNullMS(starts), fromNullMS(hidden), merged.Int64
	l.Event.CreatedAt, l.Event.UpdatedAt = fromMS(eventCreated), fromMS(eventUpdated)
	l.NextRelease, l.AsOf = fromNullMS(release), now
	return l, err
}

// NewListing is what a seller lists: tickets of an existing event (EventID)
// or of a new one (Event).
type NewListing struct {
	EventID   int64
	Event     NewEvent // when EventID is 0
	Price     int64
	FaceValue int64
	Currency  string
	Quantity  int
	Note      string
	Together  bool
}

// Single is one ticket at face value under a new event named title, date to
// be announced: what wave 1's form, which had only a title and a price,
// lists, and what the migration made of wave 1's tickets.
func Single(title string, price int64, currency string) NewListing {
	return NewListing{Event: NewEvent{Name: title, TimeZone: "UTC"}, Price: price, FaceValue: price,
		Currency: currency, Quantity: 1}
}

// checkPrice refuses a price over the resale cap for faceValue.
func (s *Store) checkPrice(price, faceValue int64) error {
	if s.priceCap == nil {
		return nil
	}
	if most, capped := s.priceCap(faceValue); capped && price > most {
		return &PriceCapError{Max: most}
	}
	return nil
}

// CreateListing lists tickets for sale, creating their event if it is new,
// with one tickets row per ticket, in one transaction. An event that has
// started gives ErrEventStarted, one hidden or merged ErrNotFound, and a
// price over the cap a *PriceCapError.
func (s *Store) CreateListing(ctx context.Context, sellerID int64, n NewListing, now time.Time) (Listing, error) {
	if err := s.checkPrice(n.Price, n.FaceValue); err != nil {
		return Listing{}, err
	}
	if !n.Event.StartsAt.IsZero() && n.EventID == 0 && !now.Before(n.Event.StartsAt) {
		return Listing{}, ErrEventStarted
	}
	var id int64
	err := s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		eventID := n.EventID
		if eventID == 0 {
			var err error
			if eventID, err = insertEvent(ctx, tx, sellerID, n.Event, now); err != nil {
				return fmt.Errorf("insert event: %w", err)
			}
		} else if err := s.openEvent(ctx, tx.Tx, eventID, now); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `
			INSERT INTO listings (seller_id, event_id, note, price, face_value, currency, quantity, together, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id`,
			sellerID, eventID, n.Note, n.Price, n.FaceValue, n.Currency, n.Quantity, n.Together, ms(now)).Scan(&id)
		if err != nil {
			return fmt.Errorf("insert listing: %w", err)
		}
		if err := addTickets(ctx, tx.Tx, id, n.Quantity); err != nil {
			return err
		}
		return s.queueAlerts(ctx, tx, id, now)
	})
	if err != nil {
		return Listing{}, err
	}
	return s.listingIn(ctx, s.db.Write, id, now)
}

// openEvent checks that an existing event can take new listings at now.
// On PostgreSQL it share-locks the event's row until the transaction ends, so
// that an operator's merge or hide waits for the new listing, and moves or
// hides it too.
func (s *Store) openEvent(ctx context.Context, tx *sql.Tx, eventID int64, now time.Time) error {
	lock := ""
	if s.db.Dialect == Postgres {
		lock = " FOR SHARE"
	}
	var open bool
	err := tx.QueryRowContext(ctx, `SELECT `+eventOpen("$2")+` FROM events e WHERE e.id = $1`+lock, eventID, ms(now)).Scan(&open)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case err != nil:
		return err
	case !open:
		var e Event
		e, err = scanEvent(tx.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM events e WHERE e.id = $1`, eventID))
		if err == nil && e.Listed() {
			return ErrEventStarted
		}
		return errors.Join(ErrNotFound, err)
	}
	return nil
}

// addTickets adds n unclaimed tickets to a listing.
func addTickets(ctx context.Context, tx *sql.Tx, listingID int64, n int) error {
	if n <= 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `
		WITH RECURSIVE seq (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < CAST($2 AS INTEGER))
		INSERT INTO tickets (listing_id) SELECT CAST($1 AS BIGINT) FROM seq`, listingID, n)
	if err != nil {
		return fmt.Errorf("add tickets: %w", err)
	}
	return nil
}

// Listing finds a listing by id, its tickets counted at now.
func (s *Store) Listing(ctx context.Context, id int64, now time.Time) (Listing, error) {
	return s.listingIn(ctx, s.reader(ctx), id, now)
}

func (s *Store) listingIn(ctx context.Context, db querier, id int64, now time.Time) (Listing, error) {
	return scanListing(db.QueryRowContext(ctx,
		`SELECT `+listingColumns("$2")+listingFrom+`WHERE l.id = $1`, id, ms(now)), now)
}

// ListingsForSale lists the listings with tickets on sale at now, newest
// first, whose event's name or whose note contains search
// (case-insensitively; empty matches all).
func (s *Store) ListingsForSale(ctx context.Context, now time.Time, search string, limit, offset int) ([]Listing, error) {
	pattern := "%" + likeEscaper.Replace(strings.ToLower(search)) + "%"
	return s.listings(ctx, now, `
		SELECT `+listingColumns("$1")+listingFrom+`
		WHERE `+listingOpen+` AND `+eventOpen("$1")+`
		  AND EXISTS (SELECT 1 FROM tickets k WHERE k.listing_id = l.id AND `+unclaimed("k", "$1")+`)
		  AND (lower(e.name) LIKE $2 ESCAPE '\' OR lower(l.note) LIKE $2 ESCAPE '\')
		ORDER BY l.id DESC LIMIT $3 OFFSET $4`, ms(now), pattern, limit, offset)
}

// EventListings lists an event's listings that neither their sellers nor an
// operator took off sale, cheapest first, their tickets counted at now.
// Sold-out and held ones are included: the page says so.
func (s *Store) EventListings(ctx context.Context, eventID int64, now time.Time) ([]Listing, error) {
	return s.listings(ctx, now, eventListingsSQL, eventID, ms(now))
}

var eventListingsSQL = `
	SELECT ` + listingColumns("$2") + listingFrom + `
	WHERE l.event_id = $1 AND ` + listingOpen + `
	ORDER BY l.price, l.id`

// NextChange is when what is on sale next changes without a write: the first
// hold running at now ends, or the next event starts. Zero: neither.
func (s *Store) NextChange(ctx context.Context, now time.Time) (time.Time, error) {
	var end, start sql.NullInt64
	err := s.reader(ctx).QueryRowContext(ctx, `
		SELECT (SELECT MIN(claim_expires_at) FROM tickets WHERE claim_expires_at > $1),
		       (SELECT MIN(starts_at) FROM events WHERE starts_at > $1)`, ms(now)).Scan(&end, &start)
	switch {
	case err != nil:
		return time.Time{}, err
	case end.Valid && (!start.Valid || end.Int64 < start.Int64):
		return fromMS(end.Int64), nil
	default:
		return fromNullMS(start), nil
	}
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func (s *Store) listings(ctx context.Context, now time.Time, query string, args ...any) ([]Listing, error) {
	rows, err := s.reader(ctx).QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []Listing
	for rows.Next() {
		l, err := scanListing(rows, now)
		if err != nil {
			return nil, err
		}
		list = append(list, l)
	}
	return list, rows.Err()
}

// ListingEdit is what a seller may change of a listing. Once tickets are held
// or sold, only the price (of the tickets not sold), the note and the
// quantity (down to the tickets held and sold) may change.
type ListingEdit struct {
	Price     int64
	FaceValue int64
	Quantity  int
	Note      string
	Together  bool
}

// UpdateListing changes a seller's own listing, for sale or withdrawn. It
// fails with ErrNotFound for someone else's listing, ErrSold once every
// ticket is sold, ErrEventStarted once its event has started, ErrTicketsClaimed
// for a change to what buyers hold or bought, and a *PriceCapError for a
// price over the cap.
func (s *Store) UpdateListing(ctx context.Context, id, sellerID int64, edit ListingEdit, now time.Time) (Listing, error) {
	if err := s.checkPrice(edit.Price, edit.FaceValue); err != nil {
		return Listing{}, err
	}
	err := s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		l, err := s.lockChangeable(ctx, tx.Tx, id, sellerID, now)
		if err != nil {
			return err
		}
		claimed := l.Quantity - l.Free
		if claimed > 0 && (edit.FaceValue != l.FaceValue || edit.Together != l.Together || edit.Quantity < claimed) {
			return ErrTicketsClaimed
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE listings SET price = $1, face_value = $2, quantity = $3, note = $4, together = $5, updated_at = $6
			WHERE id = $7`, edit.Price, edit.FaceValue, edit.Quantity, edit.Note, edit.Together, ms(now), id); err != nil {
			return err
		}
		switch {
		case edit.Quantity > l.Quantity:
			return addTickets(ctx, tx.Tx, id, edit.Quantity-l.Quantity)
		case edit.Quantity < l.Quantity:
			return removeFreeTickets(ctx, tx.Tx, id, l.Quantity-edit.Quantity, now)
		}
		return nil
	})
	if err != nil {
		return Listing{}, err
	}
	return s.listingIn(ctx, s.db.Write, id, now)
}

// lockListing reads a listing in a write transaction; on PostgreSQL it locks
// the listing's row until the transaction ends, so that a seller's edits
// take turns. Buyers' claims lock only the tickets' rows.
func (s *Store) lockListing(ctx context.Context, tx *sql.Tx, id int64, now time.Time) (Listing, error) {
	lock := ""
	if s.db.Dialect == Postgres {
		lock = " FOR NO KEY UPDATE OF l"
	}
	return scanListing(tx.QueryRowContext(ctx,
		`SELECT `+listingColumns("$2")+listingFrom+`WHERE l.id = $1`+lock, id, ms(now)), now)
}

// lockChangeable reads, as lockListing does, a listing its seller may still
// change: ErrNotFound for someone else's, ErrSold once every ticket is sold,
// ErrEventStarted once sales are closed.
func (s *Store) lockChangeable(ctx context.Context, tx *sql.Tx, id, sellerID int64, now time.Time) (Listing, error) {
	l, err := s.lockListing(ctx, tx, id, now)
	switch {
	case err != nil:
		return Listing{}, err
	case l.SellerID != sellerID:
		return Listing{}, ErrNotFound
	case l.Sold == l.Quantity:
		return Listing{}, ErrSold
	case l.Event.Started(now):
		return Listing{}, ErrEventStarted
	}
	return l, nil
}

// removeFreeTickets deletes n tickets that nobody holds or bought; a buyer
// who claims one meanwhile makes it fail with ErrTicketsClaimed.
func removeFreeTickets(ctx context.Context, tx *sql.Tx, listingID int64, n int, now time.Time) error {
	res, err := tx.ExecContext(ctx, `
		DELETE FROM tickets WHERE id IN (
			SELECT k.id FROM tickets k WHERE k.listing_id = $1 AND `+unclaimed("k", "$2")+` ORDER BY k.id DESC LIMIT $3)
		  AND `+unclaimed("tickets", "$2"), listingID, ms(now), n)
	if err != nil {
		return fmt.Errorf("remove tickets: %w", err)
	}
	if got, err := res.RowsAffected(); err != nil || got != int64(n) {
		return errors.Join(ErrTicketsClaimed, err)
	}
	return nil
}

// WithdrawListing takes a seller's own listing off sale: its tickets not
// sold. It fails with ErrNotFound for someone else's listing, with ErrHeld
// while a buyer holds any of its tickets (the hold may still be paid), with
// ErrSold once every ticket is sold and with ErrEventStarted once its event
// has started, when sales are closed anyway. Withdrawing a withdrawn listing
// changes nothing.
func (s *Store) WithdrawListing(ctx context.Context, id, sellerID int64, now time.Time) (Listing, error) {
	err := s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		l, err := s.lockChangeable(ctx, tx.Tx, id, sellerID, now)
		switch {
		case err != nil:
			return err
		case l.Held() > 0:
			return ErrHeld
		}
		// On PostgreSQL a claim that commits after the read above leaves
		// its hold running; it may be paid, as any hold taken before the
		// withdrawal.
		_, err = tx.ExecContext(ctx, `
			UPDATE listings SET withdrawn_at = COALESCE(withdrawn_at, $1), updated_at = $1 WHERE id = $2`, ms(now), id)
		return err
	})
	if err != nil {
		return Listing{}, err
	}
	return s.listingIn(ctx, s.db.Write, id, now)
}

// RelistListing puts a seller's own withdrawn listing back on sale; a listing
// not withdrawn stays as it is. Someone else's listing is ErrNotFound.
func (s *Store) RelistListing(ctx context.Context, id, sellerID int64, now time.Time) (Listing, error) {
	var found bool
	err := s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE listings SET withdrawn_at = NULL, updated_at = $1 WHERE id = $2 AND seller_id = $3`,
			ms(now), id, sellerID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		found = n == 1
		if err != nil || !found {
			return err
		}
		return s.queueAlerts(ctx, tx, id, now)
	})
	if err != nil {
		return Listing{}, err
	}
	if !found {
		return Listing{}, ErrNotFound
	}
	return s.listingIn(ctx, s.db.Write, id, now)
}
