package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Door is an event's check-in at the door, as one person may run it.
type Door struct {
	Event Event
	// Organizer: the person created the event choosing EventHive passes.
	// Anyone else at the door is a helper the organizer named.
	Organizer bool
}

// DoorFor finds the door of an event that checks tickets in with EventHive,
// for its organizer or a helper they named by the user's email. Anyone
// else, any other event and a merged one are ErrNotFound.
func (s *Store) DoorFor(ctx context.Context, eventID int64, u User) (Door, error) {
	var helper bool
	e, err := scanEvent(s.reader(ctx).QueryRowContext(ctx, `
		SELECT `+eventColumns+`, EXISTS (SELECT 1 FROM event_checkers c WHERE c.event_id = e.id AND c.email = $2)
		FROM events e WHERE e.id = $1 AND e.checkin_with_eventhive AND e.merged_into IS NULL`, eventID, u.Email), &helper)
	switch {
	case err != nil:
		return Door{}, err
	case e.CreatedBy == u.ID:
		return Door{Event: e, Organizer: true}, nil
	case helper:
		return Door{Event: e}, nil
	}
	return Door{}, ErrNotFound
}

// CheckinAnswer is what the door answers a scan: whether to let its holder
// in, and if not, why.
type CheckinAnswer string

// The answers.
const (
	// CheckedIn: valid, checked in now.
	CheckedIn CheckinAnswer = "valid"
	// AlreadyCheckedIn: this pass was checked in before (see At and By).
	AlreadyCheckedIn CheckinAnswer = "already_checked_in"
	// PassResold: void; its holder resold the ticket and the new holder has
	// the valid pass.
	PassResold CheckinAnswer = "resold"
	// PassOtherEvent: a pass for another event.
	PassOtherEvent CheckinAnswer = "other_event"
	// PassNotPaid: the pass's sale does not stand: the ticket is not sold
	// to its order, or its payment was refunded.
	PassNotPaid CheckinAnswer = "not_paid"
	// PassUnknown: not a pass this app signed: mistyped, altered or forged.
	PassUnknown CheckinAnswer = "unknown"
)

// ErrNonceUsed means a scan's nonce was sent before for another door or by
// another person: the scanner must make a new one.
var ErrNonceUsed = errors.New("the scan's nonce was used for another scan")

// Scan is one pass shown at a door.
type Scan struct {
	EventID int64 // the door's event
	By      int64 // who scanned it: the organizer or a helper
	Code    string
	// Nonce names the scan: the same nonce sent again gets the same
	// answer, so that a retried request does not turn "valid" into
	// "already checked in".
	Nonce string
}

// CheckinResult is the door's answer to a scan.
type CheckinResult struct {
	Answer CheckinAnswer
	// At and By tell of the check-in a valid or already checked in answer
	// is about: when, and the email of who checked the pass in.
	At time.Time
	By string
}

// CheckIn answers a scan at an event's door and, if the pass is valid and
// not checked in yet, checks it in: once per generation of a seat, however
// many doors scan it at once. The answer is kept under the scan's nonce.
// The caller makes sure the scanner may run the door (DoorFor).
func (s *Store) CheckIn(ctx context.Context, scan Scan, now time.Time) (CheckinResult, error) {
	if scan.Nonce == "" {
		return CheckinResult{}, errors.New("check in: a scan needs a nonce")
	}
	key, err := s.PassPublicKey(ctx)
	if err != nil {
		return CheckinResult{}, err
	}
	pass, forged := ParsePass(scan.Code, key)
	var result CheckinResult
	err = s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		// The nonce is taken first: a retry of this scan waits here for it
		// to commit, then reads its answer.
		res, err := tx.ExecContext(ctx, `
			INSERT INTO checkin_scans (nonce, event_id, by_user, answer, at) VALUES ($1, $2, $3, '', $4)
			ON CONFLICT (nonce) DO NOTHING`, scan.Nonce, scan.EventID, scan.By, ms(now))
		if err != nil {
			return fmt.Errorf("record scan: %w", err)
		}
		taken, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if taken == 0 {
			result, err = replayScan(ctx, tx, scan)
			return err
		}
		answer := PassUnknown
		if forged == nil {
			if answer, err = checkPass(ctx, tx, scan, pass, now); err != nil {
				return err
			}
		}
		var root, generation sql.NullInt64
		if answer == CheckedIn || answer == AlreadyCheckedIn {
			root, generation = sql.NullInt64{Int64: pass.RootID, Valid: true}, sql.NullInt64{Int64: int64(pass.Generation), Valid: true}
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE checkin_scans SET answer = $1, root_id = $2, generation = $3 WHERE nonce = $4`,
			answer, root, generation, scan.Nonce); err != nil {
			return fmt.Errorf("record answer: %w", err)
		}
		result, err = answerOf(ctx, tx, answer, root, generation)
		return err
	})
	return result, err
}

// checkPass answers a pass signed by the app at a door, checking it in if
// it is valid.
func checkPass(ctx context.Context, tx *writeTx, scan Scan, pass Pass, now time.Time) (CheckinAnswer, error) {
	// A pass is for the door's event, or for an event an operator merged
	// into it (its tickets moved there).
	var forDoor bool
	err := tx.QueryRowContext(ctx, `SELECT id = $2 OR coalesce(merged_into, 0) = $2 FROM events WHERE id = $1`,
		pass.EventID, scan.EventID).Scan(&forDoor)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return PassOtherEvent, nil
	case err != nil:
		return "", err
	case !forDoor:
		return PassOtherEvent, nil
	}
	// Who holds the seat now, as Store.Holding finds it, in the transaction.
	var generation int
	var orderID, eventID int64
	err = tx.QueryRowContext(ctx, `
		SELECT k.generation, o.id, l.event_id
		FROM tickets k JOIN orders o ON o.id = k.claim_order_id JOIN listings l ON l.id = k.listing_id
		WHERE (k.id = $1 OR k.root_id = $1) AND k.claim_expires_at IS NULL AND o.status = 'paid'
		ORDER BY k.generation DESC LIMIT 1`, pass.RootID).Scan(&generation, &orderID, &eventID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return PassNotPaid, nil
	case err != nil:
		return "", err
	case eventID != scan.EventID:
		return PassOtherEvent, nil
	case pass.Generation < generation:
		return PassResold, nil
	case pass.Generation > generation || pass.OrderID != orderID:
		// Its sale was refunded, and the seat went back to the previous
		// holder or on sale (and maybe to another buyer).
		return PassNotPaid, nil
	}
	// The unique (root_id, generation) decides between doors that scan the
	// pass at once: one inserts, the others wait for it and insert nothing.
	res, err := tx.ExecContext(ctx, `
		INSERT INTO checkins (root_id, generation, event_id, at, by_user, nonce) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (root_id, generation) DO NOTHING`,
		pass.RootID, pass.Generation, scan.EventID, ms(now), scan.By, scan.Nonce)
	if err != nil {
		return "", fmt.Errorf("check in: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return AlreadyCheckedIn, err
	}
	return CheckedIn, nil
}

// replayScan is the answer given before to a scan with the same nonce.
func replayScan(ctx context.Context, tx *writeTx, scan Scan) (CheckinResult, error) {
	var eventID, by int64
	var answer CheckinAnswer
	var root, generation sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT event_id, by_user, answer, root_id, generation FROM checkin_scans WHERE nonce = $1`,
		scan.Nonce).Scan(&eventID, &by, &answer, &root, &generation)
	switch {
	case err != nil:
		return CheckinResult{}, err
	case eventID != scan.EventID || by != scan.By:
		return CheckinResult{}, ErrNonceUsed
	}
	return answerOf(ctx, tx, answer, root, generation)
}

