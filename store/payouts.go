package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/riverqueue/river"
)

// SaleState is where a sale's money is (see migration 0016).
type SaleState string

// The states of a sale.
const (
	SaleHeld         SaleState = "held"
	SaleReleasable   SaleState = "releasable"
	SaleTransferring SaleState = "transferring"
	SaleTransferred  SaleState = "transferred"
	SaleReversing    SaleState = "reversing"
	SaleReversed     SaleState = "reversed"
	SaleRefunded     SaleState = "refunded"
)

// SaleStates are the states in the order money moves through them.
var SaleStates = []SaleState{SaleHeld, SaleReleasable, SaleTransferring, SaleTransferred, SaleReversing, SaleReversed, SaleRefunded}

// Decisions an operator takes on a problem a buyer reported.
const (
	DecisionRefund  = "refund"
	DecisionRelease = "release"
)

var (
	// ErrNoProblemToReport: the order has no sale still held for it, so
	// its money is released already (or refunded).
	ErrNoProblemToReport = errors.New("the money for this order has already been released to the seller or refunded")
	// ErrProblemReported: a problem is already reported for the order.
	ErrProblemReported = errors.New("a problem is already reported for this order")
	// ErrNoOpenProblem: the order has no reported problem waiting for a
	// decision.
	ErrNoOpenProblem = errors.New("the order has no problem waiting for a decision")
	// ErrNothingToRefund: every sale of the order is refunded already.
	ErrNothingToRefund = errors.New("the order is refunded already")
)

// Reasons sales are refunded, shown to the buyer.
const (
	RefundProblem     = "EventHive upheld the problem you reported"
	RefundByOperator  = "EventHive refunded the order"
	RefundMissingFile = "the seller never attached the e-ticket before the event started"
)

// PayoutTerms are what the platform keeps of a sale and when the rest goes
// to the seller.
type PayoutTerms struct {
	// FeeBasisPoints is the platform's fee in hundredths of a percent of
	// each ticket's price: 500 is 5%.
	FeeBasisPoints int64
	// Delay is how long after its event's start a sale is released.
	Delay time.Duration
	// Undated is how long after its payment a sale is released when its
	// event has no date.
	Undated time.Duration
}

// DefaultPayoutTerms are a 5% fee and release 48 hours after the event
// (14 days after payment for an event with no date).
var DefaultPayoutTerms = PayoutTerms{FeeBasisPoints: 500, Delay: 48 * time.Hour, Undated: 14 * 24 * time.Hour}

// Fee is the platform's fee on a ticket sold for gross minor units: gross ×
// the percentage, rounded to the nearest minor unit, halves up.
func (t PayoutTerms) Fee(gross int64) int64 {
	return (gross*t.FeeBasisPoints + 5000) / 10000
}

// releaseAt is when a sale paid at paidAt for an event starting at startsAt
// (zero: no date) is released.
func (t PayoutTerms) releaseAt(startsAt, paidAt time.Time) time.Time {
	if startsAt.IsZero() {
		return paidAt.Add(t.Undated)
	}
	return startsAt.Add(t.Delay)
}

// WithPayoutTerms sets the fee and the release delays; without it the store
// uses DefaultPayoutTerms.
func WithPayoutTerms(t PayoutTerms) Option {
	return func(s *Store) { s.payout = t }
}

// PayoutTerms are the store's fee and release delays.
func (s *Store) PayoutTerms() PayoutTerms { return s.payout }

// recordSales enters each ticket an order just paid for (sold, at least
// one) into the ledger as a sale held until its release, and schedules the
// release.
func (s *Store) recordSales(ctx context.Context, tx *writeTx, o Order, paymentID int64, sold []int64, now time.Time) error {
	var sellerID int64
	var starts sql.NullInt64
	if err := tx.QueryRowContext(ctx, `
		SELECT l.seller_id, e.starts_at FROM listings l JOIN events e ON e.id = l.event_id WHERE l.id = $1`,
		o.ListingID).Scan(&sellerID, &starts); err != nil {
		return fmt.Errorf("sales: %w", err)
	}
	release := s.payout.releaseAt(fromNullMS(starts), now)
	// An order is the price of a ticket times its quantity.
	gross := o.Amount / int64(len(sold))
	if gross*int64(len(sold)) != o.Amount {
		return fmt.Errorf("sales: order %d of %d for %d tickets", o.ID, o.Amount, len(sold))
	}
	fee := s.payout.Fee(gross)
	for _, ticketID := range sold {
		var saleID int64
		if err := tx.QueryRowContext(ctx, `
			INSERT INTO sales (order_id, ticket_id, payment_id, seller_id, currency, gross, fee, net, release_at, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id`,
			o.ID, ticketID, paymentID, sellerID, o.Currency, gross, fee, gross-fee, ms(release), ms(now)).Scan(&saleID); err != nil {
			return fmt.Errorf("insert sale: %w", err)
		}
		if _, err := appendLedger(ctx, tx, saleID, "sale", gross, "", now); err != nil {
			return err
		}
	}
	tx.insertJob(ReleaseSalesArgs{OrderID: o.ID}, &river.InsertOpts{ScheduledAt: release})
	return nil
}

