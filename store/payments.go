package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
	RefundTicketGone  = "the hold ended before the payment arrived, and the ticket went to another buyer"
	RefundRepriced    = "the hold ended before the payment arrived, and the seller has changed the price since"
	RefundWithdrawn   = "the hold ended before the payment arrived, and the seller has withdrawn the ticket since"
	RefundNotSession  = "the payment was for a checkout session that the order did not start"
	RefundInStripe    = "EventHive refunded the payment"
)

// Payment is a payment Stripe reported for a checkout session.
type Payment struct {
	ID              int64
	OrderID         int64 // 0 when the payment named no order of ours
	TicketTitle     string
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
	err := s.db.Read.QueryRowContext(ctx, `SELECT payload FROM stripe_events WHERE id = $1`, id).Scan(&payload)
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
		var ticketID, amount int64
		var currency string
		var status OrderStatus
		var session sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT id, ticket_id, status, amount, currency, checkout_session_id FROM orders WHERE id = $1`, p.OrderID).
			Scan(&orderID, &ticketID, &status, &amount, &currency, &session)
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

		switch {
		case reason != "":
		case !orderID.Valid:
			reason = RefundNoOrder
		case p.Amount != amount || !strings.EqualFold(p.Currency, currency):
			reason = RefundMismatch
		case status == Paid:
			reason = RefundAlreadyPaid
		default:
			sold, err := sellTicket(ctx, tx.Tx, ticketID, orderID.Int64, amount, currency, now)
			if err != nil {
				return err
			}
			if !sold {
				if reason, err = whyNotSold(ctx, tx.Tx, ticketID, orderID.Int64, now); err != nil {
					return err
				}
			}
		}
		if reason == "" {
			recorded = PaymentSucceeded
			return nil
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE payments SET status = 'refund_pending', refund_reason = $1, updated_at = $2 WHERE id = $3`,
			reason, ms(now), paymentID); err != nil {
			return err
		}
		tx.insertJob(RefundPaymentArgs{SessionID: p.SessionID, PaymentIntentID: p.PaymentIntentID}, nil)
		recorded = RefundPending
		return nil
	})
	if err == nil && recorded != "" {
		s.observer.PaymentRecorded(recorded)
	}
	return err
}

// sellTicket makes the order paid and its ticket sold, if the order still
// claims the ticket or nobody else does, the ticket's price is still the
// order's (a seller may reprice once a hold has ended) and the seller has not
// withdrawn it (which they may only once the hold has ended). It reports
// whether it did.
func sellTicket(ctx context.Context, tx *sql.Tx, ticketID, orderID, amount int64, currency string, now time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, `
		UPDATE tickets SET claim_order_id = $1, claim_expires_at = NULL, updated_at = $2
		WHERE id = $3 AND price = $4 AND currency = $5 AND withdrawn_at IS NULL
			AND (claim_order_id = $1 OR `+unclaimed("$2")+`)`,
		orderID, ms(now), ticketID, amount, currency)
	if err != nil {
		return false, fmt.Errorf("sell ticket: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return false, err
	}
	_, err = tx.ExecContext(ctx, `
		UPDATE orders SET status = 'paid', paid_at = $1, updated_at = $1 WHERE id = $2`, ms(now), orderID)
	return err == nil, err
}

// whyNotSold says why sellTicket could not sell the ticket to the order.
func whyNotSold(ctx context.Context, tx *sql.Tx, ticketID, orderID int64, now time.Time) (string, error) {
	var taken, withdrawn bool
	err := tx.QueryRowContext(ctx, `
		SELECT claim_order_id IS NOT NULL AND claim_order_id <> $1 AND NOT `+unclaimed("$2")+`, withdrawn_at IS NOT NULL
		FROM tickets WHERE id = $3`, orderID, ms(now), ticketID).Scan(&taken, &withdrawn)
	if err != nil {
		return "", fmt.Errorf("ticket not sold: %w", err)
	}
	switch {
	case taken:
		return RefundTicketGone, nil
	case withdrawn:
		return RefundWithdrawn, nil
	default:
		return RefundRepriced, nil
	}
}