// answerOf is the result of an answer, with the check-in it tells of.
func answerOf(ctx context.Context, tx *writeTx, answer CheckinAnswer, root, generation sql.NullInt64) (CheckinResult, error) {
	result := CheckinResult{Answer: answer}
	if !root.Valid {
		return result, nil
	}
	var at int64
	err := tx.QueryRowContext(ctx, `
		SELECT c.at, u.email FROM checkins c JOIN users u ON u.id = c.by_user WHERE c.root_id = $1 AND c.generation = $2`,
		root, generation).Scan(&at, &result.By)
	result.At = fromMS(at)
	return result, err
}

// CheckinCounts are how many of an event's tickets are sold and how many of
// them have been checked in.
type CheckinCounts struct {
	CheckedIn, Sold int
}

// CheckinCounts counts the seats of an event sold now and those checked in.
func (s *Store) CheckinCounts(ctx context.Context, eventID int64) (CheckinCounts, error) {
	var c CheckinCounts
	err := s.reader(ctx).QueryRowContext(ctx, `
		SELECT (SELECT count(DISTINCT root_id) FROM checkins WHERE event_id = $1),
		       (SELECT count(*) FROM tickets k JOIN orders o ON o.id = k.claim_order_id JOIN listings l ON l.id = k.listing_id
		        WHERE l.event_id = $1 AND `+owned+`)`, eventID).Scan(&c.CheckedIn, &c.Sold)
	return c, err
}

// CheckinHelpers lists the emails of the helpers an event's organizer named,
// in the order they were named.
func (s *Store) CheckinHelpers(ctx context.Context, eventID int64) ([]string, error) {
	rows, err := s.reader(ctx).QueryContext(ctx, `SELECT email FROM event_checkers WHERE event_id = $1 ORDER BY id`, eventID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var emails []string
	for rows.Next() {
		var email string
		if err := rows.Scan(&email); err != nil {
			return nil, err
		}
		emails = append(emails, email)
	}
	return emails, rows.Err()
}

// AddCheckinHelper lets the person with the email (once they sign in with
// it) check passes in at the event's door. Naming a helper twice changes
// nothing. The email is brought to NormalizeEmail's form; one it refuses is
// its error.
func (s *Store) AddCheckinHelper(ctx context.Context, eventID int64, email string, now time.Time) error {
	email, err := NormalizeEmail(email)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO event_checkers (event_id, email, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (event_id, email) DO NOTHING`, eventID, email, ms(now))
		return err
	})
}

// RemoveCheckinHelper ends a helper's access to the event's door. Removing
// someone who is not a helper changes nothing.
func (s *Store) RemoveCheckinHelper(ctx context.Context, eventID int64, email string) error {
	if normal, err := NormalizeEmail(email); err == nil {
		email = normal
	}
	return s.inTx(ctx, func(ctx context.Context, tx *writeTx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM event_checkers WHERE event_id = $1 AND email = $2`, eventID, email)
		return err
	})
}