// appendLedger appends an entry to the ledger; an entry of the same kind for
// the sale is there already when a step is retried, and is kept as it is.
// It reports whether it added the entry.
func appendLedger(ctx context.Context, tx *writeTx, saleID int64, kind string, amount int64, reference string, now time.Time) (added bool, err error) {
	res, err := tx.ExecContext(ctx, `
		INSERT INTO ledger_entries (sale_id, kind, amount, reference, created_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (sale_id, kind) DO NOTHING`, saleID, kind, amount, reference, ms(now))
	if err != nil {
		return false, fmt.Errorf("ledger %s: %w", kind, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// openProblem is true of a sale whose buyer reported a problem the operator
// has not decided yet.
const openProblem = `(problem_reported_at IS NOT NULL AND problem_decided_at IS NULL)`

// missingFile is true of sale a's ticket when its event uses e-ticket files
// and none was attached to its seat before the event started.
const missingFile = `(NOT e.checkin_with_eventhive AND NOT EXISTS (
	SELECT 1 FROM ticket_files f WHERE f.ticket_id = coalesce(k.root_id, k.id)
	  AND (e.starts_at IS NULL OR f.uploaded_at <= e.starts_at)))`

// ReleaseSales releases the sales of an order that are due at now: each goes
// to its seller (a transfer job) if the seller can be paid (sellerPayable),
// waits (releasable) if not, or is refunded when its e-ticket file
// was still missing when the event started. A sale with a problem waiting for
// the operator stays held. Sales not due yet are left: their event was
// moved later, which scheduled another release (rescheduleReleases).
func (s *Store) ReleaseSales(ctx context.Context, orderID int64, now time.Time) error {
	return s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		rows, err := tx.QueryContext(ctx, `
			SELECT a.id, `+missingFile+`,
			       `+sellerPayable+`
			FROM sales a JOIN tickets k ON k.id = a.ticket_id JOIN listings l ON l.id = k.listing_id
			JOIN events e ON e.id = l.event_id
			WHERE a.order_id = $1 AND a.state = 'held' AND a.release_at <= $2 AND NOT `+openProblem+` ORDER BY a.id`,
			orderID, ms(now))
		if err != nil {
			return err
		}
		type due struct {
			id              int64
			missing, payout bool
		}
		var dues []due
		for rows.Next() {
			var d due
			if err := rows.Scan(&d.id, &d.missing, &d.payout); err != nil {
				rows.Close()
				return err
			}
			dues = append(dues, d)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		for _, d := range dues {
			switch {
			case d.missing:
				if err := s.refundSale(ctx, tx, d.id, RefundMissingFile, now); err != nil {
					return err
				}
			case d.payout:
				if err := s.setSaleState(ctx, tx, d.id, SaleHeld, SaleTransferring, now); err != nil {
					return err
				}
				tx.insertJob(TransferSaleArgs{SaleID: d.id}, nil)
			default:
				if err := s.setSaleState(ctx, tx, d.id, SaleHeld, SaleReleasable, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// setSaleState moves a sale from one state to another, or fails if it is
// not in from.
func (s *Store) setSaleState(ctx context.Context, tx *writeTx, saleID int64, from, to SaleState, now time.Time) error {
	res, err := tx.ExecContext(ctx, `UPDATE sales SET state = $1, updated_at = $2 WHERE id = $3 AND state = $4`,
		to, ms(now), saleID, from)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return errors.Join(fmt.Errorf("sale %d is not %s", saleID, from), err)
	}
	return nil
}

// refundSale decides to give a sale's money back to its buyer: a sale the
// seller has not been paid for is refunded at once (a refund job); a sale
// whose transfer is in flight is marked, so that the transfer, once made,
// is reversed; a transferred sale's transfer is reversed first (a reversal
// job, which then refunds). reason is what the buyer is told.
func (s *Store) refundSale(ctx context.Context, tx *writeTx, saleID int64, reason string, now time.Time) error {
	var state SaleState
	var paymentID int64
	lock := ""
	if s.db.Dialect == Postgres {
		lock = " FOR UPDATE" // a transfer being recorded waits, or is waited for
	}
	if err := tx.QueryRowContext(ctx, `SELECT state, payment_id FROM sales WHERE id = $1`+lock, saleID).Scan(&state, &paymentID); err != nil {
		return err
	}
	switch state {
	case SaleHeld, SaleReleasable:
		if err := s.setSaleState(ctx, tx, saleID, state, SaleRefunded, now); err != nil {
			return err
		}
		if err := s.refundBuyer(ctx, tx, saleID, now); err != nil {
			return err
		}
	case SaleTransferring:
		if _, err := tx.ExecContext(ctx, `
			UPDATE sales SET refund_requested_at = $1, updated_at = $1 WHERE id = $2 AND refund_requested_at IS NULL`,
			ms(now), saleID); err != nil {
			return err
		}
	case SaleTransferred:
		if err := s.setSaleState(ctx, tx, saleID, state, SaleReversing, now); err != nil {
			return err
		}
		tx.insertJob(ReverseTransferArgs{SaleID: saleID}, nil)
	default:
		return nil // refunded, or on its way to be
	}
	// The buyer's page says the payment is being refunded, and why.
	_, err := tx.ExecContext(ctx, `
		UPDATE payments SET refund_reason = CASE WHEN refund_reason = '' THEN $1 ELSE refund_reason END, updated_at = $2
		WHERE id = $3`, reason, ms(now), paymentID)
	return err
}

// PayoutTransfer is a transfer to make: a sale's net to its seller.
type PayoutTransfer struct {
	SaleID          int64
	OrderID         int64
	Destination     string // the seller's payout account
	PaymentIntentID string // the buyer's payment, whose charge funds the transfer
	Amount          int64
	Currency        string
}

// IdempotencyKey is the transfer's key at the payment provider: one
// transfer per sale, however often the job runs.
func (t PayoutTransfer) IdempotencyKey() string {
	return "transfer:sale:" + strconv.FormatInt(t.SaleID, 10)
}

// TransferGroup ties the transfers of one order together.
func (t PayoutTransfer) TransferGroup() string { return "order_" + strconv.FormatInt(t.OrderID, 10) }

// ErrNoPayoutStep: the sale has no step of that kind to take any more (it
// was taken, or a decision since changed the sale's course).
var ErrNoPayoutStep = errors.New("the sale has no such step to take")

// TransferToMake returns the transfer of a sale being transferred.
func (s *Store) TransferToMake(ctx context.Context, saleID int64) (PayoutTransfer, error) {
	t := PayoutTransfer{SaleID: saleID}
	err := s.reader(ctx).QueryRowContext(ctx, `
		SELECT a.order_id, coalesce(pa.account_id, ''), p.payment_intent_id, a.net, a.currency
		FROM sales a JOIN payments p ON p.id = a.payment_id LEFT JOIN payout_accounts pa ON pa.user_id = a.seller_id
		WHERE a.id = $1 AND a.state = 'transferring'`, saleID).
		Scan(&t.OrderID, &t.Destination, &t.PaymentIntentID, &t.Amount, &t.Currency)
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNoPayoutStep
	}
	return t, err
}

// RecordTransfer records that a sale's net went to its seller, and tells the
// seller. A refund decided while the transfer was in flight reverses it now.
func (s *Store) RecordTransfer(ctx context.Context, saleID int64, transferID string, now time.Time) error {
	return s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		var net int64
		var refund bool
		err := tx.QueryRowContext(ctx, `
			UPDATE sales SET transfer_id = $1, updated_at = $2,
				state = CASE WHEN refund_requested_at IS NULL THEN 'transferred' ELSE 'reversing' END
			WHERE id = $3 AND state = 'transferring' RETURNING net, refund_requested_at IS NOT NULL`,
			transferID, ms(now), saleID).Scan(&net, &refund)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // recorded already
		}
		if err != nil {
			return err
		}
		if _, err := appendLedger(ctx, tx, saleID, "transfer", net, transferID, now); err != nil {
			return err
		}
		if refund {
			tx.insertJob(ReverseTransferArgs{SaleID: saleID}, nil)
			return nil
		}
		return s.queuePayoutNotice(ctx, tx, saleID, now)
	})
}

// PayoutReversal is a transfer to reverse: a sale refunded after its net
// went to the seller.
type PayoutReversal struct {
	SaleID     int64
	TransferID string
	Amount     int64
}

// IdempotencyKey is the reversal's key at the payment provider.
func (r PayoutReversal) IdempotencyKey() string {
	return "reversal:sale:" + strconv.FormatInt(r.SaleID, 10)
}

// ReversalToMake returns the reversal of a sale being reversed.
func (s *Store) ReversalToMake(ctx context.Context, saleID int64) (PayoutReversal, error) {
	r := PayoutReversal{SaleID: saleID}
	err := s.reader(ctx).QueryRowContext(ctx, `
		SELECT transfer_id, net FROM sales WHERE id = $1 AND state = 'reversing'`, saleID).Scan(&r.TransferID, &r.Amount)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNoPayoutStep
	}
	return r, err
}

// RecordReversal records that a sale's transfer came back from the seller,
// and refunds the buyer next.
func (s *Store) RecordReversal(ctx context.Context, saleID int64, reversalID string, now time.Time) error {
	return s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		var net int64
		err := tx.QueryRowContext(ctx, `
			UPDATE sales SET state = 'reversed', reversal_id = $1, updated_at = $2
			WHERE id = $3 AND state = 'reversing' RETURNING net`, reversalID, ms(now), saleID).Scan(&net)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := appendLedger(ctx, tx, saleID, "reversal", net, reversalID, now); err != nil {
			return err
		}
		return s.refundBuyer(ctx, tx, saleID, now)
	})
}

