package store

import (
	"context"
	"database/sql"
	"time"
)

// SellerListing is a listing as its seller sees it on their own list: its
// state comes from Listing.State, and it carries what its sales brought.
type SellerListing struct {
	Listing
	// LastSoldAt is when a buyer last paid; zero until a ticket is sold.
	LastSoldAt time.Time
	// SoldAmount is what buyers paid in all, in minor units of the
	// listing's currency.
	SoldAmount int64
	// AwaitingFiles counts the tickets sold whose e-ticket file the seller
	// has yet to attach; always 0 for a resale, whose tickets keep their
	// seat's file, and for an event with EventHive passes.
	AwaitingFiles int
}

// SellerListings lists every listing a seller made, newest first, its
// tickets counted at now, with its sales. It tells nothing about the buyers.
// The tickets awaiting files are counted among the listing's tickets with
// no claim end, for the reason listingColumns gives.
func (s *Store) SellerListings(ctx context.Context, sellerID int64, now time.Time) ([]SellerListing, error) {
	rows, err := s.reader(ctx).QueryContext(ctx, `
		SELECT `+listingColumns("$2")+`,
		       (SELECT max(o.paid_at) FROM orders o WHERE o.listing_id = l.id AND o.status = 'paid'),
		       (SELECT coalesce(sum(o.amount), 0) FROM orders o WHERE o.listing_id = l.id AND o.status = 'paid'),
		       (SELECT count(CASE WHEN k.claim_order_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ticket_files f WHERE f.ticket_id = k.id) THEN 1 END)
		          FROM tickets k WHERE k.listing_id = l.id AND k.claim_expires_at IS NULL AND k.resale_of IS NULL
		          AND NOT e.checkin_with_eventhive)
		`+listingFrom+`WHERE l.seller_id = $1 ORDER BY l.id DESC`, sellerID, ms(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []SellerListing
	for rows.Next() {
		var paidAt sql.NullInt64
		var amount int64
		var awaiting int
		l, err := scanListing(rows, now, &paidAt, &amount, &awaiting)
		if err != nil {
			return nil, err
		}
		list = append(list, SellerListing{Listing: l, LastSoldAt: fromNullMS(paidAt), SoldAmount: amount,
			AwaitingFiles: awaiting})
	}
	return list, rows.Err()
}