// MarkPaymentRefunded records that a payment's refund went through.
func (s *Store) MarkPaymentRefunded(ctx context.Context, paymentIntentID string, now time.Time) error {
	defer s.wrote()
	res, err := s.db.Write.ExecContext(ctx, `
		UPDATE payments SET status = 'refunded', amount_refunded = amount, updated_at = $1
		WHERE payment_intent_id = $2 AND status <> 'refunded'`, ms(now), paymentIntentID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err == nil && n > 0 {
		s.observer.PaymentRefunded()
	}
	return nil
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
	return scanOrder(s.db.Read.QueryRowContext(ctx,
		`SELECT `+orderColumns+orderFrom+`WHERE o.checkout_session_id = $1 AND o.buyer_id = $2`, sessionID, buyerID))
}

// PartlyRefunded reports whether part, not all, of the payment is refunded.
func (p Payment) PartlyRefunded() bool {
	return p.AmountRefunded > 0 && p.Status != PaymentRefunded
}

const paymentColumns = `p.id, p.order_id, coalesce(t.title, ''), p.checkout_session_id, p.payment_intent_id,
	p.amount, p.currency, p.status, p.refund_reason, p.amount_refunded, p.created_at, p.updated_at`

const paymentFrom = ` FROM payments p LEFT JOIN orders o ON o.id = p.order_id LEFT JOIN tickets t ON t.id = o.ticket_id `

// PaymentsByBuyer lists the payments for a buyer's orders, newest first.
func (s *Store) PaymentsByBuyer(ctx context.Context, buyerID int64) ([]Payment, error) {
	return s.payments(ctx, `SELECT `+paymentColumns+paymentFrom+`WHERE o.buyer_id = $1 ORDER BY p.id DESC`, buyerID)
}

// PaymentsForOrder lists an order's payments, oldest first.
func (s *Store) PaymentsForOrder(ctx context.Context, orderID int64) ([]Payment, error) {
	return s.payments(ctx, `SELECT `+paymentColumns+paymentFrom+`WHERE p.order_id = $1 ORDER BY p.id`, orderID)
}

func (s *Store) payments(ctx context.Context, query string, args ...any) ([]Payment, error) {
	rows, err := s.db.Read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var payments []Payment
	for rows.Next() {
		var p Payment
		var orderID sql.NullInt64
		var created, updated int64
		if err := rows.Scan(&p.ID, &orderID, &p.TicketTitle, &p.SessionID, &p.PaymentIntentID,
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
// puts the order's ticket back on sale unless it has been sold anew; a
// partial one records the amount. It returns the order whose page changed
// (0 if none) and the ticket put back on sale (0 if none). A payment intent
// with no payment recorded yet is ErrNotFound.
func (s *Store) RecordRefund(ctx context.Context, paymentIntentID string, refunded int64, full bool, now time.Time) (changedOrderID, ticketID int64, err error) {
	var refundedNow bool
	err = s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		changedOrderID, ticketID, refundedNow = 0, 0, false
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
			// Conditional, as the partial update below: on PostgreSQL
			// another event's transaction may have committed since the
			// SELECT, and the update then re-reads the row.
			res, err := tx.ExecContext(ctx, `
				UPDATE payments SET status = 'refunded', amount_refunded = amount, updated_at = $1,
					refund_reason = CASE WHEN refund_reason = '' THEN $2 ELSE refund_reason END
				WHERE id = $3 AND status <> 'refunded'`, ms(now), RefundInStripe, id)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				return err
			}
			refundedNow, changedOrderID = true, orderID.Int64
			if status != PaymentSucceeded || !orderID.Valid {
				return nil // it paid for nothing: no ticket to put back
			}
			// The payment paid its order: the ticket goes back on sale, if it
			// is still this order's.
			err = tx.QueryRowContext(ctx, `
				UPDATE tickets SET claim_order_id = NULL, claim_expires_at = NULL, updated_at = $1
				WHERE id = (SELECT ticket_id FROM orders WHERE id = $2 AND status = 'paid')
				  AND claim_order_id = $2 AND claim_expires_at IS NULL
				RETURNING id`, ms(now), orderID.Int64).Scan(&ticketID)
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			return err
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
	return changedOrderID, ticketID, err
}