// refundBuyer gives a sale's price back to its buyer: a refund job, unless
// the whole payment is refunded already (in Stripe's dashboard), which the
// ledger then records as the sale's refund.
func (s *Store) refundBuyer(ctx context.Context, tx *writeTx, saleID int64, now time.Time) error {
	var gross int64
	var refunded bool
	if err := tx.QueryRowContext(ctx, `
		SELECT a.gross, p.status = 'refunded' FROM sales a JOIN payments p ON p.id = a.payment_id WHERE a.id = $1`,
		saleID).Scan(&gross, &refunded); err != nil {
		return err
	}
	if refunded {
		_, err := appendLedger(ctx, tx, saleID, "refund", gross, "payment refunded in full", now)
		return err
	}
	tx.insertJob(RefundSaleArgs{SaleID: saleID}, nil)
	return nil
}

// SaleRefund is a refund to make: a sale's gross back to its buyer, as a
// partial refund of the order's payment.
type SaleRefund struct {
	SaleID          int64
	PaymentIntentID string
	Amount          int64
}

// IdempotencyKey is the refund's key at the payment provider.
func (r SaleRefund) IdempotencyKey() string { return "refund:sale:" + strconv.FormatInt(r.SaleID, 10) }

// RefundToMake returns the refund of a sale decided refunded (after its
// reversal, if it was transferred) that has not been made yet.
func (s *Store) RefundToMake(ctx context.Context, saleID int64) (SaleRefund, error) {
	r := SaleRefund{SaleID: saleID}
	err := s.reader(ctx).QueryRowContext(ctx, `
		SELECT p.payment_intent_id, a.gross FROM sales a JOIN payments p ON p.id = a.payment_id
		WHERE a.id = $1 AND a.state IN ('refunded', 'reversed')
		  AND NOT EXISTS (SELECT 1 FROM ledger_entries le WHERE le.sale_id = a.id AND le.kind = 'refund')`, saleID).
		Scan(&r.PaymentIntentID, &r.Amount)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNoPayoutStep
	}
	return r, err
}

