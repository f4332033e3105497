package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"
)

// The kinds of payout notice (templates in package mail).
const (
	// MailPayoutSent tells a seller that a sale's net was sent to them.
	MailPayoutSent = "payout_sent"
	// MailProblemReported tells a seller that the buyer of their tickets
	// reported a problem, which holds the money.
	MailProblemReported = "problem_reported"
)

// MaxProblemNote bounds what a buyer writes about a problem, in characters.
const MaxProblemNote = 2000

// ErrProblemNote: the note is empty or too long.
var ErrProblemNote = errors.New("say what went wrong, in at most 2,000 characters")

// ReportProblem records the problem a buyer reports with a paid order, until
// its money is released: it holds every sale of the order still held for
// the operator's decision, and tells the seller.
func (s *Store) ReportProblem(ctx context.Context, buyerID, orderID int64, note string, now time.Time) error {
	note = strings.TrimSpace(note)
	if note == "" || len([]rune(note)) > MaxProblemNote {
		return ErrProblemNote
	}
	return s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		// The buyer's order, and whether a problem was reported already.
		var reported int
		err := tx.QueryRowContext(ctx, `
			SELECT (SELECT count(*) FROM sales a WHERE a.order_id = o.id AND a.problem_reported_at IS NOT NULL)
			FROM orders o WHERE o.id = $1 AND o.buyer_id = $2`, orderID, buyerID).Scan(&reported)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if reported > 0 {
			return ErrProblemReported
		}
		res, err := tx.ExecContext(ctx, `
			UPDATE sales SET problem_note = $1, problem_reported_at = $2, updated_at = $2
			WHERE order_id = $3 AND state = 'held' AND release_at > $2`, note, ms(now), orderID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errors.Join(ErrNoProblemToReport, err)
		}
		return s.queueProblemNotice(ctx, tx, orderID, note, now)
	})
}

// DecideProblem records the operator's decision on the problem reported for
// an order: DecisionRefund refunds the buyer for every sale the problem
// holds, DecisionRelease lets them go to the seller (at once if their
// release is past). The decision goes in the moderation log.
func (s *Store) DecideProblem(ctx context.Context, actorID, orderID int64, decision string, now time.Time) error {
	if decision != DecisionRefund && decision != DecisionRelease {
		return errors.New("decision must be refund or release")
	}
	return s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		ids, err := queryIDs(ctx, tx.Tx, `
			UPDATE sales SET problem_decision = $1, problem_decided_at = $2, updated_at = $2
			WHERE order_id = $3 AND `+openProblem+` RETURNING id`, decision, ms(now), orderID)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return ErrNoOpenProblem
		}
		if decision == DecisionRefund {
			if err := s.refundSales(ctx, tx, ids, RefundProblem, now); err != nil {
				return err
			}
		} else {
			// At once: what is due goes; what is not waits for its job.
			tx.insertJob(ReleaseSalesArgs{OrderID: orderID}, nil)
		}
		action := ActionProblemRelease
		if decision == DecisionRefund {
			action = ActionProblemRefund
		}
		return recordAction(ctx, tx.Tx, actorID, action, SubjectOrder, orderID, "", now)
	})
}

// RefundOrder refunds a paid order in full on the operator's decision,
// whatever became of its sales: those the seller has been paid for are
// reversed first.
func (s *Store) RefundOrder(ctx context.Context, actorID, orderID int64, now time.Time) error {
	return s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		ids, err := queryIDs(ctx, tx.Tx, `
			SELECT id FROM sales WHERE order_id = $1 AND state NOT IN ('reversing', 'reversed', 'refunded')
			  AND refund_requested_at IS NULL ORDER BY id`, orderID)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return ErrNothingToRefund
		}
		if err := s.refundSales(ctx, tx, ids, RefundByOperator, now); err != nil {
			return err
		}
		// An open problem is decided by the refund.
		if _, err := tx.ExecContext(ctx, `
			UPDATE sales SET problem_decision = 'refund', problem_decided_at = $1 WHERE order_id = $2 AND `+openProblem,
			ms(now), orderID); err != nil {
			return err
		}
		return recordAction(ctx, tx.Tx, actorID, ActionRefund, SubjectOrder, orderID, "", now)
	})
}

