package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// PaymentStatus is the status of a payment.
type PaymentStatus string

// The statuses of a payment.
const (
	PaymentSucceeded PaymentStatus = "succeeded"
	RefundPending    PaymentStatus = "refund_pending"
	PaymentRefunded  PaymentStatus = "refunded"
)

// Succeeded reports whether the payment went through and is not refunded in
// full (part of it may be: see Payment.PartlyRefunded).
func (s PaymentStatus) Succeeded() bool { return s == PaymentSucceeded }

// RefundInProgress reports whether a refund in full has been decided and
// Stripe has not yet confirmed it.
func (s PaymentStatus) RefundInProgress() bool { return s == RefundPending }

// Refund reports whether the payment is being refunded in full or was.
func (s PaymentStatus) Refund() bool { return s == RefundPending || s == PaymentRefunded }

// Reasons a payment is refunded, shown to its buyer.
const (
	RefundNoOrder     = "the payment named no order of ours"
	RefundMismatch    = "the amount paid did not match the order"
	RefundAlreadyPaid = "the order was already paid"
	RefundTicketGone  = "the hold ended before the payment arrived, and the tickets went to another buyer"
	RefundRepriced    = "the hold ended before the payment arrived, and the seller has changed the price since"
	RefundWithdrawn   = "the hold ended before the payment arrived, and the seller has withdrawn the tickets since"
	RefundSalesClosed = "the hold ended before the payment arrived, and sales closed when the event started"
	RefundOffSale     = "the hold ended before the payment arrived, and the tickets are no longer on sale"
	// A suspension ends the account's holds; a payment for one that
	// arrives afterwards buys nothing.
	RefundBuyerSuspended = "the hold ended before the payment arrived, when the account was suspended"
	RefundNotSession     = "the payment was for a checkout session that the order did not start"
	RefundInStripe       = "EventHive refunded the payment"
)

// Payment is a payment Stripe reported for a checkout session.
type Payment struct {
	ID              int64
	OrderID         int64 // 0 when the payment named no order of ours
	EventName       string
	SessionID       string
	PaymentIntentID string
	Amount          int64
	Currency        string
	Status          PaymentStatus
	// AmountRefunded is how much has been refunded: all of Amount once
	// Status is refunded, part of it after a partial refund.
	AmountRefunded int64
	RefundReason   string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// RecordStripeEvent stores a verified webhook event and, in the same
// transaction, the job that processes it. A repeated event changes nothing
// and reports false.
func (s *Store) RecordStripeEvent(ctx context.Context, id, eventType string, payload []byte, now time.Time) (bool, error) {
	var inserted bool
	err := s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		var got string
		err := tx.QueryRowContext(ctx, `
			INSERT INTO stripe_events (id, type, payload, received_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO NOTHING RETURNING id`, id, eventType, string(payload), ms(now)).Scan(&got)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("store event: %w", err)
		}
		inserted = true
		tx.insertJob(ProcessStripeEventArgs{EventID: id}, nil)
		return nil
	})
	return inserted, err
}

// StripeEvent returns a stored event's payload.
func (s *Store) StripeEvent(ctx context.Context, id string) ([]byte, error) {
	var payload string
	err := s.reader(ctx).QueryRowContext(ctx, `SELECT payload FROM stripe_events WHERE id = $1`, id).Scan(&payload)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return []byte(payload), err
}

// MarkStripeEventProcessed records when an event's work was done.
func (s *Store) MarkStripeEventProcessed(ctx context.Context, id string, now time.Time) error {
	defer s.wrote()
	_, err := s.db.Write.ExecContext(ctx,
		`UPDATE stripe_events SET processed_at = $1 WHERE id = $2 AND processed_at IS NULL`, ms(now), id)
	return err
}