// RecordSaleRefund records that a sale's gross went back to its buyer. Once
// every sale of the payment is refunded, the payment is refunded in full:
// its buyer is told, and its tickets go back on sale (as for a refund made
// in Stripe's dashboard). It returns the order and the listing whose pages
// changed (0 for none).
func (s *Store) RecordSaleRefund(ctx context.Context, saleID int64, reference string, now time.Time) (orderID, listingID int64, err error) {
	var refundedNow bool
	err = s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		orderID, listingID, refundedNow = 0, 0, false
		// The payment is locked first on PostgreSQL: the refunds of its
		// other sales wait, and each then sums what the others committed.
		lock := ""
		if s.db.Dialect == Postgres {
			lock = " FOR UPDATE OF p"
		}
		var gross, paymentID int64
		if err := tx.QueryRowContext(ctx, `
			SELECT a.gross, a.payment_id, a.order_id FROM sales a JOIN payments p ON p.id = a.payment_id
			WHERE a.id = $1 AND a.state IN ('refunded', 'reversed')`+lock,
			saleID).Scan(&gross, &paymentID, &orderID); err != nil {
			return err
		}
		if added, err := appendLedger(ctx, tx, saleID, "refund", gross, reference, now); err != nil || !added {
			return err // or recorded already
		}
		// What the ledger says went back, not what was there plus this
		// sale: Stripe's charge.refunded for this very refund may have set
		// the total already (RecordRefund), and adding to it would count
		// the sale twice.
		var amount, refunded int64
		var status PaymentStatus
		if err := tx.QueryRowContext(ctx, `
			UPDATE payments SET amount_refunded = CASE WHEN r.total > amount THEN amount
					WHEN r.total > amount_refunded THEN r.total ELSE amount_refunded END,
				updated_at = $1
			FROM (SELECT coalesce(sum(le.amount), 0) AS total FROM ledger_entries le JOIN sales x ON x.id = le.sale_id
			      WHERE x.payment_id = $2 AND le.kind = 'refund') r
			WHERE id = $2
			RETURNING amount, amount_refunded, status`, ms(now), paymentID).
			Scan(&amount, &refunded, &status); err != nil {
			return err
		}
		if refunded < amount || status == PaymentRefunded {
			return nil
		}
		refundedNow = true
		listingID, err = s.refundedInFull(ctx, tx, paymentID, now)
		return err
	})
	if err == nil && refundedNow {
		s.observer.PaymentRefunded()
	}
	return orderID, listingID, err
}

