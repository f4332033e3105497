package store

import (
	"context"
	"database/sql"
	"strings"
)

// PaymentRecord is a payment beside the order it names, as the operator's
// reconciliation page shows it.
type PaymentRecord struct {
	Payment
	// HasOrder is false when the payment named no order of ours; Order and
	// BuyerEmail are then empty.
	HasOrder   bool
	Order      Order
	BuyerEmail string
}

// Late reports whether the payment arrived after its order's hold had ended.
// A hold ends exactly at expires_at, so a payment recorded then is late.
func (p PaymentRecord) Late() bool {
	return p.HasOrder && !p.CreatedAt.Before(p.Order.ExpiresAt)
}

// Refund reports whether the payment is being refunded or was refunded.
func (p PaymentRecord) Refund() bool { return p.Status.Refund() }

// Mismatched reports whether the payment does not match its order: it named
// no order of ours, or its amount or currency differs from the order's.
func (p PaymentRecord) Mismatched() bool {
	return !p.HasOrder || p.Amount != p.Order.Amount || !strings.EqualFold(p.Currency, p.Order.Currency)
}

// Unsettled reports whether money is kept without a sale: the payment
// succeeded and is not being refunded, yet its order is not paid. Invariant 4
// says this never happens; the operator's page shows it if it does.
func (p PaymentRecord) Unsettled() bool {
	return p.Status.Succeeded() && (!p.HasOrder || p.Order.Status != Paid)
}

// Refundable reports whether the operator may refund the payment's order:
// the payment paid it and is not being refunded.
func (p PaymentRecord) Refundable() bool {
	return p.Status.Succeeded() && p.HasOrder && p.Order.Status == Paid
}

// PaymentRecords lists every payment with its order, its buyer and its
// ticket, newest first: the operator's view for reconciling payments with
// orders.
func (s *Store) PaymentRecords(ctx context.Context) ([]PaymentRecord, error) {
	rows, err := s.reader(ctx).QueryContext(ctx, `
		SELECT p.id, p.checkout_session_id, p.payment_intent_id, p.amount, p.currency, p.status,
		       p.refund_reason, p.created_at, p.updated_at,
		       o.id, o.buyer_id, o.listing_id, o.quantity, o.status, o.amount, o.currency, o.expires_at,
		       o.checkout_session_id, o.cancelled_at, o.paid_at, o.created_at, o.updated_at,
		       u.email, e.name
		FROM payments p
		LEFT JOIN orders o ON o.id = p.order_id
		LEFT JOIN users u ON u.id = o.buyer_id
		LEFT JOIN listings l ON l.id = o.listing_id
		LEFT JOIN events e ON e.id = l.event_id
		ORDER BY p.id DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var records []PaymentRecord
	for rows.Next() {
		var r PaymentRecord
		var created, updated int64
		var orderID, buyerID, listingID, quantity, amount, expires, orderCreated, orderUpdated, cancelled, paid sql.NullInt64
		var status, currency, session, email, title sql.NullString
		if err := rows.Scan(&r.ID, &r.SessionID, &r.PaymentIntentID, &r.Amount, &r.Currency, &r.Status,
			&r.RefundReason, &created, &updated,
			&orderID, &buyerID, &listingID, &quantity, &status, &amount, &currency, &expires,
			&session, &cancelled, &paid, &orderCreated, &orderUpdated,
			&email, &title); err != nil {
			return nil, err
		}
		r.CreatedAt, r.UpdatedAt = fromMS(created), fromMS(updated)
		if orderID.Valid {
			r.HasOrder = true
			r.OrderID = orderID.Int64
			r.EventName = title.String
			r.BuyerEmail = email.String
			r.Order = Order{
				ID:                orderID.Int64,
				BuyerID:           buyerID.Int64,
				ListingID:         listingID.Int64,
				Quantity:          int(quantity.Int64),
				EventName:         title.String,
				Status:            OrderStatus(status.String),
				Amount:            amount.Int64,
				Currency:          currency.String,
				ExpiresAt:         fromNullMS(expires),
				CheckoutSessionID: session.String,
				CancelledAt:       fromNullMS(cancelled),
				PaidAt:            fromNullMS(paid),
				CreatedAt:         fromNullMS(orderCreated),
				UpdatedAt:         fromNullMS(orderUpdated),
			}
		}
		records = append(records, r)
	}
	return records, rows.Err()
}