// refundSales refunds the sales ids, for reason (see refundSale).
func (s *Store) refundSales(ctx context.Context, tx *writeTx, ids []int64, reason string, now time.Time) error {
	for _, id := range ids {
		if err := s.refundSale(ctx, tx, id, reason, now); err != nil {
			return err
		}
	}
	return nil
}

// queueProblemNotice tells the seller of an order's tickets that its buyer
// reported a problem.
func (s *Store) queueProblemNotice(ctx context.Context, tx *writeTx, orderID int64, note string, now time.Time) error {
	var seller, event string
	var quantity int
	if err := tx.QueryRowContext(ctx, `
		SELECT u.email, e.name, o.quantity FROM orders o JOIN listings l ON l.id = o.listing_id
		JOIN users u ON u.id = l.seller_id JOIN events e ON e.id = l.event_id WHERE o.id = $1`, orderID).
		Scan(&seller, &event, &quantity); err != nil {
		return err
	}
	_, err := s.queueMail(ctx, tx, Mail{
		Key: "problem:order:" + strconv.FormatInt(orderID, 10), To: seller, Kind: MailProblemReported,
		Data: map[string]any{"Event": event, "Quantity": quantity, "Note": note, "Path": "/payouts"},
	}, now)
	return err
}

// queuePayoutNotice tells a seller that a sale's net was sent to them.
func (s *Store) queuePayoutNotice(ctx context.Context, tx *writeTx, saleID int64, now time.Time) error {
	var seller, currency string
	var gross, fee, net int64
	var e Event
	var starts sql.NullInt64
	if err := tx.QueryRowContext(ctx, `
		SELECT u.email, a.currency, a.gross, a.fee, a.net, e.name, e.starts_at, e.time_zone
		FROM sales a JOIN users u ON u.id = a.seller_id JOIN tickets k ON k.id = a.ticket_id
		JOIN listings l ON l.id = k.listing_id JOIN events e ON e.id = l.event_id WHERE a.id = $1`, saleID).
		Scan(&seller, &currency, &gross, &fee, &net, &e.Name, &starts, &e.TimeZone); err != nil {
		return err
	}
	e.StartsAt = fromNullMS(starts)
	_, err := s.queueMail(ctx, tx, Mail{
		Key: "payout:sale:" + strconv.FormatInt(saleID, 10), To: seller, Kind: MailPayoutSent,
		Data: map[string]any{"Event": e.Name, "When": eventWhen(e), "Gross": formatAmount(gross, currency),
			"Fee": formatAmount(fee, currency), "Amount": formatAmount(net, currency), "Path": "/payouts"},
	}, now)
	return err
}

// rescheduleReleases moves the release of an event's held sales to follow
// its start, which an operator changed, in tx.
func (s *Store) rescheduleReleases(ctx context.Context, tx *writeTx, eventID int64, startsAt time.Time) error {
	if startsAt.IsZero() {
		return nil // no date: sales keep the release their payment set
	}
	release := s.payout.releaseAt(startsAt, time.Time{})
	ids, err := queryIDs(ctx, tx.Tx, `
		UPDATE sales SET release_at = $1
		WHERE state = 'held' AND ticket_id IN (
			SELECT k.id FROM tickets k JOIN listings l ON l.id = k.listing_id WHERE l.event_id = $2)
		RETURNING order_id`, ms(release), eventID)
	if err != nil {
		return err
	}
	seen := map[int64]bool{}
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			tx.insertJob(ReleaseSalesArgs{OrderID: id}, &river.InsertOpts{ScheduledAt: release})
		}
	}
	return nil
}