// refundedInFull marks a payment refunded in full and tells its buyer. If
// it had paid its order, the order's tickets go back on sale (unless they
// have been sold anew, or were refunded because they did not work or never
// came) and the alerts of their event hear of it. It returns the listing
// whose tickets went back on sale (0 for none).
func (s *Store) refundedInFull(ctx context.Context, tx *writeTx, paymentID int64, now time.Time) (listingID int64, err error) {
	var status PaymentStatus
	var orderID sql.NullInt64
	var reason string
	err = tx.QueryRowContext(ctx, `SELECT status, order_id, refund_reason FROM payments WHERE id = $1`, paymentID).
		Scan(&status, &orderID, &reason)
	if err != nil || status == PaymentRefunded {
		return 0, err
	}
	putBack := reason != RefundProblem && reason != RefundMissingFile
	// Conditional: on PostgreSQL another transaction may have refunded it
	// since the SELECT, and the update then re-reads the row.
	res, err := tx.ExecContext(ctx, `
		UPDATE payments SET status = 'refunded', amount_refunded = amount, updated_at = $1,
			refund_reason = CASE WHEN refund_reason = '' THEN $2 ELSE refund_reason END
		WHERE id = $3 AND status <> 'refunded'`, ms(now), RefundInStripe, paymentID)
	if err != nil {
		return 0, err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return 0, err
	}
	if err := s.queueRefundNotice(ctx, tx, paymentID, now); err != nil {
		return 0, err
	}
	if !putBack || status != PaymentSucceeded || !orderID.Valid {
		return 0, nil // it paid for nothing: no ticket to put back
	}
	res, err = tx.ExecContext(ctx, `
		UPDATE tickets SET claim_order_id = NULL, claim_expires_at = NULL
		WHERE claim_order_id = $1 AND claim_expires_at IS NULL
		  AND EXISTS (SELECT 1 FROM orders WHERE id = $1 AND status = 'paid')`, orderID.Int64)
	if err != nil {
		return 0, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return 0, err
	}
	if err := tx.QueryRowContext(ctx, `SELECT listing_id FROM orders WHERE id = $1`, orderID.Int64).Scan(&listingID); err != nil {
		return 0, err
	}
	return listingID, s.queueAlerts(ctx, tx, listingID, now)
}