// RecordPayment records a checkout session's payment exactly once. In the
// same transaction it pays the order and sells its ticket to the buyer (even
// after the hold ended, if nobody else has taken the ticket and its price is
// still the one paid); or, when the payment cannot buy the ticket, it records
// why and inserts the refund job. Of p it reads the order, session, payment
// intent, amount and currency.
//
// A payment belongs to an order only through the checkout session the order
// started: a payment naming an order but another session is recorded without
// the order, so that it changes nothing its buyer sees, and refunded.
func (s *Store) RecordPayment(ctx context.Context, p Payment, now time.Time) error {
	var recorded PaymentStatus // stays empty for a payment recorded before
	err := s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		recorded = ""
		var orderID sql.NullInt64
		var o Order
		var expires int64
		var session sql.NullString
		err := tx.QueryRowContext(ctx, `
			SELECT id, buyer_id, listing_id, quantity, status, amount, currency, expires_at, checkout_session_id FROM orders WHERE id = $1`, p.OrderID).
			Scan(&orderID, &o.BuyerID, &o.ListingID, &o.Quantity, &o.Status, &o.Amount, &o.Currency, &expires, &session)
		o.ID, o.ExpiresAt = orderID.Int64, fromMS(expires)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		reason := ""
		if orderID.Valid && session.String != p.SessionID {
			orderID, reason = sql.NullInt64{}, RefundNotSession
		}
		var paymentID int64
		err = tx.QueryRowContext(ctx, `
			INSERT INTO payments (order_id, checkout_session_id, payment_intent_id, amount, currency, status, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, 'succeeded', $6, $6)
			ON CONFLICT (checkout_session_id) DO NOTHING RETURNING id`,
			orderID, p.SessionID, p.PaymentIntentID, p.Amount, strings.ToLower(p.Currency), ms(now)).Scan(&paymentID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // recorded already
		}
		if err != nil {
			return fmt.Errorf("insert payment: %w", err)
		}

		var sold []int64 // the tickets the payment bought
		switch {
		case reason != "":
		case !orderID.Valid:
			reason = RefundNoOrder
		case p.Amount != o.Amount || !strings.EqualFold(p.Currency, o.Currency):
			reason = RefundMismatch
		case o.Status == Paid:
			reason = RefundAlreadyPaid
		default:
			if sold, reason, err = s.sellTickets(ctx, tx.Tx, o, now); err != nil {
				return err
			}
		}
		if reason == "" {
			recorded = PaymentSucceeded
			if err := s.recordSales(ctx, tx, o, paymentID, sold, now); err != nil {
				return err
			}
			return s.queueSaleNotices(ctx, tx, o.ID, now)
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE payments SET status = 'refund_pending', refund_reason = $1, updated_at = $2 WHERE id = $3`,
			reason, ms(now), paymentID); err != nil {
			return err
		}
		tx.insertJob(RefundPaymentArgs{SessionID: p.SessionID, PaymentIntentID: p.PaymentIntentID}, nil)
		recorded = RefundPending
		return s.queueRefundNotice(ctx, tx, paymentID, now)
	})
	if err == nil && recorded != "" {
		s.observer.PaymentRecorded(recorded)
	}
	return err
}

// sellTickets makes the order paid and its tickets sold to its buyer, or
// says why it cannot, as a refund reason. An order paid while its hold runs
// gets the tickets it holds, whatever happened to the listing since. A late
// payment (the hold had ended) gets as many tickets of the listing if they
// are free, the listing is still on sale and its price is still the one paid;
// a hold that ended unrecorded still claims its tickets for it. It returns
// the tickets sold.
func (s *Store) sellTickets(ctx context.Context, tx *sql.Tx, o Order, now time.Time) (sold []int64, reason string, err error) {
	if o.Status != Pending || !now.Before(o.ExpiresAt) {
		if reason, err := s.lateSale(ctx, tx, o, now); reason != "" || err != nil {
			return nil, reason, err
		}
	}
	sold, err = queryIDs(ctx, tx, `UPDATE tickets SET claim_expires_at = NULL WHERE claim_order_id = $1 RETURNING id`, o.ID)
	if err != nil {
		return nil, "", fmt.Errorf("sell tickets: %w", err)
	}
	if len(sold) != o.Quantity {
		return nil, "", fmt.Errorf("order %d claims %d tickets, not %d", o.ID, len(sold), o.Quantity)
	}
	slices.Sort(sold)
	_, err = tx.ExecContext(ctx, `
		UPDATE orders SET status = 'paid', paid_at = $1, updated_at = $1 WHERE id = $2`, ms(now), o.ID)
	return sold, "", err
}

// lateSale claims again, for an order whose hold has ended, the tickets it
// paid for: it locks as many free tickets of the listing (its own ended
// claims first) and claims them, or returns why it cannot.
func (s *Store) lateSale(ctx context.Context, tx *sql.Tx, o Order, now time.Time) (reason string, err error) {
	var open, started, withdrawn, buyerSuspended bool
	var price int64
	var currency string
	err = tx.QueryRowContext(ctx, `
		SELECT `+listingOpen+` AND e.hidden_at IS NULL AND e.merged_into IS NULL, e.starts_at IS NOT NULL AND e.starts_at <= $2,
		       l.withdrawn_at IS NOT NULL, l.price, l.currency,
		       (SELECT u.suspended_at IS NOT NULL FROM users u WHERE u.id = $3)`+listingFrom+`WHERE l.id = $1`,
		o.ListingID, ms(now), o.BuyerID).
		Scan(&open, &started, &withdrawn, &price, &currency, &buyerSuspended)
	switch {
	case err != nil:
		return "", fmt.Errorf("late sale: %w", err)
	case buyerSuspended:
		return RefundBuyerSuspended, nil
	case started:
		return RefundSalesClosed, nil
	case withdrawn:
		return RefundWithdrawn, nil
	case !open:
		return RefundOffSale, nil
	case price*int64(o.Quantity) != o.Amount || !strings.EqualFold(currency, o.Currency):
		return RefundRepriced, nil
	}
	lock := ""
	if s.db.Dialect == Postgres {
		lock = " FOR UPDATE"
	}
	rows, err := tx.QueryContext(ctx, `
		SELECT k.id FROM tickets k WHERE k.listing_id = $1 AND (k.claim_order_id = $2 OR `+unclaimed("k", "$3")+`)
		ORDER BY CASE WHEN k.claim_order_id = $2 THEN 0 ELSE 1 END, k.id LIMIT $4`+lock,
		o.ListingID, o.ID, ms(now), o.Quantity)
	if err != nil {
		return "", fmt.Errorf("late sale: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return "", err
		}
		ids = append(ids, id)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return "", err
	}
	if len(ids) < o.Quantity {
		return RefundTicketGone, nil
	}
	// Another order's ended hold may still name a ticket: the ticket is free
	// all the same, and that order's expiry finds it no longer claimed.
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `
			UPDATE tickets SET claim_order_id = $1, claim_expires_at = NULL WHERE id = $2`, o.ID, id); err != nil {
			return "", fmt.Errorf("late sale: %w", err)
		}
	}
	// The order's own ended claims beyond what it paid for go back on sale.
	_, err = tx.ExecContext(ctx, `
		UPDATE tickets SET claim_order_id = NULL, claim_expires_at = NULL
		WHERE claim_order_id = $1 AND claim_expires_at IS NOT NULL`, o.ID)
	return "", err
}

// MarkPaymentRefunded records that a payment's refund went through, and
// tells its buyer (unless they were told when the refund was decided).
func (s *Store) MarkPaymentRefunded(ctx context.Context, paymentIntentID string, now time.Time) error {
	var refunded bool
	err := s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		refunded = false
		rows, err := tx.QueryContext(ctx, `
			UPDATE payments SET status = 'refunded', amount_refunded = amount, updated_at = $1
			WHERE payment_intent_id = $2 AND status <> 'refunded' RETURNING id`, ms(now), paymentIntentID)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		for _, id := range ids {
			if err := s.queueRefundNotice(ctx, tx, id, now); err != nil {
				return err
			}
		}
		refunded = len(ids) > 0
		return nil
	})
	if err == nil && refunded {
		s.observer.PaymentRefunded()
	}
	return err
}

// SetCheckoutSession ties a checkout session to a buyer's pending order whose
// hold has not ended. ErrNotPending means the order can no longer be paid.
func (s *Store) SetCheckoutSession(ctx context.Context, orderID, buyerID int64, sessionID string, now time.Time) error {
	defer s.wrote()
	res, err := s.db.Write.ExecContext(ctx, `
		UPDATE orders SET checkout_session_id = $1, updated_at = $2
		WHERE id = $3 AND buyer_id = $4 AND status = 'pending' AND expires_at > $2
		  AND (checkout_session_id IS NULL OR checkout_session_id = $1)`, sessionID, ms(now), orderID, buyerID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return errors.Join(ErrNotPending, err)
	}
	return nil
}

// OrderBySession finds a buyer's order by its checkout session.
func (s *Store) OrderBySession(ctx context.Context, sessionID string, buyerID int64) (Order, error) {
	return scanOrder(s.reader(ctx).QueryRowContext(ctx,
		`SELECT `+orderColumns+orderFrom+`WHERE o.checkout_session_id = $1 AND o.buyer_id = $2`, sessionID, buyerID))
}

// PartlyRefunded reports whether part, not all, of the payment is refunded.
func (p Payment) PartlyRefunded() bool {
	return p.AmountRefunded > 0 && p.Status != PaymentRefunded
}

const paymentColumns = `p.id, p.order_id, coalesce(e.name, ''), p.checkout_session_id, p.payment_intent_id,
	p.amount, p.currency, p.status, p.refund_reason, p.amount_refunded, p.created_at, p.updated_at`

const paymentFrom = ` FROM payments p LEFT JOIN orders o ON o.id = p.order_id LEFT JOIN listings l ON l.id = o.listing_id LEFT JOIN events e ON e.id = l.event_id `

// PaymentsByBuyer lists the payments for a buyer's orders, newest first.
func (s *Store) PaymentsByBuyer(ctx context.Context, buyerID int64) ([]Payment, error) {
	return s.payments(ctx, `SELECT `+paymentColumns+paymentFrom+`WHERE o.buyer_id = $1 ORDER BY p.id DESC`, buyerID)
}

// PaymentsForOrder lists an order's payments, oldest first.
func (s *Store) PaymentsForOrder(ctx context.Context, orderID int64) ([]Payment, error) {
	return s.payments(ctx, `SELECT `+paymentColumns+paymentFrom+`WHERE p.order_id = $1 ORDER BY p.id`, orderID)
}

func (s *Store) payments(ctx context.Context, query string, args ...any) ([]Payment, error) {
	rows, err := s.reader(ctx).QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var payments []Payment
	for rows.Next() {
		var p Payment
		var orderID sql.NullInt64
		var created, updated int64
		if err := rows.Scan(&p.ID, &orderID, &p.EventName, &p.SessionID, &p.PaymentIntentID,
			&p.Amount, &p.Currency, &p.Status, &p.RefundReason, &p.AmountRefunded, &created, &updated); err != nil {
			return nil, err
		}
		p.OrderID = orderID.Int64
		p.CreatedAt, p.UpdatedAt = fromMS(created), fromMS(updated)
		payments = append(payments, p)
	}
	return payments, rows.Err()
}

// RecordRefund records a refund Stripe reports for a payment (charge.refunded,
// for refunds made in Stripe's dashboard as much as for the app's own).
// refunded is the charge's total refunded so far, so a repeated or older
// event changes nothing. A full refund (full, or refunded reaching the
// amount) marks the payment refunded, which makes its order refunded, and
// puts the order's tickets back on sale (telling the alerts of its event)
// unless they have been sold anew; a partial one records the amount. It
// returns the order whose page changed (0 if none) and the listing whose
// tickets went back on sale (0 if none). A payment intent with no payment
// recorded yet is ErrNotFound.
func (s *Store) RecordRefund(ctx context.Context, paymentIntentID string, refunded int64, full bool, now time.Time) (changedOrderID, listingID int64, err error) {
	var refundedNow bool
	err = s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		changedOrderID, listingID, refundedNow = 0, 0, false
		var id, amount, before int64
		var orderID sql.NullInt64
		var status PaymentStatus
		err := tx.QueryRowContext(ctx, `
			SELECT id, order_id, amount, amount_refunded, status FROM payments
			WHERE payment_intent_id = $1 ORDER BY id LIMIT 1`, paymentIntentID).
			Scan(&id, &orderID, &amount, &before, &status)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if full || refunded >= amount {
			if status == PaymentRefunded {
				return nil
			}
			listingID, err = s.refundedInFull(ctx, tx, id, now)
			if err != nil {
				return err
			}
			refundedNow, changedOrderID = true, orderID.Int64
			// Nothing of it goes to the seller now; what did comes back.
			sales, err := queryIDs(ctx, tx.Tx, `SELECT id FROM sales WHERE payment_id = $1 ORDER BY id`, id)
			if err != nil {
				return err
			}
			return s.refundSales(ctx, tx, sales, RefundInStripe, now)
		}
		if refunded <= before {
			return nil
		}
		res, err := tx.ExecContext(ctx, `
			UPDATE payments SET amount_refunded = $1, updated_at = $2
			WHERE id = $3 AND amount_refunded < $1 AND status <> 'refunded'`, refunded, ms(now), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err == nil && n == 1 {
			changedOrderID = orderID.Int64
		}
		return err
	})
	if err == nil && refundedNow {
		s.observer.PaymentRefunded()
	}
	return changedOrderID, listingID, err
}
