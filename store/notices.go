package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/eventhive/eventhive/money"
)

// The kinds of notice the store queues (templates in package mail). Links
// in their data are paths ("Path"), which package mail prefixes with the
// app's BASE_URL.
const (
	// MailReceipt is the buyer's receipt for an order paid.
	MailReceipt = "receipt"
	// MailSold tells a seller that tickets of theirs sold.
	MailSold = "sold"
	// MailRefunded tells a buyer that their payment is refunded, and why.
	MailRefunded = "refunded"
)

// eventWhen is an event's start in its own time zone, for a message.
func eventWhen(e Event) string {
	if e.StartsAt.IsZero() {
		return "Date to be announced"
	}
	return e.StartsAt.In(e.Location()).Format("Mon 2 Jan 2006, 15:04 MST")
}

// eventWhere is an event's venue and city, for a message.
func eventWhere(e Event) string {
	return strings.Join(strings.Fields(e.Venue+", "+e.City), " ")
}

// formatAmount is an amount and its currency, for a message: "30.50 EUR".
func formatAmount(amount int64, currency string) string {
	return money.Format(amount) + " " + strings.ToUpper(currency)
}

// queueSaleNotices queues, in tx, the receipt for an order just paid and
// the notice to the seller of its tickets. Each has the order as its cause,
// so a payment recorded again queues nothing more.
func (s *Store) queueSaleNotices(ctx context.Context, tx *writeTx, orderID int64, now time.Time) error {
	var buyer, seller, currency string
	var listingID, amount int64
	var quantity int
	var e Event
	var starts sql.NullInt64
	err := tx.QueryRowContext(ctx, `
		SELECT b.email, su.email, o.listing_id, o.quantity, o.amount, o.currency, e.name, e.venue, e.city, e.starts_at, e.time_zone
		FROM orders o JOIN users b ON b.id = o.buyer_id JOIN listings l ON l.id = o.listing_id
		JOIN users su ON su.id = l.seller_id JOIN events e ON e.id = l.event_id
		WHERE o.id = $1`, orderID).
		Scan(&buyer, &seller, &listingID, &quantity, &amount, &currency, &e.Name, &e.Venue, &e.City, &starts, &e.TimeZone)
	if err != nil {
		return err
	}
	e.StartsAt = fromNullMS(starts)
	data := func(path string) map[string]any {
		return map[string]any{
			"Event": e.Name, "When": eventWhen(e), "Where": eventWhere(e),
			"Quantity": quantity, "Amount": formatAmount(amount, currency), "Path": path,
		}
	}
	id := strconv.FormatInt(orderID, 10)
	if _, err := s.queueMail(ctx, tx, Mail{Key: "receipt:order:" + id, To: buyer, Kind: MailReceipt,
		Data: data("/orders/" + id)}, now); err != nil {
		return err
	}
	_, err = s.queueMail(ctx, tx, Mail{Key: "sold:order:" + id, To: seller, Kind: MailSold,
		Data: data("/tickets/" + strconv.FormatInt(listingID, 10))}, now)
	return err
}

// queueRefundNotice queues, in tx, the message telling the buyer that a
// payment is refunded, with the payment's reason. A payment that named no
// order of ours has no buyer to tell. One message per payment, whether
// queued when the refund was decided or when it went through.
func (s *Store) queueRefundNotice(ctx context.Context, tx *writeTx, paymentID int64, now time.Time) error {
	var buyer, currency, reason, eventName string
	var orderID, amount int64
	err := tx.QueryRowContext(ctx, `
		SELECT u.email, o.id, p.amount, p.currency, p.refund_reason, e.name
		FROM payments p JOIN orders o ON o.id = p.order_id JOIN users u ON u.id = o.buyer_id
		JOIN listings l ON l.id = o.listing_id JOIN events e ON e.id = l.event_id
		WHERE p.id = $1`, paymentID).Scan(&buyer, &orderID, &amount, &currency, &reason, &eventName)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if reason == "" {
		reason = RefundInStripe
	}
	_, err = s.queueMail(ctx, tx, Mail{
		Key: "refund:payment:" + strconv.FormatInt(paymentID, 10), To: buyer, Kind: MailRefunded,
		Data: map[string]any{"Event": eventName, "Amount": formatAmount(amount, currency), "Reason": reason,
			"Path": "/orders/" + strconv.FormatInt(orderID, 10)},
	}, now)
	return err
}
